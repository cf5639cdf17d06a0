/* SPDX-License-Identifier: MIT */
/*
 * png: the PNG encoder (the only libpng user in src/). Writes 8-bit or
 * 16-bit (opts->bits, native-endian rows; PNG stores big-endian) G, GA,
 * RGB or RGBA rows into the request's sink via png_set_write_fn; libpng
 * errors longjmp back into the calling function and are recorded in the
 * request's vl_err_t. The write struct is destroyed by a pool cleanup.
 */
#include "config.h"

#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <png.h>

#include "encode/encode_p.h"

typedef struct {
    png_structp  png;
    png_infop    info;
    vl_sink_t   *sink;
    vl_err_t    *err;       /* of the current call */
} png_state_t;

static void
png_on_error(png_structp png, png_const_charp msg)
{
    png_state_t *st = png_get_error_ptr(png);

    vl_err_set(st->err, VL_ECODEC, "png encoder: %s", msg);
    png_longjmp(png, 1);
}

static void
png_on_warning(png_structp png, png_const_charp msg)
{
    (void) png;
    (void) msg;
}

static void
png_on_write(png_structp png, png_bytep data, size_t len)
{
    png_state_t *st = png_get_io_ptr(png);

    if (vl_sink_write(st->sink, data, len, st->err) != VL_OK) {
        png_error(png, "sink refused the data");
    }
}

static void
png_on_flush(png_structp png)
{
    (void) png;
}

static void png_release(void *data);

/* After a longjmp: the first error recorded (e.g. the sink's cap) wins. */
static int
png_failed(png_state_t *st, vl_err_t *err)
{
    png_release(st);
    vl_err_set(err, VL_ECODEC, "png encoder failed");
    return err != NULL ? (int) err->code : VL_ECODEC;
}

static void
png_release(void *data)
{
    png_state_t *st = data;

    if (st->png != NULL) {
        png_destroy_write_struct(&st->png, &st->info);
        st->png = NULL;
        st->info = NULL;
    }
}

static void *
png_start(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
             uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err)
{
    static const int types[] = { PNG_COLOR_TYPE_GRAY,
                                 PNG_COLOR_TYPE_GRAY_ALPHA,
                                 PNG_COLOR_TYPE_RGB,
                                 PNG_COLOR_TYPE_RGB_ALPHA };
    png_state_t *volatile st;
    int level;

    if (bands < 1 || bands > 4) {
        vl_err_set(err, VL_EINTERNAL, "png takes 1 to 4 bands");
        return NULL;
    }
    if ((st = vl_pool_calloc(pool, 1, sizeof(*st))) == NULL
        || vl_pool_cleanup_add(pool, png_release, st) != 0) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    st->sink = sink;
    st->err = err;
    st->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, st,
                                      png_on_error, png_on_warning);
    if (st->png == NULL || (st->info = png_create_info_struct(st->png))
                           == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory for png");
        return NULL;
    }
    if (setjmp(png_jmpbuf(st->png))) {
        png_release(st);
        vl_err_set(err, VL_ECODEC, "png encoder failed");
        return NULL;
    }
    png_set_write_fn(st->png, st, png_on_write, png_on_flush);
    png_set_IHDR(st->png, st->info, w, h, opts->bits == 16 ? 16 : 8,
                 types[bands - 1],
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    level = opts->png_level < 0 ? 0 : opts->png_level > 9 ? 9
            : opts->png_level;
    png_set_compression_level(st->png, level);
    /* sub only: nearly as small as adaptive filtering, much faster */
    png_set_filter(st->png, PNG_FILTER_TYPE_BASE,
                   level == 0 ? PNG_FILTER_NONE : PNG_FILTER_SUB);
    if (opts->icc != NULL && opts->icc_len > 0
        && opts->icc_len <= 0x7fffffffu) {
        png_set_iCCP(st->png, st->info, "icc", PNG_COMPRESSION_TYPE_BASE,
                     opts->icc, (png_uint_32) opts->icc_len);
    }
    png_write_info(st->png, st->info);
    if (opts->bits == 16) {
        /* our rows are native-endian uint16, PNG's are big-endian */
        uint16_t one = 1;
        unsigned char first;

        memcpy(&first, &one, 1);
        if (first == 1) {
            png_set_swap(st->png);
        }
    }
    return st;
}

static int
png_rows(void *stv, const unsigned char *rows, uint32_t nrows,
            size_t stride, vl_err_t *err)
{
    png_state_t *st = stv;

    if (st->png == NULL) {
        return vl_err_set(err, VL_ECODEC, "png encoder failed");
    }
    st->err = err;
    if (setjmp(png_jmpbuf(st->png))) {
        return png_failed(st, err);
    }
    for (uint32_t i = 0; i < nrows; i++) {
        png_write_row(st->png, (png_const_bytep) (rows + (size_t) i * stride));
    }
    return VL_OK;
}

static int
png_finish(void *stv, vl_err_t *err)
{
    png_state_t *st = stv;

    if (st->png == NULL) {
        return vl_err_set(err, VL_ECODEC, "png encoder failed");
    }
    st->err = err;
    if (setjmp(png_jmpbuf(st->png))) {
        return png_failed(st, err);
    }
    png_write_end(st->png, NULL);
    png_release(st);
    return VL_OK;
}

const vl_encoder_ops_t vl_png_encoder = {
    png_start,
    png_rows,
    png_finish,
};
