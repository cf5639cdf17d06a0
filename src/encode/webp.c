/* SPDX-License-Identifier: MIT */
/*
 * webp: the WebP encoder (the only libwebp and libwebpmux user). libwebp
 * encodes a whole picture, so the rows are kept (a buffer the planner's
 * output limits bound) and encoded at finish. WEBP_QUALITY 0..100 is
 * libwebp's lossy quality, -1 lossless (exact: the colour under a fully
 * transparent pixel is kept too). Grey is written as RGB (WebP has no grey
 * mode), alpha is kept. The bitstream goes straight into the request's
 * sink through a custom writer (its cap holds); with an ICC profile it
 * goes into a scratch sink of the same cap first and libwebpmux adds the
 * ICCP chunk. WebP holds at most 16383 pixels a side: a larger output is a
 * 400 (VL_ELIMIT) before any pixel is read.
 */
#include "config.h"

#include <string.h>

#include <webp/encode.h>
#include <webp/mux.h>

#include "encode/encode_p.h"

typedef struct {
    vl_encode_buf_t      buf;
    vl_pool_t           *pool;
    vl_sink_t           *sink;
    vl_sink_t            scratch;
    vl_sink_t           *out;      /* where the bitstream goes */
    vl_err_t            *err;
    const unsigned char *icc;
    size_t               icc_len;
    int                  quality;
    WebPPicture          pic;
    int                  pic_live;
} webp_state_t;

static int
webp_on_write(const uint8_t *data, size_t len, const WebPPicture *pic)
{
    webp_state_t *st = pic->custom_ptr;

    /* 0 stops the encoder; the sink recorded why (its cap: VL_ELIMIT) */
    return vl_sink_write(st->out, data, len, st->err) == VL_OK;
}

static void
webp_release(void *data)
{
    webp_state_t *st = data;

    if (st->pic_live) {
        WebPPictureFree(&st->pic);
        st->pic_live = 0;
    }
}

static void *
webp_start(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
           uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err)
{
    webp_state_t *st;

    if (bands < 1 || bands > 4) {
        vl_err_set(err, VL_EINTERNAL, "webp takes 1 to 4 bands");
        return NULL;
    }
    if (w > WEBP_MAX_DIMENSION || h > WEBP_MAX_DIMENSION) {
        vl_err_set(err, VL_ELIMIT, "image too large for webp (%d pixels a "
                   "side at most)", WEBP_MAX_DIMENSION);
        return NULL;
    }
    if ((st = vl_pool_calloc(pool, 1, sizeof(*st))) == NULL
        || vl_pool_cleanup_add(pool, webp_release, st) != 0) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    st->pool = pool;
    st->sink = sink;
    st->quality = opts->webp_quality;
    /* grey is written as RGB: a grey profile would not describe it */
    if (opts->icc != NULL && opts->icc_len > 0 && bands >= 3) {
        st->icc = opts->icc;
        st->icc_len = opts->icc_len;
    }
    /* RGB or RGBA: grey is widened as the rows come */
    if (vl_encode_buf_init(&st->buf, pool, w, h, bands == 2 || bands == 4
                                                 ? 4 : 3, 1, err)
        != VL_OK) {
        return NULL;
    }
    st->buf.bands = bands;  /* the rows' bands; the buffer holds 3 or 4 */
    return st;
}

static int
webp_rows(void *stv, const unsigned char *rows, uint32_t nrows, size_t stride,
          vl_err_t *err)
{
    webp_state_t    *st = stv;
    vl_encode_buf_t *b = &st->buf;
    int              ob = b->bands == 2 || b->bands == 4 ? 4 : 3;

    (void) err;
    if (b->bands == ob) {
        vl_encode_buf_rows(b, rows, nrows, stride);
        return VL_OK;
    }
    for (uint32_t i = 0; i < nrows && b->y < b->h; i++, b->y++) {
        const unsigned char *s = rows + (size_t) i * stride;
        unsigned char       *d = b->px + (size_t) b->y * b->stride;

        for (uint32_t x = 0; x < b->w; x++, d += ob, s += b->bands) {
            d[0] = d[1] = d[2] = s[0];
            if (ob == 4) {
                d[3] = s[1];
            }
        }
    }
    return VL_OK;
}

static int
webp_fail(webp_state_t *st, const char *what, vl_err_t *err)
{
    webp_release(st);
    if (err != NULL && err->code != VL_OK) {
        return err->code;
    }
    return vl_err_set(err, VL_ECODEC, "webp encoder: %s", what);
}

static int
webp_add_icc(webp_state_t *st, vl_err_t *err)
{
    WebPMux  *mux;
    WebPData  img, icc, out;
    WebPMuxError me;
    int       rc;

    if ((mux = WebPMuxNew()) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    img.bytes = st->scratch.data;
    img.size = st->scratch.len;
    icc.bytes = st->icc;
    icc.size = st->icc_len;
    memset(&out, 0, sizeof(out));
    me = WebPMuxSetImage(mux, &img, 0);
    if (me == WEBP_MUX_OK) {
        me = WebPMuxSetChunk(mux, "ICCP", &icc, 0);
    }
    if (me == WEBP_MUX_OK) {
        me = WebPMuxAssemble(mux, &out);
    }
    WebPMuxDelete(mux);
    if (me != WEBP_MUX_OK) {
        WebPDataClear(&out);
        return vl_err_set(err, me == WEBP_MUX_MEMORY_ERROR ? VL_ENOMEM
                                                           : VL_ECODEC,
                          "webp encoder: cannot add the ICC profile (%d)",
                          (int) me);
    }
    rc = vl_sink_write(st->sink, out.bytes, out.size, err);
    WebPDataClear(&out);
    return rc;
}

static int
webp_finish(void *stv, vl_err_t *err)
{
    webp_state_t    *st = stv;
    vl_encode_buf_t *b = &st->buf;
    WebPConfig       config;
    int              alpha = b->bands == 2 || b->bands == 4, ok, rc;

    st->err = err;
    st->out = st->sink;
    if (st->icc != NULL) {
        if ((rc = vl_sink_init(&st->scratch, st->pool, st->sink->limit, err))
            != VL_OK) {
            return rc;
        }
        st->out = &st->scratch;
    }
    if (!WebPConfigInit(&config) || !WebPPictureInit(&st->pic)) {
        return vl_err_set(err, VL_EINTERNAL, "webp encoder: libwebp "
                          "version mismatch");
    }
    st->pic_live = 1;
    if (st->quality < 0) {
        config.lossless = 1;
        config.exact = 1;
        config.quality = 70;    /* effort, not fidelity, in lossless mode */
        config.method = 1;
    } else {
        config.quality = (float) (st->quality > 100 ? 100 : st->quality);
        config.method = 2;
    }
    st->pic.use_argb = config.lossless;
    st->pic.width = (int) b->w;
    st->pic.height = (int) b->h;
    st->pic.writer = webp_on_write;
    st->pic.custom_ptr = st;
    ok = alpha ? WebPPictureImportRGBA(&st->pic, b->px, (int) b->stride)
               : WebPPictureImportRGB(&st->pic, b->px, (int) b->stride);
    if (!ok) {
        return webp_fail(st, "cannot import the picture", err);
    }
    if (!WebPEncode(&config, &st->pic)) {
        return webp_fail(st, st->pic.error_code == VP8_ENC_ERROR_OUT_OF_MEMORY
                             ? "out of memory" : "cannot encode", err);
    }
    webp_release(st);
    if (st->icc != NULL) {
        return webp_add_icc(st, err);
    }
    return VL_OK;
}

const vl_encoder_ops_t vl_webp_encoder = {
    webp_start,
    webp_rows,
    webp_finish,
};
