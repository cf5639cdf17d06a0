/* SPDX-License-Identifier: MIT */
/*
 * encode: the format table, one row per output format vellum writes (a
 * format compiled out has no row), and the encoder dispatch through it.
 * Everything that depends on the output format reads the table: the
 * parser (which formats exist, vl_format_find), info.json (formats,
 * extraFormats), the colour stage (whether alpha is kept), the response
 * (Content-Type) and the encoders. Read-only, thread-safe.
 */
#include "config.h"

#include <string.h>

#include "encode/encode_p.h"

#define BANDS(a, b, c, d) ((a) << 1 | (b) << 2 | (c) << 3 | (d) << 4)

typedef struct {
    vl_format_t             id;
    const char             *ext;         /* the IIIF format parameter */
    const char             *mime;        /* Content-Type */
    unsigned                bands;       /* bit n set: takes n bands */
    unsigned                depths;      /* bit n set: takes n-bit samples */
    int                     keeps_alpha; /* else alpha is flattened */
    const vl_encoder_ops_t *ops;
} encode_format_t;

/* In the order info.json lists them; jpg first (every level needs it). */
static const encode_format_t encode_formats[] = {
    { VL_FORMAT_JPG, "jpg", "image/jpeg", BANDS(1, 0, 1, 0), 1u << 8, 0,
      &vl_jpeg_encoder },
    { VL_FORMAT_PNG, "png", "image/png", BANDS(1, 1, 1, 1),
      1u << 8 | 1u << 16, 1,
      &vl_png_encoder },
    /* the media types as the Image API 3.0 lists them */
    { VL_FORMAT_TIF, "tif", "image/tiff", BANDS(1, 1, 1, 1),
      1u << 8 | 1u << 16, 1, &vl_tif_encoder },
#ifdef HAVE_GIF
    { VL_FORMAT_GIF, "gif", "image/gif", BANDS(1, 1, 1, 1), 1u << 8, 1,
      &vl_gif_encoder },
#endif
    { VL_FORMAT_JP2, "jp2", "image/jp2", BANDS(1, 1, 1, 1), 1u << 8, 1,
      &vl_jp2_encoder },
    { VL_FORMAT_PDF, "pdf", "application/pdf", BANDS(1, 1, 1, 1), 1u << 8, 1,
      &vl_pdf_encoder },
#ifdef HAVE_WEBP
    { VL_FORMAT_WEBP, "webp", "image/webp", BANDS(1, 1, 1, 1), 1u << 8, 1,
      &vl_webp_encoder },
#endif
};

#define ENCODE_NFORMATS (sizeof(encode_formats) / sizeof(encode_formats[0]))

struct vl_encoder_s {
    const encode_format_t *fmt;
    void                  *impl;
    uint32_t               rows_left;
    int                    failed;
};

static const encode_format_t *
encode_row(vl_format_t f)
{
    for (size_t i = 0; i < ENCODE_NFORMATS; i++) {
        if (encode_formats[i].id == f) {
            return &encode_formats[i];
        }
    }
    return NULL;
}

int
vl_format_find(vl_str_t ext, vl_format_t *f)
{
    for (size_t i = 0; i < ENCODE_NFORMATS; i++) {
        if (vl_str_eq(ext, encode_formats[i].ext)) {
            *f = encode_formats[i].id;
            return 0;
        }
    }
    return -1;
}

size_t
vl_format_list(vl_format_t *out, size_t max)
{
    size_t n = 0;

    for (size_t i = 0; i < ENCODE_NFORMATS && n < max; i++) {
        out[n++] = encode_formats[i].id;
    }
    return n;
}

int
vl_format_supported(vl_format_t f)
{
    return encode_row(f) != NULL;
}

const char *
vl_format_ext(vl_format_t f)
{
    const encode_format_t *r = encode_row(f);

    return r != NULL ? r->ext : "";
}

const char *
vl_format_mime(vl_format_t f)
{
    const encode_format_t *r = encode_row(f);

    return r != NULL ? r->mime : "application/octet-stream";
}

int
vl_format_keeps_alpha(vl_format_t f)
{
    const encode_format_t *r = encode_row(f);

    return r != NULL && r->keeps_alpha;
}

int
vl_format_takes(vl_format_t f, int bands, int bits)
{
    const encode_format_t *r = encode_row(f);

    return r != NULL && bands >= 1 && bands <= 4 && bits >= 1 && bits <= 16
           && (r->bands & (1u << bands)) != 0
           && (r->depths & (1u << bits)) != 0;
}

vl_encoder_t *
vl_encoder_new(vl_pool_t *pool, vl_format_t format,
               const vl_encode_opts_t *opts, uint32_t w, uint32_t h, int bands,
               vl_sink_t *sink, vl_err_t *err)
{
    const encode_format_t *fmt = encode_row(format);
    vl_encoder_t          *enc;
    int                    bits = opts->bits == 16 ? 16 : 8;

    /* the parser only lets built formats through (vl_format_find) and the
     * colour stage gives each what it takes: anything else is a bug */
    if (fmt == NULL || (opts->bits != 0 && opts->bits != 8
                        && opts->bits != 16)
        || !vl_format_takes(format, bands, bits)) {
        vl_err_set(err, VL_EINTERNAL, "no %s encoder for %d bands of %d bits",
                   fmt != NULL ? fmt->ext : "such", bands, bits);
        return NULL;
    }
    if (w == 0 || h == 0) {
        vl_err_set(err, VL_EINTERNAL, "empty image to encode");
        return NULL;
    }
    if ((enc = vl_pool_calloc(pool, 1, sizeof(*enc))) == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    enc->fmt = fmt;
    enc->rows_left = h;
    enc->impl = fmt->ops->start(pool, opts, w, h, bands, sink, err);
    return enc->impl != NULL ? enc : NULL;
}

int
vl_encoder_write(vl_encoder_t *enc, const unsigned char *rows, uint32_t nrows,
                 size_t stride, vl_err_t *err)
{
    int rc;

    if (enc->failed) {
        return vl_err_set(err, VL_ECODEC, "encoder already failed");
    }
    VL_ASSERT(nrows <= enc->rows_left);
    rc = enc->fmt->ops->rows(enc->impl, rows, nrows, stride, err);
    if (rc != VL_OK) {
        enc->failed = 1;
        return rc;
    }
    enc->rows_left -= nrows;
    return VL_OK;
}

int
vl_encoder_finish(vl_encoder_t *enc, vl_err_t *err)
{
    if (enc->failed) {
        return vl_err_set(err, VL_ECODEC, "encoder already failed");
    }
    VL_ASSERT(enc->rows_left == 0);
    return enc->fmt->ops->finish(enc->impl, err);
}

int
vl_encode_buf_init(vl_encode_buf_t *b, vl_pool_t *pool, uint32_t w,
                   uint32_t h, int bands, int bytes, vl_err_t *err)
{
    size_t n;

    memset(b, 0, sizeof(*b));
    if (vl_size_mul4(w, h, (size_t) bands, (size_t) bytes, &n) != 0) {
        return vl_err_set(err, VL_ELIMIT, "image too large to encode");
    }
    if ((b->px = vl_pool_alloc(pool, n)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    b->stride = (size_t) w * (size_t) bands * (size_t) bytes;
    b->w = w;
    b->h = h;
    b->bands = bands;
    return VL_OK;
}

void
vl_encode_buf_rows(vl_encode_buf_t *b, const unsigned char *rows,
                   uint32_t nrows, size_t stride)
{
    for (uint32_t i = 0; i < nrows && b->y < b->h; i++, b->y++) {
        memcpy(b->px + (size_t) b->y * b->stride, rows + (size_t) i * stride,
               b->stride);
    }
}
