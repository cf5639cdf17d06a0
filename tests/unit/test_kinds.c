/* SPDX-License-Identifier: MIT */
/*
 * test_kinds: the TIFF pixel kinds of tests/fixtures/kinds.h read through
 * the source module, pixel-exact: CMYK (naive; through its ICC profile,
 * the expectation computed here with lcms2 directly; with an unusable
 * profile), CIELab and ICCLab (lcms2's Lab D50), float32 (scaled, NaN,
 * clamping, SMin/SMaxSampleValue), YCbCr without JPEG (libtiff's own
 * conversion formula as the expectation), 16-bit rounding, the kinds that
 * are refused (415 and their reason), ICC profiles kept, dropped when
 * unusable (one warning), converted to sRGB with ICC_TO_SRGB (the
 * transform built once per profile), and the background colour that
 * alpha is flattened onto.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>
#ifdef HAVE_LCMS2
#include <lcms2.h>
#endif

#include "../fixtures/kinds.h"
#include "core/log.h"
#include "fixture.h"
#include "pixel/pixel.h"
#include "source/cms.h"
#include "source/source.h"

/* ---------------------------------------------------------------- helpers */

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

/* The whole level 0 of src (w x h, its bands) into img (malloc). */
static void
read_all(vl_source_t *src, vl_image_t *img)
{
    const vl_source_info_t *info = vl_source_info(src);
    vl_err_t                err = { 0 };

    memset(img, 0, sizeof(*img));
    img->w = info->geom.width;
    img->h = info->geom.height;
    img->bands = info->geom.bands;
    img->depth = 1;
    img->stride = (size_t) img->w * (size_t) img->bands + 5;
    img->data = malloc(img->stride * img->h);
    assert_non_null(img->data);
    memset(img->data, 0xcd, img->stride * img->h);
    if (vl_source_read(src, 0, &VL_RECT(0, 0, img->w, img->h), img, &err)
        != VL_OK) {
        fail_msg("read: %s", err.msg);
    }
}

static unsigned
px(const vl_image_t *img, uint32_t x, uint32_t y, int b)
{
    return VL_IMAGE_ROW(img, y)[(size_t) x * (size_t) img->bands + b];
}

/* Also a crop across blocks gives the same pixels as the whole read. */
static void
check_crop(vl_source_t *src, const vl_image_t *all)
{
    vl_image_t img;
    vl_err_t   err = { 0 };
    uint32_t   x0 = 13, y0 = 5, w = 20, h = 20;

    img = *all;
    img.w = w;
    img.h = h;
    img.data = malloc(img.stride * h);
    assert_non_null(img.data);
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(x0, y0, w, h), &img,
                                    &err), VL_OK);
    for (uint32_t y = 0; y < h; y++) {
        assert_memory_equal(VL_IMAGE_ROW(&img, y),
                            VL_IMAGE_ROW(all, y0 + y)
                                + (size_t) x0 * (size_t) all->bands,
                            (size_t) w * (size_t) all->bands);
    }
    free(img.data);
}

static unsigned
r16(unsigned v)
{
    return (v * 255u + 32767u) / 65535u;
}

/* The ICC profile stored in a fixture (malloc), or NULL. */
static unsigned char *
file_icc(const char *name, uint32_t *len)
{
    TIFF          *tif = TIFFOpen(vl_fx_path(name), "r");
    const void    *icc = NULL;
    unsigned char *copy = NULL;

    assert_non_null(tif);
    *len = 0;
    if (TIFFGetField(tif, TIFFTAG_ICCPROFILE, len, &icc) && icc != NULL) {
        copy = malloc(*len);
        assert_non_null(copy);
        memcpy(copy, icc, *len);
    }
    TIFFClose(tif);
    return copy;
}

static void
check_bands(vl_source_t *src, int bands)
{
    const vl_source_info_t *info = vl_source_info(src);

    assert_int_equal(info->geom.bands, bands);
    assert_int_equal(info->geom.width, KX_W);
    assert_int_equal(info->geom.height, KX_H);
    assert_int_equal(info->bits, 8);    /* what is read: 8-bit */
}

/* ---------------------------------------------------------------- CMYK */

static unsigned
naive(unsigned c, unsigned k)
{
    return ((255 - c) * (255 - k) + 127) / 255;
}

/* No profile: R = (255 - C)(255 - K) / 255, exact. */
static void
test_cmyk_naive(void **state)
{
    static const char *names[] = { "cmyk8.tif", "cmyk16a.tif" };

    (void) state;
    for (size_t n = 0; n < 2; n++) {
        vl_source_t *src = open_fx(names[n]);
        int          wide = n == 1;
        vl_image_t   img;

        check_bands(src, wide ? 4 : 3);
        assert_null(vl_source_info(src)->icc);
        read_all(src, &img);
        for (uint32_t y = 0; y < KX_H; y++) {
            for (uint32_t x = 0; x < KX_W; x++) {
                unsigned s[5];

                for (int c = 0; c < 4; c++) {
                    s[c] = wide ? r16((kx_cmyk(x, y, c) << 8) | kx_low(x, y))
                                : kx_cmyk(x, y, c);
                }
                for (int c = 0; c < 3; c++) {
                    assert_int_equal(px(&img, x, y, c), naive(s[c], s[3]));
                }
                if (wide) {
                    assert_int_equal(px(&img, x, y, 3),
                                     r16((kx_alpha(x, y) << 8)
                                         | kx_low(y, x)));
                }
            }
        }
        /* a known value: no ink is white, all K is black */
        check_crop(src, &img);
        free(img.data);
        vl_source_put(NULL, src);
    }
    assert_int_equal(naive(0, 0), 255);
    assert_int_equal(naive(0, 255), 0);
    assert_int_equal(naive(128, 0), 127);
}

/* Through the file's CMYK profile: what lcms2 computes from the same
 * profile (relative colorimetric, black point compensation); no profile
 * reaches the output. */
static void
test_cmyk_icc(void **state)
{
#ifdef HAVE_LCMS2
    static const char *names[] = { "cmyk8-icc.tif", "cmyk16-icc.tif" };

    (void) state;
    for (size_t n = 0; n < 2; n++) {
        uint32_t       len;
        unsigned char *icc = file_icc(names[n], &len);
        int            wide = n == 1;
        cmsHPROFILE    in, out = cmsCreate_sRGBProfile();
        cmsHTRANSFORM  xf;
        vl_source_t   *src = open_fx(names[n]);
        vl_image_t     img;
        size_t         differ = 0;

        assert_non_null(icc);
        in = cmsOpenProfileFromMem(icc, len);
        assert_non_null(in);
        xf = cmsCreateTransform(in, wide ? TYPE_CMYK_16 : TYPE_CMYK_8, out,
                                TYPE_RGB_8, INTENT_RELATIVE_COLORIMETRIC,
                                cmsFLAGS_BLACKPOINTCOMPENSATION);
        assert_non_null(xf);
        check_bands(src, 3);
        assert_null(vl_source_info(src)->icc);   /* CMYK: not embedded */
        read_all(src, &img);
        for (uint32_t y = 0; y < KX_H; y++) {
            for (uint32_t x = 0; x < KX_W; x++) {
                uint8_t  c8[4], rgb[3];
                uint16_t c16[4];

                for (int c = 0; c < 4; c++) {
                    c8[c] = (uint8_t) kx_cmyk(x, y, c);
                    c16[c] = (uint16_t) ((kx_cmyk(x, y, c) << 8)
                                         | kx_low(x, y));
                }
                cmsDoTransform(xf, wide ? (void *) c16 : (void *) c8, rgb, 1);
                for (int c = 0; c < 3; c++) {
                    assert_int_equal(px(&img, x, y, c), rgb[c]);
                    differ += abs((int) rgb[c]
                                  - (int) naive(wide ? r16(c16[c]) : c8[c],
                                                wide ? r16(c16[3]) : c8[3]))
                              > 2;
                }
            }
        }
        /* the profile was used, not the naive formula */
        assert_true(differ > 100);
        check_crop(src, &img);
        free(img.data);
        vl_source_put(NULL, src);
        cmsDeleteTransform(xf);
        cmsCloseProfile(in);
        cmsCloseProfile(out);
        free(icc);
    }
#else
    (void) state;
    skip();
#endif
}

/* An RGB profile on CMYK pixels: dropped, naive conversion. */
static void
test_cmyk_badicc(void **state)
{
    vl_source_t *src;
    vl_image_t   img;

    (void) state;
    src = open_fx("cmyk-badicc.tif");
    check_bands(src, 3);
    assert_null(vl_source_info(src)->icc);
    read_all(src, &img);
    for (uint32_t y = 0; y < KX_H; y++) {
        for (uint32_t x = 0; x < KX_W; x++) {
            for (int c = 0; c < 3; c++) {
                assert_int_equal(px(&img, x, y, c),
                                 naive(kx_cmyk(x, y, c), kx_cmyk(x, y, 3)));
            }
        }
    }
    free(img.data);
    vl_source_put(NULL, src);
}

/* ---------------------------------------------------------------- Lab */

static void
test_lab(void **state)
{
#ifdef HAVE_LCMS2
    static const char *names[] = { "lab8.tif", "icclab8a.tif", "lab16.tif" };
    cmsHPROFILE        lab = cmsCreateLab4Profile(NULL);
    cmsHPROFILE        srgb = cmsCreate_sRGBProfile();
    cmsHTRANSFORM      xf = cmsCreateTransform(lab, TYPE_Lab_DBL, srgb,
                                               TYPE_RGB_8,
                                               INTENT_RELATIVE_COLORIMETRIC,
                                               cmsFLAGS_BLACKPOINTCOMPENSATION);

    (void) state;
    assert_non_null(xf);
    for (size_t n = 0; n < 3; n++) {
        vl_source_t *src = open_fx(names[n]);
        int          alpha = n == 1;
        vl_image_t   img;

        check_bands(src, alpha ? 4 : 3);
        read_all(src, &img);
        for (uint32_t y = 0; y < KX_H; y++) {
            for (uint32_t x = 0; x < KX_W; x++) {
                cmsCIELab v;
                uint8_t   rgb[3];

                v.L = n == 2 ? kx_lab_l(x, y) * 257 * 100.0 / 65535.0
                             : kx_lab_l(x, y) * 100.0 / 255.0;
                v.a = kx_lab_a(x, y);
                v.b = kx_lab_b(x, y);
                cmsDoTransform(xf, &v, rgb, 1);
                for (int c = 0; c < 3; c++) {
                    assert_int_equal(px(&img, x, y, c), rgb[c]);
                }
                if (alpha) {
                    assert_int_equal(px(&img, x, y, 3), kx_alpha(x, y));
                }
            }
        }
        /* known values: (0, 0) is L* 0: black; (25, 0) L* 58.8, a* -31,
         * b* -75: a blue (B well above R) */
        for (int c = 0; c < 3; c++) {
            assert_int_equal(px(&img, 0, 0, c), 0);
        }
        assert_int_equal(kx_lab_a(25, 0), -31);
        assert_true(px(&img, 25, 0, 2) > px(&img, 25, 0, 0) + 60);
        check_crop(src, &img);
        free(img.data);
        vl_source_put(NULL, src);
    }
    cmsDeleteTransform(xf);
    cmsCloseProfile(lab);
    cmsCloseProfile(srgb);
#else
    (void) state;
    skip();
#endif
}

/* ---------------------------------------------------------------- float */

static unsigned
f8(double f, double lo, double hi)
{
    double v;

    if (isnan(f)) {
        return 0;
    }
    v = (f - lo) / (hi - lo) * 255.0;
    return v <= 0 ? 0 : v >= 255 ? 255 : (unsigned) (v + 0.5);
}

static void
test_float(void **state)
{
    vl_source_t *src;
    vl_image_t   img;

    (void) state;
    src = open_fx("float.tif");
    check_bands(src, 1);
    read_all(src, &img);
    /* NaN -> 0, -0.5 -> 0, 2.0 -> 255, +inf -> 255, 0..1 scaled */
    assert_int_equal(px(&img, 0, 0, 0), 0);
    assert_int_equal(px(&img, 1, 0, 0), 0);
    assert_int_equal(px(&img, 2, 0, 0), 255);
    assert_int_equal(px(&img, 3, 0, 0), 255);
    assert_int_equal(px(&img, KX_W - 1, KX_H - 1, 0), 255);
    assert_int_equal(px(&img, 4, 0, 0), 1);     /* 4/1199 * 255 = 0.85 */
    for (uint32_t y = 0; y < KX_H; y++) {
        for (uint32_t x = 0; x < KX_W; x++) {
            assert_int_equal(px(&img, x, y, 0), f8(kx_float(x, y), 0, 1));
        }
    }
    check_crop(src, &img);
    free(img.data);
    vl_source_put(NULL, src);

    /* SMinSampleValue -1, SMaxSampleValue 3: back to the 8-bit pattern */
    for (int planar = 0; planar < 2; planar++) {
        src = open_fx(planar ? "float-planar.tif" : "float-rgb.tif");
        check_bands(src, 3);
        read_all(src, &img);
        for (uint32_t y = 0; y < KX_H; y++) {
            for (uint32_t x = 0; x < KX_W; x++) {
                for (int c = 0; c < 3; c++) {
                    unsigned want = f8(kx_frgb(x, y, c), KX_FMIN, KX_FMAX);

                    assert_int_equal(px(&img, x, y, c), want);
                    assert_int_equal(want,
                                     (x * 11u + y * 5u + c * 80u) & 255u);
                }
            }
        }
        check_crop(src, &img);
        free(img.data);
        vl_source_put(NULL, src);
    }
}

/* ---------------------------------------------------------------- YCbCr */

/* What libtiff's conversion gives for (Y, Cb, Cr) with the fixtures'
 * coefficients (Rec. 601) and ReferenceBlackWhite (full range). */
static void
ycbcr_rgb(unsigned y, unsigned cb, unsigned cr, unsigned rgb[3])
{
    static TIFFYCbCrToRGB *conv;
    uint32_t               r, g, b;

    if (conv == NULL) {
        float coef[3] = { 0.299f, 0.587f, 0.114f };
        float refbw[6] = { 0, 255, 128, 255, 128, 255 };
        size_t size = sizeof(TIFFYCbCrToRGB) + 4 * 256 * sizeof(TIFFRGBValue)
                      + 2 * 256 * sizeof(int) + 3 * 256 * sizeof(int32_t);

        conv = calloc(1, size + 64);
        assert_non_null(conv);
        assert_int_equal(TIFFYCbCrToRGBInit(conv, coef, refbw), 0);
    }
    TIFFYCbCrtoRGB(conv, y, (int32_t) cb, (int32_t) cr, &r, &g, &b);
    rgb[0] = r;
    rgb[1] = g;
    rgb[2] = b;
}

static void
test_ycbcr(void **state)
{
    static const struct {
        const char *name;
        uint32_t    sh, sv;
    } fx[] = { { "ycbcr22.tif", 2, 2 }, { "ycbcr21t.tif", 2, 1 },
               { "ycbcr11.tif", 1, 1 } };

    (void) state;
    for (size_t n = 0; n < 3; n++) {
        vl_source_t *src = open_fx(fx[n].name);
        vl_image_t   img;

        check_bands(src, 3);
        read_all(src, &img);
        for (uint32_t y = 0; y < KX_H; y++) {
            for (uint32_t x = 0; x < KX_W; x++) {
                unsigned want[3];

                ycbcr_rgb(kx_y(x, y), kx_cb(x / fx[n].sh, y / fx[n].sv),
                          kx_cr(x / fx[n].sh, y / fx[n].sv), want);
                /* and that is Rec. 601 full range, within rounding */
                {
                    double yy = kx_y(x, y);
                    double cb = kx_cb(x / fx[n].sh, y / fx[n].sv) - 128.0;
                    double cr = kx_cr(x / fx[n].sh, y / fx[n].sv) - 128.0;
                    double f[3] = { yy + 1.402 * cr,
                                    yy - 0.344136 * cb - 0.714136 * cr,
                                    yy + 1.772 * cb };

                    for (int c = 0; c < 3; c++) {
                        double v = f[c] < 0 ? 0 : f[c] > 255 ? 255 : f[c];

                        assert_true(fabs(v - want[c]) <= 1.5);
                    }
                }
                for (int c = 0; c < 3; c++) {
                    if (px(&img, x, y, c) != want[c]) {
                        fail_msg("%s (%u,%u) band %d: got %u want %u",
                                 fx[n].name, x, y, c, px(&img, x, y, c),
                                 want[c]);
                    }
                }
            }
        }
        check_crop(src, &img);
        free(img.data);
        vl_source_put(NULL, src);
    }
}

/* ------------------------------------------------------- 16-bit rounding */

/* 16-bit samples are rounded to 8 bits: 200 -> 1 and 65280 -> 254 (v >> 8
 * gave 0 and 255). */
static void
test_round16(void **state)
{
    static const char *names[] = { "grey16r.tif", "rgb16r.tif" };

    (void) state;
    for (size_t n = 0; n < 2; n++) {
        vl_source_t *src = open_fx(names[n]);
        vl_image_t   img;

        assert_int_equal(vl_source_info(src)->bits, 16);
        read_all(src, &img);
        for (uint32_t x = 0; x < 4; x++) {
            for (int c = 0; c < img.bands; c++) {
                assert_int_equal(px(&img, x, 0, c), kx_r16_want[x]);
                assert_int_equal(kx_r16_want[x], r16(kx_r16[x]));
            }
        }
        free(img.data);
        vl_source_put(NULL, src);
    }
}

/* ---------------------------------------------------------------- refused */

static void
test_refused(void **state)
{
    static const struct {
        const char *name;
        const char *why;
    } fx[] = {
        { "bad-int16.tif", "signed integer samples are not supported" },
        { "bad-float64.tif", "floating-point samples must have 32 bits" },
        { "bad-bits12.tif", "unsigned samples must have 1, 2, 4, 8 or 16" },
        { "bad-int32.tif", "unsigned samples must have 1, 2, 4, 8 or 16" },
        { "bad-inks.tif", "other inks than CMYK" },
        { "bad-logl.tif", "LogL" },
        { "bad-cfa.tif", "photometric interpretation 32803 is not" },
        { "bad-ycbcr14.tif", "YCbCr subsampling is not supported" },
    };

    (void) state;
    for (size_t n = 0; n < sizeof(fx) / sizeof(fx[0]); n++) {
        vl_err_t     err = { 0 };
        vl_source_t *src = vl_source_open_path(vl_fx_path(fx[n].name), &err);

        if (src != NULL || err.code != VL_EFORMAT
            || strstr(err.msg, fx[n].why) == NULL) {
            fail_msg("%s: %s %s", fx[n].name, vl_status_name(err.code),
                     err.msg);
        }
        assert_null(strchr(err.msg, '/'));      /* no path */
        assert_null(strchr(err.msg, '\n'));     /* one line */
    }
}

/* ------------------------------------------------------------ profiles */

static vl_source_t *
get_conf(vl_source_cache_t *cache, int to_srgb, const char *id)
{
    static char  real[PATH_MAX];
    vl_conf_t    conf;
    vl_err_t     err = { 0 };
    vl_source_t *src;

    memset(&conf, 0, sizeof(conf));
    assert_non_null(realpath(vl_fx_path(""), real));
    conf.filesystem_prefix = real;
    conf.filesystem_suffix = "";
    conf.output.icc_to_srgb = to_srgb;
    src = vl_source_get(cache, &conf, id, &err);
    if (src == NULL) {
        fail_msg("%s: %s", id, err.msg);
    }
    return src;
}

/* Without ICC_TO_SRGB: the profile is the file's, byte for byte, and the
 * pixels are as stored. */
static void
test_icc_kept(void **state)
{
    static const char *names[] = { "rgb-srgb.tif", "rgb-adobe.tif",
                                   "grey-g18.tif" };

    (void) state;
    if (!vl_cms_available()) {
        skip();
    }
    for (size_t n = 0; n < 3; n++) {
        uint32_t                len;
        unsigned char          *icc = file_icc(names[n], &len);
        vl_source_cache_t      *cache = vl_source_cache_new(8);
        vl_source_t            *src = get_conf(cache, 0, names[n]);
        const vl_source_info_t *info = vl_source_info(src);
        vl_image_t              img;

        assert_non_null(icc);
        assert_int_equal(info->icc_len, len);
        assert_memory_equal(info->icc, icc, len);
        read_all(src, &img);
        for (uint32_t y = 0; y < KX_H; y++) {
            for (uint32_t x = 0; x < KX_W; x++) {
                for (int c = 0; c < img.bands; c++) {
                    assert_int_equal(px(&img, x, y, c), kx_cmyk(x, y, c));
                }
            }
        }
        free(img.data);
        vl_source_put(cache, src);
        vl_source_cache_free(cache);
        free(icc);
    }
}

/* ICC_TO_SRGB: converted as lcms2 converts them, no profile embedded,
 * alpha kept; the transform is built once for two handles. */
static void
test_icc_to_srgb(void **state)
{
#ifdef HAVE_LCMS2
    static const struct {
        const char     *name;
        cmsUInt32Number fmt;
        int             bands;
    } fx[] = { { "rgb-adobe.tif", TYPE_RGB_8, 3 },
               { "rgba-adobe.tif", TYPE_RGBA_8, 4 },
               { "grey-g18.tif", TYPE_GRAY_8, 1 } };
    unsigned long built, hits;

    (void) state;
    vl_cms_flush();
    for (size_t n = 0; n < 3; n++) {
        uint32_t           len;
        unsigned char     *icc = file_icc(fx[n].name, &len);
        cmsHPROFILE        in = cmsOpenProfileFromMem(icc, len), out;
        cmsHTRANSFORM      xf;
        vl_source_cache_t *cache = vl_source_cache_new(8);
        vl_source_t       *src = get_conf(cache, 1, fx[n].name);
        vl_image_t         img;
        size_t             moved = 0;

        if (fx[n].bands == 1) {
            cmsFloat64Number p[5] = { 2.4, 1 / 1.055, 0.055 / 1.055,
                                      1 / 12.92, 0.04045 };
            cmsToneCurve    *t = cmsBuildParametricToneCurve(NULL, 4, p);

            out = cmsCreateGrayProfile(cmsD50_xyY(), t);
            cmsFreeToneCurve(t);
        } else {
            out = cmsCreate_sRGBProfile();
        }
        xf = cmsCreateTransform(in, fx[n].fmt, out, fx[n].fmt,
                                INTENT_RELATIVE_COLORIMETRIC,
                                cmsFLAGS_BLACKPOINTCOMPENSATION
                                    | (fx[n].bands == 4 ? cmsFLAGS_COPY_ALPHA
                                                        : 0));
        assert_non_null(xf);
        assert_null(vl_source_info(src)->icc);  /* converted: none */
        assert_int_equal(vl_source_info(src)->geom.bands, fx[n].bands);
        read_all(src, &img);
        for (uint32_t y = 0; y < KX_H; y++) {
            for (uint32_t x = 0; x < KX_W; x++) {
                uint8_t stored[4], want[4];

                for (int c = 0; c < 3; c++) {
                    stored[c] = (uint8_t) kx_cmyk(x, y, c);
                }
                stored[3] = (uint8_t) kx_alpha(x, y);
                if (fx[n].bands == 4) {
                    want[3] = 0;
                }
                cmsDoTransform(xf, stored, want, 1);
                for (int c = 0; c < fx[n].bands; c++) {
                    assert_int_equal(px(&img, x, y, c), want[c]);
                }
                moved += want[0] != stored[0];
                if (fx[n].bands == 4) {
                    assert_int_equal(px(&img, x, y, 3), kx_alpha(x, y));
                }
            }
        }
        assert_true(moved > 100);       /* the conversion did something */
        free(img.data);
        vl_source_put(cache, src);
        vl_source_cache_free(cache);
        cmsDeleteTransform(xf);
        cmsCloseProfile(in);
        cmsCloseProfile(out);
        free(icc);
    }
    /* a second handle of rgb-adobe.tif (another cache): no new transform */
    vl_cms_stats(&built, &hits);
    {
        unsigned long      before = built;
        vl_source_cache_t *cache = vl_source_cache_new(8);
        vl_source_t       *src = get_conf(cache, 1, "rgb-adobe.tif");
        vl_image_t         img;

        read_all(src, &img);
        free(img.data);
        vl_source_put(cache, src);
        vl_source_cache_free(cache);
        vl_cms_stats(&built, &hits);
        assert_int_equal(built, before);
        assert_true(hits > 0);
    }
    /* a stored JPEG tile is never sent unconverted: no raw tile with
     * ICC_TO_SRGB, the raw tile without */
    for (int to = 0; to < 2; to++) {
        vl_source_cache_t *cache = vl_source_cache_new(8);
        vl_source_t       *src = get_conf(cache, to, "rgb-adobe-jpeg.tif");
        vl_pool_t         *pool = vl_pool_create(4096);
        unsigned char     *data = NULL;
        size_t             len = 0;
        vl_err_t           err = { 0 };

        assert_non_null(pool);
        assert_int_equal(vl_source_read_jpeg_tile(src, pool, 0, 1, 1, &data,
                                                  &len, &err),
                         to ? VL_EUNSUPP : VL_OK);
        vl_pool_destroy(pool);
        vl_source_put(cache, src);
        vl_source_cache_free(cache);
    }
#else
    (void) state;
    skip();
#endif
}

/* ICC_TO_SRGB on a 16-bit read (depth 2, as the 16-bit PNG/TIFF path
 * reads): the 16-bit samples through lcms2's 16-bit transform, exactly
 * what lcms2 computes; without it, the stored samples and the profile. */
static void
test_icc_to_srgb16(void **state)
{
#ifdef HAVE_LCMS2
    uint32_t       len;
    unsigned char *icc;
    cmsHPROFILE    in, out;
    cmsHTRANSFORM  xf;

    (void) state;
    if (!vl_cms_available()) {
        skip();
    }
    icc = file_icc("rgb16-adobe.tif", &len);
    in = cmsOpenProfileFromMem(icc, len);
    out = cmsCreate_sRGBProfile();
    xf = cmsCreateTransform(in, TYPE_RGB_16, out, TYPE_RGB_16,
                            INTENT_RELATIVE_COLORIMETRIC,
                            cmsFLAGS_BLACKPOINTCOMPENSATION);
    assert_non_null(xf);
    for (int to = 0; to < 2; to++) {
        vl_source_cache_t      *cache = vl_source_cache_new(8);
        vl_source_t            *src = get_conf(cache, to, "rgb16-adobe.tif");
        const vl_source_info_t *info = vl_source_info(src);
        vl_image_t              img;
        vl_err_t                err = { 0 };
        size_t                  moved = 0;

        assert_true(info->reads16);
        assert_int_equal(info->bits, 16);
        if (to) {
            assert_null(info->icc);
        } else {
            assert_non_null(info->icc);
            assert_int_equal(info->icc_len, len);
        }
        memset(&img, 0, sizeof(img));
        img.w = KX_W;
        img.h = KX_H;
        img.bands = 3;
        img.depth = 2;
        img.stride = (size_t) KX_W * 6;
        img.data = malloc(img.stride * KX_H);
        assert_non_null(img.data);
        if (vl_source_read(src, 0, &VL_RECT(0, 0, KX_W, KX_H), &img, &err)
            != VL_OK) {
            fail_msg("read: %s", err.msg);
        }
        for (uint32_t y = 0; y < KX_H; y++) {
            const uint16_t *row =
                (const uint16_t *) (const void *) VL_IMAGE_ROW(&img, y);

            for (uint32_t x = 0; x < KX_W; x++) {
                uint16_t stored[3], want[3];

                for (int c = 0; c < 3; c++) {
                    stored[c] =
                        (uint16_t) ((kx_cmyk(x, y, c) << 8) | kx_low(x, y));
                }
                if (to) {
                    cmsDoTransform(xf, stored, want, 1);
                } else {
                    memcpy(want, stored, sizeof(want));
                }
                for (int c = 0; c < 3; c++) {
                    assert_int_equal(row[x * 3 + c], want[c]);
                }
                moved += want[0] != stored[0];
            }
        }
        assert_true(to ? moved > 100 : moved == 0);
        free(img.data);
        vl_source_put(cache, src);
        vl_source_cache_free(cache);
    }
    cmsDeleteTransform(xf);
    cmsCloseProfile(in);
    cmsCloseProfile(out);
    free(icc);
#else
    (void) state;
    skip();
#endif
}

/* A malformed profile and a CMYK profile on RGB pixels: dropped (served
 * as if none, pixels as stored), one warning line per profile however
 * often the file is opened. */
static void
test_icc_malformed(void **state)
{
    static const char *names[] = { "rgb-badicc.tif", "rgb-cmykicc.tif" };
    char               logpath[] = "/tmp/vl-kinds-log-XXXXXX";
    int                fd;
    FILE              *f;
    char               line[512];
    int                warnings = 0;

    (void) state;
    if (!vl_cms_available()) {
        skip();
    }
    fd = mkstemp(logpath);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(vl_log_open(logpath, 2), 0);
    vl_cms_flush();
    for (int pass = 0; pass < 3; pass++) {
        for (size_t n = 0; n < 2; n++) {
            vl_source_t *src = open_fx(names[n]);
            vl_image_t   img;

            assert_null(vl_source_info(src)->icc);
            assert_int_equal(vl_source_info(src)->icc_len, 0);
            read_all(src, &img);
            assert_int_equal(px(&img, 7, 3, 1), kx_cmyk(7, 3, 1));
            free(img.data);
            vl_source_put(NULL, src);
            /* ICC_TO_SRGB too */
            {
                vl_source_cache_t *cache = vl_source_cache_new(0);

                src = get_conf(cache, 1, names[n]);
                assert_null(vl_source_info(src)->icc);
                read_all(src, &img);
                assert_int_equal(px(&img, 7, 3, 1), kx_cmyk(7, 3, 1));
                free(img.data);
                vl_source_put(cache, src);
                vl_source_cache_free(cache);
            }
        }
    }
    vl_log_close();
    f = fopen(logpath, "r");
    assert_non_null(f);
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strstr(line, "ICC profile dropped") != NULL) {
            warnings++;
            assert_null(strstr(line, vl_fx_path("")));   /* no path */
        }
    }
    fclose(f);
    unlink(logpath);
    assert_int_equal(warnings, 2);
}

/* The cache holds 16 transforms, least recently used out; one still held
 * survives its eviction and works; the evicted profile is built again. */
static void
test_cms_cache(void **state)
{
#ifdef HAVE_LCMS2
    enum { N = 20 };
    unsigned char *prof[N];
    uint32_t       len[N];
    vl_cms_xf_t   *held = NULL, *xf;
    unsigned long  built, hits, b0;
    unsigned char  in[3] = { 10, 128, 250 }, out[3];

    (void) state;
    vl_cms_flush();
    for (int i = 0; i < N; i++) {
        cmsToneCurve   *g = cmsBuildGamma(NULL, 1.5 + i * 0.05);
        cmsToneCurve   *t[3] = { g, g, g };
        cmsCIExyYTRIPLE prim = { { 0.64, 0.33, 1 }, { 0.30, 0.60, 1 },
                                 { 0.15, 0.06, 1 } };
        cmsHPROFILE     p = cmsCreateRGBProfile(cmsD50_xyY(), &prim, t);
        cmsUInt32Number n = 0;

        assert_true(cmsSaveProfileToMem(p, NULL, &n));
        prof[i] = malloc(n);
        assert_true(cmsSaveProfileToMem(p, prof[i], &n));
        len[i] = n;
        cmsCloseProfile(p);
        cmsFreeToneCurve(g);
    }
    assert_int_equal(vl_cms_get(prof[0], len[0], VL_CMS_RGB8, &held, NULL),
                     VL_OK);
    for (int i = 1; i < N; i++) {
        assert_int_equal(vl_cms_get(prof[i], len[i], VL_CMS_RGB8, &xf, NULL),
                         VL_OK);
        vl_cms_release(xf);
    }
    vl_cms_stats(&built, &hits);
    assert_int_equal(built, N);
    assert_int_equal(hits, 0);
    vl_cms_run(held, in, out, 1);          /* evicted, still held: works */
    vl_cms_release(held);                  /* and is freed now */
    b0 = built;
    assert_int_equal(vl_cms_get(prof[N - 1], len[N - 1], VL_CMS_RGB8, &xf,
                                NULL), VL_OK);   /* recent: a hit */
    vl_cms_release(xf);
    assert_int_equal(vl_cms_get(prof[0], len[0], VL_CMS_RGB8, &xf, NULL),
                     VL_OK);                     /* evicted: built again */
    vl_cms_release(xf);
    vl_cms_stats(&built, &hits);
    assert_int_equal(built, b0 + 1);
    assert_int_equal(hits, 1);
    /* another format of the same profile is another transform */
    assert_int_equal(vl_cms_get(prof[0], len[0], VL_CMS_RGBA8, &xf, NULL),
                     VL_OK);
    vl_cms_release(xf);
    vl_cms_stats(&built, &hits);
    assert_int_equal(built, b0 + 2);
    /* a profile of the wrong space for the kind: refused */
    assert_int_equal(vl_cms_get(prof[0], len[0], VL_CMS_CMYK8, &xf, NULL),
                     VL_EFORMAT);
    assert_null(xf);
    for (int i = 0; i < N; i++) {
        free(prof[i]);
    }
    vl_cms_flush();
#else
    (void) state;
    skip();
#endif
}

/* ------------------------------------------------------------ background */

/* A stored JPEG tile of a level the pipeline converts (MINISWHITE grey
 * inverted, CIELab through lcms2) is not handed out for passthrough: the
 * stream as stored is not the image (the decode path reads the same tile
 * through libtiff and converts it). */
static void
test_jpeg_tile_converted(void **state)
{
    static const char *names[] = { "grey-white-jpeg.tif", "lab8-jpeg.tif" };

    (void) state;
    for (size_t n = 0; n < 2; n++) {
        vl_source_t   *src;
        vl_pool_t     *pool = vl_pool_create(4096);
        unsigned char *data = NULL;
        size_t         len = 0;
        vl_err_t       err = { 0 };
        vl_image_t     img;

        if (n == 1 && !vl_cms_available()) {
            vl_pool_destroy(pool);
            continue; /* Lab needs lcms2 */
        }
        src = open_fx(names[n]);
        assert_non_null(pool);
        assert_int_equal(
            vl_source_read_jpeg_tile(src, pool, 0, 1, 1, &data, &len, &err),
            VL_EUNSUPP);
        read_all(src, &img);
        if (n == 0) {
            /* stored s (white is 0), read as 255 - s (JPEG: within its
             * tolerance) */
            unsigned v = px(&img, 20, 20, 0), want = 255 - kx_cmyk(20, 20, 0);

            assert_true(v + 12 >= want && v <= want + 12);
        }
        free(img.data);
        vl_pool_destroy(pool);
        vl_source_put(NULL, src);
    }
}

static void
test_background(void **state)
{
    static const unsigned char bg[3] = { 0x33, 0x66, 0x99 };
    /* RGBA: transparent, half, opaque */
    static const unsigned char rgba[12] = { 200, 10, 10, 0,    200, 10, 10, 128,
                                            200, 10, 10, 255 };
    static const unsigned char ga[4] = { 100, 0, 100, 128 };
    unsigned char              out[12];

    (void) state;
    vl_pix_convert_row_bg(rgba, 4, out, 3, 3, VL_QUALITY_DEFAULT, 0, bg);
    assert_int_equal(out[0], 0x33);
    assert_int_equal(out[1], 0x66);
    assert_int_equal(out[2], 0x99);
    /* (200 * 128 + 51 * 127 + 127) / 255 = 126 */
    assert_int_equal(out[3], (200 * 128 + 0x33 * 127 + 127) / 255);
    assert_int_equal(out[4], (10 * 128 + 0x66 * 127 + 127) / 255);
    assert_int_equal(out[5], (10 * 128 + 0x99 * 127 + 127) / 255);
    assert_int_equal(out[6], 200);
    assert_int_equal(out[8], 10);
    /* the old entry point: white */
    vl_pix_convert_row(rgba, 4, out, 3, 1, VL_QUALITY_DEFAULT, 0);
    assert_int_equal(out[0], 255);
    assert_int_equal(out[2], 255);
    /* grey + alpha to grey: onto the luma of the background */
    vl_pix_convert_row_bg(ga, 2, out, 1, 2, VL_QUALITY_DEFAULT, 0, bg);
    assert_int_equal(out[0], vl_pix_luma(0x33, 0x66, 0x99));
    assert_int_equal(out[1], (100 * 128 + vl_pix_luma(0x33, 0x66, 0x99) * 127
                              + 127) / 255);
    /* bitonal: flattened on the background, then thresholded: a dark
     * background turns transparent pixels black, white turns them white */
    vl_pix_convert_row_bg(rgba, 4, out, 1, 1, VL_QUALITY_BITONAL, 0, bg);
    assert_int_equal(out[0], 0);
    vl_pix_convert_row(rgba, 4, out, 1, 1, VL_QUALITY_BITONAL, 0);
    assert_int_equal(out[0], 255);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cmyk_naive),
        cmocka_unit_test(test_cmyk_icc),
        cmocka_unit_test(test_cmyk_badicc),
        cmocka_unit_test(test_lab),
        cmocka_unit_test(test_float),
        cmocka_unit_test(test_ycbcr),
        cmocka_unit_test(test_round16),
        cmocka_unit_test(test_refused),
        cmocka_unit_test(test_icc_kept),
        cmocka_unit_test(test_icc_to_srgb),
        cmocka_unit_test(test_icc_to_srgb16),
        cmocka_unit_test(test_icc_malformed),
        cmocka_unit_test(test_cms_cache),
        cmocka_unit_test(test_background),
        cmocka_unit_test(test_jpeg_tile_converted),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
