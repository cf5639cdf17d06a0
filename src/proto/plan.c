/* SPDX-License-Identifier: MIT */
/*
 * plan: region, size, level and canonical form of one image request, all in
 * integers where it matters. Sizes follow Image API 3.0 / 2.1 section 4.2;
 * where the specs leave rounding open, the rules below make the tile
 * requests of a viewer (implementation note 3) come out exactly.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/plan.h"

/* Dimensions above this are refused, so that products of two of them stay
 * well inside 64 bits. The parser uses the same bound. */
#define PLAN_DIM_MAX        0x7fffffffu
/* Tile size assumed for untiled images (info.json advertises the same). */
#define PLAN_UNTILED        512

/* How a level maps full-resolution coordinates: x * num / den. A level
 * whose size is floor or ceil of the full size over an integer s is taken
 * as exactly 1/s (num = 1, den = s), the way viewers and pyramid writers
 * see it; any other level by its true ratio (num = Lw, den = W). */
typedef struct {
    uint64_t num, den;
    uint64_t edge;          /* where the image's far edge lands */
} plan_axis_t;


static uint64_t
plan_ceil_div(uint64_t a, uint64_t b)
{
    return (a + b - 1) / b;
}


/* a / b rounded to the nearest integer, halves up. */
static uint64_t
plan_round_div(uint64_t a, uint64_t b)
{
    return (2 * a + b) / (2 * b);
}


static plan_axis_t
plan_axis(uint32_t full, uint32_t level)
{
    plan_axis_t a;
    uint64_t    s = plan_round_div(full, level);

    if (s >= 1 && (full / s == level || plan_ceil_div(full, s) == level)) {
        a.num = 1;
        a.den = s;
        a.edge = plan_ceil_div(full, s);
    } else {
        a.num = level;
        a.den = full;
        a.edge = level;
    }
    return a;
}


/* w * rh / rw rounded half up: the other side of an aspect-preserving
 * size (Image API 3.0 section 4.2 leaves the rounding to the server; a
 * side that rounds to 0 is a 400, as the spec says). */
static uint64_t
plan_ratio(uint64_t w, uint64_t rw, uint64_t rh)
{
    return plan_round_div(w * rh, rw);
}


/* The smallest power of two >= v (v >= 1). */
static uint64_t
plan_pow2_ceil(uint64_t v)
{
    uint64_t s = 1;

    while (s < v && s < ((uint64_t) 1 << 62)) {
        s *= 2;
    }
    return s;
}


/* The tile size info.json advertises (proto/info.c: the stored tile of
 * level 0, PLAN_UNTILED for untiled images): the grid a viewer asks for. */
static void
plan_viewer_tile(const vl_geom_t *g, uint64_t *tw, uint64_t *th)
{
    *tw = g->levels[0].tile_w;
    *th = g->levels[0].tile_h;
    if (*tw == 0 || *th == 0) {
        *tw = *th = PLAN_UNTILED;
    }
}


/*
 * The height of a "w," request. Three sizes are not the rounded ratio:
 * - a size info.json lists: "full/w," with w the width of a pyramid level
 *   gets that level's height (floor- or ceil-rounded, stored or virtual);
 * - a viewer's tile (implementation notes of Image API 3.0 and 2.1): the
 *   region of tile (n, m) of the advertised grid at a power-of-two scale
 *   factor s, x = n tw s, y = m th s, w = min(tw s, W - x), h likewise, and
 *   the size ceil(w / s), wants ceil(h / s) rows; at the right and bottom
 *   edges that differs from the rounded ratio (489 px at s = 2 -> 245
 *   wide, 512 tall -> 256, not round(245 * 512 / 489) = 257), by less than
 *   one pixel of width is worth. The smallest s that fits is taken: the
 *   one-tile corner of an image can be the same request at two scale
 *   factors;
 * - a tile of another grid (a viewer configured for other tiles, e.g. 256
 *   where a JPEG 2000 source advertises 512): a power of two s with
 *   w = ceil(rw / s), each side of the region a whole number of s-pixel
 *   steps or ending at the image's edge, gets ceil(rh / s) too.
 * Any other "w," is an ordinary size and gets the rounded ratio.
 */
static uint64_t
plan_h_of_w(uint64_t w, const vl_plan_t *p, const vl_geom_t *g)
{
    uint64_t rw = p->rw, rh = p->rh, tw, th, s;

    if (p->rx == 0 && p->ry == 0 && rw == g->width && rh == g->height) {
        for (uint32_t i = 1; i < g->nlevels; i++) {
            if (g->levels[i].width == w) {
                return g->levels[i].height;
            }
        }
    }
    plan_viewer_tile(g, &tw, &th);
    for (s = 1; s <= ((uint64_t) 1 << 31); s *= 2) {
        uint64_t sw = tw * s, sh = th * s;

        if (p->rx % sw == 0 && p->ry % sh == 0
            && rw == (sw < g->width - p->rx ? sw : g->width - p->rx)
            && rh == (sh < g->height - p->ry ? sh : g->height - p->ry)
            && plan_ceil_div(rw, s) == w)
        {
            return plan_ceil_div(rh, s);
        }
        if (sw >= g->width && sh >= g->height) {
            break;
        }
    }
    s = plan_pow2_ceil(plan_ceil_div(rw, w));
    if (plan_ceil_div(rw, s) == w
        && (rw % s == 0 || (uint64_t) p->rx + rw == g->width)
        && (rh % s == 0 || (uint64_t) p->ry + rh == g->height))
    {
        return plan_ceil_div(rh, s);
    }
    return plan_ratio(w, rw, rh);
}


/* Largest size for a w x h region under the limits (implementation note
 * 4 of Image API 3.0): maxArea by the square root of the ratio, then
 * maxWidth, then maxHeight; floor; at least 1 px. With up != 0 the size may
 * grow past the region as far as the limits allow (no limit: region size). */
static void
plan_max_size(uint32_t w, uint32_t h, const vl_limits_t *l, int up,
              uint32_t *out_w, uint32_t *out_h)
{
    uint64_t mw = l->max_width;
    uint64_t mh = l->max_height != 0 ? l->max_height : l->max_width;
    uint64_t ma = l->max_area;
    double   scale = up ? INFINITY : 1.0;
    uint64_t ow, oh;

    if (ma != 0 && (up || (uint64_t) w * h > ma)) {
        scale = fmin(scale, sqrt((double) ma / ((double) w * h)));
    }
    if (mw != 0 && (up || (double) w * scale > (double) mw)) {
        scale = fmin(scale, (double) mw / w);
    }
    if (mh != 0 && (up || (double) h * scale > (double) mh)) {
        scale = fmin(scale, (double) mh / h);
    }
    if (isinf(scale)) {
        scale = 1.0;
    }
    if (scale == 1.0) {
        ow = w;
        oh = h;
    } else {
        /* the small nudge keeps 5000.0 from flooring to 4999 */
        ow = (uint64_t) floor((double) w * scale + 1e-7);
        oh = (uint64_t) floor((double) h * scale + 1e-7);
    }
    if (mw != 0 && ow > mw) {
        ow = mw;
    }
    if (mh != 0 && oh > mh) {
        oh = mh;
    }
    if (ow > PLAN_DIM_MAX) {
        ow = PLAN_DIM_MAX;
    }
    if (oh > PLAN_DIM_MAX) {
        oh = PLAN_DIM_MAX;
    }
    if (ow < 1) {
        ow = 1;
    }
    if (oh < 1) {
        oh = 1;
    }
    if (ma != 0 && ow * oh > ma && (ow == 1 || oh == 1)) {
        if (oh == 1) {
            ow = ma;
        } else {
            oh = ma;
        }
    }
    while (ma != 0 && ow * oh > ma && (ow > 1 || oh > 1)) {
        if ((ow * h > oh * w && ow > 1) || oh == 1) {
            ow--;
        } else {
            oh--;
        }
    }
    *out_w = (uint32_t) ow;
    *out_h = (uint32_t) oh;
}


void
vl_plan_max_size(uint32_t w, uint32_t h, const vl_limits_t *limits,
                 uint32_t *out_w, uint32_t *out_h)
{
    if (w == 0 || h == 0) {
        *out_w = w;
        *out_h = h;
        return;
    }
    plan_max_size(w, h, limits, 0, out_w, out_h);
}


/* pct value of `full` pixels: round(v * full / 100). Region edges are
 * rounded independently (x0 = round(x), x1 = round(x + w)), so that
 * adjacent pct regions tile the image and pct:0,0,100,100 is the image. */
static uint64_t
plan_pct(double v, uint32_t full)
{
    double px = floor(v * (double) full / 100.0 + 0.5);

    return px > 4e18 ? (uint64_t) 4e18 : (uint64_t) px;
}


static int
plan_region(const vl_iiif_req_t *req, const vl_geom_t *g, vl_plan_t *p,
            vl_err_t *err)
{
    const vl_region_t *r = &req->region;
    uint64_t           x, y, w, h;

    switch (r->kind) {
    case VL_REGION_FULL:
        x = y = 0;
        w = g->width;
        h = g->height;
        break;
    case VL_REGION_SQUARE:
        w = h = g->width < g->height ? g->width : g->height;
        x = (g->width - w) / 2;
        y = (g->height - h) / 2;
        break;
    case VL_REGION_PCT:
        x = plan_pct(r->px, g->width);
        y = plan_pct(r->py, g->height);
        w = plan_pct(r->px + r->pw, g->width);
        h = plan_pct(r->py + r->ph, g->height);
        /* a positive percentage never collapses to nothing */
        w = w > x ? w - x : 1;
        h = h > y ? h - y : 1;
        break;
    default:
        x = r->x;
        y = r->y;
        w = r->w;
        h = r->h;
        break;
    }
    if (w == 0 || h == 0) {
        return vl_err_set(err, VL_EBADREQ, "region has zero width or height");
    }
    if (x >= g->width || y >= g->height) {
        return vl_err_set(err, VL_EBADREQ,
                          "region is outside the image (%ux%u)",
                          g->width, g->height);
    }
    if (x + w > g->width) {
        w = g->width - x;
    }
    if (y + h > g->height) {
        h = g->height - y;
    }
    p->rx = (uint32_t) x;
    p->ry = (uint32_t) y;
    p->rw = (uint32_t) w;
    p->rh = (uint32_t) h;
    return VL_OK;
}


static int
plan_over_limits(const vl_limits_t *l, uint64_t w, uint64_t h)
{
    uint64_t mh = l->max_height != 0 ? l->max_height : l->max_width;

    return (l->max_width != 0 && w > l->max_width) || (mh != 0 && h > mh)
           || (l->max_area != 0 && w * h > l->max_area);
}


static int
plan_size(const vl_iiif_req_t *req, const vl_geom_t *g,
          const vl_limits_t *l, vl_plan_t *p, vl_err_t *err)
{
    const vl_iiif_size_t *s = &req->size;
    uint64_t              rw = p->rw, rh = p->rh, ow, oh;
    uint32_t              mw, mh;
    int                   v3 = req->version >= 3, up;

    /* may this request produce more pixels than the region holds */
    up = v3 ? (s->upscale && l->allow_upscaling) : l->allow_upscaling;

    switch (s->kind) {
    case VL_SIZE_MAX:
        if (s->v2_full) {
            ow = rw;
            oh = rh;
        } else {
            plan_max_size(p->rw, p->rh, l, s->upscale && up, &mw, &mh);
            ow = mw;
            oh = mh;
        }
        break;
    case VL_SIZE_W:
        ow = s->w;
        oh = plan_h_of_w(ow, p, g);
        break;
    case VL_SIZE_H:
        /* no viewer asks for tiles by height: always the ratio */
        oh = s->h;
        ow = plan_ratio(oh, rh, rw);
        break;
    case VL_SIZE_PCT: {
        double fw = floor((double) rw * s->pct / 100.0 + 0.5);
        double fh = floor((double) rh * s->pct / 100.0 + 0.5);

        ow = fw > 4e18 ? (uint64_t) 4e18 : (uint64_t) fw;
        oh = fh > 4e18 ? (uint64_t) 4e18 : (uint64_t) fh;
        break;
    }
    case VL_SIZE_WH:
        ow = s->w;
        oh = s->h;
        break;
    default:
        /* "!w,h": the largest aspect-preserving fit inside w x h; without
         * '^' (v3) or upscaling (v2) also inside the region; always
         * inside the server's limits (3.0 section 4.2 says so) */
        if ((uint64_t) s->w * rh <= (uint64_t) s->h * rw) {
            ow = s->w;
            oh = plan_ratio(ow, rw, rh);
            oh = oh > s->h ? s->h : oh;
        } else {
            oh = s->h;
            ow = plan_ratio(oh, rh, rw);
            ow = ow > s->w ? s->w : ow;
        }
        if (!(v3 ? s->upscale : up) && (ow > rw || oh > rh)) {
            ow = rw;
            oh = rh;
        }
        if (ow >= 1 && oh >= 1 && ow <= PLAN_DIM_MAX && oh <= PLAN_DIM_MAX
            && plan_over_limits(l, ow, oh))
        {
            plan_max_size((uint32_t) ow, (uint32_t) oh, l, 0, &mw, &mh);
            ow = mw;
            oh = mh;
        }
        break;
    }

    if (ow == 0 || oh == 0) {
        return vl_err_set(err, VL_EBADREQ,
                          "size gives less than one pixel");
    }
    if (ow > rw || oh > rh) {
        if (v3 && !s->upscale) {
            return vl_err_set(err, VL_EBADREQ,
                              "size %llux%llu is larger than the region "
                              "%llux%llu (needs '^')",
                              (unsigned long long) ow,
                              (unsigned long long) oh,
                              (unsigned long long) rw,
                              (unsigned long long) rh);
        }
        if (!v3 && !l->allow_upscaling) {
            return vl_err_set(err, VL_EBADREQ,
                              "size %llux%llu is larger than the region "
                              "%llux%llu (upscaling is off)",
                              (unsigned long long) ow,
                              (unsigned long long) oh,
                              (unsigned long long) rw,
                              (unsigned long long) rh);
        }
    }
    if (plan_over_limits(l, ow, oh) || ow > PLAN_DIM_MAX
        || oh > PLAN_DIM_MAX)
    {
        return vl_err_set(err, VL_ELIMIT,
                          "size %llux%llu is beyond the limits "
                          "(maxWidth %llu, maxHeight %llu, maxArea %llu)",
                          (unsigned long long) ow, (unsigned long long) oh,
                          (unsigned long long) l->max_width,
                          (unsigned long long) (l->max_height != 0
                                                    ? l->max_height
                                                    : l->max_width),
                          (unsigned long long) l->max_area);
    }
    if ((ow > rw || oh > rh) && !l->allow_upscaling) {
        return vl_err_set(err, VL_EUNSUPP, "upscaling is not supported");
    }
    p->out_w = (uint32_t) ow;
    p->out_h = (uint32_t) oh;
    return VL_OK;
}


/* Pick the smallest level whose region is at least the output times the
 * oversampling factor in both directions, then the region at that level. */
static void
plan_level(const vl_geom_t *g, const vl_limits_t *l, vl_plan_t *p)
{
    double      os = l->oversample >= 1.0 ? l->oversample : 1.0;
    uint32_t    best = 0;
    plan_axis_t ax, ay;
    uint64_t    x0, x1, y0, y1, lx0, lx1, ly0, ly1;
    uint64_t    lw, lh;

    for (uint32_t i = g->nlevels; i-- > 1;) {
        const vl_level_t *lv = &g->levels[i];
        double            fw, fh;

        if (lv->width == 0 || lv->height == 0) {
            continue;
        }
        ax = plan_axis(g->width, lv->width);
        ay = plan_axis(g->height, lv->height);
        x0 = (uint64_t) p->rx * ax.num;
        y0 = (uint64_t) p->ry * ay.num;
        x1 = p->rx + p->rw == g->width ? ax.edge * ax.den
                                       : (uint64_t) (p->rx + p->rw) * ax.num;
        y1 = p->ry + p->rh == g->height ? ay.edge * ay.den
                                        : (uint64_t) (p->ry + p->rh) * ay.num;
        fw = (double) (x1 - x0) / (double) ax.den;
        fh = (double) (y1 - y0) / (double) ay.den;
        if (fw >= (double) p->out_w * os - 1e-9
            && fh >= (double) p->out_h * os - 1e-9)
        {
            best = i;
            break;
        }
    }

    p->level = best;
    lw = g->levels[best].width;
    lh = g->levels[best].height;
    if (best == 0) {
        lw = g->width;
        lh = g->height;
        ax = (plan_axis_t) { 1, 1, g->width };
        ay = (plan_axis_t) { 1, 1, g->height };
    } else {
        ax = plan_axis(g->width, (uint32_t) lw);
        ay = plan_axis(g->height, (uint32_t) lh);
    }
    /* fractional rect in units of 1/den; the far image edge maps to the
     * level's edge, clipped to what the level stores */
    x0 = (uint64_t) p->rx * ax.num;
    y0 = (uint64_t) p->ry * ay.num;
    x1 = p->rx + p->rw == g->width ? ax.edge * ax.den
                                   : (uint64_t) (p->rx + p->rw) * ax.num;
    y1 = p->ry + p->rh == g->height ? ay.edge * ay.den
                                    : (uint64_t) (p->ry + p->rh) * ay.num;
    /* unscaled at this level, one pixel past a floor-rounded level's
     * stored edge on an axis (IIIF's level is ceil(W / s), the stored one
     * floor(W / s)): the stored pixels are taken 1:1 and the last one is
     * repeated, rather than resampling the whole region by a pixel (which
     * moves every pixel of an edge tile against its neighbour's) */
    if (best != 0 && x0 % ax.den == 0 && y0 % ay.den == 0
        && x1 % ax.den == 0 && y1 % ay.den == 0
        && (x1 - x0) / ax.den == p->out_w && (y1 - y0) / ay.den == p->out_h
        && x0 / ax.den < lw && y0 / ay.den < lh
        && x1 / ax.den <= lw + 1 && y1 / ay.den <= lh + 1
        && (x1 / ax.den > lw || y1 / ay.den > lh))
    {
        p->pad_w = x1 / ax.den > lw ? 1 : 0;
        p->pad_h = y1 / ay.den > lh ? 1 : 0;
    }
    if (x1 > lw * ax.den) {
        x1 = lw * ax.den;
    }
    if (y1 > lh * ay.den) {
        y1 = lh * ay.den;
    }
    /* a sliver beyond a floor-rounded level: its last stored pixel */
    if (x1 <= x0) {
        x0 = (lw - 1) * ax.den;
        x1 = lw * ax.den;
    }
    if (y1 <= y0) {
        y0 = (lh - 1) * ay.den;
        y1 = lh * ay.den;
    }
    p->sx0 = (double) x0 / (double) ax.den;
    p->sy0 = (double) y0 / (double) ay.den;
    p->sx1 = (double) x1 / (double) ax.den;
    p->sy1 = (double) y1 / (double) ay.den;
    lx0 = x0 / ax.den;
    ly0 = y0 / ay.den;
    lx1 = plan_ceil_div(x1, ax.den);
    ly1 = plan_ceil_div(y1, ay.den);
    if (lx0 >= lw) {
        lx0 = lw - 1;
    }
    if (ly0 >= lh) {
        ly0 = lh - 1;
    }
    if (lx1 <= lx0) {
        lx1 = lx0 + 1;
    }
    if (ly1 <= ly0) {
        ly1 = ly0 + 1;
    }
    p->lx = (uint32_t) lx0;
    p->ly = (uint32_t) ly0;
    p->lw = (uint32_t) (lx1 - lx0);
    p->lh = (uint32_t) (ly1 - ly0);

    /* exactly one stored tile: unscaled, starting on the grid, full tile
     * or the partial one at the level's edge */
    p->is_stored_tile = 0;
    p->tile_col = p->tile_row = 0;
    {
        uint32_t tw = g->levels[best].tile_w, th = g->levels[best].tile_h;

        if (tw != 0 && th != 0 && g->levels[best].shrink <= 1
            && p->mirror == 0 && p->rotation == 0.0
            && x0 % ax.den == 0 && y0 % ay.den == 0
            && p->out_w == p->lw && p->out_h == p->lh
            && p->lx % tw == 0 && p->ly % th == 0
            && p->lw == (tw < lw - p->lx ? tw : lw - p->lx)
            && p->lh == (th < lh - p->ly ? th : lh - p->ly))
        {
            p->is_stored_tile = 1;
            p->tile_col = p->lx / tw;
            p->tile_row = p->ly / th;
        }
    }
}


/* Bounding box of a w x h image turned by deg degrees. Quarter turns are
 * exact; other angles round |w cos| + |h sin| up (a 1e-6 tolerance keeps
 * exact integers), so that the whole turned image fits. */
static void
plan_rotate(vl_plan_t *p)
{
    double d = p->rotation;

    if (d == 0.0 || d == 180.0) {
        p->final_w = p->out_w;
        p->final_h = p->out_h;
    } else if (d == 90.0 || d == 270.0) {
        p->final_w = p->out_h;
        p->final_h = p->out_w;
    } else {
        double rad = d * M_PI / 180.0;
        double c = fabs(cos(rad)), s = fabs(sin(rad));
        double fw = ceil(p->out_w * c + p->out_h * s - 1e-6);
        double fh = ceil(p->out_w * s + p->out_h * c - 1e-6);

        p->final_w = fw < 1.0 ? 1 : (uint32_t) fw;
        p->final_h = fh < 1.0 ? 1 : (uint32_t) fh;
    }
}


/* Shortest decimal that reads back as v ("90", "22.5"), in the form the
 * grammar takes: digits, '.', digits; no exponent, no trailing zero.
 * Fixed notation with n decimals is tried for growing n only up to where
 * it could help: the shortest round-trip has at most 17 significant
 * digits, so n never needs more than 17 - 1 - (the decimal exponent of
 * v); %.17g, the first 17 significant digits, always reads back. */
static char *
plan_number(vl_pool_t *pool, double v)
{
    char buf[400];
    int  exp10, maxdec;

    if (v == floor(v)) {
        return vl_pool_printf(pool, "%.0f", v);
    }
    snprintf(buf, sizeof(buf), "%.16e", v);
    exp10 = atoi(strchr(buf, 'e') + 1);
    maxdec = 17 - 1 - exp10;
    if (maxdec > 340) {
        maxdec = 340;
    }
    for (int dec = 1; dec <= maxdec; dec++) {
        snprintf(buf, sizeof(buf), "%.*f", dec, v);
        if (strtod(buf, NULL) == v) {
            break;
        }
    }
    /* no trailing zeros (a fraction of 17 digits can end with one) */
    for (size_t n = strlen(buf); n > 1 && buf[n - 1] == '0'; n--) {
        buf[n - 1] = '\0';
    }
    if (buf[strlen(buf) - 1] == '.') {
        buf[strlen(buf) - 1] = '\0';
    }
    return vl_pool_strdup(pool, buf);
}


static int
plan_canonical(vl_pool_t *pool, const vl_iiif_req_t *req,
               const vl_geom_t *g, const vl_limits_t *l, vl_plan_t *p,
               vl_err_t *err)
{
    char     region[64], size[48];
    char    *rot;
    uint32_t mw, mh;
    int      up = p->out_w > p->rw || p->out_h > p->rh;

    if (p->rx == 0 && p->ry == 0 && p->rw == g->width && p->rh == g->height) {
        snprintf(region, sizeof(region), "full");
    } else {
        snprintf(region, sizeof(region), "%u,%u,%u,%u", p->rx, p->ry, p->rw,
                 p->rh);
    }
    if (req->version >= 3) {
        plan_max_size(p->rw, p->rh, l, up, &mw, &mh);
        if (p->out_w == mw && p->out_h == mh) {
            snprintf(size, sizeof(size), "%smax", up ? "^" : "");
        } else {
            snprintf(size, sizeof(size), "%s%u,%u", up ? "^" : "", p->out_w,
                     p->out_h);
        }
    } else if (p->out_w == p->rw && p->out_h == p->rh) {
        snprintf(size, sizeof(size), "full");
    } else if (plan_h_of_w(p->out_w, p, g) == p->out_h) {
        snprintf(size, sizeof(size), "%u,", p->out_w);
    } else {
        snprintf(size, sizeof(size), "%u,%u", p->out_w, p->out_h);
    }
    rot = plan_number(pool, p->rotation);
    p->canonical = rot == NULL ? NULL
                   : vl_pool_printf(pool, "%s/%s/%s%s/%s.%s", region, size,
                                    p->mirror ? "!" : "", rot,
                                    vl_quality_name(p->quality),
                                    vl_format_ext(p->format));
    if (p->canonical == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    return VL_OK;
}


int
vl_plan_build(vl_pool_t *pool, const vl_iiif_req_t *req,
              const vl_geom_t *geom, const vl_limits_t *limits,
              vl_plan_t *plan, vl_err_t *err)
{
    int rc;

    memset(plan, 0, sizeof(*plan));
    if (req->kind != VL_IIIF_IMAGE) {
        return vl_err_set(err, VL_EINTERNAL, "not an image request");
    }
    if (geom->width == 0 || geom->height == 0 || geom->nlevels == 0
        || geom->nlevels > VL_MAX_LEVELS)
    {
        return vl_err_set(err, VL_EFORMAT, "image has no pixels");
    }
    if (geom->width > PLAN_DIM_MAX || geom->height > PLAN_DIM_MAX) {
        return vl_err_set(err, VL_EUNSUPP, "image dimensions too large");
    }
    if (req->version < 3 && req->size.upscale) {
        return vl_err_set(err, VL_EBADREQ, "'^' is not part of API 2.1");
    }
    if (req->version >= 3 && req->size.v2_full) {
        return vl_err_set(err, VL_EBADREQ, "size 'full' is not API 3.0");
    }
    rc = plan_region(req, geom, plan, err);
    if (rc == VL_OK) {
        rc = plan_size(req, geom, limits, plan, err);
    }
    if (rc != VL_OK) {
        return rc;
    }
    plan->mirror = req->rotation.mirror;
    plan->rotation = req->rotation.degrees >= 360.0
                         ? req->rotation.degrees - 360.0
                         : req->rotation.degrees;
    if (plan->rotation < 0.0 || plan->rotation >= 360.0) {
        return vl_err_set(err, VL_EBADREQ, "invalid rotation");
    }
    plan->quality = req->quality == VL_QUALITY_NATIVE ? VL_QUALITY_DEFAULT
                                                       : req->quality;
    plan->format = req->format;
    plan_rotate(plan);
    plan_level(geom, limits, plan);
    return plan_canonical(pool, req, geom, limits, plan, err);
}


size_t
vl_plan_scale_factors(const vl_geom_t *geom, uint32_t *out, size_t max)
{
    uint64_t tw = geom->levels[0].tile_w, th = geom->levels[0].tile_h;
    uint64_t big = geom->width > geom->height ? geom->width : geom->height;
    size_t   n = 0;

    if (tw == 0 || th == 0) {
        tw = th = PLAN_UNTILED;
    }
    if (geom->width == 0 || geom->height == 0) {
        return 0;
    }
    for (uint64_t s = 1; n < max && s <= UINT32_MAX; s *= 2) {
        out[n++] = (uint32_t) s;
        if ((plan_ceil_div(geom->width, s) <= tw
             && plan_ceil_div(geom->height, s) <= th)
            || s >= big)
        {
            break;
        }
    }
    return n;
}
