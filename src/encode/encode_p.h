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
    /* Start a w x h image of `bands` samples of opts->bits bits into sink.
     * NULL on error (err set). */
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
#ifdef HAVE_WEBP
extern const vl_encoder_ops_t vl_webp_encoder; /* webp.c */
#endif
extern const vl_encoder_ops_t vl_tif_encoder;  /* tif.c */
#ifdef HAVE_GIF
extern const vl_encoder_ops_t vl_gif_encoder;  /* gif.c */
#endif
extern const vl_encoder_ops_t vl_jp2_encoder;  /* jp2enc.c */
extern const vl_encoder_ops_t vl_pdf_encoder;  /* pdf.c */

/* Write len bytes at offset off of the sink, growing it (with zeros in
 * any gap) as vl_sink_write does, under the same cap: the seekable
 * writers (libtiff, OpenJPEG) write through it. */
int vl_sink_write_at(vl_sink_t *sink, size_t off, const void *data,
                     size_t len, vl_err_t *err);

/* The whole image, for the encoders that need it before writing (WebP,
 * GIF, JP2, PDF): rows appended top to bottom into a buffer from the pool
 * (the planner's output limits bound its size). */
typedef struct {
    unsigned char *px;
    size_t         stride;  /* w * bands * bytes */
    uint32_t       w, h, y;
    int            bands;
} vl_encode_buf_t;

int vl_encode_buf_init(vl_encode_buf_t *b, vl_pool_t *pool, uint32_t w,
                       uint32_t h, int bands, int bytes, vl_err_t *err);
void vl_encode_buf_rows(vl_encode_buf_t *b, const unsigned char *rows,
                        uint32_t nrows, size_t stride);

#endif /* VL_ENCODE_P_H */
