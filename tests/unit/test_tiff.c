/* SPDX-License-Identifier: MIT */
/*
 * test_tiff: the source module and its libtiff backend against the fixtures
 * of fixture.h: pixel-exact reads of every lossless fixture at every level,
 * crops across tiles and strips, JPEG within a tolerance, stored JPEG tiles,
 * identifier resolution (traversal, symlinks), the handle cache; and the
 * multi-page and tagged files of book.h: what a page is, page identifiers,
 * pages kept apart in both caches, the text tags of every page.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <tiffio.h>
#include <turbojpeg.h>

#include "../fixtures/book.h"
#include "fixture.h"
#include "encode/jpegcrop.h"
#include "source/source.h"

enum { PAT_RGB, PAT_GREY, PAT_RGBA, PAT_GREY16 };

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

static void
img_alloc(vl_image_t *img, uint32_t w, uint32_t h, int bands)
{
    img->w = w;
    img->h = h;
    img->bands = bands;
    img->stride = (size_t) w * (size_t) bands + 3;  /* padded on purpose */
    img->data = malloc(img->stride * h);
    assert_non_null(img->data);
    memset(img->data, 0xcd, img->stride * h);
}

static int
read_rect(vl_source_t *src, uint32_t level, uint32_t x, uint32_t y,
          uint32_t w, uint32_t h, vl_image_t *img)
{
    vl_err_t err = { 0 };
    int      rc;

    img_alloc(img, w, h, vl_source_info(src)->geom.bands);
    rc = vl_source_read(src, level, &VL_RECT(x, y, w, h), img, &err);
    if (rc != VL_OK) {
        print_message("read: %s\n", err.msg);
    }
    return rc;
}

static uint8_t
expect(int pat, uint32_t x, uint32_t y, uint32_t level, int band)
{
    switch (pat) {
    case PAT_GREY:
    case PAT_GREY16:
        return vl_fx_grey(x, y, level);
    case PAT_RGBA:
        return band == 3 ? vl_fx_alpha(x, y) : vl_fx_rgb(x, y, level, band);
    default:
        return vl_fx_rgb(x, y, level, band);
    }
}

/* Count of samples of img (whose top-left is (x0, y0) of `level`) that
 * differ from the pattern; the first mismatch is printed. */
static size_t
mismatches(const vl_image_t *img, int pat, uint32_t level, uint32_t x0,
           uint32_t y0)
{
    size_t bad = 0;

    for (uint32_t y = 0; y < img->h; y++) {
        const unsigned char *row = VL_IMAGE_ROW(img, y);

        for (uint32_t x = 0; x < img->w; x++) {
            for (int b = 0; b < img->bands; b++) {
                uint8_t want = expect(pat, x0 + x, y0 + y, level, b);
                uint8_t got = row[(size_t) x * img->bands + b];

                if (got != want && bad++ == 0) {
                    print_message("L%u (%u,%u) band %d: got %u want %u\n",
                                  level, x0 + x, y0 + y, b, got, want);
                }
            }
        }
    }
    return bad;
}

static double
mean_abs_error(const vl_image_t *img, uint32_t level, uint32_t x0,
               uint32_t y0)
{
    double sum = 0;

    for (uint32_t y = 0; y < img->h; y++) {
        const unsigned char *row = VL_IMAGE_ROW(img, y);

        for (uint32_t x = 0; x < img->w; x++) {
            for (int b = 0; b < img->bands; b++) {
                int d = (int) row[(size_t) x * img->bands + b]
                        - (int) vl_fx_rgb(x0 + x, y0 + y, level, b);

                sum += d < 0 ? -d : d;
            }
        }
    }
    return sum / ((double) img->w * img->h * img->bands);
}

static void
make_conf(vl_conf_t *conf, const char *root, const char *suffix)
{
    static char real[PATH_MAX];

    memset(conf, 0, sizeof(*conf));
    assert_non_null(realpath(root, real));
    conf->filesystem_prefix = real;
    conf->filesystem_suffix = (char *) (suffix != NULL ? suffix : "");
}

static void
copy_file(const char *from, const char *to)
{
    assert_int_equal(vl_fx_copy(from, to), 0);
}

static char tmproot[PATH_MAX];

static int
setup_tmp(void **state)
{
    (void) state;
    size_t len;

    /* mkdtemp wants six trailing 'X' */
    snprintf(tmproot, sizeof(tmproot), "/tmp/vl-test-tiff-");
    len = strlen(tmproot);
    memset(tmproot + len, 'X', 6);
    tmproot[len + 6] = '\0';
    return mkdtemp(tmproot) != NULL ? 0 : -1;
}

static int
teardown_tmp(void **state)
{
    char cmd[PATH_MAX + 32];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmproot);
    return system(cmd) == 0 ? 0 : -1;
}

static const char *
tmp_path(const char *name)
{
    static char buf[2 * PATH_MAX];
    int         n = snprintf(buf, sizeof(buf), "%s/%s", tmproot, name);

    assert_true(n > 0 && (size_t) n < sizeof(buf));
    return buf;
}

/* ---------------------------------------------------------------- geometry */

static const struct {
    const char *name;
    uint32_t    nlevels;
    uint32_t    sizes[4][2];
    uint32_t    tile;
    int         bands, bits;
    const char *compression;
} geoms[] = {
    { "rgb-deflate.tif", 3, { { 1001, 737 }, { 501, 369 }, { 251, 185 } },
      256, 3, 8, "deflate" },
    { "rgb-subifd.tif", 3, { { 1001, 737 }, { 501, 369 }, { 251, 185 } },
      256, 3, 8, "deflate" },
    { "rgb-big.tif", 3, { { 1001, 737 }, { 501, 369 }, { 251, 185 } }, 256,
      3, 8, "deflate" },
    { "rgb-lzw.tif", 3, { { 1001, 737 }, { 501, 369 }, { 251, 185 } }, 256, 3,
      8, "lzw" },
    { "rgb-none.tif", 3, { { 1001, 737 }, { 501, 369 }, { 251, 185 } }, 256,
      3, 8, "none" },
    { "rgb-jpeg.tif", 3, { { 1001, 737 }, { 501, 369 }, { 251, 185 } }, 256,
      3, 8, "jpeg" },
    { "rgb-jpeg-rgb.tif", 3, { { 1001, 737 }, { 501, 369 }, { 251, 185 } },
      256, 3, 8, "jpeg" },
    { "grey.tif", 4,
      { { 640, 480 }, { 320, 240 }, { 160, 120 }, { 80, 60 } }, 128, 1, 8,
      "deflate" },
    { "rgba.tif", 4, { { 300, 200 }, { 150, 100 }, { 75, 50 }, { 38, 25 } },
      64, 4, 8, "deflate" },
    { "grey16.tif", 1, { { 256, 256 } }, 64, 1, 16, "deflate" },
    { "strip.tif", 1, { { 500, 400 } }, 0, 3, 8, "lzw" },
    { "single.tif", 1, { { 333, 222 } }, 64, 3, 8, "deflate" },
    { "tiny.tif", 1, { { 1, 1 } }, 0, 3, 8, "none" },
};

static void
test_geometry(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(geoms) / sizeof(geoms[0]); i++) {
        vl_source_t            *src = open_fx(geoms[i].name);
        const vl_source_info_t *in = vl_source_info(src);

        print_message("%s\n", geoms[i].name);
        assert_string_equal(in->format, "tiff");
        /* stored levels; JPEG ones may add DCT-scaled virtual levels
         * after them (test_tiles.c) */
        {
            uint32_t stored = 0;

            for (uint32_t l = 0; l < in->geom.nlevels; l++) {
                stored += in->geom.levels[l].shrink <= 1;
            }
            assert_int_equal(stored, geoms[i].nlevels);
        }
        assert_int_equal(in->geom.width, geoms[i].sizes[0][0]);
        assert_int_equal(in->geom.height, geoms[i].sizes[0][1]);
        assert_int_equal(in->geom.bands, geoms[i].bands);
        assert_int_equal(in->geom.has_alpha, geoms[i].bands == 4);
        assert_int_equal(in->bits, geoms[i].bits);
        assert_string_equal(in->compression, geoms[i].compression);
        assert_null(in->icc);
        assert_null(in->rights);
        assert_true(in->file.size > 0);
        /* one page, and no text tags but Software */
        assert_int_equal(in->pages, 1);
        assert_int_equal(in->page, 1);
        assert_null(in->title);
        assert_null(in->description);
        assert_null(in->creator);
        assert_null(in->copyright);
        assert_null(in->date);
        for (uint32_t l = 0; l < geoms[i].nlevels; l++) {
            assert_int_equal(in->geom.levels[l].width, geoms[i].sizes[l][0]);
            assert_int_equal(in->geom.levels[l].height, geoms[i].sizes[l][1]);
            assert_int_equal(in->geom.levels[l].tile_w, geoms[i].tile);
            assert_int_equal(in->geom.levels[l].tile_h, geoms[i].tile);
        }
        vl_source_put(NULL, src);
    }
}

static void
test_describe(void **state)
{
    vl_source_t *src = open_fx("rgb-jpeg.tif");
    char        *text = NULL;
    size_t       len = 0;
    FILE        *f = open_memstream(&text, &len);

    (void) state;
    assert_non_null(f);
    vl_source_describe(src, f);
    fclose(f);
    assert_non_null(strstr(text, "1001x737, 6 levels, 3 bands (RGB), 8 bits, "
                                 "photometric ycbcr"));
    assert_non_null(strstr(text, "  level 2: 251x185, tiles 256x256, jpeg\n"));
    assert_non_null(strstr(text, "  level 3: 126x93, tiles 128x128, jpeg "
                                 "(DCT 1/2 of level 2)\n"));
    free(text);
    vl_source_put(NULL, src);

    src = open_fx("strip.tif");
    f = open_memstream(&text, &len);
    vl_source_describe(src, f);
    fclose(f);
    assert_non_null(strstr(text, "  level 0: 500x400, strips of 16 rows, lzw"));
    free(text);
    vl_source_put(NULL, src);
}

/* ---------------------------------------------------------------- pixels */

static const struct {
    const char *name;
    int         pat;
} lossless[] = {
    { "rgb-deflate.tif", PAT_RGB }, { "rgb-subifd.tif", PAT_RGB },
    { "rgb-lzw.tif", PAT_RGB },     { "rgb-none.tif", PAT_RGB },
    { "rgb-big.tif", PAT_RGB },     { "grey.tif", PAT_GREY },
    { "rgba.tif", PAT_RGBA },       { "grey16.tif", PAT_GREY16 },
    { "strip.tif", PAT_RGB },       { "single.tif", PAT_RGB },
    { "tiny.tif", PAT_RGB },
};

static void
test_full_levels(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(lossless) / sizeof(lossless[0]); i++) {
        vl_source_t            *src = open_fx(lossless[i].name);
        const vl_source_info_t *in = vl_source_info(src);

        for (uint32_t l = 0; l < in->geom.nlevels; l++) {
            vl_image_t img;

            /* the stored levels: none of these is JPEG, so a level with
             * a shrink is one source.c averages (checked in t_flat.sh) */
            if (in->geom.levels[l].shrink > 1) {
                continue;
            }
            print_message("%s level %u\n", lossless[i].name, l);
            assert_int_equal(read_rect(src, l, 0, 0, in->geom.levels[l].width,
                                       in->geom.levels[l].height, &img),
                             VL_OK);
            assert_int_equal(mismatches(&img, lossless[i].pat, l, 0, 0), 0);
            free(img.data);
        }
        vl_source_put(NULL, src);
    }
}

static const struct {
    const char *name;
    int         pat;
    uint32_t    level, x, y, w, h;
} crops[] = {
    { "rgb-deflate.tif", PAT_RGB, 0, 250, 250, 20, 20 },   /* 4 tiles */
    { "rgb-deflate.tif", PAT_RGB, 0, 990, 730, 11, 7 },    /* edge tile */
    { "rgb-deflate.tif", PAT_RGB, 0, 255, 0, 2, 737 },     /* a column */
    { "rgb-deflate.tif", PAT_RGB, 0, 0, 511, 1001, 2 },    /* a row */
    { "rgb-deflate.tif", PAT_RGB, 1, 500, 368, 1, 1 },     /* last pixel */
    { "rgb-deflate.tif", PAT_RGB, 1, 200, 100, 301, 269 }, /* to the edge */
    { "rgb-deflate.tif", PAT_RGB, 2, 250, 0, 1, 185 },
    { "rgb-subifd.tif", PAT_RGB, 1, 250, 250, 20, 20 },
    { "rgb-subifd.tif", PAT_RGB, 2, 10, 20, 200, 100 },
    { "rgb-lzw.tif", PAT_RGB, 0, 768, 512, 233, 225 },
    { "rgb-none.tif", PAT_RGB, 1, 255, 255, 2, 2 },
    { "rgb-big.tif", PAT_RGB, 0, 250, 250, 20, 20 },
    { "strip.tif", PAT_RGB, 0, 10, 10, 100, 40 },          /* 4 strips */
    { "strip.tif", PAT_RGB, 0, 499, 15, 1, 2 },            /* 2 strips */
    { "strip.tif", PAT_RGB, 0, 0, 384, 500, 16 },          /* last strip */
    { "strip.tif", PAT_RGB, 0, 7, 399, 3, 1 },
    { "grey.tif", PAT_GREY, 0, 120, 120, 20, 20 },
    { "grey.tif", PAT_GREY, 3, 79, 59, 1, 1 },
    { "rgba.tif", PAT_RGBA, 0, 60, 60, 10, 10 },
    { "rgba.tif", PAT_RGBA, 2, 64, 0, 11, 50 },
    { "grey16.tif", PAT_GREY16, 0, 60, 60, 70, 70 },
    { "single.tif", PAT_RGB, 0, 320, 192, 13, 30 },
};

static void
test_crops(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(crops) / sizeof(crops[0]); i++) {
        vl_source_t *src = open_fx(crops[i].name);
        vl_image_t   img;

        print_message("%s L%u %u,%u,%u,%u\n", crops[i].name, crops[i].level,
                      crops[i].x, crops[i].y, crops[i].w, crops[i].h);
        assert_int_equal(read_rect(src, crops[i].level, crops[i].x, crops[i].y,
                                   crops[i].w, crops[i].h, &img),
                         VL_OK);
        assert_int_equal(mismatches(&img, crops[i].pat, crops[i].level,
                                    crops[i].x, crops[i].y),
                         0);
        free(img.data);
        vl_source_put(NULL, src);
    }
}

/* Consecutive reads on one handle hop between levels and blocks. */
static void
test_level_hopping(void **state)
{
    static const uint32_t seq[][5] = {
        { 2, 0, 0, 251, 185 }, { 0, 250, 250, 20, 20 }, { 1, 0, 0, 10, 10 },
        { 0, 251, 251, 5, 5 }, { 2, 100, 100, 5, 5 },   { 0, 0, 0, 3, 3 },
    };
    const char *files[] = { "rgb-deflate.tif", "rgb-subifd.tif" };

    (void) state;
    for (size_t f = 0; f < 2; f++) {
        vl_source_t *src = open_fx(files[f]);

        for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
            vl_image_t img;

            assert_int_equal(read_rect(src, seq[i][0], seq[i][1], seq[i][2],
                                       seq[i][3], seq[i][4], &img),
                             VL_OK);
            assert_int_equal(mismatches(&img, PAT_RGB, seq[i][0], seq[i][1],
                                        seq[i][2]),
                             0);
            free(img.data);
        }
        vl_source_put(NULL, src);
    }
}

static void
test_subifd_equals_multi_ifd(void **state)
{
    vl_source_t *a = open_fx("rgb-deflate.tif");
    vl_source_t *b = open_fx("rgb-subifd.tif");

    (void) state;
    for (uint32_t l = 0; l < 3; l++) {
        const vl_level_t *lv = &vl_source_info(a)->geom.levels[l];
        vl_image_t        ia, ib;

        assert_int_equal(read_rect(a, l, 0, 0, lv->width, lv->height, &ia),
                         VL_OK);
        assert_int_equal(read_rect(b, l, 0, 0, lv->width, lv->height, &ib),
                         VL_OK);
        assert_memory_equal(ia.data, ib.data, ia.stride * ia.h);
        free(ia.data);
        free(ib.data);
    }
    vl_source_put(NULL, a);
    vl_source_put(NULL, b);
}

static void
test_alpha_and_grey16_values(void **state)
{
    vl_source_t *src = open_fx("rgba.tif");
    vl_image_t   img;

    (void) state;
    assert_int_equal(read_rect(src, 0, 5, 7, 2, 1, &img), VL_OK);
    /* alpha = (x * 3 + y + 64) & 255 */
    assert_int_equal(img.data[3], 86);
    assert_int_equal(img.data[7], 89);
    assert_int_equal(img.data[0], 5);   /* R = x */
    assert_int_equal(img.data[1], 7);   /* G = y */
    free(img.data);
    vl_source_put(NULL, src);

    src = open_fx("grey16.tif");
    assert_int_equal(read_rect(src, 0, 200, 100, 1, 1, &img), VL_OK);
    /* stored 16-bit (x + 2y) * 257, scaled by v >> 8 */
    assert_int_equal(img.data[0], (200 + 200) & 255);
    free(img.data);
    vl_source_put(NULL, src);
}

static void
test_jpeg_tolerance(void **state)
{
    const char *files[] = { "rgb-jpeg.tif", "rgb-jpeg-rgb.tif" };

    (void) state;
    for (size_t f = 0; f < 2; f++) {
        vl_source_t            *src = open_fx(files[f]);
        const vl_source_info_t *in = vl_source_info(src);

        for (uint32_t l = 0; l < in->geom.nlevels
                             && in->geom.levels[l].shrink <= 1; l++) {
            vl_image_t img;
            double     mae;

            assert_int_equal(read_rect(src, l, 0, 0, in->geom.levels[l].width,
                                       in->geom.levels[l].height, &img),
                             VL_OK);
            mae = mean_abs_error(&img, l, 0, 0);
            print_message("%s level %u: mean abs error %.3f\n", files[f], l,
                          mae);
            assert_true(mae <= 3.0);
            free(img.data);
        }
        /* a crop agrees with the full read region */
        {
            vl_image_t img;

            assert_int_equal(read_rect(src, 0, 250, 250, 20, 20, &img), VL_OK);
            assert_true(mean_abs_error(&img, 0, 250, 250) <= 3.0);
            free(img.data);
        }
        vl_source_put(NULL, src);
    }
}

static void
test_jpeg_tile(void **state)
{
    const char *files[] = { "rgb-jpeg.tif", "rgb-jpeg-rgb.tif" };
    static const uint32_t tiles[][3] = { { 0, 1, 1 }, { 0, 3, 2 },
                                         { 2, 0, 0 } };

    (void) state;
    for (size_t f = 0; f < 2; f++) {
        vl_source_t *src = open_fx(files[f]);
        tjhandle     tj = tjInitDecompress();

        assert_non_null(tj);
        for (size_t i = 0; i < 3; i++) {
            vl_pool_t     *pool = vl_pool_create(4096);
            vl_err_t       err = { 0 };
            unsigned char *data = NULL, *rgb;
            size_t         len = 0;
            int            w, h, sub, cs;
            uint32_t       l = tiles[i][0], col = tiles[i][1];
            uint32_t       row = tiles[i][2];
            const vl_level_t *lv = &vl_source_info(src)->geom.levels[l];
            uint32_t       vw, vh;
            double         sum = 0;

            assert_int_equal(vl_source_read_jpeg_tile(src, pool, l, col, row,
                                                      &data, &len, &err),
                             VL_OK);
            assert_true(len > 100);
            assert_int_equal(data[0], 0xff);
            assert_int_equal(data[1], 0xd8);
            assert_int_equal(data[len - 2], 0xff);
            assert_int_equal(data[len - 1], 0xd9);
            assert_int_equal(tjDecompressHeader3(tj, data, (unsigned long) len,
                                                 &w, &h, &sub, &cs),
                             0);
            assert_int_equal(w, 256);
            assert_int_equal(h, 256);
            rgb = malloc(256 * 256 * 3);
            assert_non_null(rgb);
            assert_int_equal(tjDecompress2(tj, data, (unsigned long) len, rgb,
                                           256, 0, 256, TJPF_RGB, 0),
                             0);
            /* compare the part of the tile inside the level */
            vw = lv->width - col * 256 < 256 ? lv->width - col * 256 : 256;
            vh = lv->height - row * 256 < 256 ? lv->height - row * 256 : 256;
            for (uint32_t y = 0; y < vh; y++) {
                for (uint32_t x = 0; x < vw; x++) {
                    for (int b = 0; b < 3; b++) {
                        int d = rgb[(y * 256 + x) * 3 + b]
                                - vl_fx_rgb(col * 256 + x, row * 256 + y, l, b);

                        sum += d < 0 ? -d : d;
                    }
                }
            }
            print_message("%s tile L%u %u,%u: %zu bytes, mae %.3f\n", files[f],
                          l, col, row, len, sum / (vw * vh * 3.0));
            assert_true(sum / (vw * vh * 3.0) <= 3.0);
            free(rgb);
            vl_pool_destroy(pool);
        }
        tjDestroy(tj);
        vl_source_put(NULL, src);
    }

    {
        vl_source_t   *src = open_fx("rgb-deflate.tif");
        vl_pool_t     *pool = vl_pool_create(4096);
        vl_err_t       err = { 0 };
        unsigned char *data = NULL;
        size_t         len = 0;

        assert_int_equal(vl_source_read_jpeg_tile(src, pool, 0, 0, 0, &data,
                                                  &len, &err),
                         VL_EUNSUPP);
        vl_pool_destroy(pool);
        vl_source_put(NULL, src);
    }
}

/* A stored tile of RGB component ids goes out with an Adobe marker: put
 * in the headroom the source leaves before the stream (no copy of the
 * tile), the same bytes as the copying path. */
static void
test_jpeg_tile_adobe(void **state)
{
    vl_source_t   *src = open_fx("rgb-jpeg-rgb.tif");
    vl_pool_t     *pool = vl_pool_create(4096);
    vl_err_t       err = { 0 };
    unsigned char *data = NULL, *copy, *a = NULL, *b = NULL;
    size_t         len = 0, alen = 0, blen = 0;

    (void) state;
    assert_int_equal(vl_source_read_jpeg_tile(src, pool, 0, 1, 1, &data,
                                              &len, &err),
                     VL_OK);
    copy = vl_pool_alloc(pool, len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    assert_int_equal(vl_jpegcrop_passthrough(pool, copy, len, 0, 256, 256, 3,
                                             NULL, 0, &a, &alen, &err),
                     VL_OK);
    assert_int_equal(vl_jpegcrop_passthrough(pool, data, len,
                                             VL_SOURCE_JPEG_HEADROOM, 256, 256,
                                             3, NULL, 0, &b, &blen, &err),
                     VL_OK);
    assert_int_equal(alen, len + 16);
    assert_int_equal(blen, alen);
    assert_memory_equal(a, b, alen);
    assert_int_equal(a[2], 0xff);
    assert_int_equal(a[3], 0xee);
    assert_ptr_equal(b, data - 16);
    vl_pool_destroy(pool);
    vl_source_put(NULL, src);
}

static void
test_bad_rect(void **state)
{
    vl_source_t *src = open_fx("single.tif");
    vl_err_t     err = { 0 };
    vl_image_t   img;

    (void) state;
    img_alloc(&img, 10, 10, 3);
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(330, 0, 10, 10),
                                    &img, &err),
                     VL_EBADREQ);
    vl_err_clear(&err);
    assert_int_equal(vl_source_read(src, vl_source_info(src)->geom.nlevels,
                                    &VL_RECT(0, 0, 10, 10), &img, &err),
                     VL_EBADREQ);
    vl_err_clear(&err);
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(0, 0, 0, 10), &img, &err),
                     VL_EBADREQ);
    vl_err_clear(&err);
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(0, 0, 11, 10), &img, &err),
                     VL_EINTERNAL);     /* buffer too small */
    vl_err_clear(&err);
    img.bands = 1;
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(0, 0, 5, 5), &img, &err),
                     VL_EINTERNAL);     /* wrong bands */
    free(img.data);
    vl_source_put(NULL, src);
}


/* ---------------------------------------------------------------- odd TIFFs */

typedef struct {
    const char *name;
    uint16_t    photometric, bits, spp, planar, extra, format;
    int         tiled;
    vl_status_t want;
    int         bands;
} odd_t;

static const odd_t odds[] = {
    { "pal8.tif", PHOTOMETRIC_PALETTE, 8, 1, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_UINT, 0, VL_OK, 3 },
    { "pal4.tif", PHOTOMETRIC_PALETTE, 4, 1, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_UINT, 1, VL_OK, 3 },
    { "bw-white.tif", PHOTOMETRIC_MINISWHITE, 1, 1, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_UINT, 0, VL_OK, 1 },
    { "bw-black.tif", PHOTOMETRIC_MINISBLACK, 1, 1, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_UINT, 1, VL_OK, 1 },
    { "planar.tif", PHOTOMETRIC_RGB, 8, 3, PLANARCONFIG_SEPARATE, 0,
      SAMPLEFORMAT_UINT, 1, VL_OK, 3 },
    { "planar-strip.tif", PHOTOMETRIC_RGB, 8, 3, PLANARCONFIG_SEPARATE, 0,
      SAMPLEFORMAT_UINT, 0, VL_OK, 3 },
    { "rgba16.tif", PHOTOMETRIC_RGB, 16, 4, PLANARCONFIG_CONTIG,
      EXTRASAMPLE_UNASSALPHA, SAMPLEFORMAT_UINT, 1, VL_OK, 4 },
    { "rgba-assoc.tif", PHOTOMETRIC_RGB, 8, 4, PLANARCONFIG_CONTIG,
      EXTRASAMPLE_ASSOCALPHA, SAMPLEFORMAT_UINT, 0, VL_OK, 4 },
    { "greya.tif", PHOTOMETRIC_MINISBLACK, 8, 2, PLANARCONFIG_CONTIG,
      EXTRASAMPLE_UNASSALPHA, SAMPLEFORMAT_UINT, 0, VL_OK, 2 },
    /* CMYK, Lab, float and uncompressed YCbCr are read (test_kinds);
     * what is still refused: */
    { "cmy3.tif", PHOTOMETRIC_SEPARATED, 8, 3, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_UINT, 0, VL_EFORMAT, 0 },
    { "int16.tif", PHOTOMETRIC_MINISBLACK, 16, 1, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_INT, 0, VL_EFORMAT, 0 },
    { "itulab.tif", PHOTOMETRIC_ITULAB, 8, 3, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_UINT, 0, VL_EFORMAT, 0 },
    { "ycbcr16.tif", PHOTOMETRIC_YCBCR, 16, 3, PLANARCONFIG_CONTIG, 0,
      SAMPLEFORMAT_UINT, 0, VL_EFORMAT, 0 },
};

#define ODD_W 40
#define ODD_H 30

/* Stored sample s of pixel (x, y) of an odd fixture (before packing). */
static unsigned
odd_sample(const odd_t *o, uint32_t x, uint32_t y, int s)
{
    if (o->photometric == PHOTOMETRIC_PALETTE) {
        return (x + y) & ((1u << o->bits) - 1);
    }
    if (o->bits == 1) {
        return (x + y) & 1;
    }
    if (s == o->spp - 1 && o->extra != 0) {
        unsigned a = vl_fx_alpha(x, y) | 1;

        return o->bits == 16 ? a * 257 : a;
    }
    if (o->extra == EXTRASAMPLE_ASSOCALPHA) {
        return (vl_fx_rgb(x, y, 0, s) * (vl_fx_alpha(x, y) | 1) + 127) / 255;
    }
    return o->bits == 16 ? vl_fx_rgb(x, y, 0, s) * 257u
                         : (unsigned) vl_fx_rgb(x, y, 0, s);
}

/* The 8-bit output vellum must give for band b of (x, y). */
static unsigned
odd_expect(const odd_t *o, uint32_t x, uint32_t y, int b)
{
    unsigned i = (x + y) & ((1u << o->bits) - 1);

    switch (o->photometric) {
    case PHOTOMETRIC_PALETTE:
        return b == 0 ? i : b == 1 ? 255 - i : (i * 7) & 255;
    case PHOTOMETRIC_MINISWHITE:
        return ((x + y) & 1) ? 0 : 255;
    default:
        break;
    }
    if (o->bits == 1) {
        return ((x + y) & 1) ? 255 : 0;
    }
    if (b == o->spp - 1 && o->extra != 0) {
        return vl_fx_alpha(x, y) | 1;
    }
    return vl_fx_rgb(x, y, 0, b);
}

static void
odd_write(const odd_t *o, const char *path)
{
    TIFF          *tif = TIFFOpen(path, "w");
    uint16_t       map[3][256];
    unsigned char *buf;
    int            planes = o->planar == PLANARCONFIG_SEPARATE ? o->spp : 1;
    int            per = o->planar == PLANARCONFIG_SEPARATE ? 1 : o->spp;
    uint32_t       bw = o->tiled ? 16 : ODD_W, bh = o->tiled ? 16 : 7;
    size_t         row = ((size_t) bw * per * o->bits + 7) / 8;

    assert_non_null(tif);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, ODD_W);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, ODD_H);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, o->bits);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, o->spp);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, o->planar);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, o->photometric);
    TIFFSetField(tif, TIFFTAG_SAMPLEFORMAT, o->format);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
    if (o->extra != 0) {
        TIFFSetField(tif, TIFFTAG_EXTRASAMPLES, 1, &o->extra);
    }
    if (o->photometric == PHOTOMETRIC_PALETTE) {
        for (unsigned i = 0; i < 256; i++) {
            map[0][i] = (uint16_t) (i * 257);
            map[1][i] = (uint16_t) ((255 - i) * 257);
            map[2][i] = (uint16_t) (((i * 7) & 255) * 257);
        }
        TIFFSetField(tif, TIFFTAG_COLORMAP, map[0], map[1], map[2]);
    }
    if (o->tiled) {
        TIFFSetField(tif, TIFFTAG_TILEWIDTH, bw);
        TIFFSetField(tif, TIFFTAG_TILELENGTH, bh);
    } else {
        TIFFSetField(tif, TIFFTAG_ROWSPERSTRIP, bh);
    }
    buf = calloc(row * bh + 8, 1);
    assert_non_null(buf);
    for (int p = 0; p < planes; p++) {
        for (uint32_t by = 0; by < ODD_H; by += bh) {
            for (uint32_t bx = 0; bx < ODD_W; bx += bw) {
                uint32_t rows = o->tiled || ODD_H - by >= bh ? bh : ODD_H - by;

                memset(buf, 0, row * bh);
                for (uint32_t j = 0; j < rows; j++) {
                    for (uint32_t i = 0; i < bw; i++) {
                        for (int s = 0; s < per; s++) {
                            unsigned v = odd_sample(o, bx + i, by + j,
                                                    per == 1 ? p : s);
                            size_t   k = (size_t) i * per + s;

                            if (o->bits < 8) {
                                size_t bit = k * o->bits;

                                buf[j * row + bit / 8] |= (unsigned char)
                                    (v << (8 - o->bits - bit % 8));
                            } else if (o->bits == 8) {
                                buf[j * row + k] = (unsigned char) v;
                            } else if (o->bits == 16) {
                                uint16_t u = (uint16_t) v;

                                memcpy(buf + j * row + k * 2, &u, 2);
                            } else {
                                float f = (float) v;

                                memcpy(buf + j * row + k * 4, &f, 4);
                            }
                        }
                    }
                }
                if (o->tiled) {
                    assert_true(TIFFWriteTile(tif, buf, bx, by, 0,
                                              (uint16_t) p) > 0);
                } else {
                    uint32_t k = TIFFComputeStrip(tif, by, (uint16_t) p);

                    assert_true(TIFFWriteEncodedStrip(tif, k, buf,
                                                      (tmsize_t) (row * rows))
                                > 0);
                }
            }
        }
    }
    free(buf);
    assert_int_equal(TIFFWriteDirectory(tif), 1);
    TIFFClose(tif);
}

static void
test_odd_formats(void **state)
{
    (void) state;
    for (size_t n = 0; n < sizeof(odds) / sizeof(odds[0]); n++) {
        const odd_t *o = &odds[n];
        char         path[2 * PATH_MAX];
        vl_err_t     err = { 0 };
        vl_source_t *src;
        vl_image_t   img;

        snprintf(path, sizeof(path), "%s", tmp_path(o->name));
        odd_write(o, path);
        src = vl_source_open_path(path, &err);
        print_message("%s -> %s %s\n", o->name, vl_status_name(err.code),
                      err.msg);
        assert_int_equal(err.code, o->want);
        if (o->want != VL_OK) {
            assert_null(src);
            assert_true(strlen(err.msg) > 10);
            continue;
        }
        assert_int_equal(vl_source_info(src)->geom.bands, o->bands);
        /* full image, then a crop across blocks */
        for (int pass = 0; pass < 2; pass++) {
            uint32_t x0 = pass ? 13 : 0, y0 = pass ? 5 : 0;
            uint32_t w = pass ? 20 : ODD_W, h = pass ? 20 : ODD_H;
            size_t   bad = 0;

            assert_int_equal(read_rect(src, 0, x0, y0, w, h, &img), VL_OK);
            for (uint32_t y = 0; y < h; y++) {
                for (uint32_t x = 0; x < w; x++) {
                    for (int b = 0; b < o->bands; b++) {
                        int want = (int) odd_expect(o, x0 + x, y0 + y, b);
                        int got = VL_IMAGE_ROW(&img, y)[x * o->bands + b];
                        /* premultiplied alpha loses precision */
                        int tol = o->extra == EXTRASAMPLE_ASSOCALPHA
                                      ? 255 / (vl_fx_alpha(x0 + x, y0 + y) | 1)
                                            + 1
                                      : 0;

                        if (abs(got - want) > tol && bad++ == 0) {
                            print_message("(%u,%u) band %d: got %d want %d\n",
                                          x0 + x, y0 + y, b, got, want);
                        }
                    }
                }
            }
            assert_int_equal(bad, 0);
            free(img.data);
        }
        vl_source_put(NULL, src);
    }
}

/* ---------------------------------------------------------------- pages */

/* Count of samples of img (top-left (x0, y0) of stored level `level` of
 * book.tif's page `page`) that differ from that page's pattern. */
static size_t
book_mismatches(const vl_image_t *img, uint32_t page, uint32_t level,
                uint32_t x0, uint32_t y0)
{
    int pat = vl_book_pages[page - 1].bands == 1 ? PAT_GREY : PAT_RGB;

    return mismatches(img, pat, vl_book_level(page, level), x0, y0);
}

static vl_source_t *
get_id(vl_source_cache_t *cache, const vl_conf_t *conf, const char *id)
{
    vl_err_t     err = { 0 };
    vl_source_t *src = vl_source_get(cache, conf, id, &err);

    if (src == NULL) {
        fail_msg("%s: %s", id, err.msg);
    }
    return src;
}

/* Every page of book.tif by identifier: its own geometry, levels (SubIFDs
 * or following IFDs, the thumbnail, the reduced image after a SubIFD page
 * and the mask skipped) and pixels at every level. */
static void
test_pages_book(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(8);
    vl_conf_t          conf;

    (void) state;
    make_conf(&conf, vl_fx_path(""), NULL);
    conf.iiif_delimiter = ";";
    for (uint32_t p = 1; p <= VL_BOOK_PAGES; p++) {
        const vl_book_page_t   *bp = &vl_book_pages[p - 1];
        char                    id[32];
        vl_source_t            *src;
        const vl_source_info_t *in;
        uint32_t                stored = 0;

        snprintf(id, sizeof(id), "book.tif;%u", p);
        src = get_id(cache, &conf, id);
        in = vl_source_info(src);
        print_message("%s: %ux%u, %u levels\n", id, in->geom.width,
                      in->geom.height, in->geom.nlevels);
        assert_int_equal(in->pages, VL_BOOK_PAGES);
        assert_int_equal(in->page, p);
        assert_int_equal(in->geom.width, bp->w);
        assert_int_equal(in->geom.height, bp->h);
        assert_int_equal(in->geom.bands, bp->bands);
        assert_string_equal(in->compression, bp->compression);
        for (uint32_t l = 0; l < in->geom.nlevels; l++) {
            const vl_level_t *lv = &in->geom.levels[l];
            vl_image_t        img;

            assert_int_equal(lv->shrink <= 1, 1);
            stored++;
            assert_int_equal(lv->width, vl_book_side(bp->w, l));
            assert_int_equal(lv->height, vl_book_side(bp->h, l));
            assert_int_equal(lv->tile_w, bp->tile);
            assert_int_equal(read_rect(src, l, 0, 0, lv->width, lv->height,
                                       &img),
                             VL_OK);
            assert_int_equal(book_mismatches(&img, p, l, 0, 0), 0);
            free(img.data);
        }
        assert_int_equal(stored, bp->nlevels);
        vl_source_put(cache, src);
    }
    vl_source_cache_free(cache);

    /* by path (vellum info, render): page 1 */
    {
        vl_source_t *src = open_fx("book.tif");

        assert_int_equal(vl_source_info(src)->pages, VL_BOOK_PAGES);
        assert_int_equal(vl_source_info(src)->page, 1);
        assert_int_equal(vl_source_info(src)->geom.width, 640);
        assert_int_equal(vl_source_info(src)->geom.nlevels, 3);
        vl_source_put(NULL, src);
    }
}

/* The page table of one walk (what a manifest reads instead of opening
 * every page): each page's size and the stored levels that follow it as
 * top-level IFDs, from any page's handle; none for a one-page file. */
static void
test_pages_table(void **state)
{
    vl_conf_t conf;

    (void) state;
    make_conf(&conf, vl_fx_path(""), NULL);
    conf.iiif_delimiter = ";";
    for (uint32_t from = 1; from <= VL_BOOK_PAGES; from++) {
        char                  id[32];
        vl_source_t          *src;
        const vl_page_size_t *t;
        uint32_t              n;

        snprintf(id, sizeof(id), "book.tif;%u", from);
        src = get_id(NULL, &conf, id);
        t = vl_source_page_sizes(src, &n);
        assert_non_null(t);
        assert_int_equal(n, VL_BOOK_PAGES);
        for (uint32_t p = 0; p < VL_BOOK_PAGES; p++) {
            const vl_book_page_t *bp = &vl_book_pages[p];

            assert_int_equal(t[p].width, bp->w);
            assert_int_equal(t[p].height, bp->h);
            /* SubIFD levels are not walked: only the page's size */
            assert_int_equal(t[p].nlevels, bp->subifd ? 1 : bp->nlevels);
            for (uint32_t l = 0; l < t[p].nlevels; l++) {
                assert_int_equal(t[p].level_w[l], vl_book_side(bp->w, l));
                assert_int_equal(t[p].level_h[l], vl_book_side(bp->h, l));
            }
        }
        vl_source_put(NULL, src);
    }
    {
        vl_source_t *src = get_id(NULL, &conf, "rgb-deflate.tif");
        uint32_t     n = 7;

        assert_null(vl_source_page_sizes(src, &n));
        assert_int_equal(n, 0);
        vl_source_put(NULL, src);
    }
}

/* The page rules one by one (pages.tif): the same size again is a page,
 * a smaller image marked a page is one (though it would fit as a level),
 * and a reduced image after it is that page's level. */
static void
test_pages_rules(void **state)
{
    static const struct {
        uint32_t w, h, nlevels, pattern;
    } want[] = {
        { 200, 100, 1, 0 }, { 200, 100, 1, 4 }, { 100, 50, 2, 8 },
    };
    vl_conf_t conf;

    (void) state;
    make_conf(&conf, vl_fx_path(""), NULL);
    conf.iiif_delimiter = ";";
    for (uint32_t p = 1; p <= 3; p++) {
        char                    id[32];
        vl_source_t            *src;
        const vl_source_info_t *in;

        snprintf(id, sizeof(id), "pages.tif;%u", p);
        src = get_id(NULL, &conf, id);
        in = vl_source_info(src);
        assert_int_equal(in->pages, 3);
        assert_int_equal(in->geom.width, want[p - 1].w);
        assert_int_equal(in->geom.height, want[p - 1].h);
        assert_int_equal(in->geom.nlevels, want[p - 1].nlevels);
        for (uint32_t l = 0; l < in->geom.nlevels; l++) {
            const vl_level_t *lv = &in->geom.levels[l];
            vl_image_t        img;

            assert_int_equal(read_rect(src, l, 0, 0, lv->width, lv->height,
                                       &img),
                             VL_OK);
            assert_int_equal(mismatches(&img, PAT_RGB, want[p - 1].pattern + l,
                                        0, 0),
                             0);
            free(img.data);
        }
        vl_source_put(NULL, src);
    }
}

static const struct {
    const char *delim;
    const char *id;
    vl_status_t want;
    uint32_t    page, width;
    const char *msg;            /* of the error, or NULL */
} page_ids[] = {
    { ";", "book.tif", VL_OK, 1, 640, NULL },
    { ";", "book.tif;1", VL_OK, 1, 640, NULL },
    { ";", "book.tif;2", VL_OK, 2, 480, NULL },
    { ";", "book.tif;3", VL_OK, 3, 256, NULL },
    { ";", "book.tif;4", VL_ENOTFOUND, 0, 0, "no such page" },
    { ";", "book.tif;0", VL_ENOTFOUND, 0, 0, "no such page" },
    { ";", "book.tif;02", VL_ENOTFOUND, 0, 0, "no such page" },
    { ";", "book.tif;4294967297", VL_ENOTFOUND, 0, 0, "no such page" },
    /* not digits: the identifier is a file name, and there is none */
    { ";", "book.tif;x", VL_ENOTFOUND, 0, 0, "identifier not found" },
    { ";", "book.tif;2x", VL_ENOTFOUND, 0, 0, "identifier not found" },
    { ";", "book.tif;", VL_ENOTFOUND, 0, 0, "identifier not found" },
    { ";", "book.tif;-1", VL_ENOTFOUND, 0, 0, "identifier not found" },
    { ";", ";2", VL_ENOTFOUND, 0, 0, "identifier not found" },
    { ";", "single.tif;1", VL_OK, 1, 333, NULL },
    { ";", "single.tif;2", VL_ENOTFOUND, 0, 0, "no such page" },
    { ";", "sub/dir/nested.tif;1", VL_OK, 1, 333, NULL },
    { ";", "../book.tif;2", VL_ENOTFOUND, 0, 0, "identifier not found" },
    { ";", "rgb.jp2;1", VL_OK, 1, 1001, NULL },
    { ";", "rgb.jp2;2", VL_ENOTFOUND, 0, 0, "no such page" },
    /* the last delimiter counts; a longer delimiter */
    { "__", "book.tif__3", VL_OK, 3, 256, NULL },
    { "__", "book.tif;3", VL_ENOTFOUND, 0, 0, "identifier not found" },
    /* no delimiter: no pages, the identifier whole */
    { "", "book.tif;2", VL_ENOTFOUND, 0, 0, "identifier not found" },
    { "", "book.tif", VL_OK, 1, 640, NULL },
    { NULL, "book.tif;2", VL_ENOTFOUND, 0, 0, "identifier not found" },
};

static void
test_pages_ids(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(page_ids) / sizeof(page_ids[0]); i++) {
        vl_source_cache_t *cache = vl_source_cache_new(8);
        vl_conf_t          conf;

        make_conf(&conf, vl_fx_path(""), NULL);
        conf.iiif_delimiter = (char *) page_ids[i].delim;
        /* twice: opened, then from the handle cache */
        for (int pass = 0; pass < 2; pass++) {
            vl_err_t     err = { 0 };
            vl_source_t *src = vl_source_get(cache, &conf, page_ids[i].id,
                                             &err);

            print_message("'%s' with '%s' -> %s %s\n", page_ids[i].id,
                          page_ids[i].delim ? page_ids[i].delim : "(null)",
                          vl_status_name(err.code), err.msg);
            assert_int_equal(err.code, page_ids[i].want);
            if (page_ids[i].want != VL_OK) {
                assert_null(src);
                assert_string_equal(err.msg, page_ids[i].msg);
                continue;
            }
            assert_non_null(src);
            assert_int_equal(vl_source_info(src)->page, page_ids[i].page);
            assert_int_equal(vl_source_info(src)->geom.width,
                             page_ids[i].width);
            vl_source_put(cache, src);
        }
        vl_source_cache_free(cache);
    }
}

/* File names with the delimiter in them: reachable unless they end in the
 * delimiter and digits. */
static void
test_pages_names(void **state)
{
    vl_conf_t    conf;
    vl_err_t     err = { 0 };
    vl_source_t *src;

    (void) state;
    copy_file(vl_fx_path("single.tif"), tmp_path("a;b.tif"));
    copy_file(vl_fx_path("single.tif"), tmp_path("c;2"));
    copy_file(vl_fx_path("single.tif"), tmp_path("d;"));
    make_conf(&conf, tmproot, NULL);
    conf.iiif_delimiter = ";";
    src = get_id(NULL, &conf, "a;b.tif");
    vl_source_put(NULL, src);
    src = get_id(NULL, &conf, "d;");
    vl_source_put(NULL, src);
    /* page 2 of "c", which does not exist */
    assert_null(vl_source_get(NULL, &conf, "c;2", &err));
    assert_int_equal(err.code, VL_ENOTFOUND);
    /* without pages the name is reached */
    conf.iiif_delimiter = "";
    src = get_id(NULL, &conf, "c;2");
    vl_source_put(NULL, src);
}

/* One handle per file and page in the handle cache; the blocks of two
 * pages at the same level and block never mix in the tile cache. */
static void
test_pages_caches(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(8);
    vl_tile_cache_t   *tiles = vl_tiles_new((size_t) 16 << 20);
    vl_conf_t          conf;
    vl_source_t       *a, *b, *c;
    vl_tiles_stats_t   st;

    (void) state;
    assert_non_null(tiles);
    vl_source_cache_set_tiles(cache, tiles);
    make_conf(&conf, vl_fx_path(""), NULL);
    conf.iiif_delimiter = ";";

    a = get_id(cache, &conf, "pages.tif;1");
    b = get_id(cache, &conf, "pages.tif;2");
    assert_ptr_not_equal(a, b);
    assert_true(vl_file_id_eq(&vl_source_info(a)->file,
                              &vl_source_info(b)->file));
    /* pages 1 and 2 have the same geometry: same levels, same blocks */
    for (int round = 0; round < 3; round++) {
        vl_source_t *pg[2] = { a, b };

        for (int k = 0; k < 2; k++) {
            vl_image_t img;

            assert_int_equal(read_rect(pg[k], 0, 10, 20, 100, 50, &img),
                             VL_OK);
            assert_int_equal(mismatches(&img, PAT_RGB, k == 0 ? 0 : 4, 10,
                                        20),
                             0);
            free(img.data);
        }
    }
    vl_tiles_stats(tiles, &st);
    print_message("tile cache: %llu hits, %llu misses\n",
                  (unsigned long long) st.hits,
                  (unsigned long long) st.misses);
    /* 2 x 2 blocks per page, decoded once each; the warm rounds hit */
    assert_int_equal(st.misses, 8);
    assert_int_equal(st.hits, 16);

    /* book.tif: page 1 (tiles 128) then page 2 (tiles 64), warm */
    c = get_id(cache, &conf, "book.tif;1");
    for (int round = 0; round < 2; round++) {
        vl_source_t *pg[2] = { c, NULL };

        pg[1] = get_id(cache, &conf, "book.tif;2");
        for (uint32_t p = 1; p <= 2; p++) {
            vl_image_t img;

            assert_int_equal(read_rect(pg[p - 1], 1, 0, 0, 64, 64, &img),
                             VL_OK);
            assert_int_equal(book_mismatches(&img, p, 1, 0, 0), 0);
            free(img.data);
        }
        vl_source_put(cache, pg[1]);
    }
    vl_source_put(cache, c);

    /* back in the cache: each page gets its own handle again */
    vl_source_put(cache, a);
    vl_source_put(cache, b);
    assert_ptr_equal(get_id(cache, &conf, "pages.tif;2"), b);
    assert_ptr_equal(get_id(cache, &conf, "pages.tif"), a);
    /* a page past the count, known from the open handles */
    {
        vl_err_t err = { 0 };

        vl_source_put(cache, a);
        assert_null(vl_source_get(cache, &conf, "pages.tif;4", &err));
        assert_int_equal(err.code, VL_ENOTFOUND);
        assert_string_equal(err.msg, "no such page");
    }
    vl_source_put(cache, b);
    vl_source_cache_free(cache);
    vl_tiles_free(tiles);
}

static void
check_text(const char *what, const char *got, const char *want)
{
    if (want == NULL) {
        if (got != NULL) {
            fail_msg("%s: '%s', want none", what, got);
        }
        return;
    }
    if (got == NULL) {
        fail_msg("%s: none, want '%s'", what, want);
    }
    /* byte for byte */
    if (strlen(got) != strlen(want) || memcmp(got, want, strlen(want)) != 0) {
        fail_msg("%s: '%s', want '%s'", what, got, want);
    }
}

/* The text tags of each page, cleaned; none carried over between pages. */
static void
test_pages_metadata(void **state)
{
    vl_conf_t conf;

    (void) state;
    make_conf(&conf, vl_fx_path(""), NULL);
    conf.iiif_delimiter = ";";
    for (uint32_t p = 1; p <= VL_BOOK_PAGES; p++) {
        const vl_book_page_t   *bp = &vl_book_pages[p - 1];
        char                    id[32];
        vl_source_t            *src;
        const vl_source_info_t *in;

        snprintf(id, sizeof(id), "book.tif;%u", p);
        src = get_id(NULL, &conf, id);
        in = vl_source_info(src);
        check_text("title", in->title, bp->title);
        check_text("description", in->description, bp->want_description);
        check_text("creator", in->creator, bp->want_creator);
        check_text("copyright", in->copyright, bp->copyright);
        check_text("date", in->date, bp->date);
        check_text("rights", in->rights, bp->rights);
        vl_source_put(NULL, src);
    }
    {
        vl_source_t            *src = open_fx("tags.tif");
        const vl_source_info_t *in = vl_source_info(src);
        char                   *text = NULL;
        size_t                  len = 0;
        FILE                   *f = open_memstream(&text, &len);

        check_text("title", in->title, VL_TAGS_TITLE);
        check_text("description", in->description,
                   VL_TAGS_WANT_DESCRIPTION);
        check_text("creator", in->creator, VL_TAGS_CREATOR);
        check_text("copyright", in->copyright, VL_TAGS_COPYRIGHT);
        check_text("date", in->date, VL_TAGS_DATE);
        assert_null(in->rights);        /* not a URI */
        assert_int_equal(in->pages, 1);
        /* vellum info */
        assert_non_null(f);
        vl_source_describe(src, f);
        fclose(f);
        assert_non_null(strstr(text, "\n  page 1 of 1\n  title: Map of the "
                                     "river\n  description: A survey map\n"));
        assert_non_null(strstr(text, "\n  date: 2020:05:06 07:08:09\n"
                                     "  level 0: 200x150"));
        free(text);
        vl_source_put(NULL, src);
    }
}

/* Pyramids written by vips (run-mkfixtures.sh, when vips is installed):
 * one page with its levels, multi-IFD or SubIFD; a multi-page file of
 * vips with SubIFD pyramids is two pages. */
static void
test_pages_vips(void **state)
{
    static const struct {
        const char *name;
        uint32_t    pages, nlevels, last_w;
    } files[] = {
        { "vips-pyr.tif", 1, 3, 250 },
        { "vips-subifd.tif", 1, 4, 125 },
        { "vips-pages.tif", 2, 4, 125 },
    };
    vl_conf_t conf;

    (void) state;
    make_conf(&conf, vl_fx_path(""), NULL);
    conf.iiif_delimiter = ";";
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        if (access(vl_fx_path(files[i].name), R_OK) != 0) {
            print_message("%s: not made (vips not installed?): skipped\n",
                          files[i].name);
            continue;
        }
        for (uint32_t p = 1; p <= files[i].pages; p++) {
            char                    id[64];
            vl_source_t            *src;
            const vl_source_info_t *in;
            vl_image_t              img;

            snprintf(id, sizeof(id), "%s;%u", files[i].name, p);
            src = get_id(NULL, &conf, id);
            in = vl_source_info(src);
            assert_int_equal(in->pages, files[i].pages);
            assert_int_equal(in->geom.width, VL_FX_RGB_W);
            assert_int_equal(in->geom.height, VL_FX_RGB_H);
            assert_int_equal(in->geom.nlevels, files[i].nlevels);
            assert_int_equal(in->geom.levels[in->geom.nlevels - 1].width,
                             files[i].last_w);
            /* level 0 is the pattern (vips keeps it as it is) */
            assert_int_equal(read_rect(src, 0, 250, 250, 20, 20, &img),
                             VL_OK);
            assert_int_equal(mismatches(&img, PAT_RGB, 0, 250, 250), 0);
            free(img.data);
            vl_source_put(NULL, src);
        }
    }
}

/* ---------------------------------------------------------------- errors */

static void
test_open_errors(void **state)
{
    vl_err_t     err = { 0 };
    vl_source_t *src;
    int          fd;

    (void) state;
    src = vl_source_open_path(vl_fx_path("not-an-image.tif"), &err);
    assert_null(src);
    assert_int_equal(err.code, VL_EFORMAT);
    assert_string_equal(err.msg, "unsupported image format");

    vl_err_clear(&err);
    src = vl_source_open_path(vl_fx_path("truncated.tif"), &err);
    assert_null(src);
    assert_true(err.code == VL_ECODEC || err.code == VL_EIO);
    assert_null(strstr(err.msg, "/"));
    print_message("truncated: %s\n", err.msg);

    vl_err_clear(&err);
    src = vl_source_open_path(vl_fx_path("no-such-file.tif"), &err);
    assert_null(src);
    assert_int_equal(err.code, VL_ENOTFOUND);

    /* JPEG 2000 magic alone: a damaged JPEG 2000 file (jp2.c) */
    fd = open(tmp_path("j.jp2"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "\0\0\0\x0cjP  \r\n\x87\n", 12), 12);
    close(fd);
    vl_err_clear(&err);
    src = vl_source_open_path(tmp_path("j.jp2"), &err);
    assert_null(src);
    assert_int_equal(err.code, VL_ECODEC);
    assert_non_null(strstr(err.msg, "JPEG 2000"));

    /* empty file */
    fd = open(tmp_path("empty.tif"), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    close(fd);
    vl_err_clear(&err);
    assert_null(vl_source_open_path(tmp_path("empty.tif"), &err));
    assert_int_equal(err.code, VL_EFORMAT);
}

/* A damaged first tile: the read fails with VL_ECODEC, the handle repeats
 * the error, and is not returned to the cache. */
static void
test_corrupt_tile(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(4);
    vl_conf_t          conf;
    vl_err_t           err = { 0 };
    vl_source_t       *src;
    vl_image_t         img;
    unsigned char      junk[2000];
    int                fd;

    (void) state;
    copy_file(vl_fx_path("rgb-deflate.tif"), tmp_path("bad.tif"));
    memset(junk, 0x5a, sizeof(junk));
    fd = open(tmp_path("bad.tif"), O_WRONLY);
    assert_true(fd >= 0);
    assert_int_equal(pwrite(fd, junk, sizeof(junk), 8), sizeof(junk));
    close(fd);

    make_conf(&conf, tmproot, NULL);
    src = vl_source_get(cache, &conf, "bad.tif", &err);
    assert_non_null(src);
    img_alloc(&img, 10, 10, 3);
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(0, 0, 10, 10), &img, &err),
                     VL_ECODEC);
    print_message("corrupt: %s\n", err.msg);
    vl_err_clear(&err);
    /* sticky, even for an intact level */
    assert_int_equal(vl_source_read(src, 2, &VL_RECT(0, 0, 10, 10), &img, &err),
                     VL_ECODEC);
    vl_source_put(cache, src);
    /* a fresh handle: the intact level reads */
    vl_err_clear(&err);
    src = vl_source_get(cache, &conf, "bad.tif", &err);
    assert_non_null(src);
    assert_int_equal(vl_source_read(src, 2, &VL_RECT(0, 0, 10, 10),
                                    &img, &err), VL_OK);
    assert_int_equal(mismatches(&img, PAT_RGB, 2, 0, 0), 0);
    free(img.data);
    vl_source_put(cache, src);
    vl_source_cache_free(cache);
}

/* ---------------------------------------------------------------- resolve */

static const struct {
    const char *id;
    vl_status_t want;
} ids[] = {
    { "rgb-deflate.tif", VL_OK },
    { "sub/dir/nested.tif", VL_OK },
    { "sub//dir/nested.tif", VL_OK },
    /* a "." segment: another name of the same file (and of a reserved
     * name), refused like ".." */
    { "sub/dir/./nested.tif", VL_ENOTFOUND },
    { "./single.tif", VL_ENOTFOUND },
    { "name with space.tif", VL_OK },
    { "a%2Fb.tif", VL_OK },
    { "missing.tif", VL_ENOTFOUND },
    { "", VL_ENOTFOUND },
    { "sub", VL_ENOTFOUND },                    /* a directory */
    { "sub/dir", VL_ENOTFOUND },
    { "../x", VL_ENOTFOUND },
    { "..", VL_ENOTFOUND },
    { "sub/../../etc/passwd", VL_ENOTFOUND },
    { "sub/dir/../../single.tif", VL_ENOTFOUND }, /* any ".." segment */
    { "/etc/passwd", VL_ENOTFOUND },
    { "//etc/passwd", VL_ENOTFOUND },
    { "not-an-image.tif", VL_EFORMAT },
    { "truncated.tif", VL_ECODEC },
};

static void
test_resolve(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(8);
    vl_conf_t          conf;

    (void) state;
    make_conf(&conf, vl_fx_path(""), NULL);
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        vl_err_t     err = { 0 };
        vl_source_t *src = vl_source_get(cache, &conf, ids[i].id, &err);

        print_message("'%s' -> %s %s\n", ids[i].id, vl_status_name(err.code),
                      err.msg);
        if (ids[i].want == VL_ECODEC) {
            assert_true(err.code == VL_ECODEC || err.code == VL_EIO);
        } else {
            assert_int_equal(err.code, ids[i].want);
        }
        assert_true((src != NULL) == (ids[i].want == VL_OK));
        assert_null(strstr(err.msg, conf.filesystem_prefix));
        vl_source_put(cache, src);
    }
    vl_source_cache_free(cache);

    /* FILESYSTEM_SUFFIX */
    make_conf(&conf, vl_fx_path(""), ".tif");
    {
        vl_err_t     err = { 0 };
        vl_source_t *src = vl_source_get(NULL, &conf, "single", &err);

        assert_non_null(src);
        assert_int_equal(vl_source_info(src)->geom.width, 333);
        vl_source_put(NULL, src);
        assert_null(vl_source_get(NULL, &conf, "single.tif", &err));
        assert_int_equal(err.code, VL_ENOTFOUND);
    }
}

static void
test_symlinks(void **state)
{
    vl_conf_t    conf;
    vl_err_t     err = { 0 };
    vl_source_t *src;
    char         target[PATH_MAX];

    (void) state;
    assert_non_null(realpath(vl_fx_path("single.tif"), target));
    unlink(tmp_path("out.tif"));
    unlink(tmp_path("in.tif"));
    unlink(tmp_path("inside.tif"));
    assert_int_equal(symlink(target, tmp_path("out.tif")), 0);
    copy_file(target, tmp_path("inside.tif"));
    assert_int_equal(symlink("inside.tif", tmp_path("in.tif")), 0);

    make_conf(&conf, tmproot, NULL);
    src = vl_source_get(NULL, &conf, "out.tif", &err);
    assert_null(src);
    assert_int_equal(err.code, VL_ENOTFOUND);
    vl_err_clear(&err);
    src = vl_source_get(NULL, &conf, "in.tif", &err);
    assert_non_null(src);
    vl_source_put(NULL, src);
}

/* ---------------------------------------------------------------- cache */

static void
test_cache_revalidation(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(2);
    vl_conf_t          conf;
    vl_err_t           err = { 0 };
    vl_source_t       *a, *b;
    struct timespec    ts[2];
    long long          mtime;

    (void) state;
    copy_file(vl_fx_path("single.tif"), tmp_path("x.tif"));
    make_conf(&conf, tmproot, NULL);

    a = vl_source_get(cache, &conf, "x.tif", &err);
    assert_non_null(a);
    assert_int_equal(vl_source_info(a)->geom.width, 333);
    mtime = vl_source_info(a)->file.mtime_ns;
    vl_source_put(cache, a);
    /* unchanged: the cached handle comes back */
    b = vl_source_get(cache, &conf, "x.tif", &err);
    assert_ptr_equal(a, b);
    vl_source_put(cache, b);

    /* touched: a new handle with the new identity */
    ts[0].tv_sec = ts[1].tv_sec = 1000000000;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, tmp_path("x.tif"), ts, 0), 0);
    b = vl_source_get(cache, &conf, "x.tif", &err);
    assert_non_null(b);
    assert_true(vl_source_info(b)->file.mtime_ns != mtime);
    assert_true(vl_source_info(b)->file.mtime_ns
                == 1000000000LL * 1000000000LL);
    vl_source_put(cache, b);

    /* replaced by another image: the new content is read */
    copy_file(vl_fx_path("grey.tif"), tmp_path("x.tif.new"));
    {
        char from[2 * PATH_MAX];

        snprintf(from, sizeof(from), "%s", tmp_path("x.tif.new"));
        assert_int_equal(rename(from, tmp_path("x.tif")), 0);
    }
    b = vl_source_get(cache, &conf, "x.tif", &err);
    assert_non_null(b);
    assert_int_equal(vl_source_info(b)->geom.width, 640);
    assert_int_equal(vl_source_info(b)->geom.bands, 1);
    {
        vl_image_t img;

        assert_int_equal(read_rect(b, 1, 3, 4, 5, 6, &img), VL_OK);
        assert_int_equal(mismatches(&img, PAT_GREY, 1, 3, 4), 0);
        free(img.data);
    }
    vl_source_put(cache, b);
    vl_source_cache_free(cache);
}

/* The resolved-path cache of the handle cache: a repeated identifier gets
 * the same handle, but a symlink (of the file or of a directory) turned to
 * a twin outside the root, with the same size and mtime, is refused, and a
 * symlink turned to another file inside is followed. */
static void
test_path_cache(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(4);
    vl_conf_t          conf;
    vl_err_t           err = { 0 };
    vl_source_t       *a, *b;
    char               root[2 * PATH_MAX], out[2 * PATH_MAX];
    char               rel[2 * PATH_MAX + 16];
    struct timespec    ts[2];

    (void) state;
    snprintf(root, sizeof(root), "%s", tmp_path("pc-root"));
    snprintf(out, sizeof(out), "%s", tmp_path("pc-out"));
    assert_int_equal(mkdir(root, 0755), 0);
    assert_int_equal(mkdir(out, 0755), 0);
    snprintf(rel, sizeof(rel), "%s/sub", root);
    assert_int_equal(mkdir(rel, 0755), 0);
    copy_file(vl_fx_path("single.tif"), tmp_path("pc-root/sub/in.tif"));
    copy_file(vl_fx_path("single.tif"), tmp_path("pc-out/in.tif"));
    copy_file(vl_fx_path("grey.tif"), tmp_path("pc-root/other.tif"));
    /* the twin outside has the same size and mtime as the inside file */
    ts[0].tv_sec = ts[1].tv_sec = 1500000000;
    ts[0].tv_nsec = ts[1].tv_nsec = 0;
    assert_int_equal(utimensat(AT_FDCWD, tmp_path("pc-root/sub/in.tif"), ts,
                               0), 0);
    assert_int_equal(utimensat(AT_FDCWD, tmp_path("pc-out/in.tif"), ts, 0),
                     0);
    assert_int_equal(symlink("sub/in.tif", tmp_path("pc-root/link.tif")), 0);
    assert_int_equal(symlink("sub", tmp_path("pc-root/dir")), 0);
    make_conf(&conf, root, NULL);

    /* repeated: the same handle, through a file and a directory link */
    a = vl_source_get(cache, &conf, "link.tif", &err);
    assert_non_null(a);
    assert_int_equal(vl_source_info(a)->geom.width, 333);
    vl_source_put(cache, a);
    b = vl_source_get(cache, &conf, "link.tif", &err);
    assert_ptr_equal(a, b);
    vl_source_put(cache, b);
    b = vl_source_get(cache, &conf, "dir/in.tif", &err);
    assert_ptr_equal(a, b);
    vl_source_put(cache, b);

    /* the file link now points outside the root: refused */
    assert_int_equal(unlink(tmp_path("pc-root/link.tif")), 0);
    snprintf(rel, sizeof(rel), "%s/in.tif", out);
    assert_int_equal(symlink(rel, tmp_path("pc-root/link.tif")), 0);
    b = vl_source_get(cache, &conf, "link.tif", &err);
    assert_null(b);
    assert_int_equal(err.code, VL_ENOTFOUND);
    vl_err_clear(&err);

    /* the directory link now points outside the root: refused */
    assert_int_equal(unlink(tmp_path("pc-root/dir")), 0);
    assert_int_equal(symlink(out, tmp_path("pc-root/dir")), 0);
    b = vl_source_get(cache, &conf, "dir/in.tif", &err);
    assert_null(b);
    assert_int_equal(err.code, VL_ENOTFOUND);
    vl_err_clear(&err);

    /* the file link now points to another file inside: that one */
    assert_int_equal(unlink(tmp_path("pc-root/link.tif")), 0);
    assert_int_equal(symlink("other.tif", tmp_path("pc-root/link.tif")), 0);
    b = vl_source_get(cache, &conf, "link.tif", &err);
    assert_non_null(b);
    assert_int_equal(vl_source_info(b)->geom.width, 640);
    vl_source_put(cache, b);

    /* the file itself is gone: not found, whatever was cached */
    assert_int_equal(unlink(tmp_path("pc-root/other.tif")), 0);
    b = vl_source_get(cache, &conf, "link.tif", &err);
    assert_null(b);
    assert_int_equal(err.code, VL_ENOTFOUND);
    vl_source_cache_free(cache);
}

static void
test_cache_checkout(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(1);
    vl_conf_t          conf;
    vl_err_t           err = { 0 };
    vl_source_t       *a, *b, *c;
    vl_image_t         ia, ib;

    (void) state;
    make_conf(&conf, vl_fx_path(""), NULL);
    a = vl_source_get(cache, &conf, "rgb-deflate.tif", &err);
    b = vl_source_get(cache, &conf, "rgb-deflate.tif", &err);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    /* both usable at once, on different levels */
    assert_int_equal(read_rect(a, 0, 250, 250, 20, 20, &ia), VL_OK);
    assert_int_equal(read_rect(b, 2, 0, 0, 30, 30, &ib), VL_OK);
    assert_int_equal(mismatches(&ia, PAT_RGB, 0, 250, 250), 0);
    free(ia.data);
    assert_int_equal(read_rect(a, 1, 0, 0, 3, 3, &ia), VL_OK);
    assert_int_equal(mismatches(&ia, PAT_RGB, 1, 0, 0), 0);
    assert_int_equal(mismatches(&ib, PAT_RGB, 2, 0, 0), 0);
    free(ia.data);
    free(ib.data);
    vl_source_put(cache, a);
    vl_source_put(cache, b);        /* evicts a: one idle handle kept */
    c = vl_source_get(cache, &conf, "rgb-deflate.tif", &err);
    assert_ptr_equal(c, b);
    vl_source_put(cache, c);
    vl_source_cache_free(cache);

    /* max 0: nothing kept, everything still works */
    cache = vl_source_cache_new(0);
    a = vl_source_get(cache, &conf, "single.tif", &err);
    assert_non_null(a);
    vl_source_put(cache, a);
    a = vl_source_get(cache, &conf, "single.tif", &err);
    assert_non_null(a);
    vl_source_put(cache, a);
    vl_source_cache_free(cache);

    /* unlimited */
    cache = vl_source_cache_new(-1);
    a = vl_source_get(cache, &conf, "single.tif", &err);
    b = vl_source_get(cache, &conf, "grey.tif", &err);
    c = vl_source_get(cache, &conf, "rgba.tif", &err);
    vl_source_put(cache, a);
    vl_source_put(cache, b);
    vl_source_put(cache, c);
    assert_ptr_equal(vl_source_get(cache, &conf, "single.tif", &err), a);
    vl_source_put(cache, a);
    vl_source_cache_free(cache);
}

/* vl_source_changed: a file written within a few tens of milliseconds
 * before the request began may still be being written (file times move
 * by the kernel's coarse tick only, so writes in one tick are invisible):
 * changed. Written earlier and untouched since: unchanged. Written while
 * the handle is held: changed. Renamed into place (ctime only): not held
 * back. */
static void
test_changed_settle(void **state)
{
    vl_source_cache_t *cache = vl_source_cache_new(2);
    vl_conf_t          conf;
    vl_err_t           err = { 0 };
    vl_source_t       *a;
    struct timespec    pause = { 0, 120 * 1000000L };
    unsigned char      byte;
    int                fd;

    (void) state;
    make_conf(&conf, tmproot, NULL);
    copy_file(vl_fx_path("single.tif"), tmp_path("w.tif"));
    /* just written: the get waits until the file is 50 ms old, then it
     * is served */
    a = vl_source_get(cache, &conf, "w.tif", &err);
    assert_non_null(a);
    {
        struct stat     st;
        struct timespec now;

        assert_int_equal(stat(tmp_path("w.tif"), &st), 0);
        clock_gettime(CLOCK_REALTIME, &now);
        assert_true((now.tv_sec - st.st_mtim.tv_sec) * 1000000000LL
                        + (now.tv_nsec - st.st_mtim.tv_nsec)
                    >= 45LL * 1000000LL);
    }
    assert_int_equal(vl_source_changed(a), 0);
    vl_source_put(cache, a);

    nanosleep(&pause, NULL);
    a = vl_source_get(cache, &conf, "w.tif", &err);
    assert_non_null(a);
    assert_int_equal(vl_source_changed(a), 0);
    /* a byte rewritten with its own value while the handle is out */
    fd = open(tmp_path("w.tif"), O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &byte, 1, 100), 1);
    nanosleep(&pause, NULL);
    assert_int_equal(pwrite(fd, &byte, 1, 100), 1);
    close(fd);
    assert_int_equal(vl_source_changed(a), 1);
    vl_source_put(cache, a);

    /* written a while ago, renamed into place now: whole, served */
    copy_file(vl_fx_path("grey.tif"), tmp_path("w.tif.new"));
    nanosleep(&pause, NULL);
    {
        char from[2 * PATH_MAX];

        snprintf(from, sizeof(from), "%s", tmp_path("w.tif.new"));
        assert_int_equal(rename(from, tmp_path("w.tif")), 0);
    }
    a = vl_source_get(cache, &conf, "w.tif", &err);
    assert_non_null(a);
    assert_int_equal(vl_source_info(a)->geom.width, 640);
    assert_int_equal(vl_source_changed(a), 0);
    vl_source_put(cache, a);
    vl_source_cache_free(cache);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_full_levels),
        cmocka_unit_test(test_crops),
        cmocka_unit_test(test_level_hopping),
        cmocka_unit_test(test_subifd_equals_multi_ifd),
        cmocka_unit_test(test_alpha_and_grey16_values),
        cmocka_unit_test(test_jpeg_tolerance),
        cmocka_unit_test(test_jpeg_tile),
        cmocka_unit_test(test_jpeg_tile_adobe),
        cmocka_unit_test(test_odd_formats),
        cmocka_unit_test(test_bad_rect),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_corrupt_tile),
        cmocka_unit_test(test_resolve),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_cache_revalidation),
        cmocka_unit_test(test_changed_settle),
        cmocka_unit_test(test_path_cache),
        cmocka_unit_test(test_cache_checkout),
        cmocka_unit_test(test_pages_book),
        cmocka_unit_test(test_pages_table),
        cmocka_unit_test(test_pages_rules),
        cmocka_unit_test(test_pages_ids),
        cmocka_unit_test(test_pages_names),
        cmocka_unit_test(test_pages_caches),
        cmocka_unit_test(test_pages_metadata),
        cmocka_unit_test(test_pages_vips),
    };

    (void) vl_fx_path("");      /* skip early without VL_FIXTURES */
    return cmocka_run_group_tests_name("tiff", tests, setup_tmp,
                                       teardown_tmp);
}
