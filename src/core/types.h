/* SPDX-License-Identifier: MIT */
/*
 * types: the small value types every layer shares, so that none of them has
 * to include another's header for a struct: a rectangle of pixels, the
 * geometry of an image pyramid, the identity of a file, the limits of an
 * output and the IIIF quality. Plain data and pure inline helpers only;
 * thread-safe.
 */
#ifndef VL_TYPES_H
#define VL_TYPES_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/* ------------------------------------------------------------ rectangle */

/* w x h pixels with their top-left corner at (x, y); empty when w or h is
 * 0. Coordinates are those of whatever the rectangle lies in (a pyramid
 * level, a buffer). */
typedef struct {
    uint32_t x, y, w, h;
} vl_rect_t;

#define VL_RECT(x, y, w, h) ((vl_rect_t) { (x), (y), (w), (h) })

static inline uint64_t
vl_rect_right(const vl_rect_t *r)
{
    return (uint64_t) r->x + r->w;
}

static inline uint64_t
vl_rect_bottom(const vl_rect_t *r)
{
    return (uint64_t) r->y + r->h;
}

static inline int
vl_rect_empty(const vl_rect_t *r)
{
    return r->w == 0 || r->h == 0;
}

/* The intersection of a and b into *out (empty, at a's origin, when they do
 * not meet); returns 1 when it is not empty. out may be a or b. */
static inline int
vl_rect_intersect(const vl_rect_t *a, const vl_rect_t *b, vl_rect_t *out)
{
    uint64_t x0 = a->x > b->x ? a->x : b->x;
    uint64_t y0 = a->y > b->y ? a->y : b->y;
    uint64_t x1 = vl_rect_right(a) < vl_rect_right(b) ? vl_rect_right(a)
                                                      : vl_rect_right(b);
    uint64_t y1 = vl_rect_bottom(a) < vl_rect_bottom(b) ? vl_rect_bottom(a)
                                                        : vl_rect_bottom(b);

    if (x0 >= x1 || y0 >= y1) {
        *out = VL_RECT(a->x, a->y, 0, 0);
        return 0;
    }
    *out = VL_RECT((uint32_t) x0, (uint32_t) y0, (uint32_t) (x1 - x0),
                   (uint32_t) (y1 - y0));
    return 1;
}

/* 1 when every pixel of inner lies in outer (an empty inner is in any). */
static inline int
vl_rect_contains(const vl_rect_t *outer, const vl_rect_t *inner)
{
    return vl_rect_empty(inner)
           || (inner->x >= outer->x && inner->y >= outer->y
               && vl_rect_right(inner) <= vl_rect_right(outer)
               && vl_rect_bottom(inner) <= vl_rect_bottom(outer));
}

/* ------------------------------------------------------------- pyramid */

#define VL_MAX_LEVELS 32

typedef struct {
    uint32_t width, height;  /* stored size of this level */
    uint32_t tile_w, tile_h; /* stored tile size; 0,0 = strips/untiled */
    uint32_t base;           /* level decoded to make this one */
    uint32_t shrink;         /* 1 (or 0): stored; 2, 4, 8: a virtual
                              * level, base decoded at 1/shrink */
} vl_level_t;

typedef struct {
    uint32_t   width, height; /* full resolution = levels[0] */
    uint32_t   nlevels;       /* >= 1; levels[i+1] smaller than levels[i] */
    vl_level_t levels[VL_MAX_LEVELS];
    int        bands; /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    int        has_alpha;
} vl_geom_t;

/* ---------------------------------------------------------------- file */

/* What makes a file the same file on this host: device, inode, size,
 * modification time. The handle cache and the tile cache compare it so
 * (vl_file_id_eq); response ETags and memcached keys hash only its size
 * and modification time (vl_hash_file), the same on every host of a
 * cluster holding a copy. */
typedef struct {
    dev_t     dev;
    ino_t     ino;
    long long size;
    long long mtime_ns;
} vl_file_id_t;

static inline void
vl_file_id_of(const struct stat *st, vl_file_id_t *id)
{
    id->dev = st->st_dev;
    id->ino = st->st_ino;
    id->size = (long long) st->st_size;
    id->mtime_ns = (long long) st->st_mtim.tv_sec * 1000000000LL
                   + (long long) st->st_mtim.tv_nsec;
}

static inline int
vl_file_id_eq(const vl_file_id_t *a, const vl_file_id_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size
           && a->mtime_ns == b->mtime_ns;
}

/* -------------------------------------------------------------- output */

/* The limits of an output (IIIF maxWidth, maxHeight, maxArea), derived
 * once per configuration load (core/conf.h). */
typedef struct {
    uint64_t max_width;       /* 0 = unlimited */
    uint64_t max_height;      /* 0 = unlimited (then = max_width) */
    uint64_t max_area;        /* 0 = unlimited */
    int      allow_upscaling; /* v3 '^' allowed; v2 sizes above region */
    double   oversample;      /* >= 1.0: level >= output * oversample */
} vl_limits_t;

/* The IIIF quality of an output: the colour stage (pixel/) applies it. */
typedef enum {
    VL_QUALITY_DEFAULT,
    VL_QUALITY_COLOR,
    VL_QUALITY_GRAY,
    VL_QUALITY_BITONAL,
    VL_QUALITY_NATIVE /* v2 only; means default */
} vl_quality_t;

#endif /* VL_TYPES_H */
