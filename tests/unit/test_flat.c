/* SPDX-License-Identifier: MIT */
/*
 * test_flat: flat JPEG and PNG sources through the source API (the
 * fixtures of tests/fixtures/mkflat.py): geometry (stored, DCT and
 * averaged levels), bits, bands, the EXIF orientation's sides, the ICC
 * profile, the statuses of oversized and truncated files, a damaged
 * handle staying broken, and sequential reads continuing the decode (a
 * read above the last one restarts it and still gives the same pixels).
 * Pixel values against independent decoders are in t_flat.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"

#include "pixel/image.h"
#include "source/source.h"
#include "source/source_p.h"
#include "fixture.h"

static char fx_buf[256];

static const char *
flat_path(const char *name)
{
    snprintf(fx_buf, sizeof(fx_buf), "flat/%s", name);
    return vl_fx_path(fx_buf);
}

static vl_source_t *
open_flat(const char *name, vl_err_t *err)
{
    return vl_source_open_path(flat_path(name), err);
}

static int
skip_without_fixtures(void)
{
    if (access(flat_path("rgb.jpg"), R_OK) != 0) {
        print_message("no flat fixtures (Pillow missing): skipped\n");
        return 1;
    }
    return 0;
}

static unsigned char *
read_rect(vl_source_t *src, uint32_t level, uint32_t x, uint32_t y,
          uint32_t w, uint32_t h, vl_err_t *err, int *rc)
{
    vl_image_t img;

    img.w = w;
    img.h = h;
    img.bands = vl_source_info(src)->geom.bands;
    img.depth = 1;
    img.stride = (size_t) w * (size_t) img.bands;
    img.data = malloc(img.stride * h);
    assert_non_null(img.data);
    *rc = vl_source_read(src, level, &VL_RECT(x, y, w, h), &img, err);
    return img.data;
}

static void
test_geometry(void **state)
{
    static const struct {
        const char *name;
        uint32_t    w, h, nlevels;
        int         bands, bits;
        const char *format;
    } cases[] = {
        /* 4 DCT levels (700 .. 88), nothing averaged: 88 <= 256 */
        { "rgb.jpg", 700, 500, 4, 3, 8, "jpeg" },
        { "grey.jpg", 700, 500, 4, 1, 8, "jpeg" },
        { "cmyk.jpg", 700, 500, 4, 3, 8, "jpeg" },
        { "prog.jpg", 700, 500, 4, 3, 8, "jpeg" },
        /* 300 wide: one averaged level, 150 */
        { "rgb8.png", 300, 290, 2, 3, 8, "png" },
        { "rgb16.png", 300, 290, 2, 3, 16, "png" },
        { "grey1.png", 300, 290, 2, 1, 8, "png" },
        { "ga16.png", 300, 290, 2, 2, 16, "png" },
        { "pal4-trns.png", 300, 290, 2, 4, 8, "png" },
        /* 1500: 750, 375, 188 */
        { "big.png", 1500, 1100, 4, 3, 8, "png" },
        /* upright: stored 200 x 300 */
        { "orient-6.jpg", 300, 200, 4, 3, 8, "jpeg" },
        { "orient-3.jpg", 300, 200, 4, 3, 8, "jpeg" },
    };

    (void) state;
    if (skip_without_fixtures()) {
        return;
    }
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_err_t                err = { 0 };
        vl_source_t            *src = open_flat(cases[i].name, &err);
        const vl_source_info_t *in;

        if (src == NULL) {
            fail_msg("%s: %s", cases[i].name, err.msg);
        }
        in = vl_source_info(src);
        print_message("%s\n", cases[i].name);
        assert_string_equal(in->format, cases[i].format);
        assert_int_equal(in->geom.width, cases[i].w);
        assert_int_equal(in->geom.height, cases[i].h);
        assert_int_equal(in->geom.nlevels, cases[i].nlevels);
        assert_int_equal(in->geom.bands, cases[i].bands);
        assert_int_equal(in->bits, cases[i].bits);
        for (uint32_t l = 1; l < in->geom.nlevels; l++) {
            uint32_t s = 1u << l;

            assert_int_equal(in->geom.levels[l].width,
                             (cases[i].w + s - 1) / s);
            assert_int_equal(in->geom.levels[l].height,
                             (cases[i].h + s - 1) / s);
        }
        vl_source_put(NULL, src);
    }
}

static void
test_icc(void **state)
{
    FILE         *f;
    long          n;
    unsigned char want[65536];

    (void) state;
    if (skip_without_fixtures()) {
        return;
    }
    assert_non_null(f = fopen(flat_path("icc.bin"), "rb"));
    n = (long) fread(want, 1, sizeof(want), f);
    fclose(f);
    assert_true(n > 100);
    for (int i = 0; i < 2; i++) {
        vl_err_t     err = { 0 };
        vl_source_t *src = open_flat(i ? "icc.png" : "icc.jpg", &err);

        assert_non_null(src);
        assert_int_equal(vl_source_info(src)->icc_len, (size_t) n);
        assert_memory_equal(vl_source_info(src)->icc, want, (size_t) n);
        vl_source_put(NULL, src);
    }
}

static void
test_bad_files(void **state)
{
    vl_err_t       err = { 0 };
    vl_source_t   *src;
    unsigned char *px;
    int            rc;

    (void) state;
    if (skip_without_fixtures()) {
        return;
    }
    /* more pixels than the limits: refused at open */
    assert_null(open_flat("huge.png", &err));
    assert_int_equal(err.code, VL_ELIMIT);
    assert_non_null(strstr(err.msg, "beyond the limits"));
    vl_err_clear(&err);
    assert_null(open_flat("huge-prog.jpg", &err));
    assert_int_equal(err.code, VL_ELIMIT);
    vl_err_clear(&err);
    /* interlaced, too large to decode whole: 415 */
    assert_null(open_flat("huge-interlaced.png", &err));
    assert_int_equal(err.code, VL_EFORMAT);
    assert_non_null(strstr(err.msg, "interlaced"));
    vl_err_clear(&err);
    /* truncated: the top reads, the missing part is a codec error, then
     * the handle is broken for good */
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "trunc-big.png" : "trunc-rgb.jpg";
        uint32_t    h;

        src = open_flat(name, &err);
        assert_non_null(src);
        h = vl_source_info(src)->geom.height;
        px = read_rect(src, 0, 0, 0, 16, 8, &err, &rc);
        free(px);
        assert_int_equal(rc, VL_OK);
        px = read_rect(src, 0, 0, h - 8, 16, 8, &err, &rc);
        free(px);
        assert_int_equal(rc, VL_ECODEC);
        assert_null(strchr(err.msg, '/'));
        vl_err_clear(&err);
        px = read_rect(src, 0, 0, 0, 16, 8, &err, &rc);
        free(px);
        assert_int_equal(rc, VL_ECODEC);
        vl_err_clear(&err);
        vl_source_put(NULL, src);
    }
}

/* A read above the last one starts the decode again: same pixels. */
static void
test_restart(void **state)
{
    (void) state;
    if (skip_without_fixtures()) {
        return;
    }
    for (int i = 0; i < 2; i++) {
        const char    *name = i ? "big.png" : "big.jpg";
        vl_err_t       err = { 0 };
        vl_source_t   *a = open_flat(name, &err);
        vl_source_t   *b = open_flat(name, &err);
        unsigned char *p1, *p2, *p3;
        int            rc;

        assert_non_null(a);
        assert_non_null(b);
        /* a: straight to row 700; b: the bottom first, then row 700 */
        p1 = read_rect(a, 0, 300, 700, 300, 50, &err, &rc);
        assert_int_equal(rc, VL_OK);
        p2 = read_rect(b, 0, 0, 1050, 1500, 50, &err, &rc);
        assert_int_equal(rc, VL_OK);
        p3 = read_rect(b, 0, 300, 700, 300, 50, &err, &rc);
        assert_int_equal(rc, VL_OK);
        assert_memory_equal(p1, p3, 300 * 50 * 3);
        free(p1);
        free(p2);
        free(p3);
        vl_source_put(NULL, a);
        vl_source_put(NULL, b);
    }
}

/* 16-bit reads of a 16-bit PNG: the file's samples exactly, and the
 * averaged level as the rounded mean of them. */
static void
test_16bit(void **state)
{
    FILE        *f;
    unsigned     w, h, bands, bits;
    uint16_t    *want;
    vl_err_t     err = { 0 };
    vl_source_t *src;
    vl_image_t   img;
    size_t       n;

    (void) state;
    if (skip_without_fixtures()) {
        return;
    }
    assert_non_null(f = fopen(flat_path("rgb16.png.expect"), "r"));
    assert_int_equal(fscanf(f, "%u %u %u %u", &w, &h, &bands, &bits), 4);
    assert_int_equal(bits, 16);
    n = (size_t) w * h * bands;
    assert_non_null(want = malloc(n * sizeof(*want)));
    for (size_t i = 0; i < n; i++) {
        unsigned v;

        assert_int_equal(fscanf(f, "%u", &v), 1);
        want[i] = (uint16_t) v;
    }
    fclose(f);
    assert_non_null(src = open_flat("rgb16.png", &err));
    assert_int_equal(vl_source_info(src)->bits, 16);
    img.w = w;
    img.h = h;
    img.bands = (int) bands;
    img.depth = 2;
    img.stride = (size_t) w * bands * 2;
    assert_non_null(img.data = malloc(img.stride * h));
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(0, 0, w, h), &img, &err),
                     VL_OK);
    assert_memory_equal(img.data, want, n * 2);
    /* level 1, (w + 1) / 2 x (h + 1) / 2: the 2 x 2 means */
    assert_int_equal(vl_source_read(src, 1,
                                    &VL_RECT(0, 0, (w + 1) / 2, (h + 1) / 2),
                                    &img, &err),
                     VL_OK);
    for (unsigned y = 0; y < (h + 1) / 2; y++) {
        for (unsigned x = 0; x < (w + 1) / 2; x++) {
            for (unsigned c = 0; c < bands; c++) {
                uint64_t s = 0, k = 0;

                for (unsigned yy = 2 * y; yy < 2 * y + 2 && yy < h; yy++) {
                    for (unsigned xx = 2 * x; xx < 2 * x + 2 && xx < w;
                         xx++) {
                        s += want[((size_t) yy * w + xx) * bands + c];
                        k++;
                    }
                }
                assert_int_equal(((uint16_t *) VL_IMAGE_ROW(&img, y))
                                     [(size_t) x * bands + c],
                                 (s + k / 2) / k);
            }
        }
    }
    free(img.data);
    free(want);
    vl_source_put(NULL, src);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_icc),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_restart),
        cmocka_unit_test(test_16bit),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
