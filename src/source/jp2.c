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
 * grey). Untiled HTJ2K goes through OpenJPH (ojph.h) when vellum is built
 * with it: a line decoder that runs from the top of a level down, kept
 * open between requests so reads further down continue where the last one
 * stopped; decoded bands go to the tile cache. Tiled HTJ2K, or any HTJ2K
 * without OpenJPH, is decoded by OpenJPEG in whole codestream tiles.
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

#include "core/log.h"
#include "core/str.h"
#include "source/liberr.h"
#include "source/source_p.h"
#ifdef HAVE_OPENJPH
#include "source/ojph.h"
#endif

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
    int            fd;
    OPJ_OFF_T      size;
    OPJ_CODEC_FORMAT fmt;
    uint32_t       x0, y0, x1, y1;  /* image area on the reference grid */
    uint32_t       ntiles;          /* codestream tiles */
    uint32_t       numres;
    uint32_t       layers;          /* 0 = all */
    uint32_t       ncomps;          /* components after decoding */
    int            colour;          /* 1 or 3 colour components */
    int            alpha;           /* component index of alpha, or -1 */
    int            idx[3];          /* colour component indices */
    int            ycc;             /* sYCC: convert to RGB */
    int            bands;
    int            reuse;           /* repeated area decodes on one codec */
    int            ht;              /* HTJ2K code-blocks */
    uint32_t       tx0, ty0, tdx, tdy;  /* codestream tile grid */
    uint32_t       grid;            /* decode and cache grid (<= tile) */
    int            ojph;            /* decode with OpenJPH (HTJ2K) */
    OPJ_OFF_T      cs_off, cs_len;  /* the codestream inside the file */
    uint32_t       prec[16];        /* per component, for jp2_to8 */
    int            sgnd[16];
    vl_jp2_dec_t   keep;            /* the reused decoder, if any */
    int            keep_open;
    vl_liberr_t    lerr;            /* OpenJPEG's message */
    unsigned char *icc;
    size_t         icc_len;
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
    d->io.fd = t->fd;
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
        return vl_liberr_fail(&t->lerr, "cannot read the JPEG 2000 header",
                              "OpenJPEG error", err);
    }
    return VL_OK;
}

/* Decode the level-`r` pixels [u0,u1) x [v0,v1) (relative to the level's
 * origin). On success *dp is the decoder holding the image: t->keep, or
 * `fresh`, which the caller closes. */
static int
jp2_decode(vl_jp2_t *t, int r, uint32_t u0, uint32_t v0, uint32_t u1,
           uint32_t v1, vl_jp2_dec_t *fresh, vl_jp2_dec_t **dp,
           vl_err_t *err)
{
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
        return vl_liberr_fail(&t->lerr, "cannot decode JPEG 2000",
                              "OpenJPEG error", err);
    }
    *dp = fresh;
    return VL_OK;
}

static inline unsigned
jp2_to8p(OPJ_INT32 v, uint32_t p, int sgnd)
{
    uint32_t maxv = (p >= 32) ? 0xffffffffu : (1u << p) - 1;
    int64_t  u = (int64_t) v + (sgnd ? ((int64_t) 1 << (p - 1)) : 0);

    if (u < 0) {
        u = 0;
    } else if (u > (int64_t) maxv) {
        u = maxv;
    }
    if (p == 8) {
        return (unsigned) u;
    }
    if (p > 8) {
        return (unsigned) (u >> (p - 8));
    }
    return (unsigned) ((u * 255 + maxv / 2) / maxv);
}

static inline unsigned
jp2_to8(OPJ_INT32 v, const opj_image_comp_t *c)
{
    return jp2_to8p(v, c->prec, c->sgnd != 0);
}

static inline unsigned char
jp2_clamp(double v)
{
    return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (unsigned char) (v + 0.5);
}

/* One output pixel from nc 8-bit samples (colour first, then alpha),
 * converting sYCC to RGB when ycc is set. */
static inline void
jp2_pixel(const unsigned *v, int nc, int ycc, unsigned char *o)
{
    if (ycc) {
        double yy = v[0], cb = (double) v[1] - 128.0;
        double cr = (double) v[2] - 128.0;

        o[0] = jp2_clamp(yy + 1.402 * cr);
        o[1] = jp2_clamp(yy - 0.344136 * cb - 0.714136 * cr);
        o[2] = jp2_clamp(yy + 1.772 * cb);
        if (nc == 4) {
            o[3] = (unsigned char) v[3];
        }
        return;
    }
    for (int i = 0; i < nc; i++) {
        o[i] = (unsigned char) v[i];
    }
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
    if (t->ycc) {
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
 * (u0, v0) into an 8-bit interleaved w x h buffer for the pixels
 * [bu, bu + w) x [bv, bv + h). Sub-sampled components are repeated. */
static int
jp2_convert(vl_jp2_t *t, const opj_image_t *img, int r, uint32_t u0,
            uint32_t v0, uint32_t u1, uint32_t v1, uint32_t bu,
            uint32_t bv, uint32_t w, uint32_t h, unsigned char *out,
            vl_err_t *err)
{
    uint64_t lx0 = ((uint64_t) t->x0 + (1u << r) - 1) >> r;
    uint64_t ly0 = ((uint64_t) t->y0 + (1u << r) - 1) >> r;
    int      comp[4], nc = 0, bands = t->bands;
    uint64_t cx0[4], cy0[4];

    if (img->numcomps != t->ncomps) {
        return vl_err_set(err, VL_ECODEC,
                          "JPEG 2000 components changed while decoding");
    }
    for (int i = 0; i < t->colour; i++) {
        comp[nc++] = t->idx[i];
    }
    if (t->alpha >= 0) {
        comp[nc++] = t->alpha;
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
    if (jp2_convert_fast(t, img, comp, nc, cx0, cy0, ly0 + bv, lx0 + bu,
                         w, h, out)) {
        return VL_OK;
    }
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *o = out + (size_t) y * w * (size_t) bands;
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
                v[i] = jp2_to8(row[i][rx], c);
            }
            jp2_pixel(v, nc, t->ycc, o);
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
    int               rc = VL_OK;
    size_t            area;

    u1 = u1 > lv->width ? lv->width : u1;
    v1 = v1 > lv->height ? lv->height : v1;
    if (t->ht) {
        /* OpenJPEG 2.5.0 leaves HT code-blocks zero (flat grey) unless a
         * decode covers whole codestream tiles: widen the area to them */
        uint64_t sc = (uint64_t) 1 << level;
        uint64_t lx0 = (t->x0 + sc - 1) >> level, ly0 = (t->y0 + sc - 1) >> level;
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
    if (vl_size_mul4(u1 - u0, v1 - v0, t->ncomps, 4, &area) != 0
        || area > 4 * VL_SOURCE_MAX_BLOCK) {
        return vl_err_set(err, VL_EUNSUPP,
                          "this HTJ2K image needs a decode area too large "
                          "at this resolution"
#ifndef HAVE_OPENJPH
                          " (untiled HTJ2K needs vellum built with OpenJPH)"
#endif
                          );
    }
    rc = jp2_decode(t, (int) level, u0, v0, u1, v1, &fresh, &d, err);
    if (rc != VL_OK) {
        return rc;
    }
    for (uint32_t row = r0; row <= r1 && rc == VL_OK; row++) {
        uint32_t bv = row * ts;
        uint32_t bh = lv->height - bv < ts ? lv->height - bv : ts;

        for (uint32_t c = c0; c <= c1 && rc == VL_OK; c++) {
            uint32_t      bu = c * ts;
            uint32_t      bw = lv->width - bu < ts ? lv->width - bu : ts;
            vl_tile_t    *tile;

            if ((tile = vl_tile_new(bw, bh, t->bands, err)) == NULL) {
                rc = err != NULL ? err->code : VL_ENOMEM;
                break;
            }
            rc = jp2_convert(t, d->image, (int) level, u0, v0, u1, v1, bu,
                             bv, bw, bh, tile->data, err);
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

#ifdef HAVE_OPENJPH
/* The OpenJPH line decoder of this process. One, kept between requests
 * (handles come and go), and used only under the walk's decode lock
 * (serialise), which also serialises OpenJPH's global message streams
 * (ojph.h). Untiled
 * HTJ2K has no random access: a read further down a level continues from
 * where the last one stopped, a read above it starts again from the top. */
static struct {
    vl_ojph_t     *r;
    vl_file_id_t   file;            /* what r decodes */
    uint32_t       level;
    uint32_t       ncomps;
    int32_t       *rows[VL_OJPH_MAX_COMPS];
    vl_file_id_t   warned;          /* the last file warned about ... */
    uint32_t       warned_levels;   /* ... and its levels */
} ht_state;

static void
ht_close_reader(void)
{
    vl_ojph_close(ht_state.r);
    ht_state.r = NULL;
    for (uint32_t c = 0; c < VL_OJPH_MAX_COMPS; c++) {
        free(ht_state.rows[c]);
        ht_state.rows[c] = NULL;
    }
}

/* A reader of src's level `level` whose next line is at most v0. The
 * codestream is read into a buffer that lives only while the reader is
 * made (OpenJPH copies it then): no mapping, so a file truncated or
 * rewritten in place gives an error, never a SIGBUS. */
static int
ht_seek(vl_source_t *src, uint32_t level, uint32_t v0, vl_err_t *err)
{
    vl_jp2_t         *t = src->priv;
    const vl_level_t *lv = &src->info.geom.levels[level];
    char              msg[VL_ERR_MSG_MAX];
    unsigned char    *buf;
    size_t            got = 0, len = (size_t) t->cs_len;

    if (ht_state.r != NULL && vl_file_id_eq(&ht_state.file, &src->info.file)
        && ht_state.level == level && vl_ojph_line(ht_state.r) <= v0) {
        return VL_OK;
    }
    ht_close_reader();
    if ((buf = malloc(len > 0 ? len : 1)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory reading HTJ2K");
    }
    while (got < len) {
        ssize_t n = pread(t->fd, buf + got, len - got,
                          (off_t) (t->cs_off + (OPJ_OFF_T) got));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            free(buf);
            return vl_err_set(err, n < 0 ? VL_EIO : VL_ECODEC,
                              n < 0 ? "cannot read the HTJ2K file"
                                    : "the HTJ2K file is truncated");
        }
        got += (size_t) n;
    }
    ht_state.r = vl_ojph_open(buf, len, level, msg, sizeof(msg));
    free(buf);
    if (ht_state.r == NULL) {
        return vl_err_set(err, VL_ECODEC, "%s", msg);
    }
    ht_state.file = src->info.file;
    ht_state.level = level;
    ht_state.ncomps = vl_ojph_comps(ht_state.r);
    if (ht_state.ncomps != t->ncomps) {
        ht_close_reader();
        return vl_err_set(err, VL_ECODEC,
                          "HTJ2K components differ between decoders");
    }
    for (uint32_t c = 0; c < ht_state.ncomps; c++) {
        if (vl_ojph_width(ht_state.r, c) != lv->width
            || vl_ojph_height(ht_state.r, c) != lv->height) {
            ht_close_reader();
            return vl_err_set(err, VL_ECODEC,
                              "HTJ2K level %u decodes at %ux%u, not %ux%u",
                              level, vl_ojph_width(ht_state.r, c),
                              vl_ojph_height(ht_state.r, c), lv->width,
                              lv->height);
        }
        ht_state.rows[c] = malloc((size_t) lv->width * sizeof(int32_t));
        if (ht_state.rows[c] == NULL) {
            ht_close_reader();
            return vl_err_set(err, VL_ENOMEM, "out of memory decoding HTJ2K");
        }
    }
    return VL_OK;
}

/* Samples [x0, x0 + n) of the decoder's current lines as 8-bit pixels. */
static void
ht_line8(const vl_jp2_t *t, uint32_t x0, uint32_t n, unsigned char *o)
{
    int comp[4], nc = 0, fast = !t->ycc;

    for (int i = 0; i < t->colour; i++) {
        comp[nc++] = t->idx[i];
    }
    if (t->alpha >= 0) {
        comp[nc++] = t->alpha;
    }
    for (int i = 0; i < nc; i++) {
        fast &= t->prec[comp[i]] == 8 && !t->sgnd[comp[i]];
    }
    if (fast) {
        for (int i = 0; i < nc; i++) {
            const int32_t *row = ht_state.rows[comp[i]] + x0;
            unsigned char *q = o + i;

            for (uint32_t x = 0; x < n; x++) {
                int32_t v = row[x];

                *q = (unsigned char) (v < 0 ? 0 : v > 255 ? 255 : v);
                q += nc;
            }
        }
        return;
    }
    for (uint32_t x = 0; x < n; x++) {
        unsigned v[4];

        for (int i = 0; i < nc; i++) {
            v[i] = jp2_to8p(ht_state.rows[comp[i]][x0 + x], t->prec[comp[i]],
                            t->sgnd[comp[i]]);
        }
        jp2_pixel(v, nc, t->ycc, o);
        o += nc;
    }
}

/* Decode tile row `row` of the walk's level (the reader stands at its
 * first line): tiles [ca0, ca1] are made and given to the walk, which
 * caches them and copies what the request covers of them. */
static int
ht_band(vl_grid_walk_t *walk, uint32_t row, uint32_t ca0, uint32_t ca1,
        vl_err_t *err)
{
    vl_jp2_t         *t = walk->src->priv;
    const vl_level_t *lv = walk->lv;
    uint32_t          ts = t->grid, v0 = row * ts;
    uint32_t          bh = lv->height - v0 < ts ? lv->height - v0 : ts;
    uint32_t          n = ca1 - ca0 + 1;
    vl_tile_t       **tiles;
    char              msg[VL_ERR_MSG_MAX];
    int               rc = VL_OK;

    tiles = calloc(n, sizeof(*tiles));
    if (tiles == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory decoding HTJ2K");
    }
    for (uint32_t i = 0; i < n && rc == VL_OK; i++) {
        uint32_t bu = (ca0 + i) * ts;
        uint32_t bw = lv->width - bu < ts ? lv->width - bu : ts;

        if ((tiles[i] = vl_tile_new(bw, bh, t->bands, err)) == NULL) {
            rc = err != NULL ? err->code : VL_ENOMEM;
        }
    }
    for (uint32_t ly = 0; ly < bh && rc == VL_OK; ly++) {
        if (vl_ojph_pull(ht_state.r, ht_state.rows, msg, sizeof(msg)) != 0) {
            rc = vl_err_set(err, VL_ECODEC, "%s", msg);
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            vl_tile_t *tl = tiles[i];

            ht_line8(t, (ca0 + i) * ts, tl->w,
                     tl->data + (size_t) ly * tl->w * (size_t) t->bands);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (tiles[i] == NULL) {
            continue;
        }
        if (rc == VL_OK) {
            vl_grid_put(walk, ca0 + i, row, tiles[i]);
        }
        vl_tile_release(tiles[i]);
    }
    free(tiles);
    if (rc != VL_OK) {
        ht_close_reader();       /* a failed reader is not resumed */
    }
    return rc;
}

/* Whether every tile of tile row `row` of the walk's level is in the
 * cache. */
static int
ht_cached(vl_grid_walk_t *walk, uint32_t row)
{
    for (uint32_t c = 0; c < walk->cols; c++) {
        if (!vl_grid_cached(walk, c, row)) {
            return 0;
        }
    }
    return 1;
}

/* The tiles of box through OpenJPH. When the tile
 * cache can hold two whole tile rows of the level, whole rows are made,
 * and the rows the decoder passes on its way down are kept too. When it
 * can hold the whole level (in 60 % of it), the decoder goes on to the
 * end of the level once it has the rows asked for: the first read of a
 * level pays for all of it, and later reads anywhere in it are hits
 * until the cache lets the level go. */
static int
ht_read_locked(vl_grid_walk_t *walk, const vl_rect_t *box, vl_err_t *err)
{
    vl_source_t      *src = walk->src;
    vl_jp2_t         *t = src->priv;
    uint32_t          level = walk->level;
    const vl_level_t *lv = walk->lv;
    uint32_t          ts = t->grid;
    uint32_t          cols = walk->cols;
    uint32_t          c0 = box->x, c1 = box->x + box->w - 1;
    uint32_t          r0 = box->y, r1 = box->y + box->h - 1;
    vl_tiles_stats_t  st;
    int               ahead, fill, rc;

    vl_tiles_stats(src->tiles, &st);
    ahead = src->tiles != NULL
            && (uint64_t) lv->width * ts * (uint64_t) t->bands * 2
                   <= st.capacity;
    fill = ahead
           && (uint64_t) lv->width * lv->height * (uint64_t) t->bands * 10
                  <= (uint64_t) st.capacity * 6;
    if (!fill && (!vl_file_id_eq(&ht_state.warned, &src->info.file)
                  || !(ht_state.warned_levels & (1u << level)))) {
        /* once per file and level: what the operator can do about it */
        const char *base = src->path != NULL ? strrchr(src->path, '/') : NULL;
        uint64_t    need = ((uint64_t) lv->width * lv->height * t->bands
                            * 10 / 6 + ((1u << 20) - 1)) >> 20;

        if (!vl_file_id_eq(&ht_state.warned, &src->info.file)) {
            ht_state.warned = src->info.file;
            ht_state.warned_levels = 0;
        }
        ht_state.warned_levels |= 1u << level;
        vl_log(VL_LOG_WARN, NULL,
               "%s: untiled HTJ2K, level %u: every read decodes from the top "
               "of the level; MAX_IMAGE_CACHE_SIZE=%llu or more keeps the "
               "level decoded (or tile the file: ojph_compress -tile_size)",
               base != NULL ? base + 1 : "image", level,
               (unsigned long long) need);
    }
    for (uint32_t row = r0; row <= r1; row++) {
        uint32_t v0 = row * ts;

        if ((rc = ht_seek(src, level, v0, err)) != VL_OK) {
            return rc;
        }
        while (vl_ojph_line(ht_state.r) < v0) {
            uint32_t line = vl_ojph_line(ht_state.r);
            char     msg[VL_ERR_MSG_MAX];

            if (ahead && line % ts == 0 && !ht_cached(walk, line / ts)) {
                rc = ht_band(walk, line / ts, 0, cols - 1, err);
                if (rc != VL_OK) {
                    return rc;
                }
                continue;
            }
            if (vl_ojph_pull(ht_state.r, ht_state.rows, msg, sizeof(msg))
                != 0) {
                ht_close_reader();
                return vl_err_set(err, VL_ECODEC, "%s", msg);
            }
        }
        rc = ht_band(walk, row, ahead ? 0 : c0, ahead ? cols - 1 : c1, err);
        if (rc != VL_OK) {
            return rc;
        }
    }
    if (fill) {
        uint32_t rows = (lv->height + ts - 1) / ts;
        uint32_t last = r1;

        /* go on only as far as the last row the cache is missing */
        for (uint32_t row = rows; row-- > r1 + 1;) {
            if (!ht_cached(walk, row)) {
                last = row;
                break;
            }
        }
        for (uint32_t row = r1 + 1; row <= last && ht_state.r != NULL; row++) {
            if (vl_ojph_line(ht_state.r) != row * ts) {
                break;
            }
            if (ht_cached(walk, row)) {
                char msg[VL_ERR_MSG_MAX];
                int  bad = 0;

                for (uint32_t i = 0; i < ts && !bad
                     && vl_ojph_line(ht_state.r) < lv->height; i++) {
                    bad = vl_ojph_pull(ht_state.r, ht_state.rows, msg,
                                       sizeof(msg)) != 0;
                }
                if (bad) {
                    ht_close_reader();
                }
                continue;
            }
            /* the request has its pixels: a failure here is not its own */
            vl_err_t ferr = { 0 };

            if (ht_band(walk, row, 0, cols - 1, &ferr) != VL_OK) {
                vl_log(VL_LOG_WARN, NULL, "HTJ2K level %u, filling row %u: %s",
                       level, row, ferr.msg);
                break;
            }
        }
    }
    return VL_OK;
}
#endif /* HAVE_OPENJPH */

/* A grid of at most 256 (t->grid) on every level. One area decode holds
 * 4 bytes per sample of every component: at most VL_SOURCE_MAX_BLOCK of
 * them go into one OpenJPEG decode; OpenJPH decodes whole rows anyway. */
static int
jp2_grid(vl_source_t *src, uint32_t level, vl_grid_t *grid, vl_err_t *err)
{
    const vl_jp2_t *t = src->priv;
    size_t          tile_bytes;

    (void) level;
    if (vl_size_mul4(t->grid, t->grid, t->ncomps, 4, &tile_bytes) != 0) {
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
#ifdef HAVE_OPENJPH
    if (((const vl_jp2_t *) walk->src->priv)->ojph) {
        return ht_read_locked(walk, box, err);
    }
#endif
    return jp2_decode_box(walk, box, err);
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
    if (t->fd >= 0) {
        close(t->fd);
    }
    free(t->icc);
    free(t);
}

static void
jp2_close(vl_source_t *src)
{
    jp2_free(src->priv);
    src->priv = NULL;
}

/* The top-level JP2 box at pos: its type, whole length (XLBox and a
 * length of 0, "to the end of the file", resolved) and header size.
 * Returns -1 when it cannot be read or does not fit in the file. */
static int
jp2_box(const vl_jp2_t *t, OPJ_OFF_T pos, unsigned char type[4],
        uint64_t *lenp, OPJ_OFF_T *hdrp)
{
    unsigned char b[16];
    uint64_t      len;
    OPJ_OFF_T     hdr = 8, end = t->size;

    if (pos + 8 > end || pread(t->fd, b, 16, pos) < 8) {
        return -1;
    }
    len = (uint64_t) b[0] << 24 | (uint64_t) b[1] << 16
          | (uint64_t) b[2] << 8 | b[3];
    if (len == 1) {
        if (pos + 16 > end) {
            return -1;
        }
        len = 0;
        for (int i = 8; i < 16; i++) {
            len = len << 8 | b[i];
        }
        hdr = 16;
    } else if (len == 0) {
        len = (uint64_t) (end - pos);
    }
    if (len < (uint64_t) hdr || len > (uint64_t) (end - pos)) {
        return -1;
    }
    memcpy(type, b + 4, 4);
    *lenp = len;
    *hdrp = hdr;
    return 0;
}

/* Whether the JP2 header holds a palette (pclr), channel definitions
 * (cdef) or an ICC profile (colr method 2, 3), which OpenJPEG 2.5.0 applies
 * or attaches only when decoding. Raw codestreams have none; a header this
 * scan cannot follow answers yes. *remap says whether the decoded
 * components may differ from the codestream's (pclr, cdef, or not known):
 * OpenJPH, which decodes the codestream only, must not be used then. */
static int
jp2_needs_probe(const vl_jp2_t *t, int *remap)
{
    unsigned char b[16];
    OPJ_OFF_T     pos = 0, end = t->size, hend;

    *remap = 1;
    if (t->fmt == OPJ_CODEC_J2K) {
        *remap = 0;
        return 0;
    }
    for (int n = 0; n < 64 && pos + 8 <= end; n++) {
        uint64_t      len;
        OPJ_OFF_T     hdr;
        unsigned char type[4];

        if (jp2_box(t, pos, type, &len, &hdr) != 0) {
            return 1;
        }
        if (memcmp(type, "jp2c", 4) == 0) {
            return 1;               /* codestream before the header box */
        }
        if (memcmp(type, "jp2h", 4) == 0) {
            int probe = 0;

            hend = pos + (OPJ_OFF_T) len;
            pos += hdr;
            *remap = 0;
            while (pos + 8 <= hend) {
                uint64_t sub;

                if (pread(t->fd, b, 9, pos) != 9) {
                    *remap = 1;
                    return 1;
                }
                sub = (uint64_t) b[0] << 24 | (uint64_t) b[1] << 16
                      | (uint64_t) b[2] << 8 | b[3];
                if (sub < 8 || sub > (uint64_t) (hend - pos)) {
                    *remap = 1;
                    return 1;
                }
                if (memcmp(b + 4, "pclr", 4) == 0
                    || memcmp(b + 4, "cdef", 4) == 0) {
                    *remap = 1;
                    probe = 1;
                } else if (memcmp(b + 4, "colr", 4) == 0 && b[8] != 1) {
                    probe = 1;
                }
                pos += (OPJ_OFF_T) sub;
            }
            return probe;
        }
        pos += (OPJ_OFF_T) len;
    }
    return 1;
}

#ifdef HAVE_OPENJPH
/* Where the codestream starts and how long it is: the whole file for a
 * raw codestream, the payload of the first top-level jp2c box of a JP2. */
static int
jp2_find_codestream(vl_jp2_t *t)
{
    OPJ_OFF_T pos = 0, end = t->size;

    if (t->fmt == OPJ_CODEC_J2K) {
        t->cs_off = 0;
        t->cs_len = t->size;
        return 0;
    }
    for (int n = 0; n < 1024 && pos + 8 <= end; n++) {
        uint64_t      len;
        OPJ_OFF_T     hdr;
        unsigned char type[4];

        if (jp2_box(t, pos, type, &len, &hdr) != 0) {
            return -1;
        }
        if (memcmp(type, "jp2c", 4) == 0) {
            t->cs_off = pos + hdr;
            t->cs_len = (OPJ_OFF_T) len - hdr;
            return 0;
        }
        pos += (OPJ_OFF_T) len;
    }
    return -1;
}
#endif

/* Which decoded components are colour and alpha (cdef, else by count). */
static const char *
jp2_bands(vl_jp2_t *t, const opj_image_t *img)
{
    int ncol = 0;

    t->ncomps = img->numcomps;
    t->alpha = -1;
    for (OPJ_UINT32 i = 0; i < img->numcomps; i++) {
        const opj_image_comp_t *c = &img->comps[i];

        if (c->prec < 1 || c->prec > 16) {
            return "JPEG 2000 samples must have 1 to 16 bits";
        }
        if (c->dx == 0 || c->dy == 0 || c->dx > 255 || c->dy > 255) {
            return "invalid JPEG 2000 component sub-sampling";
        }
        if (c->alpha != 0) {
            if (t->alpha < 0) {
                t->alpha = (int) i;
            }
        } else if (ncol < 3) {
            t->idx[ncol++] = (int) i;
        }
    }
    if (ncol == 0) {
        return "the JPEG 2000 image has no colour component";
    }
    if (t->alpha < 0 && (img->numcomps == 2 || img->numcomps >= 4)) {
        t->alpha = img->numcomps == 2 ? 1 : 3;
        ncol = img->numcomps == 2 ? 1 : 3;
    }
    t->colour = ncol >= 3 ? 3 : 1;
    t->bands = t->colour + (t->alpha >= 0 ? 1 : 0);
    if (img->color_space == OPJ_CLRSPC_CMYK) {
        return "CMYK JPEG 2000 images are not supported";
    }
    t->ycc = t->colour == 3 && (img->color_space == OPJ_CLRSPC_SYCC
                                || img->color_space == OPJ_CLRSPC_EYCC);
    return NULL;
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

    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        close(fd);
        return vl_err_set(err, VL_ENOMEM, "out of memory opening JPEG 2000");
    }
    t->fd = fd;
    t->alpha = -1;
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
    t->ncomps = 0;
    if (!jp2_needs_probe(t, &remap)) {
        d = &hd;
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
    src->info.bits = d->image->comps[t->idx[0]].prec > 8 ? 16 : 8;
    for (OPJ_UINT32 i = 0; i < d->image->numcomps && i < 16; i++) {
        t->prec[i] = d->image->comps[i].prec;
        t->sgnd[i] = d->image->comps[i].sgnd != 0;
        subsampled |= d->image->comps[i].dx != 1 || d->image->comps[i].dy != 1;
    }
#ifdef HAVE_OPENJPH
    /* untiled HTJ2K: OpenJPH, when the codestream's components are the
     * image's (no palette, no channel definitions), none is sub-sampled,
     * all are coded alike and every layer is wanted */
    t->ojph = t->ht && t->ntiles == 1 && !subsampled && !remap && uniform
              && d->image->numcomps == cs_comps
              && jp2_find_codestream(t) == 0;
#else
    (void) subsampled;
    (void) cs_comps;
    (void) remap;
    (void) uniform;
#endif
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
    src->info.geom.bands = t->bands;
    src->info.geom.has_alpha = t->alpha >= 0;
    src->info.compression = "jpeg2000";
    src->info.format = t->fmt == OPJ_CODEC_J2K ? "j2k" : "jp2";
    src->photometric = t->ycc ? "sycc" : t->colour == 3 ? "rgb"
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

const vl_source_ops_t vl_source_jp2_ops = {
    "jp2",
    jp2_open,
    jp2_close,
    jp2_read,
    NULL,
};
