/* SPDX-License-Identifier: MIT */
/*
 * pngdec: a whole PNG file read top to bottom with libpng, for flat.c.
 * Every colour type and depth comes out as 1 (grey), 2 (grey + alpha),
 * 3 (RGB) or 4 (RGBA) bands of 8-bit samples, or 16-bit (native-endian)
 * for 16-bit files: palettes expanded, 1/2/4-bit grey scaled to 8 bits,
 * tRNS made an alpha band. The decode in progress is kept: rows at or
 * below the last one read continue it, rows above it start again. An
 * interlaced file is decoded whole, once, into memory the caller allowed
 * at open. libpng's errors longjmp back here and become one VL_ECODEC
 * message. One reader per source handle, used by one thread at a time.
 */
#ifndef VL_PNGDEC_H
#define VL_PNGDEC_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

typedef struct vl_pngdec_s vl_pngdec_t;

typedef struct {
    uint32_t             width, height;
    int                  bands;        /* 1..4, as given */
    int                  bits;         /* 8 or 16, as given */
    int                  interlaced;
    const unsigned char *icc;          /* iCCP profile, or NULL */
    size_t               icc_len;
} vl_pngdec_info_t;

/* Read the header of data[0, len) (which must outlive the reader). An
 * interlaced image larger than max_whole bytes decoded is refused.
 * Errors: VL_ECODEC (not a PNG, damaged header), VL_EFORMAT (interlaced
 * and too large), VL_ENOMEM. */
vl_pngdec_t *vl_pngdec_open(const unsigned char *data, size_t len,
                            size_t max_whole, vl_pngdec_info_t *info,
                            vl_err_t *err);
void vl_pngdec_free(vl_pngdec_t *dec);

/* Rows [y, y + n) of the image, width x bands samples of bits / 8 bytes
 * each, into out (rows `stride` bytes apart).
 * Errors: VL_ECODEC (damaged or truncated), VL_ENOMEM. */
int vl_pngdec_rows(vl_pngdec_t *dec, uint32_t y, uint32_t n,
                   unsigned char *out, size_t stride, vl_err_t *err);

/* Bytes an interlaced image decoded whole holds now (0: none), and
 * dropping them (the next read decodes it again). */
size_t vl_pngdec_held(const vl_pngdec_t *dec);
void vl_pngdec_release(vl_pngdec_t *dec);

#endif /* VL_PNGDEC_H */
