/* SPDX-License-Identifier: MIT */
/*
 * render: the pixel pipeline of one image request. From an open source and a
 * plan: read only the tiles the region touches at the planned level, resample
 * to the output size, mirror, rotate, apply the quality, encode into the
 * sink. Unrotated output streams in strips of rows (memory
 * O(width x strip)); rotated output is built whole (bounded by the limits).
 */
#ifndef VL_RENDER_H
#define VL_RENDER_H

#include "core/err.h"
#include "core/pool.h"
#include "encode/encode.h"
#include "proto/plan.h"
#include "source/source.h"

typedef struct {
    int jpeg_quality;       /* JPEG_QUALITY */
    int png_level;          /* PNG_QUALITY */
    int interpolation;      /* 0 nearest, 1 bilinear, 2 area + Lanczos3 */
    long max_icc;           /* MAX_ICC: -1 any, 0 none, N bytes */
} vl_render_opts_t;

/* Render `plan` from `src` into `sink`.
 * Errors: VL_ECODEC/VL_EIO from the source, VL_EBUSY over the pixel budget,
 * VL_ELIMIT when the body would exceed the sink's cap, VL_EUNSUPP for an
 * output format that is not built in. */
int vl_render(vl_pool_t *pool, vl_source_t *src, const vl_plan_t *plan,
              const vl_render_opts_t *opts, vl_sink_t *sink, vl_err_t *err);

#endif /* VL_RENDER_H */
