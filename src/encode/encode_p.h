/* SPDX-License-Identifier: MIT */
/*
 * encode_p: the private contract between the format table (encode.c) and
 * the encoder backends. A backend keeps its state in the request pool and
 * releases its library handle through a pool cleanup; it is handed only the
 * bands and depths its table row says it takes.
 */
#ifndef VL_ENCODE_P_H
#define VL_ENCODE_P_H

#include "encode/encode.h"

typedef struct {
    /* Start a w x h image of `bands` samples of 8 bits into sink. NULL on
     * error (err set). */
    void *(*start)(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
                   uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err);
    /* nrows rows, top to bottom, stride bytes apart. */
    int (*rows)(void *st, const unsigned char *rows, uint32_t nrows,
                size_t stride, vl_err_t *err);
    /* The trailer, once every row has been written. */
    int (*finish)(void *st, vl_err_t *err);
} vl_encoder_ops_t;

/* One backend per file; each row of the table in encode.c names one. */
extern const vl_encoder_ops_t vl_jpeg_encoder; /* jpeg.c */
extern const vl_encoder_ops_t vl_png_encoder;  /* png.c */

#endif /* VL_ENCODE_P_H */
