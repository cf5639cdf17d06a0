/* SPDX-License-Identifier: MIT */
/*
 * fuzz_plan: the planner (proto/plan.c), random requests on random
 * geometry. Input: width, height (u32 each, kept to 2^24), tile size
 * (u16), a flags byte (floor-rounded levels, bands, upscaling, API
 * version), the number of levels (u8), three limits (u16 each, 0 = none),
 * then the request parameters "{region}/{size}/{rotation}/{quality}.{fmt}".
 * A plan that is built must be inside the image and its level, within the
 * limits, and its canonical form must plan to itself: the same request
 * (region, size, rotation to the bit) and the same canonical text.
 */
#include "config.h"

#include "core/pool.h"
#include "proto/iiif.h"
#include "proto/plan.h"
#include "fuzz.h"

static void
plan_geom(fuzz_in_t *in, vl_geom_t *g, int *version, vl_limits_t *l)
{
    uint32_t w = fuzz_u32(in) & 0xffffff, h = fuzz_u32(in) & 0xffffff;
    uint32_t t = fuzz_u16(in);
    uint8_t  flags = fuzz_u8(in), want = fuzz_u8(in);
    uint32_t lw, lh;

    memset(g, 0, sizeof(*g));
    memset(l, 0, sizeof(*l));
    g->width = lw = w;
    g->height = lh = h;
    g->bands = 1 + (flags >> 1 & 3);
    g->has_alpha = g->bands == 2 || g->bands == 4;
    for (;;) {
        vl_level_t *lv = &g->levels[g->nlevels++];

        lv->width = lw;
        lv->height = lh;
        lv->tile_w = lv->tile_h = t;
        lv->base = g->nlevels - 1;
        lv->shrink = 1;
        if (g->nlevels >= VL_MAX_LEVELS || g->nlevels > want
            || (t != 0 && lw <= t && lh <= t)) {
            break;
        }
        lw = flags & 1 ? lw / 2 : (lw + 1) / 2;
        lh = flags & 1 ? lh / 2 : (lh + 1) / 2;
        if (lw == 0 || lh == 0) {
            break;
        }
    }
    l->allow_upscaling = flags >> 3 & 1;
    *version = flags >> 4 & 1 ? 2 : 3;
    l->max_width = fuzz_u16(in);
    l->max_height = fuzz_u16(in);
    l->max_area = (uint64_t) fuzz_u16(in) * 64;
    l->oversample = 1.0 + (flags >> 5);
}

static int
plan_one(vl_pool_t *pool, const char *params, size_t len, int version,
         const vl_geom_t *g, const vl_limits_t *l, vl_iiif_req_t *req,
         vl_plan_t *p)
{
    char    *path = vl_pool_alloc(pool, len + 4);
    vl_err_t err = { 0 };
    int      rc;

    if (path == NULL) {
        return -1;
    }
    memcpy(path, "id/", 3);
    memcpy(path + 3, params, len);
    path[len + 3] = '\0';
    memset(req, 0, sizeof(*req));
    rc = vl_iiif_parse(pool, (vl_str_t) { len + 3, path }, version, req,
                       &err);
    if (rc != VL_OK || req->kind != VL_IIIF_IMAGE) {
        return -1;
    }
    rc = vl_plan_build(pool, req, g, l, p, &err);
    return rc == VL_OK ? 0 : -1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t      in = { data, size };
    vl_geom_t      g;
    vl_limits_t    l;
    int            version;
    vl_pool_t     *pool;
    vl_iiif_req_t  req, req2;
    vl_plan_t      p, p2;
    const vl_level_t *lv;

    plan_geom(&in, &g, &version, &l);
    if ((pool = vl_pool_create(4096)) == NULL) {
        return 0;
    }
    if (plan_one(pool, (const char *) in.p, in.n, version, &g, &l, &req, &p)
        != 0) {
        vl_pool_destroy(pool);
        return 0;
    }
    FUZZ_CHECK(p.rw >= 1 && p.rh >= 1 && p.rx + (uint64_t) p.rw <= g.width
                   && p.ry + (uint64_t) p.rh <= g.height,
               "region %u,%u,%u,%u outside %ux%u", p.rx, p.ry, p.rw, p.rh,
               g.width, g.height);
    FUZZ_CHECK(p.level < g.nlevels, "level %u of %u", p.level, g.nlevels);
    lv = &g.levels[p.level];
    FUZZ_CHECK(p.lw >= 1 && p.lh >= 1 && p.lx + (uint64_t) p.lw <= lv->width
                   && p.ly + (uint64_t) p.lh <= lv->height,
               "level rect %u,%u,%u,%u outside %ux%u", p.lx, p.ly, p.lw,
               p.lh, lv->width, lv->height);
    FUZZ_CHECK(p.out_w >= 1 && p.out_h >= 1 && p.final_w >= 1
                   && p.final_h >= 1, "empty output");
    FUZZ_CHECK(l.max_width == 0 || p.out_w <= l.max_width,
               "width %u over %llu", p.out_w,
               (unsigned long long) l.max_width);
    FUZZ_CHECK(l.max_area == 0
                   || (uint64_t) p.out_w * p.out_h <= l.max_area,
               "area %ux%u over %llu", p.out_w, p.out_h,
               (unsigned long long) l.max_area);
    FUZZ_CHECK(p.canonical != NULL, "no canonical form");
    /* the canonical form is a request that plans to itself */
    FUZZ_CHECK(plan_one(pool, p.canonical, strlen(p.canonical), version, &g,
                        &l, &req2, &p2) == 0,
               "canonical '%s' of '%.*s' does not plan", p.canonical,
               (int) in.n, (const char *) in.p);
    FUZZ_CHECK(strcmp(p.canonical, p2.canonical) == 0,
               "canonical '%s' plans to '%s'", p.canonical, p2.canonical);
    FUZZ_CHECK(p.rx == p2.rx && p.ry == p2.ry && p.rw == p2.rw
                   && p.rh == p2.rh && p.out_w == p2.out_w
                   && p.out_h == p2.out_h && p.mirror == p2.mirror,
               "canonical '%s' is another request", p.canonical);
    FUZZ_CHECK(p.rotation == p2.rotation,
               "rotation %.17g reads back as %.17g ('%s')", p.rotation,
               p2.rotation, p.canonical);
    vl_pool_destroy(pool);
    return 0;
}
