/* SPDX-License-Identifier: MIT */
/*
 * encode: the table of output formats and the encoders behind it, writing
 * rows into a capped memory sink. The status of a request is decided before
 * its first byte goes out: the whole body is encoded into the sink, then
 * sent with an exact Content-Length, and the same bytes fill the cache.
 */
#ifndef VL_ENCODE_H
#define VL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/str.h"

/* The IIIF output formats, by their extension (the format table in
 * encode.c says which are built in). */
typedef enum {
    VL_FORMAT_JPG,
    VL_FORMAT_PNG,
    VL_FORMAT_WEBP,
    VL_FORMAT_TIF,
    VL_FORMAT_GIF,
    VL_FORMAT_PDF,
    VL_FORMAT_JP2,
    VL_FORMAT_COUNT
} vl_format_t;

/* A growable buffer with a hard cap. The memory is malloc'ed and released
 * by a pool cleanup (through a pool cell, so the vl_sink_t itself may live
 * on the stack). */
typedef struct {
    unsigned char *data;
    size_t         len;
    size_t         cap;
    size_t         limit;       /* writing past it fails with VL_ELIMIT */
    void         **owner;       /* pool cell the cleanup frees */
} vl_sink_t;

/* Init a sink whose memory is freed when pool dies. */
int vl_sink_init(vl_sink_t *sink, vl_pool_t *pool, size_t limit, vl_err_t *err);
int vl_sink_write(vl_sink_t *sink, const void *data, size_t len, vl_err_t *err);

typedef struct {
    int                  jpeg_quality;   /* 1..100 */
    int                  png_level;      /* zlib 0..9 */
    int                  webp_quality;   /* 0..100, -1 lossless */
    int                  tiff_compression; /* VL_TIFF_* (iipsrv's codes) */
    int                  tiff_quality;   /* 1..100, TIFF JPEG and WebP */
    int                  jp2_rate;       /* 0 lossless, N: N:1 */
    const unsigned char *icc;            /* embed when not NULL */
    size_t               icc_len;
    int                  bits;           /* bits per sample of the rows:
                                          * 8 (0 means 8) or 16 (native-
                                          * endian uint16 samples), as the
                                          * format row's depths allow */
} vl_encode_opts_t;

/* TIFF_COMPRESSION, numbered as iipsrv numbers it. */
enum {
    VL_TIFF_NONE = 0,
    VL_TIFF_LZW = 1,
    VL_TIFF_DEFLATE = 2,
    VL_TIFF_JPEG = 3,
    VL_TIFF_WEBP = 4,
    VL_TIFF_ZSTD = 5
};

typedef struct vl_encoder_s vl_encoder_t;

/* Start encoding a w x h image of `bands` bands of opts->bits bits (8, or
 * 16: rows of native-endian uint16) in `format`, which must be one the
 * table has and take that many bands at that depth (JPEG 1 or 3 at 8
 * bits, the others 1-4; 16 bits: PNG and TIFF). Errors: VL_EINTERNAL
 * otherwise (a caller's bug), VL_ELIMIT (a size the format cannot hold:
 * WebP above 16383 pixels a side, JPEG above 65500), the backend's. */
vl_encoder_t *vl_encoder_new(vl_pool_t *pool, vl_format_t format,
                             const vl_encode_opts_t *opts, uint32_t w,
                             uint32_t h, int bands, vl_sink_t *sink,
                             vl_err_t *err);

/* Feed nrows rows, top to bottom; stride = bytes between rows. */
int vl_encoder_write(vl_encoder_t *enc, const unsigned char *rows,
                     uint32_t nrows, size_t stride, vl_err_t *err);

/* Flush the trailer. All rows must have been written. */
int vl_encoder_finish(vl_encoder_t *enc, vl_err_t *err);

/* The format table (encode.c): only the formats vellum is built to
 * write have a row. */

/* The format whose IIIF parameter is ext ("jpg"): 0 and *f, or -1 when
 * vellum does not write it (unknown, or compiled out). */
int vl_format_find(vl_str_t ext, vl_format_t *f);

/* The formats vellum writes, in table order (jpg first); returns how many
 * were written to out (at most max). */
size_t vl_format_list(vl_format_t *out, size_t max);

/* 1 if vellum writes f. */
int vl_format_supported(vl_format_t f);

/* "jpg", and "image/jpeg"; "" and "application/octet-stream" for a
 * format without a row. */
const char *vl_format_ext(vl_format_t f);
const char *vl_format_mime(vl_format_t f);

/* 1 if f keeps alpha (PNG, WebP, TIFF, GIF, JP2, PDF); else the colour
 * stage flattens it. */
int vl_format_keeps_alpha(vl_format_t f);

/* 1 if f's encoder takes `bands` samples of `bits` bits. */
int vl_format_takes(vl_format_t f, int bands, int bits);

/* A PDF body holding one page with the JPEG stream `jpeg` (w x h, 1 or 3
 * components) as its image, embedded as it is (DCTDecode, no re-encoding):
 * the stored-tile passthrough of a .pdf request. icc (3 components only)
 * becomes the image's ICCBased colour space. At most `limit` bytes (0
 * unlimited). Ownership: *out lives in pool.
 * Errors: VL_ELIMIT (over limit), VL_ENOMEM. */
int vl_pdf_wrap_jpeg(vl_pool_t *pool, const unsigned char *jpeg, size_t len,
                     uint32_t w, uint32_t h, int bands,
                     const unsigned char *icc, size_t icc_len, size_t limit,
                     unsigned char **out, size_t *out_len, vl_err_t *err);

#endif /* VL_ENCODE_H */
