/* SPDX-License-Identifier: MIT */
/*
 * test_encode: the capped sink and the encoders, decoded back with their
 * own libraries: PNG exact in every band count, JPEG within tolerance,
 * ICC profiles embedded, the sink cap, a 1x1 image, supported formats;
 * TIFF (8 and 16 bits, every compression libtiff has, alpha as
 * ExtraSamples, ICC), JP2 (lossless exact, JP2_RATE, alpha, ICC), PDF (the
 * xref offsets, the JPEG and SMask streams, the passthrough wrapper),
 * WebP (lossless exact, lossy, alpha, ICCP, the 16383 limit), GIF
 * (palette, grey, transparency), and MAX_RESPONSE_SIZE for each.
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

#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <tiffio.h>
#include <openjpeg.h>
#include <zlib.h>
#ifdef HAVE_WEBP
#include <webp/decode.h>
#include <webp/mux.h>
#endif
#ifdef HAVE_GIF
#include <gif_lib.h>
#endif

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
        { VL_FORMAT_JPG, 1 }, { VL_FORMAT_PNG, 1 },
#ifdef HAVE_WEBP
        { VL_FORMAT_WEBP, 1 },
#else
        { VL_FORMAT_WEBP, 0 },
#endif
        { VL_FORMAT_TIF, 1 },
#ifdef HAVE_GIF
        { VL_FORMAT_GIF, 1 },
#else
        { VL_FORMAT_GIF, 0 },
#endif
        { VL_FORMAT_PDF, 1 }, { VL_FORMAT_JP2, 1 },
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

/* ---- the formats beyond JPEG and PNG, decoded back with their own
 * libraries (libtiff, OpenJPEG, libwebp, giflib) or parsed (PDF) */

static int
encode_with(vl_pool_t *pool, vl_format_t fmt, const vl_encode_opts_t *opts,
            const unsigned char *px, uint32_t w, uint32_t h, int bands,
            size_t limit, vl_sink_t *sink, vl_err_t *err)
{
    size_t        bytes = opts->bits == 16 ? 2 : 1;
    size_t        stride = (size_t) w * bands * bytes;
    vl_encoder_t *enc;
    int           rc;

    if ((rc = vl_sink_init(sink, pool, limit, err)) != VL_OK) {
        return rc;
    }
    if ((enc = vl_encoder_new(pool, fmt, opts, w, h, bands, sink, err))
        == NULL) {
        return err->code;
    }
    /* one row, then the rest: the encoders take rows as they come */
    if ((rc = vl_encoder_write(enc, px, 1, stride, err)) != VL_OK
        || (rc = vl_encoder_write(enc, px + stride, h - 1, stride, err))
           != VL_OK) {
        return rc;
    }
    return vl_encoder_finish(enc, err);
}

static vl_encode_opts_t
opts_default(void)
{
    vl_encode_opts_t o;

    memset(&o, 0, sizeof(o));
    o.jpeg_quality = 92;
    o.png_level = 6;
    o.webp_quality = 50;
    o.tiff_compression = VL_TIFF_DEFLATE;
    o.tiff_quality = 90;
    o.bits = 8;
    return o;
}

/* The sink's bytes in a temporary file (for the libraries that read
 * files); the caller unlinks it. */
static void
sink_to_file(const vl_sink_t *sink, char *path)
{
    int fd;

    strcpy(path, "/tmp/vl_test_encode_XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, sink->data, sink->len), (ssize_t) sink->len);
    close(fd);
}

/* A pattern with an alpha band: the top-left quarter fully transparent,
 * the rest at 255 or a ramp. */
static void
pattern_alpha(unsigned char *px, uint32_t w, uint32_t h, int bands)
{
    pattern(px, w, h, bands);
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            unsigned char *a = px + ((size_t) y * w + x) * bands + bands - 1;

            *a = (x < w / 2 && y < h / 2) ? 0 : (unsigned char) (128 + x % 128);
        }
    }
}

/* A smooth image, for the lossy codecs' tolerances. */
static void
pattern_smooth(unsigned char *px, uint32_t w, uint32_t h, int bands)
{
    for (uint32_t y = 0; y < h; y++) {
        for (uint32_t x = 0; x < w; x++) {
            unsigned v = (x * 255 / w + y * 255 / h) / 2;

            for (int b = 0; b < bands; b++) {
                px[((size_t) y * w + x) * bands + b] = (unsigned char)
                    (b == 0 ? v : b == 1 ? 255 - v : v / 2 + 64);
            }
        }
    }
}

static void
test_new_format_rows(void **state)
{
    static const struct { vl_format_t f; const char *ext, *mime; } rows[] = {
        { VL_FORMAT_TIF, "tif", "image/tiff" },
        { VL_FORMAT_JP2, "jp2", "image/jp2" },
        { VL_FORMAT_PDF, "pdf", "application/pdf" },
#ifdef HAVE_WEBP
        { VL_FORMAT_WEBP, "webp", "image/webp" },
#endif
#ifdef HAVE_GIF
        { VL_FORMAT_GIF, "gif", "image/gif" },
#endif
    };

    (void) state;
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        vl_format_t f;

        assert_int_equal(vl_format_find(vl_str_from(rows[i].ext), &f), 0);
        assert_int_equal(f, rows[i].f);
        assert_string_equal(vl_format_mime(f), rows[i].mime);
        assert_true(vl_format_keeps_alpha(f));
        for (int b = 1; b <= 4; b++) {
            assert_true(vl_format_takes(f, b, 8));
        }
        /* 16-bit samples: TIFF only (of these) */
        assert_int_equal(vl_format_takes(f, 3, 16), f == VL_FORMAT_TIF);
    }
}

/* Read a whole TIFF back: its tags and its samples (8 or 16 bits). */
static void
read_tiff(const vl_sink_t *sink, uint32_t w, uint32_t h, int bands, int bits,
          void *out, uint16_t *comp, const unsigned char *icc,
          size_t icc_len)
{
    char     path[64];
    TIFF    *tif;
    uint32_t tw, th;
    uint16_t spp, bps, extra_n, *extra, photo;
    uint32_t n;
    void    *prof;
    size_t   rowbytes = (size_t) w * bands * (size_t) (bits / 8);

    sink_to_file(sink, path);
    tif = TIFFOpen(path, "r");
    assert_non_null(tif);
    assert_true(TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &tw));
    assert_true(TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &th));
    assert_int_equal(tw, w);
    assert_int_equal(th, h);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &bps);
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, comp);
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
    assert_int_equal(spp, bands);
    assert_int_equal(bps, bits);
    if (bands == 2 || bands == 4) {
        assert_true(TIFFGetField(tif, TIFFTAG_EXTRASAMPLES, &extra_n, &extra));
        assert_int_equal(extra_n, 1);
        assert_int_equal(extra[0], EXTRASAMPLE_UNASSALPHA);
    }
    if (icc != NULL) {
        assert_true(TIFFGetField(tif, TIFFTAG_ICCPROFILE, &n, &prof));
        assert_int_equal(n, icc_len);
        assert_memory_equal(prof, icc, icc_len);
    } else {
        assert_false(TIFFGetField(tif, TIFFTAG_ICCPROFILE, &n, &prof));
    }
    if (*comp == COMPRESSION_JPEG && photo == PHOTOMETRIC_YCBCR) {
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    for (uint32_t y = 0; y < h; y++) {
        assert_int_equal(TIFFReadScanline(tif, (unsigned char *) out
                                          + y * rowbytes, y, 0), 1);
    }
    TIFFClose(tif);
    unlink(path);
}

static void
test_tif_8bit(void **state)
{
    unsigned char icc[600];

    (void) state;
    make_icc(icc, sizeof(icc));
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t       *pool = vl_pool_create(4096);
        vl_err_t         err = { 0 };
        vl_sink_t        sink;
        vl_encode_opts_t o = opts_default();
        uint32_t         w = 37, h = 300;   /* several strips */
        unsigned char   *px = malloc((size_t) w * h * bands);
        unsigned char   *back = malloc((size_t) w * h * bands);
        uint16_t         comp;

        if (bands == 2 || bands == 4) {
            pattern_alpha(px, w, h, bands);
        } else {
            pattern(px, w, h, bands);
        }
        o.icc = bands >= 3 ? icc : NULL;
        o.icc_len = bands >= 3 ? sizeof(icc) : 0;
        assert_int_equal(encode_with(pool, VL_FORMAT_TIF, &o, px, w, h, bands,
                                     0, &sink, &err), VL_OK);
        read_tiff(&sink, w, h, bands, 8, back, &comp, o.icc, o.icc_len);
        assert_int_equal(comp, COMPRESSION_ADOBE_DEFLATE);
        assert_memory_equal(back, px, (size_t) w * h * bands);
        free(px);
        free(back);
        vl_pool_destroy(pool);
    }
}

/* An image JPEG or WebP strips cannot hold (WebP: 16383 pixels a side,
 * JPEG: 65500) goes out as Deflate, never a codec error: wide and tall. */
static void
test_tif_codec_limits(void **state)
{
    static const struct {
        int      comp;
        uint32_t w, h;
        int      bands;
        uint16_t want;
    } cases[] = {
        { VL_TIFF_WEBP, 16384, 2, 3, COMPRESSION_ADOBE_DEFLATE },
        { VL_TIFF_WEBP, 1, 17000, 3, COMPRESSION_WEBP },
        { VL_TIFF_JPEG, 65501, 2, 1, COMPRESSION_ADOBE_DEFLATE },
        { VL_TIFF_JPEG, 1, 70000, 1, COMPRESSION_JPEG },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_pool_t       *pool = vl_pool_create(4096);
        vl_err_t         err = { 0 };
        vl_sink_t        sink;
        vl_encode_opts_t o = opts_default();
        uint32_t         w = cases[i].w, h = cases[i].h;
        int              bands = cases[i].bands;
        size_t           n = (size_t) w * h * bands;
        unsigned char   *px = calloc(n, 1), *back = malloc(n);
        uint16_t         comp;

        if ((cases[i].want == COMPRESSION_WEBP
             && !TIFFIsCODECConfigured(COMPRESSION_WEBP))
            || (cases[i].want == COMPRESSION_JPEG
                && !TIFFIsCODECConfigured(COMPRESSION_JPEG)))
        {
            free(px);
            free(back);
            vl_pool_destroy(pool);
            continue;
        }
        for (size_t k = 0; k < n; k++) {
            px[k] = (unsigned char) (k % 251u);
        }
        o.tiff_compression = cases[i].comp;
        if (encode_with(pool, VL_FORMAT_TIF, &o, px, w, h, bands, 0, &sink,
                        &err)
            != VL_OK)
        {
            fail_msg("case %zu: %s", i, err.msg);
        }
        read_tiff(&sink, w, h, bands, 8, back, &comp, NULL, 0);
        assert_int_equal(comp, cases[i].want);
        free(px);
        free(back);
        vl_pool_destroy(pool);
    }
}

/* 16-bit rows (native-endian uint16) come back as the same values. */
static void
test_tif_16bit(void **state)
{
    for (int bands = 1; bands <= 4; bands += 3) {
        vl_pool_t       *pool = vl_pool_create(4096);
        vl_err_t         err = { 0 };
        vl_sink_t        sink;
        vl_encode_opts_t o = opts_default();
        uint32_t         w = 19, h = 23;
        size_t           n = (size_t) w * h * bands;
        uint16_t        *px = malloc(n * 2), *back = malloc(n * 2);
        uint16_t         comp;

        (void) state;
        for (size_t i = 0; i < n; i++) {
            px[i] = (uint16_t) (i * 2749u + 257u);  /* every bit in use */
        }
        o.bits = 16;
        o.tiff_compression = VL_TIFF_NONE;
        assert_int_equal(encode_with(pool, VL_FORMAT_TIF, &o,
                                     (unsigned char *) px, w, h, bands, 0,
                                     &sink, &err), VL_OK);
        read_tiff(&sink, w, h, bands, 16, back, &comp, NULL, 0);
        assert_int_equal(comp, COMPRESSION_NONE);
        assert_memory_equal(back, px, n * 2);
        /* JPEG cannot hold 16 bits: Deflate instead, same values */
        o.tiff_compression = VL_TIFF_JPEG;
        assert_int_equal(encode_with(pool, VL_FORMAT_TIF, &o,
                                     (unsigned char *) px, w, h, bands, 0,
                                     &sink, &err), VL_OK);
        read_tiff(&sink, w, h, bands, 16, back, &comp, NULL, 0);
        assert_int_equal(comp, COMPRESSION_ADOBE_DEFLATE);
        assert_memory_equal(back, px, n * 2);
        free(px);
        free(back);
        vl_pool_destroy(pool);
    }
}

/* Every TIFF_COMPRESSION libtiff is built with, in every band count: the
 * lossless ones exact, JPEG and WebP within tolerance (alpha too), WebP of
 * grey written as Deflate. */
static void
test_tif_compressions(void **state)
{
    static const struct { int opt; uint16_t tag; int lossy; } c[] = {
        { VL_TIFF_NONE, COMPRESSION_NONE, 0 },
        { VL_TIFF_LZW, COMPRESSION_LZW, 0 },
        { VL_TIFF_DEFLATE, COMPRESSION_ADOBE_DEFLATE, 0 },
        { VL_TIFF_JPEG, COMPRESSION_JPEG, 1 },
        { VL_TIFF_WEBP, COMPRESSION_WEBP, 1 },
        { VL_TIFF_ZSTD, COMPRESSION_ZSTD, 0 },
    };
    uint32_t       w = 64, h = 48;
    unsigned char *px = malloc((size_t) w * h * 4);
    unsigned char *back = malloc((size_t) w * h * 4);

    (void) state;
    for (int bands = 1; bands <= 4; bands++) {
        size_t n = (size_t) w * h * bands;

        pattern_smooth(px, w, h, bands);
        for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
            vl_pool_t       *pool = vl_pool_create(4096);
            vl_err_t         err = { 0 };
            vl_sink_t        sink;
            vl_encode_opts_t o = opts_default();
            uint16_t         comp, want = c[i].tag;
            int              rc, lossy = c[i].lossy;

            if (c[i].opt == VL_TIFF_WEBP && bands < 3) {
                want = COMPRESSION_ADOBE_DEFLATE;
                lossy = 0;
            }
            o.tiff_compression = c[i].opt;
            rc = encode_with(pool, VL_FORMAT_TIF, &o, px, w, h, bands, 0,
                             &sink, &err);
            if (!TIFFIsCODECConfigured(want)) {
                assert_int_equal(rc, VL_EUNSUPP);
                vl_pool_destroy(pool);
                continue;
            }
            assert_int_equal(rc, VL_OK);
            read_tiff(&sink, w, h, bands, 8, back, &comp, NULL, 0);
            assert_int_equal(comp, want);
            if (!lossy) {
                assert_memory_equal(back, px, n);
            } else {
                long sum = 0;

                for (size_t k = 0; k < n; k++) {
                    sum += labs((long) back[k] - (long) px[k]);
                }
                assert_true(sum / (long) n <= 6);
            }
            vl_pool_destroy(pool);
        }
    }
    free(px);
    free(back);
}

static opj_image_t *
read_jp2(const vl_sink_t *sink)
{
    char               path[64];
    opj_dparameters_t  p;
    opj_codec_t       *codec;
    opj_stream_t      *stream;
    opj_image_t       *img = NULL;

    assert_true(sink->len > 12);
    /* the JP2 signature box */
    assert_memory_equal(sink->data, "\0\0\0\x0cjP  \r\n\x87\n", 12);
    sink_to_file(sink, path);
    opj_set_default_decoder_parameters(&p);
    codec = opj_create_decompress(OPJ_CODEC_JP2);
    assert_true(opj_setup_decoder(codec, &p));
    stream = opj_stream_create_default_file_stream(path, OPJ_TRUE);
    assert_non_null(stream);
    assert_true(opj_read_header(stream, codec, &img));
    assert_true(opj_decode(codec, stream, img));
    assert_true(opj_end_decompress(codec, stream));
    opj_stream_destroy(stream);
    opj_destroy_codec(codec);
    unlink(path);
    return img;
}

static void
test_jp2_lossless(void **state)
{
    unsigned char icc[300];

    (void) state;
    make_icc(icc, sizeof(icc));
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t       *pool = vl_pool_create(4096);
        vl_err_t         err = { 0 };
        vl_sink_t        sink;
        vl_encode_opts_t o = opts_default();
        uint32_t         w = 70, h = 3;     /* fewer resolutions than 6 */
        unsigned char   *px = malloc((size_t) w * h * bands);
        opj_image_t     *img;

        if (bands == 2 || bands == 4) {
            pattern_alpha(px, w, h, bands);
        } else {
            pattern(px, w, h, bands);
        }
        o.icc = bands >= 3 ? icc : NULL;
        o.icc_len = bands >= 3 ? sizeof(icc) : 0;
        assert_int_equal(encode_with(pool, VL_FORMAT_JP2, &o, px, w, h, bands,
                                     0, &sink, &err), VL_OK);
        img = read_jp2(&sink);
        assert_int_equal(img->numcomps, bands);
        assert_int_equal(img->x1 - img->x0, w);
        assert_int_equal(img->y1 - img->y0, h);
        for (int c = 0; c < bands; c++) {
            assert_int_equal(img->comps[c].prec, 8);
            for (size_t i = 0; i < (size_t) w * h; i++) {
                assert_int_equal(img->comps[c].data[i],
                                 px[i * bands + c]);
            }
        }
        if (bands == 2 || bands == 4) {
            assert_int_equal(img->comps[bands - 1].alpha, 1);
        }
        if (bands >= 3) {
            assert_int_equal(img->icc_profile_len, sizeof(icc));
            assert_memory_equal(img->icc_profile_buf, icc, sizeof(icc));
        }
        opj_image_destroy(img);
        free(px);
        vl_pool_destroy(pool);
    }
}

/* JP2_RATE 20: about 20:1, and still close to the source. */
static void
test_jp2_rate(void **state)
{
    vl_pool_t       *pool = vl_pool_create(4096);
    vl_err_t         err = { 0 };
    vl_sink_t        sink;
    vl_encode_opts_t o = opts_default();
    uint32_t         w = 128, h = 128;
    unsigned char   *px = malloc((size_t) w * h * 3);
    opj_image_t     *img;
    long             sum = 0;

    (void) state;
    pattern_smooth(px, w, h, 3);
    o.jp2_rate = 20;
    assert_int_equal(encode_with(pool, VL_FORMAT_JP2, &o, px, w, h, 3, 0,
                                 &sink, &err), VL_OK);
    assert_true(sink.len < (size_t) w * h * 3 / 10);
    img = read_jp2(&sink);
    for (int c = 0; c < 3; c++) {
        for (size_t i = 0; i < (size_t) w * h; i++) {
            sum += labs((long) img->comps[c].data[i] - (long) px[i * 3 + c]);
        }
    }
    assert_true(sum / (long) (w * h * 3) <= 4);
    opj_image_destroy(img);
    free(px);
    vl_pool_destroy(pool);
}

/* ---- PDF: a tiny parser of what vellum writes */

static const unsigned char *
mem_find(const unsigned char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    for (size_t i = 0; i + n <= len; i++) {
        if (memcmp(hay + i, needle, n) == 0) {
            return hay + i;
        }
    }
    return NULL;
}

/* Check the xref table against the objects, and return the stream of
 * object `obj` (pointer and /Length). */
static const unsigned char *
pdf_check(const vl_sink_t *sink, int obj, size_t *slen)
{
    const unsigned char *d = sink->data, *p, *x;
    size_t               len = sink->len, xref;
    int                  nobj;
    char                 head[32];
    const unsigned char *stream = NULL;

    assert_memory_equal(d, "%PDF-1.4\n", 9);
    assert_memory_equal(d + len - 6, "%%EOF\n", 6);
    p = mem_find(d, len, "startxref\n");
    assert_non_null(p);
    xref = strtoul((const char *) p + 10, NULL, 10);
    assert_memory_equal(d + xref, "xref\n0 ", 7);
    nobj = atoi((const char *) d + xref + 7) - 1;
    assert_true(nobj >= 5);
    x = (const unsigned char *) strchr((const char *) d + xref + 5, '\n') + 1;
    assert_memory_equal(x, "0000000000 65535 f \n", 20);
    for (int i = 1; i <= nobj; i++) {
        size_t off = strtoul((const char *) x + 20 * i, NULL, 10);

        assert_memory_equal(x + 20 * i + 10, " 00000 n \n", 10);
        snprintf(head, sizeof(head), "%d 0 obj\n", i);
        assert_memory_equal(d + off, head, strlen(head));
        if (i == obj) {
            const unsigned char *l = mem_find(d + off, len - off, "/Length ");

            assert_non_null(l);
            *slen = strtoul((const char *) l + 8, NULL, 10);
            stream = mem_find(l, len - (size_t) (l - d), "stream\n") + 7;
            assert_memory_equal(stream + *slen, "\nendstream", 10);
        }
    }
    return stream;
}

static void
test_pdf_structure(void **state)
{
    (void) state;
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t           *pool = vl_pool_create(4096);
        vl_err_t             err = { 0 };
        vl_sink_t            sink, js;
        vl_encode_opts_t     o = opts_default();
        uint32_t             w = 40, h = 30;
        unsigned char       *px = malloc((size_t) w * h * bands);
        const unsigned char *s;
        size_t               slen;
        dec_t                d;
        int                  alpha = bands == 2 || bands == 4;
        char                 mb[64];

        if (alpha) {
            pattern_alpha(px, w, h, bands);
        } else {
            pattern(px, w, h, bands);
        }
        assert_int_equal(encode_with(pool, VL_FORMAT_PDF, &o, px, w, h, bands,
                                     0, &sink, &err), VL_OK);
        snprintf(mb, sizeof(mb), "/MediaBox [0 0 %u %u]", w, h);
        assert_non_null(mem_find(sink.data, sink.len, mb));
        assert_non_null(mem_find(sink.data, sink.len, bands >= 3
                                 ? "/ColorSpace /DeviceRGB"
                                 : "/ColorSpace /DeviceGray"));
        assert_non_null(mem_find(sink.data, sink.len, "/Filter /DCTDecode"));
        /* object 4, the image: a JPEG of the colour bands */
        s = pdf_check(&sink, 4, &slen);
        js.data = (unsigned char *) s;
        js.len = slen;
        decode_jpeg(&js, &d);
        assert_int_equal(d.w, w);
        assert_int_equal(d.h, h);
        assert_int_equal(d.bands, bands >= 3 ? 3 : 1);
        free(d.px);
        assert_int_equal(mem_find(sink.data, sink.len, "/SMask 6 0 R") != NULL,
                         alpha);
        if (alpha) {
            unsigned char *a = malloc((size_t) w * h);
            uLongf         alen = (uLongf) w * h;

            s = pdf_check(&sink, 6, &slen);
            assert_int_equal(uncompress(a, &alen, s, slen), Z_OK);
            assert_int_equal(alen, (uLongf) w * h);
            for (size_t i = 0; i < (size_t) w * h; i++) {
                assert_int_equal(a[i], px[i * bands + bands - 1]);
            }
            free(a);
        }
        free(px);
        vl_pool_destroy(pool);
    }
}

/* The passthrough wrapper embeds the JPEG bytes exactly, the ICC profile
 * as the colour space. */
static void
test_pdf_wrap_jpeg(void **state)
{
    vl_pool_t           *pool = vl_pool_create(4096);
    vl_err_t             err = { 0 };
    vl_sink_t            jsink, sink;
    unsigned char        px[16 * 8 * 3], icc[200];
    unsigned char       *out;
    size_t               out_len, slen;
    const unsigned char *s;

    (void) state;
    pattern(px, 16, 8, 3);
    make_icc(icc, sizeof(icc));
    assert_int_equal(encode(pool, VL_FORMAT_JPG, px, 16, 8, 3, NULL, 0, 0,
                            &jsink, &err), VL_OK);
    assert_int_equal(vl_pdf_wrap_jpeg(pool, jsink.data, jsink.len, 16, 8, 3,
                                      icc, sizeof(icc), 0, &out, &out_len,
                                      &err), VL_OK);
    sink.data = out;
    sink.len = out_len;
    s = pdf_check(&sink, 4, &slen);
    assert_int_equal(slen, jsink.len);
    assert_memory_equal(s, jsink.data, jsink.len);
    assert_non_null(mem_find(out, out_len, "/ColorSpace [/ICCBased 6 0 R]"));
    s = pdf_check(&sink, 6, &slen);
    assert_int_equal(slen, sizeof(icc));
    assert_memory_equal(s, icc, sizeof(icc));
    /* and under a cap too small: VL_ELIMIT, never a partial body */
    vl_err_clear(&err);
    assert_int_equal(vl_pdf_wrap_jpeg(pool, jsink.data, jsink.len, 16, 8, 3,
                                      NULL, 0, 100, &out, &out_len, &err),
                     VL_ELIMIT);
    vl_pool_destroy(pool);
}

#ifdef HAVE_WEBP
static void
webp_check_icc(const vl_sink_t *sink, const unsigned char *icc, size_t len)
{
    WebPData  data = { sink->data, sink->len }, chunk;
    WebPMux  *mux = WebPMuxCreate(&data, 0);

    assert_non_null(mux);
    if (icc != NULL) {
        assert_int_equal(WebPMuxGetChunk(mux, "ICCP", &chunk), WEBP_MUX_OK);
        assert_int_equal(chunk.size, len);
        assert_memory_equal(chunk.bytes, icc, len);
    } else {
        assert_int_not_equal(WebPMuxGetChunk(mux, "ICCP", &chunk),
                             WEBP_MUX_OK);
    }
    WebPMuxDelete(mux);
}

/* WEBP_QUALITY -1: lossless, every band count exact (grey as RGB), alpha
 * and the colour under it kept, ICC in an ICCP chunk. */
static void
test_webp_lossless(void **state)
{
    unsigned char icc[500];

    (void) state;
    make_icc(icc, sizeof(icc));
    for (int bands = 1; bands <= 4; bands++) {
        vl_pool_t            *pool = vl_pool_create(4096);
        vl_err_t              err = { 0 };
        vl_sink_t             sink;
        vl_encode_opts_t      o = opts_default();
        uint32_t              w = 33, h = 21;
        unsigned char        *px = malloc((size_t) w * h * bands), *rgba;
        int                   dw, dh, alpha = bands == 2 || bands == 4;
        WebPBitstreamFeatures feat;

        if (alpha) {
            pattern_alpha(px, w, h, bands);
        } else {
            pattern(px, w, h, bands);
        }
        o.webp_quality = -1;
        o.icc = bands >= 3 ? icc : NULL;
        o.icc_len = bands >= 3 ? sizeof(icc) : 0;
        assert_int_equal(encode_with(pool, VL_FORMAT_WEBP, &o, px, w, h,
                                     bands, 0, &sink, &err), VL_OK);
        assert_memory_equal(sink.data, "RIFF", 4);
        assert_memory_equal(sink.data + 8, "WEBP", 4);
        assert_int_equal(WebPGetFeatures(sink.data, sink.len, &feat),
                         VP8_STATUS_OK);
        assert_int_equal(feat.has_alpha != 0, alpha);
        rgba = WebPDecodeRGBA(sink.data, sink.len, &dw, &dh);
        assert_non_null(rgba);
        assert_int_equal(dw, w);
        assert_int_equal(dh, h);
        for (size_t i = 0; i < (size_t) w * h; i++) {
            const unsigned char *s = px + i * bands, *d = rgba + i * 4;

            if (bands >= 3) {
                assert_memory_equal(d, s, 3);
            } else {
                assert_int_equal(d[0], s[0]);
                assert_int_equal(d[1], s[0]);
                assert_int_equal(d[2], s[0]);
            }
            assert_int_equal(d[3], alpha ? s[bands - 1] : 255);
        }
        WebPFree(rgba);
        webp_check_icc(&sink, o.icc, o.icc_len);
        free(px);
        vl_pool_destroy(pool);
    }
}

/* Lossy: close to the source, alpha exact (lossless alpha plane). */
static void
test_webp_lossy(void **state)
{
    vl_pool_t        *pool = vl_pool_create(4096);
    vl_err_t          err = { 0 };
    vl_sink_t         sink;
    vl_encode_opts_t  o = opts_default();
    uint32_t          w = 64, h = 64;
    unsigned char    *px = malloc((size_t) w * h * 4), *rgba;
    int               dw, dh;
    long              sum = 0;

    (void) state;
    pattern_alpha(px, w, h, 4);
    o.webp_quality = 90;
    assert_int_equal(encode_with(pool, VL_FORMAT_WEBP, &o, px, w, h, 4, 0,
                                 &sink, &err), VL_OK);
    rgba = WebPDecodeRGBA(sink.data, sink.len, &dw, &dh);
    assert_non_null(rgba);
    assert_int_equal(dw, w);
    assert_int_equal(dh, h);
    for (size_t i = 0; i < (size_t) w * h; i++) {
        assert_int_equal(rgba[i * 4 + 3], px[i * 4 + 3]);
        if (px[i * 4 + 3] == 255) {
            for (int c = 0; c < 3; c++) {
                sum += labs((long) rgba[i * 4 + c] - (long) px[i * 4 + c]);
            }
        }
    }
    assert_true(sum / (long) (w * h * 3) <= 6);
    WebPFree(rgba);
    webp_check_icc(&sink, NULL, 0);
    free(px);
    vl_pool_destroy(pool);
}

/* More than 16383 pixels a side: VL_ELIMIT (400) before any row. */
static void
test_webp_too_large(void **state)
{
    vl_pool_t        *pool = vl_pool_create(4096);
    vl_err_t          err = { 0 };
    vl_sink_t         sink;
    vl_encode_opts_t  o = opts_default();

    (void) state;
    assert_int_equal(vl_sink_init(&sink, pool, 0, &err), VL_OK);
    assert_null(vl_encoder_new(pool, VL_FORMAT_WEBP, &o, 16384, 2, 3, &sink,
                               &err));
    assert_int_equal(err.code, VL_ELIMIT);
    assert_non_null(strstr(err.msg, "16383"));
    vl_err_clear(&err);
    assert_non_null(vl_encoder_new(pool, VL_FORMAT_WEBP, &o, 16383, 2, 3,
                                   &sink, &err));
    vl_pool_destroy(pool);
}
#endif

#ifdef HAVE_GIF
typedef struct {
    const unsigned char *p;
    size_t               len, pos;
} gif_mem_t;

static int
gif_mem_read(GifFileType *g, GifByteType *buf, int n)
{
    gif_mem_t *m = g->UserData;
    size_t     k = m->len - m->pos < (size_t) n ? m->len - m->pos : (size_t) n;

    memcpy(buf, m->p + m->pos, k);
    m->pos += k;
    return (int) k;
}

/* The decoded image as RGBA (transparent pixels: alpha 0). */
static unsigned char *
read_gif(const vl_sink_t *sink, uint32_t w, uint32_t h, int *has_transp)
{
    gif_mem_t            m = { sink->data, sink->len, 0 };
    int                  e, ti = -1;
    GifFileType         *g = DGifOpen(&m, gif_mem_read, &e);
    GraphicsControlBlock gcb;
    ColorMapObject      *map;
    unsigned char       *rgba;

    assert_memory_equal(sink->data, "GIF89a", 6);
    assert_non_null(g);
    assert_int_equal(DGifSlurp(g), GIF_OK);
    assert_int_equal(g->SWidth, w);
    assert_int_equal(g->SHeight, h);
    assert_int_equal(g->ImageCount, 1);
    if (DGifSavedExtensionToGCB(g, 0, &gcb) == GIF_OK) {
        ti = gcb.TransparentColor;
    }
    *has_transp = ti >= 0;
    map = g->SavedImages[0].ImageDesc.ColorMap != NULL
          ? g->SavedImages[0].ImageDesc.ColorMap : g->SColorMap;
    assert_non_null(map);
    rgba = malloc((size_t) w * h * 4);
    for (size_t i = 0; i < (size_t) w * h; i++) {
        int k = g->SavedImages[0].RasterBits[i];

        assert_true(k < map->ColorCount);
        rgba[i * 4] = map->Colors[k].Red;
        rgba[i * 4 + 1] = map->Colors[k].Green;
        rgba[i * 4 + 2] = map->Colors[k].Blue;
        rgba[i * 4 + 3] = k == ti ? 0 : 255;
    }
    DGifCloseFile(g, &e);
    return rgba;
}

/* Few colours come back exact; alpha < 128 is the transparent index. */
static void
test_gif_palette(void **state)
{
    for (int bands = 3; bands <= 4; bands++) {
        vl_pool_t        *pool = vl_pool_create(4096);
        vl_err_t          err = { 0 };
        vl_sink_t         sink;
        vl_encode_opts_t  o = opts_default();
        uint32_t          w = 50, h = 40;
        unsigned char    *px = malloc((size_t) w * h * bands), *rgba;
        int               transp;
        long              sum = 0;

        (void) state;
        /* 100 colours, each a multiple of 8 */
        for (size_t i = 0; i < (size_t) w * h; i++) {
            unsigned char *p = px + i * bands;
            size_t         x = i % w, y = i / w;

            p[0] = (unsigned char) ((x / 5) * 24);
            p[1] = (unsigned char) ((y / 4) * 16);
            p[2] = (unsigned char) (200 - (x / 5) * 8);
            if (bands == 4) {
                p[3] = x < 10 ? 0 : x < 20 ? 127 : x < 30 ? 128 : 255;
            }
        }
        assert_int_equal(encode_with(pool, VL_FORMAT_GIF, &o, px, w, h, bands,
                                     0, &sink, &err), VL_OK);
        rgba = read_gif(&sink, w, h, &transp);
        assert_int_equal(transp, bands == 4);
        for (size_t i = 0; i < (size_t) w * h; i++) {
            const unsigned char *p = px + i * bands;

            if (bands == 4) {
                assert_int_equal(rgba[i * 4 + 3], p[3] < 128 ? 0 : 255);
                if (p[3] < 128) {
                    continue;
                }
            }
            for (int c = 0; c < 3; c++) {
                sum += labs((long) rgba[i * 4 + c] - (long) p[c]);
            }
        }
        assert_int_equal(sum, 0);
        free(rgba);
        free(px);
        vl_pool_destroy(pool);
    }
}

/* Grey: a grey palette, exact for G, within 1 with alpha (255 levels). */
static void
test_gif_grey(void **state)
{
    for (int bands = 1; bands <= 2; bands++) {
        vl_pool_t        *pool = vl_pool_create(4096);
        vl_err_t          err = { 0 };
        vl_sink_t         sink;
        vl_encode_opts_t  o = opts_default();
        uint32_t          w = 256, h = 4;
        unsigned char    *px = malloc((size_t) w * h * bands), *rgba;
        int               transp;

        (void) state;
        for (size_t i = 0; i < (size_t) w * h; i++) {
            px[i * bands] = (unsigned char) (i % w);
            if (bands == 2) {
                px[i * 2 + 1] = i / w == 0 ? 0 : 255;
            }
        }
        assert_int_equal(encode_with(pool, VL_FORMAT_GIF, &o, px, w, h, bands,
                                     0, &sink, &err), VL_OK);
        rgba = read_gif(&sink, w, h, &transp);
        assert_int_equal(transp, bands == 2);
        for (size_t i = 0; i < (size_t) w * h; i++) {
            int g = px[i * bands];

            if (bands == 2 && px[i * 2 + 1] == 0) {
                assert_int_equal(rgba[i * 4 + 3], 0);
                continue;
            }
            assert_int_equal(rgba[i * 4 + 3], 255);
            assert_int_equal(rgba[i * 4], rgba[i * 4 + 1]);
            assert_int_equal(rgba[i * 4], rgba[i * 4 + 2]);
            assert_true(abs(rgba[i * 4] - g) <= (bands == 1 ? 0 : 1));
        }
        free(rgba);
        free(px);
        vl_pool_destroy(pool);
    }
}
#endif

/* MAX_RESPONSE_SIZE: every new encoder fails with the sink's VL_ELIMIT
 * (400, "response too large"), not a codec error. */
static void
test_new_formats_cap(void **state)
{
    static const vl_format_t f[] = {
        VL_FORMAT_TIF, VL_FORMAT_JP2, VL_FORMAT_PDF,
#ifdef HAVE_WEBP
        VL_FORMAT_WEBP,
#endif
#ifdef HAVE_GIF
        VL_FORMAT_GIF,
#endif
    };
    uint32_t       w = 96, h = 96;
    unsigned char *px = malloc((size_t) w * h * 4);

    (void) state;
    srand(11);
    for (size_t i = 0; i < (size_t) w * h * 4; i++) {
        px[i] = (unsigned char) rand();
    }
    for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
        for (int icc = 0; icc < 2; icc++) {
            vl_pool_t        *pool = vl_pool_create(4096);
            vl_err_t          err = { 0 };
            vl_sink_t         sink;
            vl_encode_opts_t  o = opts_default();
            unsigned char     prof[300];

            make_icc(prof, sizeof(prof));
            o.icc = icc ? prof : NULL;
            o.icc_len = icc ? sizeof(prof) : 0;
            o.webp_quality = -1;
            assert_int_equal(encode_with(pool, f[i], &o, px, w, h, 4, 3000,
                                         &sink, &err), VL_ELIMIT);
            assert_int_equal(err.code, VL_ELIMIT);
            assert_true(sink.len <= 3000);
            vl_pool_destroy(pool);
        }
    }
    free(px);
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
        cmocka_unit_test(test_png16),
        cmocka_unit_test(test_png_roundtrip),
        cmocka_unit_test(test_jpeg_roundtrip),
        cmocka_unit_test(test_icc_embedded),
        cmocka_unit_test(test_sink_cap),
        cmocka_unit_test(test_sink_outlives_scope),
        cmocka_unit_test(test_one_pixel),
        cmocka_unit_test(test_format_table),
        cmocka_unit_test(test_encoder_bands),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_new_format_rows),
        cmocka_unit_test(test_tif_8bit),
        cmocka_unit_test(test_tif_16bit),
        cmocka_unit_test(test_tif_compressions),
        cmocka_unit_test(test_jp2_lossless),
        cmocka_unit_test(test_jp2_rate),
        cmocka_unit_test(test_pdf_structure),
        cmocka_unit_test(test_pdf_wrap_jpeg),
#ifdef HAVE_WEBP
        cmocka_unit_test(test_webp_lossless),
        cmocka_unit_test(test_webp_lossy),
        cmocka_unit_test(test_webp_too_large),
        cmocka_unit_test(test_tif_codec_limits),
#endif
#ifdef HAVE_GIF
        cmocka_unit_test(test_gif_palette),
        cmocka_unit_test(test_gif_grey),
#endif
        cmocka_unit_test(test_new_formats_cap),
    };

    return cmocka_run_group_tests_name("encode", tests, NULL, NULL);
}
