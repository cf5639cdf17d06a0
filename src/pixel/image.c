/* SPDX-License-Identifier: MIT */
/*
 * image: pixel buffers for the kernels. Each buffer is malloc'ed, counted
 * against one process-wide budget (an atomic counter shared by all threads)
 * and released by a cleanup on the request pool, so a request never frees
 * pixels by hand and an over-budget request fails with VL_EBUSY.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"
#include "pixel/image.h"
#include "pixel/pixel.h"

static atomic_size_t image_budget = (size_t) 1 << 30;
static atomic_size_t image_in_use;

typedef struct {
    void   *data;
    size_t  size;
} image_block_t;

static void
image_release(void *data)
{
    image_block_t *blk = data;

    free(blk->data);
    atomic_fetch_sub(&image_in_use, blk->size);
}

int
vl_image_new(vl_pool_t *pool, uint32_t w, uint32_t h, int bands,
             vl_image_t *img, vl_err_t *err)
{
    return vl_image_new_depth(pool, w, h, bands, 1, img, err);
}

int
vl_image_new_depth(vl_pool_t *pool, uint32_t w, uint32_t h, int bands,
                   int depth, vl_image_t *img, vl_err_t *err)
{
    size_t          size, budget, used;
    image_block_t  *blk;
    unsigned char  *data;

    if (w == 0 || h == 0 || bands < 1 || bands > 4
        || (depth != 1 && depth != 2)
        || vl_size_mul4(w, h, (size_t) bands, (size_t) depth, &size) != 0) {
        return vl_err_set(err, VL_ELIMIT, "image of %ux%u pixels too large",
                          (unsigned) w, (unsigned) h);
    }
    budget = atomic_load(&image_budget);
    used = atomic_fetch_add(&image_in_use, size);
    if (budget != 0 && (used + size < used || used + size > budget)) {
        atomic_fetch_sub(&image_in_use, size);
        return vl_err_set(err, VL_EBUSY, "pixel memory budget exhausted");
    }
    blk = vl_pool_alloc(pool, sizeof(*blk));
    data = blk != NULL ? malloc(size) : NULL;
    if (data == NULL) {
        atomic_fetch_sub(&image_in_use, size);
        return vl_err_set(err, VL_ENOMEM, "out of memory for pixels");
    }
    blk->data = data;
    blk->size = size;
    if (vl_pool_cleanup_add(pool, image_release, blk) != 0) {
        image_release(blk);
        return vl_err_set(err, VL_ENOMEM, "out of memory for pixels");
    }
    img->w = w;
    img->h = h;
    img->bands = bands;
    img->depth = depth;
    img->stride = (size_t) w * (size_t) bands * (size_t) depth;
    img->data = data;
    return VL_OK;
}

void
vl_pix_budget_set(size_t bytes)
{
    atomic_store(&image_budget, bytes);
}

size_t
vl_pix_in_use(void)
{
    return atomic_load(&image_in_use);
}

void *
vl_pix_alloc(vl_pool_t *pool, size_t size, vl_err_t *err)
{
    vl_image_t img;

    /* a one-band row of `size` bytes, counted and released like images */
    if (size == 0 || size > UINT32_MAX) {
        vl_err_set(err, VL_ELIMIT, "scratch buffer too large");
        return NULL;
    }
    if (vl_image_new(pool, (uint32_t) size, 1, 1, &img, err) != VL_OK) {
        return NULL;
    }
    return img.data;
}

void
vl_image_copy_block(const unsigned char *block, int bands,
                    const vl_rect_t *b, const vl_rect_t *at, vl_image_t *out)
{
    vl_rect_t i;
    size_t    len, px = (size_t) bands * (size_t) (out->depth == 2 ? 2 : 1);

    if (!vl_rect_intersect(b, at, &i)) {
        return;
    }
    len = (size_t) i.w * px;
    for (uint32_t yy = i.y; yy < i.y + i.h; yy++) {
        memcpy(VL_IMAGE_ROW(out, yy - at->y) + (size_t) (i.x - at->x) * px,
               block + ((size_t) (yy - b->y) * b->w + (i.x - b->x)) * px,
               len);
    }
}
