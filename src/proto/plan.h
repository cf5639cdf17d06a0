/* SPDX-License-Identifier: MIT */
/*
 * plan: pure geometry. Request + image geometry + limits -> what to read and
 * what to produce: the full-resolution region, the pyramid level and the
 * region at that level, the output size, rotation, quality, format, the
 * canonical request, and whether the request is exactly one stored tile.
 * Every 400 of the Image API about sizes and limits is decided here, before
 * any pixel is touched. No I/O, no globals: thread-safe.
 */
#ifndef VL_PLAN_H
#define VL_PLAN_H

#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/types.h"
#include "proto/iiif.h"

typedef struct {
    /* region in full-resolution pixels, clipped to the image */
    uint32_t     rx, ry, rw, rh;
    /* chosen pyramid level; the region at that level as the exact
     * fractional rectangle and as the integer rectangle of pixels to read
     * (covers the fractional one) */
    uint32_t     level;
    double       sx0, sy0, sx1, sy1;
    uint32_t     lx, ly, lw, lh;
    /* an unscaled request on a floor-rounded level that reaches past what
     * the level stores by one column (pad_w) and/or one row (pad_h), as
     * IIIF's ceil-rounded level sizes do at the right/bottom edge: the
     * lw x lh stored pixels go out 1:1 and the last column / row is
     * repeated, so out_w = lw + pad_w and out_h = lh + pad_h */
    uint32_t     pad_w, pad_h;
    /* output size before rotation (after region + size) */
    uint32_t     out_w, out_h;
    int          mirror;
    double       rotation;       /* degrees in [0, 360) */
    /* final output size (bounding box after rotation) */
    uint32_t     final_w, final_h;
    vl_quality_t quality;        /* NATIVE folded into DEFAULT */
    vl_format_t  format;
    /* canonical "{region}/{size}/{rotation}/{quality}.{format}" for the
     * request's API version (pool string, no identifier) */
    char        *canonical;
    /* 1 if the output is exactly stored tile (tile_col, tile_row) of
     * `level`, unscaled, unrotated, unmirrored */
    int          is_stored_tile;
    uint32_t     tile_col, tile_row;
} vl_plan_t;

/* Build the plan for an VL_IIIF_IMAGE request.
 * Errors: VL_EBADREQ (zero/outside region, size larger than region without
 * '^', result < 1 px, v3 "full"), VL_ELIMIT (over maxWidth/maxHeight/
 * maxArea; never clamped), VL_EUNSUPP ('^' when upscaling is off: 501). */
int vl_plan_build(vl_pool_t *pool, const vl_iiif_req_t *req,
                  const vl_geom_t *geom, const vl_limits_t *limits,
                  vl_plan_t *plan, vl_err_t *err);

/* The power-of-two scale factors a viewer may use (1, 2, 4, ... as long as
 * a level or a reduction of one serves it), for info.json "tiles".
 * Returns how many were written to out (at most max). */
size_t vl_plan_scale_factors(const vl_geom_t *geom, uint32_t *out, size_t max);

/* The largest size `max` gives for a w x h region under the limits
 * (maxArea by sqrt ratio, then maxWidth/maxHeight; aspect kept). */
void vl_plan_max_size(uint32_t w, uint32_t h, const vl_limits_t *limits,
                      uint32_t *out_w, uint32_t *out_h);

#endif /* VL_PLAN_H */
