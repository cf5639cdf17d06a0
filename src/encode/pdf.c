/* SPDX-License-Identifier: MIT */
/*
 * pdf: the PDF writer, by hand: a PDF 1.4 file of one page the size of the
 * image at 72 dpi (one pixel, one point), holding the image as an XObject.
 * The colour (or grey) samples are a JPEG made by vellum's own JPEG encoder
 * (the public encoder API, into a scratch sink under the same cap, rows
 * streamed as they come) and embedded as DCTDecode; alpha is a FlateDecode
 * SMask (zlib; this file is zlib's only user), kept whole until finish (a
 * plane the planner's output limits bound); the ICC profile is the image's
 * ICCBased colour space. vl_pdf_wrap_jpeg wraps a stored JPEG tile as it is
 * (the passthrough: no decoding, no re-encoding). The cross-reference
 * table holds the exact byte offset of every object.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <zlib.h>

#include "encode/encode_p.h"

#define PDF_MAXOBJ 8

typedef struct {
    vl_sink_t *sink;
    size_t     base;                /* sink length at the header */
    size_t     off[PDF_MAXOBJ + 1]; /* object n at off[n] */
    int        nobj;
} pdf_doc_t;

typedef struct {
    vl_pool_t           *pool;
    vl_sink_t           *sink;
    vl_sink_t            jsink;     /* the JPEG */
    vl_encoder_t        *jpeg;
    uint32_t             w, h, y;
    int                  bands, cbands;
    unsigned char       *line;      /* colour part of one row */
    unsigned char       *alpha;     /* w x h, when bands is 2 or 4 */
    const unsigned char *icc;
    size_t               icc_len;
} pdf_state_t;

static int
pdf_printf(pdf_doc_t *d, vl_err_t *err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
pdf_printf(pdf_doc_t *d, vl_err_t *err, const char *fmt, ...)
{
    char    buf[512];
    va_list ap;
    int     n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    VL_ASSERT(n >= 0 && (size_t) n < sizeof(buf));
    return vl_sink_write(d->sink, buf, (size_t) n, err);
}

/* Start object n (numbered in the order they are written). */
static int
pdf_obj(pdf_doc_t *d, int n, vl_err_t *err)
{
    VL_ASSERT(n == d->nobj + 1 && n <= PDF_MAXOBJ);
    d->nobj = n;
    d->off[n] = d->sink->len - d->base;
    return pdf_printf(d, err, "%d 0 obj\n", n);
}

static int
pdf_stream(pdf_doc_t *d, const void *data, size_t len, vl_err_t *err)
{
    int rc;

    if ((rc = pdf_printf(d, err, "/Length %zu >>\nstream\n", len)) != VL_OK
        || (rc = vl_sink_write(d->sink, data, len, err)) != VL_OK) {
        return rc;
    }
    return pdf_printf(d, err, "\nendstream\nendobj\n");
}

/* The whole file: jpeg (cbands 1 or 3) as the page's image, alpha (zlib,
 * or NULL) as its soft mask, icc (or NULL) as its colour space. */
static int
pdf_write(vl_sink_t *sink, uint32_t w, uint32_t h, int cbands,
          const unsigned char *jpeg, size_t jlen, const unsigned char *icc,
          size_t icc_len, const unsigned char *alpha, size_t alen,
          vl_err_t *err)
{
    pdf_doc_t d;
    char      content[96];
    int       n, rc, im = 4, smask = 0, cs = 0, next = 6;
    size_t    xref;

    memset(&d, 0, sizeof(d));
    d.sink = sink;
    d.base = sink->len;
    if (alpha != NULL) {
        smask = next++;
    }
    if (icc != NULL && cbands == 3) {
        cs = next++;
    }
    n = snprintf(content, sizeof(content), "q %u 0 0 %u 0 0 cm /Im0 Do Q\n",
                 w, h);
    /* a binary comment after the header marks the file as binary */
    if ((rc = pdf_printf(&d, err, "%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n")) != VL_OK
        || (rc = pdf_obj(&d, 1, err)) != VL_OK
        || (rc = pdf_printf(&d, err, "<< /Type /Catalog /Pages 2 0 R >>\n"
                            "endobj\n")) != VL_OK
        || (rc = pdf_obj(&d, 2, err)) != VL_OK
        || (rc = pdf_printf(&d, err, "<< /Type /Pages /Kids [3 0 R] "
                            "/Count 1 >>\nendobj\n")) != VL_OK
        || (rc = pdf_obj(&d, 3, err)) != VL_OK
        || (rc = pdf_printf(&d, err, "<< /Type /Page /Parent 2 0 R "
                            "/MediaBox [0 0 %u %u] /Resources << /XObject "
                            "<< /Im0 %d 0 R >> >> /Contents 5 0 R >>\n"
                            "endobj\n", w, h, im)) != VL_OK
        || (rc = pdf_obj(&d, 4, err)) != VL_OK) {
        return rc;
    }
    if ((rc = pdf_printf(&d, err, "<< /Type /XObject /Subtype /Image "
                         "/Width %u /Height %u /BitsPerComponent 8 "
                         "/Filter /DCTDecode ", w, h)) != VL_OK) {
        return rc;
    }
    if (cs != 0) {
        rc = pdf_printf(&d, err, "/ColorSpace [/ICCBased %d 0 R] ", cs);
    } else {
        rc = pdf_printf(&d, err, "/ColorSpace %s ",
                        cbands == 3 ? "/DeviceRGB" : "/DeviceGray");
    }
    if (rc != VL_OK
        || (smask != 0
            && (rc = pdf_printf(&d, err, "/SMask %d 0 R ", smask)) != VL_OK)
        || (rc = pdf_stream(&d, jpeg, jlen, err)) != VL_OK
        || (rc = pdf_obj(&d, 5, err)) != VL_OK
        || (rc = pdf_printf(&d, err, "<< ")) != VL_OK
        || (rc = pdf_stream(&d, content, (size_t) n, err)) != VL_OK) {
        return rc;
    }
    if (smask != 0
        && ((rc = pdf_obj(&d, smask, err)) != VL_OK
            || (rc = pdf_printf(&d, err, "<< /Type /XObject /Subtype /Image "
                                "/Width %u /Height %u /ColorSpace /DeviceGray "
                                "/BitsPerComponent 8 /Filter /FlateDecode ",
                                w, h)) != VL_OK
            || (rc = pdf_stream(&d, alpha, alen, err)) != VL_OK)) {
        return rc;
    }
    if (cs != 0
        && ((rc = pdf_obj(&d, cs, err)) != VL_OK
            || (rc = pdf_printf(&d, err, "<< /N 3 /Alternate /DeviceRGB "))
                   != VL_OK
            || (rc = pdf_stream(&d, icc, icc_len, err)) != VL_OK)) {
        return rc;
    }
    xref = sink->len - d.base;
    if ((rc = pdf_printf(&d, err, "xref\n0 %d\n0000000000 65535 f \n",
                         d.nobj + 1)) != VL_OK) {
        return rc;
    }
    for (int i = 1; i <= d.nobj; i++) {
        if ((rc = pdf_printf(&d, err, "%010zu 00000 n \n", d.off[i]))
            != VL_OK) {
            return rc;
        }
    }
    return pdf_printf(&d, err, "trailer\n<< /Size %d /Root 1 0 R >>\n"
                      "startxref\n%zu\n%%%%EOF\n", d.nobj + 1, xref);
}

int
vl_pdf_wrap_jpeg(vl_pool_t *pool, const unsigned char *jpeg, size_t len,
                 uint32_t w, uint32_t h, int bands, const unsigned char *icc,
                 size_t icc_len, size_t limit, unsigned char **out,
                 size_t *out_len, vl_err_t *err)
{
    vl_sink_t *sink;
    int        rc;

    if ((sink = vl_pool_alloc(pool, sizeof(*sink))) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = vl_sink_init(sink, pool, limit, err)) != VL_OK
        || (rc = pdf_write(sink, w, h, bands >= 3 ? 3 : 1, jpeg, len,
                           icc_len > 0 ? icc : NULL, icc_len, NULL, 0, err))
               != VL_OK) {
        return rc;
    }
    *out = sink->data;
    *out_len = sink->len;
    return VL_OK;
}

static void *
pdf_start(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
          uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err)
{
    pdf_state_t     *st;
    vl_encode_opts_t jo;

    if (bands < 1 || bands > 4) {
        vl_err_set(err, VL_EINTERNAL, "pdf takes 1 to 4 bands");
        return NULL;
    }
    if ((st = vl_pool_calloc(pool, 1, sizeof(*st))) == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    st->pool = pool;
    st->sink = sink;
    st->w = w;
    st->h = h;
    st->bands = bands;
    st->cbands = bands >= 3 ? 3 : 1;
    if (opts->icc != NULL && opts->icc_len > 0 && st->cbands == 3) {
        st->icc = opts->icc;
        st->icc_len = opts->icc_len;
    }
    if (bands == 2 || bands == 4) {
        size_t n;

        if (vl_size_mul(w, h, &n) != 0) {
            vl_err_set(err, VL_ELIMIT, "image too large for pdf");
            return NULL;
        }
        if ((st->alpha = vl_pool_alloc(pool, n)) == NULL
            || (st->line = vl_pool_alloc(pool, (size_t) w * 3)) == NULL) {
            vl_err_set(err, VL_ENOMEM, "out of memory");
            return NULL;
        }
    }
    memset(&jo, 0, sizeof(jo));
    jo.jpeg_quality = opts->jpeg_quality;
    jo.bits = 8;
    if (vl_sink_init(&st->jsink, pool, sink->limit, err) != VL_OK
        || (st->jpeg = vl_encoder_new(pool, VL_FORMAT_JPG, &jo, w, h,
                                      st->cbands, &st->jsink, err))
               == NULL) {
        return NULL;
    }
    return st;
}

static int
pdf_rows(void *stv, const unsigned char *rows, uint32_t nrows, size_t stride,
         vl_err_t *err)
{
    pdf_state_t *st = stv;
    int          rc;

    if (st->alpha == NULL) {
        st->y += nrows;
        return vl_encoder_write(st->jpeg, rows, nrows, stride, err);
    }
    for (uint32_t i = 0; i < nrows; i++, st->y++) {
        const unsigned char *s = rows + (size_t) i * stride;
        unsigned char       *a = st->alpha + (size_t) st->y * st->w;

        for (uint32_t x = 0; x < st->w; x++, s += st->bands) {
            memcpy(st->line + (size_t) x * st->cbands, s, (size_t) st->cbands);
            a[x] = s[st->cbands];
        }
        if ((rc = vl_encoder_write(st->jpeg, st->line, 1,
                                   (size_t) st->w * st->cbands, err))
            != VL_OK) {
            return rc;
        }
    }
    return VL_OK;
}

static int
pdf_finish(void *stv, vl_err_t *err)
{
    pdf_state_t   *st = stv;
    unsigned char *z = NULL;
    uLongf         zlen = 0;
    int            rc;

    if ((rc = vl_encoder_finish(st->jpeg, err)) != VL_OK) {
        return rc;
    }
    if (st->alpha != NULL) {
        uLong n = (uLong) st->w * st->h;

        zlen = compressBound(n);
        if ((z = vl_pool_alloc(st->pool, zlen)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        if (compress2(z, &zlen, st->alpha, n, 6) != Z_OK) {
            return vl_err_set(err, VL_ECODEC, "pdf encoder: cannot "
                              "compress the alpha mask");
        }
    }
    return pdf_write(st->sink, st->w, st->h, st->cbands, st->jsink.data,
                     st->jsink.len, st->icc, st->icc_len, z, (size_t) zlen,
                     err);
}

const vl_encoder_ops_t vl_pdf_encoder = {
    pdf_start,
    pdf_rows,
    pdf_finish,
};
