/* SPDX-License-Identifier: MIT */
/*
 * grok: the Grok backend for JP2 files and raw J2K/HTJ2K codestreams,
 * compiled when vellum is configured --with-grok; it is then the sniff
 * table's vl_source_jp2_ops, in front of jp2.c (OpenJPEG), to which its
 * open hands tiled JPEG 2000 Part 1 files (jp2_p.h). The only Grok user
 * in src/. Grok is AGPL-3.0: a binary built with this file is covered by
 * that licence (README, `vellum --version`).
 *
 * Every read is a region decode: Grok reads the main header, then only
 * the tile parts and packets the window needs (TLM and PLT markers let it
 * seek instead of parse), at the reduce factor of the level, HTJ2K
 * code-blocks included, tiled or not. The file is mapped once per handle
 * and given to Grok as a buffer. Grok 10.0 refuses a second window on one
 * codec (set_window must follow read_header), so each decode builds a
 * codec on the mapped file; what is reused between requests is the
 * mapping, the geometry and the decoded blocks in the tile cache.
 * Grok's message handlers are process-wide: every Grok call runs under
 * one process mutex that points them at the calling handle's buffer, so
 * nothing reaches stderr and errors land in the request. Grok's thread
 * pool is made once per process with vl_source_decode_threads() threads.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* grok.h declares two functions without a prototype ("()") */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <grok.h>
#pragma GCC diagnostic pop

#include "core/log.h"
#include "core/str.h"
#include "source/jp2_p.h"
#include "source/jp2box.h"
#include "source/liberr.h"

#define VL_GRK_TILE 512u /* viewer tile side */
#define VL_GRK_GRID 256u /* decode/cache grid side */

typedef struct {
    int            fd;
    unsigned char *data; /* the file, mapped read-only */
    size_t         size;
    int            j2k;            /* raw codestream */
    uint32_t       x0, y0, x1, y1; /* image area on the reference grid */
    uint32_t       ntiles;
    uint32_t       numres;
    uint32_t       layers;             /* 0 = all */
    int            ht;                 /* HTJ2K code-blocks */
    uint32_t       tx0, ty0, tdx, tdy; /* codestream tile grid */
    uint32_t       grid;               /* decode and cache grid */
    vl_jp2_map_t   map;                /* components -> bands */
    vl_liberr_t    lerr;               /* Grok's first error message */
    unsigned char *icc;
    size_t         icc_len;
    char          *text[VL_JP2BOX_DC_FIELDS];
    char          *rights;
} vl_grk_t;

/* ------------------------------------------------ process-wide Grok state */

static pthread_mutex_t grk_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t  grk_once = PTHREAD_ONCE_INIT;
static vl_liberr_t    *grk_sink; /* the caller's buffer, under grk_lock */

static int grk_truncated; /* a truncation warning seen */

/* Keep Grok's message on one line (some span two). */
static void
grk_put(const char *m)
{
    char   line[VL_ERR_MSG_MAX];
    size_t i;

    snprintf(line, sizeof(line), "%s", m);
    for (i = 0; line[i] != '\0'; i++) {
        line[i] = line[i] == '\n' || line[i] == '\r' ? ' ' : line[i];
    }
    vl_liberr_put(grk_sink, line);
}

static void
grk_on_error(const char *m, void *user)
{
    (void) user;
    /* Grok's own threads report while the caller holds grk_lock */
    grk_put(m);
}

/* Grok decodes a truncated codestream as far as it goes and only warns;
 * vellum refuses it like OpenJPEG and OpenJPH do (a cut master is a
 * storage fault, not something to serve and cache as grey). */
static void
grk_on_warning(const char *m, void *user)
{
    (void) user;
    /* "Tile part length ... greater than stream length ... Tile has been
     * truncated.", "Tile 0 is truncated."; not "Packet data is truncated
     * or packet header is corrupt", which Grok 10.0.5 also says of the
     * last packets of whole OpenJPEG files it decodes right */
    if (strstr(m, "Tile has been truncated") != NULL
        || (strncmp(m, "Tile ", 5) == 0 && strstr(m, " is truncated")))
    {
        grk_truncated = 1;
        vl_liberr_put(grk_sink, "the codestream is truncated");
    }
    if (vl_log_enabled(VL_LOG_INFO)) {
        vl_log(VL_LOG_INFO, NULL, "grok: %.*s", (int) strcspn(m, "\n"), m);
    }
}

static void
grk_on_info(const char *m, void *user)
{
    (void) m;
    (void) user;
}

static void
grk_setup(void)
{
    grk_set_msg_handlers(grk_on_info, NULL, grk_on_warning, NULL, grk_on_error,
                         NULL);
    /* Grok 10.0 returns whether a plugin was loaded (none is): false */
    (void) grk_initialize(NULL, (uint32_t) vl_source_decode_threads());
}

/* Take the Grok lock, messages going to le. */
static void
grk_enter(vl_liberr_t *le)
{
    pthread_once(&grk_once, grk_setup);
    pthread_mutex_lock(&grk_lock);
    vl_liberr_clear(le);
    grk_sink = le;
    grk_truncated = 0;
}

static void
grk_leave(void)
{
    grk_sink = NULL;
    pthread_mutex_unlock(&grk_lock);
}

/* A codec on the mapped file at reduce factor `reduce` with the header
 * read (hi filled when not NULL); under grk_lock. */
static grk_codec *
grk_open_codec(vl_grk_t *t, uint32_t reduce, grk_header_info *hi, vl_err_t *err)
{
    grk_stream_params          sp;
    grk_decompress_core_params cp;
    grk_header_info            h;
    grk_codec                 *c;

    memset(&sp, 0, sizeof(sp));
    sp.buf = t->data;
    sp.len = t->size;
    grk_decompress_set_default_params(&cp);
    cp.reduce = (uint8_t) reduce;
    cp.max_layers = (uint16_t) (t->layers > 0xffff ? 0xffff : t->layers);
    cp.tileCacheStrategy = GRK_TILE_CACHE_NONE;
    if ((c = grk_decompress_init(&sp, &cp)) == NULL) {
        vl_liberr_fail(&t->lerr, "cannot read the JPEG 2000 header",
                       "Grok error", err);
        return NULL;
    }
    memset(&h, 0, sizeof(h));
    if (!grk_decompress_read_header(c, &h)) {
        grk_object_unref(c);
        vl_liberr_fail(&t->lerr, "cannot read the JPEG 2000 header",
                       "Grok error", err);
        return NULL;
    }
    if (hi != NULL) {
        *hi = h;
    }
    return c;
}

/* Decode the canvas window [ax0, ax1) x [ay0, ay1) at reduce factor r on
 * a fresh codec; the image stays valid until the codec is released. */
static grk_codec *
grk_decode_window(vl_grk_t *t, uint32_t r, uint64_t ax0, uint64_t ay0,
                  uint64_t ax1, uint64_t ay1, grk_image **imgp, vl_err_t *err)
{
    grk_codec *c = grk_open_codec(t, r, NULL, err);
    grk_image *img;

    if (c == NULL) {
        return NULL;
    }
    if (!grk_decompress_set_window(c, (float) ax0, (float) ay0, (float) ax1,
                                   (float) ay1)
        || !grk_decompress(c, NULL) || grk_truncated
        || (img = grk_decompress_get_composited_image(c)) == NULL)
    {
        grk_object_unref(c);
        vl_liberr_fail(&t->lerr, "cannot decode JPEG 2000", "Grok error", err);
        return NULL;
    }
    *imgp = img;
    return c;
}

/* ------------------------------------------------------------- decoding */

/* The decoded components as interleaved bands of block b (level pixels,
 * lx0/ly0 the level's origin on the reduced grid): 8-bit, or 16-bit at
 * depth 2. A component's sample of level pixel (px, py) is
 * (px / dx - comp x0, py / dy - comp y0), clamped at its edges. */
static int
grk_convert(const vl_grk_t *t, const grk_image *img, uint64_t lx0, uint64_t ly0,
            const vl_rect_t *b, int depth, unsigned char *out, vl_err_t *err)
{
    int      comp[4], nc = 0, bands = t->map.bands;
    uint32_t w = b->w, h = b->h;

    if (img->numcomps != t->map.ncomps) {
        return vl_err_set(err, VL_ECODEC,
                          "JPEG 2000 components changed while decoding");
    }
    for (int i = 0; i < t->map.colour; i++) {
        comp[nc++] = t->map.idx[i];
    }
    if (t->map.alpha >= 0) {
        comp[nc++] = t->map.alpha;
    }
    for (int i = 0; i < nc; i++) {
        const grk_image_comp *c = &img->comps[comp[i]];
        uint64_t px0 = (lx0 + b->x) / c->dx, py0 = (ly0 + b->y) / c->dy;
        uint64_t px1 = (lx0 + b->x + w - 1) / c->dx;
        uint64_t py1 = (ly0 + b->y + h - 1) / c->dy;

        if (c->data == NULL || c->w == 0 || c->h == 0 || c->stride < c->w
            || px0 < c->x0 || py0 < c->y0 || px1 >= (uint64_t) c->x0 + c->w
            || py1 >= (uint64_t) c->y0 + c->h)
        {
            return vl_err_set(err, VL_ECODEC,
                              "JPEG 2000 component %d decoded at the wrong "
                              "size",
                              comp[i]);
        }
    }
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *o = out + (size_t) y * w * (size_t) bands;
        uint16_t      *o16 =
            (uint16_t *) (void *) out + (size_t) y * w * (size_t) bands;
        uint64_t       py = ly0 + b->y + y;
        const int32_t *row[4];
        int            fast = depth != 2 && !t->map.ycc;

        for (int i = 0; i < nc; i++) {
            const grk_image_comp *c = &img->comps[comp[i]];

            row[i] = c->data + (size_t) (py / c->dy - c->y0) * c->stride;
            fast &= c->prec == 8 && !c->sgnd && c->dx == 1;
        }
        if (fast) {
            for (int i = 0; i < nc; i++) {
                const int32_t *s =
                    row[i] + (lx0 + b->x - img->comps[comp[i]].x0);
                unsigned char *q = o + i;

                for (uint32_t x = 0; x < w; x++) {
                    int32_t v = s[x];

                    *q = (unsigned char) (v < 0 ? 0 : v > 255 ? 255 : v);
                    q += nc;
                }
            }
            continue;
        }
        for (uint32_t x = 0; x < w; x++) {
            uint64_t px = lx0 + b->x + x;
            unsigned v[4];

            for (int i = 0; i < nc; i++) {
                const grk_image_comp *c = &img->comps[comp[i]];
                int32_t               s = row[i][px / c->dx - c->x0];

                if (depth == 2) { /* grok_open: never with sYCC */
                    o16[i] = (uint16_t) vl_jp2_to16(s, c->prec, c->sgnd);
                } else {
                    v[i] = vl_jp2_to8(s, c->prec, c->sgnd);
                }
            }
            if (depth == 2) {
                o16 += bands;
                continue;
            }
            vl_jp2_pixel(v, nc, t->map.ycc, o);
            o += bands;
        }
    }
    return VL_OK;
}

/* Decode the grid blocks of box in one window decode and give them to the
 * walk, which copies them into the request and keeps them in the cache.
 * Runs under the grid's process-wide decode lock (serialise). */
static int
grk_grid_decode(vl_grid_walk_t *walk, const vl_rect_t *box, vl_err_t *err)
{
    vl_grk_t         *t = walk->src->priv;
    const vl_level_t *lv = walk->lv;
    uint32_t          r = walk->level, ts = t->grid;
    uint32_t          c0 = box->x, c1 = box->x + box->w - 1;
    uint32_t          r0 = box->y, r1 = box->y + box->h - 1;
    uint64_t          u0 = (uint64_t) c0 * ts, v0 = (uint64_t) r0 * ts;
    uint64_t          u1 = (uint64_t) (c1 + 1) * ts;
    uint64_t          v1 = (uint64_t) (r1 + 1) * ts;
    uint64_t          sc = (uint64_t) 1 << r;
    uint64_t          lx0 = (t->x0 + sc - 1) >> r, ly0 = (t->y0 + sc - 1) >> r;
    uint64_t          ax0, ay0, ax1, ay1;
    int               rc = VL_OK, depth = walk->out->depth == 2 ? 2 : 1;
    grk_codec        *c;
    grk_image        *img = NULL;

    u1 = u1 > lv->width ? lv->width : u1;
    v1 = v1 > lv->height ? lv->height : v1;
    /* level pixels [u0, u1) are canvas [(lx0 + u0) << r, ...) */
    ax0 = (lx0 + u0) << r;
    ay0 = (ly0 + v0) << r;
    ax1 = (lx0 + u1) << r;
    ay1 = (ly0 + v1) << r;
    if (t->ntiles > 1) {
        /* Grok 10.0.5 decodes a window inside a codestream tile wrong at
         * full resolution (9/7 big-tiled.jp2: 18 dB against OpenJPEG,
         * grk_decompress -d too; lossless HT tiles as well), whole tiles
         * and untiled codestreams right: widen the window to whole tiles
         * and keep every grid block the wider decode holds */
        size_t bytes;

        ax0 = ax0 < t->tx0 ? t->tx0 : t->tx0 + (ax0 - t->tx0) / t->tdx * t->tdx;
        ay0 = ay0 < t->ty0 ? t->ty0 : t->ty0 + (ay0 - t->ty0) / t->tdy * t->tdy;
        ax1 = t->tx0 + (ax1 - t->tx0 + t->tdx - 1) / t->tdx * t->tdx;
        ay1 = t->ty0 + (ay1 - t->ty0 + t->tdy - 1) / t->tdy * t->tdy;
        ax0 = ax0 < t->x0 ? t->x0 : ax0;
        ay0 = ay0 < t->y0 ? t->y0 : ay0;
        ax1 = ax1 > t->x1 ? t->x1 : ax1;
        ay1 = ay1 > t->y1 ? t->y1 : ay1;
        u0 = ((ax0 + sc - 1) >> r) - lx0;
        v0 = ((ay0 + sc - 1) >> r) - ly0;
        u1 = ((ax1 + sc - 1) >> r) - lx0;
        v1 = ((ay1 + sc - 1) >> r) - ly0;
        u1 = u1 > lv->width ? lv->width : u1;
        v1 = v1 > lv->height ? lv->height : v1;
        c0 = (uint32_t) ((u0 + ts - 1) / ts) < c0
                 ? (uint32_t) ((u0 + ts - 1) / ts)
                 : c0;
        r0 = (uint32_t) ((v0 + ts - 1) / ts) < r0
                 ? (uint32_t) ((v0 + ts - 1) / ts)
                 : r0;
        u1 = u1 == lv->width ? (u1 - 1) / ts : u1 / ts - 1;
        v1 = v1 == lv->height ? (v1 - 1) / ts : v1 / ts - 1;
        c1 = (uint32_t) u1 > c1 ? (uint32_t) u1 : c1;
        r1 = (uint32_t) v1 > r1 ? (uint32_t) v1 : r1;
        if (vl_size_mul4((size_t) ((ax1 - ax0 + sc - 1) >> r) + 1,
                         (size_t) ((ay1 - ay0 + sc - 1) >> r) + 1,
                         t->map.ncomps, 4, &bytes)
                != 0
            || bytes > 4 * VL_SOURCE_MAX_BLOCK)
        {
            return vl_err_set(err, VL_EUNSUPP,
                              "this JPEG 2000 image needs a decode area "
                              "too large at this resolution (codestream "
                              "tiles too large)");
        }
    }
    ax0 = ax0 < t->x0 ? t->x0 : ax0;
    ay0 = ay0 < t->y0 ? t->y0 : ay0;
    ax1 = ax1 > t->x1 ? t->x1 : ax1;
    ay1 = ay1 > t->y1 ? t->y1 : ay1;
    grk_enter(&t->lerr);
    c = grk_decode_window(t, r, ax0, ay0, ax1, ay1, &img, err);
    if (c == NULL) {
        grk_leave();
        return err != NULL ? err->code : VL_ECODEC;
    }
    for (uint32_t row = r0; row <= r1 && rc == VL_OK; row++) {
        for (uint32_t col = c0; col <= c1 && rc == VL_OK; col++) {
            vl_tile_t *tile;
            vl_rect_t  b;

            vl_grid_block(walk, col, row, &b);
            if ((tile = vl_tile_new_depth(b.w, b.h, t->map.bands, depth, err))
                == NULL) {
                rc = err != NULL ? err->code : VL_ENOMEM;
                break;
            }
            rc = grk_convert(t, img, lx0, ly0, &b, depth, tile->data, err);
            if (rc == VL_OK) {
                vl_grid_put(walk, col, row, tile);
            }
            vl_tile_release(tile);
        }
    }
    grk_object_unref(c);
    grk_leave();
    return rc;
}

/* A grid of at most 256 on every level; one window decode holds 4 bytes
 * per sample of every component: at most VL_SOURCE_MAX_BLOCK of them. */
static int
grk_grid(vl_source_t *src, uint32_t level, vl_grid_t *grid, vl_err_t *err)
{
    const vl_grk_t *t = src->priv;
    size_t          tile_bytes;

    (void) level;
    if (vl_size_mul4(t->grid, t->grid, t->map.ncomps, 4, &tile_bytes) != 0) {
        return vl_err_set(err, VL_EFORMAT, "JPEG 2000 tile out of range");
    }
    grid->bw = grid->bh = t->grid;
    grid->max_run = (uint32_t) (VL_SOURCE_MAX_BLOCK / tile_bytes);
    grid->max_run = grid->max_run < 1 ? 1 : grid->max_run;
    return VL_OK;
}

/* One decode at a time per process: it bounds a worker to one decode's
 * memory (Grok's pool runs the decode's threads). */
static const vl_grid_ops_t grk_grid_ops = {
    grk_grid,
    grk_grid_decode,
    NULL,
    1,
};

static int
grok_read(vl_source_t *src, uint32_t level, const vl_rect_t *r, vl_image_t *out,
          vl_err_t *err)
{
    return vl_grid_read(src, &grk_grid_ops, level, r, out, err);
}

/* ------------------------------------------------------------ open/close */

static void
grk_free(vl_grk_t *t)
{
    if (t == NULL) {
        return;
    }
    if (t->data != NULL) {
        munmap(t->data, t->size);
    }
    if (t->fd >= 0) {
        close(t->fd);
    }
    free(t->icc);
    for (int i = 0; i < VL_JP2BOX_DC_FIELDS; i++) {
        free(t->text[i]);
    }
    free(t->rights);
    free(t);
}

static void
grok_close(vl_source_t *src)
{
    grk_free(src->priv);
    src->priv = NULL;
}

static long
grk_box_read(void *user, uint64_t off, void *buf, size_t n)
{
    const vl_grk_t *t = user;

    return (long) pread(t->fd, buf, n, (off_t) off);
}

/* Grok's components and colour space for vl_jp2_map_bands (jp2.c). */
static const char *
grk_bands(vl_grk_t *t, const grk_image *img)
{
    vl_jp2_comp_t comps[VL_JP2_MAX_COMPS];
    uint32_t      n = img->numcomps;

    if (n > VL_JP2_MAX_COMPS) {
        return "JPEG 2000 images with more than 16 components are not "
               "supported";
    }
    for (uint32_t i = 0; i < n; i++) {
        const grk_image_comp *c = &img->comps[i];

        comps[i].prec = c->prec;
        comps[i].dx = c->dx;
        comps[i].dy = c->dy;
        comps[i].alpha = c->type == GRK_CHANNEL_TYPE_OPACITY
                         || c->type == GRK_CHANNEL_TYPE_PREMULTIPLIED_OPACITY;
    }
    return vl_jp2_map_bands(
        &t->map, n, comps,
        img->color_space == GRK_CLRSPC_CMYK ? VL_JP2_SPACE_CMYK
        : img->color_space == GRK_CLRSPC_SYCC
                || img->color_space == GRK_CLRSPC_EYCC
            ? VL_JP2_SPACE_YCC
            : VL_JP2_SPACE_OTHER);
}

/* Geometry, bands and ICC from the header (or, when a palette, channel
 * definitions or an ICC profile need a decode, from one pixel decoded at
 * the lowest level); under grk_lock. */
static int
grk_inspect(vl_source_t *src, vl_grk_t *t, const vl_jp2box_in_t *boxes,
            vl_err_t *err)
{
    grk_header_info hi;
    grk_codec      *c, *probe = NULL;
    grk_image      *img;
    const char     *why;
    int             remap = 1, subsampled = 0;

    if ((c = grk_open_codec(t, 0, &hi, err)) == NULL) {
        return err != NULL ? err->code : VL_ECODEC;
    }
    img = grk_decompress_get_composited_image(c);
    if (img == NULL || img->x1 <= img->x0 || img->y1 <= img->y0
        || img->numcomps == 0)
    {
        grk_object_unref(c);
        return vl_err_set(err, VL_EFORMAT, "the JPEG 2000 image is empty");
    }
    t->x0 = img->x0;
    t->y0 = img->y0;
    t->x1 = img->x1;
    t->y1 = img->y1;
    t->ntiles = hi.t_grid_width * hi.t_grid_height;
    t->numres = hi.numresolutions < 1 ? 1 : hi.numresolutions;
    t->numres = t->numres > VL_MAX_LEVELS ? VL_MAX_LEVELS : t->numres;
    t->ht = (hi.cblk_sty & GRK_CBLKSTY_HT) != 0;
    t->tx0 = hi.tx0;
    t->ty0 = hi.ty0;
    t->tdx = hi.t_width > 0 ? hi.t_width : 1;
    t->tdy = hi.t_height > 0 ? hi.t_height : 1;
    if (t->x1 - t->x0 > VL_SOURCE_MAX_SIDE
        || t->y1 - t->y0 > VL_SOURCE_MAX_SIDE) {
        grk_object_unref(c);
        return vl_err_set(err, VL_EFORMAT,
                          "image dimensions beyond 1,000,000 pixels a side");
    }
    if (img->numcomps > 16) {
        grk_object_unref(c);
        return vl_err_set(err, VL_EFORMAT,
                          "JPEG 2000 images with more than 16 components "
                          "are not supported");
    }
    /* viewer tiles: 512, or the codestream tile when smaller (as jp2.c) */
    t->grid = hi.t_width < hi.t_height ? hi.t_width : hi.t_height;
    if (t->ntiles <= 1 || t->grid >= VL_GRK_TILE || t->grid < 64) {
        t->grid = VL_GRK_TILE;
    }
    if (vl_jp2box_needs_probe(boxes, &remap)) {
        uint32_t r = t->numres - 1;
        uint64_t lx0 = ((uint64_t) t->x0 + (1u << r) - 1) >> r;
        uint64_t ly0 = ((uint64_t) t->y0 + (1u << r) - 1) >> r;
        uint64_t ax1 = (lx0 + 1) << r, ay1 = (ly0 + 1) << r;

        grk_object_unref(c);
        c = NULL;
        ax1 = ax1 > t->x1 ? t->x1 : ax1;
        ay1 = ay1 > t->y1 ? t->y1 : ay1;
        probe =
            grk_decode_window(t, r, lx0 << r, ly0 << r, ax1, ay1, &img, err);
        if (probe == NULL) {
            return err != NULL ? err->code : VL_ECODEC;
        }
    }
    if ((why = grk_bands(t, img)) != NULL) {
        grk_object_unref(probe != NULL ? probe : c);
        return vl_err_set(err, VL_EFORMAT, "%s", why);
    }
    src->info.bits = img->comps[t->map.idx[0]].prec > 8 ? 16 : 8;
    for (uint32_t i = 0; i < img->numcomps && i < VL_JP2_MAX_COMPS; i++) {
        t->map.prec[i] = img->comps[i].prec;
        t->map.sgnd[i] = img->comps[i].sgnd;
        subsampled |= img->comps[i].dx != 1 || img->comps[i].dy != 1;
    }
    (void) subsampled;
    src->info.reads16 = src->info.bits == 16 && !t->map.ycc;
    if (img->meta != NULL && img->meta->color.icc_profile_buf != NULL
        && img->meta->color.icc_profile_len > 0)
    {
        t->icc = malloc(img->meta->color.icc_profile_len);
        if (t->icc == NULL) {
            grk_object_unref(probe != NULL ? probe : c);
            return vl_err_set(err, VL_ENOMEM,
                              "out of memory opening JPEG 2000");
        }
        memcpy(t->icc, img->meta->color.icc_profile_buf,
               img->meta->color.icc_profile_len);
        t->icc_len = img->meta->color.icc_profile_len;
        src->info.icc = t->icc;
        src->info.icc_len = t->icc_len;
    }
    grk_object_unref(probe != NULL ? probe : c);
    return VL_OK;
}

static int
grok_open(vl_source_t *src, int fd, vl_err_t *err)
{
    vl_grk_t      *t;
    struct stat    st;
    unsigned char  magic[12];
    vl_jp2box_in_t boxes;
    int            rc;

    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        close(fd);
        return vl_err_set(err, VL_ENOMEM, "out of memory opening JPEG 2000");
    }
    t->fd = fd;
    t->map.alpha = -1;
    src->priv = t;
    if (fstat(fd, &st) != 0 || st.st_size < 12
        || pread(fd, magic, sizeof(magic), 0) != 12)
    {
        return vl_err_set(err, VL_ECODEC, "the JPEG 2000 file is truncated");
    }
    t->size = (size_t) st.st_size;
    t->data = mmap(NULL, t->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (t->data == MAP_FAILED) {
        t->data = NULL;
        return vl_err_set(err, VL_EIO, "cannot map the JPEG 2000 file");
    }
    t->j2k = memcmp(magic, "\xff\x4f\xff\x51", 4) == 0;
    t->layers = src->max_layers > 0 ? (uint32_t) src->max_layers : 0;
    boxes.read = grk_box_read;
    boxes.user = t;
    boxes.size = (uint64_t) t->size;
    grk_enter(&t->lerr);
    rc = grk_inspect(src, t, &boxes, err);
    grk_leave();
    if (rc != VL_OK) {
        return rc;
    }
    if (t->ntiles > 1 && !t->ht) {
        /* tiled Part 1: OpenJPEG decodes just the area of a tile, Grok
         * 10.0.5 needs the whole tile (2.5-7x the instructions): hand the
         * file to jp2.c, which then is this handle's backend */
        src->info.icc = NULL;
        src->info.icc_len = 0;
        src->info.bits = 0;
        src->info.reads16 = 0;
        t->fd = -1;
        grk_free(t);
        src->priv = NULL;
        src->ops = &vl_source_opj_ops;
        return src->ops->open(src, fd, err);
    }
    if ((rc = vl_jp2_metadata(src, t->text, &t->rights, &boxes, err))
        != VL_OK) {
        return rc;
    }
    for (uint32_t r = 0; r < t->numres; r++) {
        vl_level_t *g = &src->info.geom.levels[r];
        uint64_t    s = (uint64_t) 1 << r;

        g->width = (uint32_t) ((t->x1 + s - 1) / s - (t->x0 + s - 1) / s);
        g->height = (uint32_t) ((t->y1 + s - 1) / s - (t->y0 + s - 1) / s);
        g->tile_w = g->tile_h = t->grid;
        /* `vellum info` says which decoder serves the level, and what
         * that means for the binary */
        src->notes[r].compression =
            t->ht ? "htj2k (Grok region decode; binary under AGPL-3.0)"
                  : "jpeg2000 (Grok region decode; binary under AGPL-3.0)";
        src->notes[r].rows_per_strip = 0;
    }
    if (t->grid > VL_GRK_GRID) {
        t->grid = VL_GRK_GRID;
    }
    src->info.geom.nlevels = t->numres;
    src->info.geom.width = src->info.geom.levels[0].width;
    src->info.geom.height = src->info.geom.levels[0].height;
    src->info.geom.bands = t->map.bands;
    src->info.geom.has_alpha = t->map.alpha >= 0;
    src->info.compression = "jpeg2000";
    src->info.format = t->j2k ? "j2k" : "jp2";
    src->photometric = t->map.ycc           ? "sycc"
                       : t->map.colour == 3 ? "rgb"
                                            : "minisblack";
    return VL_OK;
}

const char *
vl_source_jp2_decoder(void)
{
    static char name[200];

    /* grk_version() is a constant string: the race of two first calls
     * writes the same bytes */
    if (name[0] == '\0') {
        snprintf(name, sizeof(name),
                 "Grok %s (AGPL-3.0): this vellum binary is covered by the "
                 "AGPL-3.0; tiled JPEG 2000 Part 1: %.*s",
                 grk_version(), (int) strcspn(vl_jp2_opj_decoder(), ";"),
                 vl_jp2_opj_decoder());
    }
    return name;
}

const vl_source_ops_t vl_source_jp2_ops = {
    "jp2", grok_open, grok_close, grok_read, NULL, NULL,
};
