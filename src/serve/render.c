/* SPDX-License-Identifier: MIT */
/*
 * render: one image request's pixel pipeline, source -> resample -> mirror
 * -> rotate -> quality -> encoder. The source is read one stored tile row
 * at a time, each needed row exactly once, and streamed through the
 * resampler's ring; unrotated (and 180-degree) output rows go straight to
 * the encoder, so memory is O(width x tile row). 90/270 and arbitrary
 * rotations build the resampled image whole (the planner bounds its size).
 * All buffers come from the pixel budget and die with the pool. The
 * passthrough of a stored JPEG tile is decided here too, so that both
 * paths carry the same ICC profile under the same rule.
 *
 * Depth: the whole pipeline runs on 16-bit samples (depth 2: chunk,
 * resampler, rotations, quality stage, encoder at opts.bits 16) when the
 * source reads 16 bits (info.reads16), OUTPUT_BITS is 16, the quality is
 * not bitonal and the format's row takes 16-bit samples for the output
 * bands (png; tif when built); everything else is the 8-bit path as ever.
 */
#include "config.h"

#include <string.h>

#include "core/deadline.h"
#include "core/log.h"
#include "encode/jpegcrop.h"
#include "pixel/pixel.h"
#include "serve/render.h"

typedef struct {
    vl_source_t            *src;
    const vl_plan_t        *plan;
    vl_resample_t           rs;
    vl_image_t              chunk;      /* source rows of one tile row */
    uint32_t                th;         /* tile height of the level */
    int                     flip;       /* 180: source rows bottom-up */
    int                     bands;      /* source bands */
    int                     depth;      /* bytes per sample: 1 or 2 */
    size_t                  px;         /* bytes per source pixel */
    uint16_t                bg16[3];    /* depth 2: flattening background */
    /* where output rows go: the encoder (streamed) or `whole` */
    vl_encoder_t           *enc;
    vl_image_t             *whole;
    vl_image_t              orow;       /* one resampled row */
    vl_image_t              line;       /* one converted row */
    int                     convert;    /* quality or mirror changes rows */
    int                     mirror;
    vl_quality_t            quality;
    const unsigned char    *bg;         /* BACKGROUND, for flattening */
    uint32_t                y;          /* output rows delivered */
    /* plan->pad_w/pad_h: source rows widened by their last pixel into
     * `padded`, and the last row (the first one when flipped) repeated */
    vl_image_t              padded;
    uint32_t                src_w;      /* resampled width before pad_w */
} render_t;

/* Deliver the next output row (source bands, unrotated). */
static int
render_put(render_t *r, const unsigned char *row, vl_err_t *err)
{
    uint32_t ow = r->plan->out_w;

    VL_ASSERT(r->y < r->plan->out_h);
    if (r->whole != NULL) {
        memcpy(VL_IMAGE_ROW(r->whole, r->y++), row, (size_t) ow * r->px);
        return VL_OK;
    }
    r->y++;
    if (!r->convert) {
        return vl_encoder_write(r->enc, row, 1, (size_t) ow * r->px, err);
    }
    if (r->depth == 2) {
        vl_pix_convert_row16((const uint16_t *) (const void *) row, r->bands,
                             (uint16_t *) (void *) r->line.data,
                             r->line.bands, ow, r->quality, r->mirror,
                             r->bg16);
        return vl_encoder_write(r->enc, r->line.data, 1, r->line.stride,
                                err);
    }
    vl_pix_convert_row_bg(row, r->bands, r->line.data, r->line.bands, ow,
                          r->quality, r->mirror, r->bg);
    return vl_encoder_write(r->enc, r->line.data, 1, r->line.stride, err);
}

/* One source row, in the resampler's order: an identity request hands it
 * on as it is; otherwise it is pushed and every output row it completes
 * is delivered. */
static int
render_source_row(render_t *r, const unsigned char *row, vl_err_t *err)
{
    int rc;

    if (r->rs.identity && r->padded.data != NULL) {
        unsigned char *o = r->padded.data;
        uint32_t       n = r->plan->pad_h;

        memcpy(o, row + (size_t) r->rs.ox * r->px, (size_t) r->src_w * r->px);
        for (uint32_t i = r->src_w; i < r->plan->out_w; i++) {
            memcpy(o + (size_t) i * r->px, o + (size_t) (i - 1) * r->px,
                   r->px);
        }
        /* the repeated row is the last one, or the first when flipped */
        n = r->flip ? (r->y == 0 ? n + 1 : 1)
                    : (r->y + 1 + n == r->plan->out_h ? n + 1 : 1);
        for (uint32_t i = 0; i < n; i++) {
            if ((rc = render_put(r, o, err)) != VL_OK) {
                return rc;
            }
        }
        return VL_OK;
    }
    if (r->rs.identity) {
        return render_put(r, row + (size_t) r->rs.ox * r->px, err);
    }
    vl_resample_push(&r->rs, row);
    while (vl_resample_ready(&r->rs)) {
        vl_resample_pop(&r->rs, r->orow.data);
        if ((rc = render_put(r, r->orow.data, err)) != VL_OK) {
            return rc;
        }
    }
    return VL_OK;
}

/* Read the source rows the output needs once each, one stored tile row
 * at a time (no tile is decoded twice), and stream them through. */
static int
render_pass(render_t *r, vl_err_t *err)
{
    const vl_plan_t *p = r->plan;
    uint32_t         r0, r1;
    int              rc;

    if (r->rs.identity) {
        r0 = r->rs.oy;
        r1 = r->rs.oy + p->out_h - p->pad_h;
    } else {
        uint32_t first;

        if ((rc = vl_resample_begin(&r->rs, 0, &r0, err)) != VL_OK) {
            return rc;
        }
        vl_resample_rows(&r->rs, 0, p->out_h, &first, &r1);
        VL_ASSERT(first == r0);
    }
    for (uint32_t cur = r0, n; cur < r1; cur += n) {
        uint32_t   abs = r->flip ? p->ly + p->lh - 1 - cur : p->ly + cur;
        uint32_t   top;
        vl_image_t view = r->chunk;
        vl_rect_t  rect;

        n = r->flip ? abs % r->th + 1 : r->th - abs % r->th;
        n = n > r1 - cur ? r1 - cur : n;
        top = r->flip ? abs + 1 - n : abs;
        view.h = n;
        rect = VL_RECT(p->lx, top, p->lw, n);
        /* REQUEST_TIMEOUT and a client gone: between reads, and every 64
         * rows of the resampler and the encoder */
        if ((rc = vl_deadline_check(err)) != VL_OK
            || (rc = vl_source_read(r->src, p->level, &rect, &view, err))
                   != VL_OK) {
            return rc;
        }
        for (uint32_t i = 0; i < n; i++) {
            if ((i & 63) == 63 && (rc = vl_deadline_check(err)) != VL_OK) {
                return rc;
            }
            if ((rc = render_source_row(r, VL_IMAGE_ROW(&view, r->flip
                                                         ? n - 1 - i : i),
                                        err)) != VL_OK) {
                return rc;
            }
        }
    }
    VL_ASSERT(r->y == p->out_h);
    return VL_OK;
}

/* Convert rows of img (quality) and hand them to the encoder. */
static int
render_emit(vl_encoder_t *enc, const vl_image_t *img, vl_quality_t quality,
            const unsigned char *bg, const uint16_t bg16[3], vl_image_t *line,
            vl_err_t *err)
{
    for (uint32_t y = 0; y < img->h; y++) {
        int rc;

        if ((y & 63) == 63 && (rc = vl_deadline_check(err)) != VL_OK) {
            return rc;
        }
        if (img->depth == 2) {
            vl_pix_convert_row16((const uint16_t *) (const void *)
                                     VL_IMAGE_ROW(img, y),
                                 img->bands, (uint16_t *) (void *) line->data,
                                 line->bands, img->w, quality, 0, bg16);
        } else {
            vl_pix_convert_row_bg(VL_IMAGE_ROW(img, y), img->bands,
                                  line->data, line->bands, img->w, quality, 0,
                                  bg);
        }
        if ((rc = vl_encoder_write(enc, line->data, 1, line->stride, err))
            != VL_OK) {
            return rc;
        }
    }
    return VL_OK;
}

/* MAX_ICC: -1 any size, 0 none, N at most N bytes. */
static int
render_icc_ok(const vl_source_info_t *info, const vl_output_t *opts)
{
    return info->icc != NULL && info->icc_len > 0
           && (opts->max_icc < 0
               || (opts->max_icc > 0
                   && info->icc_len <= (size_t) opts->max_icc));
}

int
vl_render_depth(const vl_source_info_t *info, const vl_plan_t *plan,
                const vl_output_t *opts, int out_bands)
{
    return info->reads16 && info->bits == 16 && opts->output_bits == 16
                   && plan->quality != VL_QUALITY_BITONAL
                   && vl_format_takes(plan->format, out_bands, 16)
               ? 2 : 1;
}

/* The rows of a chunk: one stored tile row of the plan's level, 256 when
 * the level is not tiled. */
static uint32_t
render_chunk_rows(const vl_source_info_t *info, const vl_plan_t *plan)
{
    uint32_t th = plan->level < info->geom.nlevels
                      ? info->geom.levels[plan->level].tile_h : 0;

    return th != 0 ? th : 256;
}

/* Whether rotation 0 or 180 streams: 180 reads the region bottom-up, one
 * chunk at a time, which costs what top-down does where a read costs the
 * same anywhere, but where a read decodes from the top of the level (flat
 * JPEG and PNG, untiled HTJ2K through OpenJPH) every chunk decodes all the
 * rows above it again: big.png full/max/180 took 36.5 s against 3.8 s at
 * 0. There 180 is resampled whole, top-down, and turned, like 90 and 270.
 * Told by the source's own estimate: the region's bottom chunk costing
 * more than twice a chunk at the top of the level. */
static int
render_streams(const vl_source_t *src, const vl_plan_t *plan, int depth)
{
    const vl_source_info_t *info = vl_source_info(src);
    uint32_t                th = render_chunk_rows(info, plan);
    vl_cost_t               top, bottom;
    vl_err_t                err = { 0 };
    vl_rect_t               rt, rb;

    if (plan->rotation == 0.0) {
        return 1;
    }
    if (plan->rotation != 180.0) {
        return 0;
    }
    if (plan->lh <= th) {
        return 1;
    }
    /* the top chunk of the level, not of the region: from a region lower
     * down, every chunk would cost about the same and still decode all the
     * rows above it */
    rt = VL_RECT(plan->lx, 0, plan->lw, th);
    rb = VL_RECT(plan->lx, plan->ly + plan->lh - th, plan->lw, th);
    if (vl_source_cost(src, plan->level, &rt, th, depth, &top, &err) != VL_OK
        || vl_source_cost(src, plan->level, &rb, th, depth, &bottom, &err)
               != VL_OK) {
        return 1;
    }
    return bottom.pixels <= 2 * top.pixels;
}

int
vl_render(vl_pool_t *pool, vl_source_t *src, const vl_plan_t *plan,
          const vl_output_t *opts, vl_sink_t *sink, vl_err_t *err)
{
    const vl_source_info_t *info = vl_source_info(src);
    render_t                r;
    vl_encode_opts_t        eo;
    vl_image_t              whole, turned;
    double                  rot = plan->rotation, sy0, sy1;
    int                     streamed, right, work_bands, out_bands, rc;
    int                     interp = opts->interpolation;
    uint32_t                ow = plan->out_w, oh = plan->out_h;

    memset(&r, 0, sizeof(r));
    r.src = src;
    r.plan = plan;
    r.bg = opts->background;
    r.bands = info->geom.bands;
    if (interp < VL_INTERP_NEAREST || interp > VL_INTERP_LANCZOS) {
        interp = VL_INTERP_LANCZOS;
    }
    right = (rot == 0.0 || rot == 90.0 || rot == 180.0 || rot == 270.0);
    work_bands = r.bands;
    if (!right && r.bands != 2 && r.bands != 4) {
        work_bands = r.bands + 1;     /* arbitrary rotation adds alpha */
    }
    out_bands = vl_pix_out_bands(work_bands, plan->quality,
                                 vl_format_keeps_alpha(plan->format));
    r.depth = vl_render_depth(info, plan, opts, out_bands);
    r.px = (size_t) r.bands * (size_t) r.depth;
    streamed = render_streams(src, plan, r.depth);
    /* BACKGROUND at 16 bits: each 8-bit level times 257 */
    for (int i = 0; i < 3; i++) {
        r.bg16[i] = (uint16_t) ((r.bg != NULL ? r.bg[i] : 255) * 257u);
    }

    /* encoder first: an unsupported combination fails before any pixel */
    memset(&eo, 0, sizeof(eo));
    eo.jpeg_quality = opts->jpeg_quality;
    eo.png_level = opts->png_level;
    eo.webp_quality = opts->webp_quality;
    eo.tiff_compression = opts->tiff_compression;
    eo.tiff_quality = opts->tiff_quality;
    eo.jp2_rate = opts->jp2_rate;
    eo.bits = r.depth == 2 ? 16 : 8;
    /* the profile describes the source's colours: it goes with output of
     * the same kind only (grey on grey, colour on colour; a grey profile
     * on RGB samples is refused by libpng, a PDF's ICCBased /N 3 would
     * not match it; an RGB profile on gray output describes nothing) */
    if ((out_bands >= 3) == (r.bands >= 3) && render_icc_ok(info, opts)) {
        eo.icc = info->icc;
        eo.icc_len = info->icc_len;
    }
    r.enc = vl_encoder_new(pool, plan->format, &eo, plan->final_w,
                           plan->final_h, out_bands, sink, err);
    if (r.enc == NULL) {
        return err != NULL && err->code != VL_OK ? err->code : VL_EINTERNAL;
    }

    /* 180 degrees streams too: the resampler sees the region upside down
     * (source rows pushed bottom-up, so output rows come out in final
     * order) and each row is reversed on the way out */
    r.flip = streamed && rot == 180.0;
    sy0 = plan->sy0 - plan->ly;
    sy1 = plan->sy1 - plan->ly;
    if (r.flip) {
        double t = plan->lh - sy1;

        sy1 = plan->lh - sy0;
        sy0 = t;
    }
    /* a padded plan is an unscaled read of the stored part: the copy
     * below widens each row and repeats the edge row */
    r.src_w = ow - plan->pad_w;
    if ((rc = vl_resample_init_depth(pool, &r.rs, plan->lw, plan->lh,
                                     r.bands, r.depth, plan->sx0 - plan->lx,
                                     sy0, plan->sx1 - plan->lx, sy1, r.src_w,
                                     oh - plan->pad_h, interp, err))
        != VL_OK) {
        return rc;
    }
    if ((plan->pad_w != 0 || plan->pad_h != 0) && !r.rs.identity) {
        return vl_err_set(err, VL_EINTERNAL, "padded plan is not 1:1");
    }
    if ((plan->pad_w != 0 || plan->pad_h != 0)
        && (rc = vl_image_new_depth(pool, ow, 1, r.bands, r.depth, &r.padded,
                                    err)) != VL_OK) {
        return rc;
    }
    r.th = render_chunk_rows(info, plan);
    /* at depth 2 every buffer is twice the bytes: the pixel budget counts
     * bytes, so it stays honest */
    if ((rc = vl_image_new_depth(pool, plan->lw, r.th, r.bands, r.depth,
                                 &r.chunk, err)) != VL_OK
        || (rc = vl_image_new_depth(pool, ow, 1, r.bands, r.depth, &r.orow,
                                    err)) != VL_OK
        || (rc = vl_image_new_depth(pool, plan->final_w, 1, out_bands,
                                    r.depth, &r.line, err)) != VL_OK) {
        return rc;
    }

    if (streamed) {
        r.mirror = plan->mirror ^ r.flip;
        r.quality = plan->quality;
        r.convert = r.mirror || out_bands != r.bands
                    || plan->quality == VL_QUALITY_BITONAL;
        if ((rc = render_pass(&r, err)) != VL_OK) {
            return rc;
        }
        return vl_encoder_finish(r.enc, err);
    }

    /* rotated: resample whole (still reading tile row by tile row), then
     * turn */
    if ((rc = vl_image_new_depth(pool, ow, oh, r.bands, r.depth, &whole,
                                 err)) != VL_OK) {
        return rc;
    }
    r.whole = &whole;
    if ((rc = render_pass(&r, err)) != VL_OK) {
        return rc;
    }
    if (plan->mirror) {
        vl_pix_mirror(&whole);
    }
    if ((rc = vl_deadline_check(err)) != VL_OK) {
        return rc;
    }
    rc = right ? vl_pix_rotate_right(pool, &whole, (int) rot, &turned, err)
               : vl_pix_rotate_any(pool, &whole, rot, plan->final_w,
                                   plan->final_h, &turned, err);
    if (rc != VL_OK) {
        return rc;
    }
    VL_ASSERT(turned.w == plan->final_w && turned.h == plan->final_h);
    if ((rc = vl_deadline_check(err)) != VL_OK
        || (rc = render_emit(r.enc, &turned, plan->quality, r.bg, r.bg16,
                          &r.line, err))
               != VL_OK) {
        return rc;
    }
    return vl_encoder_finish(r.enc, err);
}

/* What vl_render(plan) will cost: the source's reads (one stored tile row
 * at a time) and the pipeline's own buffers: the chunk, the resampler's
 * ring, a rotation's whole image and its turned copy, the whole image an
 * encoder that needs one keeps (webp, gif; jp2 with OpenJPEG's samples). */
int
vl_render_cost(const vl_source_t *src, const vl_plan_t *plan,
               const vl_output_t *opts, vl_cost_t *cost, vl_err_t *err)
{
    const vl_source_info_t *info = vl_source_info(src);
    double                  rot = plan->rotation;
    int                     right, bands = info->geom.bands, work, out_bands;
    int                     depth, rc;
    uint32_t                th;
    uint64_t                px, fin, mem;
    vl_rect_t               rect = VL_RECT(plan->lx, plan->ly, plan->lw,
                                           plan->lh);

    right = (rot == 0.0 || rot == 90.0 || rot == 180.0 || rot == 270.0);
    work = !right && bands != 2 && bands != 4 ? bands + 1 : bands;
    out_bands = vl_pix_out_bands(work, plan->quality,
                                 vl_format_keeps_alpha(plan->format));
    depth = vl_render_depth(info, plan, opts, out_bands);
    th = render_chunk_rows(info, plan);
    if ((rc = vl_source_cost(src, plan->level, &rect, th, depth, cost, err))
        != VL_OK) {
        return rc;
    }
    px = (uint64_t) bands * (uint64_t) depth;
    fin = (uint64_t) plan->final_w * plan->final_h;
    /* chunk, and the resampler's ring (a few dozen rows of floats) */
    mem = (uint64_t) plan->lw * th * px
          + (uint64_t) (plan->lw > plan->out_w ? plan->lw : plan->out_w)
                * (uint64_t) bands * 4 * 64;
    if (!render_streams(src, plan, depth)) {
        mem += (uint64_t) plan->out_w * plan->out_h * px
               + fin * (uint64_t) (work + 1) * (uint64_t) depth;
    }
    /* measured on 14645x12158 images at full/max: libwebp's picture and,
     * with alpha, its lossless alpha plane (about 16 more bytes a pixel);
     * giflib's quantisation */
    if (plan->format == VL_FORMAT_WEBP) {
        mem += fin * (uint64_t) out_bands * 2
               + (out_bands == 2 || out_bands == 4 ? fin * 16 : 0);
    } else if (plan->format == VL_FORMAT_GIF) {
        mem += fin * (uint64_t) (out_bands * 2 + 4);
    } else if (plan->format == VL_FORMAT_JP2) {
        mem += fin * (uint64_t) out_bands * (uint64_t) (depth + 8);
    }
    cost->bytes += mem;
    cost->pixels += fin;
    return VL_OK;
}

/* A .pdf of exactly one stored JPEG tile: the stream (already cropped and
 * given its ICC by jpegcrop) embedded in the PDF as it is. */
static int
render_pdf_wrap(vl_pool_t *pool, const vl_plan_t *plan, int bands,
                const unsigned char *icc, size_t icc_len,
                unsigned char **data, size_t *len, vl_err_t *err)
{
    unsigned char *pdf;
    size_t         pdf_len;
    int            rc;

    rc = vl_pdf_wrap_jpeg(pool, *data, *len, plan->out_w, plan->out_h, bands,
                          icc, icc_len, 0, &pdf, &pdf_len, err);
    if (rc == VL_OK) {
        *data = pdf;
        *len = pdf_len;
    }
    return rc;
}

int
vl_render_passthrough(vl_pool_t *pool, vl_source_t *src,
                      const vl_plan_t *plan, const vl_output_t *opts,
                      unsigned char **data, size_t *len, vl_err_t *err)
{
    const vl_source_info_t *si = vl_source_info(src);
    const unsigned char    *icc = NULL;
    size_t                  icc_len = 0, raw_len;
    unsigned char          *raw;
    int                     bands = si->geom.bands, rc;
    vl_err_t                lerr = { 0 };

    if (!opts->passthrough || !plan->is_stored_tile
        || (plan->format != VL_FORMAT_JPG && plan->format != VL_FORMAT_PDF)
        || plan->mirror
        || plan->rotation != 0.0 || si->bits != 8) {
        return VL_EUNSUPP;
    }
    if (!(bands == 3 && (plan->quality == VL_QUALITY_DEFAULT
                         || plan->quality == VL_QUALITY_COLOR))
        && !(bands == 1 && (plan->quality == VL_QUALITY_DEFAULT
                            || plan->quality == VL_QUALITY_GRAY))) {
        return VL_EUNSUPP;
    }
    rc = vl_source_read_jpeg_tile(src, pool, plan->level, plan->tile_col,
                                  plan->tile_row, &raw, &raw_len, &lerr);
    if (rc == VL_EUNSUPP) {
        return VL_EUNSUPP;          /* not a JPEG level */
    }
    if (rc != VL_OK) {
        *err = lerr;
        return rc;
    }
    if (si->icc_len <= 255u * 65519u && render_icc_ok(si, opts)) {
        icc = si->icc;
        icc_len = si->icc_len;
    }
    rc = vl_jpegcrop_passthrough(pool, raw, raw_len, VL_SOURCE_JPEG_HEADROOM,
                                 plan->out_w, plan->out_h, bands, icc,
                                 icc_len, data, len, &lerr);
    if (rc == VL_EUNSUPP) {
        /* a stream we would not send as is (RGB-coded, 12-bit, ...) */
        vl_log(VL_LOG_DEBUG, NULL, "passthrough declined: %s", lerr.msg);
        return VL_EUNSUPP;
    }
    if (rc == VL_OK && plan->format == VL_FORMAT_PDF) {
        rc = render_pdf_wrap(pool, plan, bands, icc, icc_len, data, len,
                             &lerr);
    }
    if (rc != VL_OK) {
        *err = lerr;
    }
    return rc;
}
