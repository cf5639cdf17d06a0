/* SPDX-License-Identifier: MIT */
/*
 * test_jp2: the JPEG 2000 source backend (OpenJPEG with OpenJPH, or Grok
 * in a --with-grok build: the same cases, against OpenJPEG's own decodes)
 * on the fixtures of mkjp2 (lossless,
 * level 0 holds the fixture.h pattern): level geometry, exact crops at
 * level 0 across virtual and codestream tile edges, reduced levels against
 * OpenJPEG's own decode at that reduce factor, 16-bit scaling, alpha,
 * sub-sampled chroma, ICC profiles, decoded tiles in the tile cache, the
 * Dublin Core of an XML box, and every damaged file giving its status.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openjpeg.h>

#include "config.h"

#include "pixel/image.h"
#include "source/source.h"
#include "source/source_p.h"
#include "../fixtures/book.h"
#include "fixture.h"

static vl_source_t *
open_fx(const char *name, vl_err_t *err)
{
    return vl_source_open_path(vl_fx_path(name), err);
}

static int
have_fx(const char *name)
{
    return access(vl_fx_path(name), R_OK) == 0;
}

/* Read (x, y, w, h) of `level` into a fresh image. */
static int
read_rect(vl_pool_t *pool, vl_source_t *src, uint32_t level, uint32_t x,
          uint32_t y, uint32_t w, uint32_t h, vl_image_t *img, vl_err_t *err)
{
    int rc = vl_image_new(pool, w, h, vl_source_info(src)->geom.bands, img,
                          err);

    return rc != VL_OK ? rc : vl_source_read(src, level, &VL_RECT(x, y, w, h),
                                             img, err);
}

static void
test_geometry(void **state)
{
    static const struct {
        const char *name;
        uint32_t    w, h, nlevels, tile;
        int         bands, bits;
        const char *format;
    } cases[] = {
        { "rgb.jp2", 1001, 737, 6, 512, 3, 8, "jp2" },
        { "rgb-prec.jp2", 1001, 737, 6, 512, 3, 8, "jp2" },
        { "rgb-tiled.jp2", 1001, 737, 5, 256, 3, 8, "jp2" },
        { "grey.j2k", 640, 480, 4, 512, 1, 8, "j2k" },
        { "rgba.jp2", 300, 200, 3, 512, 4, 8, "jp2" },
        { "grey16.jp2", 256, 256, 3, 512, 1, 16, "jp2" },
        { "sub.j2k", 301, 201, 3, 512, 3, 8, "j2k" },
        { "tiny.jp2", 1, 1, 1, 512, 3, 8, "jp2" },
        /* one stored level; source.c adds 9 area-averaged ones down
         * to 196 x 1 */
        { "wide.j2k", 100000, 1, 10, 512, 1, 8, "j2k" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_err_t                err = { 0 };
        vl_source_t            *src = open_fx(cases[i].name, &err);
        const vl_source_info_t *in;

        if (src == NULL) {
            fail_msg("%s: %s", cases[i].name, err.msg);
        }
        in = vl_source_info(src);
        assert_int_equal(in->geom.width, cases[i].w);
        assert_int_equal(in->geom.height, cases[i].h);
        assert_int_equal(in->geom.nlevels, cases[i].nlevels);
        assert_int_equal(in->geom.bands, cases[i].bands);
        assert_int_equal(in->geom.has_alpha, cases[i].bands == 4);
        assert_int_equal(in->bits, cases[i].bits);
        assert_string_equal(in->format, cases[i].format);
        assert_string_equal(in->compression, "jpeg2000");
        /* one page, no XML box */
        assert_int_equal(in->pages, 1);
        assert_int_equal(in->page, 1);
        assert_null(in->title);
        assert_null(in->description);
        assert_null(in->creator);
        assert_null(in->copyright);
        assert_null(in->date);
        assert_null(in->rights);
        for (uint32_t l = 0; l < in->geom.nlevels; l++) {
            uint32_t s = 1u << l;

            assert_int_equal(in->geom.levels[l].width,
                             (cases[i].w + s - 1) / s);
            assert_int_equal(in->geom.levels[l].height,
                             (cases[i].h + s - 1) / s);
            assert_int_equal(in->geom.levels[l].tile_w, cases[i].tile);
            assert_int_equal(in->geom.levels[l].tile_h, cases[i].tile);
        }
        vl_source_put(NULL, src);
    }
}

static void
check_rgb(const char *name, const vl_image_t *img, uint32_t x0, uint32_t y0)
{
    for (uint32_t y = 0; y < img->h; y++) {
        const unsigned char *row = VL_IMAGE_ROW(img, y);

        for (uint32_t x = 0; x < img->w; x++) {
            for (int b = 0; b < 3; b++) {
                if (row[x * 3 + b] != vl_fx_rgb(x0 + x, y0 + y, 0, b)) {
                    fail_msg("%s: pixel %u,%u band %d is %u, want %u", name,
                             x0 + x, y0 + y, b, row[x * 3 + b],
                             vl_fx_rgb(x0 + x, y0 + y, 0, b));
                }
            }
        }
    }
}

/* Exact crops at level 0: tile edges (virtual 512, codestream 256), odd
 * right/bottom edges, the whole image, and repeats (cache, codec reuse). */
static void
test_level0_exact(void **state)
{
    static const char *files[] = { "rgb.jp2", "rgb-prec.jp2",
                                   "rgb-tiled.jp2", "rgb-ht.j2c",
                                   "rgb-ht-big.j2c", "rgb-ht-tiled.j2c",
                                   "rgb-ht.jp2" };
    static const uint32_t rects[][4] = {
        { 0, 0, 1001, 737 }, { 500, 500, 13, 7 }, { 255, 250, 3, 12 },
        { 990, 730, 11, 7 }, { 0, 0, 1, 1 }, { 511, 0, 2, 737 },
        { 500, 500, 13, 7 }, { 1000, 0, 1, 737 }, { 3, 700, 998, 37 },
    };

    (void) state;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        vl_err_t     err = { 0 };
        vl_source_t *src;

        if (!have_fx(files[f])) {
            print_message("skipping %s (not made: no ojph_compress)\n",
                          files[f]);
            continue;
        }
        src = open_fx(files[f], &err);
        if (src == NULL) {
            fail_msg("%s: %s", files[f], err.msg);
        }
        for (size_t i = 0; i < sizeof(rects) / sizeof(rects[0]); i++) {
            vl_pool_t *pool = vl_pool_create(4096);
            vl_image_t img;
            int        rc = read_rect(pool, src, 0, rects[i][0], rects[i][1],
                                      rects[i][2], rects[i][3], &img, &err);

            if (rc != VL_OK) {
                fail_msg("%s: %s", files[f], err.msg);
            }
            check_rgb(files[f], &img, rects[i][0], rects[i][1]);
            vl_pool_destroy(pool);
        }
        vl_source_put(NULL, src);
    }
}

/* Small windows inside codestream tiles of every column and row, at full
 * resolution and below, exact: Grok 10.0.5 decodes a window inside a tile
 * of the second column wrong (grok.c widens to whole tiles). */
static void
test_tile_windows(void **state)
{
    static const uint32_t rects[][4] = {
        { 1100, 100, 100, 100 }, { 1100, 1100, 200, 200 },
        { 100, 1100, 100, 100 }, { 2050, 1650, 50, 50 },
        { 1000, 1000, 60, 60 },  { 1500, 300, 1, 1 },
    };
    vl_err_t     err = { 0 };
    vl_source_t *src = open_fx("rgb-tiled1k.jp2", &err);

    (void) state;
    if (src == NULL) {
        fail_msg("rgb-tiled1k.jp2: %s", err.msg);
    }
    assert_int_equal(vl_source_info(src)->geom.levels[0].tile_w, 512);
    for (size_t i = 0; i < sizeof(rects) / sizeof(rects[0]); i++) {
        vl_pool_t *pool = vl_pool_create(4096);
        vl_image_t img;

        if (read_rect(pool, src, 0, rects[i][0], rects[i][1], rects[i][2],
                      rects[i][3], &img, &err)
            != VL_OK)
        {
            fail_msg("rgb-tiled1k.jp2: %s", err.msg);
        }
        check_rgb("rgb-tiled1k.jp2", &img, rects[i][0], rects[i][1]);
        vl_pool_destroy(pool);
    }
    vl_source_put(NULL, src);
}

/* Decoded virtual tiles go to the handle's tile cache: a second read of
 * the same tile is a hit with exact pixels, its neighbour a miss. */
static void
test_tile_cache(void **state)
{
    static const char *files[] = { "rgb.jp2", "rgb-prec.jp2",
                                   "rgb-tiled.jp2" };

    (void) state;
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        vl_err_t         err = { 0 };
        vl_source_t     *src = open_fx(files[i], &err);
        vl_tiles_stats_t st;
        vl_pool_t       *pool = vl_pool_create(4096);
        vl_image_t       img;
        uint32_t         ts;

        if (src == NULL) {
            fail_msg("%s: %s", files[i], err.msg);
        }
        assert_non_null(src->tiles);
        ts = vl_source_info(src)->geom.levels[0].tile_w;
        assert_int_equal(read_rect(pool, src, 0, 0, 0, 10, 10, &img, &err),
                         VL_OK);
        check_rgb(files[i], &img, 0, 0);
        vl_tiles_stats(src->tiles, &st);
        assert_int_equal(st.misses, 1);
        assert_int_equal(st.inserts, 1);
        assert_int_equal(read_rect(pool, src, 0, 7, 9, 30, 20, &img, &err),
                         VL_OK);
        check_rgb(files[i], &img, 7, 9);
        vl_tiles_stats(src->tiles, &st);
        assert_int_equal(st.hits, 1);
        assert_int_equal(st.misses, 1);
        assert_int_equal(read_rect(pool, src, 0, ts, 3, 20, 5, &img, &err),
                         VL_OK);
        check_rgb(files[i], &img, ts, 3);
        vl_tiles_stats(src->tiles, &st);
        assert_int_equal(st.hits, 1);
        assert_int_equal(st.misses, 2);
        assert_int_equal(st.inserts, 2);
        vl_pool_destroy(pool);
        vl_source_put(NULL, src);
    }
}

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16
           | (uint32_t) p[2] << 8 | p[3];
}

static void
put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
}

/* rgb.jp2 with its colr box replaced by an ICC one (method 2): the profile
 * reaches the handle's info byte for byte and the pixels do not change. */
static void
test_icc(void **state)
{
    static unsigned char in[1 << 20];
    unsigned char        icc[300], *out;
    char                 path[64];
    FILE                *f = fopen(vl_fx_path("rgb.jp2"), "rb");
    size_t               n, pos = 0, o = 0;
    int                  fd;

    (void) state;
    assert_non_null(f);
    n = fread(in, 1, sizeof(in), f);
    fclose(f);
    assert_true(n > 100 && n < sizeof(in));
    out = malloc(n + sizeof(icc) + 64);
    assert_non_null(out);
    for (size_t i = 0; i < sizeof(icc); i++) {
        icc[i] = (unsigned char) (i * 7 + 3);
    }
    vl_fx_icc_header(icc, sizeof(icc), "RGB ");     /* one vellum keeps */
    while (pos + 8 <= n) {
        uint32_t len = be32(in + pos);

        len = len == 0 ? (uint32_t) (n - pos) : len;
        assert_true(len >= 8 && pos + len <= n);
        if (memcmp(in + pos + 4, "jp2h", 4) == 0) {
            size_t start = o, p = pos + 8;

            memcpy(out + o, in + pos, 8);
            o += 8;
            while (p < pos + len) {
                uint32_t l = be32(in + p);

                if (memcmp(in + p + 4, "colr", 4) == 0) {
                    put_be32(out + o, (uint32_t) (11 + sizeof(icc)));
                    memcpy(out + o + 4, "colr\x02\x00\x00", 7);
                    memcpy(out + o + 11, icc, sizeof(icc));
                    o += 11 + sizeof(icc);
                } else {
                    memcpy(out + o, in + p, l);
                    o += l;
                }
                p += l;
            }
            put_be32(out + start, (uint32_t) (o - start));
        } else {
            memcpy(out + o, in + pos, len);
            o += len;
        }
        pos += len;
    }
    snprintf(path, sizeof(path), "/tmp/vl-test-jp2-icc-%ld.jp2",
             (long) getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, out, o), (ssize_t) o);
    close(fd);
    free(out);
    {
        vl_err_t                err = { 0 };
        vl_source_t            *src = vl_source_open_path(path, &err);
        const vl_source_info_t *info;
        vl_pool_t              *pool = vl_pool_create(4096);
        vl_image_t              img;

        unlink(path);
        if (src == NULL) {
            fail_msg("icc: %s", err.msg);
        }
        info = vl_source_info(src);
        assert_int_equal(info->icc_len, sizeof(icc));
        assert_memory_equal(info->icc, icc, sizeof(icc));
        assert_int_equal(info->geom.bands, 3);
        assert_int_equal(read_rect(pool, src, 0, 500, 300, 40, 30, &img,
                                   &err), VL_OK);
        check_rgb("icc", &img, 500, 300);
        vl_pool_destroy(pool);
        vl_source_put(NULL, src);
    }
}

/* OpenJPEG's own decode of the whole image at reduce factor r. */
static opj_image_t *
opj_full(const char *name, uint32_t r)
{
    const char       *path = vl_fx_path(name);
    opj_dparameters_t p;
    opj_codec_t      *c;
    opj_stream_t     *st;
    opj_image_t      *img = NULL;
    size_t            n = strlen(path);

    opj_set_default_decoder_parameters(&p);
    p.cp_reduce = r;
    c = opj_create_decompress(n > 4 && strcmp(path + n - 4, ".jp2") == 0
                                  ? OPJ_CODEC_JP2 : OPJ_CODEC_J2K);
    st = opj_stream_create_default_file_stream(path, OPJ_TRUE);
    if (c == NULL || st == NULL || !opj_setup_decoder(c, &p)
        || !opj_read_header(st, c, &img) || !opj_decode(c, st, img)) {
        opj_image_destroy(img);
        img = NULL;
    }
    opj_stream_destroy(st);
    opj_destroy_codec(c);
    return img;
}

/* Every reduced level, whole and as a crop, equals OpenJPEG's full decode
 * at that reduce factor (same library, lossless: exact). */
static void
test_reduced_levels(void **state)
{
    static const char *files[] = { "rgb.jp2",        "rgb-prec.jp2",
                                   "rgb-tiled.jp2",  "rgb-tiled1k.jp2",
                                   "grey.j2k",       "rgb-ht.j2c",
                                   "rgb-ht-big.j2c", "rgb-ht-tiled.j2c",
                                   "rgb-ht.jp2" };

    (void) state;
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        vl_err_t                err = { 0 };
        vl_source_t            *src;
        const vl_source_info_t *in;

        if (!have_fx(files[f])) {
            continue;
        }
        src = open_fx(files[f], &err);
        assert_non_null(src);
        in = vl_source_info(src);
        for (uint32_t l = in->geom.nlevels; l-- > 1;) {
            const vl_level_t *lv = &in->geom.levels[l];
            opj_image_t      *ref = opj_full(files[f], l);
            uint32_t          rx[2] = { 0, lv->width / 3 };
            uint32_t          ry[2] = { 0, lv->height / 4 };
            uint32_t          rw[2] = { lv->width, lv->width / 2 + 1 };
            uint32_t          rh[2] = { lv->height, lv->height / 2 + 1 };
            int               bands = in->geom.bands;

            assert_non_null(ref);
            assert_int_equal(ref->comps[0].w, lv->width);
            assert_int_equal(ref->comps[0].h, lv->height);
            for (int k = 0; k < 2; k++) {
                vl_pool_t *pool = vl_pool_create(4096);
                vl_image_t img;

                if (read_rect(pool, src, l, rx[k], ry[k], rw[k], rh[k],
                              &img, &err) != VL_OK) {
                    fail_msg("%s level %u: %s", files[f], l, err.msg);
                }
                for (uint32_t y = 0; y < rh[k]; y++) {
                    for (uint32_t x = 0; x < rw[k]; x++) {
                        for (int b = 0; b < bands; b++) {
                            OPJ_INT32 want = ref->comps[b].data
                                [(size_t) (ry[k] + y) * lv->width
                                 + rx[k] + x];

                            if (VL_IMAGE_ROW(&img, y)[x * bands + b]
                                != want) {
                                fail_msg("%s level %u: %u,%u band %d", files[f],
                                         l, rx[k] + x, ry[k] + y, b);
                            }
                        }
                    }
                }
                vl_pool_destroy(pool);
            }
            opj_image_destroy(ref);
        }
        vl_source_put(NULL, src);
    }
}

/* HTJ2K (OpenJPH's line decoder when built with it, else OpenJPEG in
 * whole codestream tiles): reads down a level, back up (the decoder
 * starts again), across tile rows and columns, and the same tile again,
 * at every level, exact against the pattern (level 0) or OpenJPEG's whole
 * decode of the level (HT code-blocks decode right when whole). This is
 * the case OpenJPEG 2.5.0 alone gets wrong: partial HT decodes come out
 * flat grey. */
static void
test_ht_orders(void **state)
{
    static const char *files[] = { "rgb-ht-big.j2c", "rgb-ht-tiled.j2c",
                                   "rgb-ht.jp2" };
    /* fractions of the level, in 1/8: x, y, w, h */
    static const uint32_t rects[][4] = {
        { 1, 6, 2, 1 }, { 0, 0, 1, 1 }, { 5, 3, 3, 2 }, { 5, 3, 3, 2 },
        { 0, 7, 8, 1 }, { 2, 1, 1, 6 }, { 0, 0, 8, 8 },
    };

    /* tile caches: the handle's own 32 MB (holds a level: the first read
     * decodes all of it), 4 MB (holds two tile rows), 1 MB (neither),
     * none */
    static const size_t caches[] = { 0, 4u << 20, 1u << 20, 1 };

    (void) state;
    for (size_t k = 0; k < sizeof(files) / sizeof(files[0]) * 4; k++) {
        size_t                  f = k / 4;
        vl_err_t                err = { 0 };
        vl_source_t            *src;
        const vl_source_info_t *in;
        vl_tile_cache_t        *own, *small = NULL;

        if (!have_fx(files[f])) {
            print_message("skipping %s (not made: no ojph_compress)\n",
                          files[f]);
            continue;
        }
        src = open_fx(files[f], &err);
        if (src == NULL) {
            fail_msg("%s: %s", files[f], err.msg);
        }
        own = src->tiles;
        if (caches[k % 4] == 1) {
            src->tiles = NULL;
        } else if (caches[k % 4] > 0) {
            small = vl_tiles_new(caches[k % 4]);
            assert_non_null(small);
            src->tiles = small;
        }
        in = vl_source_info(src);
        assert_int_equal(in->geom.width, VL_FX_BIG_W);
        assert_int_equal(in->geom.height, VL_FX_BIG_H);
        assert_true(in->geom.nlevels >= 5);
        /* the decoder each file is meant to get */
#if defined(HAVE_GROK)
        assert_non_null(strstr(src->notes[0].compression, "Grok"));
#elif defined(HAVE_OPENJPH)
        assert_non_null(strstr(src->notes[0].compression,
                               strcmp(files[f], "rgb-ht-tiled.j2c") == 0
                                   ? "whole codestream tiles"
                                   : "OpenJPH"));
#else
        assert_non_null(strstr(src->notes[0].compression,
                               "whole codestream tiles"));
#endif
        for (uint32_t l = 0; l < in->geom.nlevels; l++) {
            const vl_level_t *lv = &in->geom.levels[l];
            opj_image_t      *ref = l > 0 ? opj_full(files[f], l) : NULL;

            assert_true(l == 0 || ref != NULL);
            for (size_t i = 0; i < sizeof(rects) / sizeof(rects[0]); i++) {
                uint32_t   rx = lv->width * rects[i][0] / 8;
                uint32_t   ry = lv->height * rects[i][1] / 8;
                uint32_t   rw = lv->width * rects[i][2] / 8;
                uint32_t   rh = lv->height * rects[i][3] / 8;
                vl_pool_t *pool = vl_pool_create(4096);
                vl_image_t img;

                rw = rw == 0 ? 1 : rw;
                rh = rh == 0 ? 1 : rh;
                vl_tiles_stats_t before, after;

                vl_tiles_stats(src->tiles, &before);
                if (read_rect(pool, src, l, rx, ry, rw, rh, &img, &err)
                    != VL_OK) {
                    fail_msg("%s cache %zu level %u: %s", files[f],
                             caches[k % 4], l, err.msg);
                }
                vl_tiles_stats(src->tiles, &after);
#ifdef HAVE_OPENJPH
                /* OpenJPH with a cache that holds the level: the first
                 * read of a level decodes all of it into the cache */
                if (i == 0 && caches[k % 4] == 0
                    && strstr(src->notes[0].compression, "OpenJPH")) {
                    uint64_t grid = (lv->width + 255) / 256
                                    * ((lv->height + 255) / 256);

                    if (after.inserts - before.inserts < grid) {
                        fail_msg("%s level %u: %llu tiles cached, want %llu",
                                 files[f], l,
                                 (unsigned long long) (after.inserts
                                                       - before.inserts),
                                 (unsigned long long) grid);
                    }
                }
#endif
                if (l == 0) {
                    check_rgb(files[f], &img, rx, ry);
                }
                for (uint32_t yy = 0; ref != NULL && yy < rh; yy++) {
                    for (uint32_t xx = 0; xx < rw; xx++) {
                        for (int b = 0; b < 3; b++) {
                            OPJ_INT32 want = ref->comps[b].data
                                [(size_t) (ry + yy) * lv->width + rx + xx];

                            if (VL_IMAGE_ROW(&img, yy)[xx * 3 + b] != want) {
                                fail_msg("%s cache %zu level %u rect %zu: "
                                         "%u,%u band %d: %u, want %d",
                                         files[f], caches[k % 4], l, i,
                                         rx + xx, ry + yy, b,
                                         VL_IMAGE_ROW(&img, yy)[xx * 3 + b],
                                         want);
                            }
                        }
                    }
                }
                vl_pool_destroy(pool);
            }
            if (ref != NULL) {
                opj_image_destroy(ref);
            }
        }
        src->tiles = own;
        vl_source_put(NULL, src);
        vl_tiles_free(small);
    }
}

/* A JP2 whose cdef box swaps channels 0 and 2 around an HTJ2K codestream:
 * OpenJPH decodes the codestream only, so such files go to OpenJPEG, and
 * every level equals OpenJPEG's whole decode (red and blue swapped). */
static void
test_ht_cdef(void **state)
{
    vl_err_t                err = { 0 };
    vl_source_t            *src;
    const vl_source_info_t *in;

    (void) state;
    if (!have_fx("rgb-ht-cdef.jp2")) {
        print_message("skipping rgb-ht-cdef.jp2 (no ojph_compress)\n");
        return;
    }
    src = open_fx("rgb-ht-cdef.jp2", &err);
    if (src == NULL) {
        fail_msg("rgb-ht-cdef.jp2: %s", err.msg);
    }
    in = vl_source_info(src);
    assert_null(strstr(src->notes[0].compression, "OpenJPH"));
    for (uint32_t l = 0; l < in->geom.nlevels; l++) {
        const vl_level_t *lv = &in->geom.levels[l];
        opj_image_t      *ref = opj_full("rgb-ht-cdef.jp2", l);
        vl_pool_t        *pool = vl_pool_create(4096);
        vl_image_t        img;
        uint32_t          rx = lv->width / 3, ry = lv->height / 4;
        uint32_t          rw = lv->width / 2 + 1, rh = lv->height / 2 + 1;

        assert_non_null(ref);
        if (read_rect(pool, src, l, rx, ry, rw, rh, &img, &err) != VL_OK) {
            fail_msg("rgb-ht-cdef.jp2 level %u: %s", l, err.msg);
        }
        for (uint32_t y = 0; y < rh; y++) {
            for (uint32_t x = 0; x < rw; x++) {
                for (int b = 0; b < 3; b++) {
                    OPJ_INT32 want = ref->comps[b].data
                        [(size_t) (ry + y) * lv->width + rx + x];

                    if (VL_IMAGE_ROW(&img, y)[x * 3 + b] != want) {
                        fail_msg("rgb-ht-cdef.jp2 level %u: %u,%u band %d",
                                 l, rx + x, ry + y, b);
                    }
                }
            }
        }
        if (l == 0) {
            /* and red really is the pattern's blue */
            assert_int_equal(VL_IMAGE_ROW(&img, 0)[0],
                             vl_fx_rgb(rx, ry, 0, 2));
        }
        vl_pool_destroy(pool);
        opj_image_destroy(ref);
    }
    vl_source_put(NULL, src);
}

/* Grey, 16-bit grey (>> 8 is exact for g * 257), RGBA, sub-sampled chroma,
 * a 1x1 and a 100000x1 image, exact. */
static void
test_kinds(void **state)
{
    vl_err_t     err = { 0 };
    vl_pool_t   *pool = vl_pool_create(4096);
    vl_source_t *src;
    vl_image_t   img;

    (void) state;
    assert_non_null(src = open_fx("grey.j2k", &err));
    assert_int_equal(read_rect(pool, src, 0, 500, 100, 140, 380, &img, &err),
                     VL_OK);
    for (uint32_t y = 0; y < img.h; y++) {
        for (uint32_t x = 0; x < img.w; x++) {
            assert_int_equal(VL_IMAGE_ROW(&img, y)[x],
                             vl_fx_grey(500 + x, 100 + y, 0));
        }
    }
    vl_source_put(NULL, src);

    assert_non_null(src = open_fx("grey16.jp2", &err));
    assert_int_equal(read_rect(pool, src, 0, 0, 0, 256, 256, &img, &err),
                     VL_OK);
    for (uint32_t y = 0; y < 256; y++) {
        for (uint32_t x = 0; x < 256; x++) {
            assert_int_equal(VL_IMAGE_ROW(&img, y)[x], vl_fx_grey(x, y, 0));
        }
    }
    vl_source_put(NULL, src);

    assert_non_null(src = open_fx("rgba.jp2", &err));
    assert_int_equal(read_rect(pool, src, 0, 7, 3, 293, 197, &img, &err),
                     VL_OK);
    for (uint32_t y = 0; y < img.h; y++) {
        for (uint32_t x = 0; x < img.w; x++) {
            const unsigned char *p = VL_IMAGE_ROW(&img, y) + x * 4;

            for (int b = 0; b < 3; b++) {
                assert_int_equal(p[b], vl_fx_rgb(7 + x, 3 + y, 0, b));
            }
            assert_int_equal(p[3], vl_fx_alpha(7 + x, 3 + y));
        }
    }
    vl_source_put(NULL, src);

    /* components 1, 2 hold the pattern at even coordinates, 2x2 each */
    assert_non_null(src = open_fx("sub.j2k", &err));
    assert_int_equal(read_rect(pool, src, 0, 0, 0, 301, 201, &img, &err),
                     VL_OK);
    for (uint32_t y = 0; y < img.h; y++) {
        for (uint32_t x = 0; x < img.w; x++) {
            const unsigned char *p = VL_IMAGE_ROW(&img, y) + x * 3;

            assert_int_equal(p[0], vl_fx_rgb(x, y, 0, 0));
            assert_int_equal(p[1], vl_fx_rgb(x & ~1u, y & ~1u, 0, 1));
            assert_int_equal(p[2], vl_fx_rgb(x & ~1u, y & ~1u, 0, 2));
        }
    }
    vl_source_put(NULL, src);

    assert_non_null(src = open_fx("tiny.jp2", &err));
    assert_int_equal(read_rect(pool, src, 0, 0, 0, 1, 1, &img, &err), VL_OK);
    check_rgb("tiny.jp2", &img, 0, 0);
    vl_source_put(NULL, src);

    assert_non_null(src = open_fx("wide.j2k", &err));
    assert_int_equal(read_rect(pool, src, 0, 99000, 0, 1000, 1, &img, &err),
                     VL_OK);
    for (uint32_t x = 0; x < 1000; x++) {
        assert_int_equal(VL_IMAGE_ROW(&img, 0)[x], vl_fx_grey(99000 + x, 0, 0));
    }
    /* outside the level: refused before the backend */
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(99999, 0, 2, 1),
                                    &img, &err),
                     VL_EBADREQ);
    vl_source_put(NULL, src);
    vl_pool_destroy(pool);
}

/* MAX_LAYERS: the first layer of the 3-layer lossless file is lossy, so
 * reading through one layer differs from the pattern; all layers do not. */
static void
test_layers(void **state)
{
    vl_err_t     err = { 0 };
    vl_pool_t   *pool = vl_pool_create(4096);
    vl_source_t *src;
    vl_image_t   img;
    size_t       diff = 0;

    (void) state;
    assert_non_null(src = open_fx("rgb.jp2", &err));
    /* the handle is made by the CLI path with all layers; a one-layer
     * handle is made by hand below */
    vl_source_put(NULL, src);
    {
        vl_source_cache_t *cache = vl_source_cache_new(0);
        vl_conf_t          conf;
        char               root[4096];

        memset(&conf, 0, sizeof(conf));
        snprintf(root, sizeof(root), "%s", vl_fx_path(""));
        root[strlen(root) - 1] = '\0';
        conf.filesystem_prefix = root;
        conf.max_layers = 1;
        src = vl_source_get(cache, &conf, "rgb.jp2", &err);
        if (src == NULL) {
            fail_msg("%s", err.msg);
        }
        assert_int_equal(read_rect(pool, src, 0, 0, 0, 200, 200, &img, &err),
                         VL_OK);
        for (uint32_t y = 0; y < 200; y++) {
            for (uint32_t x = 0; x < 200; x++) {
                diff += VL_IMAGE_ROW(&img, y)[x * 3] != vl_fx_rgb(x, y, 0, 0);
            }
        }
        assert_true(diff > 0);
        vl_source_put(cache, src);
        conf.max_layers = -1;
        src = vl_source_get(cache, &conf, "rgb.jp2", &err);
        assert_non_null(src);
        assert_int_equal(read_rect(pool, src, 0, 0, 0, 200, 200, &img, &err),
                         VL_OK);
        check_rgb("rgb.jp2", &img, 0, 0);
        vl_source_put(cache, src);
        vl_source_cache_free(cache);
    }
    vl_pool_destroy(pool);
}

/* Damaged files: the status at open, else at reading every level; never a
 * crash (ASan in CI). `alt` is a second acceptable outcome where OpenJPEG
 * may or may not notice the damage. */
static void
check_text(const char *what, const char *got, const char *want)
{
    if (got == NULL || strcmp(got, want) != 0) {
        fail_msg("%s: '%s', want '%s'", what, got != NULL ? got : "(none)",
                 want);
    }
}

/* The Dublin Core of the first XML box, before or after the codestream;
 * the image itself is unchanged by the box. */
static void
test_dublin_core(void **state)
{
    const char *files[] = { "dc.jp2", "dc-end.jp2" };

    (void) state;
    for (size_t i = 0; i < 2; i++) {
        vl_err_t                err = { 0 };
        vl_source_t            *src = open_fx(files[i], &err);
        const vl_source_info_t *in;
        vl_pool_t              *pool = vl_pool_create(4096);
        vl_image_t              img;

        if (src == NULL) {
            fail_msg("%s: %s", files[i], err.msg);
        }
        in = vl_source_info(src);
        check_text("title", in->title, VL_DC_TITLE);
        check_text("description", in->description, VL_DC_DESCRIPTION);
        check_text("creator", in->creator, VL_DC_CREATOR);
        check_text("copyright", in->copyright, VL_DC_RIGHTS);
        check_text("date", in->date, VL_DC_DATE);
        /* dc:rights is a URI: the rights of info.json too */
        check_text("rights", in->rights, VL_DC_RIGHTS);
        assert_int_equal(in->pages, 1);
        assert_int_equal(in->geom.width, 64);
        assert_int_equal(in->geom.nlevels, 2);
        assert_int_equal(read_rect(pool, src, 0, 0, 0, 64, 48, &img, &err),
                         VL_OK);
        check_rgb(files[i], &img, 0, 0);
        vl_pool_destroy(pool);
        vl_source_put(NULL, src);
    }
}

/* Damaged HTJ2K that made OpenJPH 0.9 fail an assert() and abort the
 * process (tests/fuzz/regress/jp2): an error with its reason, twice, and
 * the process lives on. */
static void
test_decoder_asserts(void **state)
{
    static const char *const names[] = { "openjph-assert-num-bits",
                                         "openjph-assert-qcd-irreversible" };
    const char *top = getenv("VL_TOP_SRCDIR");

    (void) state;
    if (top == NULL) {
        skip();
    }
    for (size_t i = 0; i < 2; i++) {
        char         path[4096];
        vl_err_t     err = { 0 };
        vl_source_t *src;
        vl_pool_t   *pool = vl_pool_create(4096);

        snprintf(path, sizeof(path), "%s/tests/fuzz/regress/jp2/%s", top,
                 names[i]);
        src = vl_source_open_path(path, &err);
        if (src == NULL) {
            assert_true(err.code == VL_ECODEC || err.code == VL_EFORMAT);
            vl_pool_destroy(pool);
            continue;
        }
        /* the handle, then another handle of the same file */
        for (int k = 0; k < 2; k++) {
            vl_image_t img;

            if (k == 1) {
                vl_source_put(NULL, src);
                vl_err_clear(&err);
                src = vl_source_open_path(path, &err);
                assert_non_null(src);
            }
            vl_err_clear(&err);
            assert_int_not_equal(read_rect(pool, src, 0, 0, 0, 16, 16, &img,
                                           &err),
                                 VL_OK);
            assert_int_equal(err.code, VL_ECODEC);
            assert_true(err.msg[0] != '\0');
#if defined(HAVE_OPENJPH) && !defined(HAVE_GROK)
            /* the first time OpenJPH's check, then not OpenJPH again */
            if (strstr(err.msg, k == 0 ? "failed its check"
                                       : "failed one of its own checks on "
                                         "this file") == NULL) {
                fail_msg("read %d: %s", k, err.msg);
            }
#endif
        }
        vl_source_put(NULL, src);
        vl_pool_destroy(pool);
    }
}

static void
test_damaged(void **state)
{
    static const struct {
        const char *name;
        vl_status_t want, alt;
    } cases[] = {
        { "bad-magic.jp2", VL_EFORMAT, VL_EFORMAT },
        { "bad-siz-huge.j2k", VL_EFORMAT, VL_ECODEC },
        { "bad-siz-wide.j2k", VL_EFORMAT, VL_EFORMAT },
        { "bad-zero-comps.j2k", VL_ECODEC, VL_ECODEC },
        { "bad-trunc-20.j2k", VL_ECODEC, VL_ECODEC },
        { "bad-trunc-header.j2k", VL_ECODEC, VL_ECODEC },
        { "bad-trunc-box.jp2", VL_ECODEC, VL_ECODEC },
        { "bad-trunc-half.j2k", VL_ECODEC, VL_ECODEC },
        { "bad-trunc-half.jp2", VL_ECODEC, VL_ECODEC },
        /* OpenJPEG decodes a codestream cut at its end; Grok warns of
         * the truncation and grok.c refuses it */
        { "bad-trunc-end.j2k", VL_ECODEC, VL_OK },
        { "bad-flipped-header.j2k", VL_ECODEC, VL_EFORMAT },
        { "bad-flipped-data.j2k", VL_ECODEC, VL_OK },
        { "bad-ht-trunc.j2c", VL_ECODEC, VL_ECODEC },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_err_t     err = { 0 };
        vl_source_t *src = open_fx(cases[i].name, &err);
        int          rc = src == NULL ? (int) err.code : VL_OK;

        if (src != NULL) {
            const vl_source_info_t *in = vl_source_info(src);

            for (uint32_t l = in->geom.nlevels; l-- > 0 && rc == VL_OK;) {
                vl_pool_t *pool = vl_pool_create(4096);
                vl_image_t img;

                rc = read_rect(pool, src, l, 0, 0, in->geom.levels[l].width,
                               in->geom.levels[l].height, &img, &err);
                vl_pool_destroy(pool);
            }
            if (rc != VL_OK) {
                /* sticky: the handle repeats its error */
                vl_pool_t *pool = vl_pool_create(4096);
                vl_image_t img;
                vl_err_t   again = { 0 };

                assert_int_equal(read_rect(pool, src, 0, 0, 0, 1, 1, &img,
                                           &again), rc);
                vl_pool_destroy(pool);
            }
            vl_source_put(NULL, src);
        }
        if (rc != (int) cases[i].want && rc != (int) cases[i].alt) {
            fail_msg("%s: status %d (%s)", cases[i].name, rc, err.msg);
        }
        if (rc != VL_OK) {
            assert_true(err.msg[0] != '\0');
            assert_null(strchr(err.msg, '\n'));
            assert_null(strstr(err.msg, vl_fx_path("")));
        }
    }
}

/* The decoder a build has is the one configure chose, and --version says
 * what it means for the binary's licence; every JPEG 2000 file's levels
 * name it in `vellum info`. */
static void
test_decoder(void **state)
{
    static const char *files[] = { "rgb.jp2", "rgb-tiled.jp2", "rgb-ht.j2c" };
    const char        *d = vl_source_jp2_decoder();

    (void) state;
#ifdef HAVE_GROK
    assert_non_null(strstr(d, "Grok 10."));
    assert_non_null(strstr(d, "covered by the AGPL-3.0"));
#else
    assert_non_null(strstr(d, "OpenJPEG 2."));
    assert_null(strstr(d, "AGPL"));
#endif
    for (size_t f = 0; f < sizeof(files) / sizeof(files[0]); f++) {
        vl_err_t     err = { 0 };
        vl_source_t *src;

        if (!have_fx(files[f])) {
            continue;
        }
        if ((src = open_fx(files[f], &err)) == NULL) {
            fail_msg("%s: %s", files[f], err.msg);
        }
#ifdef HAVE_GROK
        if (strcmp(files[f], "rgb-tiled.jp2") == 0) {
            /* tiled Part 1 goes on to OpenJPEG */
            assert_null(strstr(src->notes[0].compression, "Grok"));
        } else {
            assert_non_null(strstr(src->notes[0].compression, "Grok"));
            assert_non_null(strstr(src->notes[0].compression, "AGPL-3.0"));
        }
#else
        assert_null(strstr(src->notes[0].compression, "Grok"));
#endif
        vl_source_put(NULL, src);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry),
        cmocka_unit_test(test_level0_exact),
        cmocka_unit_test(test_tile_windows),
        cmocka_unit_test(test_tile_cache),
        cmocka_unit_test(test_icc),
        cmocka_unit_test(test_reduced_levels),
        cmocka_unit_test(test_ht_orders),
        cmocka_unit_test(test_ht_cdef),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_layers),
        cmocka_unit_test(test_dublin_core),
        cmocka_unit_test(test_damaged),
        cmocka_unit_test(test_decoder_asserts),
        cmocka_unit_test(test_decoder),
    };

    vl_fx_path("");
    return cmocka_run_group_tests_name("jp2", tests, NULL, NULL);
}
