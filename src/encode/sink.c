/* SPDX-License-Identifier: MIT */
/*
 * sink: the capped memory buffer every encoder writes into, and the
 * dispatch from vl_encoder_* to the format backends (jpeg.c, png.c). The
 * buffer is malloc'ed, grows by doubling up to its limit and is freed by a
 * cleanup on the request pool. One request, one thread.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "encode/encode.h"

struct vl_encoder_s {
    vl_format_t format;
    void       *impl;
    uint32_t    rows_left;
    int         failed;
};

/* The cleanup holds a pool cell with the current buffer pointer, not the
 * sink itself, so a sink may live anywhere (stack, pool, struct) and still
 * be freed exactly once when the pool dies. */
static void
sink_release(void *data)
{
    unsigned char **cell = data;

    free(*cell);
    *cell = NULL;
}

int
vl_sink_init(vl_sink_t *sink, vl_pool_t *pool, size_t limit, vl_err_t *err)
{
    unsigned char **cell;

    memset(sink, 0, sizeof(*sink));
    sink->limit = limit;
    cell = vl_pool_alloc(pool, sizeof(*cell));
    if (cell == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    *cell = NULL;
    if (vl_pool_cleanup_add(pool, sink_release, cell) != 0) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    sink->owner = (void **) cell;
    return VL_OK;
}

int
vl_sink_write(vl_sink_t *sink, const void *data, size_t len, vl_err_t *err)
{
    size_t need, cap;

    if (len == 0) {
        return VL_OK;
    }
    need = sink->len + len;
    if (need < sink->len || (sink->limit != 0 && need > sink->limit)) {
        return vl_err_set(err, VL_ELIMIT, "response too large");
    }
    if (need > sink->cap) {
        unsigned char *p;

        cap = sink->cap != 0 ? sink->cap : 16384;
        while (cap < need) {
            cap = cap * 2 > cap ? cap * 2 : need;
        }
        if (sink->limit != 0 && cap > sink->limit) {
            cap = sink->limit;
        }
        if ((p = realloc(sink->data, cap)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory for response");
        }
        sink->data = p;
        sink->cap = cap;
        if (sink->owner != NULL) {
            *sink->owner = p;
        }
    }
    memcpy(sink->data + sink->len, data, len);
    sink->len = need;
    return VL_OK;
}

vl_encoder_t *
vl_encoder_new(vl_pool_t *pool, vl_format_t format,
               const vl_encode_opts_t *opts, uint32_t w, uint32_t h,
               int bands, vl_sink_t *sink, vl_err_t *err)
{
    vl_encoder_t *enc;

    if (!vl_format_supported(format)) {
        vl_err_set(err, VL_EUNSUPP, "output format not supported");
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
    enc->format = format;
    enc->rows_left = h;
    enc->impl = format == VL_FORMAT_JPG
                ? vl_jpeg_start(pool, opts, w, h, bands, sink, err)
                : vl_png_start(pool, opts, w, h, bands, sink, err);
    return enc->impl != NULL ? enc : NULL;
}

int
vl_encoder_write(vl_encoder_t *enc, const unsigned char *rows,
                 uint32_t nrows, size_t stride, vl_err_t *err)
{
    int rc;

    if (enc->failed) {
        return vl_err_set(err, VL_ECODEC, "encoder already failed");
    }
    VL_ASSERT(nrows <= enc->rows_left);
    rc = enc->format == VL_FORMAT_JPG
         ? vl_jpeg_rows(enc->impl, rows, nrows, stride, err)
         : vl_png_rows(enc->impl, rows, nrows, stride, err);
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
    return enc->format == VL_FORMAT_JPG ? vl_jpeg_finish(enc->impl, err)
                                        : vl_png_finish(enc->impl, err);
}

int
vl_format_supported(vl_format_t format)
{
    return format == VL_FORMAT_JPG || format == VL_FORMAT_PNG;
}
