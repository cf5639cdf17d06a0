/* SPDX-License-Identifier: MIT */
/*
 * test_depth16: the 16-bit read path and the depth decision. The fixtures
 * of tests/fixtures/depth16.h read at depth 2 give their exact 16-bit
 * samples (TIFF tiles and strips, MINISWHITE, alpha, planar, big-endian
 * files; JPEG 2000 of 16 and 12 bits); 8- and 16-bit reads of the same blocks, interleaved, never get
 * each other's cached blocks; a source that cannot read 16 bits refuses a
 * depth-2 buffer; vl_render_depth picks 16 bits only for a 16-bit source,
 * OUTPUT_BITS 16, a non-bitonal quality and a format that takes them.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "../fixtures/depth16.h"
#include "fixture.h"
#include "serve/render.h"
#include "source/source.h"

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

static uint16_t
px16(const vl_image_t *img, uint32_t x, uint32_t y, int b)
{
    return ((const uint16_t *) (const void *) VL_IMAGE_ROW(img, y))
        [(size_t) x * img->bands + b];
}

/* Read rectangle (x, y, w, h) of level 0 at `depth` into img. */
static void
read_rect(vl_pool_t *pool, vl_source_t *src, uint32_t level, uint32_t x,
          uint32_t y, uint32_t w, uint32_t h, int depth, vl_image_t *img)
{
    vl_err_t  err = { 0 };
    vl_rect_t r = VL_RECT(x, y, w, h);

    assert_int_equal(vl_image_new_depth(pool, w, h,
                                        vl_source_info(src)->geom.bands,
                                        depth, img, &err), VL_OK);
    if (vl_source_read(src, level, &r, img, &err) != VL_OK) {
        fail_msg("read: %s", err.msg);
    }
}

static void
test_tiff16_exact(void **state)
{
    static const struct {
        const char *name;
        int         bands;
    } cases[] = {
        { "d16-grey.tif", 1 }, { "d16-rgb.tif", 3 }, { "d16-rgba.tif", 4 },
        { "d16-white.tif", 1 }, { "d16-assoc.tif", 2 },
        { "d16-planar.tif", 3 }, { "d16-be.tif", 3 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_pool_t              *pool = vl_pool_create(4096);
        vl_source_t            *src = open_fx(cases[i].name);
        const vl_source_info_t *in = vl_source_info(src);
        int                     alpha = cases[i].bands % 2 == 0;
        vl_image_t              img;

        print_message("%s\n", cases[i].name);
        assert_int_equal(in->bits, 16);
        assert_int_equal(in->reads16, 1);
        assert_int_equal(in->geom.bands, cases[i].bands);
        /* a rectangle across tile and strip borders */
        read_rect(pool, src, 0, 5, 7, 20, 15, 2, &img);
        for (uint32_t y = 0; y < 15; y++) {
            for (uint32_t x = 0; x < 20; x++) {
                for (int b = 0; b < cases[i].bands; b++) {
                    uint32_t want = alpha && b == cases[i].bands - 1
                                        ? vl_d16_alpha(x + 5, y + 7)
                                        : vl_d16(x + 5, y + 7, b);
                    uint32_t got = px16(&img, x, y, b);

                    /* associated alpha: un-premultiplied, within 1 */
                    if (got != want && !(cases[i].bands == 2 && b == 0
                                         && (got + 1 == want
                                             || got == want + 1))) {
                        fail_msg("%s (%u,%u) band %d: %u, want %u",
                                 cases[i].name, x + 5, y + 7, b, got, want);
                    }
                }
            }
        }
        vl_source_put(NULL, src);
        vl_pool_destroy(pool);
    }
}

/* 8- and 16-bit reads of the same blocks through one handle (one tile
 * cache), interleaved: each gets its own depth's pixels. */
static void
test_depths_apart_in_cache(void **state)
{
    vl_pool_t   *pool = vl_pool_create(4096);
    vl_source_t *src = open_fx("d16-grey.tif");
    vl_image_t   a, b, c;

    (void) state;
    for (int k = 0; k < 2; k++) {
        read_rect(pool, src, 0, 0, 0, 32, 24, 1, &a);
        read_rect(pool, src, 0, 0, 0, 32, 24, 2, &b);
        read_rect(pool, src, 0, 3, 2, 20, 20, 1, &c);
        for (uint32_t y = 0; y < 24; y++) {
            for (uint32_t x = 0; x < 32; x++) {
                assert_int_equal(px16(&b, x, y, 0), vl_d16(x, y, 0));
                /* the 8-bit path: within one step of the rounded value */
                assert_true(abs((int) VL_IMAGE_ROW(&a, y)[x]
                                - (int) ((vl_d16(x, y, 0) * 255u + 32767u)
                                         / 65535u)) <= 1);
            }
        }
        assert_int_equal(VL_IMAGE_ROW(&c, 0)[0], VL_IMAGE_ROW(&a, 2)[3]);
    }
    vl_source_put(NULL, src);
    vl_pool_destroy(pool);
}

static void
test_jp2_16(void **state)
{
    vl_pool_t              *pool = vl_pool_create(4096);
    vl_source_t            *src = open_fx("d16-rgb.jp2");
    const vl_source_info_t *in = vl_source_info(src);
    vl_image_t              img;

    (void) state;
    assert_int_equal(in->bits, 16);
    assert_int_equal(in->reads16, 1);
    read_rect(pool, src, 0, 0, 0, 32, 24, 2, &img);
    for (uint32_t y = 0; y < 24; y++) {
        for (uint32_t x = 0; x < 32; x++) {
            for (int b = 0; b < 3; b++) {
                assert_int_equal(px16(&img, x, y, b), vl_d16(x, y, b));
            }
        }
    }
    /* the second resolution at 16 bits: the even samples of the ramp */
    read_rect(pool, src, 1, 0, 0, 16, 12, 2, &img);
    assert_int_equal(px16(&img, 4, 3, 1), vl_d16(8, 6, 1));
    /* and the same file at depth 1: rounded to nearest */
    read_rect(pool, src, 0, 0, 0, 32, 24, 1, &img);
    for (uint32_t x = 0; x < 32; x++) {
        assert_int_equal(VL_IMAGE_ROW(&img, 5)[x * 3 + 2],
                         (vl_d16(x, 5, 2) * 255u + 32767u) / 65535u);
    }
    vl_source_put(NULL, src);

    src = open_fx("d16-grey12.j2k");
    in = vl_source_info(src);
    assert_int_equal(in->bits, 16);
    assert_int_equal(in->reads16, 1);
    read_rect(pool, src, 0, 0, 0, 32, 24, 2, &img);
    for (uint32_t x = 0; x < 32; x++) {
        uint32_t u = vl_d16(x, 9, 0) >> 4;

        assert_int_equal(px16(&img, x, 9, 0), (u << 4) | (u >> 8));
    }
    vl_source_put(NULL, src);
    vl_pool_destroy(pool);
}

/* 8-bit sources read 8 bits only: a depth-2 buffer is a caller's bug. */
static void
test_8bit_refuses_depth2(void **state)
{
    vl_pool_t   *pool = vl_pool_create(4096);
    vl_source_t *src = open_fx("grey.tif");
    vl_image_t   img;
    vl_err_t     err = { 0 };
    vl_rect_t    r = VL_RECT(0, 0, 8, 8);

    (void) state;
    assert_int_equal(vl_source_info(src)->bits, 8);
    assert_int_equal(vl_source_info(src)->reads16, 0);
    assert_int_equal(vl_image_new_depth(pool, 8, 8, 1, 2, &img, &err),
                     VL_OK);
    assert_int_equal(vl_source_read(src, 0, &r, &img, &err), VL_EINTERNAL);
    vl_source_put(NULL, src);
    vl_pool_destroy(pool);
}

static void
test_render_depth(void **state)
{
    vl_source_info_t s16, s8;
    vl_output_t      on, off, zero;
    vl_plan_t        p;

    (void) state;
    memset(&s16, 0, sizeof(s16));
    s16.bits = 16;
    s16.reads16 = 1;
    s8 = s16;
    s8.reads16 = 0;
    memset(&on, 0, sizeof(on));
    on.output_bits = 16;
    off = on;
    off.output_bits = 8;
    memset(&zero, 0, sizeof(zero));
    memset(&p, 0, sizeof(p));
    p.format = VL_FORMAT_PNG;
    p.quality = VL_QUALITY_DEFAULT;
    assert_int_equal(vl_render_depth(&s16, &p, &on, 3), 2);
    assert_int_equal(vl_render_depth(&s16, &p, &on, 4), 2);
    assert_int_equal(vl_render_depth(&s16, &p, &off, 3), 1);
    assert_int_equal(vl_render_depth(&s16, &p, &zero, 3), 1);
    assert_int_equal(vl_render_depth(&s8, &p, &on, 3), 1);
    p.quality = VL_QUALITY_GRAY;
    assert_int_equal(vl_render_depth(&s16, &p, &on, 1), 2);
    p.quality = VL_QUALITY_COLOR;
    assert_int_equal(vl_render_depth(&s16, &p, &on, 3), 2);
    p.quality = VL_QUALITY_BITONAL;
    assert_int_equal(vl_render_depth(&s16, &p, &on, 1), 1);
    p.quality = VL_QUALITY_DEFAULT;
    p.format = VL_FORMAT_JPG;
    assert_int_equal(vl_render_depth(&s16, &p, &on, 3), 1);
    s16.bits = 8;
    p.format = VL_FORMAT_PNG;
    assert_int_equal(vl_render_depth(&s16, &p, &on, 3), 1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiff16_exact),
        cmocka_unit_test(test_depths_apart_in_cache),
        cmocka_unit_test(test_jp2_16),
        cmocka_unit_test(test_8bit_refuses_depth2),
        cmocka_unit_test(test_render_depth),
    };

    return cmocka_run_group_tests_name("depth16", tests, NULL, NULL);
}
