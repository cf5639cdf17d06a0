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
     * bits, compression, icc, rights, the text fields (title ...: cleaned
     * with meta.h, owned by priv), src->notes, src->photometric and
     * src->priv. src->info.page is the page asked for (>= 1) and
     * info.pages is 1: a backend of multi-page files counts them into
     * info.pages and opens that page, or fails with VL_ENOTFOUND "no such
     * page"; source.c refuses a page past info.pages after any open.
     * An open may hand the file on to another backend: set src->ops to
     * its ops and return its open (grok.c to jp2.c). */
    int  (*open)(vl_source_t *src, int fd, vl_err_t *err);
    void (*close)(vl_source_t *src);
    /* Arguments are already checked: level exists, the rectangle is inside
     * it, out has the right bands and is large enough. */
    int  (*read)(vl_source_t *src, uint32_t level, const vl_rect_t *r,
                 vl_image_t *out, vl_err_t *err);
    int  (*read_jpeg_tile)(vl_source_t *src, vl_pool_t *pool, uint32_t level,
                           uint32_t col, uint32_t row, unsigned char **data,
                           size_t *len, vl_err_t *err);
    /* Optional: add to *cost what reading r of stored `level` top to
     * bottom in reads of `rows` rows costs this backend (vl_cost_t), at
     * `depth`. Without it source.c counts the stored tiles, or strips of
     * the full width, that r touches. */
    void (*cost)(const vl_source_t *src, uint32_t level, const vl_rect_t *r,
                 uint32_t rows, int depth, vl_cost_t *cost);
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
    uint64_t                max_bytes;     /* MAX_REQUEST_MEMORY in bytes
                                            * (0: none), for what an open
                                            * itself must decode */
    vl_page_size_t         *page_sizes;    /* a multi-page file's pages
                                            * (malloc, filled at open by
                                            * its backend), or NULL */
    uint32_t                npage_sizes;
    struct vl_cms_src_s    *cms;           /* ICC_TO_SRGB conversion of
                                            * reads (cms.h), or NULL */
    /* What vl_source_info shows (source.c, after open): info with the
     * box-shrunk levels below the backend's smallest (levels nstored..)
     * and the EXIF orientation applied (width and height swapped for
     * 5..8). The backend and the grid walk see `info` only. */
    vl_source_info_t        view;
    vl_geom_t               geo;           /* info.geom + shrunk levels,
                                            * stored orientation */
    uint32_t                nstored;       /* the backend's levels */
    int                     orientation;   /* EXIF 1..8 the backend found
                                            * (0: none) */
    int                     orient;        /* the one applied: 1 none */
    int                     id_fd;         /* a dup of the file opened,
                                            * for vl_source_changed; -1 */
    long long               ctime_ns;      /* its st_ctim at open */
    long long               got_ns;        /* CLOCK_REALTIME when
                                            * vl_source_get handed it
                                            * out (0: opened by path) */
    int                     broken;        /* codec error seen: sticky */
    int                     counted;       /* in the open-handles gauge */
    vl_err_t                broken_err;
    struct vl_source_s     *prev, *next;   /* idle list of the cache */
};

/* ------------------------------------------------------------ grid walk */

/*
 * The shared block reader (grid.c). A backend that decodes a level in
 * blocks of a fixed grid says what the grid is and how to decode some of
 * its blocks; the walk does the rest for every read: split the rectangle
 * into blocks, look each up once in the tile cache (key: file identity,
 * page, geometry level, row * cols + col), copy the hits, hand the
 * bounding box of the misses to the backend, publish what it decodes and
 * copy it out. Requests of up to VL_GRID_STACK blocks allocate nothing.
 */
typedef struct vl_grid_walk_s vl_grid_walk_t;

/* The decode grid of one level. */
typedef struct {
    uint32_t bw, bh;        /* block size in level pixels (the level's
                             * right and bottom edges cut the last ones) */
    uint32_t max_run;       /* most blocks one decode call takes, 0: any;
                             * a larger box goes a row at a time, in runs */
} vl_grid_t;

/* What vl_grid_ops_t.partial returns to have a block decoded whole. */
#define VL_GRID_DECLINED 1

typedef struct {
    /* The grid of `level` (a level of src; the read is checked). */
    int  (*grid)(vl_source_t *src, uint32_t level, vl_grid_t *grid,
                 vl_err_t *err);
    /* Decode the blocks of `box` (block columns and rows, inside the
     * level), at least those vl_grid_missing says are missing, and give
     * each to vl_grid_put. It may put blocks outside box (whole rows, the
     * whole level) and ask vl_grid_cached about any block. */
    int  (*decode)(vl_grid_walk_t *walk, const vl_rect_t *box,
                   vl_err_t *err);
    /* Optional. Block (col, row) missed the cache and the request covers
     * only part of it: decode that part straight into the request
     * (vl_grid_part) without caching it, or return VL_GRID_DECLINED to
     * have it go to decode like any other. */
    int  (*partial)(vl_grid_walk_t *walk, uint32_t col, uint32_t row,
                    vl_err_t *err);
    /* One decode at a time in the process: decode runs under a process-
     * wide lock, and a walk that waited for it looks in the tile cache
     * again first when another decode finished meanwhile. */
    int  serialise;
} vl_grid_ops_t;

/* One read in progress; backends read it, the walk writes it. */
struct vl_grid_walk_s {
    vl_source_t      *src;
    uint32_t          level;
    const vl_level_t *lv;        /* src->info.geom.levels[level] */
    vl_grid_t         grid;
    uint32_t          cols, rows;    /* blocks in the level */
    const vl_rect_t  *req;       /* the request, level pixels */
    vl_image_t       *out;       /* its pixels: req's origin at (0, 0) */
    vl_rect_t         span;      /* the blocks req touches */
    unsigned char    *miss;      /* per block of span: not in the cache */
};

#define VL_GRID_STACK 64

/* Read rectangle r of `level` into out through the backend's grid. */
int vl_grid_read(vl_source_t *src, const vl_grid_ops_t *ops, uint32_t level,
                 const vl_rect_t *r, vl_image_t *out, vl_err_t *err);

/* Block (col, row) in level pixels, cut by the level's edges. */
void vl_grid_block(const vl_grid_walk_t *walk, uint32_t col, uint32_t row,
                   vl_rect_t *b);

/* Whether block (col, row) of the request missed the cache and nothing
 * has been put for it yet (0 for blocks outside the request). */
int vl_grid_missing(const vl_grid_walk_t *walk, uint32_t col, uint32_t row);

/* Whether block (col, row) is in the tile cache now (one lookup). */
int vl_grid_cached(vl_grid_walk_t *walk, uint32_t col, uint32_t row);

/* A decoded block (col, row), tile->w x tile->h = its vl_grid_block size:
 * publish it in the tile cache and copy what the request covers of it
 * into out. The caller keeps its reference. */
void vl_grid_put(vl_grid_walk_t *walk, uint32_t col, uint32_t row,
                 vl_tile_t *tile);

/* The part of block b the request covers into *part; returns where its
 * top-left pixel goes in out (rows walk->out->stride apart). */
unsigned char *vl_grid_part(const vl_grid_walk_t *walk, const vl_rect_t *b,
                            vl_rect_t *part);

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

/* flat.c: plain (non-pyramid) JPEG and PNG files */
int vl_flat_jpeg_is_a(const unsigned char *magic, size_t len);
extern const vl_source_ops_t vl_source_flat_jpeg_ops;
int vl_flat_png_is_a(const unsigned char *magic, size_t len);
extern const vl_source_ops_t vl_source_flat_png_ops;

/* The long side below which no box-shrunk level is added (source.c). */
#define VL_SOURCE_SHRINK_MIN 256u

#endif /* VL_SOURCE_P_H */
