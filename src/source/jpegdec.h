/* SPDX-License-Identifier: MIT */
/*
 * jpegdec: decode one JPEG tile or strip of a TIFF (abbreviated stream +
 * the level's JPEGTables) with libjpeg(-turbo), optionally DCT-scaled by
 * 1/2, 1/4 or 1/8, straight into a caller's buffer. Exact IDCT (ISLOW) and
 * fancy upsampling, as libtiff's JPEG codec uses. A decoder is owned by one
 * source handle and used by one thread at a time.
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

#endif /* VL_JPEGDEC_H */
