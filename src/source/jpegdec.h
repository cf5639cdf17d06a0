/* SPDX-License-Identifier: MIT */
/*
 * jpegdec: decode one JPEG tile or strip of a TIFF (abbreviated stream +
 * the level's JPEGTables) with libjpeg(-turbo), optionally DCT-scaled by
 * 1/2, 1/4 or 1/8, straight into a caller's buffer. Exact IDCT (ISLOW) and
 * fancy upsampling, as libtiff's JPEG codec uses. A decoder is owned by one
 * source handle and used by one thread at a time. Also the row reader of
 * whole JPEG files (vl_jpegseq_*, for flat.c), so that libjpeg's
 * decompressor stays in this one file of the source layer.
 */
#ifndef VL_JPEGDEC_H
#define VL_JPEGDEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/types.h"

typedef struct vl_jpegdec_s vl_jpegdec_t;

/* Returns NULL when out of memory. */
vl_jpegdec_t *vl_jpegdec_new(void);
void vl_jpegdec_free(vl_jpegdec_t *dec);

/* Decode data (a JPEG stream, possibly without tables) after loading the
 * table-only stream `tables` (NULL/0: none) at 1/scale (1, 2, 4, 8), and
 * write its top-left out_w x out_h pixels of `bands` samples into out (row
 * stride `stride`). ycbcr: the stream is YCbCr, convert to RGB; else the
 * components are returned as stored.
 * Errors: VL_ECODEC (corrupt stream, wrong component count, decoded image
 * smaller than out_w x out_h), VL_ENOMEM. */
int vl_jpegdec_decode(vl_jpegdec_t *dec, const unsigned char *tables,
                      size_t tables_len, const unsigned char *data,
                      size_t len, unsigned scale, int ycbcr, int bands,
                      uint32_t out_w, uint32_t out_h, unsigned char *out,
                      size_t stride, vl_err_t *err);

/* As vl_jpegdec_decode, but write only the window win (not empty) of the
 * decoded image, its top-left at out. Decodes only the iMCU columns the
 * window needs and stops after its last row (libjpeg-turbo's
 * jpeg_crop_scanline and jpeg_skip_scanlines); the pixels are those of a
 * full decode. Errors as vl_jpegdec_decode. */
int vl_jpegdec_window(vl_jpegdec_t *dec, const unsigned char *tables,
                      size_t tables_len, const unsigned char *data,
                      size_t len, unsigned scale, int ycbcr, int bands,
                      const vl_rect_t *win, unsigned char *out,
                      size_t stride, vl_err_t *err);

/* ------------------------------------------------- flat JPEG, by rows */

/*
 * A whole JPEG file (flat.c) read top to bottom: rows of the image at
 * 1/scale, full width, in the colours a viewer expects (grey, or RGB from
 * YCbCr, RGB, CMYK or YCCK; CMYK converted naively, as Pillow does). The
 * decode in progress is kept: rows at or below the last one read continue
 * it (rows above are skipped, with jpeg_skip_scanlines), rows above it
 * start again from the file's start, the only way into a JPEG without
 * restart markers. A truncated file is an error, not grey rows.
 */
typedef struct vl_jpegseq_s vl_jpegseq_t;

typedef struct {
    uint32_t width, height;
    int      components;        /* in the file: 1, 3, 4 */
    int      bands;             /* given: 1 grey, 3 RGB */
    int      progressive;
    size_t   coef_bytes;        /* a progressive decode's coefficients */
    int      orientation;       /* EXIF Orientation 1..8, 0 none */
    const unsigned char *icc;   /* ICC_PROFILE chunks joined, or NULL */
    size_t   icc_len;
} vl_jpegseq_info_t;

/* Read the header of data[0, len) (which must outlive the reader).
 * Errors: VL_ECODEC (not a JPEG, damaged header), VL_EFORMAT (a colour
 * space vellum does not give), VL_ENOMEM. */
vl_jpegseq_t *vl_jpegseq_open(const unsigned char *data, size_t len,
                              vl_jpegseq_info_t *info, vl_err_t *err);
void vl_jpegseq_free(vl_jpegseq_t *seq);

/* Rows [y, y + n) of the image decoded at 1/scale (1, 2, 4, 8; the image
 * is then ceil(width / scale) wide), bands samples a pixel, into out (rows
 * `stride` bytes apart). libjpeg may use at most max_memory bytes (0: no
 * limit). Errors: VL_ECODEC (damaged or truncated), VL_ENOMEM. */
int vl_jpegseq_rows(vl_jpegseq_t *seq, unsigned scale, uint32_t y,
                    uint32_t n, size_t max_memory, unsigned char *out,
                    size_t stride, vl_err_t *err);

#endif /* VL_JPEGDEC_H */
