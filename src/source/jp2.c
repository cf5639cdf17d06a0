/* SPDX-License-Identifier: MIT */
/*
 * jp2: the OpenJPEG backend (the only OpenJPEG user in src/) for JP2 files
 * and raw J2K/HTJ2K codestreams. Levels are the codestream's resolutions;
 * reads decode only the area needed at the reduce factor needed, in a
 * virtual tile grid kept in the worker's tile cache. Opening reads the main
 * header only (plus one tiny decode when JP2 boxes need it). OpenJPEG errors
 * land in this handle's message buffer, never on stderr. A handle is used
 * by one thread at a time.
 *
 * HTJ2K: OpenJPEG 2.5.0 decodes HT code-blocks right only when a decode
 * covers whole codestream tiles (a partial decode leaves them zero: flat
 * grey). Untiled HTJ2K goes through OpenJPH (htj2k.c) when vellum is built
 * with it: a line decoder that runs from the top of a level down, kept
 * open between requests so reads further down continue where the last one
 * stopped; decoded bands go to the tile cache. Tiled HTJ2K, or any HTJ2K
 * without OpenJPH, is decoded by OpenJPEG in whole codestream tiles.
 * Boxes are read by jp2box.c, the Dublin Core of the first XML box too;
 * what jp2.c and htj2k.c share is jp2_p.h.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openjpeg.h>

#include "core/deadline.h"
#include "core/log.h"
#include "core/str.h"
#include "source/jp2_p.h"
#include "source/jp2box.h"
#include "source/liberr.h"
#include "source/meta.h"

#define VL_JP2_TILE        512u               /* viewer tile side */
#define VL_JP2_GRID        256u               /* decode/cache grid side */
#define VL_JP2_STREAM_BUF  ((OPJ_SIZE_T) 1 << 14)

typedef struct {
    int       fd;
    OPJ_OFF_T pos, size;
} vl_jp2_io_t;

/* One OpenJPEG decoder with its stream and header image. */
typedef struct {
    opj_codec_t  *codec;
    opj_stream_t *stream;
    opj_image_t  *image;
    vl_jp2_io_t   io;
    int           reduce;
} vl_jp2_dec_t;

typedef struct {
    vl_jp2_cs_t    cs;              /* the file and its codestream */
    OPJ_OFF_T      size;
    OPJ_CODEC_FORMAT fmt;
    uint32_t       x0, y0, x1, y1;  /* image area on the reference grid */
    uint32_t       ntiles;          /* codestream tiles */
    uint32_t       numres;
    uint32_t       layers;          /* 0 = all */
    vl_jp2_map_t   map;             /* components -> bands */
    int            reuse;           /* repeated area decodes on one codec */
    int            ht;              /* HTJ2K code-blocks */
    uint32_t       tx0, ty0, tdx, tdy;  /* codestream tile grid */
    uint32_t       grid;            /* decode and cache grid (<= tile) */
    uint32_t       allres;          /* the codestream's resolutions */
    uint32_t       cbw, cbh;        /* code-block size, log2 */
    uint8_t        prcw[33], prch[33];  /* precinct size per resolution,
                                     * log2 (15: none) */
    int            ojph;            /* decode with OpenJPH (HTJ2K) */
    vl_jp2_dec_t   keep;            /* the reused decoder, if any */
    int            keep_open;
    vl_liberr_t    lerr;            /* OpenJPEG's message */
    unsigned char *icc;
    size_t         icc_len;
    char          *text[VL_JP2BOX_DC_FIELDS];  /* Dublin Core, or NULL */
    char          *rights;          /* dc:rights when it is a URI */
} vl_jp2_t;

static void
jp2_on_error(const char *m, void *user)
{
    vl_jp2_t *t = user;

    if (t != NULL) {
        vl_liberr_put(&t->lerr, m);
    }
}

static void
jp2_on_warning(const char *m, void *user)
{
    (void) user;
    if (vl_log_enabled(VL_LOG_INFO)) {
        vl_log(VL_LOG_INFO, NULL, "openjpeg: %.*s", (int) strcspn(m, "\n"),
               m);
    }
}

static void
jp2_on_info(const char *m, void *user)
{
    (void) m;
    (void) user;
}

static OPJ_SIZE_T
jp2_io_read(void *buf, OPJ_SIZE_T n, void *user)
{
    vl_jp2_io_t *io = user;
    OPJ_SIZE_T   done = 0;

    /* OpenJPEG 2.5 has no cancel hook: a read that fails stops a decode
     * between the tile-parts it reads (jp2_decode says why) */
    if (vl_deadline_stop()) {
        return (OPJ_SIZE_T) -1;
    }
    while (done < n && io->pos < io->size) {
        ssize_t r = pread(io->fd, (char *) buf + done, n - done, io->pos);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        done += (OPJ_SIZE_T) r;
        io->pos += r;
    }
    return done > 0 ? done : (OPJ_SIZE_T) -1;
}

static OPJ_OFF_T
jp2_io_skip(OPJ_OFF_T n, void *user)
{
    vl_jp2_io_t *io = user;

    if (n < 0 || io->pos + n > io->size) {
        io->pos = io->size;
        return -1;
    }
    io->pos += n;
    return n;
}

static OPJ_BOOL
jp2_io_seek(OPJ_OFF_T off, void *user)
{
    vl_jp2_io_t *io = user;

    if (off < 0 || off > io->size) {
        return OPJ_FALSE;
    }
    io->pos = off;
    return OPJ_TRUE;
}

static void
jp2_dec_close(vl_jp2_dec_t *d)
{
    if (d->image != NULL) {
        opj_image_destroy(d->image);
    }
    if (d->codec != NULL) {
        opj_destroy_codec(d->codec);
    }
    if (d->stream != NULL) {
        opj_stream_destroy(d->stream);
    }
    d->image = NULL;
    d->codec = NULL;
    d->stream = NULL;
}

/* A decoder at reduce factor `reduce` with the main header read. d must not
 * move while open (the stream points into it). */
static int
jp2_dec_open(vl_jp2_t *t, vl_jp2_dec_t *d, int reduce, vl_err_t *err)
{
    opj_dparameters_t par;

    memset(d, 0, sizeof(*d));
    d->reduce = reduce;
    d->io.fd = t->cs.fd;
    d->io.size = t->size;
    d->stream = opj_stream_create(VL_JP2_STREAM_BUF, OPJ_TRUE);
    d->codec = opj_create_decompress(t->fmt);
    if (d->stream == NULL || d->codec == NULL) {
        jp2_dec_close(d);
        return vl_err_set(err, VL_ENOMEM, "out of memory opening JPEG 2000");
    }
    opj_stream_set_user_data(d->stream, &d->io, NULL);
    opj_stream_set_user_data_length(d->stream, (OPJ_UINT64) t->size);
    opj_stream_set_read_function(d->stream, jp2_io_read);
    opj_stream_set_skip_function(d->stream, jp2_io_skip);
    opj_stream_set_seek_function(d->stream, jp2_io_seek);
    opj_set_error_handler(d->codec, jp2_on_error, t);
    opj_set_warning_handler(d->codec, jp2_on_warning, t);
    opj_set_info_handler(d->codec, jp2_on_info, t);
    opj_set_default_decoder_parameters(&par);
    par.cp_reduce = (OPJ_UINT32) reduce;
    par.cp_layer = t->layers;
    vl_liberr_clear(&t->lerr);
    if (!opj_setup_decoder(d->codec, &par)
        || (vl_source_decode_threads() > 1 && opj_has_thread_support()
            && !opj_codec_set_threads(d->codec, vl_source_decode_threads()))
        || !opj_read_header(d->stream, d->codec, &d->image)
        || d->image == NULL) {
        jp2_dec_close(d);
        if (vl_deadline_stop()) {
            return vl_deadline_check(err);
        }
        return vl_liberr_fail(&t->lerr, "cannot read the JPEG 2000 header",
                              "OpenJPEG error", err);
    }
    return VL_OK;
}

/* Decode the level-`r` pixels [u0,u1) x [v0,v1) (relative to the level's
 * origin). On success *dp is the decoder holding the image: t->keep, or
 * `fresh`, which the caller closes. */
static int
jp2_decode(vl_jp2_t *t, int r, const vl_rect_t *area, vl_jp2_dec_t *fresh,
           vl_jp2_dec_t **dp, vl_err_t *err)
{
    uint64_t      u0 = area->x, v0 = area->y;
    uint64_t      u1 = vl_rect_right(area), v1 = vl_rect_bottom(area);
    uint64_t      lx0 = ((uint64_t) t->x0 + (1u << r) - 1) >> r;
    uint64_t      ly0 = ((uint64_t) t->y0 + (1u << r) - 1) >> r;
    uint64_t      ax0 = (lx0 + u0) << r, ay0 = (ly0 + v0) << r;
    uint64_t      ax1 = (lx0 + u1) << r, ay1 = (ly0 + v1) << r;
    vl_jp2_dec_t *d;
    int           rc;

    ax1 = ax1 > t->x1 ? t->x1 : ax1;
    ay1 = ay1 > t->y1 ? t->y1 : ay1;
    if (t->reuse) {
        if (t->keep_open && t->keep.reduce != r) {
            jp2_dec_close(&t->keep);
            t->keep_open = 0;
        }
        if (!t->keep_open) {
            if ((rc = jp2_dec_open(t, &t->keep, r, err)) != VL_OK) {
                return rc;
            }
            t->keep_open = 1;
        }
        d = &t->keep;
        vl_liberr_clear(&t->lerr);
        if (opj_set_decode_area(d->codec, d->image, (OPJ_INT32) ax0,
                                (OPJ_INT32) ay0, (OPJ_INT32) ax1,
                                (OPJ_INT32) ay1)
            && opj_decode(d->codec, d->stream, d->image)) {
            *dp = d;
            return VL_OK;
        }
        if (vl_deadline_stop()) {
            jp2_dec_close(&t->keep);
            t->keep_open = 0;
            return vl_deadline_check(err);
        }
        /* some codestreams do not survive repeated decodes: stop trying */
        vl_log(VL_LOG_INFO, NULL, "openjpeg: codec reuse failed (%s)",
               t->lerr.msg);
        jp2_dec_close(&t->keep);
        t->keep_open = 0;
        t->reuse = 0;
    }
    if ((rc = jp2_dec_open(t, fresh, r, err)) != VL_OK) {
        return rc;
    }
    vl_liberr_clear(&t->lerr);
    if (!opj_set_decode_area(fresh->codec, fresh->image, (OPJ_INT32) ax0,
                             (OPJ_INT32) ay0, (OPJ_INT32) ax1,
                             (OPJ_INT32) ay1)
        || !opj_decode(fresh->codec, fresh->stream, fresh->image)) {
        jp2_dec_close(fresh);
        if (vl_deadline_stop()) {
            return vl_deadline_check(err);
        }
        return vl_liberr_fail(&t->lerr, "cannot decode JPEG 2000",
                              "OpenJPEG error", err);
    }
    *dp = fresh;
    return VL_OK;
}

static inline unsigned
jp2_to8(OPJ_INT32 v, const opj_image_comp_t *c)
{
    return vl_jp2_to8(v, c->prec, c->sgnd != 0);
}

/* The common case: unsigned 8-bit samples, no sub-sampling, no sYCC.
 * Rows (py0 + y) and columns (px0 + x) are level coordinates. Returns 0
 * when the image needs the general path. */
static int
jp2_convert_fast(const vl_jp2_t *t, const opj_image_t *img,
                 const int *comp, int nc, const uint64_t *cx0,
                 const uint64_t *cy0, uint64_t py0, uint64_t px0,
                 uint32_t w, uint32_t h, unsigned char *out)
{
    if (t->map.ycc) {
        return 0;
    }
    for (int i = 0; i < nc; i++) {
        const opj_image_comp_t *c = &img->comps[comp[i]];

        if (c->prec != 8 || c->sgnd || c->dx != 1 || c->dy != 1
            || px0 < cx0[i] || py0 < cy0[i] || px0 - cx0[i] + w > c->w
            || py0 - cy0[i] + h > c->h) {
            return 0;
        }
    }
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *o = out + (size_t) y * w * (size_t) nc;

        for (int i = 0; i < nc; i++) {
            const opj_image_comp_t *c = &img->comps[comp[i]];
            const OPJ_INT32 *row = c->data
                                   + (size_t) (py0 - cy0[i] + y) * c->w
                                   + (px0 - cx0[i]);
            unsigned char   *q = o + i;

            for (uint32_t x = 0; x < w; x++) {
                OPJ_INT32 v = row[x];

                *q = (unsigned char) (v < 0 ? 0 : v > 255 ? 255 : v);
                q += nc;
            }
        }
    }
    return 1;
}

/* Convert the decoded image of the level-r area starting at level pixel
 * (u0, v0) into an 8-bit (depth 1) or 16-bit (depth 2: vl_jp2_to16,
 * native-endian uint16) interleaved w x h buffer for the pixels
 * [bu, bu + w) x [bv, bv + h). Sub-sampled components are repeated. */
static int
jp2_convert(vl_jp2_t *t, const opj_image_t *img, int r,
            const vl_rect_t *area, const vl_rect_t *blk, int depth,
            unsigned char *out, vl_err_t *err)
{
    uint64_t u0 = area->x, v0 = area->y;
    uint64_t u1 = vl_rect_right(area), v1 = vl_rect_bottom(area);
    uint32_t bu = blk->x, bv = blk->y, w = blk->w, h = blk->h;
    uint64_t lx0 = ((uint64_t) t->x0 + (1u << r) - 1) >> r;
    uint64_t ly0 = ((uint64_t) t->y0 + (1u << r) - 1) >> r;
    int      comp[4], nc = 0, bands = t->map.bands;
    uint64_t cx0[4], cy0[4];

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
        const opj_image_comp_t *c = &img->comps[comp[i]];
        uint64_t dx = (uint64_t) c->dx << r, dy = (uint64_t) c->dy << r;
        uint64_t ax0 = (lx0 + u0) << r, ay0 = (ly0 + v0) << r;
        uint64_t ax1 = (lx0 + u1) << r, ay1 = (ly0 + v1) << r;

        ax1 = ax1 > t->x1 ? t->x1 : ax1;
        ay1 = ay1 > t->y1 ? t->y1 : ay1;
        cx0[i] = (ax0 + dx - 1) / dx;
        cy0[i] = (ay0 + dy - 1) / dy;
        if (c->data == NULL || c->w == 0 || c->h == 0
            || c->w != (ax1 + dx - 1) / dx - cx0[i]
            || c->h != (ay1 + dy - 1) / dy - cy0[i]) {
            return vl_err_set(err, VL_ECODEC,
                              "JPEG 2000 component %d decoded at the wrong "
                              "size", comp[i]);
        }
    }
    if (depth != 2
        && jp2_convert_fast(t, img, comp, nc, cx0, cy0, ly0 + bv, lx0 + bu,
                            w, h, out)) {
        return VL_OK;
    }
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *o = out + (size_t) y * w * (size_t) bands;
        uint16_t      *o16 = (uint16_t *) (void *) out
                             + (size_t) y * w * (size_t) bands;
        uint64_t       py = ly0 + bv + y;
        const OPJ_INT32 *row[4];

        for (int i = 0; i < nc; i++) {
            const opj_image_comp_t *c = &img->comps[comp[i]];
            uint64_t ry = py / c->dy - cy0[i];

            ry = ry >= c->h ? c->h - 1 : ry;
            row[i] = c->data + (size_t) ry * c->w;
        }
        for (uint32_t x = 0; x < w; x++) {
            uint64_t px = lx0 + bu + x;
            unsigned v[4];

            for (int i = 0; i < nc; i++) {
                const opj_image_comp_t *c = &img->comps[comp[i]];
                uint64_t rx = c->dx == 1 ? px - cx0[i]
                                         : px / c->dx - cx0[i];

                rx = rx >= c->w ? c->w - 1 : rx;
                if (depth == 2) {   /* jp2_open: never with sYCC */
                    o16[i] = (uint16_t) vl_jp2_to16(row[i][rx], c->prec,
                                                    c->sgnd != 0);
                } else {
                    v[i] = jp2_to8(row[i][rx], c);
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

/* Decode the grid tiles of box in one area decode (every decode pays a
 * fixed cost for the codestream tile's structures) and give them to the
 * walk, which copies them into the request and keeps them in the cache. */
static int
jp2_decode_box(vl_grid_walk_t *walk, const vl_rect_t *box, vl_err_t *err)
{
    vl_jp2_t         *t = walk->src->priv;
    const vl_level_t *lv = walk->lv;
    uint32_t          level = walk->level;
    uint32_t          ts = t->grid;
    uint32_t          c0 = box->x, c1 = box->x + box->w - 1;
    uint32_t          r0 = box->y, r1 = box->y + box->h - 1;
    uint32_t          u0 = c0 * ts, v0 = r0 * ts;
    uint32_t          u1 = (c1 + 1) * ts, v1 = (r1 + 1) * ts;
    vl_jp2_dec_t      fresh, *d = NULL;
    int               rc = VL_OK, depth = walk->out->depth == 2 ? 2 : 1;
    size_t            bytes;
    vl_rect_t         area;

    u1 = u1 > lv->width ? lv->width : u1;
    v1 = v1 > lv->height ? lv->height : v1;
    if (t->ht) {
        /* OpenJPEG 2.5.0 leaves HT code-blocks zero (flat grey) unless a
         * decode covers whole codestream tiles: widen the area to them */
        uint64_t sc = (uint64_t) 1 << level;
        uint64_t lx0 = (t->x0 + sc - 1) >> level;
        uint64_t ly0 = (t->y0 + sc - 1) >> level;
        uint64_t ax0 = (lx0 + u0) << level, ay0 = (ly0 + v0) << level;
        uint64_t ax1 = (lx0 + u1) << level, ay1 = (ly0 + v1) << level;

        ax0 = ax0 < t->tx0 ? t->tx0
                           : t->tx0 + (ax0 - t->tx0) / t->tdx * t->tdx;
        ay0 = ay0 < t->ty0 ? t->ty0
                           : t->ty0 + (ay0 - t->ty0) / t->tdy * t->tdy;
        ax1 = t->tx0 + (ax1 - t->tx0 + t->tdx - 1) / t->tdx * t->tdx;
        ay1 = t->ty0 + (ay1 - t->ty0 + t->tdy - 1) / t->tdy * t->tdy;
        ax0 = ax0 < t->x0 ? t->x0 : ax0;
        ay0 = ay0 < t->y0 ? t->y0 : ay0;
        ax1 = ax1 > t->x1 ? t->x1 : ax1;
        ay1 = ay1 > t->y1 ? t->y1 : ay1;
        u0 = (uint32_t) (((ax0 + sc - 1) >> level) - lx0);
        v0 = (uint32_t) (((ay0 + sc - 1) >> level) - ly0);
        u1 = (uint32_t) (((ax1 + sc - 1) >> level) - lx0);
        v1 = (uint32_t) (((ay1 + sc - 1) >> level) - ly0);
        u1 = u1 > lv->width ? lv->width : u1;
        v1 = v1 > lv->height ? lv->height : v1;
        /* and keep every grid tile the wider decode holds */
        c0 = (u0 + ts - 1) / ts < c0 ? (u0 + ts - 1) / ts : c0;
        r0 = (v0 + ts - 1) / ts < r0 ? (v0 + ts - 1) / ts : r0;
        c1 = (u1 == lv->width ? (u1 - 1) / ts : u1 / ts - 1) > c1
                 ? (u1 == lv->width ? (u1 - 1) / ts : u1 / ts - 1)
                 : c1;
        r1 = (v1 == lv->height ? (v1 - 1) / ts : v1 / ts - 1) > r1
                 ? (v1 == lv->height ? (v1 - 1) / ts : v1 / ts - 1)
                 : r1;
    }
    if (vl_size_mul4(u1 - u0, v1 - v0, t->map.ncomps, 4, &bytes) != 0
        || bytes > 4 * VL_SOURCE_MAX_BLOCK) {
        return vl_err_set(err, VL_EUNSUPP,
                          "this HTJ2K image needs a decode area too large "
                          "at this resolution%s",
                          vl_htj2k_available()
                              ? ""
                              : " (untiled HTJ2K needs vellum built with "
                                "OpenJPH)");
    }
    area = VL_RECT(u0, v0, u1 - u0, v1 - v0);
    rc = jp2_decode(t, (int) level, &area, &fresh, &d, err);
    if (rc != VL_OK) {
        return rc;
    }
    for (uint32_t row = r0; row <= r1 && rc == VL_OK; row++) {
        for (uint32_t c = c0; c <= c1 && rc == VL_OK; c++) {
            vl_tile_t *tile;
            vl_rect_t  b;

            vl_grid_block(walk, c, row, &b);
            if ((tile = vl_tile_new_depth(b.w, b.h, t->map.bands, depth,
                                          err)) == NULL) {
                rc = err != NULL ? err->code : VL_ENOMEM;
                break;
            }
            rc = jp2_convert(t, d->image, (int) level, &area, &b, depth,
                             tile->data, err);
            if (rc == VL_OK) {
                vl_grid_put(walk, c, row, tile);
            }
            vl_tile_release(tile);
        }
    }
    if (d == &fresh) {
        jp2_dec_close(&fresh);
    } else if (d != NULL && d->image != NULL) {
        /* keep the header image, drop the pixels until the next decode */
        for (OPJ_UINT32 i = 0; i < d->image->numcomps; i++) {
            if (d->image->comps[i].data != NULL) {
                opj_image_data_free(d->image->comps[i].data);
                d->image->comps[i].data = NULL;
            }
        }
    }
    return rc;
}


/* A grid of at most 256 (t->grid) on every level. One area decode holds
 * 4 bytes per sample of every component: at most VL_SOURCE_MAX_BLOCK of
 * them go into one OpenJPEG decode; OpenJPH decodes whole rows anyway. */
static int
jp2_grid(vl_source_t *src, uint32_t level, vl_grid_t *grid, vl_err_t *err)
{
    const vl_jp2_t *t = src->priv;
    size_t          tile_bytes;

    (void) level;
    if (vl_size_mul4(t->grid, t->grid, t->map.ncomps, 4, &tile_bytes) != 0) {
        return vl_err_set(err, VL_EFORMAT, "JPEG 2000 tile out of range");
    }
    grid->bw = grid->bh = t->grid;
    grid->max_run = (uint32_t) (VL_SOURCE_MAX_BLOCK / tile_bytes);
    grid->max_run = grid->max_run < 1 ? 1 : grid->max_run;
    if (t->ojph) {
        grid->max_run = 0;
    }
    return VL_OK;
}

static int
jp2_grid_decode(vl_grid_walk_t *walk, const vl_rect_t *box, vl_err_t *err)
{
    vl_jp2_t *t = walk->src->priv;

    if (t->ojph) {
        return vl_htj2k_read(walk, &t->cs, &t->map, box, err);
    }
    return jp2_decode_box(walk, box, err);
}

/* ceil(n / 2^e) */
static uint64_t
jp2_cdiv(uint64_t n, uint32_t e)
{
    return (n + ((uint64_t) 1 << e) - 1) >> e;
}

/* Code-blocks of one component of a w x h codestream tile at every
 * resolution (OpenJPEG builds them all, whatever the reduce factor):
 * the LL band of the lowest, HL, LH and HH above it, code-blocks cut to
 * the precincts. */
static uint64_t
jp2_cblks(const vl_jp2_t *t, uint64_t w, uint64_t h)
{
    uint32_t nres = t->allres >= 1 && t->allres <= 33 ? t->allres : 1;
    uint64_t n = 0;

    for (uint32_t res = 0; res < nres; res++) {
        uint32_t sh = nres - 1 - res;
        uint64_t rw = jp2_cdiv(w, sh), rh = jp2_cdiv(h, sh);
        uint32_t xcb = t->cbw, ycb = t->cbh;
        uint32_t pw = t->prcw[res], ph = t->prch[res];

        if (res == 0) {
            xcb = xcb < pw ? xcb : pw;
            ycb = ycb < ph ? ycb : ph;
            n += jp2_cdiv(rw, xcb) * jp2_cdiv(rh, ycb);
        } else {
            uint64_t lw = jp2_cdiv(w, sh + 1), lh = jp2_cdiv(h, sh + 1);

            xcb = pw >= 1 && xcb > pw - 1u ? pw - 1u : xcb;
            ycb = ph >= 1 && ycb > ph - 1u ? ph - 1u : ycb;
            n += jp2_cdiv(rw - lw, xcb) * jp2_cdiv(lh, ycb)
                 + jp2_cdiv(lw, xcb) * jp2_cdiv(rh - lh, ycb)
                 + jp2_cdiv(rw - lw, xcb) * jp2_cdiv(rh - lh, ycb);
        }
    }
    return n;
}

/* One OpenJPEG decode of the level-`level` pixels [u0,u1) x [v0,v1):
 * the code-block structures of every codestream tile it touches (the
 * whole image for an untiled file), its samples (4 bytes per component
 * in the image and again in the decoder's buffers) and the grid tiles
 * made of them. */
static void
jp2_cost_decode(const vl_jp2_t *t, uint32_t level, uint64_t u0, uint64_t v0,
                uint64_t u1, uint64_t v1, int depth, vl_cost_t *cost)
{
    uint64_t sc = (uint64_t) 1 << level;
    uint64_t lx0 = (t->x0 + sc - 1) >> level, ly0 = (t->y0 + sc - 1) >> level;
    uint64_t ax0 = (lx0 + u0) << level, ay0 = (ly0 + v0) << level;
    uint64_t ax1 = (lx0 + u1) << level, ay1 = (ly0 + v1) << level;
    uint64_t tiles, cblks, area, bytes, work;

    ax1 = ax1 > t->x1 ? t->x1 : ax1;
    ay1 = ay1 > t->y1 ? t->y1 : ay1;
    if (t->ntiles <= 1) {
        tiles = 1;
        cblks = jp2_cblks(t, t->x1 - t->x0, t->y1 - t->y0);
    } else {
        uint64_t c0 = ax0 > t->tx0 ? (ax0 - t->tx0) / t->tdx : 0;
        uint64_t r0 = ay0 > t->ty0 ? (ay0 - t->ty0) / t->tdy : 0;
        uint64_t c1 = ax1 > t->tx0 ? (ax1 - 1 - t->tx0) / t->tdx : 0;
        uint64_t r1 = ay1 > t->ty0 ? (ay1 - 1 - t->ty0) / t->tdy : 0;

        tiles = (c1 - c0 + 1) * (r1 - r0 + 1);
        cblks = tiles * jp2_cblks(t, t->tdx, t->tdy);
    }
    cblks *= t->map.ncomps;
    area = (u1 - u0) * (v1 - v0);
    if (t->ht && t->ntiles > 1) {
        /* whole codestream tiles, at this level (jp2_decode_box) */
        area = tiles * jp2_cdiv(t->tdx, level) * jp2_cdiv(t->tdy, level);
    }
    bytes = cblks * VL_COST_CBLK_BYTES + area * t->map.ncomps * 4 * 2
            + area * (uint64_t) t->map.bands * (uint64_t) depth;
    work = area + cblks * VL_COST_CBLK_WORK;
    cost->pixels = cost->pixels + work < cost->pixels ? UINT64_MAX
                                                       : cost->pixels + work;
    cost->bytes = bytes > cost->bytes ? bytes : cost->bytes;
}

/* A read of r, `rows` rows at a time, as the grid walk decodes it when
 * nothing is cached: per read, the bounding box of its grid blocks in one
 * decode, or in runs of max_run blocks a grid row at a time. OpenJPH:
 * every line from the top of the level down to r's bottom, full width. */
static void
jp2_cost(const vl_source_t *src, uint32_t level, const vl_rect_t *r,
         uint32_t rows, int depth, vl_cost_t *cost)
{
    const vl_jp2_t   *t = src->priv;
    const vl_level_t *lv = &src->info.geom.levels[level];
    uint64_t          g = t->grid, run;
    size_t            tile_bytes = 0;

    if (t->ojph) {
        uint64_t w = lv->width, lines = vl_rect_bottom(r);
        uint64_t cblks = jp2_cblks(t, t->x1 - t->x0, t->y1 - t->y0)
                         * t->map.ncomps;
        /* and the codestream, which the reader holds in memory */
        uint64_t bytes = cblks * VL_COST_CBLK_BYTES
                         + w * t->map.ncomps * 4 * 8
                         + w * g * (uint64_t) t->map.bands
                         + (uint64_t) (t->cs.len > 0 ? t->cs.len : 0);

        cost->pixels += w * lines + cblks * VL_COST_CBLK_WORK;
        cost->bytes = bytes > cost->bytes ? bytes : cost->bytes;
        return;
    }
    run = vl_size_mul4(g, g, t->map.ncomps, 4, &tile_bytes) == 0
              ? VL_SOURCE_MAX_BLOCK / tile_bytes : 1;
    run = run < 1 ? 1 : run;
    for (uint64_t y = r->y; y < vl_rect_bottom(r);) {
        uint64_t n = rows - y % rows, yb;
        uint64_t c0 = r->x / g, c1 = (vl_rect_right(r) - 1) / g;
        uint64_t r0, r1;

        n = y + n > vl_rect_bottom(r) ? vl_rect_bottom(r) - y : n;
        yb = y + n;
        r0 = y / g;
        r1 = (yb - 1) / g;
        if ((c1 - c0 + 1) * (r1 - r0 + 1) <= run) {
            jp2_cost_decode(t, level, c0 * g, r0 * g,
                            (c1 + 1) * g > lv->width ? lv->width
                                                     : (c1 + 1) * g,
                            (r1 + 1) * g > lv->height ? lv->height
                                                      : (r1 + 1) * g,
                            depth, cost);
        } else {
            for (uint64_t row = r0; row <= r1; row++) {
                for (uint64_t c = c0; c <= c1; c += run) {
                    uint64_t e = c + run > c1 + 1 ? c1 + 1 : c + run;

                    jp2_cost_decode(t, level, c * g, row * g,
                                    e * g > lv->width ? lv->width : e * g,
                                    (row + 1) * g > lv->height
                                        ? lv->height : (row + 1) * g,
                                    depth, cost);
                }
            }
        }
        /* the next read starts at the next grid row not yet decoded */
        y = (r1 + 1) * g > yb ? (r1 + 1) * g : yb;
    }
}

/* One decode at a time per process: it bounds a worker to one decode's
 * memory, and OpenJPH has one line decoder per process. */
static const vl_grid_ops_t jp2_grid_ops = {
    jp2_grid,
    jp2_grid_decode,
    NULL,
    1,
};

static int
jp2_read(vl_source_t *src, uint32_t level, const vl_rect_t *r,
         vl_image_t *out, vl_err_t *err)
{
    return vl_grid_read(src, &jp2_grid_ops, level, r, out, err);
}

static void
jp2_free(vl_jp2_t *t)
{
    if (t == NULL) {
        return;
    }
    if (t->keep_open) {
        jp2_dec_close(&t->keep);
    }
    if (t->cs.fd >= 0) {
        close(t->cs.fd);
    }
    free(t->icc);
    for (int i = 0; i < VL_JP2BOX_DC_FIELDS; i++) {
        free(t->text[i]);
    }
    free(t->rights);
    free(t);
}

static void
jp2_close(vl_source_t *src)
{
    jp2_free(src->priv);
    src->priv = NULL;
}

/* The box scanner's reader: the handle's file. */
static long
jp2_box_read(void *user, uint64_t off, void *buf, size_t n)
{
    const vl_jp2_t *t = user;

    return (long) pread(t->cs.fd, buf, n, (off_t) off);
}

/* The Dublin Core of the first XML box, if any, into the handle's info
 * (dc:rights also as its rights when it is a URI). The box is read once,
 * at open, at most VL_JP2BOX_XML_MAX bytes of it. */
int
vl_jp2_metadata(vl_source_t *src, char **text, char **rights,
                const vl_jp2box_in_t *boxes, vl_err_t *err)
{
    const char **info[VL_JP2BOX_DC_FIELDS] = {
        &src->info.title,     &src->info.description, &src->info.creator,
        &src->info.copyright, &src->info.date,
    };
    vl_jp2box_dc_t *dc;
    uint64_t        off, len;
    size_t          cap;
    char           *buf;
    int             rc = VL_OK;

    if (vl_jp2box_find(boxes, "xml ", &off, &len) != 0 || len == 0) {
        return VL_OK;
    }
    cap = len < VL_JP2BOX_XML_MAX ? (size_t) len : VL_JP2BOX_XML_MAX;
    buf = malloc(cap);
    dc = malloc(sizeof(*dc));
    if (buf == NULL || dc == NULL) {
        free(buf);
        free(dc);
        return vl_err_set(err, VL_ENOMEM, "out of memory opening JPEG 2000");
    }
    if (vl_jp2box_dc(boxes, buf, cap, dc) < 0) {
        /* metadata is not worth failing the image for */
        vl_log(VL_LOG_INFO, NULL, "jp2: cannot read the XML box");
    }
    for (int i = 0; i < VL_JP2BOX_DC_FIELDS && rc == VL_OK; i++) {
        if (dc->text[i][0] == '\0') {
            continue;
        }
        if ((text[i] = strdup(dc->text[i])) == NULL) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory opening JPEG 2000");
            break;
        }
        *info[i] = text[i];
    }
    if (rc == VL_OK && vl_meta_is_uri(text[VL_JP2BOX_DC_RIGHTS])) {
        if ((*rights = strdup(text[VL_JP2BOX_DC_RIGHTS])) == NULL) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory opening JPEG 2000");
        } else {
            src->info.rights = *rights;
        }
    }
    free(buf);
    free(dc);
    return rc;
}

/* Which decoded components are colour and alpha (marked alpha, else by
 * count): map's ncomps, alpha, idx, colour, bands and ycc. */
const char *
vl_jp2_map_bands(vl_jp2_map_t *map, uint32_t n, const vl_jp2_comp_t *comps,
                 vl_jp2_space_t space)
{
    int ncol = 0;

    map->ncomps = n;
    map->alpha = -1;
    for (uint32_t i = 0; i < n; i++) {
        const vl_jp2_comp_t *c = &comps[i];

        if (c->prec < 1 || c->prec > 16) {
            return "JPEG 2000 samples must have 1 to 16 bits";
        }
        if (c->dx == 0 || c->dy == 0 || c->dx > 255 || c->dy > 255) {
            return "invalid JPEG 2000 component sub-sampling";
        }
        if (c->alpha) {
            if (map->alpha < 0) {
                map->alpha = (int) i;
            }
        } else if (ncol < 3) {
            map->idx[ncol++] = (int) i;
        }
    }
    if (ncol == 0) {
        return "the JPEG 2000 image has no colour component";
    }
    if (map->alpha < 0 && (n == 2 || n >= 4)) {
        map->alpha = n == 2 ? 1 : 3;
        ncol = n == 2 ? 1 : 3;
    }
    map->colour = ncol >= 3 ? 3 : 1;
    map->bands = map->colour + (map->alpha >= 0 ? 1 : 0);
    if (space == VL_JP2_SPACE_CMYK) {
        return "CMYK JPEG 2000 images are not supported";
    }
    map->ycc = map->colour == 3 && space == VL_JP2_SPACE_YCC;
    return NULL;
}

/* OpenJPEG's components and colour space for vl_jp2_map_bands. */
static const char *
jp2_bands(vl_jp2_t *t, const opj_image_t *img)
{
    vl_jp2_comp_t comps[VL_JP2_MAX_COMPS];
    uint32_t      n = img->numcomps;

    if (n > VL_JP2_MAX_COMPS) {
        return "JPEG 2000 images with more than 16 components are not "
               "supported";
    }
    for (uint32_t i = 0; i < n; i++) {
        comps[i].prec = img->comps[i].prec;
        comps[i].dx = img->comps[i].dx;
        comps[i].dy = img->comps[i].dy;
        comps[i].alpha = img->comps[i].alpha != 0;
    }
    return vl_jp2_map_bands(
        &t->map, n, comps,
        img->color_space == OPJ_CLRSPC_CMYK ? VL_JP2_SPACE_CMYK
        : img->color_space == OPJ_CLRSPC_SYCC
                || img->color_space == OPJ_CLRSPC_EYCC
            ? VL_JP2_SPACE_YCC
            : VL_JP2_SPACE_OTHER);
}

/* The code-block structures of the probe at open: one codestream tile
 * (the whole image when untiled), every component. */
static uint64_t
jp2_probe_bytes(const vl_jp2_t *t, uint32_t ncomps)
{
    uint64_t w = t->ntiles <= 1 ? t->x1 - t->x0 : t->tdx;
    uint64_t h = t->ntiles <= 1 ? t->y1 - t->y0 : t->tdy;

    return jp2_cblks(t, w, h) * ncomps * VL_COST_CBLK_BYTES;
}

static int
jp2_open(vl_source_t *src, int fd, vl_err_t *err)
{
    vl_jp2_t               *t;
    vl_jp2_dec_t            hd, probe, *d = NULL;
    opj_codestream_info_v2_t *cs;
    unsigned char           magic[12];
    struct stat             st;
    const char             *why;
    uint32_t                ts;
    int                     rc, precincts = 0, subsampled = 0, remap = 1;
    int                     uniform = 1;
    OPJ_UINT32              cs_comps = 0;
    vl_jp2box_in_t          boxes;
    uint64_t                cs_off = 0, cs_len = 0;

    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        close(fd);
        return vl_err_set(err, VL_ENOMEM, "out of memory opening JPEG 2000");
    }
    t->cs.fd = fd;
    t->map.alpha = -1;
    src->priv = t;
    if (fstat(fd, &st) != 0 || pread(fd, magic, sizeof(magic), 0) != 12) {
        return vl_err_set(err, VL_ECODEC, "the JPEG 2000 file is truncated");
    }
    t->size = (OPJ_OFF_T) st.st_size;
    t->fmt = memcmp(magic, "\xff\x4f\xff\x51", 4) == 0 ? OPJ_CODEC_J2K
                                                     : OPJ_CODEC_JP2;
    t->layers = src->max_layers > 0 ? (uint32_t) src->max_layers : 0;

    if ((rc = jp2_dec_open(t, &hd, 0, err)) != VL_OK) {
        return rc;
    }
    t->x0 = hd.image->x0;
    t->y0 = hd.image->y0;
    t->x1 = hd.image->x1;
    t->y1 = hd.image->y1;
    cs = opj_get_cstr_info(hd.codec);
    if (cs != NULL) {
        t->ntiles = cs->tw * cs->th;
        cs_comps = cs->nbcomps;
        t->numres = cs->m_default_tile_info.tccp_info != NULL
                        ? cs->m_default_tile_info.tccp_info[0].numresolutions
                        : 1;
        for (OPJ_UINT32 c = 0; c < cs->nbcomps
             && cs->m_default_tile_info.tccp_info != NULL; c++) {
            const opj_tccp_info_t *tc = &cs->m_default_tile_info.tccp_info[c];

            if (tc->csty & 1) {
                for (OPJ_UINT32 r = 0; r < tc->numresolutions
                     && r < OPJ_J2K_MAXRLVLS; r++) {
                    precincts |= tc->prcw[r] < 15 || tc->prch[r] < 15;
                }
            }
            t->ht |= (tc->cblksty & 0x40) != 0;
            if (c == 0) {
                /* what the decode's code-block structures take */
                t->allres = tc->numresolutions;
                t->cbw = tc->cblkw;
                t->cbh = tc->cblkh;
                for (OPJ_UINT32 r = 0; r < 33; r++) {
                    int on = (tc->csty & 1) && r < OPJ_J2K_MAXRLVLS;

                    t->prcw[r] = (uint8_t) (on ? tc->prcw[r] : 15);
                    t->prch[r] = (uint8_t) (on ? tc->prch[r] : 15);
                }
            }
            if (tc->numresolutions < t->numres) {
                t->numres = tc->numresolutions;
            }
            /* OpenJPH 0.9 skips COC (per-component coding) with a warning:
             * it is used only when every component is coded alike */
            uniform &= c == 0
                       || (tc->numresolutions
                               == cs->m_default_tile_info.tccp_info[0]
                                      .numresolutions
                           && tc->cblkw
                                  == cs->m_default_tile_info.tccp_info[0].cblkw
                           && tc->cblkh
                                  == cs->m_default_tile_info.tccp_info[0].cblkh
                           && tc->cblksty
                                  == cs->m_default_tile_info.tccp_info[0]
                                         .cblksty
                           && tc->qmfbid
                                  == cs->m_default_tile_info.tccp_info[0]
                                         .qmfbid);
        }
        /* OpenJPH decodes every layer: MAX_LAYERS below the codestream's
         * count needs OpenJPEG */
        uniform &= t->layers == 0
                   || cs->m_default_tile_info.numlayers <= t->layers;
        ts = cs->tdx < cs->tdy ? cs->tdx : cs->tdy;
        t->tx0 = cs->tx0;
        t->ty0 = cs->ty0;
        t->tdx = cs->tdx > 0 ? cs->tdx : 1;
        t->tdy = cs->tdy > 0 ? cs->tdy : 1;
        opj_destroy_cstr_info(&cs);
    } else {
        t->numres = 1;
        ts = 0;
    }
    if (t->x1 <= t->x0 || t->y1 <= t->y0 || hd.image->numcomps == 0) {
        jp2_dec_close(&hd);
        return vl_err_set(err, VL_EFORMAT, "the JPEG 2000 image is empty");
    }
    if (t->x1 - t->x0 > VL_SOURCE_MAX_SIDE
        || t->y1 - t->y0 > VL_SOURCE_MAX_SIDE) {
        jp2_dec_close(&hd);
        return vl_err_set(err, VL_EFORMAT,
                          "image dimensions beyond 1,000,000 pixels a side");
    }
    if (hd.image->numcomps > 16) {
        jp2_dec_close(&hd);
        return vl_err_set(err, VL_EFORMAT,
                          "JPEG 2000 images with more than 16 components "
                          "are not supported");
    }
    if (t->numres < 1) {
        t->numres = 1;
    }
    if (t->numres > VL_MAX_LEVELS) {
        t->numres = VL_MAX_LEVELS;
    }

    /* the main header tells everything unless a palette, channel
     * definitions or an ICC profile come with a decode: such files decode
     * one pixel at the lowest level */
    t->map.ncomps = 0;
    boxes.read = jp2_box_read;
    boxes.user = t;
    boxes.size = (uint64_t) t->size;
    if ((rc = vl_jp2_metadata(src, t->text, &t->rights, &boxes, err))
        != VL_OK) {
        jp2_dec_close(&hd);
        return rc;
    }
    if (!vl_jp2box_needs_probe(&boxes, &remap)) {
        d = &hd;
    } else if (src->max_bytes != 0
               && jp2_probe_bytes(t, hd.image->numcomps) > src->max_bytes) {
        /* the probe builds the code-block structures of a whole
         * codestream tile: a tiny file can declare gigabytes of them */
        uint64_t need = jp2_probe_bytes(t, hd.image->numcomps);

        jp2_dec_close(&hd);
        return vl_err_set(err, VL_ELIMIT,
                          "request too large for this image: reading its "
                          "JPEG 2000 header (palette, channel definitions "
                          "or ICC profile) would need %llu MB at once "
                          "(MAX_REQUEST_MEMORY is %llu)",
                          (unsigned long long) ((need + (1u << 20) - 1) >> 20),
                          (unsigned long long) (src->max_bytes >> 20));
    } else {
        uint32_t r = t->numres - 1;
        uint64_t lx0 = ((uint64_t) t->x0 + (1u << r) - 1) >> r;
        uint64_t ly0 = ((uint64_t) t->y0 + (1u << r) - 1) >> r;
        uint64_t ax0 = lx0 << r, ay0 = ly0 << r;
        uint64_t ax1 = (lx0 + 1) << r, ay1 = (ly0 + 1) << r;

        jp2_dec_close(&hd);
        if ((rc = jp2_dec_open(t, &probe, (int) r, err)) != VL_OK) {
            return rc;
        }
        d = &probe;
        ax1 = ax1 > t->x1 ? t->x1 : ax1;
        ay1 = ay1 > t->y1 ? t->y1 : ay1;
        vl_liberr_clear(&t->lerr);
        if (!opj_set_decode_area(d->codec, d->image, (OPJ_INT32) ax0,
                                 (OPJ_INT32) ay0, (OPJ_INT32) ax1,
                                 (OPJ_INT32) ay1)
            || !opj_decode(d->codec, d->stream, d->image)) {
            rc = vl_liberr_fail(&t->lerr, "cannot decode JPEG 2000",
                                "OpenJPEG error", err);
            jp2_dec_close(d);
            return rc;
        }
    }
    why = jp2_bands(t, d->image);
    if (why != NULL) {
        jp2_dec_close(d);
        return vl_err_set(err, VL_EFORMAT, "%s", why);
    }
    src->info.bits = d->image->comps[t->map.idx[0]].prec > 8 ? 16 : 8;
    for (OPJ_UINT32 i = 0; i < d->image->numcomps && i < 16; i++) {
        t->map.prec[i] = d->image->comps[i].prec;
        t->map.sgnd[i] = d->image->comps[i].sgnd != 0;
        subsampled |= d->image->comps[i].dx != 1 || d->image->comps[i].dy != 1;
    }
    /* untiled HTJ2K: OpenJPH, when the codestream's components are the
     * image's (no palette, no channel definitions), none is sub-sampled,
     * all are coded alike and every layer is wanted */
    t->ojph = vl_htj2k_available() && t->ht && t->ntiles == 1 && !subsampled
              && !remap && uniform && d->image->numcomps == cs_comps
              && vl_jp2box_codestream(&boxes, &cs_off, &cs_len) == 0;
    if (t->ojph) {
        t->cs.off = (int64_t) cs_off;
        t->cs.len = (int64_t) cs_len;
    }
    /* 16-bit reads: components of more than 8 bits decoded by OpenJPEG
     * (OpenJPH lines and sYCC stay 8-bit) */
    src->info.reads16 = src->info.bits == 16 && !t->ojph && !t->map.ycc;
    if (d->image->icc_profile_buf != NULL && d->image->icc_profile_len > 0) {
        t->icc = malloc(d->image->icc_profile_len);
        if (t->icc == NULL) {
            jp2_dec_close(d);
            return vl_err_set(err, VL_ENOMEM,
                              "out of memory opening JPEG 2000");
        }
        memcpy(t->icc, d->image->icc_profile_buf, d->image->icc_profile_len);
        t->icc_len = d->image->icc_profile_len;
        src->info.icc = t->icc;
        src->info.icc_len = t->icc_len;
    }
    jp2_dec_close(d);

    /* repeated area decodes on one codec: OpenJPEG allows them on
     * single-tile codestreams; 2.5.0 fails on precinct-partitioned ones */
    t->reuse = t->ntiles == 1 && !precincts;

    /* viewer tiles (info.json): 512, or the codestream tile when smaller
     * and square. Decodes and the tile cache use a grid of at most 256:
     * a 512 request is one decode of four grid tiles, and a viewer asking
     * for 256 tiles (one configured for iipsrv) decodes no more than it
     * asked for. */
    if (t->ntiles <= 1 || ts >= VL_JP2_TILE || ts < 64) {
        ts = VL_JP2_TILE;
    }
    t->grid = ts > VL_JP2_GRID ? VL_JP2_GRID : ts;
    for (uint32_t r = 0; r < t->numres; r++) {
        vl_level_t *g = &src->info.geom.levels[r];
        uint64_t    s = (uint64_t) 1 << r;

        g->width = (uint32_t) ((t->x1 + s - 1) / s - (t->x0 + s - 1) / s);
        g->height = (uint32_t) ((t->y1 + s - 1) / s - (t->y0 + s - 1) / s);
        g->tile_w = g->tile_h = ts;
        /* `vellum info` says which decoder serves the level */
        src->notes[r].compression =
            t->ojph ? "htj2k (OpenJPH, lines from the top of the level)"
            : t->ht ? "htj2k (OpenJPEG, whole codestream tiles)"
                    : "jpeg2000";
        src->notes[r].rows_per_strip = 0;
    }
    src->info.geom.nlevels = t->numres;
    src->info.geom.width = src->info.geom.levels[0].width;
    src->info.geom.height = src->info.geom.levels[0].height;
    src->info.geom.bands = t->map.bands;
    src->info.geom.has_alpha = t->map.alpha >= 0;
    src->info.compression = "jpeg2000";
    src->info.format = t->fmt == OPJ_CODEC_J2K ? "j2k" : "jp2";
    src->photometric = t->map.ycc ? "sycc" : t->map.colour == 3 ? "rgb"
                                                        : "minisblack";
    return VL_OK;
}

/* A JP2 file (signature box) or a raw codestream (SOC, SIZ). */
int
vl_jp2_is_a(const unsigned char *magic, size_t len)
{
    return (len >= 12
            && memcmp(magic, "\0\0\0\x0cjP  \x0d\x0a\x87\x0a", 12) == 0)
           || (len >= 4 && memcmp(magic, "\xff\x4f\xff\x51", 4) == 0);
}

const char *
VL_JP2_OPJ_DECODER(void)
{
    static char name[160];

    /* opj_version() is a constant string: the race of two first calls
     * writes the same bytes */
    if (name[0] == '\0') {
        snprintf(
            name, sizeof(name), "OpenJPEG %s (BSD-2-Clause)%s", opj_version(),
            vl_htj2k_available() ? "; untiled HTJ2K: OpenJPH (BSD-2-Clause)"
                                 : "");
    }
    return name;
}

const vl_source_ops_t VL_JP2_OPJ_OPS = {
    "jp2", jp2_open, jp2_close, jp2_read, NULL, jp2_cost,
};
