/* SPDX-License-Identifier: MIT */
/*
 * flat: the backend of plain (non-pyramid) JPEG and PNG files. The file
 * is mapped and read top to bottom by jpegdec.c's row reader (JPEG) or
 * pngdec.c (PNG), both of which keep their decode open between requests:
 * a read further down continues where the last one stopped. Levels: the
 * image, and for JPEG the 1/2, 1/4 and 1/8 libjpeg's DCT scaling gives
 * (source.c adds area-averaged levels below those). Each level is a grid
 * of VL_FLAT_GRID blocks in the worker's tile cache; a miss decodes the
 * whole band of block rows it lies in, full width, and publishes every
 * block of it, so a viewer's neighbouring tiles are hits. Limits are
 * checked at open, before anything is allocated for pixels.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/str.h"
#include "source/jpegdec.h"
#include "source/pngdec.h"
#include "source/source_p.h"

#define VL_FLAT_GRID 256u                     /* block side */
/* What libjpeg may hold for one decode (a progressive file's coefficients)
 * and what an interlaced PNG may take decoded whole. */
#define VL_FLAT_MAX_WHOLE (4 * VL_SOURCE_MAX_BLOCK)
/* Pixels of a flat image: a read near the bottom of one decodes all the
 * rows above it, minutes beyond this many. */
#define VL_FLAT_MAX_PIXELS ((uint64_t) 1 << 32)

typedef struct {
    unsigned char     *map;
    size_t             len;
    vl_jpegseq_t      *jpeg;
    vl_pngdec_t       *png;
    int                bands;
    int                bits;          /* 8, or 16 (PNG) */
    uint32_t           bh;            /* block rows */
    unsigned char     *band;          /* the last band of rows decoded */
    size_t             band_cap;
    int                band_ok;       /* band holds band_level's rows */
    uint32_t           band_level, band_y, band_n;
    size_t             whole_held;    /* an interlaced PNG's, counted */
} vl_flat_t;

/* Bytes of bands kept by this process's handles (atomic), at most
 * VL_FLAT_KEEP: a handle keeps its last band while under it, so that the
 * next tile of the same tile row (a viewer walks them left to right) does
 * not start the decode again from the top of the file when the tile cache
 * cannot hold a whole band row (14645 px x 256 rows is 11 MB). */
#define VL_FLAT_KEEP ((size_t) 96 << 20)
static size_t flat_kept;

static void
flat_close(vl_source_t *src)
{
    vl_flat_t *f = src->priv;

    if (f == NULL) {
        return;
    }
    vl_jpegseq_free(f->jpeg);
    vl_pngdec_free(f->png);
    if (f->map != NULL) {
        munmap(f->map, f->len);
    }
    if (f->band != NULL) {
        __atomic_sub_fetch(&flat_kept, f->band_cap, __ATOMIC_RELAXED);
    }
    __atomic_sub_fetch(&flat_kept, f->whole_held, __ATOMIC_RELAXED);
    free(f->band);
    free(f);
    src->priv = NULL;
}

/* Map fd (closed here) into a new vl_flat_t at src->priv. */
static int
flat_map(vl_source_t *src, int fd, vl_err_t *err)
{
    struct stat st;
    vl_flat_t  *f;
    void       *p;

    if (fstat(fd, &st) != 0 || st.st_size < 8) {
        close(fd);
        return vl_err_set(err, VL_ECODEC, "the image file is truncated");
    }
    if ((f = calloc(1, sizeof(*f))) == NULL) {
        close(fd);
        return vl_err_set(err, VL_ENOMEM, "out of memory opening an image");
    }
    p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) {
        free(f);
        return vl_err_set(err, VL_EIO, "cannot map the image file");
    }
    f->map = p;
    f->len = (size_t) st.st_size;
    src->priv = f;
    return VL_OK;
}

/*
 * The limits of a flat image, checked on its header before any pixel
 * memory: each side at most VL_SOURCE_MAX_SIDE, at most VL_FLAT_MAX_PIXELS
 * pixels, and one band of 16 rows of the full width within
 * VL_SOURCE_MAX_BLOCK. Beyond them: VL_ELIMIT
 * (400), the status of a request beyond maxWidth/maxArea, since what is
 * refused is the size of the image a request would have vellum decode,
 * not a damaged file.
 */
static int
flat_limits(vl_flat_t *f, uint32_t w, uint32_t h, vl_err_t *err)
{
    size_t row;

    if (w == 0 || h == 0) {
        return vl_err_set(err, VL_ECODEC, "the image has no pixels");
    }
    if (w > VL_SOURCE_MAX_SIDE || h > VL_SOURCE_MAX_SIDE
        || (uint64_t) w * h > VL_FLAT_MAX_PIXELS
        || vl_size_mul4(w, (size_t) f->bands, (size_t) f->bits / 8, 16, &row)
               != 0
        || row > VL_SOURCE_MAX_BLOCK) {
        return vl_err_set(err, VL_ELIMIT, "an image of %ux%u pixels is "
                          "beyond the limits (%u a side, 4294967296 in all)",
                          w, h, VL_SOURCE_MAX_SIDE);
    }
    row /= 16;
    f->bh = VL_FLAT_GRID;
    while (f->bh > 16 && row * f->bh > VL_SOURCE_MAX_BLOCK) {
        f->bh /= 2;
    }
    return VL_OK;
}

static void
flat_level(vl_source_t *src, uint32_t i, uint32_t w, uint32_t h,
           uint32_t shrink, const char *compression)
{
    vl_level_t *lv = &src->info.geom.levels[i];

    lv->width = w;
    lv->height = h;
    lv->tile_w = VL_FLAT_GRID;
    lv->tile_h = VL_FLAT_GRID;
    lv->base = 0;
    lv->shrink = shrink;
    src->notes[i].compression = compression;
    src->notes[i].rows_per_strip = 0;
    src->info.geom.nlevels = i + 1;
}

static int
flat_jpeg_open(vl_source_t *src, int fd, vl_err_t *err)
{
    vl_jpegseq_info_t ji;
    vl_flat_t        *f;
    int               rc;

    if ((rc = flat_map(src, fd, err)) != VL_OK) {
        return rc;
    }
    f = src->priv;
    if ((f->jpeg = vl_jpegseq_open(f->map, f->len, &ji, err)) == NULL) {
        return err != NULL && err->code != VL_OK ? (int) err->code
                                                 : VL_ECODEC;
    }
    f->bands = ji.bands;
    f->bits = 8;
    if ((rc = flat_limits(f, ji.width, ji.height, err)) != VL_OK) {
        return rc;
    }
    if (ji.progressive && ji.coef_bytes > VL_FLAT_MAX_WHOLE) {
        return vl_err_set(err, VL_ELIMIT, "a progressive JPEG of %ux%u "
                          "needs %zu MB to decode, beyond the limit of "
                          "%zu MB", ji.width, ji.height, ji.coef_bytes >> 20,
                          (size_t) VL_FLAT_MAX_WHOLE >> 20);
    }
    src->info.geom.width = ji.width;
    src->info.geom.height = ji.height;
    src->info.geom.bands = ji.bands;
    src->info.geom.has_alpha = 0;
    src->info.bits = 8;
    src->info.compression = "jpeg";
    src->info.icc = ji.icc;
    src->info.icc_len = ji.icc_len;
    src->photometric = ji.components == 1 ? "grey"
                       : ji.components == 4 ? "cmyk" : "ycbcr";
    src->orientation = ji.orientation;
    flat_level(src, 0, ji.width, ji.height, 1, "jpeg");
    for (uint32_t s = 2; s <= 8; s *= 2) {
        const vl_level_t *prev =
            &src->info.geom.levels[src->info.geom.nlevels - 1];

        if (prev->width < 2 || prev->height < 2) {
            break;
        }
        flat_level(src, src->info.geom.nlevels, (ji.width + s - 1) / s,
                   (ji.height + s - 1) / s, s, "jpeg");
    }
    return VL_OK;
}

static int
flat_png_open(vl_source_t *src, int fd, vl_err_t *err)
{
    vl_pngdec_info_t pi;
    vl_flat_t       *f;
    int              rc;

    if ((rc = flat_map(src, fd, err)) != VL_OK) {
        return rc;
    }
    f = src->priv;
    if ((f->png = vl_pngdec_open(f->map, f->len, VL_FLAT_MAX_WHOLE, &pi,
                                 err)) == NULL) {
        return err != NULL && err->code != VL_OK ? (int) err->code
                                                 : VL_ECODEC;
    }
    f->bands = pi.bands;
    f->bits = pi.bits;
    if ((rc = flat_limits(f, pi.width, pi.height, err)) != VL_OK) {
        return rc;
    }
    src->info.geom.width = pi.width;
    src->info.geom.height = pi.height;
    src->info.geom.bands = pi.bands;
    src->info.geom.has_alpha = pi.bands == 2 || pi.bands == 4;
    src->info.bits = pi.bits;
    src->info.reads16 = pi.bits == 16;   /* every level, shrunk too */
    src->info.compression = "deflate";
    src->info.icc = pi.icc;
    src->info.icc_len = pi.icc_len;
    src->photometric = pi.bands <= 2 ? "grey" : "rgb";
    flat_level(src, 0, pi.width, pi.height, 1, "deflate");
    return VL_OK;
}

/* Rows [y, y + n) of `level`, full width, as decoded (16-bit samples for
 * a 16-bit PNG), into f->band; the band kept from the last call when it
 * is the same. */
static int
flat_band(vl_source_t *src, uint32_t level, uint32_t y, uint32_t n,
          size_t *stride, vl_err_t *err)
{
    vl_flat_t        *f = src->priv;
    const vl_level_t *lv = &src->info.geom.levels[level];
    size_t            need;
    int               rc;

    if (vl_size_mul4(lv->width, (size_t) f->bands, (size_t) f->bits / 8, 1,
                     stride) != 0
        || vl_size_mul(*stride, n, &need) != 0) {
        return vl_err_set(err, VL_ELIMIT, "a band of the image is too large");
    }
    if (f->band_ok && f->band_level == level && f->band_y == y
        && f->band_n == n) {
        return VL_OK;
    }
    f->band_ok = 0;
    if (f->band_cap < need) {
        unsigned char *p = realloc(f->band, need);

        if (p == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory decoding an "
                              "image");
        }
        __atomic_add_fetch(&flat_kept, need - f->band_cap, __ATOMIC_RELAXED);
        f->band = p;
        f->band_cap = need;
    }
    if (f->jpeg != NULL) {
        rc = vl_jpegseq_rows(f->jpeg, lv->shrink > 1 ? lv->shrink : 1, y, n,
                             VL_FLAT_MAX_WHOLE + VL_SOURCE_MAX_BLOCK, f->band,
                             *stride, err);
    } else {
        rc = vl_pngdec_rows(f->png, y, n, f->band, *stride, err);
    }
    if (rc == VL_OK) {
        f->band_ok = 1;
        f->band_level = level;
        f->band_y = y;
        f->band_n = n;
    }
    return rc;
}

/* After a read: keep the band (and an interlaced PNG decoded whole)
 * while the process keeps few enough. */
static void
flat_band_free(vl_flat_t *f)
{
    if (f->png != NULL && vl_pngdec_held(f->png) > 0) {
        size_t held = vl_pngdec_held(f->png);

        if (f->whole_held == 0) {
            __atomic_add_fetch(&flat_kept, held, __ATOMIC_RELAXED);
            f->whole_held = held;
        }
        if (__atomic_load_n(&flat_kept, __ATOMIC_RELAXED) > VL_FLAT_KEEP) {
            vl_pngdec_release(f->png);
            __atomic_sub_fetch(&flat_kept, held, __ATOMIC_RELAXED);
            f->whole_held = 0;
        }
    }
    if (f->band_ok
        && __atomic_load_n(&flat_kept, __ATOMIC_RELAXED) <= VL_FLAT_KEEP) {
        return;
    }
    __atomic_sub_fetch(&flat_kept, f->band_cap, __ATOMIC_RELAXED);
    free(f->band);
    f->band = NULL;
    f->band_cap = 0;
    f->band_ok = 0;
}

/* 16-bit to 8-bit, rounded: (v * 255 + 32767) / 65535. */
static inline unsigned char
flat_to8(uint16_t v)
{
    return (unsigned char) (((uint32_t) v * 255u + 32767u) / 65535u);
}

static int
flat_grid(vl_source_t *src, uint32_t level, vl_grid_t *grid, vl_err_t *err)
{
    vl_flat_t *f = src->priv;

    (void) level;
    (void) err;
    grid->bw = VL_FLAT_GRID;
    grid->bh = f->bh;
    grid->max_run = 0;
    return VL_OK;
}

/* Decode block row `row` (full width) and publish its blocks [c0, c1). */
static int
flat_publish_row(vl_grid_walk_t *w, uint32_t row, uint32_t c0, uint32_t c1,
                 vl_err_t *err)
{
    vl_source_t *src = w->src;
    vl_flat_t   *f = src->priv;
    size_t       px = (size_t) f->bands, stride;
    vl_rect_t    b;
    int          rc;

    vl_grid_block(w, 0, row, &b);
    if ((rc = flat_band(src, w->level, b.y, b.h, &stride, err)) != VL_OK) {
        return rc;
    }
    for (uint32_t col = c0; col < c1; col++) {
        vl_tile_t *t;

        vl_grid_block(w, col, row, &b);
        if ((t = vl_tile_new(b.w, b.h, f->bands, err)) == NULL) {
            return err != NULL ? (int) err->code : VL_ENOMEM;
        }
        for (uint32_t y = 0; y < b.h; y++) {
            const unsigned char *s = f->band + (size_t) y * stride;
            unsigned char       *d = t->data + (size_t) y * b.w * px;

            if (f->bits == 16) {
                const uint16_t *s16 = (const uint16_t *) s
                                      + (size_t) b.x * px;

                for (size_t i = 0; i < b.w * px; i++) {
                    d[i] = flat_to8(s16[i]);
                }
            } else {
                memcpy(d, s + (size_t) b.x * px, b.w * px);
            }
        }
        vl_grid_put(w, col, row, t);
        vl_tile_release(t);
    }
    return VL_OK;
}

/*
 * The block rows of box, each decoded whole (full width). Every block of
 * a band row is published when the tile cache holds one easily (half its
 * capacity), else only those asked for (the rest would evict them). When
 * the whole level fits in half the cache, the rows above the box that are
 * not cached are decoded and published first instead of skipped (the
 * decode passes through them anyway): a read from the bottom up (a
 * flipped or upside-down request, EXIF orientation 3) then decodes the
 * level once, not once per strip.
 */
static int
flat_decode(vl_grid_walk_t *w, const vl_rect_t *box, vl_err_t *err)
{
    vl_source_t     *src = w->src;
    vl_flat_t       *f = src->priv;
    vl_tiles_stats_t ts;
    uint64_t         row_bytes = (uint64_t) w->lv->width * f->bh
                                 * (uint64_t) f->bands;
    int              rc = VL_OK;

    vl_tiles_stats(src->tiles, &ts);
    if (row_bytes * w->rows <= ts.capacity / 2) {
        for (uint32_t row = 0; row < box->y && rc == VL_OK; row++) {
            if (!vl_grid_cached(w, 0, row)
                || !vl_grid_cached(w, w->cols - 1, row)) {
                rc = flat_publish_row(w, row, 0, w->cols, err);
            }
        }
    }
    for (uint32_t row = box->y; row < box->y + box->h && rc == VL_OK;
         row++) {
        int all = row_bytes <= ts.capacity / 2;

        rc = flat_publish_row(w, row, all ? 0 : box->x,
                              all ? w->cols : box->x + box->w, err);
    }
    flat_band_free(f);
    return rc;
}

/* Serialised: a viewer's first burst of tiles asks for the same band
 * rows at once, on as many handles; one decodes them, the others find
 * them in the tile cache after waiting. It also bounds a worker to one
 * flat decode's memory at a time, as for JPEG 2000. */
static const vl_grid_ops_t flat_grid_ops = {
    flat_grid,
    flat_decode,
    NULL,
    1,
};

/* A 16-bit read of a 16-bit PNG: the rows straight into out, in bands,
 * not cached (the tile cache holds 8-bit blocks). */
static int
flat_read16(vl_source_t *src, const vl_rect_t *r, vl_image_t *out,
            vl_err_t *err)
{
    vl_flat_t *f = src->priv;
    size_t     px = (size_t) f->bands * 2, stride;
    int        rc = VL_OK;

    for (uint32_t y = r->y; y < r->y + r->h && rc == VL_OK;) {
        uint32_t n = r->y + r->h - y < f->bh ? r->y + r->h - y : f->bh;

        if ((rc = flat_band(src, 0, y, n, &stride, err)) != VL_OK) {
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            memcpy(VL_IMAGE_ROW(out, y - r->y + i),
                   f->band + (size_t) i * stride + (size_t) r->x * px,
                   (size_t) r->w * px);
        }
        y += n;
    }
    flat_band_free(f);
    return rc;
}

static int
flat_read(vl_source_t *src, uint32_t level, const vl_rect_t *r,
          vl_image_t *out, vl_err_t *err)
{
    vl_flat_t *f = src->priv;

    if (out->depth == 2) {
        if (f->bits != 16 || level != 0) {
            return vl_err_set(err, VL_EINTERNAL, "no 16-bit read of this "
                              "image");
        }
        return flat_read16(src, r, out, err);
    }
    return vl_grid_read(src, &flat_grid_ops, level, r, out, err);
}

int
vl_flat_jpeg_is_a(const unsigned char *magic, size_t len)
{
    return len >= 3 && magic[0] == 0xff && magic[1] == 0xd8
           && magic[2] == 0xff;
}

int
vl_flat_png_is_a(const unsigned char *magic, size_t len)
{
    return len >= 8 && memcmp(magic, "\x89PNG\r\n\x1a\n", 8) == 0;
}

/* A read decodes every row from the top of the level (the decoder kept
 * open continues when it is above; the worst case is a fresh one) down
 * to r's bottom, full width; memory is a band of VL_FLAT_GRID rows and
 * the blocks made of it. */
static void
flat_cost(const vl_source_t *src, uint32_t level, const vl_rect_t *r,
          uint32_t rows, int depth, vl_cost_t *cost)
{
    const vl_flat_t  *f = src->priv;
    const vl_level_t *lv = &src->info.geom.levels[level];
    uint64_t          band = (uint64_t) lv->width * VL_FLAT_GRID
                             * (uint64_t) f->bands;
    uint64_t          bytes = band * (uint64_t) (f->bits / 8)
                              + band * (uint64_t) depth;

    (void) rows;
    cost->pixels += (uint64_t) lv->width * vl_rect_bottom(r);
    cost->bytes = bytes > cost->bytes ? bytes : cost->bytes;
}

const vl_source_ops_t vl_source_flat_jpeg_ops = {
    "jpeg",
    flat_jpeg_open,
    flat_close,
    flat_read,
    NULL,
    flat_cost,
};

const vl_source_ops_t vl_source_flat_png_ops = {
    "png",
    flat_png_open,
    flat_close,
    flat_read,
    NULL,
    flat_cost,
};
