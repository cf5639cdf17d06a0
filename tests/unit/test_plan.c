/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the planner: level choice, every size form, the edge tiles
 * a viewer asks for at every scale factor, '^' and upscaling rules, limits
 * (never clamped), regions, rotation bounding boxes, canonical URIs of both
 * API versions, stored-tile detection and info.json scale factors.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "proto/plan.h"

/* Pyramid of w x h with tile t: every level halves (ceil, or floor when
 * floor_levels), down to the first level that fits in one tile. */
static vl_geom_t
mkgeom(uint32_t w, uint32_t h, uint32_t t, int floor_levels)
{
    vl_geom_t g;
    uint32_t  lw = w, lh = h;

    memset(&g, 0, sizeof(g));
    g.width = w;
    g.height = h;
    g.bands = 3;
    for (;;) {
        vl_level_t *lv = &g.levels[g.nlevels++];

        lv->width = lw;
        lv->height = lh;
        lv->tile_w = lv->tile_h = t;
        if (t == 0 || (lw <= t && lh <= t) || g.nlevels == VL_MAX_LEVELS) {
            break;
        }
        lw = floor_levels ? lw / 2 : (lw + 1) / 2;
        lh = floor_levels ? lh / 2 : (lh + 1) / 2;
        if (lw == 0 || lh == 0) {
            break;
        }
    }
    return g;
}

static vl_limits_t
mklimits(uint64_t mw, uint64_t mh, uint64_t ma, int up)
{
    vl_limits_t l;

    memset(&l, 0, sizeof(l));
    l.max_width = mw;
    l.max_height = mh;
    l.max_area = ma;
    l.allow_upscaling = up;
    l.oversample = 1.0;
    return l;
}

/* Parse "id/<params>" for version and plan it. */
static int
plan(vl_pool_t *pool, const vl_geom_t *g, const vl_limits_t *l,
     int version, const char *params, vl_plan_t *p, vl_err_t *err)
{
    vl_iiif_req_t req;
    char         *path = vl_pool_printf(pool, "id/%s", params);
    int           rc;

    assert_non_null(path);
    rc = vl_iiif_parse(pool, vl_str_from(path), version, &req, err);
    if (rc != VL_OK) {
        print_error("parse '%s': %s\n", path, err->msg);
        fail();
    }
    assert_int_equal(req.kind, VL_IIIF_IMAGE);
    return vl_plan_build(pool, &req, g, l, p, err);
}

static void
plan_ok(vl_pool_t *pool, const vl_geom_t *g, const vl_limits_t *l,
        int version, const char *params, vl_plan_t *p)
{
    vl_err_t err = { 0 };
    int      rc = plan(pool, g, l, version, params, p, &err);

    if (rc != VL_OK) {
        print_error("v%d '%s': %s\n", version, params, err.msg);
    }
    assert_int_equal(rc, VL_OK);
}

static void
test_level_choice(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(4096, 4096, 256, 0);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    vl_plan_t   p;
    static const struct {
        const char *params;
        double      os;
        uint32_t    level;
    } cases[] = {
        { "full/max/0/default.jpg", 1.0, 0 },
        { "full/2048,/0/default.jpg", 1.0, 1 },
        { "full/1024,/0/default.jpg", 1.0, 2 },
        { "full/1000,/0/default.jpg", 1.0, 2 },
        { "full/1025,/0/default.jpg", 1.0, 1 },
        { "full/256,/0/default.jpg", 1.0, 4 },
        { "full/100,/0/default.jpg", 1.0, 4 },
        { "full/4095,/0/default.jpg", 1.0, 0 },
        { "0,0,2048,2048/256,/0/default.jpg", 1.0, 3 },
        { "0,0,2048,2048/257,/0/default.jpg", 1.0, 2 },
        /* oversampling: the level must be 1.5 x the output */
        { "full/1024,/0/default.jpg", 1.5, 1 },
        { "full/682,/0/default.jpg", 1.5, 2 },
        { "full/683,/0/default.jpg", 1.5, 1 },
        { "full/3000,/0/default.jpg", 1.5, 0 },
        /* 90 degrees: the output is still judged before rotation */
        { "0,0,2048,1024/512,256/90/default.jpg", 1.0, 2 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        l.oversample = cases[i].os;
        plan_ok(pool, &g, &l, 3, cases[i].params, &p);
        if (p.level != cases[i].level) {
            print_error("'%s' os %.1f: level %u\n", cases[i].params,
                        cases[i].os, p.level);
        }
        assert_int_equal(p.level, cases[i].level);
    }

    /* the region at the chosen level */
    l.oversample = 1.0;
    plan_ok(pool, &g, &l, 3, "1024,512,2048,1024/512,256/0/default.jpg", &p);
    assert_int_equal(p.level, 2);
    assert_true(p.sx0 == 256.0 && p.sy0 == 128.0);
    assert_true(p.sx1 == 768.0 && p.sy1 == 384.0);
    assert_int_equal(p.lx, 256);
    assert_int_equal(p.ly, 128);
    assert_int_equal(p.lw, 512);
    assert_int_equal(p.lh, 256);

    /* a fractional region: the read rect covers it */
    plan_ok(pool, &g, &l, 3, "3,5,1001,1003/250,250/0/default.jpg", &p);
    assert_int_equal(p.level, 2);
    assert_true(p.sx0 == 0.75 && p.sy0 == 1.25);
    assert_true(p.sx1 == 251.0 && p.sy1 == 252.0);
    assert_int_equal(p.lx, 0);
    assert_int_equal(p.ly, 1);
    assert_int_equal(p.lw, 251);
    assert_int_equal(p.lh, 251);
    vl_pool_destroy(pool);
}

static void
test_sizes(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(1000, 500, 256, 0);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    vl_plan_t   p;
    static const struct {
        int         version;
        const char *params;
        uint32_t    w, h;
    } cases[] = {
        { 3, "full/max/0/default.jpg", 1000, 500 },
        { 3, "full/500,/0/default.jpg", 500, 250 },
        { 3, "full/333,/0/default.jpg", 333, 167 },     /* 166.5 up */
        { 3, "full/,100/0/default.jpg", 200, 100 },
        { 3, "full/,333/0/default.jpg", 666, 333 },
        { 3, "full/pct:50/0/default.jpg", 500, 250 },
        { 3, "full/pct:12.5/0/default.jpg", 125, 63 },  /* 62.5 up */
        { 3, "full/pct:100/0/default.jpg", 1000, 500 },
        { 3, "full/300,100/0/default.jpg", 300, 100 },
        { 3, "full/1000,1/0/default.jpg", 1000, 1 },
        { 3, "full/!300,300/0/default.jpg", 300, 150 },
        { 3, "full/!300,100/0/default.jpg", 200, 100 },
        { 3, "full/!2000,2000/0/default.jpg", 1000, 500 },
        { 3, "full/1,/0/default.jpg", 1, 1 },           /* 0.5 up */
        { 3, "0,0,1000,1/,1/0/default.jpg", 1000, 1 },
        /* a power-of-two reduction of a region ending at the edge is a
         * tile: it keeps its one pixel row */
        { 3, "0,499,1000,1/125,/0/default.jpg", 125, 1 },
        { 2, "full/full/0/default.jpg", 1000, 500 },
        { 2, "full/max/0/default.jpg", 1000, 500 },
        { 2, "full/500,/0/default.jpg", 500, 250 },
        { 2, "full/,100/0/default.jpg", 200, 100 },
        { 2, "full/pct:10/0/default.jpg", 100, 50 },
        { 2, "full/300,100/0/default.jpg", 300, 100 },
        { 2, "full/!300,300/0/default.jpg", 300, 150 },
        { 2, "full/!2000,2000/0/default.jpg", 1000, 500 },
        { 2, "0,0,100,300/50,/0/default.jpg", 50, 150 },
    };
    static const struct {
        int         version;
        const char *params;
    } bad[] = {
        { 3, "full/1001,/0/default.jpg" },
        { 3, "full/,501/0/default.jpg" },
        { 3, "full/1001,500/0/default.jpg" },
        { 3, "full/1000,501/0/default.jpg" },
        { 3, "full/10,1000/0/default.jpg" },
        { 3, "0,0,10,10/11,11/0/default.jpg" },
        { 3, "full/pct:0.01/0/default.jpg" },           /* 0.1 x 0.05 px */
        { 3, "0,0,1000,1/400,/0/default.jpg" },         /* 0.4 high */
        { 3, "0,0,1000,1/1,/0/default.jpg" },           /* 0.001 high */
        { 2, "full/1001,/0/default.jpg" },
        { 2, "full/pct:101/0/default.jpg" },
        { 2, "full/1000,501/0/default.jpg" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        plan_ok(pool, &g, &l, cases[i].version, cases[i].params, &p);
        if (p.out_w != cases[i].w || p.out_h != cases[i].h) {
            print_error("v%d '%s': %ux%u\n", cases[i].version,
                        cases[i].params, p.out_w, p.out_h);
        }
        assert_int_equal(p.out_w, cases[i].w);
        assert_int_equal(p.out_h, cases[i].h);
        assert_int_equal(p.final_w, cases[i].w);
        assert_int_equal(p.final_h, cases[i].h);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vl_err_t err = { 0 };
        int      rc = plan(pool, &g, &l, bad[i].version, bad[i].params, &p,
                           &err);

        if (rc != VL_EBADREQ) {
            print_error("v%d '%s': rc %d\n", bad[i].version, bad[i].params,
                        rc);
        }
        assert_int_equal(rc, VL_EBADREQ);
        assert_true(err.msg[0] != '\0');
    }
    vl_pool_destroy(pool);
}

/* Every tile of every scale factor as a viewer asks for it: v2 "w," with
 * w = ceil((W - x) / s) at the edges, v3 "w,h". The bottom-right corner
 * tile can be the same v2 request at two scale factors (a 1-px column
 * whose height fits both): it answers as the smaller one. */
static void
walk_tiles(uint32_t W, uint32_t H, uint32_t t, int floor_levels)
{
    vl_pool_t  *pool = vl_pool_create(1 << 16);
    vl_geom_t   g = mkgeom(W, H, t, floor_levels);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    uint32_t    sf[40];
    size_t      nsf = vl_plan_scale_factors(&g, sf, 40);
    size_t      ntiles = 0, ncorner = 0;
    struct {
        uint32_t x, y, rw, rh, ew, eh;
    } corner[40];

    assert_true(nsf >= 1);
    for (size_t k = 0; k < nsf; k++) {
        uint32_t s = sf[k];

        assert_int_equal(s, 1u << k);
        for (uint32_t y = 0; y < H; y += t * s) {
            for (uint32_t x = 0; x < W; x += t * s) {
                uint32_t rw = t * s < W - x ? t * s : W - x;
                uint32_t rh = t * s < H - y ? t * s : H - y;
                uint32_t ew = (rw + s - 1) / s, eh = (rh + s - 1) / s;
                uint32_t eh2 = eh;
                int      again = 0;
                char     params[128];
                vl_plan_t p;

                if (x + rw == W && y + rh == H) {
                    for (size_t c = 0; c < ncorner; c++) {
                        if (corner[c].x == x && corner[c].y == y
                            && corner[c].rw == rw && corner[c].rh == rh
                            && corner[c].ew == ew) {
                            eh2 = corner[c].eh;
                            again = 1;
                        }
                    }
                    if (!again && ncorner < 40) {
                        corner[ncorner].x = x;
                        corner[ncorner].y = y;
                        corner[ncorner].rw = rw;
                        corner[ncorner].rh = rh;
                        corner[ncorner].ew = ew;
                        corner[ncorner++].eh = eh;
                    }
                }
                for (int v = 2; v <= 3; v++) {
                    if (v == 2) {
                        snprintf(params, sizeof(params),
                                 "%u,%u,%u,%u/%u,/0/default.jpg", x, y, rw,
                                 rh, ew);
                    } else {
                        snprintf(params, sizeof(params),
                                 "%u,%u,%u,%u/%u,%u/0/default.jpg", x, y,
                                 rw, rh, ew, eh);
                    }
                    plan_ok(pool, &g, &l, v, params, &p);
                    if ((v == 2 && again) || (rw == 1 && rh == 1)) {
                        /* the same request as at a smaller scale factor;
                         * or the one corner pixel, which every level
                         * holds (the smallest serves it) */
                        assert_int_equal(p.out_w, ew);
                        assert_int_equal(p.out_h, v == 2 ? eh2 : eh);
                        continue;
                    }
                    if (p.out_w != ew || p.out_h != eh || p.level != k) {
                        print_error("%ux%u t%u s%u v%d '%s': %ux%u level "
                                    "%u\n", W, H, t, s, v, params, p.out_w,
                                    p.out_h, p.level);
                    }
                    assert_int_equal(p.out_w, ew);
                    assert_int_equal(p.out_h, eh);
                    assert_int_equal(p.level, k);
                    if (!floor_levels) {
                        /* the level region covers the output exactly and
                         * is the stored tile */
                        assert_int_equal(p.lw, ew);
                        assert_int_equal(p.lh, eh);
                        assert_int_equal(p.is_stored_tile, 1);
                        assert_int_equal(p.pad_w + p.pad_h, 0);
                        assert_int_equal(p.tile_col, x / (t * s));
                        assert_int_equal(p.tile_row, y / (t * s));
                    } else {
                        /* a floor-rounded level may lack the last partial
                         * pixel, never more: the stored pixels are read
                         * 1:1 and the missing column / row is padded */
                        uint32_t lvw = g.levels[k].width;
                        uint32_t lvh = g.levels[k].height;

                        assert_true(p.lw + 1 >= ew && p.lw <= ew);
                        assert_true(p.lh + 1 >= eh && p.lh <= eh);
                        assert_true(p.lx + p.lw <= lvw);
                        assert_true(p.ly + p.lh <= lvh);
                        assert_int_equal(p.lw + p.pad_w, ew);
                        assert_int_equal(p.lh + p.pad_h, eh);
                        assert_int_equal(p.pad_w, x / s + ew > lvw);
                        assert_int_equal(p.pad_h, y / s + eh > lvh);
                        assert_int_equal(p.lx, x / s);
                        assert_int_equal(p.ly, y / s);
                        assert_true(p.sx0 == p.lx && p.sx1 == p.lx + p.lw);
                        assert_true(p.sy0 == p.ly && p.sy1 == p.ly + p.lh);
                        /* every tile the level holds whole is still the
                         * stored tile */
                        assert_int_equal(p.is_stored_tile,
                                         p.pad_w == 0 && p.pad_h == 0);
                    }
                    ntiles++;
                }
            }
        }
    }
    assert_true(ntiles > 0);
    vl_pool_destroy(pool);
}

/* Only an unscaled request past a floor-rounded level's edge is padded:
 * a scaled one (a thumbnail, a region to another size) is resampled from
 * the stored pixels as before. */
static void
test_floor_pad(void **state)
{
    vl_pool_t  *pool = vl_pool_create(1 << 16);
    vl_geom_t   g = mkgeom(14645, 12158, 256, 1);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    vl_plan_t   p;

    (void) state;
    /* level 1 is 7322x6079 (IIIF: 7323x6079) */
    plan_ok(pool, &g, &l, 2, "14336,0,309,512/155,/0/default.jpg", &p);
    assert_int_equal(p.level, 1);
    assert_int_equal(p.lx, 7168);
    assert_int_equal(p.lw, 154);
    assert_int_equal(p.pad_w, 1);
    assert_int_equal(p.pad_h, 0);
    assert_int_equal(p.is_stored_tile, 0);
    /* level 2 is 3661x3039 (IIIF: 3662x3040): both */
    plan_ok(pool, &g, &l, 3, "14336,11264,309,894/78,224/0/default.jpg", &p);
    assert_int_equal(p.level, 2);
    assert_int_equal(p.lw, 77);
    assert_int_equal(p.lh, 223);
    assert_int_equal(p.pad_w, 1);
    assert_int_equal(p.pad_h, 1);
    /* the stored part alone: 1:1, nothing to pad */
    plan_ok(pool, &g, &l, 2, "14336,0,308,512/154,/0/default.jpg", &p);
    assert_int_equal(p.pad_w + p.pad_h, 0);
    /* scaled requests reaching the edge are resampled */
    plan_ok(pool, &g, &l, 3, "full/1000,/0/default.jpg", &p);
    assert_int_equal(p.pad_w + p.pad_h, 0);
    plan_ok(pool, &g, &l, 3, "14336,11264,309,894/70,/0/default.jpg", &p);
    assert_int_equal(p.pad_w + p.pad_h, 0);
    /* level 0 never */
    plan_ok(pool, &g, &l, 3, "14592,12032,53,126/max/0/default.jpg", &p);
    assert_int_equal(p.level, 0);
    assert_int_equal(p.pad_w + p.pad_h, 0);
    assert_int_equal(p.is_stored_tile, 1);
    vl_pool_destroy(pool);
}

static void
test_edge_tiles(void **state)
{
    (void) state;
    walk_tiles(1001, 737, 256, 0);
    walk_tiles(1001, 737, 512, 0);
    walk_tiles(737, 1001, 256, 0);
    walk_tiles(14645, 12158, 256, 0);
    walk_tiles(14645, 12158, 512, 0);
    walk_tiles(1001, 737, 256, 1);
    walk_tiles(14645, 12158, 256, 1);
    /* a 1-px column and row at the right and bottom edges */
    walk_tiles(4097, 3000, 256, 0);
    walk_tiles(4097, 4097, 256, 0);
    walk_tiles(3000, 4097, 512, 0);
    walk_tiles(8100, 4051, 256, 1);
}

/* Every ",h" and every "w," of the full region of a few images: ",h" is
 * the rounded ratio, always (a viewer asks for no tile by height; Mirador
 * asks ",120" for thumbnails); "w," is the rounded ratio too, except at the
 * widths of the pyramid's levels, ceil(W / 2^k), where it is the level's
 * height ceil(H / 2^k), as a viewer's tile at that scale factor is. The
 * canonical form of each reads back as the same size. */
static void
walk_sizes(uint32_t W, uint32_t H)
{
    vl_geom_t   g = mkgeom(W, H, 256, 0);
    vl_limits_t l = mklimits(0, 0, 0, 0);

    for (int v = 2; v <= 3; v++) {
        for (int by_h = 0; by_h <= 1; by_h++) {
            uint32_t n = by_h ? H : W;

            for (uint32_t k = 1; k <= n; k++) {
                vl_pool_t *pool = vl_pool_create(1024);
                uint64_t   other = by_h ? (2 * (uint64_t) k * W + H) / (2 * H)
                                        : (2 * (uint64_t) k * H + W) / (2 * W);
                uint32_t   ew = by_h ? (uint32_t) other : k;
                uint32_t   eh = by_h ? k : (uint32_t) other;
                char       params[64];
                vl_plan_t  p, q;
                vl_err_t   err = { 0 };
                int        rc;

                assert_non_null(pool);
                if (!by_h) {
                    for (uint64_t s = 1; s < 2 * (uint64_t) W; s *= 2) {
                        if ((W + s - 1) / s == k) {
                            eh = (uint32_t) ((H + s - 1) / s);
                        }
                    }
                }
                snprintf(params, sizeof(params),
                         by_h ? "full/,%u/0/default.jpg"
                              : "full/%u,/0/default.jpg", k);
                rc = plan(pool, &g, &l, v, params, &p, &err);
                if (ew == 0 || eh == 0) {
                    assert_int_equal(rc, VL_EBADREQ);
                    vl_pool_destroy(pool);
                    continue;
                }
                if (rc != VL_OK || p.out_w != ew || p.out_h != eh) {
                    fail_msg("%ux%u v%d '%s': rc %d, %ux%u, want %ux%u", W,
                             H, v, params, rc, p.out_w, p.out_h, ew, eh);
                }
                /* the canonical form is the same size again */
                plan_ok(pool, &g, &l, v, p.canonical, &q);
                if (q.out_w != ew || q.out_h != eh) {
                    fail_msg("%ux%u v%d '%s': canonical '%s' gives %ux%u", W,
                             H, v, params, p.canonical, q.out_w, q.out_h);
                }
                vl_pool_destroy(pool);
            }
        }
    }
}

static void
test_size_rounding(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(8100, 4050, 256, 0);
    vl_geom_t   m = mkgeom(2700, 1350, 256, 0);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    vl_plan_t   p;

    (void) state;
    /* what Mirador found: ",120" of 8100 x 4050 was 239 wide */
    plan_ok(pool, &g, &l, 3, "full/,120/0/default.jpg", &p);
    assert_int_equal(p.out_w, 240);
    assert_int_equal(p.out_h, 120);
    assert_string_equal(p.canonical, "full/240,120/0/default.jpg");
    plan_ok(pool, &m, &l, 3, "full/,43/0/default.jpg", &p);
    assert_int_equal(p.out_w, 86);
    plan_ok(pool, &m, &l, 3, "full/,32/0/default.jpg", &p);
    assert_int_equal(p.out_w, 64);
    plan_ok(pool, &m, &l, 2, "full/,43/0/default.jpg", &p);
    assert_int_equal(p.out_w, 86);
    assert_string_equal(p.canonical, "full/86,/0/default.jpg");
    /* a level size by width: the level */
    plan_ok(pool, &m, &l, 2, "full/85,/0/default.jpg", &p);
    assert_int_equal(p.out_h, 43);
    /* a level rounded down, listed in info.json: its height, not the
     * ratio (2025.5) */
    {
        vl_geom_t f = mkgeom(8100, 4051, 256, 1);

        assert_int_equal(f.levels[1].width, 4050);
        assert_int_equal(f.levels[1].height, 2025);
        plan_ok(pool, &f, &l, 2, "full/4050,/0/default.jpg", &p);
        assert_int_equal(p.out_h, 2025);
        assert_string_equal(p.canonical, "full/4050,/0/default.jpg");
        plan_ok(pool, &f, &l, 3, "full/4050,/0/default.jpg", &p);
        assert_string_equal(p.canonical, "full/4050,2025/0/default.jpg");
    }
    vl_pool_destroy(pool);

    walk_sizes(8100, 4050);
    walk_sizes(2700, 1350);
    walk_sizes(1001, 737);
    walk_sizes(737, 1001);
    walk_sizes(14645, 12158);
    walk_sizes(3000, 7);
}

static void
test_upscale_v3(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(1000, 500, 256, 0);
    vl_limits_t on = mklimits(5000, 0, 0, 1);
    vl_limits_t off = mklimits(5000, 0, 0, 0);
    vl_plan_t   p;
    vl_err_t    err = { 0 };

    (void) state;
    plan_ok(pool, &g, &on, 3, "full/^2000,/0/default.jpg", &p);
    assert_int_equal(p.out_w, 2000);
    assert_int_equal(p.out_h, 1000);
    assert_string_equal(p.canonical, "full/^2000,1000/0/default.jpg");
    plan_ok(pool, &g, &on, 3, "full/^pct:120/0/default.jpg", &p);
    assert_int_equal(p.out_w, 1200);
    assert_int_equal(p.out_h, 600);
    plan_ok(pool, &g, &on, 3, "full/^!2000,2000/0/default.jpg", &p);
    assert_int_equal(p.out_w, 2000);
    assert_int_equal(p.out_h, 1000);
    plan_ok(pool, &g, &on, 3, "full/^max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 5000);
    assert_int_equal(p.out_h, 2500);
    assert_string_equal(p.canonical, "full/^max/0/default.jpg");
    /* '^' allows, it does not require */
    plan_ok(pool, &g, &off, 3, "full/^500,/0/default.jpg", &p);
    assert_int_equal(p.out_w, 500);
    assert_string_equal(p.canonical, "full/500,250/0/default.jpg");
    plan_ok(pool, &g, &off, 3, "full/^max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 1000);
    assert_int_equal(p.out_h, 500);
    assert_string_equal(p.canonical, "full/max/0/default.jpg");

    /* without '^': 400, whatever the server allows */
    assert_int_equal(plan(pool, &g, &on, 3, "full/2000,/0/default.jpg", &p,
                          &err), VL_EBADREQ);
    vl_err_clear(&err);
    assert_int_equal(plan(pool, &g, &on, 3, "full/1000,501/0/default.jpg",
                          &p, &err), VL_EBADREQ);
    vl_err_clear(&err);
    /* with '^' on a server that does not upscale: 501 */
    assert_int_equal(plan(pool, &g, &off, 3, "full/^2000,/0/default.jpg", &p,
                          &err), VL_EUNSUPP);
    vl_err_clear(&err);
    assert_int_equal(plan(pool, &g, &off, 3, "full/^pct:120/0/default.jpg",
                          &p, &err), VL_EUNSUPP);
    vl_err_clear(&err);
    assert_int_equal(plan(pool, &g, &off, 3,
                          "full/^!2000,2000/0/default.jpg", &p, &err),
                     VL_EUNSUPP);
    vl_err_clear(&err);
    /* beyond the limits: 400, never clamped */
    assert_int_equal(plan(pool, &g, &on, 3, "full/^6000,7000/0/default.jpg",
                          &p, &err), VL_ELIMIT);
    assert_int_equal(p.out_w, 0);
    vl_err_clear(&err);
    assert_int_equal(plan(pool, &g, &on, 3, "full/^5001,/0/default.jpg", &p,
                          &err), VL_ELIMIT);
    vl_pool_destroy(pool);
}

static void
test_upscale_v2(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(1000, 500, 256, 0);
    vl_limits_t on = mklimits(5000, 0, 0, 1);
    vl_limits_t off = mklimits(5000, 0, 0, 0);
    vl_limits_t small = mklimits(800, 0, 0, 0);
    vl_plan_t   p;
    vl_err_t    err = { 0 };

    (void) state;
    assert_int_equal(plan(pool, &g, &off, 2, "full/2000,/0/default.jpg", &p,
                          &err), VL_EBADREQ);
    vl_err_clear(&err);
    assert_int_equal(plan(pool, &g, &off, 2, "full/pct:150/0/default.jpg",
                          &p, &err), VL_EBADREQ);
    vl_err_clear(&err);
    plan_ok(pool, &g, &on, 2, "full/2000,/0/default.jpg", &p);
    assert_int_equal(p.out_w, 2000);
    assert_int_equal(p.out_h, 1000);
    assert_string_equal(p.canonical, "full/2000,/0/default.jpg");
    plan_ok(pool, &g, &on, 2, "full/pct:150/0/default.jpg", &p);
    assert_int_equal(p.out_w, 1500);
    assert_int_equal(p.out_h, 750);
    plan_ok(pool, &g, &on, 2, "full/!2000,2000/0/default.jpg", &p);
    assert_int_equal(p.out_w, 2000);
    assert_int_equal(p.out_h, 1000);
    assert_int_equal(plan(pool, &g, &on, 2, "full/6000,/0/default.jpg", &p,
                          &err), VL_ELIMIT);
    vl_err_clear(&err);
    /* "full" is the region size, still under the limits */
    assert_int_equal(plan(pool, &g, &small, 2, "full/full/0/default.jpg", &p,
                          &err), VL_ELIMIT);
    vl_err_clear(&err);
    plan_ok(pool, &g, &small, 2, "full/max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 800);
    assert_int_equal(p.out_h, 400);
    assert_string_equal(p.canonical, "full/800,/0/default.jpg");
    vl_pool_destroy(pool);
}

static void
test_limits(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(20000, 10000, 256, 0);
    vl_limits_t lw = mklimits(5000, 0, 0, 1);
    vl_limits_t lh = mklimits(5000, 3000, 0, 1);
    vl_limits_t la = mklimits(0, 0, 1000000, 1);
    vl_plan_t   p;
    vl_err_t    err = { 0 };
    uint32_t    w, h;

    (void) state;
    plan_ok(pool, &g, &lw, 3, "full/5000,/0/default.jpg", &p);
    assert_int_equal(p.out_h, 2500);
    assert_int_equal(plan(pool, &g, &lw, 3, "full/5001,/0/default.jpg", &p,
                          &err), VL_ELIMIT);
    vl_err_clear(&err);
    /* maxHeight defaults to maxWidth */
    assert_int_equal(plan(pool, &g, &lw, 3, "full/,5001/0/default.jpg", &p,
                          &err), VL_ELIMIT);
    vl_err_clear(&err);
    plan_ok(pool, &g, &lh, 3, "full/,2500/0/default.jpg", &p);
    assert_int_equal(p.out_w, 5000);
    assert_int_equal(plan(pool, &g, &lh, 3, "full/,3000/0/default.jpg", &p,
                          &err), VL_ELIMIT);        /* 6000 wide */
    vl_err_clear(&err);
    plan_ok(pool, &g, &lh, 3, "0,0,1000,10000/,3000/0/default.jpg", &p);
    assert_int_equal(p.out_w, 300);
    assert_int_equal(plan(pool, &g, &lh, 3,
                          "0,0,1000,10000/,3001/0/default.jpg", &p, &err),
                     VL_ELIMIT);
    vl_err_clear(&err);
    assert_int_equal(plan(pool, &g, &la, 3, "full/1500,1000/0/default.jpg",
                          &p, &err), VL_ELIMIT);
    vl_err_clear(&err);
    plan_ok(pool, &g, &la, 3, "full/1000,1000/0/default.jpg", &p);
    assert_int_equal(p.out_w * p.out_h, 1000000);

    /* max under the limits */
    plan_ok(pool, &g, &lw, 3, "full/max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 5000);
    assert_int_equal(p.out_h, 2500);
    assert_string_equal(p.canonical, "full/max/0/default.jpg");
    plan_ok(pool, &g, &lh, 3, "full/max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 5000);
    assert_int_equal(p.out_h, 2500);
    plan_ok(pool, &g, &lh, 3, "0,0,10000,10000/max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 3000);
    assert_int_equal(p.out_h, 3000);
    plan_ok(pool, &g, &la, 3, "full/max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 1414);
    assert_int_equal(p.out_h, 707);
    /* ^max grows a small region up to the limits */
    plan_ok(pool, &g, &la, 3, "0,0,100,100/^max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 1000);
    assert_int_equal(p.out_h, 1000);
    assert_string_equal(p.canonical, "0,0,100,100/^max/0/default.jpg");
    plan_ok(pool, &g, &lh, 3, "0,0,100,100/^max/0/default.jpg", &p);
    assert_int_equal(p.out_w, 3000);
    assert_int_equal(p.out_h, 3000);
    /* !w,h fits inside the limits by definition (3.0 section 4.2) */
    plan_ok(pool, &g, &lw, 3, "full/!8000,8000/0/default.jpg", &p);
    assert_int_equal(p.out_w, 5000);
    assert_int_equal(p.out_h, 2500);

    /* vl_plan_max_size directly */
    vl_plan_max_size(20000, 10000, &lw, &w, &h);
    assert_int_equal(w, 5000);
    assert_int_equal(h, 2500);
    vl_plan_max_size(100, 50, &lw, &w, &h);
    assert_int_equal(w, 100);
    assert_int_equal(h, 50);
    vl_plan_max_size(3000, 9000, &lh, &w, &h);
    assert_int_equal(w, 1000);
    assert_int_equal(h, 3000);
    vl_plan_max_size(100000, 1, &lw, &w, &h);
    assert_int_equal(w, 5000);
    assert_int_equal(h, 1);
    la.max_area = 1;
    vl_plan_max_size(100000, 3, &la, &w, &h);
    assert_int_equal(w, 1);
    assert_int_equal(h, 1);
    la.max_area = 999999;
    vl_plan_max_size(1000, 1000, &la, &w, &h);
    assert_true((uint64_t) w * h <= 999999);
    assert_int_equal(w, 999);
    assert_int_equal(h, 999);
    vl_pool_destroy(pool);
}

static void
test_regions(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   land = mkgeom(1001, 737, 256, 0);
    vl_geom_t   port = mkgeom(737, 1001, 256, 0);
    vl_geom_t   sq = mkgeom(512, 512, 256, 0);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    vl_plan_t   p;
    static const struct {
        const char *region;
        uint32_t    x, y, w, h;
    } cases[] = {
        { "full", 0, 0, 1001, 737 },
        { "square", 132, 0, 737, 737 },
        { "pct:0,0,100,100", 0, 0, 1001, 737 },
        { "pct:10,10,50,50", 100, 74, 501, 368 },
        { "pct:50,50,100,100", 501, 369, 500, 368 },
        { "pct:0,0,0.01,0.01", 0, 0, 1, 1 },
        { "pct:99.9,0,50,50", 1000, 0, 1, 369 },
        { "0,0,1001,737", 0, 0, 1001, 737 },
        { "1000,700,10,100", 1000, 700, 1, 37 },
        { "0,0,99999,99999", 0, 0, 1001, 737 },
    };
    static const char *const bad[] = {
        "1001,0,10,10", "0,737,10,10", "5000,5000,1,1", "pct:100,0,10,10",
        "pct:0,100,10,10", "pct:150,0,10,10",
    };
    char params[128];

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(params, sizeof(params), "%s/max/0/default.jpg",
                 cases[i].region);
        plan_ok(pool, &land, &l, 3, params, &p);
        if (p.rx != cases[i].x || p.ry != cases[i].y || p.rw != cases[i].w
            || p.rh != cases[i].h)
        {
            print_error("'%s': %u,%u,%u,%u\n", cases[i].region, p.rx, p.ry,
                        p.rw, p.rh);
        }
        assert_int_equal(p.rx, cases[i].x);
        assert_int_equal(p.ry, cases[i].y);
        assert_int_equal(p.rw, cases[i].w);
        assert_int_equal(p.rh, cases[i].h);
        assert_int_equal(p.out_w, cases[i].w);
        assert_int_equal(p.out_h, cases[i].h);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vl_err_t err = { 0 };

        snprintf(params, sizeof(params), "%s/max/0/default.jpg", bad[i]);
        assert_int_equal(plan(pool, &land, &l, 3, params, &p, &err),
                         VL_EBADREQ);
        assert_non_null(strstr(err.msg, "outside"));
    }
    plan_ok(pool, &port, &l, 3, "square/max/0/default.jpg", &p);
    assert_int_equal(p.rx, 0);
    assert_int_equal(p.ry, 132);
    assert_int_equal(p.rw, 737);
    assert_int_equal(p.rh, 737);
    assert_string_equal(p.canonical, "0,132,737,737/max/0/default.jpg");
    plan_ok(pool, &sq, &l, 3, "square/max/0/default.jpg", &p);
    assert_string_equal(p.canonical, "full/max/0/default.jpg");
    plan_ok(pool, &land, &l, 2, "pct:0,0,100,100/full/0/default.jpg", &p);
    assert_string_equal(p.canonical, "full/full/0/default.jpg");
    vl_pool_destroy(pool);
}

static void
test_rotation(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(1000, 500, 256, 0);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    vl_plan_t   p;
    static const struct {
        const char *rot;
        uint32_t    w, h;
        int         mirror;
        double      deg;
    } cases[] = {
        { "0", 1000, 500, 0, 0 },
        { "!0", 1000, 500, 1, 0 },
        { "90", 500, 1000, 0, 90 },
        { "!90", 500, 1000, 1, 90 },
        { "180", 1000, 500, 0, 180 },
        { "270", 500, 1000, 0, 270 },
        { "360", 1000, 500, 0, 0 },
        { "45", 1061, 1061, 0, 45 },        /* 1500 * 0.7071 = 1060.66 */
        { "30", 1117, 934, 0, 30 },         /* 1116.03 and 933.01 */
        { "!22.5", 1116, 845, 1, 22.5 },    /* 1115.21 and 844.60 */
    };
    char params[128];

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(params, sizeof(params), "full/max/%s/default.png",
                 cases[i].rot);
        plan_ok(pool, &g, &l, 3, params, &p);
        if (p.final_w != cases[i].w || p.final_h != cases[i].h) {
            print_error("rotation %s: %ux%u\n", cases[i].rot, p.final_w,
                        p.final_h);
        }
        assert_int_equal(p.out_w, 1000);
        assert_int_equal(p.out_h, 500);
        assert_int_equal(p.final_w, cases[i].w);
        assert_int_equal(p.final_h, cases[i].h);
        assert_int_equal(p.mirror, cases[i].mirror);
        assert_true(p.rotation == cases[i].deg);
    }
    vl_pool_destroy(pool);
}

static void
test_canonical(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(1000, 500, 256, 0);
    vl_limits_t l = mklimits(5000, 0, 0, 1);
    vl_plan_t   p;
    static const struct {
        int         version;
        const char *in, *out;
    } cases[] = {
        { 3, "full/max/0/default.jpg", "full/max/0/default.jpg" },
        { 3, "0,0,1000,500/1000,500/0/default.jpg",
          "full/max/0/default.jpg" },
        { 3, "0,0,5000,5000/max/0/default.jpg", "full/max/0/default.jpg" },
        { 3, "full/500,/0/default.jpg", "full/500,250/0/default.jpg" },
        { 3, "full/pct:50/90/color.png", "full/500,250/90/color.png" },
        { 3, "square/,100/!22.50/gray.jpg",
          "250,0,500,500/100,100/!22.5/gray.jpg" },
        { 3, "pct:0,0,50,50/max/360/bitonal.png",
          "0,0,500,250/max/0/bitonal.png" },
        { 3, "full/^max/0/default.jpg", "full/^max/0/default.jpg" },
        { 3, "full/^1500,/0/default.jpg", "full/^1500,750/0/default.jpg" },
        { 3, "full/^1000,/0/default.jpg", "full/max/0/default.jpg" },
        { 3, "full/!300,300/180/default.png",
          "full/300,150/180/default.png" },
        { 3, "10,20,30,40/30,40/0.25/default.jpg",
          "10,20,30,40/max/0.25/default.jpg" },
        { 3, "10,20,30,40/15,/090/default.jpg",
          "10,20,30,40/15,20/90/default.jpg" },
        /* the rotation in the shortest decimal that reads back as the
         * same double, never an exponent (fuzz_plan: %.17f gave
         * "0.02494566666666270", another double) */
        { 3, "0,0,956,26/max/0.0249456666666627041/default.jpg",
          "0,0,956,26/max/0.024945666666662702/default.jpg" },
        { 3, "full/max/0.3/default.jpg", "full/max/0.3/default.jpg" },
        { 3, "full/max/12.345678901234567/default.jpg",
          "full/max/12.345678901234567/default.jpg" },
        { 3, "full/max/0.00000000000000000000000001/default.jpg",
          "full/max/0.00000000000000000000000001/default.jpg" },
        { 3, "full/max/0.0000010/default.jpg",
          "full/max/0.000001/default.jpg" },
        { 3, "full/max/359.99999999999999/default.jpg",
          "full/max/0/default.jpg" },
        { 2, "full/full/0/native.jpg", "full/full/0/default.jpg" },
        { 2, "full/max/0/default.jpg", "full/full/0/default.jpg" },
        { 2, "full/500,/0/default.jpg", "full/500,/0/default.jpg" },
        { 2, "full/,250/0/color.jpg", "full/500,/0/color.jpg" },
        { 2, "full/500,100/0/default.jpg", "full/500,100/0/default.jpg" },
        { 2, "full/pct:50/!90/gray.png", "full/500,/!90/gray.png" },
        { 2, "full/!300,300/0/default.jpg", "full/300,/0/default.jpg" },
        { 2, "10,10,100,100/full/0/default.jpg",
          "10,10,100,100/full/0/default.jpg" },
        { 2, "full/2000,/0/bitonal.jpg", "full/2000,/0/bitonal.jpg" },
        { 2, "square/100,100/0/default.jpg",
          "250,0,500,500/100,/0/default.jpg" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        plan_ok(pool, &g, &l, cases[i].version, cases[i].in, &p);
        if (strcmp(p.canonical, cases[i].out) != 0) {
            print_error("v%d '%s' -> '%s'\n", cases[i].version, cases[i].in,
                        p.canonical);
        }
        assert_string_equal(p.canonical, cases[i].out);
    }
    plan_ok(pool, &g, &l, 2, "full/full/0/native.jpg", &p);
    assert_int_equal(p.quality, VL_QUALITY_DEFAULT);
    vl_pool_destroy(pool);
}

static void
test_stored_tile(void **state)
{
    vl_pool_t  *pool = vl_pool_create(4096);
    vl_geom_t   g = mkgeom(1001, 737, 256, 0);
    vl_geom_t   strips = mkgeom(1001, 737, 0, 0);
    vl_limits_t l = mklimits(0, 0, 0, 0);
    vl_plan_t   p;
    static const struct {
        const char *params;
        int         stored;
        uint32_t    level, col, row;
    } cases[] = {
        { "256,256,256,256/256,256/0/default.jpg", 1, 0, 1, 1 },
        { "0,0,256,256/max/0/default.jpg", 1, 0, 0, 0 },
        { "768,512,233,225/233,225/0/default.jpg", 1, 0, 3, 2 },
        { "768,512,233,225/max/0/gray.png", 1, 0, 3, 2 },
        { "512,512,489,225/245,113/0/default.jpg", 1, 1, 1, 1 },
        { "0,0,1001,737/251,185/0/default.jpg", 1, 2, 0, 0 },
        { "256,256,256,256/128,128/0/default.jpg", 0, 1, 0, 0 },
        { "0,0,256,256/255,255/0/default.jpg", 0, 0, 0, 0 },
        { "0,0,256,256/256,256/90/default.jpg", 0, 0, 0, 0 },
        { "0,0,256,256/256,256/!0/default.jpg", 0, 0, 0, 0 },
        { "0,0,256,256/256,256/180/default.jpg", 0, 0, 0, 0 },
        { "1,0,256,256/256,256/0/default.jpg", 0, 0, 0, 0 },
        { "0,0,200,200/200,200/0/default.jpg", 0, 0, 0, 0 },
        { "0,0,512,256/512,256/0/default.jpg", 0, 0, 0, 0 },
        { "768,512,232,225/232,225/0/default.jpg", 0, 0, 0, 0 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        plan_ok(pool, &g, &l, 3, cases[i].params, &p);
        if (p.is_stored_tile != cases[i].stored) {
            print_error("'%s': stored %d level %u\n", cases[i].params,
                        p.is_stored_tile, p.level);
        }
        assert_int_equal(p.is_stored_tile, cases[i].stored);
        assert_int_equal(p.level, cases[i].level);
        if (cases[i].stored) {
            assert_int_equal(p.tile_col, cases[i].col);
            assert_int_equal(p.tile_row, cases[i].row);
        }
    }
    plan_ok(pool, &strips, &l, 3, "0,0,256,256/256,256/0/default.jpg", &p);
    assert_int_equal(p.is_stored_tile, 0);
    vl_pool_destroy(pool);
}

static void
test_scale_factors(void **state)
{
    static const struct {
        uint32_t w, h, t;
        size_t   n;
    } cases[] = {
        { 1001, 737, 256, 3 },          /* 1 2 4: 251 x 185 */
        { 737, 1001, 256, 3 },
        { 14645, 12158, 256, 7 },       /* 1 .. 64: 229 x 190 */
        { 14645, 12158, 512, 6 },       /* 1 .. 32: 458 x 380 */
        { 256, 256, 256, 1 },
        { 257, 10, 256, 2 },
        { 100, 10000, 256, 7 },         /* 1 .. 64: the tall side rules */
        { 1000, 1000, 0, 2 },           /* untiled: 512 */
    };
    uint32_t sf[40];

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_geom_t g = mkgeom(cases[i].w, cases[i].h, cases[i].t, 0);
        size_t    n = vl_plan_scale_factors(&g, sf, 40);

        if (n != cases[i].n) {
            print_error("%ux%u t%u: %zu factors\n", cases[i].w, cases[i].h,
                        cases[i].t, n);
        }
        assert_int_equal(n, cases[i].n);
        for (size_t k = 0; k < n; k++) {
            assert_int_equal(sf[k], 1u << k);
        }
    }
    /* the 14645 pyramid: level 4 is 916 wide, and still scale factor 16 */
    {
        vl_geom_t g = mkgeom(14645, 12158, 256, 0);

        assert_int_equal(g.levels[4].width, 916);
        assert_int_equal(vl_plan_scale_factors(&g, sf, 40), 7);
        assert_int_equal(sf[4], 16);
        assert_int_equal(vl_plan_scale_factors(&g, sf, 3), 3);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_level_choice),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_edge_tiles),
        cmocka_unit_test(test_floor_pad),
        cmocka_unit_test(test_size_rounding),
        cmocka_unit_test(test_upscale_v3),
        cmocka_unit_test(test_upscale_v2),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_regions),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_stored_tile),
        cmocka_unit_test(test_scale_factors),
    };

    return cmocka_run_group_tests_name("plan", tests, NULL, NULL);
}
