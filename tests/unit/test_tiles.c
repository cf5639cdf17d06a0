/* SPDX-License-Identifier: MIT */
/*
 * test_tiles: the per-worker decoded-tile cache (hits, LRU by bytes, off at
 * capacity 0, refcounts across eviction, identity in the key, 4 threads),
 * the TIFF source reading through it (each block decoded once), jpegdec
 * against libtiff's own JPEG decode (byte-exact), partial decodes of
 * windows against crops of whole decodes (byte-exact), and the virtual
 * levels that DCT scaling adds to a JPEG TIFF.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

#include "cache/tiles.h"
#include "core/str.h"
#include "fixture.h"
#include "proto/iiif.h"
#include "proto/plan.h"
#include "source/jpegdec.h"
#include "source/source.h"

/* ---------------------------------------------------------------- cache */

static vl_tile_key_t
key_of(uint32_t tile)
{
    vl_tile_key_t k;

    memset(&k, 0, sizeof(k));
    k.dev = 3;
    k.ino = 1234;
    k.size = 99999;
    k.mtime_ns = 1700000000123456789LL;
    k.page = 1;
    k.level = 1;
    k.tile = tile;
    k.scale = 1;
    return k;
}

/* A 10x10x3 blob (300 bytes) filled with `v`, published under tile k. */
static vl_tile_t *
put_tile(vl_tile_cache_t *c, uint32_t k, unsigned char v)
{
    vl_tile_key_t key = key_of(k);
    vl_err_t      err = { 0 };
    vl_tile_t    *t = vl_tile_new(10, 10, 3, &err);

    assert_non_null(t);
    assert_int_equal(t->len, 300);
    memset(t->data, v, t->len);
    vl_tiles_put(c, &key, t);
    return t;
}

static int
has_tile(vl_tile_cache_t *c, uint32_t k, unsigned char v)
{
    vl_tile_key_t key = key_of(k);
    vl_tile_t    *t = vl_tiles_get(c, &key);
    int           ok;

    if (t == NULL) {
        return 0;
    }
    ok = t->data[0] == v && t->data[t->len - 1] == v;
    vl_tile_release(t);
    return ok ? 1 : -1;
}

static void
test_hit_after_miss(void **state)
{
    vl_tile_cache_t *c = vl_tiles_new(1 << 20);
    vl_tile_key_t    key = key_of(7);
    vl_tiles_stats_t st;
    vl_tile_t       *t, *got;

    (void) state;
    assert_null(vl_tiles_get(c, &key));
    t = put_tile(c, 7, 42);
    got = vl_tiles_get(c, &key);
    assert_ptr_equal(got, t);
    assert_int_equal(got->w, 10);
    assert_int_equal(got->h, 10);
    assert_int_equal(got->bands, 3);
    vl_tile_release(got);
    vl_tile_release(t);
    vl_tiles_stats(c, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.inserts, 1);
    assert_int_equal(st.entries, 1);
    assert_int_equal(st.bytes, 300);
    /* another scale of the same tile is another entry */
    key.scale = 2;
    assert_null(vl_tiles_get(c, &key));
    /* and so is another sample depth: a 16-bit decode of the same block */
    key.scale = 1;
    key.depth = 2;
    assert_null(vl_tiles_get(c, &key));
    key.depth = 0;
    assert_non_null(got = vl_tiles_get(c, &key));
    vl_tile_release(got);
    {
        vl_err_t   err = { 0 };
        vl_tile_t *t16 = vl_tile_new_depth(10, 10, 3, 2, &err);

        assert_non_null(t16);
        assert_int_equal(t16->len, 600);
        assert_int_equal(t16->depth, 2);
        vl_tile_release(t16);
        assert_null(vl_tile_new_depth(10, 10, 3, 3, &err));
    }
    vl_tiles_free(c);
}

static void
test_lru_by_bytes(void **state)
{
    vl_tile_cache_t *c = vl_tiles_new(900);    /* three 300-byte blobs */
    vl_tiles_stats_t st;
    vl_err_t         err = { 0 };
    vl_tile_key_t    key = key_of(99);
    vl_tile_t       *big;

    (void) state;
    vl_tile_release(put_tile(c, 1, 1));
    vl_tile_release(put_tile(c, 2, 2));
    vl_tile_release(put_tile(c, 3, 3));
    assert_int_equal(has_tile(c, 1, 1), 1);      /* 1 is now the newest */
    vl_tile_release(put_tile(c, 4, 4));         /* evicts 2, the oldest */
    assert_int_equal(has_tile(c, 2, 2), 0);
    assert_int_equal(has_tile(c, 1, 1), 1);
    assert_int_equal(has_tile(c, 3, 3), 1);
    assert_int_equal(has_tile(c, 4, 4), 1);
    vl_tiles_stats(c, &st);
    assert_int_equal(st.evictions, 1);
    assert_int_equal(st.entries, 3);
    assert_int_equal(st.bytes, 900);
    /* order now 4, 3, 1 (newest first): a 600-byte blob evicts 1 and 3 */
    big = vl_tile_new(20, 10, 3, &err);
    assert_non_null(big);
    memset(big->data, 9, big->len);
    vl_tiles_put(c, &key, big);
    vl_tile_release(big);
    assert_int_equal(has_tile(c, 1, 1), 0);
    assert_int_equal(has_tile(c, 3, 3), 0);
    assert_int_equal(has_tile(c, 4, 4), 1);
    assert_int_equal(has_tile(c, 99, 9), 1);
    vl_tiles_stats(c, &st);
    assert_int_equal(st.evictions, 3);
    assert_int_equal(st.bytes, 900);
    /* a blob larger than the whole cache is not kept, nothing evicted */
    big = vl_tile_new(40, 10, 3, &err);
    assert_non_null(big);
    key.tile = 100;
    vl_tiles_put(c, &key, big);
    vl_tile_release(big);
    assert_null(vl_tiles_get(c, &key));
    vl_tiles_stats(c, &st);
    assert_int_equal(st.entries, 2);
    /* the same key again replaces the entry */
    vl_tile_release(put_tile(c, 4, 44));
    assert_int_equal(has_tile(c, 4, 44), 1);
    vl_tiles_stats(c, &st);
    assert_int_equal(st.entries, 2);
    assert_int_equal(st.bytes, 900);
    vl_tiles_free(c);
}

static void
test_capacity_zero(void **state)
{
    vl_tile_cache_t *c = vl_tiles_new(0);
    vl_tiles_stats_t st;

    (void) state;
    vl_tile_release(put_tile(c, 1, 1));
    assert_int_equal(has_tile(c, 1, 1), 0);
    vl_tiles_stats(c, &st);
    assert_int_equal(st.entries, 0);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.hits, 0);
    assert_int_equal(st.misses, 1);
    vl_tiles_free(c);
    /* a NULL cache: always a miss, put is a no-op */
    assert_null(vl_tiles_get(NULL, &(vl_tile_key_t) { 0 }));
    vl_tile_release(put_tile(NULL, 1, 1));
}

static void
test_refcount_survives_eviction(void **state)
{
    vl_tile_cache_t *c = vl_tiles_new(300);
    vl_tile_key_t    key = key_of(1);
    vl_tile_t       *mine, *reader;

    (void) state;
    mine = put_tile(c, 1, 77);
    vl_tile_release(mine);                  /* only the cache holds it */
    reader = vl_tiles_get(c, &key);         /* a reader takes a reference */
    assert_non_null(reader);
    vl_tile_release(put_tile(c, 2, 88));    /* evicts tile 1 */
    assert_int_equal(has_tile(c, 1, 77), 0);
    /* still alive and intact for the reader (ASan/valgrind would catch a
     * use after free here) */
    for (size_t i = 0; i < reader->len; i++) {
        assert_int_equal(reader->data[i], 77);
    }
    /* the cache may even go away first */
    vl_tiles_free(c);
    assert_int_equal(reader->data[150], 77);
    vl_tile_release(reader);
}

static void
test_identity_in_key(void **state)
{
    vl_tile_cache_t *c = vl_tiles_new(1 << 20);
    vl_tile_key_t    key = key_of(5);

    (void) state;
    vl_tile_release(put_tile(c, 5, 5));
    assert_int_equal(has_tile(c, 5, 5), 1);
    key.mtime_ns++;                         /* touched */
    assert_null(vl_tiles_get(c, &key));
    key = key_of(5);
    key.size--;                             /* rewritten */
    assert_null(vl_tiles_get(c, &key));
    key = key_of(5);
    key.ino++;                              /* replaced */
    assert_null(vl_tiles_get(c, &key));
    key = key_of(5);
    key.level = 0;
    assert_null(vl_tiles_get(c, &key));
    key = key_of(5);
    key.page = 2;                           /* another page of the file */
    assert_null(vl_tiles_get(c, &key));
    vl_tiles_free(c);
}

/* vl_tiles_forget drops every block of one identity, and only those; a
 * block a reader holds stays readable. */
static void
test_forget_file(void **state)
{
    vl_tile_cache_t *c = vl_tiles_new(1 << 20);
    vl_tile_key_t    other = key_of(9), k0 = key_of(0);
    vl_err_t         err = { 0 };
    vl_tile_t       *t = vl_tile_new(10, 10, 3, &err), *held;

    (void) state;
    for (uint32_t k = 0; k < 8; k++) {
        vl_tile_release(put_tile(c, k, (unsigned char) k));
    }
    other.ino++;                            /* another file */
    memset(t->data, 77, t->len);
    vl_tiles_put(c, &other, t);
    vl_tile_release(t);
    held = vl_tiles_get(c, &k0);
    assert_non_null(held);
    vl_tiles_forget(c, k0.dev, k0.ino, k0.size, k0.mtime_ns);
    for (uint32_t k = 0; k < 8; k++) {
        assert_int_equal(has_tile(c, k, (unsigned char) k), 0);
    }
    t = vl_tiles_get(c, &other);
    assert_non_null(t);
    assert_int_equal(t->data[0], 77);
    vl_tile_release(t);
    assert_int_equal(held->data[0], 0);
    vl_tile_release(held);
    vl_tiles_free(c);
}

#define THREADS      4
#define THREAD_OPS   3000
#define THREAD_KEYS  64

typedef struct {
    vl_tile_cache_t *cache;
    unsigned         seed;
    long             gets, bad;
} worker_t;

static void *
worker_main(void *arg)
{
    worker_t *w = arg;

    for (int i = 0; i < THREAD_OPS; i++) {
        uint32_t      k = (uint32_t) rand_r(&w->seed) % THREAD_KEYS;
        vl_tile_key_t key = key_of(k);
        vl_tile_t    *t = vl_tiles_get(w->cache, &key);

        w->gets++;
        if (t == NULL) {
            t = vl_tile_new(16, 16, 3, NULL);
            if (t == NULL) {
                w->bad++;
                continue;
            }
            memset(t->data, (int) k, t->len);
            vl_tiles_put(w->cache, &key, t);
        }
        for (size_t j = 0; j < t->len; j += 97) {
            if (t->data[j] != (unsigned char) k) {
                w->bad++;
                break;
            }
        }
        vl_tile_release(t);
    }
    return NULL;
}

static void
test_threads(void **state)
{
    vl_tile_cache_t *c = vl_tiles_new(16 * 768);    /* 16 of 64 keys fit */
    pthread_t        th[THREADS];
    worker_t         w[THREADS];
    vl_tiles_stats_t st;
    long             gets = 0;

    (void) state;
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker_t) { c, (unsigned) i * 7919u + 1u, 0, 0 };
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]),
                         0);
    }
    for (int i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
        assert_int_equal(w[i].bad, 0);
        gets += w[i].gets;
    }
    vl_tiles_stats(c, &st);
    print_message("threads: %lu hits, %lu misses, %lu evictions\n",
                  (unsigned long) st.hits, (unsigned long) st.misses,
                  (unsigned long) st.evictions);
    assert_int_equal(st.hits + st.misses, gets);
    assert_true(st.hits > 0);
    assert_true(st.bytes <= st.capacity);
    assert_int_equal(st.bytes, st.entries * 768);
    assert_true(st.inserts >= st.entries + st.evictions);
    assert_true(st.entries <= 16);
    vl_tiles_free(c);
}

/* ---------------------------------------------------------------- TIFF */

static char tmproot[PATH_MAX];

static int
setup_tmp(void **state)
{
    size_t len;

    (void) state;
    snprintf(tmproot, sizeof(tmproot), "/tmp/vl-test-tiles-");
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

static void
img_alloc(vl_image_t *img, uint32_t w, uint32_t h, int bands)
{
    memset(img, 0, sizeof(*img));
    img->w = w;
    img->h = h;
    img->bands = bands;
    img->stride = (size_t) w * bands;
    img->data = calloc((size_t) h, img->stride);
    assert_non_null(img->data);
}

/* Read the decode counter of a handle cache's tile cache while reading
 * the same rectangles twice, and overlapping strips. Deflate tiles always
 * go through the cache; JPEG tiles the rectangle covers only partly are
 * decoded in part, straight into the output, and not cached. */
static void
test_source_decodes_once(void **state)
{
    static const struct {
        const char *file;
        /* misses (= decodes), hits and inserts after each step */
        uint64_t    miss[3], hit[3], put[3];
    } cases[] = {
        /* 9 tiles, 8 partly covered; level 1: 4 tiles, 2 whole */
        { "rgb-jpeg.tif", { 9, 17, 23 }, { 0, 1, 1 }, { 1, 1, 3 } },
        { "rgb-deflate.tif", { 9, 9, 13 }, { 0, 9, 11 }, { 9, 9, 13 } },
    };
    vl_conf_t          conf;
    static char        real[PATH_MAX];

    (void) state;
    memset(&conf, 0, sizeof(conf));
    assert_non_null(realpath(vl_fx_path(""), real));
    conf.filesystem_prefix = real;
    conf.filesystem_suffix = (char *) "";
    for (size_t f = 0; f < sizeof(cases) / sizeof(cases[0]); f++) {
        vl_tile_cache_t   *tiles = vl_tiles_new(64 << 20);
        vl_source_cache_t *cache = vl_source_cache_new(4);
        vl_err_t           err = { 0 };
        vl_tiles_stats_t   st;
        vl_source_t       *src;
        vl_image_t         a, b;

        vl_source_cache_set_tiles(cache, tiles);
        src = vl_source_get(cache, &conf, cases[f].file, &err);
        assert_non_null(src);
        img_alloc(&a, 600, 600, 3);
        img_alloc(&b, 600, 600, 3);
        /* 600x600 at (100, 100) touches tiles 0..2 x 0..2 */
        assert_int_equal(vl_source_read(src, 0, &VL_RECT(100, 100, 600, 600),
                                        &a, &err),
                         VL_OK);
        vl_tiles_stats(tiles, &st);
        assert_int_equal(st.misses, cases[f].miss[0]);
        assert_int_equal(st.hits, cases[f].hit[0]);
        assert_int_equal(st.inserts, cases[f].put[0]);
        /* the same region again (through another checkout): cached tiles
         * are not decoded again, the pixels are the same */
        vl_source_put(cache, src);
        src = vl_source_get(cache, &conf, cases[f].file, &err);
        assert_non_null(src);
        assert_int_equal(vl_source_read(src, 0, &VL_RECT(100, 100, 600, 600),
                                        &b, &err),
                         VL_OK);
        vl_tiles_stats(tiles, &st);
        assert_int_equal(st.misses, cases[f].miss[1]);
        assert_int_equal(st.hits, cases[f].hit[1]);
        assert_int_equal(st.inserts, cases[f].put[1]);
        assert_memory_equal(a.data, b.data, a.stride * a.h);
        /* consecutive strips sharing a tile row */
        assert_int_equal(vl_source_read(src, 1, &VL_RECT(0, 0, 501, 200),
                                        &a, &err),
                         VL_OK);
        assert_int_equal(vl_source_read(src, 1, &VL_RECT(0, 200, 501, 169),
                                        &a, &err),
                         VL_OK);
        vl_tiles_stats(tiles, &st);
        assert_int_equal(st.misses, cases[f].miss[2]);
        assert_int_equal(st.hits, cases[f].hit[2]);
        assert_int_equal(st.inserts, cases[f].put[2]);
        free(a.data);
        free(b.data);
        vl_source_put(cache, src);
        vl_source_cache_free(cache);
        vl_tiles_free(tiles);
    }
}

/* A rectangle read with partial JPEG decodes (crop + skip) has exactly the
 * pixels of the same rectangle cut from whole decoded tiles: random
 * rectangles of the YCbCr 4:2:0 and RGB fixtures, at stored levels and at
 * the DCT-scaled virtual levels, with and without the tile cache. */
static void
test_window_equals_full(void **state)
{
    const char  *files[] = { "rgb-jpeg.tif", "rgb-jpeg-rgb.tif" };
    unsigned int seed = 20261124;
    size_t       checked = 0;

    (void) state;
    for (size_t f = 0; f < 2; f++) {
        vl_err_t     err = { 0 };
        vl_source_t *src = vl_source_open_path(vl_fx_path(files[f]), &err);
        uint32_t     nlevels;

        assert_non_null(src);
        nlevels = vl_source_info(src)->geom.nlevels;
        assert_true(nlevels >= 4);
        for (uint32_t l = 0; l < nlevels; l++) {
            const vl_level_t *lv = &vl_source_info(src)->geom.levels[l];
            vl_image_t        full;
            vl_rect_t         all = VL_RECT(0, 0, lv->width, lv->height);

            /* the whole level: every tile covered, decoded whole */
            img_alloc(&full, lv->width, lv->height, 3);
            assert_int_equal(vl_source_read(src, l, &all, &full, &err),
                             VL_OK);
            for (int k = 0; k < 40; k++) {
                uint32_t   w = 1 + (uint32_t) rand_r(&seed) % lv->width;
                uint32_t   h = 1 + (uint32_t) rand_r(&seed) % lv->height;
                uint32_t   x = (uint32_t) rand_r(&seed) % (lv->width - w + 1);
                uint32_t   y = (uint32_t) rand_r(&seed)
                               % (lv->height - h + 1);
                vl_image_t part;

                if (k < 6) {    /* at and next to tile and MCU edges */
                    static const uint32_t off[6][2] = {
                        { 0, 0 }, { 2, 0 }, { 0, 2 }, { 2, 2 },
                        { 33, 33 }, { 49, 17 },
                    };

                    x = lv->tile_w - 1 + off[k][0];
                    y = lv->tile_h - 1 + off[k][1];
                    x = x < lv->width ? x : 0;
                    y = y < lv->height ? y : 0;
                    w = lv->width - x < 7 ? lv->width - x : 7;
                    h = lv->height - y < 9 ? lv->height - y : 9;
                }
                img_alloc(&part, w, h, 3);
                assert_int_equal(vl_source_read(src, l, &VL_RECT(x, y, w, h),
                                                &part, &err),
                                 VL_OK);
                for (uint32_t r = 0; r < h; r++) {
                    assert_memory_equal(VL_IMAGE_ROW(&part, r),
                                        VL_IMAGE_ROW(&full, y + r)
                                            + (size_t) x * 3,
                                        (size_t) w * 3);
                }
                free(part.data);
                checked++;
            }
            free(full.data);
        }
        vl_source_put(NULL, src);
    }
    assert_true(checked >= 2 * 4 * 40);
}

/* libtiff's decode of tile (col, row) of directory `dir`, RGB. */
static unsigned char *
libtiff_tile(const char *path, tdir_t dir, uint32_t col, uint32_t row)
{
    TIFF          *tif = TIFFOpen(path, "r");
    unsigned char *buf;
    uint16_t       photo = 0;
    tmsize_t       n;

    assert_non_null(tif);
    assert_true(TIFFSetDirectory(tif, dir));
    TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
    if (photo == PHOTOMETRIC_YCBCR) {
        TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    buf = malloc((size_t) TIFFTileSize(tif));
    assert_non_null(buf);
    n = TIFFReadEncodedTile(tif, TIFFComputeTile(tif, col * 256, row * 256,
                                                 0, 0),
                            buf, TIFFTileSize(tif));
    assert_int_equal(n, 256 * 256 * 3);
    TIFFClose(tif);
    return buf;
}

/* jpegdec (ISLOW, fancy upsampling) gives libtiff's pixels exactly, for
 * YCbCr and RGB JPEG, interior and edge tiles. */
static void
test_jpeg_equals_libtiff(void **state)
{
    const char *files[] = { "rgb-jpeg.tif", "rgb-jpeg-rgb.tif" };
    const struct {
        tdir_t   dir;
        uint32_t col, row;
    } cases[] = { { 0, 1, 1 }, { 0, 3, 2 }, { 1, 1, 1 }, { 2, 0, 0 } };

    (void) state;
    for (size_t f = 0; f < 2; f++) {
        vl_err_t     err = { 0 };
        vl_source_t *src = vl_source_open_path(vl_fx_path(files[f]), &err);

        assert_non_null(src);
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
            const vl_level_t *lv =
                &vl_source_info(src)->geom.levels[cases[i].dir];
            uint32_t          x = cases[i].col * 256, y = cases[i].row * 256;
            uint32_t          w = lv->width - x < 256 ? lv->width - x : 256;
            uint32_t          h = lv->height - y < 256 ? lv->height - y : 256;
            unsigned char    *ref = libtiff_tile(vl_fx_path(files[f]),
                                                 cases[i].dir, cases[i].col,
                                                 cases[i].row);
            vl_image_t        img;

            assert_int_equal(lv->shrink, 1);
            img_alloc(&img, w, h, 3);
            assert_int_equal(vl_source_read(src, cases[i].dir,
                                            &VL_RECT(x, y, w, h), &img, &err),
                             VL_OK);
            for (uint32_t r = 0; r < h; r++) {
                assert_memory_equal(VL_IMAGE_ROW(&img, r),
                                    ref + (size_t) r * 256 * 3,
                                    (size_t) w * 3);
            }
            free(img.data);
            free(ref);
        }
        vl_source_put(NULL, src);
    }
}

/* vl_jpegdec_window against a crop of vl_jpegdec_decode on the raw tiles
 * (0, 0) and (1, 1) of the YCbCr and RGB fixtures, every scale, windows
 * on a grid of offsets (crop and skip at, before and after MCU rows and
 * columns); windows outside the block are refused. */
static void
test_jpegdec_window(void **state)
{
    const char *files[] = { "rgb-jpeg.tif", "rgb-jpeg-rgb.tif" };
    static const uint32_t offs[] = { 0, 1, 7, 8, 15, 16, 17, 31, 32, 33,
                                     47, 64, 100, 127, 128, 200 };
    vl_jpegdec_t *dec = vl_jpegdec_new();
    size_t        checked = 0;

    (void) state;
    assert_non_null(dec);
    for (size_t f = 0; f < 2; f++) {
        TIFF          *tif = TIFFOpen(vl_fx_path(files[f]), "r");
        uint32_t       tlen = 0;
        unsigned char *tables = NULL, *raw, *full, *part;
        uint16_t       photo = 0;

        assert_non_null(tif);
        assert_true(TIFFGetField(tif, TIFFTAG_JPEGTABLES, &tlen, &tables));
        TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &photo);
        full = malloc(256 * 256 * 3);
        part = malloc(256 * 256 * 3);
        assert_non_null(full);
        assert_non_null(part);
        for (uint32_t t = 0; t < 2; t++) {
            uint32_t index = TIFFComputeTile(tif, t * 256, t * 256, 0, 0);
            tmsize_t n = (tmsize_t) TIFFGetStrileByteCount(tif, index);

            raw = malloc((size_t) n);
            assert_non_null(raw);
            assert_int_equal(TIFFReadRawTile(tif, index, raw, n), n);
            for (unsigned sc = 1; sc <= 8; sc *= 2) {
                uint32_t side = 256 / sc;
                vl_err_t err = { 0 };

                assert_int_equal(
                    vl_jpegdec_decode(dec, tables, tlen, raw, (size_t) n, sc,
                                      photo == PHOTOMETRIC_YCBCR, 3, side,
                                      side, full, (size_t) side * 3, &err),
                    VL_OK);
                for (size_t a = 0; a < sizeof(offs) / sizeof(offs[0]); a++) {
                    for (size_t b = 0; b < sizeof(offs) / sizeof(offs[0]);
                         b++) {
                        uint32_t wx = offs[a] % side, wy = offs[b] % side;
                        uint32_t ww = (side - wx) / (1 + (uint32_t) b % 3);
                        uint32_t wh = (side - wy) / (1 + (uint32_t) a % 4);

                        ww = ww != 0 ? ww : 1;
                        wh = wh != 0 ? wh : 1;
                        memset(part, 0xa5, 256 * 256 * 3);
                        assert_int_equal(
                            vl_jpegdec_window(dec, tables, tlen, raw,
                                              (size_t) n, sc,
                                              photo == PHOTOMETRIC_YCBCR, 3,
                                              &VL_RECT(wx, wy, ww, wh), part,
                                              (size_t) ww * 3, &err),
                            VL_OK);
                        for (uint32_t r = 0; r < wh; r++) {
                            assert_memory_equal(
                                part + (size_t) r * ww * 3,
                                full + ((size_t) (wy + r) * side + wx) * 3,
                                (size_t) ww * 3);
                        }
                        checked++;
                    }
                }
                /* one pixel too far right / down: refused */
                assert_int_equal(
                    vl_jpegdec_window(dec, tables, tlen, raw, (size_t) n, sc,
                                      photo == PHOTOMETRIC_YCBCR, 3,
                                      &VL_RECT(1, 0, side, 1), part,
                                      (size_t) side * 3, &err),
                    VL_ECODEC);
                assert_int_equal(
                    vl_jpegdec_window(dec, tables, tlen, raw, (size_t) n, sc,
                                      photo == PHOTOMETRIC_YCBCR, 3,
                                      &VL_RECT(0, side - 2, 4, 3), part, 12,
                                      &err),
                    VL_ECODEC);
                assert_int_equal(
                    vl_jpegdec_window(dec, tables, tlen, raw, (size_t) n, sc,
                                      photo == PHOTOMETRIC_YCBCR, 3,
                                      &VL_RECT(0, 0, 0, 1), part, 12, &err),
                    VL_EINTERNAL);
            }
            free(raw);
        }
        free(full);
        free(part);
        TIFFClose(tif);
    }
    vl_jpegdec_free(dec);
    assert_int_equal(checked, 2 * 2 * 4 * 16 * 16);
}

/* A smooth pattern (JPEG keeps it well; a box filter and the scaled IDCT
 * agree on it up to rounding and the filters' small difference). */
static uint8_t
smooth(uint32_t x, uint32_t y, int band)
{
    double v;

    switch (band) {
    case 0: v = 128 + 100 * sin(x / 23.0) * cos(y / 31.0); break;
    case 1: v = (x + y) * 255.0 / 1737.0; break;
    default: v = 128 + 90 * sin((x + 2.0 * y) / 40.0); break;
    }
    return (uint8_t) lround(v);
}

/* A single-level 1001x737 RGB JPEG (q95, YCbCr) TIFF, tiles 256. */
static void
write_single_jpeg(const char *path)
{
    TIFF          *tif = TIFFOpen(path, "w");
    unsigned char *tile = malloc(256 * 256 * 3);

    assert_non_null(tif);
    assert_non_null(tile);
    TIFFSetField(tif, TIFFTAG_IMAGEWIDTH, 1001);
    TIFFSetField(tif, TIFFTAG_IMAGELENGTH, 737);
    TIFFSetField(tif, TIFFTAG_BITSPERSAMPLE, 8);
    TIFFSetField(tif, TIFFTAG_SAMPLESPERPIXEL, 3);
    TIFFSetField(tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    TIFFSetField(tif, TIFFTAG_TILEWIDTH, 256);
    TIFFSetField(tif, TIFFTAG_TILELENGTH, 256);
    TIFFSetField(tif, TIFFTAG_COMPRESSION, COMPRESSION_JPEG);
    TIFFSetField(tif, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_YCBCR);
    TIFFSetField(tif, TIFFTAG_JPEGQUALITY, 95);
    TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    for (uint32_t ty = 0; ty < 737; ty += 256) {
        for (uint32_t tx = 0; tx < 1001; tx += 256) {
            for (uint32_t y = 0; y < 256; y++) {
                for (uint32_t x = 0; x < 256; x++) {
                    /* padding repeats the edge, as most writers do */
                    uint32_t gx = tx + x < 1001 ? tx + x : 1000;
                    uint32_t gy = ty + y < 737 ? ty + y : 736;

                    for (int c = 0; c < 3; c++) {
                        tile[((size_t) y * 256 + x) * 3 + c] =
                            smooth(gx, gy, c);
                    }
                }
            }
            assert_true(TIFFWriteTile(tif, tile, tx, ty, 0, 0) > 0);
        }
    }
    TIFFClose(tif);
    free(tile);
}

static void
test_virtual_levels_single(void **state)
{
    static const uint32_t want[4][5] = {
        /* w, h, tile, base, shrink */
        { 1001, 737, 256, 0, 1 }, { 501, 369, 128, 0, 2 },
        { 251, 185, 64, 0, 4 },   { 126, 93, 32, 0, 8 },
    };
    char                    path[PATH_MAX + 32];
    vl_err_t                err = { 0 };
    vl_source_t            *src;
    const vl_source_info_t *in;
    uint32_t                sf[8];
    vl_image_t              full;

    (void) state;
    snprintf(path, sizeof(path), "%s/single-jpeg.tif", tmproot);
    write_single_jpeg(path);
    src = vl_source_open_path(path, &err);
    assert_non_null(src);
    in = vl_source_info(src);
    assert_int_equal(in->geom.nlevels, 4);
    for (uint32_t l = 0; l < 4; l++) {
        const vl_level_t *lv = &in->geom.levels[l];

        assert_int_equal(lv->width, want[l][0]);
        assert_int_equal(lv->height, want[l][1]);
        assert_int_equal(lv->tile_w, want[l][2]);
        assert_int_equal(lv->tile_h, want[l][2]);
        assert_int_equal(lv->base, want[l][3]);
        assert_int_equal(lv->shrink, want[l][4]);
    }
    assert_int_equal(vl_plan_scale_factors(&in->geom, sf, 8), 3);
    assert_int_equal(sf[0], 1);
    assert_int_equal(sf[1], 2);
    assert_int_equal(sf[2], 4);
    /* a virtual level is never a stored tile: no passthrough */
    assert_int_equal(vl_source_read_jpeg_tile(src, NULL, 1, 0, 0, NULL, NULL,
                                              &err),
                     VL_EUNSUPP);
    vl_err_clear(&err);

    /* each virtual level against a box filter of the decoded full level:
     * the JPEG loss cancels out; what remains is the scaled IDCT (an ideal
     * low-pass on 8x8 blocks) against the box, plus rounding. On this smooth
     * content that stays under 0.5 grey levels; 1.0 leaves room, while a
     * one-pixel shift moves the sine bands by several levels on average. */
    img_alloc(&full, 1001, 737, 3);
    assert_int_equal(vl_source_read(src, 0, &VL_RECT(0, 0, 1001, 737),
                                    &full, &err),
                     VL_OK);
    for (uint32_t l = 1; l < 4; l++) {
        uint32_t   s = want[l][4], vw = want[l][0], vh = want[l][1];
        vl_image_t img;
        double     sum = 0, edge = 0;
        size_t     n = 0, ne = 0;

        img_alloc(&img, vw, vh, 3);
        assert_int_equal(vl_source_read(src, l, &VL_RECT(0, 0, vw, vh),
                                        &img, &err),
                         VL_OK);
        for (uint32_t y = 0; y < vh; y++) {
            for (uint32_t x = 0; x < vw; x++) {
                for (int c = 0; c < 3; c++) {
                    uint32_t x1 = (x + 1) * s < 1001 ? (x + 1) * s : 1001;
                    uint32_t y1 = (y + 1) * s < 737 ? (y + 1) * s : 737;
                    double   box = 0, d;
                    unsigned k = 0;

                    for (uint32_t yy = y * s; yy < y1; yy++) {
                        for (uint32_t xx = x * s; xx < x1; xx++) {
                            box += VL_IMAGE_ROW(&full, yy)[xx * 3 + c];
                            k++;
                        }
                    }
                    d = fabs(box / k - VL_IMAGE_ROW(&img, y)[x * 3 + c]);
                    sum += d;
                    n++;
                    if (x == vw - 1 || y == vh - 1) {
                        edge += d;
                        ne++;
                    }
                }
            }
        }
        print_message("1/%u: mean abs error %.3f, last row/column %.3f\n",
                      s, sum / n, edge / ne);
        assert_true(sum / n <= 1.0);
        /* the partial last row/column is redone from the stored pixels */
        assert_true(edge / ne <= 1.0);
        /* a crop agrees with the whole-level read */
        {
            vl_image_t crop;
            vl_rect_t  corner = VL_RECT(vw - 40, vh - 30, 40, 30);

            img_alloc(&crop, 40, 30, 3);
            assert_int_equal(vl_source_read(src, l, &corner, &crop, &err),
                             VL_OK);
            for (uint32_t y = 0; y < 30; y++) {
                assert_memory_equal(VL_IMAGE_ROW(&crop, y),
                                    VL_IMAGE_ROW(&img, vh - 30 + y)
                                        + (size_t) (vw - 40) * 3,
                                    40 * 3);
            }
            free(crop.data);
        }
        free(img.data);
    }
    free(full.data);

    /* the planner uses them, and never as a stored tile */
    {
        vl_pool_t    *pool = vl_pool_create(4096);
        vl_iiif_req_t req;
        vl_limits_t   lim;
        vl_plan_t     plan;

        memset(&lim, 0, sizeof(lim));
        lim.oversample = 1.0;
        vl_str_t      uri = vl_str_from("x/full/126,/0/default.jpg");

        assert_int_equal(vl_iiif_parse(pool, uri, 3, &req, &err), VL_OK);
        assert_int_equal(vl_plan_build(pool, &req, &in->geom, &lim, &plan,
                                       &err),
                         VL_OK);
        assert_int_equal(plan.level, 3);
        assert_int_equal(plan.lw, 126);
        assert_int_equal(plan.lh, 93);
        assert_int_equal(plan.out_w, 126);
        assert_int_equal(plan.is_stored_tile, 0);
        vl_pool_destroy(pool);
    }
    vl_source_put(NULL, src);
}

/* The multi-level fixture gains virtual levels only below its last stored
 * level; deflate fixtures gain none. */
static void
test_virtual_levels_fixture(void **state)
{
    static const uint32_t want[6][4] = {
        { 1001, 737, 256, 1 }, { 501, 369, 256, 1 }, { 251, 185, 256, 1 },
        { 126, 93, 128, 2 },   { 63, 47, 64, 4 },    { 32, 24, 32, 8 },
    };
    vl_err_t     err = { 0 };
    vl_source_t *src = vl_source_open_path(vl_fx_path("rgb-jpeg.tif"), &err);

    (void) state;
    assert_non_null(src);
    assert_int_equal(vl_source_info(src)->geom.nlevels, 6);
    for (uint32_t l = 0; l < 6; l++) {
        const vl_level_t *lv = &vl_source_info(src)->geom.levels[l];

        assert_int_equal(lv->width, want[l][0]);
        assert_int_equal(lv->height, want[l][1]);
        assert_int_equal(lv->tile_w, want[l][2]);
        assert_int_equal(lv->shrink, want[l][3]);
        assert_int_equal(lv->base, l < 3 ? l : 2);
    }
    vl_source_put(NULL, src);
    src = vl_source_open_path(vl_fx_path("rgb-deflate.tif"), &err);
    assert_non_null(src);
    assert_int_equal(vl_source_info(src)->geom.nlevels, 3);
    vl_source_put(NULL, src);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hit_after_miss),
        cmocka_unit_test(test_lru_by_bytes),
        cmocka_unit_test(test_capacity_zero),
        cmocka_unit_test(test_refcount_survives_eviction),
        cmocka_unit_test(test_identity_in_key),
        cmocka_unit_test(test_forget_file),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_source_decodes_once),
        cmocka_unit_test(test_jpeg_equals_libtiff),
        cmocka_unit_test(test_window_equals_full),
        cmocka_unit_test(test_jpegdec_window),
        cmocka_unit_test(test_virtual_levels_single),
        cmocka_unit_test(test_virtual_levels_fixture),
    };

    TIFFSetWarningHandler(NULL);
    return cmocka_run_group_tests_name("tiles", tests, setup_tmp,
                                       teardown_tmp);
}
