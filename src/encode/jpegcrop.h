/* SPDX-License-Identifier: MIT */
/*
 * jpegcrop: the stored-tile fast path's byte work on complete JPEG streams,
 * without decoding: a marker scan (size, colour interpretation, ICC
 * presence), a lossless DCT-domain crop of padded edge tiles (turbojpeg's
 * tjTransform; the only turbojpeg user) and ICC APP2 insertion. Pure
 * functions over buffers; results live in the caller's pool. Thread-safe.
 */
#ifndef VL_JPEGCROP_H
#define VL_JPEGCROP_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"

/* What the markers before the first scan say about a JPEG stream. */
typedef struct {
    uint32_t width, height;     /* from the SOF */
    int      components;       /* 1 or 3 (others: VL_EUNSUPP on scan) */
    int      ycc;              /* 3 components every decoder reads as YCbCr */
    int      rgb;              /* 3 components marked RGB by Adobe APP14 */
    int      rgb_ids;          /* 3 components with ids 'R','G','B' and no
                                  JFIF/Adobe marker (libtiff's RGB tiles):
                                  RGB to libjpeg, ambiguous to others */
    int      has_icc;          /* an APP2 ICC_PROFILE segment is present */
} vl_jpeg_head_t;

/* Scan the markers up to the first SOS.
 * Errors: VL_ECODEC (not a well-formed JPEG stream), VL_EUNSUPP (arithmetic
 * coding, lossless or hierarchical, or not 1 or 3 components). */
int vl_jpegcrop_scan(const unsigned char *data, size_t len,
                     vl_jpeg_head_t *head, vl_err_t *err);

/* Make the body of a stored-tile response: a stored JPEG stream (tables
 * merged) cropped losslessly to its top-left w x h when the stream is
 * larger (padded edge tiles), with the ICC profile icc inserted as APP2
 * segments after SOI (and JFIF APP0) when icc != NULL and the stream has
 * none. `bands` is the image's band count: 1 needs a grey stream, 3 a
 * YCbCr or RGB one; an RGB stream known only by its component ids gets an
 * Adobe APP14 marker (transform 0) so that every decoder reads it as RGB.
 * `headroom` bytes before `data` may be written (the Adobe marker then
 * goes in front of the stream there, without copying it; 0: a copy).
 * Ownership: *out lives in pool (it may be `data` itself, or start in
 * its headroom).
 * Errors: VL_EUNSUPP (the stream cannot be passed through: colour
 * interpretation, size, coding; the caller renders instead), VL_ECODEC,
 * VL_ENOMEM. */
int vl_jpegcrop_passthrough(vl_pool_t *pool, const unsigned char *data,
                            size_t len, size_t headroom, uint32_t w,
                            uint32_t h, int bands,
                            const unsigned char *icc, size_t icc_len,
                            unsigned char **out, size_t *out_len,
                            vl_err_t *err);

/* Insert icc as APP2 ICC_PROFILE segments (chunks of at most 65519 bytes,
 * numbered from 1) after SOI and any JFIF APP0.
 * Errors: VL_ECODEC (no SOI), VL_EUNSUPP (more than 255 chunks), VL_ENOMEM. */
int vl_jpegcrop_add_icc(vl_pool_t *pool, const unsigned char *data,
                        size_t len, const unsigned char *icc, size_t icc_len,
                        unsigned char **out, size_t *out_len, vl_err_t *err);

#endif /* VL_JPEGCROP_H */
