/* SPDX-License-Identifier: MIT */
/*
 * source_p: the private contract between source.c and its backends. A
 * backend fills the handle's info and per-level notes at open, and decodes
 * rectangles and raw tiles on request. source.c owns resolution, sniffing,
 * identity, the handle cache, argument checks and the sticky broken state.
 */
#ifndef VL_SOURCE_P_H
#define VL_SOURCE_P_H

#include "source/source.h"

/* Refuse images beyond these before allocating anything. */
#define VL_SOURCE_MAX_SIDE  1000000u
#define VL_SOURCE_MAX_BLOCK ((size_t) 64 << 20)

typedef struct {
    const char *compression;     /* "jpeg", "deflate", ... (static) */
    uint32_t    rows_per_strip;  /* strip levels; 0 for tiled ones */
} vl_source_level_note_t;

typedef struct {
    const char *name;
    /* Take ownership of fd (closed on failure too); fill src->info.geom,
     * bits, compression, icc, rights, src->notes, src->photometric and
     * src->priv. */
    int  (*open)(vl_source_t *src, int fd, vl_err_t *err);
    void (*close)(vl_source_t *src);
    /* Arguments are already checked: level exists, the rectangle is inside
     * it, out has the right bands and is large enough. */
    int  (*read)(vl_source_t *src, uint32_t level, const vl_rect_t *r,
                 vl_image_t *out, vl_err_t *err);
    int  (*read_jpeg_tile)(vl_source_t *src, vl_pool_t *pool, uint32_t level,
                           uint32_t col, uint32_t row, unsigned char **data,
                           size_t *len, vl_err_t *err);
} vl_source_ops_t;

struct vl_source_s {
    const vl_source_ops_t  *ops;
    void                   *priv;
    vl_source_info_t        info;
    vl_source_level_note_t  notes[VL_MAX_LEVELS];
    const char             *photometric;   /* "rgb", "ycbcr", ... (static) */
    char                   *path;          /* real path: the cache key */
    char                   *asked;         /* prefix/id/suffix that led
                                            * here last, or NULL */
    vl_tile_cache_t        *tiles;         /* decoded blocks; may be NULL */
    vl_tile_cache_t        *own_tiles;     /* private one (opened by path) */
    long                    max_layers;    /* JPEG 2000 layers, <= 0 all */
    int                     broken;        /* codec error seen: sticky */
    vl_err_t                broken_err;
    struct vl_source_s     *prev, *next;   /* idle list of the cache */
};

/* The bytes of a file's start the sniff table looks at. */
#define VL_SOURCE_MAGIC 12

/* Whether a file starting with magic[0, len) (len <= VL_SOURCE_MAGIC, less
 * for a shorter file) is this backend's: a row of source.c's sniff table,
 * exported by each backend next to its ops. */
typedef int (*vl_source_is_a_fn)(const unsigned char *magic, size_t len);

int vl_tiff_is_a(const unsigned char *magic, size_t len);
extern const vl_source_ops_t vl_source_tiff_ops;

int vl_jp2_is_a(const unsigned char *magic, size_t len);
extern const vl_source_ops_t vl_source_jp2_ops;

#endif /* VL_SOURCE_P_H */
