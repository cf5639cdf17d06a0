/* SPDX-License-Identifier: MIT */
/*
 * image: the pixel buffer every stage passes along (interleaved samples,
 * 1-4 bands, 8-bit, or 16-bit where a 16-bit source meets a 16-bit
 * output), and the process-wide pixel-memory budget. Buffers from
 * vl_image_new are counted against the budget; over it, allocation fails with
 * VL_EBUSY (503) rather than running the worker out of memory. The budget is
 * thread-safe (atomic counter).
 */
#ifndef VL_IMAGE_H
#define VL_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/types.h"

typedef struct {
    uint32_t       w, h;
    int            bands;       /* 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA */
    int            depth;       /* bytes per sample: 1 (8-bit), or 2
                                 * (16-bit: native-endian uint16, full
                                 * range 0..65535); 0 is read as 1 */
    size_t         stride;      /* bytes per row (>= w * bands * depth) */
    unsigned char *data;
} vl_image_t;

/* Row y of img. */
#define VL_IMAGE_ROW(img, y) ((img)->data + (size_t) (y) * (img)->stride)

/* Allocate w x h x bands from the budget; the memory is released when the
 * pool dies (a cleanup is registered). Errors: VL_ELIMIT on size overflow,
 * VL_EBUSY over budget, VL_ENOMEM. */
int vl_image_new(vl_pool_t *pool, uint32_t w, uint32_t h, int bands,
                 vl_image_t *img, vl_err_t *err);

/* The same with `depth` bytes per sample (1 or 2). */
int vl_image_new_depth(vl_pool_t *pool, uint32_t w, uint32_t h, int bands,
                       int depth, vl_image_t *img, vl_err_t *err);

/* Copy the part of a packed block (the pixels of rectangle b, `bands`
 * bands, rows b->w * bands bytes apart) that lies inside rectangle at into
 * out, which holds at (out's pixel (0, 0) is at's top-left corner). Sources
 * use it to place decoded tiles and strips into a request's buffer. */
void vl_image_copy_block(const unsigned char *block, int bands,
                         const vl_rect_t *b, const vl_rect_t *at,
                         vl_image_t *out);

/* Set the budget in bytes (0 = unlimited). Default 1 GiB. */
void vl_pix_budget_set(size_t bytes);
/* Bytes currently allocated through vl_image_new. */
size_t vl_pix_in_use(void);

#endif /* VL_IMAGE_H */
