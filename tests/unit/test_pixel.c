/* SPDX-License-Identifier: MIT */
/*
 * test_pixel: the pixel kernels. Identity copies are bit-exact, constants
 * stay constant, box averages and pixel centres are exact, right-angle
 * rotations and mirroring map indices exactly, arbitrary rotation grows to
 * the bounding box with transparent corners, gray/bitonal values, alpha
 * does not bleed, and strips read exactly the rows they need; at depth 2
 * (16-bit) the same kernels keep the low byte: exact averages, constants,
 * agreement with the 8-bit path, index maps, 16-bit luma and flattening.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "pixel/pixel.h"

static vl_image_t
mkimg(vl_pool_t *pool, uint32_t w, uint32_t h, int bands)
{
    vl_image_t img;
    vl_err_t   err = { 0 };

    assert_int_equal(vl_image_new(pool, w, h, bands, &img, &err), VL_OK);
    return img;
}

static void
test_identity(void **state)
{
    static const int modes[] = { 0, 1, 2 };

    (void) state;
    for (size_t m = 0; m < 3; m++) {
        for (int bands = 1; bands <= 4; bands++) {
            vl_pool_t *pool = vl_pool_create(4096);
            vl_image_t in = mkimg(pool, 37, 23, bands), out;
            vl_err_t   err = { 0 };

            srand(1);
            for (size_t i = 0; i < (size_t) 37 * 23 * bands; i++) {
                in.data[i] = (unsigned char) rand();
            }
            assert_int_equal(vl_resample_image(pool, &in, 5, 3, 25, 13, 20,
                                               10, modes[m], &out, &err),
                             VL_OK);
            for (uint32_t y = 0; y < 10; y++) {
                assert_memory_equal(VL_IMAGE_ROW(&out, y),
                                    VL_IMAGE_ROW(&in, y + 3) + 5 * bands,
                                    (size_t) 20 * bands);
            }
            vl_pool_destroy(pool);
        }
    }
}

static void
test_constant(void **state)
{
    static const struct { uint32_t w, h, ow, oh; int interp; } cases[] = {
        { 200, 100, 37, 19, 2 }, { 400, 400, 23, 23, 2 },   /* box path */
        { 200, 100, 37, 19, 1 }, { 200, 100, 37, 19, 0 },
        { 13, 9, 50, 41, 2 },    { 1000, 3, 7, 1, 2 },
    };

    (void) state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_image_t in = mkimg(pool, cases[c].w, cases[c].h, 3), out;
        vl_err_t   err = { 0 };

        for (size_t i = 0; i < (size_t) cases[c].w * cases[c].h; i++) {
            in.data[i * 3] = 77;
            in.data[i * 3 + 1] = 150;
            in.data[i * 3 + 2] = 200;
        }
        assert_int_equal(vl_resample_image(pool, &in, 0, 0, cases[c].w,
                                           cases[c].h, cases[c].ow,
                                           cases[c].oh, cases[c].interp,
                                           &out, &err), VL_OK);
        assert_int_equal(out.w, cases[c].ow);
        assert_int_equal(out.h, cases[c].oh);
        for (size_t i = 0; i < (size_t) out.w * out.h; i++) {
            assert_int_equal(out.data[i * 3], 77);
            assert_int_equal(out.data[i * 3 + 1], 150);
            assert_int_equal(out.data[i * 3 + 2], 200);
        }
        vl_pool_destroy(pool);
    }
}

static void
test_box_average(void **state)
{
    static const unsigned char in4[16] = {
        0, 4, 100, 102,
        8, 12, 104, 106,
        255, 255, 1, 3,
        251, 253, 5, 7,
    };
    static const unsigned char want[4] = { 6, 103, 254, 4 };
    vl_pool_t *pool = vl_pool_create(4096);
    vl_image_t in = mkimg(pool, 4, 4, 1), out;
    vl_err_t   err = { 0 };

    (void) state;
    memcpy(in.data, in4, 16);
    assert_int_equal(vl_pix_box_shrink(pool, &in, 2, 2, &out, &err), VL_OK);
    assert_int_equal(out.w, 2);
    assert_int_equal(out.h, 2);
    assert_memory_equal(out.data, want, 4);
    /* odd size: the edge box averages what it holds */
    in.w = 3;
    in.h = 3;
    assert_int_equal(vl_pix_box_shrink(pool, &in, 2, 2, &out, &err), VL_OK);
    assert_int_equal(out.w, 2);
    assert_int_equal(out.h, 2);
    assert_int_equal(out.data[0], 6);
    assert_int_equal(out.data[1], (100 + 104 + 1) / 2);
    assert_int_equal(out.data[2], 255);
    assert_int_equal(out.data[3], 1);
    vl_pool_destroy(pool);
}

static void
test_upscale(void **state)
{
    vl_pool_t *pool = vl_pool_create(4096);
    vl_image_t in = mkimg(pool, 10, 7, 1), out;
    vl_err_t   err = { 0 };

    (void) state;
    for (uint32_t y = 0; y < 7; y++) {
        for (uint32_t x = 0; x < 10; x++) {
            in.data[y * 10 + x] = (unsigned char) (x * 20);
        }
    }
    assert_int_equal(vl_resample_image(pool, &in, 0, 0, 10, 7, 33, 20, 2,
                                       &out, &err), VL_OK);
    assert_int_equal(out.w, 33);
    assert_int_equal(out.h, 20);
    /* a ramp stays a non-decreasing ramp from 0 to 180, same on every row */
    for (uint32_t y = 0; y < 20; y++) {
        const unsigned char *row = VL_IMAGE_ROW(&out, y);

        assert_int_equal(row[0], 0);
        /* Catmull-Rom overshoots a ramp slightly at the replicated edge */
        assert_in_range(row[32], 180, 182);
        for (uint32_t x = 1; x < 33; x++) {
            assert_true(row[x] >= row[x - 1]);
        }
        assert_memory_equal(row, out.data, 33);
    }
    vl_pool_destroy(pool);
}

static void
test_pixel_centres(void **state)
{
    static const struct { uint32_t line, want; } cases[] = {
        { 10, 5 }, { 11, 5 }, { 0, 0 }, { 99, 49 }, { 50, 25 },
    };

    (void) state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (int interp = 1; interp <= 2; interp++) {
            vl_pool_t *pool = vl_pool_create(4096);
            vl_image_t in = mkimg(pool, 100, 4, 1), out;
            vl_err_t   err = { 0 };
            uint32_t   best = 0;

            memset(in.data, 0, 400);
            for (uint32_t y = 0; y < 4; y++) {
                in.data[y * 100 + cases[c].line] = 255;
            }
            assert_int_equal(vl_resample_image(pool, &in, 0, 0, 100, 4, 50,
                                               2, interp, &out, &err), VL_OK);
            for (uint32_t x = 1; x < 50; x++) {
                if (out.data[x] > out.data[best]) {
                    best = x;
                }
            }
            assert_int_equal(best, cases[c].want);
            /* half of the line's energy lands in that pixel */
            assert_in_range(out.data[best], 100, 160);
            vl_pool_destroy(pool);
        }
    }
}

static void
test_right_angles(void **state)
{
    /* 3x2:  1 2 3
     *       4 5 6 */
    static const unsigned char src[6] = { 1, 2, 3, 4, 5, 6 };
    static const struct { int deg; uint32_t w, h; unsigned char want[6]; }
    cases[] = {
        { 90, 2, 3, { 4, 1, 5, 2, 6, 3 } },
        { 180, 3, 2, { 6, 5, 4, 3, 2, 1 } },
        { 270, 2, 3, { 3, 6, 2, 5, 1, 4 } },
    };
    vl_pool_t *pool = vl_pool_create(4096);
    vl_image_t in = mkimg(pool, 3, 2, 1), out;
    vl_err_t   err = { 0 };

    (void) state;
    memcpy(in.data, src, 6);
    for (size_t c = 0; c < 3; c++) {
        assert_int_equal(vl_pix_rotate_right(pool, &in, cases[c].deg, &out,
                                             &err), VL_OK);
        assert_int_equal(out.w, cases[c].w);
        assert_int_equal(out.h, cases[c].h);
        assert_memory_equal(out.data, cases[c].want, 6);
    }
    vl_pix_mirror(&in);
    assert_memory_equal(in.data, "\3\2\1\6\5\4", 6);
    /* mirror then 90: rows of the mirrored image turned */
    assert_int_equal(vl_pix_rotate_right(pool, &in, 90, &out, &err), VL_OK);
    assert_memory_equal(out.data, "\6\3\5\2\4\1", 6);
    vl_pool_destroy(pool);
}

static void
test_rotate_any(void **state)
{
    vl_pool_t *pool = vl_pool_create(4096);
    vl_image_t in = mkimg(pool, 100, 50, 3), out;
    vl_err_t   err = { 0 };
    uint32_t   bw = (uint32_t) ceil(100 * cos(M_PI / 4) + 50 * sin(M_PI / 4));
    uint32_t   corners[4][2] = { { 0, 0 }, { 106, 0 }, { 0, 106 },
                                 { 106, 106 } };
    const unsigned char *p;

    (void) state;
    for (size_t i = 0; i < (size_t) 100 * 50; i++) {
        in.data[i * 3] = 200;
        in.data[i * 3 + 1] = 30;
        in.data[i * 3 + 2] = 90;
    }
    assert_int_equal(bw, 107);
    assert_int_equal(vl_pix_rotate_any(pool, &in, 45.0, bw, bw, &out, &err),
                     VL_OK);
    assert_int_equal(out.w, 107);
    assert_int_equal(out.h, 107);
    assert_int_equal(out.bands, 4);
    for (int c = 0; c < 4; c++) {
        p = VL_IMAGE_ROW(&out, corners[c][1]) + corners[c][0] * 4;
        assert_int_equal(p[3], 0);
    }
    p = VL_IMAGE_ROW(&out, 53) + 53 * 4;
    assert_memory_equal(p, "\310\036\132\377", 4);
    /* the long axis runs from top-left to bottom-right: (30,30) is inside,
     * (75,30) is outside */
    assert_int_equal((VL_IMAGE_ROW(&out, 30) + 30 * 4)[3], 255);
    assert_int_equal((VL_IMAGE_ROW(&out, 30) + 75 * 4)[3], 0);
    vl_pool_destroy(pool);
}

static void
test_quality(void **state)
{
    static const struct {
        unsigned char rgba[4];
        unsigned char gray, bitonal, flat[3];
    } cases[] = {
        { { 255, 0, 0, 255 }, 54, 0, { 255, 0, 0 } },
        { { 0, 255, 0, 255 }, 182, 255, { 0, 255, 0 } },
        { { 0, 0, 255, 255 }, 18, 0, { 0, 0, 255 } },
        { { 255, 255, 255, 255 }, 255, 255, { 255, 255, 255 } },
        { { 0, 0, 0, 255 }, 0, 0, { 0, 0, 0 } },
        { { 128, 128, 128, 255 }, 128, 255, { 128, 128, 128 } },
        { { 127, 127, 127, 255 }, 127, 0, { 127, 127, 127 } },
        { { 255, 0, 0, 0 }, 255, 255, { 255, 255, 255 } },   /* onto white */
        { { 0, 0, 0, 128 }, 127, 0, { 127, 127, 127 } },
    };
    static const struct { int in; vl_quality_t q; int keeps_alpha; int out; }
    bands[] = {
        { 3, VL_QUALITY_DEFAULT, 0, 3 },
        { 1, VL_QUALITY_DEFAULT, 0, 1 },
        { 1, VL_QUALITY_COLOR, 0, 3 },
        { 4, VL_QUALITY_DEFAULT, 0, 3 },
        { 4, VL_QUALITY_DEFAULT, 1, 4 },
        { 4, VL_QUALITY_GRAY, 1, 2 },
        { 4, VL_QUALITY_BITONAL, 1, 1 },
        { 2, VL_QUALITY_COLOR, 1, 4 },
        { 2, VL_QUALITY_DEFAULT, 1, 2 },
        { 3, VL_QUALITY_GRAY, 0, 1 },
    };
    unsigned char out[4], rgb[3] = { 9, 9, 9 };

    (void) state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        vl_pix_convert_row(cases[c].rgba, 4, out, 1, 1, VL_QUALITY_GRAY, 0);
        assert_int_equal(out[0], cases[c].gray);
        vl_pix_convert_row(cases[c].rgba, 4, out, 1, 1, VL_QUALITY_BITONAL,
                           0);
        assert_int_equal(out[0], cases[c].bitonal);
        vl_pix_convert_row(cases[c].rgba, 4, out, 3, 1, VL_QUALITY_DEFAULT,
                           0);
        assert_memory_equal(out, cases[c].flat, 3);
        vl_pix_convert_row(cases[c].rgba, 4, out, 4, 1, VL_QUALITY_DEFAULT,
                           0);
        assert_memory_equal(out, cases[c].rgba, 4);
    }
    /* color on grey replicates; mirror reads right to left */
    vl_pix_convert_row((const unsigned char *) "\7", 1, rgb, 3, 1,
                       VL_QUALITY_COLOR, 0);
    assert_memory_equal(rgb, "\7\7\7", 3);
    vl_pix_convert_row((const unsigned char *) "\1\2\3", 1, out, 1, 3,
                       VL_QUALITY_DEFAULT, 1);
    assert_memory_equal(out, "\3\2\1", 3);
    for (size_t c = 0; c < sizeof(bands) / sizeof(bands[0]); c++) {
        assert_int_equal(vl_pix_out_bands(bands[c].in, bands[c].q,
                                          bands[c].keeps_alpha), bands[c].out);
    }
}

static void
test_alpha_no_bleed(void **state)
{
    static const struct { uint32_t ow, oh; int interp; } cases[] = {
        { 4, 4, 2 }, { 3, 3, 2 }, { 16, 16, 2 }, { 5, 7, 1 }, { 13, 3, 2 },
    };

    (void) state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_image_t in = mkimg(pool, 8, 8, 4), out;
        vl_err_t   err = { 0 };
        int        seen = 0;

        for (uint32_t y = 0; y < 8; y++) {
            for (uint32_t x = 0; x < 8; x++) {
                unsigned char *p = VL_IMAGE_ROW(&in, y) + x * 4;

                if (x < 4) {
                    memcpy(p, "\377\0\0\0", 4);       /* transparent red */
                } else {
                    memcpy(p, "\0\0\377\377", 4);     /* opaque blue */
                }
            }
        }
        assert_int_equal(vl_resample_image(pool, &in, 0, 0, 8, 8,
                                           cases[c].ow, cases[c].oh,
                                           cases[c].interp, &out, &err),
                         VL_OK);
        for (size_t i = 0; i < (size_t) out.w * out.h; i++) {
            const unsigned char *p = out.data + i * 4;

            if (p[3] > 0) {
                assert_int_equal(p[0], 0);
                assert_int_equal(p[1], 0);
                assert_int_equal(p[2], 255);
                seen++;
            }
        }
        assert_true(seen > 0);
        vl_pool_destroy(pool);
    }
}

/* The rows a strip needs, computed independently from the kernel support:
 * the source rows whose distance to some output centre is inside the
 * (widened) support. */
static void
expect_rows(uint32_t n, double scale, uint32_t y0, uint32_t y1,
            double support, uint32_t *r0, uint32_t *r1)
{
    double c0 = (y0 + 0.5) * scale - 0.5, c1 = (y1 - 0.5) * scale - 0.5;
    long   lo = (long) floor(c0 - support) + 1;
    long   hi = (long) ceil(c1 + support) - 1;

    *r0 = lo < 0 ? 0 : (uint32_t) lo;
    *r1 = hi + 1 > (long) n ? n : (uint32_t) (hi + 1);
}

static void
test_strip_rows(void **state)
{
    static const struct {
        uint32_t h, oh;
        int      interp;
        double   support;   /* in source rows; 0: nearest */
    } cases[] = {
        { 100, 50, 2, 6.0 },       /* Lanczos3 widened x2 */
        { 100, 50, 1, 1.0 },       /* bilinear */
        { 90, 60, 2, 4.5 },        /* x1.5 */
        { 50, 100, 2, 2.0 },       /* Catmull-Rom upscale */
        { 100, 50, 0, 0.0 },
    };

    (void) state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        vl_pool_t    *pool = vl_pool_create(4096);
        vl_resample_t rs;
        vl_err_t      err = { 0 };
        double        scale = (double) cases[c].h / cases[c].oh;
        vl_image_t    in = mkimg(pool, 20, cases[c].h, 3), whole, strip;

        srand(3);
        for (size_t i = 0; i < (size_t) 20 * cases[c].h * 3; i++) {
            in.data[i] = (unsigned char) rand();
        }
        assert_int_equal(vl_resample_init(pool, &rs, 20, cases[c].h, 3, 0, 0,
                                          20, cases[c].h, 11, cases[c].oh,
                                          cases[c].interp, &err), VL_OK);
        assert_int_equal(vl_resample_image(pool, &in, 0, 0, 20, cases[c].h,
                                           11, cases[c].oh, cases[c].interp,
                                           &whole, &err), VL_OK);
        strip = mkimg(pool, 11, 10, 3);
        for (uint32_t y0 = 0; y0 < cases[c].oh; y0 += 10) {
            uint32_t   y1 = y0 + 10 > cases[c].oh ? cases[c].oh : y0 + 10;
            uint32_t   r0, r1, e0, e1;
            vl_image_t view = in;

            vl_resample_rows(&rs, y0, y1, &r0, &r1);
            if (cases[c].support > 0) {
                expect_rows(cases[c].h, scale, y0, y1, cases[c].support, &e0,
                            &e1);
            } else {
                e0 = (uint32_t) floor((y0 + 0.5) * scale);
                e1 = (uint32_t) floor((y1 - 0.5) * scale) + 1;
            }
            assert_int_equal(r0, e0);
            assert_int_equal(r1, e1);
            /* the strip from only those rows equals the whole result */
            view.data = VL_IMAGE_ROW(&in, r0);
            view.h = r1 - r0;
            assert_int_equal(vl_resample_strip(&rs, &view, r0, y0, y1, &strip,
                                               &err), VL_OK);
            assert_memory_equal(strip.data, VL_IMAGE_ROW(&whole, y0),
                                (size_t) (y1 - y0) * 11 * 3);
        }
        vl_pool_destroy(pool);
    }
}

static void
test_strip_rows_box(void **state)
{
    /* 400 -> 20 rows: area average by 10, then Lanczos3 x2 on the boxes;
     * strips start on box boundaries and match the whole result */
    vl_pool_t    *pool = vl_pool_create(4096);
    vl_resample_t rs;
    vl_err_t      err = { 0 };
    vl_image_t    in = mkimg(pool, 40, 400, 1), whole, strip;

    (void) state;
    for (size_t i = 0; i < (size_t) 40 * 400; i++) {
        in.data[i] = (unsigned char) (i * 7 + i / 40);
    }
    assert_int_equal(vl_resample_init(pool, &rs, 40, 400, 1, 0, 0, 40, 400,
                                      2, 20, 2, &err), VL_OK);
    assert_int_equal(rs.y.box, 10);
    assert_int_equal(vl_resample_image(pool, &in, 0, 0, 40, 400, 2, 20, 2,
                                       &whole, &err), VL_OK);
    strip = mkimg(pool, 2, 5, 1);
    for (uint32_t y0 = 0; y0 < 20; y0 += 5) {
        uint32_t   r0, r1;
        vl_image_t view = in;

        vl_resample_rows(&rs, y0, y0 + 5, &r0, &r1);
        assert_int_equal(r0 % 10, 0);
        assert_true(r1 % 10 == 0 || r1 == 400);
        /* box centres 2 y + 0.5, Lanczos3 support 6 boxes: first box
         * ceil(2 y0 + 0.5 - 6) */
        assert_int_equal(r0, y0 == 0 ? 0 : (2 * y0 - 5) * 10);
        view.data = VL_IMAGE_ROW(&in, r0);
        view.h = r1 - r0;
        assert_int_equal(vl_resample_strip(&rs, &view, r0, y0, y0 + 5, &strip,
                                           &err), VL_OK);
        assert_memory_equal(strip.data, VL_IMAGE_ROW(&whole, y0), 10);
    }
    vl_pool_destroy(pool);
}

/* Reference resampler in double precision from the float weight tables
 * (box average first): the fixed-point stream must stay within one level
 * of it. Opaque images only (premultiplying changes nothing there). */
static void
ref_resample(const vl_resample_t *rs, const vl_image_t *in,
             unsigned char *out)
{
    int      nb = in->bands;
    uint32_t iw = rs->x.in_n, ih = rs->y.in_n, ow = rs->x.out_n;
    double  *boxed = calloc((size_t) iw * ih * nb, sizeof(double));
    double  *h = calloc((size_t) ow * ih * nb, sizeof(double));

    assert_non_null(boxed);
    assert_non_null(h);
    for (uint32_t k = 0; k < ih; k++) {
        for (uint32_t j = 0; j < iw; j++) {
            for (int b = 0; b < nb; b++) {
                double   sum = 0;
                uint32_t cnt = 0;

                for (uint32_t y = k * rs->y.box;
                     y < (k + 1) * rs->y.box && y < in->h; y++) {
                    for (uint32_t x = j * rs->x.box;
                         x < (j + 1) * rs->x.box && x < in->w; x++) {
                        sum += VL_IMAGE_ROW(in, y)[x * nb + b];
                        cnt++;
                    }
                }
                boxed[((size_t) k * iw + j) * nb + b] = sum / cnt;
            }
        }
    }
    for (uint32_t k = 0; k < ih; k++) {
        for (uint32_t i = 0; i < ow; i++) {
            for (int b = 0; b < nb; b++) {
                double acc = 0;

                for (int t = 0; t < rs->x.n[i]; t++) {
                    acc += rs->x.w[(size_t) i * rs->x.maxtaps + t]
                           * boxed[((size_t) k * iw + rs->x.start[i] + t)
                                   * nb + b];
                }
                h[((size_t) k * ow + i) * nb + b] = acc;
            }
        }
    }
    for (uint32_t y = 0; y < rs->y.out_n; y++) {
        for (size_t x = 0; x < (size_t) ow * nb; x++) {
            double acc = 0;

            for (int t = 0; t < rs->y.n[y]; t++) {
                acc += rs->y.w[(size_t) y * rs->y.maxtaps + t]
                       * h[(size_t) (rs->y.start[y] + t) * ow * nb + x];
            }
            acc = floor(acc + 0.5);
            out[(size_t) y * ow * nb + x] =
                (unsigned char) (acc < 0 ? 0 : acc > 255 ? 255 : acc);
        }
    }
    free(boxed);
    free(h);
}

static void
test_fixed_point_vs_reference(void **state)
{
    static const struct {
        uint32_t w, h, ow, oh;
        double   sx0, sy0, sx1, sy1;
        int      interp;
    } cases[] = {
        { 183, 151, 100, 83, 0, 0, 183, 151, 2 },   /* x1.83, the thumb */
        { 97, 61, 40, 33, 3.5, 2.25, 90.0, 60.5, 2 }, /* fractional rect */
        { 50, 40, 113, 91, 0, 0, 50, 40, 2 },       /* Catmull-Rom up */
        { 400, 300, 37, 29, 0, 0, 400, 300, 2 },    /* box 5, then x2.16 */
        { 120, 90, 70, 50, 0, 0, 120, 90, 1 },      /* bilinear */
        { 120, 90, 70, 50, 0, 0, 120, 90, 0 },      /* nearest */
        { 9, 7, 3, 2, 0, 0, 9, 7, 2 },              /* tiny: edge pixels */
    };
    static const int bands[] = { 1, 3, 4 };

    (void) state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        for (size_t nbi = 0; nbi < 3; nbi++) {
            vl_pool_t    *pool = vl_pool_create(4096);
            int           nb = bands[nbi];
            vl_image_t    in = mkimg(pool, cases[c].w, cases[c].h, nb), out;
            vl_resample_t rs;
            vl_err_t      err = { 0 };
            unsigned char *want;
            size_t        n = (size_t) cases[c].ow * cases[c].oh * nb;

            srand((unsigned) (c * 7 + nbi));
            for (size_t i = 0; i < (size_t) in.w * in.h * nb; i++) {
                /* blocks of noise and edges: overshoot and clamping */
                size_t px = i / (size_t) nb;

                in.data[i] = (unsigned char) (px % 13 < 6 ? (size_t) rand()
                                              : px / 7 % 2 * 255);
                if (nb == 4 && i % 4 == 3) {
                    in.data[i] = 255;
                }
            }
            assert_int_equal(vl_resample_init(pool, &rs, in.w, in.h, nb,
                                              cases[c].sx0, cases[c].sy0,
                                              cases[c].sx1, cases[c].sy1,
                                              cases[c].ow, cases[c].oh,
                                              cases[c].interp, &err),
                             VL_OK);
            assert_int_equal(vl_resample_image(pool, &in, cases[c].sx0,
                                               cases[c].sy0, cases[c].sx1,
                                               cases[c].sy1, cases[c].ow,
                                               cases[c].oh, cases[c].interp,
                                               &out, &err), VL_OK);
            want = malloc(n);
            assert_non_null(want);
            ref_resample(&rs, &in, want);
            for (size_t i = 0; i < n; i++) {
                int d = (int) out.data[i] - (int) want[i];

                if (d < -1 || d > 1) {
                    fail_msg("case %zu bands %d sample %zu: %d vs %d", c, nb,
                             i, out.data[i], want[i]);
                }
            }
            free(want);
            vl_pool_destroy(pool);
        }
    }
}

/* The streaming interface (the render path: rows pushed one at a time,
 * output drained as it becomes ready, from any starting row) and strips
 * at random boundaries, in any order, give the whole-image result
 * bit-exactly. */
static void
test_stream_random_strips(void **state)
{
    static const struct { uint32_t w, h, ow, oh; int bands; } cases[] = {
        { 61, 203, 33, 110, 3 }, { 61, 203, 33, 110, 4 },
        { 40, 400, 7, 23, 1 },   { 29, 31, 57, 70, 3 },
        { 80, 120, 45, 50, 2 },
    };

    (void) state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        vl_pool_t    *pool = vl_pool_create(4096);
        int           nb = cases[c].bands;
        vl_image_t    in = mkimg(pool, cases[c].w, cases[c].h, nb), whole;
        vl_image_t    strip = mkimg(pool, cases[c].ow, cases[c].oh, nb);
        vl_resample_t rs;
        vl_err_t      err = { 0 };
        size_t        rowb = (size_t) cases[c].ow * nb;

        srand((unsigned) c + 11);
        for (size_t i = 0; i < (size_t) in.w * in.h * nb; i++) {
            in.data[i] = (unsigned char) rand();
        }
        assert_int_equal(vl_resample_image(pool, &in, 0, 0, in.w, in.h,
                                           cases[c].ow, cases[c].oh, 2,
                                           &whole, &err), VL_OK);
        assert_int_equal(vl_resample_init(pool, &rs, in.w, in.h, nb, 0, 0,
                                          in.w, in.h, cases[c].ow,
                                          cases[c].oh, 2, &err), VL_OK);
        for (int round = 0; round < 20; round++) {
            uint32_t y0 = (uint32_t) rand() % cases[c].oh, r0, y = y0;

            /* streaming from y0 to the end */
            assert_int_equal(vl_resample_begin(&rs, y0, &r0, &err), VL_OK);
            for (uint32_t r = r0; r < in.h && y < cases[c].oh; r++) {
                vl_resample_push(&rs, VL_IMAGE_ROW(&in, r));
                while (vl_resample_ready(&rs)) {
                    vl_resample_pop(&rs, strip.data);
                    assert_memory_equal(strip.data,
                                        VL_IMAGE_ROW(&whole, y), rowb);
                    y++;
                }
            }
            assert_int_equal(y, cases[c].oh);
            /* one strip of random length */
            {
                uint32_t   y1 = y0 + 1 + (uint32_t) rand()
                                         % (cases[c].oh - y0), r1;
                vl_image_t view = in;

                vl_resample_rows(&rs, y0, y1, &r0, &r1);
                view.data = VL_IMAGE_ROW(&in, r0);
                view.h = r1 - r0;
                assert_int_equal(vl_resample_strip(&rs, &view, r0, y0, y1,
                                                   &strip, &err), VL_OK);
                assert_memory_equal(strip.data, VL_IMAGE_ROW(&whole, y0),
                                    (size_t) (y1 - y0) * rowb);
            }
        }
        vl_pool_destroy(pool);
    }
}

static void
test_budget(void **state)
{
    vl_pool_t *pool = vl_pool_create(4096);
    vl_image_t img;
    vl_err_t   err = { 0 };
    size_t     before = vl_pix_in_use();

    (void) state;
    vl_pix_budget_set(before + 10000);
    assert_int_equal(vl_image_new(pool, 50, 50, 3, &img, &err), VL_OK);
    assert_int_equal(vl_pix_in_use(), before + 7500);
    assert_int_equal(vl_image_new(pool, 50, 50, 2, &img, &err), VL_EBUSY);
    assert_int_equal(vl_pix_in_use(), before + 7500);
    vl_err_clear(&err);
    assert_int_equal(vl_image_new(pool, UINT32_MAX, UINT32_MAX, 4, &img,
                                  &err), VL_ELIMIT);
    vl_pool_destroy(pool);
    assert_int_equal(vl_pix_in_use(), before);
    vl_pix_budget_set((size_t) 1 << 30);
}

/* ------------------------------------------------------------- depth 2 */

static vl_image_t
mkimg16(vl_pool_t *pool, uint32_t w, uint32_t h, int bands)
{
    vl_image_t img;
    vl_err_t   err = { 0 };

    assert_int_equal(vl_image_new_depth(pool, w, h, bands, 2, &img, &err),
                     VL_OK);
    assert_int_equal(img.depth, 2);
    assert_int_equal(img.stride, (size_t) w * bands * 2);
    return img;
}

static uint16_t *
px16(const vl_image_t *img, uint32_t x, uint32_t y)
{
    return (uint16_t *) (void *) VL_IMAGE_ROW(img, y) + (size_t) x * img->bands;
}

/* Identity at depth 2 copies 16-bit samples exactly (the low byte too). */
static void
test16_identity(void **state)
{
    (void) state;
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_image_t in = mkimg16(pool, 37, 23, bands), out;
        vl_err_t   err = { 0 };

        srand(7);
        for (uint32_t y = 0; y < 23; y++) {
            for (uint32_t x = 0; x < (uint32_t) 37 * bands; x++) {
                px16(&in, 0, y)[x] = (uint16_t) rand();
            }
        }
        assert_int_equal(vl_resample_image(pool, &in, 5, 3, 25, 13, 20, 10,
                                           2, &out, &err), VL_OK);
        assert_int_equal(out.depth, 2);
        for (uint32_t y = 0; y < 10; y++) {
            assert_memory_equal(VL_IMAGE_ROW(&out, y),
                                (const unsigned char *) px16(&in, 5, y + 3),
                                (size_t) 20 * bands * 2);
        }
        vl_pool_destroy(pool);
    }
}

/* Bilinear by exactly 2 averages 2x2 blocks: the exact 16-bit average,
 * rounded half up, low bytes included; the box shrink gives the same. */
static void
test16_average(void **state)
{
    static const uint16_t v[4][4] = {
        { 0x1234, 0x1235, 0xfedc, 0xfedd },
        { 0x1236, 0x1237, 0xfede, 0xfedf },
        { 0x0000, 0x0001, 0xffff, 0xffff },
        { 0x0001, 0x0001, 0xffff, 0xfffe },
    };
    vl_pool_t *pool = vl_pool_create(4096);
    vl_image_t in = mkimg16(pool, 4, 4, 1), out, box;
    vl_err_t   err = { 0 };

    (void) state;
    for (uint32_t y = 0; y < 4; y++) {
        for (uint32_t x = 0; x < 4; x++) {
            *px16(&in, x, y) = v[y][x];
        }
    }
    assert_int_equal(vl_resample_image(pool, &in, 0, 0, 4, 4, 2, 2,
                                       VL_INTERP_BILINEAR, &out, &err),
                     VL_OK);
    assert_int_equal(vl_pix_box_shrink(pool, &in, 2, 2, &box, &err), VL_OK);
    assert_int_equal(box.depth, 2);
    for (uint32_t y = 0; y < 2; y++) {
        for (uint32_t x = 0; x < 2; x++) {
            uint32_t s = (uint32_t) v[2 * y][2 * x] + v[2 * y][2 * x + 1]
                         + v[2 * y + 1][2 * x] + v[2 * y + 1][2 * x + 1];

            assert_int_equal(*px16(&out, x, y), (s + 2) / 4);
            assert_int_equal(*px16(&box, x, y), (s + 2) / 4);
        }
    }
    /* 0x1234..0x1237: 0x1235.5 -> 0x1236 (an 8-bit path would say 0x12) */
    assert_int_equal(*px16(&out, 0, 0), 0x1236);
    assert_int_equal(*px16(&out, 1, 1), 0xffff);
    /* premultiplied box: colour weighted by alpha */
    {
        vl_image_t ga = mkimg16(pool, 2, 1, 2), o2;

        px16(&ga, 0, 0)[0] = 0x1000;
        px16(&ga, 0, 0)[1] = 0xffff;
        px16(&ga, 1, 0)[0] = 0xf000;
        px16(&ga, 1, 0)[1] = 0;
        assert_int_equal(vl_pix_box_shrink(pool, &ga, 2, 1, &o2, &err),
                         VL_OK);
        assert_int_equal(px16(&o2, 0, 0)[0], 0x1000);
        assert_int_equal(px16(&o2, 0, 0)[1], 0x8000);
    }
    vl_pool_destroy(pool);
}

/* Constants stay exactly constant through Lanczos and the box stage at
 * depth 2, alpha included; and the 16-bit path agrees with the 8-bit one
 * on 8-bit values scaled by 257 (within one 8-bit step). */
static void
test16_constant_and_8bit(void **state)
{
    (void) state;
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_image_t in = mkimg16(pool, 100, 90, bands), out;
        vl_image_t in8 = mkimg(pool, 100, 90, bands), out8, wide;
        vl_err_t   err = { 0 };
        static const uint16_t c[4] = { 0x1234, 0xfedc, 0x0101, 0x8001 };

        for (uint32_t y = 0; y < 90; y++) {
            for (uint32_t x = 0; x < 100; x++) {
                for (int b = 0; b < bands; b++) {
                    px16(&in, x, y)[b] = c[b == bands - 1 && (bands == 2
                                                             || bands == 4)
                                           ? 3 : b];
                }
            }
        }
        /* 13 x 11: box 3 + Lanczos; 41 x 37: Lanczos only */
        for (int k = 0; k < 2; k++) {
            uint32_t ow = k ? 41 : 13, oh = k ? 37 : 11;

            assert_int_equal(vl_resample_image(pool, &in, 0, 0, 100, 90, ow,
                                               oh, 2, &out, &err), VL_OK);
            for (uint32_t y = 0; y < oh; y++) {
                for (uint32_t x = 0; x < ow; x++) {
                    assert_memory_equal(px16(&out, x, y), px16(&in, 0, 0),
                                        (size_t) bands * 2);
                }
            }
        }
        srand(3);
        for (uint32_t y = 0; y < 90; y++) {
            for (uint32_t x = 0; x < 100 * (uint32_t) bands; x++) {
                unsigned char s = (unsigned char) rand();

                VL_IMAGE_ROW(&in8, y)[x] = s;
                px16(&in, 0, y)[x] = (uint16_t) (s * 257u);
            }
        }
        assert_int_equal(vl_resample_image(pool, &in8, 3, 2, 97, 88, 29, 17,
                                           2, &out8, &err), VL_OK);
        assert_int_equal(vl_resample_image(pool, &in, 3, 2, 97, 88, 29, 17,
                                           2, &wide, &err), VL_OK);
        for (uint32_t y = 0; y < 17; y++) {
            for (uint32_t x = 0; x < 29 * (uint32_t) bands; x++) {
                int a = VL_IMAGE_ROW(&out8, y)[x];
                int b = vl_pix_16to8(px16(&wide, 0, y)[x]);

                assert_true(abs(a - b) <= 1);
            }
        }
        vl_pool_destroy(pool);
    }
}

/* Mirror and right angles move whole 16-bit pixels; arbitrary rotation
 * keeps a constant opaque interior and transparent corners. */
static void
test16_rotate(void **state)
{
    vl_pool_t *pool = vl_pool_create(4096);
    vl_image_t in = mkimg16(pool, 3, 2, 3), out, big, rot;
    vl_err_t   err = { 0 };

    (void) state;
    for (uint32_t y = 0; y < 2; y++) {
        for (uint32_t x = 0; x < 3; x++) {
            for (int b = 0; b < 3; b++) {
                px16(&in, x, y)[b] = (uint16_t) (0x1200 + y * 0x100 + x * 0x10
                                                 + b);
            }
        }
    }
    assert_int_equal(vl_pix_rotate_right(pool, &in, 90, &out, &err), VL_OK);
    assert_int_equal(out.w, 2);
    assert_int_equal(out.h, 3);
    assert_int_equal(out.depth, 2);
    /* 90: output (ox, oy) = input (oy, h - 1 - ox) */
    assert_memory_equal(px16(&out, 0, 0), px16(&in, 0, 1), 6);
    assert_memory_equal(px16(&out, 1, 2), px16(&in, 2, 0), 6);
    vl_pix_mirror(&in);
    assert_int_equal(px16(&in, 0, 0)[0], 0x1220);
    assert_int_equal(px16(&in, 0, 0)[2], 0x1222);
    assert_int_equal(px16(&in, 2, 1)[1], 0x1301);

    big = mkimg16(pool, 40, 40, 1);
    for (uint32_t y = 0; y < 40; y++) {
        for (uint32_t x = 0; x < 40; x++) {
            *px16(&big, x, y) = 0x1234;
        }
    }
    assert_int_equal(vl_pix_rotate_any(pool, &big, 45.0, 57, 57, &rot, &err),
                     VL_OK);
    assert_int_equal(rot.bands, 2);
    assert_int_equal(rot.depth, 2);
    assert_int_equal(px16(&rot, 28, 28)[0], 0x1234);
    assert_int_equal(px16(&rot, 28, 28)[1], 0xffff);
    assert_int_equal(px16(&rot, 0, 0)[1], 0);
    vl_pool_destroy(pool);
}

/* The 16-bit quality stage: Rec. 709 luma of the 16-bit values, rounded;
 * alpha flattened onto white (or a given background) at 16 bits. */
static void
test16_convert(void **state)
{
    static const uint16_t rgb[6] = { 0x1234, 0xfedc, 0x0001,
                                     0xfedc, 0x1234, 0x8001 };
    static const uint16_t ga[2] = { 0x1234, 0x8000 };
    static const uint16_t black[3] = { 0, 0, 0 };
    uint16_t out[8];

    (void) state;
    vl_pix_convert_row16(rgb, 3, out, 1, 2, VL_QUALITY_GRAY, 0, NULL);
    /* 0.2126 R + 0.7152 G + 0.0722 B = 47653.3 and 19569.6 */
    assert_int_equal(out[0], 47653);
    assert_int_equal(out[1], 19570);
    vl_pix_convert_row16(rgb, 3, out, 1, 2, VL_QUALITY_GRAY, 1, NULL);
    assert_int_equal(out[0], 19570);
    assert_int_equal(out[1], 47653);
    vl_pix_convert_row16(rgb, 3, out, 3, 2, VL_QUALITY_DEFAULT, 0, NULL);
    assert_memory_equal(out, rgb, sizeof(rgb));
    /* 0x1234 at alpha 0x8000 over white: (4660 * 32768 + 65535 * 32767)
     * / 65535 = 35097.04 */
    vl_pix_convert_row16(ga, 2, out, 1, 1, VL_QUALITY_DEFAULT, 0, NULL);
    assert_int_equal(out[0], 35097);
    vl_pix_convert_row16(ga, 2, out, 3, 1, VL_QUALITY_COLOR, 0, black);
    /* over black: 4660 * 32768 / 65535 = 2330.04 */
    assert_int_equal(out[0], 2330);
    assert_int_equal(out[2], 2330);
    vl_pix_convert_row16(ga, 2, out, 4, 1, VL_QUALITY_COLOR, 0, NULL);
    assert_int_equal(out[0], 0x1234);
    assert_int_equal(out[1], 0x1234);
    assert_int_equal(out[3], 0x8000);
    assert_int_equal(vl_pix_16to8(0x1234), 18);
    assert_int_equal(vl_pix_16to8(0x12ff), 19);
    assert_int_equal(vl_pix_16to8(0xffff), 255);
    assert_int_equal(vl_pix_luma16(65535, 65535, 65535), 65535);
}

/* The vector pass takes outputs [0, vec3) / [0, vec4) of an axis without
 * checking each: exactly the leading run whose last 8-byte tap load stays
 * inside the row (in_n * nb bytes), for shrinks, enlargements and every
 * interpolation. */
static void
test_vector_bounds(void **state)
{
    static const uint32_t sizes[][2] = { { 915, 600 }, { 1830, 1000 },
                                         { 20, 11 }, { 7, 7 }, { 5, 13 },
                                         { 3, 1 }, { 256, 155 } };

    (void) state;
    for (size_t c = 0; c < sizeof(sizes) / sizeof(sizes[0]); c++) {
        for (int interp = VL_INTERP_NEAREST; interp <= VL_INTERP_LANCZOS;
             interp++) {
            vl_pool_t    *pool = vl_pool_create(4096);
            vl_resample_t rs;
            vl_err_t      err = { 0 };
            uint32_t      in = sizes[c][0], out = sizes[c][1];

            assert_int_equal(vl_resample_init(pool, &rs, in, 4, 3, 0.0, 0.0,
                                              (double) in, 4.0, out, 2,
                                              interp, &err),
                             VL_OK);
            for (int nb = 3; nb <= 4; nb++) {
                const vl_rs_axis_t *ax = &rs.x;
                uint32_t            v = nb == 3 ? ax->vec3 : ax->vec4;
                uint32_t            i = 0;

                for (; i < ax->out_n; i++) {
                    size_t end = (size_t) ax->start[i] * nb
                                 + (size_t) ((ax->n[i] + 1) / 2 - 1) * 2 * nb
                                 + 8;

                    if (end > (size_t) ax->in_n * nb) {
                        break;
                    }
                }
                assert_int_equal(v, i);
            }
            vl_pool_destroy(pool);
        }
    }
}


/* The AVX2, SSE2 and scalar 8-bit kernels give the same bytes: random
 * images of 1-4 bands, widths from 1 up across the points where the vector
 * loads meet the row end, shrinks (with and without box pre-averaging),
 * enlargements, offset regions and every interpolation. Also vec3w: the
 * leading run whose 16-byte tap loads (8 for an odd last pair) stay in
 * the row. */
static void
test_isa_agree(void **state)
{
    static const uint32_t ws[] = { 1,  2,  3,   4,   5,   6,   7,   8,
                                   9,  11, 13,  16,  17,  23,  31,  33,
                                   47, 64, 100, 211, 915, 1830 };
    unsigned              seed = 12345;
    int                   cap = vl_resample_isa(2);

    (void) state;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (!__builtin_cpu_supports("avx2")) {
        print_message("no AVX2 on this CPU: SSE2 against scalar only\n");
    }
#endif
    for (size_t c = 0; c < sizeof(ws) / sizeof(ws[0]); c++) {
        for (int t = 0; t < 6; t++) {
            vl_pool_t    *pool = vl_pool_create(4096);
            vl_err_t      err = { 0 };
            uint32_t      w = ws[c], h = 3 + (uint32_t) t * 2;
            /* often 3, the AVX2 kernel's band count */
            int           nb = t % 3 == 0 ? 3 : 1 + (t + (int) c) % 4;
            int           interp = t % 2 ? VL_INTERP_LANCZOS
                                         : VL_INTERP_NEAREST + t / 2;
            vl_image_t    in = mkimg(pool, w, h, nb), out[3];
            vl_resample_t rs;
            uint32_t      ow, oh;
            double        sx0, sx1;

            for (size_t k = 0; k < (size_t) w * h * nb; k++) {
                seed = seed * 1103515245u + 12345u;
                in.data[k] = (unsigned char) (seed >> 16);
            }
            /* shrink by 1-3 (5-9 at t 5: box), enlarge by up to 2 */
            seed = seed * 1103515245u + 12345u;
            ow = t == 5 ? w / 7 + 1
                 : t == 4 ? w * 2 - w / 3
                 : w / (1 + (seed >> 16) % 3) + (seed >> 20) % 2;
            ow = ow < 1 ? 1 : ow;
            oh = t == 5 ? 1 : h - 1;
            sx0 = t == 2 && w > 4 ? 1.25 : 0.0;
            sx1 = t == 2 && w > 4 ? w - 0.5 : (double) w;
            for (int isa = 0; isa <= 2; isa++) {
                vl_resample_isa(isa);
                assert_int_equal(vl_resample_image(pool, &in, sx0, 0.0, sx1,
                                                   (double) h, ow, oh,
                                                   interp, &out[isa], &err),
                                 VL_OK);
            }
            for (int isa = 1; isa <= 2; isa++) {
                if (memcmp(out[0].data, out[isa].data,
                           (size_t) ow * oh * nb) != 0) {
                    fail_msg("isa %d differs from scalar: w %u -> %u, %d "
                             "bands, interp %d",
                             isa, w, ow, nb, interp);
                }
            }
            /* vec3w is the exact leading run */
            assert_int_equal(vl_resample_init(pool, &rs, w, h, 3, sx0, 0.0,
                                              sx1, (double) h, ow, oh,
                                              interp, &err),
                             VL_OK);
            {
                const vl_rs_axis_t *ax = &rs.x;
                size_t              len = (size_t) ax->in_n * 3;
                uint32_t            i = 0;

                for (; i < ax->out_n; i++) {
                    int    np = (ax->n[i] + 1) / 2;
                    size_t o = (size_t) ax->start[i] * 3;
                    size_t end = np % 2 ? o + (size_t) (np - 1) * 6 + 8
                                        : o + (size_t) (np - 2) * 6 + 16;

                    if (end > len) {
                        break;
                    }
                }
                assert_int_equal(ax->vec3w, i);
                assert_true(ax->vec3w <= ax->vec3);
            }
            vl_pool_destroy(pool);
        }
    }
    vl_resample_isa(cap);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity),
        cmocka_unit_test(test_vector_bounds),
        cmocka_unit_test(test_isa_agree),
        cmocka_unit_test(test_constant),
        cmocka_unit_test(test_box_average),
        cmocka_unit_test(test_upscale),
        cmocka_unit_test(test_pixel_centres),
        cmocka_unit_test(test_right_angles),
        cmocka_unit_test(test_rotate_any),
        cmocka_unit_test(test_quality),
        cmocka_unit_test(test_alpha_no_bleed),
        cmocka_unit_test(test_strip_rows),
        cmocka_unit_test(test_strip_rows_box),
        cmocka_unit_test(test_fixed_point_vs_reference),
        cmocka_unit_test(test_stream_random_strips),
        cmocka_unit_test(test_budget),
        cmocka_unit_test(test16_identity),
        cmocka_unit_test(test16_average),
        cmocka_unit_test(test16_constant_and_8bit),
        cmocka_unit_test(test16_rotate),
        cmocka_unit_test(test16_convert),
    };

    return cmocka_run_group_tests_name("pixel", tests, NULL, NULL);
}
