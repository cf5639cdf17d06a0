/* SPDX-License-Identifier: MIT */
/*
 * render: one image request's pixel pipeline, source -> resample -> mirror
 * -> rotate -> quality -> encoder. Unrotated (and 180-degree) output is
 * streamed in strips of output rows: each strip reads only the source rows
 * its kernel support needs, so memory is O(width x strip). 90/270 and
 * arbitrary rotations build the resampled image whole (the planner bounds
 * its size). All buffers come from the pixel budget and die with the pool.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "pixel/pixel.h"
#include "pixel/render.h"

typedef struct {
    vl_pool_t              *pool;
    vl_source_t            *src;
    const vl_plan_t        *plan;
    vl_resample_t           rs;
    vl_image_t              band;       /* source rows of one strip */
    uint32_t                strip;      /* output rows per strip */
    int                     bands;      /* source bands */
} render_t;

/* Output rows [y0, y1) of the unrotated, resampled region into out. */
static int
render_rows(render_t *r, uint32_t y0, uint32_t y1, vl_image_t *out,
            vl_err_t *err)
{
    uint32_t   r0, r1;
    vl_image_t view;
    int        rc;

    vl_resample_rows(&r->rs, y0, y1, &r0, &r1);
    view = r->band;
    view.h = r1 - r0;
    VL_ASSERT(view.h <= r->band.h);
    if ((rc = vl_source_read(r->src, r->plan->level, r->plan->lx,
                             r->plan->ly + r0, r->plan->lw, r1 - r0, &view,
                             err)) != VL_OK) {
        return rc;
    }
    return vl_resample_strip(&r->rs, &view, r0, y0, y1, out, err);
}

/* Convert rows of img (quality, mirror) and hand them to the encoder. */
static int
render_emit(vl_encoder_t *enc, const vl_image_t *img, uint32_t y0,
            uint32_t n, int reverse, int mirror, vl_quality_t quality,
            vl_image_t *line, vl_err_t *err)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t y = reverse ? y0 + n - 1 - i : y0 + i;
        int      rc;

        vl_pix_convert_row(VL_IMAGE_ROW(img, y), img->bands, line->data,
                           line->bands, img->w, quality, mirror);
        if ((rc = vl_encoder_write(enc, line->data, 1, line->stride, err))
            != VL_OK) {
            return rc;
        }
    }
    return VL_OK;
}

int
vl_render(vl_pool_t *pool, vl_source_t *src, const vl_plan_t *plan,
          const vl_render_opts_t *opts, vl_sink_t *sink, vl_err_t *err)
{
    const vl_source_info_t *info = vl_source_info(src);
    render_t                r;
    vl_encode_opts_t        eo;
    vl_encoder_t           *enc;
    vl_image_t              strip, line;
    double                  rot = plan->rotation, scale_y;
    int                     streamed, right, work_bands, out_bands, rc;
    int                     interp = opts->interpolation;
    uint32_t                th, maxrows = 0, ow = plan->out_w;
    uint32_t                oh = plan->out_h;

    if (!vl_format_supported(plan->format)) {
        return vl_err_set(err, VL_EUNSUPP, "output format not supported");
    }
    memset(&r, 0, sizeof(r));
    r.pool = pool;
    r.src = src;
    r.plan = plan;
    r.bands = info->geom.bands;
    if (interp < VL_INTERP_NEAREST || interp > VL_INTERP_LANCZOS) {
        interp = VL_INTERP_LANCZOS;
    }
    right = (rot == 0.0 || rot == 90.0 || rot == 180.0 || rot == 270.0);
    streamed = (rot == 0.0 || rot == 180.0);
    work_bands = r.bands;
    if (!right && r.bands != 2 && r.bands != 4) {
        work_bands = r.bands + 1;     /* arbitrary rotation adds alpha */
    }
    out_bands = vl_pix_out_bands(work_bands, plan->quality, plan->format);

    /* encoder first: an unsupported combination fails before any pixel */
    memset(&eo, 0, sizeof(eo));
    eo.jpeg_quality = opts->jpeg_quality;
    eo.png_level = opts->png_level;
    if (info->icc != NULL && info->icc_len > 0 && out_bands >= 3
        && (opts->max_icc < 0
            || (opts->max_icc > 0
                && info->icc_len <= (size_t) opts->max_icc))) {
        eo.icc = info->icc;
        eo.icc_len = info->icc_len;
    }
    enc = vl_encoder_new(pool, plan->format, &eo, plan->final_w,
                         plan->final_h, out_bands, sink, err);
    if (enc == NULL) {
        return err != NULL && err->code != VL_OK ? err->code : VL_EINTERNAL;
    }

    if ((rc = vl_resample_init(pool, &r.rs, plan->lw, plan->lh, r.bands,
                               plan->sx0 - plan->lx, plan->sy0 - plan->ly,
                               plan->sx1 - plan->lx, plan->sy1 - plan->ly,
                               ow, oh, interp, err)) != VL_OK) {
        return rc;
    }
    /* a strip reads about one stored tile row of the level */
    th = plan->level < info->geom.nlevels
         ? info->geom.levels[plan->level].tile_h : 0;
    th = th != 0 ? th : 256;
    scale_y = (plan->sy1 - plan->sy0) / oh;
    r.strip = (uint32_t) ceil(th / scale_y);
    r.strip = r.strip < 16 ? 16 : r.strip > 256 ? 256 : r.strip;
    if (r.strip > oh) {
        r.strip = oh;
    }
    for (uint32_t y0 = 0; y0 < oh; y0 += r.strip) {
        uint32_t y1 = oh - y0 < r.strip ? oh : y0 + r.strip, r0, r1;

        vl_resample_rows(&r.rs, y0, y1, &r0, &r1);
        maxrows = r1 - r0 > maxrows ? r1 - r0 : maxrows;
    }
    if ((rc = vl_image_new(pool, plan->lw, maxrows, r.bands, &r.band, err))
        != VL_OK
        || (rc = vl_image_new(pool, plan->final_w, 1, out_bands, &line, err))
           != VL_OK) {
        return rc;
    }

    if (streamed) {
        /* 180 = rows bottom-up with each row reversed; mirror then 180 is
         * a vertical flip */
        int flip = rot == 180.0;

        if ((rc = vl_image_new(pool, ow, r.strip, r.bands, &strip, err))
            != VL_OK) {
            return rc;
        }
        for (uint32_t f0 = 0; f0 < oh; f0 += r.strip) {
            uint32_t f1 = oh - f0 < r.strip ? oh : f0 + r.strip;
            uint32_t y0 = flip ? oh - f1 : f0, y1 = flip ? oh - f0 : f1;

            if ((rc = render_rows(&r, y0, y1, &strip, err)) != VL_OK
                || (rc = render_emit(enc, &strip, 0, y1 - y0, flip,
                                     plan->mirror ^ flip, plan->quality,
                                     &line, err)) != VL_OK) {
                return rc;
            }
        }
        return vl_encoder_finish(enc, err);
    }

    /* rotated: resample whole (still reading strip by strip), then turn */
    {
        vl_image_t whole, turned;

        if ((rc = vl_image_new(pool, ow, oh, r.bands, &whole, err))
            != VL_OK) {
            return rc;
        }
        for (uint32_t y0 = 0; y0 < oh; y0 += r.strip) {
            uint32_t   y1 = oh - y0 < r.strip ? oh : y0 + r.strip;
            vl_image_t view = whole;

            view.data = VL_IMAGE_ROW(&whole, y0);
            view.h = y1 - y0;
            if ((rc = render_rows(&r, y0, y1, &view, err)) != VL_OK) {
                return rc;
            }
        }
        if (plan->mirror) {
            vl_pix_mirror(&whole);
        }
        rc = right ? vl_pix_rotate_right(pool, &whole, (int) rot, &turned,
                                         err)
                   : vl_pix_rotate_any(pool, &whole, rot, plan->final_w,
                                       plan->final_h, &turned, err);
        if (rc != VL_OK) {
            return rc;
        }
        VL_ASSERT(turned.w == plan->final_w && turned.h == plan->final_h);
        if ((rc = render_emit(enc, &turned, 0, turned.h, 0, 0,
                              plan->quality, &line, err)) != VL_OK) {
            return rc;
        }
        return vl_encoder_finish(enc, err);
    }
}
