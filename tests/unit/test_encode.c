/* SPDX-License-Identifier: MIT */
/*
 * test_encode: the capped sink and the JPEG/PNG encoders, decoded back with
 * libjpeg/libpng: PNG exact in every band count, JPEG within tolerance,
 * ICC profiles embedded, the sink cap, a 1x1 image, supported formats.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <png.h>

#include "encode/encode.h"

typedef struct {
    uint32_t       w, h;
    int            bands;
    unsigned char *px;
    unsigned char *icc;
    unsigned       icc_len;
} dec_t;

/* A minimal well-formed RGB display profile (header, no tags). */
static void
make_icc(unsigned char *p, size_t len)
{
    static const unsigned char d50[12] = { 0, 0, 0xf6, 0xd6, 0, 1, 0, 0,
                                           0, 0, 0xd3, 0x2d };

    memset(p, 0, len);
    p[0] = (unsigned char) (len >> 24);
    p[1] = (unsigned char) (len >> 16);
    p[2] = (unsigned char) (len >> 8);
    p[3] = (unsigned char) len;
    p[8] = 2;
    p[9] = 0x10;
    memcpy(p + 12, "mntrRGB XYZ ", 12);
    memcpy(p + 36, "acsp", 4);
    memcpy(p + 68, d50, 12);
    for (size_t i = 132; i < len; i++) {
        p[i] = (unsigned char) i;   /* opaque payload after the tag count */
    }
}

static void
pattern(unsigned char *px, uint32_t w, uint32_t h, int bands)
{
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            for (int b = 0; b < bands; b++) {
                px[((size_t) y * w + x) * bands + b] =
                    (unsigned char) (x * 7 + y * 13 + b * 50);
            }
        }
    }
}

static int
encode(vl_pool_t *pool, vl_format_t fmt, const unsigned char *px, uint32_t w,
       uint32_t h, int bands, const unsigned char *icc, size_t icc_len,
       size_t limit, vl_sink_t *sink, vl_err_t *err)
{
    vl_encode_opts_t opts = { .jpeg_quality = 92, .png_level = 6, .icc = icc, .icc_len = icc_len };
    vl_encoder_t    *enc;
    int              rc;

    if ((rc = vl_sink_init(sink, pool, limit, err)) != VL_OK) {
        return rc;
    }
    enc = vl_encoder_new(pool, fmt, &opts, w, h, bands, sink, err);
    if (enc == NULL) {
        return err->code;
    }
    /* rows in two batches, to exercise incremental writing */
    if ((rc = vl_encoder_write(enc, px, h / 2, (size_t) w * bands, err))
        != VL_OK
        || (rc = vl_encoder_write(enc, px + (size_t) (h / 2) * w * bands,
                                  h - h / 2, (size_t) w * bands, err))
           != VL_OK) {
        return rc;
    }
    return vl_encoder_finish(enc, err);
}

static void
decode_png(const vl_sink_t *sink, dec_t *d)
{
    png_image   img;
    png_structp png;
    png_infop   info;
    FILE       *fp;
    png_charp   name;
    png_bytep   prof;
    png_uint_32 plen;
    int         comp;

    memset(d, 0, sizeof(*d));
    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    assert_true(png_image_begin_read_from_memory(&img, sink->data,
                                                 sink->len));
    d->w = img.width;
    d->h = img.height;
    d->bands = PNG_IMAGE_SAMPLE_CHANNELS(img.format);
    img.format = img.format & ~(png_uint_32) PNG_FORMAT_FLAG_LINEAR;
    d->px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(d->px);
    assert_true(png_image_finish_read(&img, NULL, d->px, 0, NULL));

    /* iCCP through the full API */
    fp = fmemopen(sink->data, sink->len, "rb");
    assert_non_null(fp);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    info = png_create_info_struct(png);
    png_init_io(png, fp);
    png_read_info(png, info);
    if (png_get_iCCP(png, info, &name, &comp, &prof, &plen)) {
        d->icc = malloc(plen);
        memcpy(d->icc, prof, plen);
        d->icc_len = plen;
    }
    png_destroy_read_struct(&png, &info, NULL);
    fclose(fp);
}

static void
decode_jpeg(const vl_sink_t *sink, dec_t *d)
{
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr         jerr;

    memset(d, 0, sizeof(*d));
    cinfo.err = jpeg_std_error(&jerr);
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, sink->data, sink->len);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xffff);
    assert_int_equal(jpeg_read_header(&cinfo, TRUE), JPEG_HEADER_OK);
    if (!jpeg_read_icc_profile(&cinfo, &d->icc, &d->icc_len)) {
        d->icc = NULL;
    }
    jpeg_start_decompress(&cinfo);
    d->w = cinfo.output_width;
    d->h = cinfo.output_height;
    d->bands = cinfo.output_components;
    d->px = malloc((size_t) d->w * d->h * d->bands);
    while (cinfo.output_scanline < cinfo.output_height) {
        JSAMPROW row = d->px + (size_t) cinfo.output_scanline * d->w
                               * d->bands;

        jpeg_read_scanlines(&cinfo, &row, 1);
    }
    jpeg_finish_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
}

static void
test_png_roundtrip(void **state)
{
    (void) state;
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t     *pool = vl_pool_create(4096);
        vl_err_t       err = { 0 };
        vl_sink_t      sink;
        unsigned char  px[37 * 11 * 4];
        dec_t          d;

        pattern(px, 37, 11, bands);
        assert_int_equal(encode(pool, VL_FORMAT_PNG, px, 37, 11, bands, NULL,
                                0, 0, &sink, &err), VL_OK);
        assert_memory_equal(sink.data, "\x89PNG\r\n\x1a\n", 8);
        decode_png(&sink, &d);
        assert_int_equal(d.w, 37);
        assert_int_equal(d.h, 11);
        assert_int_equal(d.bands, bands);
        assert_memory_equal(d.px, px, (size_t) 37 * 11 * bands);
        assert_null(d.icc);
        free(d.px);
        vl_pool_destroy(pool);
    }
}

static void
test_jpeg_roundtrip(void **state)
{
    static const int band_counts[] = { 1, 3 };

    (void) state;
    for (size_t i = 0; i < 2; i++) {
        int            bands = band_counts[i];
        vl_pool_t     *pool = vl_pool_create(4096);
        vl_err_t       err = { 0 };
        vl_sink_t      sink;
        unsigned char *px = malloc((size_t) 64 * 48 * 3);
        dec_t          d;
        long           sum = 0;
        int            maxd = 0;

        /* smooth content: a JPEG at q92 stays close */
        for (uint32_t y = 0; y < 48; y++) {
            for (uint32_t x = 0; x < 64; x++) {
                for (int b = 0; b < bands; b++) {
                    px[((size_t) y * 64 + x) * bands + b] =
                        (unsigned char) (x * 2 + y + b * 40);
                }
            }
        }
        assert_int_equal(encode(pool, VL_FORMAT_JPG, px, 64, 48, bands, NULL,
                                0, 0, &sink, &err), VL_OK);
        assert_int_equal(sink.data[0], 0xff);
        assert_int_equal(sink.data[1], 0xd8);
        assert_int_equal(sink.data[sink.len - 2], 0xff);
        assert_int_equal(sink.data[sink.len - 1], 0xd9);
        decode_jpeg(&sink, &d);
        assert_int_equal(d.w, 64);
        assert_int_equal(d.h, 48);
        assert_int_equal(d.bands, bands);
        for (size_t k = 0; k < (size_t) 64 * 48 * bands; k++) {
            int diff = abs((int) d.px[k] - (int) px[k]);

            sum += diff;
            maxd = diff > maxd ? diff : maxd;
        }
        assert_true(maxd <= 12);
        assert_true(sum <= (long) 64 * 48 * bands * 2);
        free(d.px);
        free(px);
        vl_pool_destroy(pool);
    }
}

static void
test_icc_embedded(void **state)
{
    unsigned char icc[300], px[8 * 8 * 3];

    (void) state;
    make_icc(icc, sizeof(icc));
    pattern(px, 8, 8, 3);
    for (int f = 0; f < 2; f++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_err_t   err = { 0 };
        vl_sink_t  sink;
        dec_t      d;

        assert_int_equal(encode(pool, f ? VL_FORMAT_PNG : VL_FORMAT_JPG, px,
                                8, 8, 3, icc, sizeof(icc), 0, &sink, &err),
                         VL_OK);
        if (f) {
            decode_png(&sink, &d);
        } else {
            decode_jpeg(&sink, &d);
        }
        assert_non_null(d.icc);
        assert_int_equal(d.icc_len, sizeof(icc));
        assert_memory_equal(d.icc, icc, sizeof(icc));
        free(d.icc);
        free(d.px);
        vl_pool_destroy(pool);
    }
}

static void
test_sink_cap(void **state)
{
    unsigned char *px = malloc((size_t) 128 * 128 * 3);
    vl_sink_t      sink;

    (void) state;
    /* noise does not compress: far more than the cap */
    srand(7);
    for (size_t i = 0; i < (size_t) 128 * 128 * 3; i++) {
        px[i] = (unsigned char) rand();
    }
    for (int f = 0; f < 2; f++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_err_t   err = { 0 };

        assert_int_equal(encode(pool, f ? VL_FORMAT_PNG : VL_FORMAT_JPG, px,
                                128, 128, 3, NULL, 0, 4000, &sink, &err),
                         VL_ELIMIT);
        assert_int_equal(err.code, VL_ELIMIT);
        assert_string_equal(err.msg, "response too large");
        assert_true(sink.len <= 4000);
        vl_pool_destroy(pool);
    }
    /* the sink itself: exact cap accepted, one byte more refused */
    {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_err_t   err = { 0 };

        assert_int_equal(vl_sink_init(&sink, pool, 10, &err), VL_OK);
        assert_int_equal(vl_sink_write(&sink, "0123456789", 10, &err), VL_OK);
        assert_int_equal(vl_sink_write(&sink, "x", 1, &err), VL_ELIMIT);
        assert_int_equal(sink.len, 10);
        assert_memory_equal(sink.data, "0123456789", 10);
        vl_pool_destroy(pool);
    }
    free(px);
}

static void
test_one_pixel(void **state)
{
    unsigned char px[4] = { 10, 200, 30, 128 };

    (void) state;
    for (int f = 0; f < 2; f++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_err_t   err = { 0 };
        vl_sink_t  sink;
        dec_t      d;
        int        bands = f ? 4 : 3;

        assert_int_equal(encode(pool, f ? VL_FORMAT_PNG : VL_FORMAT_JPG, px,
                                1, 1, bands, NULL, 0, 0, &sink, &err), VL_OK);
        if (f) {
            decode_png(&sink, &d);
            assert_memory_equal(d.px, px, 4);
        } else {
            decode_jpeg(&sink, &d);
            for (int b = 0; b < 3; b++) {
                assert_true(abs((int) d.px[b] - (int) px[b]) <= 8);
            }
        }
        assert_int_equal(d.w, 1);
        assert_int_equal(d.h, 1);
        assert_int_equal(d.bands, bands);
        free(d.px);
        vl_pool_destroy(pool);
    }
}

/* A sink on the stack of a function that returns before the pool dies:
 * the pool cleanup must free the buffer without touching the dead sink. */
static const unsigned char *
sink_fill_on_stack(vl_pool_t *pool, size_t *len)
{
    vl_sink_t sink;
    vl_err_t  err = { 0 };

    assert_int_equal(vl_sink_init(&sink, pool, 1 << 20, &err), VL_OK);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(vl_sink_write(&sink, "0123456789", 10, &err), VL_OK);
    }
    *len = sink.len;
    return sink.data;
}

static void
test_sink_outlives_scope(void **state)
{
    vl_pool_t           *pool = vl_pool_create(4096);
    size_t               len = 0;
    const unsigned char *data;

    (void) state;
    assert_non_null(pool);
    data = sink_fill_on_stack(pool, &len);
    assert_int_equal(len, 1000);
    assert_memory_equal(data + 990, "0123456789", 10);
    vl_pool_destroy(pool);      /* frees the buffer; ASan checks the rest */
}

/* The format table's columns: what each built format takes and keeps. */
static void
test_format_table(void **state)
{
    vl_format_t list[VL_FORMAT_COUNT];
    size_t      n = vl_format_list(list, VL_FORMAT_COUNT);
    vl_format_t f;

    (void) state;
    assert_true(n >= 2);
    assert_int_equal(list[0], VL_FORMAT_JPG);
    for (size_t i = 0; i < n; i++) {
        assert_true(vl_format_supported(list[i]));
        assert_int_equal(vl_format_find(vl_str_from(vl_format_ext(list[i])),
                                        &f), 0);
        assert_int_equal(f, list[i]);
    }
    assert_int_equal(vl_format_find(VL_STR("bmp"), &f), -1);
    assert_int_equal(vl_format_find(VL_STR("JPG"), &f), -1);
    assert_int_equal(vl_format_find(VL_STR(""), &f), -1);
    /* JPEG: grey or RGB, 8 bits, alpha flattened */
    assert_true(vl_format_takes(VL_FORMAT_JPG, 1, 8));
    assert_true(vl_format_takes(VL_FORMAT_JPG, 3, 8));
    assert_false(vl_format_takes(VL_FORMAT_JPG, 2, 8));
    assert_false(vl_format_takes(VL_FORMAT_JPG, 4, 8));
    assert_false(vl_format_takes(VL_FORMAT_JPG, 3, 16));
    assert_false(vl_format_keeps_alpha(VL_FORMAT_JPG));
    assert_string_equal(vl_format_mime(VL_FORMAT_JPG), "image/jpeg");
    /* PNG: 1-4 bands, alpha kept */
    for (int b = 1; b <= 4; b++) {
        assert_true(vl_format_takes(VL_FORMAT_PNG, b, 8));
    }
    assert_false(vl_format_takes(VL_FORMAT_PNG, 5, 8));
    assert_false(vl_format_takes(VL_FORMAT_PNG, 0, 8));
    assert_true(vl_format_keeps_alpha(VL_FORMAT_PNG));
    assert_string_equal(vl_format_mime(VL_FORMAT_PNG), "image/png");
}

/* An encoder is never made for bands its format does not take. */
static void
test_encoder_bands(void **state)
{
    vl_pool_t       *pool = vl_pool_create(4096);
    vl_err_t         err = { 0 };
    vl_sink_t        sink;
    vl_encode_opts_t opts = { .jpeg_quality = 90, .png_level = 6 };

    (void) state;
    assert_int_equal(vl_sink_init(&sink, pool, 0, &err), VL_OK);
    assert_null(vl_encoder_new(pool, VL_FORMAT_JPG, &opts, 4, 4, 4, &sink,
                               &err));
    assert_int_equal(err.code, VL_EINTERNAL);
    vl_err_clear(&err);
    assert_non_null(vl_encoder_new(pool, VL_FORMAT_PNG, &opts, 4, 4, 4,
                                   &sink, &err));
    vl_pool_destroy(pool);
}

static void
test_formats(void **state)
{
    static const struct { vl_format_t f; int ok; } cases[] = {
        { VL_FORMAT_JPG, 1 }, { VL_FORMAT_PNG, 1 }, { VL_FORMAT_WEBP, 0 },
        { VL_FORMAT_TIF, 0 }, { VL_FORMAT_GIF, 0 }, { VL_FORMAT_PDF, 0 },
        { VL_FORMAT_JP2, 0 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_pool_t       *pool = vl_pool_create(4096);
        vl_err_t         err = { 0 };
        vl_sink_t        sink;
        vl_encode_opts_t opts = { .jpeg_quality = 90, .png_level = 6 };
        vl_encoder_t    *enc;

        assert_int_equal(vl_format_supported(cases[i].f), cases[i].ok);
        assert_int_equal(vl_sink_init(&sink, pool, 0, &err), VL_OK);
        enc = vl_encoder_new(pool, cases[i].f, &opts, 4, 4, 3, &sink, &err);
        if (cases[i].ok) {
            assert_non_null(enc);
        } else {
            /* the parser refuses a format without a row (400); asking
             * the table for its encoder anyway is a caller's bug */
            assert_null(enc);
            assert_int_equal(err.code, VL_EINTERNAL);
            assert_string_equal(vl_format_ext(cases[i].f), "");
        }
        vl_pool_destroy(pool);
    }
}

/* 16-bit PNG: native-endian uint16 rows come back as the same 16-bit
 * samples (PNG stores them big-endian), in every band count; JPEG takes
 * no 16-bit rows. */
static void
test_png16(void **state)
{
    (void) state;
    assert_true(vl_format_takes(VL_FORMAT_PNG, 3, 16));
    assert_false(vl_format_takes(VL_FORMAT_JPG, 3, 16));
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t       *pool = vl_pool_create(4096);
        vl_err_t         err = { 0 };
        vl_sink_t        sink;
        vl_encode_opts_t opts = { .png_level = 6, .bits = 16 };
        vl_encoder_t    *enc;
        uint16_t         px[3 * 2 * 4], row[3 * 4];
        png_structp      png;
        png_infop        info;
        FILE            *fp;

        for (size_t i = 0; i < sizeof(px) / sizeof(px[0]); i++) {
            px[i] = (uint16_t) (i % 2 ? 0xfedc - 0x0101 * i
                                      : 0x1234 + 0x0111 * i);
        }
        assert_int_equal(vl_sink_init(&sink, pool, 0, &err), VL_OK);
        enc = vl_encoder_new(pool, VL_FORMAT_PNG, &opts, 3, 2, bands, &sink,
                             &err);
        assert_non_null(enc);
        assert_int_equal(vl_encoder_write(enc, (const unsigned char *) px, 2,
                                          (size_t) 3 * bands * 2, &err),
                         VL_OK);
        assert_int_equal(vl_encoder_finish(enc, &err), VL_OK);
        fp = fmemopen(sink.data, sink.len, "rb");
        assert_non_null(fp);
        png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
        info = png_create_info_struct(png);
        png_init_io(png, fp);
        png_read_info(png, info);
        assert_int_equal(png_get_bit_depth(png, info), 16);
        assert_int_equal(png_get_channels(png, info), bands);
        for (uint32_t y = 0; y < 2; y++) {
            unsigned char be[3 * 4 * 2];

            png_read_row(png, be, NULL);
            for (int i = 0; i < 3 * bands; i++) {
                row[i] = (uint16_t) (be[2 * i] << 8 | be[2 * i + 1]);
            }
            assert_memory_equal(row, px + (size_t) y * 3 * bands,
                                (size_t) 3 * bands * 2);
        }
        png_destroy_read_struct(&png, &info, NULL);
        fclose(fp);
        /* 16-bit rows to JPEG: a caller's bug */
        assert_null(vl_encoder_new(pool, VL_FORMAT_JPG, &opts, 3, 2, 3,
                                   &sink, &err));
        assert_int_equal(err.code, VL_EINTERNAL);
        vl_pool_destroy(pool);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png_roundtrip),
        cmocka_unit_test(test_png16),
        cmocka_unit_test(test_jpeg_roundtrip),
        cmocka_unit_test(test_icc_embedded),
        cmocka_unit_test(test_sink_cap),
        cmocka_unit_test(test_sink_outlives_scope),
        cmocka_unit_test(test_one_pixel),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_encoder_bands),
        cmocka_unit_test(test_formats),
    };

    return cmocka_run_group_tests_name("encode", tests, NULL, NULL);
}
