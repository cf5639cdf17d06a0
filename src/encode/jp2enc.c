/* SPDX-License-Identifier: MIT */
/*
 * jp2enc: the JPEG 2000 encoder (OpenJPEG's second user, after
 * source/jp2.c): a JP2 file (boxes, then one codestream of one tile).
 * OpenJPEG takes a whole image, so the rows are kept (a buffer the
 * planner's output limits bound) and encoded at finish. JP2_RATE 0 (the
 * default) is lossless (5/3 wavelet, reversible colour transform); N > 0
 * asks for an N:1 compression ratio in one quality layer (9/7 wavelet).
 * 8-bit samples, grey or sRGB, alpha as an opacity channel (cdef box), the
 * ICC profile in the colr box (method 2). OpenJPEG writes the codestream
 * only (OPJ_CODEC_J2K) and the JP2 boxes around it are written here: its
 * own JP2 writer cannot embed an ICC profile (2.5 sets method 2 but never
 * copies the profile, and asserts). The codestream goes through a
 * seekable stream straight into the request's sink (vl_sink_write_at);
 * the sink's cap holds.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openjpeg.h>

#include "encode/encode_p.h"

typedef struct {
    vl_encode_buf_t  buf;
    vl_sink_t       *sink;
    size_t           pos;
    vl_err_t        *err;
    char             msg[VL_ERR_MSG_MAX];  /* OpenJPEG's first error */
    unsigned char   *icc;
    size_t           icc_len;
    int              rate;
    opj_codec_t     *codec;
    opj_stream_t    *stream;
    opj_image_t     *image;
} jp2enc_state_t;

static void
jp2enc_on_error(const char *msg, void *user)
{
    jp2enc_state_t *st = user;
    size_t          n;

    if (st->msg[0] != '\0' || msg == NULL) {
        return;
    }
    snprintf(st->msg, sizeof(st->msg), "%s", msg);
    n = strlen(st->msg);
    while (n > 0 && (st->msg[n - 1] == '\n' || st->msg[n - 1] == ' ')) {
        st->msg[--n] = '\0';
    }
}

static void
jp2enc_quiet(const char *msg, void *user)
{
    (void) msg;
    (void) user;
}

static OPJ_SIZE_T
jp2enc_write(void *data, OPJ_SIZE_T n, void *user)
{
    jp2enc_state_t *st = user;

    if (vl_sink_write_at(st->sink, st->pos, data, n, st->err) != VL_OK) {
        return (OPJ_SIZE_T) -1;   /* the sink recorded why */
    }
    st->pos += n;
    return n;
}

static OPJ_OFF_T
jp2enc_skip(OPJ_OFF_T n, void *user)
{
    jp2enc_state_t *st = user;

    if (n < 0 && (size_t) -n > st->pos) {
        return -1;
    }
    st->pos = (size_t) ((OPJ_OFF_T) st->pos + n);
    return n;
}

static OPJ_BOOL
jp2enc_seek(OPJ_OFF_T pos, void *user)
{
    jp2enc_state_t *st = user;

    if (pos < 0) {
        return OPJ_FALSE;
    }
    st->pos = (size_t) pos;
    return OPJ_TRUE;
}

static void
jp2enc_release(void *data)
{
    jp2enc_state_t *st = data;

    if (st->stream != NULL) {
        opj_stream_destroy(st->stream);
        st->stream = NULL;
    }
    if (st->codec != NULL) {
        opj_destroy_codec(st->codec);
        st->codec = NULL;
    }
    if (st->image != NULL) {
        opj_image_destroy(st->image);
        st->image = NULL;
    }
}

static void *
jp2enc_start(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
             uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err)
{
    jp2enc_state_t *st;

    if (bands < 1 || bands > 4) {
        vl_err_set(err, VL_EINTERNAL, "jp2 takes 1 to 4 bands");
        return NULL;
    }
    if ((st = vl_pool_calloc(pool, 1, sizeof(*st))) == NULL
        || vl_pool_cleanup_add(pool, jp2enc_release, st) != 0) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    st->sink = sink;
    st->rate = opts->jp2_rate > 0 ? opts->jp2_rate : 0;
    if (opts->icc != NULL && opts->icc_len > 0
        && opts->icc_len <= 0x7fffffffu) {
        if ((st->icc = vl_pool_alloc(pool, opts->icc_len)) == NULL) {
            vl_err_set(err, VL_ENOMEM, "out of memory");
            return NULL;
        }
        memcpy(st->icc, opts->icc, opts->icc_len);
        st->icc_len = opts->icc_len;
    }
    if (vl_encode_buf_init(&st->buf, pool, w, h, bands, 1, err) != VL_OK) {
        return NULL;
    }
    return st;
}

static int
jp2enc_rows(void *stv, const unsigned char *rows, uint32_t nrows,
            size_t stride, vl_err_t *err)
{
    (void) err;
    vl_encode_buf_rows(&((jp2enc_state_t *) stv)->buf, rows, nrows, stride);
    return VL_OK;
}

static int
jp2enc_fail(jp2enc_state_t *st, const char *what, vl_err_t *err)
{
    jp2enc_release(st);
    if (err != NULL && err->code != VL_OK) {
        return err->code;   /* the sink's cap */
    }
    return vl_err_set(err, VL_ECODEC, "jp2 encoder: %s%s%s", what,
                      st->msg[0] != '\0' ? ": " : "", st->msg);
}

static void
jp2enc_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

static void
jp2enc_be16(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 8);
    p[1] = (unsigned char) v;
}

/* A box header (length of the whole box, type). */
static int
jp2enc_box(vl_sink_t *sink, size_t len, const char *type, vl_err_t *err)
{
    unsigned char h[8];

    if (len > 0xffffffffu) {
        return vl_err_set(err, VL_ELIMIT, "response too large");
    }
    jp2enc_be32(h, (uint32_t) len);
    memcpy(h + 4, type, 4);
    return vl_sink_write(sink, h, 8, err);
}

/* Signature, file type and header boxes, then the header of the
 * codestream box (its length patched at the end; its offset in *jp2c). */
static int
jp2enc_boxes(jp2enc_state_t *st, size_t *jp2c, vl_err_t *err)
{
    static const unsigned char sig[12] = { 0, 0, 0, 12, 'j', 'P', ' ', ' ',
                                           0x0d, 0x0a, 0x87, 0x0a };
    static const unsigned char ftyp[20] = { 0, 0, 0, 20, 'f', 't', 'y', 'p',
                                            'j', 'p', '2', ' ', 0, 0, 0, 0,
                                            'j', 'p', '2', ' ' };
    vl_sink_t      *s = st->sink;
    int             nb = st->buf.bands, alpha = nb == 2 || nb == 4, rc;
    unsigned char   ihdr[14], colr[7], cdef[2 + 4 * 6];
    size_t          colr_len = st->icc != NULL ? 3 + st->icc_len : 7;
    size_t          cdef_len = alpha ? 2 + (size_t) nb * 6 : 0;
    size_t          jp2h = 8 + (8 + 14) + (8 + colr_len)
                           + (alpha ? 8 + cdef_len : 0);

    jp2enc_be32(ihdr, st->buf.h);
    jp2enc_be32(ihdr + 4, st->buf.w);
    jp2enc_be16(ihdr + 8, (uint32_t) nb);
    ihdr[10] = 7;                   /* 8 bits, unsigned */
    ihdr[11] = 7;                   /* wavelet */
    ihdr[12] = 0;                   /* colour space known */
    ihdr[13] = 0;                   /* no IPR */
    colr[0] = st->icc != NULL ? 2 : 1;
    colr[1] = 0;
    colr[2] = 0;
    jp2enc_be32(colr + 3, nb >= 3 ? 16 : 17);   /* sRGB, greyscale */
    if (alpha) {
        jp2enc_be16(cdef, (uint32_t) nb);
        for (int c = 0; c < nb; c++) {
            unsigned char *e = cdef + 2 + c * 6;

            jp2enc_be16(e, (uint32_t) c);
            jp2enc_be16(e + 2, c == nb - 1 ? 1 : 0);      /* opacity */
            jp2enc_be16(e + 4, c == nb - 1 ? 0 : (uint32_t) c + 1);
        }
    }
    if ((rc = vl_sink_write(s, sig, sizeof(sig), err)) != VL_OK
        || (rc = vl_sink_write(s, ftyp, sizeof(ftyp), err)) != VL_OK
        || (rc = jp2enc_box(s, jp2h, "jp2h", err)) != VL_OK
        || (rc = jp2enc_box(s, 8 + 14, "ihdr", err)) != VL_OK
        || (rc = vl_sink_write(s, ihdr, 14, err)) != VL_OK
        || (rc = jp2enc_box(s, 8 + colr_len, "colr", err)) != VL_OK
        || (rc = vl_sink_write(s, colr, st->icc != NULL ? 3 : 7, err))
           != VL_OK
        || (st->icc != NULL
            && (rc = vl_sink_write(s, st->icc, st->icc_len, err)) != VL_OK)
        || (alpha
            && ((rc = jp2enc_box(s, 8 + cdef_len, "cdef", err)) != VL_OK
                || (rc = vl_sink_write(s, cdef, cdef_len, err)) != VL_OK))) {
        return rc;
    }
    *jp2c = s->len;
    return jp2enc_box(s, 0, "jp2c", err);
}

static int
jp2enc_finish(void *stv, vl_err_t *err)
{
    jp2enc_state_t       *st = stv;
    vl_encode_buf_t      *b = &st->buf;
    opj_cparameters_t     p;
    opj_image_cmptparm_t  cp[4];
    int                   nb = b->bands, nres = 6, rc;
    size_t                jp2c;
    unsigned char         box[4];

    st->err = err;
    memset(cp, 0, sizeof(cp));
    for (int c = 0; c < nb; c++) {
        cp[c].dx = cp[c].dy = 1;
        cp[c].w = b->w;
        cp[c].h = b->h;
        cp[c].prec = 8;
        cp[c].sgnd = 0;
    }
    st->image = opj_image_create((OPJ_UINT32) nb, cp,
                                 nb >= 3 ? OPJ_CLRSPC_SRGB : OPJ_CLRSPC_GRAY);
    if (st->image == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for jp2");
    }
    st->image->x0 = st->image->y0 = 0;
    st->image->x1 = b->w;
    st->image->y1 = b->h;
    if (nb == 2 || nb == 4) {
        st->image->comps[nb - 1].alpha = 1;
    }
    for (uint32_t y = 0; y < b->h; y++) {
        const unsigned char *row = b->px + (size_t) y * b->stride;

        for (int c = 0; c < nb; c++) {
            OPJ_INT32 *d = st->image->comps[c].data + (size_t) y * b->w;

            for (uint32_t x = 0; x < b->w; x++) {
                d[x] = row[(size_t) x * nb + c];
            }
        }
    }

    opj_set_default_encoder_parameters(&p);
    /* every resolution at least one pixel wide and high */
    while (nres > 1 && ((b->w >> (nres - 1)) == 0 || (b->h >> (nres - 1)) == 0)) {
        nres--;
    }
    p.numresolution = nres;
    p.tcp_numlayers = 1;
    p.cp_disto_alloc = 1;
    p.tcp_rates[0] = (float) st->rate;     /* 0: lossless */
    p.irreversible = st->rate > 0;
    p.tcp_mct = nb >= 3 ? 1 : 0;
    if ((rc = jp2enc_boxes(st, &jp2c, err)) != VL_OK) {
        return rc;
    }
    st->pos = st->sink->len;
    if ((st->codec = opj_create_compress(OPJ_CODEC_J2K)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for jp2");
    }
    opj_set_error_handler(st->codec, jp2enc_on_error, st);
    opj_set_warning_handler(st->codec, jp2enc_quiet, st);
    opj_set_info_handler(st->codec, jp2enc_quiet, st);
    if (!opj_setup_encoder(st->codec, &p, st->image)) {
        return jp2enc_fail(st, "cannot set up", err);
    }
    if ((st->stream = opj_stream_create(1u << 16, OPJ_FALSE)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for jp2");
    }
    opj_stream_set_write_function(st->stream, jp2enc_write);
    opj_stream_set_skip_function(st->stream, jp2enc_skip);
    opj_stream_set_seek_function(st->stream, jp2enc_seek);
    opj_stream_set_user_data(st->stream, st, NULL);
    if (!opj_start_compress(st->codec, st->image, st->stream)
        || !opj_encode(st->codec, st->stream)
        || !opj_end_compress(st->codec, st->stream)) {
        return jp2enc_fail(st, "cannot encode", err);
    }
    jp2enc_release(st);
    if (err != NULL && err->code != VL_OK) {
        return err->code;
    }
    /* the codestream box's length, now known */
    jp2enc_be32(box, (uint32_t) (st->sink->len - jp2c));
    return vl_sink_write_at(st->sink, jp2c, box, 4, err);
}

const vl_encoder_ops_t vl_jp2_encoder = {
    jp2enc_start,
    jp2enc_rows,
    jp2enc_finish,
};
