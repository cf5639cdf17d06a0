/* SPDX-License-Identifier: MIT */
/*
 * test_budget: the request budget's estimate (vl_source_cost), from the
 * declared geometry only, on the tiny JPEG 2000 bombs of mkbomb (65535 x
 * 65535, 16 bits, one tile) and on ordinary fixtures; the deadline of
 * core/deadline.c; the budget derived from the options.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config.h"

#include "core/conf.h"
#include "core/deadline.h"
#include "core/pool.h"
#include "proto/iiif.h"
#include "proto/plan.h"
#include "serve/render.h"
#include "source/source.h"
#include "fixture.h"

/* Code-blocks of 64 x 64 of one 65535 x 65535 component over its six
 * resolutions: 1024 x 1024 of them (the bands tile the samples). */
#define BOMB_CBLKS (1024u * 1024u)

static vl_source_t *
open_fx(const char *name)
{
    vl_err_t     err = { 0 };
    vl_source_t *src = vl_source_open_path(vl_fx_path(name), &err);

    if (src == NULL) {
        fail_msg("%s: %s", name, err.msg);
    }
    return src;
}

static void
cost_of(vl_source_t *src, uint32_t level, vl_rect_t r, uint32_t rows,
        vl_cost_t *c)
{
    vl_err_t err = { 0 };

    assert_int_equal(vl_source_cost(src, level, &r, rows, 1, c, &err),
                     VL_OK);
}

/* Any decode of an untiled bomb builds the code-block structures of the
 * whole tile: a 256 x 256 area at the smallest resolution needs as much
 * memory as the whole 2048 x 2048 level, over 400 MB, nothing decoded. */
static void
test_bomb_structures(void **state)
{
    const char *names[] = { "bomb.j2k", "bomb.jp2" };

    (void) state;
    for (size_t i = 0; i < 2; i++) {
        vl_source_t *src = open_fx(names[i]);
        vl_cost_t    c;

        assert_int_equal(vl_source_info(src)->geom.width, 65535);
        assert_int_equal(vl_source_info(src)->geom.levels[5].width, 2048);
        cost_of(src, 5, VL_RECT(0, 0, 256, 256), 512, &c);
        assert_true(c.bytes >= (uint64_t) BOMB_CBLKS * VL_COST_CBLK_BYTES);
        assert_true(c.bytes < (uint64_t) BOMB_CBLKS * VL_COST_CBLK_BYTES
                                  + ((uint64_t) 8 << 20));
        /* set-up work counts too: 256 x 256 pixels and the structures */
        assert_true(c.pixels >= 65536 + (uint64_t) BOMB_CBLKS
                                            * VL_COST_CBLK_WORK);
        vl_source_put(NULL, src);
    }
}

/* Three components: three times the structures. */
static void
test_bomb_components(void **state)
{
    vl_source_t *src = open_fx("bomb3.j2k");
    vl_cost_t    c;

    (void) state;
    cost_of(src, 5, VL_RECT(0, 0, 256, 256), 512, &c);
    assert_true(c.bytes >= (uint64_t) 3 * BOMB_CBLKS * VL_COST_CBLK_BYTES);
    vl_source_put(NULL, src);
}

/* No decomposition levels: one stored level, the smaller ones box-shrunk
 * from it, so a 256 x 256 thumbnail decodes all 65535 x 65535 pixels. */
static void
test_bomb_no_levels(void **state)
{
    vl_source_t            *src = open_fx("bomb0.j2k");
    const vl_source_info_t *info = vl_source_info(src);
    uint32_t                last = info->geom.nlevels - 1;
    vl_cost_t               c;

    (void) state;
    assert_true(info->geom.levels[last].width <= 256);
    cost_of(src, last,
            VL_RECT(0, 0, info->geom.levels[last].width,
                    info->geom.levels[last].height),
            512, &c);
    assert_true(c.pixels >= (uint64_t) 65535 * 65535);
    vl_source_put(NULL, src);
}

/* A stored TIFF tile costs exactly that tile; a rectangle across four
 * tiles, four; strips are counted at the full width. */
static void
test_tiff_tiles(void **state)
{
    vl_source_t *src = open_fx("rgb-deflate.tif");
    vl_source_t *strip = open_fx("strip.tif");
    vl_cost_t    c;

    (void) state;
    cost_of(src, 0, VL_RECT(0, 0, 256, 256), 256, &c);
    assert_int_equal(c.pixels, 256 * 256);
    assert_int_equal(c.bytes, 256 * 256 * 3 * 2);
    cost_of(src, 0, VL_RECT(200, 200, 100, 100), 256, &c);
    assert_int_equal(c.pixels, 4 * 256 * 256);
    cost_of(strip, 0, VL_RECT(10, 20, 5, 20), 16, &c);
    assert_int_equal(c.pixels, 2 * 500 * 16);   /* rows 16..47: two strips */
    vl_source_put(NULL, src);
    vl_source_put(NULL, strip);
}

/* An ordinary untiled JP2 tile: its own pixels and small structures. */
static void
test_jp2_tile(void **state)
{
    vl_source_t *src = open_fx("rgb.jp2");
    vl_cost_t    c;

    (void) state;
    cost_of(src, 0, VL_RECT(0, 0, 256, 256), 512, &c);
    assert_true(c.pixels >= 256 * 256);
    assert_true(c.pixels < 8 * 256 * 256);
    assert_true(c.bytes < ((uint64_t) 8 << 20));
    vl_source_put(NULL, src);
}

/* The whole request: the pipeline's buffers on top of the reads. */
static void
render_cost_of(vl_source_t *src, const vl_conf_t *conf, const char *req,
               vl_plan_t *plan, vl_cost_t *c)
{
    vl_pool_t    *pool = vl_pool_create(16384);
    vl_iiif_req_t ir;
    vl_err_t      err = { 0 };
    char          path[256];

    snprintf(path, sizeof(path), "x/%s", req);
    assert_int_equal(vl_iiif_parse(pool, vl_str_from(path), 3, &ir, &err),
                     VL_OK);
    assert_int_equal(vl_plan_build(pool, &ir, &vl_source_info(src)->geom,
                                   &conf->limits, plan, &err),
                     VL_OK);
    assert_int_equal(vl_render_cost(src, plan, &conf->output, c, &err),
                     VL_OK);
    vl_pool_destroy(pool);
}

static void
test_render_cost(void **state)
{
    vl_err_t     err = { 0 };
    vl_conf_t   *conf = vl_conf_load_env(NULL, NULL, NULL, &err);
    vl_source_t *src = open_fx("rgb-deflate.tif");
    vl_plan_t    p0, p90, pw;
    vl_cost_t    c0, c90, cw;
    uint64_t     fin;

    (void) state;
    render_cost_of(src, conf, "full/max/0/default.jpg", &p0, &c0);
    render_cost_of(src, conf, "full/max/90/default.jpg", &p90, &c90);
    render_cost_of(src, conf, "full/max/0/default.webp", &pw, &cw);
    fin = (uint64_t) p0.final_w * p0.final_h;
    assert_int_equal(fin, 1001 * 737);
    /* decoded: the level-0 tiles (4 x 3 of 256), then the output */
    assert_int_equal(c0.pixels, 4 * 3 * 256 * 256 + fin);
    assert_int_equal(c90.pixels, c0.pixels);
    /* streamed: a tile row and the resampler's ring; turned: the whole
     * image and its turned copy too */
    assert_true(c0.bytes < fin * 3);
    assert_true(c90.bytes >= c0.bytes + fin * 3 * 2);
    /* webp keeps the whole image */
    assert_true(cw.bytes >= c0.bytes + fin * 3);
    vl_source_put(NULL, src);
    vl_conf_free(conf);
}

static int
gone_yes(void *user)
{
    (*(int *) user)++;
    return 1;
}

static void
test_deadline(void **state)
{
    vl_err_t        err = { 0 };
    int             polls = 0;
    struct timespec ts = { 0, 80 * 1000000L };

    (void) state;
    /* no deadline open: never stopped */
    assert_int_equal(vl_deadline_check(&err), VL_OK);
    vl_deadline_begin(0.05, NULL, NULL);
    assert_int_equal(vl_deadline_check(&err), VL_OK);
    nanosleep(&ts, NULL);
    assert_int_equal(vl_deadline_check(&err), VL_EBUSY);
    assert_non_null(strstr(err.msg, "timed out"));
    vl_deadline_end();
    assert_int_equal(vl_deadline_stop(), 0);
    /* the client is asked at most every VL_DEADLINE_POLL_MS */
    vl_err_clear(&err);
    vl_deadline_begin(0, gone_yes, &polls);
    assert_int_equal(vl_deadline_check(&err), VL_OK);
    assert_int_equal(polls, 0);
    nanosleep(&ts, NULL);
    assert_int_equal(vl_deadline_check(&err), VL_EBUSY);
    assert_int_equal(polls, 1);
    assert_non_null(strstr(err.msg, "client went away"));
    vl_deadline_end();
}

static void
test_conf_budget(void **state)
{
    char *const env[] = { "THREADS=6", "MAX_REQUEST_MEMORY=-1",
                          "REQUEST_TIMEOUT=7", NULL };
    char *const env2[] = { "THREADS=1", "HEAVY_THREADS=3",
                           "MAX_DECODE_PIXELS=1000", NULL };
    vl_err_t    err = { 0 };
    vl_conf_t  *c = vl_conf_load_env(NULL, NULL, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->budget.max_pixels, 300000000);
    assert_int_equal(c->budget.max_bytes, (uint64_t) 1024 << 20);
    assert_true(c->budget.timeout_s == 30.0);
    assert_int_equal(c->budget.heavy_threads, 2);    /* THREADS 4 / 2 */
    vl_conf_free(c);
    c = vl_conf_load_env(NULL, env, NULL, &err);
    assert_non_null(c);
    assert_int_equal(c->budget.max_bytes, 0);
    assert_true(c->budget.timeout_s == 7.0);
    assert_int_equal(c->budget.heavy_threads, 3);
    vl_conf_free(c);
    c = vl_conf_load_env(NULL, env2, NULL, &err);
    assert_non_null(c);
    assert_int_equal(c->budget.heavy_threads, 3);
    assert_int_equal(c->budget.max_pixels, 1000);
    vl_conf_free(c);
}

/* The heap of a large request goes back to the system once it and every
 * other large one have ended, not while one runs, not after small ones. */
static void
test_release_memory(void **state)
{
    vl_pool_t *a = vl_pool_create(1024), *b = vl_pool_create(1024),
              *c = vl_pool_create(1024);

    (void) state;
    (void) vl_source_release_memory();
    vl_source_note_cost(c, VL_SOURCE_TRIM_BYTES - 1); /* a tile's decode */
    vl_pool_destroy(c);
    assert_int_equal(vl_source_release_memory(), 0);
    vl_source_note_cost(a, VL_SOURCE_TRIM_BYTES);
    vl_source_note_cost(b, (uint64_t) 900 << 20);
    assert_int_equal(vl_source_release_memory(), 0);
    vl_pool_destroy(a);
    assert_int_equal(vl_source_release_memory(), 0); /* b still runs */
    vl_pool_destroy(b);
    assert_int_equal(vl_source_release_memory(), 1);
    assert_int_equal(vl_source_release_memory(), 0); /* once */
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bomb_structures),
        cmocka_unit_test(test_bomb_components),
        cmocka_unit_test(test_bomb_no_levels),
        cmocka_unit_test(test_tiff_tiles),
        cmocka_unit_test(test_jp2_tile),
        cmocka_unit_test(test_render_cost),
        cmocka_unit_test(test_deadline),
        cmocka_unit_test(test_conf_budget),
        cmocka_unit_test(test_release_memory),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
