/* SPDX-License-Identifier: MIT */
/*
 * render: the pipeline of one image request, above source/, pixel/ and
 * encode/. From an open source and a plan: either the stored bytes of the
 * one tile the plan is (the passthrough), or read only the tiles the region
 * touches at the planned level, resample to the output size, mirror,
 * rotate, apply the quality, encode into the sink. Unrotated output streams
 * in strips of rows (memory O(width x strip)); rotated output is built
 * whole (bounded by the limits).
 */
#ifndef VL_RENDER_H
#define VL_RENDER_H

#include "core/conf.h"
#include "core/err.h"
#include "core/pool.h"
#include "encode/encode.h"
#include "proto/plan.h"
#include "source/source.h"

/* Render `plan` from `src` into `sink` with the output options of the
 * configuration (conf->output).
 * Errors: VL_ECODEC/VL_EIO from the source, VL_EBUSY over the pixel budget,
 * VL_ELIMIT when the body would exceed the sink's cap. */
int vl_render(vl_pool_t *pool, vl_source_t *src, const vl_plan_t *plan,
              const vl_output_t *opts, vl_sink_t *sink, vl_err_t *err);

/* The sample depth vl_render uses for plan (1: 8-bit, 2: 16-bit): 2 when
 * the source reads 16 bits (info->reads16, info->bits 16), OUTPUT_BITS is
 * 16 (opts->output_bits; 0 as from a zeroed vl_output_t means 8), the
 * quality is not bitonal and the format takes `out_bands` 16-bit bands
 * (png; tif where its row says so); jpg, webp, gif, pdf are 8-bit. */
int vl_render_depth(const vl_source_info_t *info, const vl_plan_t *plan,
                    const vl_output_t *opts, int out_bands);

/* What rendering plan from src will cost (decoded pixels and output
 * pixels; the most memory at once), estimated from the plan and the
 * source's declared geometry before anything is decoded: the request
 * budget of serve/image.c. Errors: VL_EBADREQ (a plan outside src). */
int vl_render_cost(const vl_source_t *src, const vl_plan_t *plan,
                   const vl_output_t *opts, vl_cost_t *cost, vl_err_t *err);

/* The stored-tile fast path: when the plan is exactly one stored JPEG tile,
 * as JPEG, unmirrored, unrotated, with the colours stored (default or color
 * of colour data; default or gray of grey data: rendering would give the
 * same bands) and CODEC_PASSTHROUGH on, the stored bytes, tables merged (a
 * padded edge tile cropped in the DCT domain), with the ICC profile under
 * the renderer's MAX_ICC rule. *data lives in pool.
 * VL_EUNSUPP: not applicable, render instead; other errors as vl_render. */
int vl_render_passthrough(vl_pool_t *pool, vl_source_t *src,
                          const vl_plan_t *plan, const vl_output_t *opts,
                          unsigned char **data, size_t *len, vl_err_t *err);

#endif /* VL_RENDER_H */
