/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the IIIF request parser: every valid form of API 2.1 and
 * 3.0 with the parsed fields checked, identifiers with raw and encoded
 * slashes, and a table of malformed requests that must all be 400.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "proto/iiif.h"

typedef struct {
    const char       *path;
    int               version;
    vl_iiif_kind_t    kind;
    const char       *id;
    vl_region_kind_t  rk;
    uint32_t          rx, ry, rw, rh;
    double            px, py, pw, ph;
    vl_size_kind_t    sk;
    int               up, v2full;
    uint32_t          sw, sh;
    double            pct;
    int               mirror;
    double            deg;
    vl_quality_t      q;
    vl_format_t       f;
} valid_case_t;

#define V(p, v) .path = (p), .version = (v)

static const valid_case_t valid[] = {
    /* kinds */
    { V("abc/info.json", 3), .kind = VL_IIIF_INFO, .id = "abc" },
    { V("/abc/info.json", 2), .kind = VL_IIIF_INFO, .id = "abc" },
    { V("a/b/c.tif/info.json", 3), .kind = VL_IIIF_INFO, .id = "a/b/c.tif" },
    { V("a%2Fb.tif/info.json", 3), .kind = VL_IIIF_INFO, .id = "a/b.tif" },
    { V("abc", 3), .kind = VL_IIIF_BASE, .id = "abc" },
    { V("a/b.tif", 3), .kind = VL_IIIF_BASE, .id = "a/b.tif" },
    { V("a%2Fb.tif", 2), .kind = VL_IIIF_BASE, .id = "a/b.tif" },
    /* four trailing segments, the last quality.format: an image request
     * (a bad region there is a 400, in test_bad), whatever the id holds */
    { V("a/b/c/d/e/full/max/0/default.jpg", 3), .id = "a/b/c/d/e" },
    /* five segments, the last no quality.format, the second no region:
     * an identifier */
    { V("a/b/c/d/e", 3), .kind = VL_IIIF_BASE, .id = "a/b/c/d/e" },
    { V("a/b/c/d/e.tif", 3), .kind = VL_IIIF_BASE, .id = "a/b/c/d/e.tif" },
    { V("coll/maps/1689/box/sheet1.tif", 2), .kind = VL_IIIF_BASE,
      .id = "coll/maps/1689/box/sheet1.tif" },
    /* a file name that starts with a dot is a name */
    { V(".hidden.tif/info.json", 3), .kind = VL_IIIF_INFO,
      .id = ".hidden.tif" },
    /* only four segments: no identifier left, so the whole path is one */
    { V("full/max/0/default.jpg", 3), .kind = VL_IIIF_BASE,
      .id = "full/max/0/default.jpg" },

    /* regions */
    { V("id/full/max/0/default.jpg", 3), .id = "id" },
    { V("id/square/max/0/default.jpg", 3), .id = "id",
      .rk = VL_REGION_SQUARE },
    { V("id/0,0,256,256/max/0/default.jpg", 3), .id = "id",
      .rk = VL_REGION_PX, .rw = 256, .rh = 256 },
    { V("id/125,15,120,140/max/0/default.jpg", 2), .id = "id",
      .rk = VL_REGION_PX, .rx = 125, .ry = 15, .rw = 120, .rh = 140 },
    { V("id/007,0,1,1/max/0/default.jpg", 3), .id = "id",
      .rk = VL_REGION_PX, .rx = 7, .rw = 1, .rh = 1 },
    { V("id/pct:41.6,7.5,40,70/max/0/default.jpg", 3), .id = "id",
      .rk = VL_REGION_PCT, .px = 41.6, .py = 7.5, .pw = 40, .ph = 70 },
    { V("id/pct:0,0,100,100/full/0/default.jpg", 2), .id = "id",
      .rk = VL_REGION_PCT, .pw = 100, .ph = 100, .v2full = 1 },
    { V("id/pct:0.5,0.25,150,0.125/max/0/default.jpg", 3), .id = "id",
      .rk = VL_REGION_PCT, .px = 0.5, .py = 0.25, .pw = 150, .ph = 0.125 },
    { V("id/pct%3A10,10,50,50/max/0/default.jpg", 3), .id = "id",
      .rk = VL_REGION_PCT, .px = 10, .py = 10, .pw = 50, .ph = 50 },
    { V("id/0%2C0%2C10%2C20/max/0/default.jpg", 3), .id = "id",
      .rk = VL_REGION_PX, .rw = 10, .rh = 20 },

    /* sizes, 3.0 */
    { V("id/full/max/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_MAX },
    { V("id/full/^max/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_MAX,
      .up = 1 },
    { V("id/full/150,/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_W,
      .sw = 150 },
    { V("id/full/^150,/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_W,
      .up = 1, .sw = 150 },
    { V("id/full/,150/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_H,
      .sh = 150 },
    { V("id/full/^,150/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_H,
      .up = 1, .sh = 150 },
    { V("id/full/pct:50/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_PCT,
      .pct = 50 },
    { V("id/full/pct:100/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_PCT,
      .pct = 100 },
    { V("id/full/pct:12.5/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_PCT,
      .pct = 12.5 },
    { V("id/full/^pct:120/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_PCT,
      .up = 1, .pct = 120 },
    { V("id/full/225,100/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_WH,
      .sw = 225, .sh = 100 },
    { V("id/full/^360,360/0/default.jpg", 3), .id = "id", .sk = VL_SIZE_WH,
      .up = 1, .sw = 360, .sh = 360 },
    { V("id/full/!225,100/0/default.jpg", 3), .id = "id",
      .sk = VL_SIZE_CONFINED, .sw = 225, .sh = 100 },
    { V("id/full/^!225,100/0/default.jpg", 3), .id = "id",
      .sk = VL_SIZE_CONFINED, .up = 1, .sw = 225, .sh = 100 },
    { V("id/full/%5E!225%2C100/0/default.jpg", 3), .id = "id",
      .sk = VL_SIZE_CONFINED, .up = 1, .sw = 225, .sh = 100 },
    { V("id/full/%21225,100/0/default.jpg", 3), .id = "id",
      .sk = VL_SIZE_CONFINED, .sw = 225, .sh = 100 },

    /* sizes, 2.1 */
    { V("id/full/full/0/default.jpg", 2), .id = "id", .sk = VL_SIZE_MAX,
      .v2full = 1 },
    { V("id/full/max/0/default.jpg", 2), .id = "id", .sk = VL_SIZE_MAX },
    { V("id/full/150,/0/default.jpg", 2), .id = "id", .sk = VL_SIZE_W,
      .sw = 150 },
    { V("id/full/,150/0/default.jpg", 2), .id = "id", .sk = VL_SIZE_H,
      .sh = 150 },
    { V("id/full/pct:50/0/default.jpg", 2), .id = "id", .sk = VL_SIZE_PCT,
      .pct = 50 },
    { V("id/full/pct:150/0/default.jpg", 2), .id = "id", .sk = VL_SIZE_PCT,
      .pct = 150 },
    { V("id/full/225,100/0/default.jpg", 2), .id = "id", .sk = VL_SIZE_WH,
      .sw = 225, .sh = 100 },
    { V("id/full/!225,100/0/default.jpg", 2), .id = "id",
      .sk = VL_SIZE_CONFINED, .sw = 225, .sh = 100 },

    /* rotations */
    { V("id/full/max/90/default.jpg", 3), .id = "id", .deg = 90 },
    { V("id/full/max/180/default.jpg", 2), .id = "id", .deg = 180 },
    { V("id/full/max/270/default.jpg", 3), .id = "id", .deg = 270 },
    { V("id/full/max/360/default.jpg", 3), .id = "id", .deg = 360 },
    { V("id/full/max/22.5/default.jpg", 3), .id = "id", .deg = 22.5 },
    { V("id/full/max/0.5/default.jpg", 3), .id = "id", .deg = 0.5 },
    /* decimals read as strtod reads them: the double nearest */
    { V("id/full/max/0.3/default.jpg", 3), .id = "id", .deg = 0.3 },
    { V("id/full/max/0.0249456666666627041/default.jpg", 3), .id = "id",
      .deg = 0.0249456666666627041 },
    { V("id/full/max/12.345678901234567/default.jpg", 3), .id = "id",
      .deg = 12.345678901234567 },
    { V("id/full/max/360.0/default.jpg", 3), .id = "id", .deg = 360 },
    { V("id/full/max/!0/default.jpg", 3), .id = "id", .mirror = 1 },
    { V("id/full/max/!90/default.jpg", 2), .id = "id", .mirror = 1,
      .deg = 90 },
    { V("id/full/max/!22.5/default.jpg", 3), .id = "id", .mirror = 1,
      .deg = 22.5 },
    { V("id/full/max/%2190/default.jpg", 3), .id = "id", .mirror = 1,
      .deg = 90 },

    /* qualities and formats */
    { V("id/full/max/0/color.png", 3), .id = "id", .q = VL_QUALITY_COLOR,
      .f = VL_FORMAT_PNG },
    { V("id/full/max/0/gray.png", 3), .id = "id", .q = VL_QUALITY_GRAY,
      .f = VL_FORMAT_PNG },
    { V("id/full/max/0/bitonal.jpg", 3), .id = "id",
      .q = VL_QUALITY_BITONAL, .f = VL_FORMAT_JPG },
    { V("id/full/max/0/default%2Ejpg", 3), .id = "id" },
    { V("id/full/full/0/native.jpg", 2), .id = "id", .v2full = 1,
      .q = VL_QUALITY_NATIVE },
    { V("id/full/full/0/color.png", 2), .id = "id", .v2full = 1,
      .q = VL_QUALITY_COLOR, .f = VL_FORMAT_PNG },
    { V("id/full/full/0/bitonal.jpg", 2), .id = "id", .v2full = 1,
      .q = VL_QUALITY_BITONAL },

    /* identifiers */
    { V("a%2Fb%2Fc.tif/full/max/0/default.jpg", 3), .id = "a/b/c.tif" },
    { V("a/b/c.tif/full/max/0/default.jpg", 3), .id = "a/b/c.tif" },
    { V("/a/b/c.tif/full/max/0/default.jpg", 3), .id = "a/b/c.tif" },
    { V("a%252Fb.tif/full/max/0/default.jpg", 3), .id = "a%2Fb.tif" },
    { V("my%20map.tif/full/max/0/default.jpg", 3), .id = "my map.tif" },
    { V("caf%C3%A9.tif/full/max/0/default.jpg", 3), .id = "caf\xc3\xa9.tif" },
    { V("a.b.tif/full/max/0/default.jpg", 3), .id = "a.b.tif" },
    { V("12/34/5/6/7/full/max/0/default.jpg", 3), .id = "12/34/5/6/7" },
    { V("full/full/max/0/default.jpg", 3), .id = "full" },
    { V("info.json/full/max/0/default.jpg", 3), .id = "info.json" },
};

static void
test_valid(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
        const valid_case_t *c = &valid[i];
        vl_pool_t          *pool = vl_pool_create(4096);
        vl_iiif_req_t       req;
        vl_err_t            err = { 0 };
        int                 rc;

        assert_non_null(pool);
        rc = vl_iiif_parse(pool, vl_str_from(c->path), c->version, &req,
                           &err);
        if (rc != VL_OK) {
            print_error("case %zu '%s': %s\n", i, c->path, err.msg);
        }
        assert_int_equal(rc, VL_OK);
        assert_int_equal(req.version, c->version);
        assert_int_equal(req.kind, c->kind);
        assert_string_equal(req.id, c->id);
        assert_int_equal(req.id_len, strlen(c->id));
        if (c->kind != VL_IIIF_IMAGE) {
            vl_pool_destroy(pool);
            continue;
        }
        assert_int_equal(req.region.kind, c->rk);
        if (c->rk == VL_REGION_PX) {
            assert_int_equal(req.region.x, c->rx);
            assert_int_equal(req.region.y, c->ry);
            assert_int_equal(req.region.w, c->rw);
            assert_int_equal(req.region.h, c->rh);
        }
        if (c->rk == VL_REGION_PCT) {
            assert_true(req.region.px == c->px);
            assert_true(req.region.py == c->py);
            assert_true(req.region.pw == c->pw);
            assert_true(req.region.ph == c->ph);
        }
        assert_int_equal(req.size.kind, c->sk);
        assert_int_equal(req.size.upscale, c->up);
        assert_int_equal(req.size.v2_full, c->v2full);
        if (c->sk == VL_SIZE_W || c->sk == VL_SIZE_WH
            || c->sk == VL_SIZE_CONFINED)
        {
            assert_int_equal(req.size.w, c->sw);
        }
        if (c->sk == VL_SIZE_H || c->sk == VL_SIZE_WH
            || c->sk == VL_SIZE_CONFINED)
        {
            assert_int_equal(req.size.h, c->sh);
        }
        if (c->sk == VL_SIZE_PCT) {
            assert_true(req.size.pct == c->pct);
        }
        assert_int_equal(req.rotation.mirror, c->mirror);
        assert_true(req.rotation.degrees == c->deg);
        assert_int_equal(req.quality, c->q);
        assert_int_equal(req.format, c->f);
        vl_pool_destroy(pool);
    }
}

/* The raw identifier is kept as sent, for building URIs. */
static void
test_id_raw(void **state)
{
    vl_pool_t     *pool = vl_pool_create(4096);
    vl_iiif_req_t  req;
    vl_err_t       err = { 0 };

    (void) state;
    assert_int_equal(vl_iiif_parse(pool,
                                   vl_str_from("a%2Fb.tif/0,0,1,1/max/0/"
                                               "default.jpg"),
                                   3, &req, &err), VL_OK);
    assert_int_equal(req.id_raw.len, strlen("a%2Fb.tif"));
    assert_memory_equal(req.id_raw.data, "a%2Fb.tif", req.id_raw.len);
    assert_int_equal(req.kind, VL_IIIF_IMAGE);
    vl_pool_destroy(pool);
}

typedef struct {
    const char *path;
    int         version;
    const char *reason;         /* must appear in the message */
} bad_case_t;

static const bad_case_t bad[] = {
    /* identifiers */
    { "//full/max/0/default.jpg", 3, "empty identifier" },
    { "info.json", 3, "empty identifier" },
    { "/info.json", 3, "empty identifier" },
    { "", 3, "empty identifier" },
    { "a%00b/full/max/0/default.jpg", 3, "percent" },
    { "a%00b", 3, "percent" },
    { "a%00b/info.json", 3, "percent" },
    { "a%G1/full/max/0/default.jpg", 3, "percent" },
    { "a%4/full/max/0/default.jpg", 3, "percent" },
    { "a%/info.json", 3, "percent" },
    { "%2Fetc%2Fpasswd/full/max/0/default.jpg", 3, "identifier" },
    { "a//b/full/max/0/default.jpg", 3, "identifier" },
    { "a%2F%2Fb/info.json", 3, "identifier" },
    { "a%2F/full/max/0/default.jpg", 3, "identifier" },
    { "a/", 3, "identifier" },
    /* "." segments: another name of the same file */
    { ".", 3, "identifier" },
    { "./a.tif/info.json", 3, "identifier" },
    { ".%2Fhealth/info.json", 3, "identifier" },
    { "a/./b.tif/full/max/0/default.jpg", 3, "identifier" },
    { "a/.", 3, "identifier" },
    /* regions: the shape makes it an image request, so a 400 */
    { "id/McoDV^/max/0/default.jpg", 3, "invalid region" },
    { "a/x/max/0/default.jpg", 3, "invalid region" },
    { "id/0,0,0,10/max/0/default.jpg", 3, "region" },
    { "id/0,0,10,0/max/0/default.jpg", 3, "region" },
    { "id/0,0,10/max/0/default.jpg", 3, "region" },
    { "id/0,0,10,10,10/max/0/default.jpg", 3, "region" },
    { "id/0,-1,10,10/max/0/default.jpg", 3, "region" },
    { "id/0,0,10.5,10/max/0/default.jpg", 3, "region" },
    { "id/0,0,,10/max/0/default.jpg", 3, "region" },
    { "id/0a,0,10,10/max/0/default.jpg", 3, "region" },
    { "id/0,0,10,99999999999/max/0/default.jpg", 3, "region" },
    { "id/fullx/max/0/default.jpg", 3, "region" },
    { "id/full%20/max/0/default.jpg", 3, "region" },
    { "id/squares/max/0/default.jpg", 3, "region" },
    { "id/pct:/max/0/default.jpg", 3, "region" },
    { "id/pct:0,0,0,50/max/0/default.jpg", 3, "region" },
    { "id/pct:0,0,50,0.0/max/0/default.jpg", 3, "region" },
    { "id/pct:-1,0,50,50/max/0/default.jpg", 3, "region" },
    { "id/pct:1e1,0,50,50/max/0/default.jpg", 3, "region" },
    { "id/pct:.5,0,50,50/max/0/default.jpg", 3, "region" },
    { "id/pct:5.,0,50,50/max/0/default.jpg", 3, "region" },
    { "id/pct:0,0,50,50,1/max/0/default.jpg", 3, "region" },
    { "id/pct:0,0,50/max/0/default.jpg", 3, "region" },
    { "id/pct:1.2.3,0,50,50/max/0/default.jpg", 3, "region" },
    /* sizes */
    { "id/full/full/0/default.jpg", 3, "size" },
    { "id/full/^full/0/default.jpg", 3, "size" },
    { "id/full/^max/0/default.jpg", 2, "size" },
    { "id/full/^100,/0/default.jpg", 2, "size" },
    { "id/full/0,/0/default.jpg", 3, "size" },
    { "id/full/,0/0/default.jpg", 3, "size" },
    { "id/full/0,0/0/default.jpg", 3, "size" },
    { "id/full/10,0/0/default.jpg", 2, "size" },
    { "id/full/,/0/default.jpg", 3, "size" },
    { "id/full//0/default.jpg", 3, "size" },
    { "id/full/!10,/0/default.jpg", 3, "size" },
    { "id/full/!,10/0/default.jpg", 3, "size" },
    { "id/full/!0,10/0/default.jpg", 3, "size" },
    { "id/full/!!10,10/0/default.jpg", 3, "size" },
    { "id/full/^^10,10/0/default.jpg", 3, "size" },
    { "id/full/!^10,10/0/default.jpg", 3, "size" },
    { "id/full/pct:0/0/default.jpg", 3, "size" },
    { "id/full/pct:/0/default.jpg", 3, "size" },
    { "id/full/pct:101/0/default.jpg", 3, "size" },
    { "id/full/pct:-5/0/default.jpg", 3, "size" },
    { "id/full/pct:5,5/0/default.jpg", 3, "size" },
    { "id/full/10,10,10/0/default.jpg", 3, "size" },
    { "id/full/-10,/0/default.jpg", 3, "size" },
    { "id/full/10.5,/0/default.jpg", 3, "size" },
    { "id/full/maxx/0/default.jpg", 3, "size" },
    { "id/full/Max/0/default.jpg", 3, "size" },
    { "id/full/+10,/0/default.jpg", 3, "size" },
    /* rotations */
    { "id/full/max/0abc/default.jpg", 3, "invalid rotation '0abc'" },
    { "id/full/max/-90/default.jpg", 3, "rotation" },
    { "id/full/max/360.5/default.jpg", 3, "rotation" },
    { "id/full/max/361/default.jpg", 3, "rotation" },
    { "id/full/max/1e2/default.jpg", 3, "rotation" },
    { "id/full/max/+90/default.jpg", 3, "rotation" },
    { "id/full/max/%2090/default.jpg", 3, "rotation" },
    { "id/full/max/90./default.jpg", 3, "rotation" },
    { "id/full/max/.5/default.jpg", 3, "rotation" },
    { "id/full/max//default.jpg", 3, "rotation" },
    { "id/full/max/!/default.jpg", 3, "rotation" },
    { "id/full/max/!!90/default.jpg", 3, "rotation" },
    { "id/full/max/90!/default.jpg", 2, "rotation" },
    { "id/full/max/0x10/default.jpg", 3, "rotation" },
    { "id/full/max/nan/default.jpg", 3, "rotation" },
    { "id/full/max/inf/default.jpg", 3, "rotation" },
    { "id/full/max/%2B90/default.jpg", 3, "rotation" },
    { "id/full/max/9e1/default.jpg", 3, "rotation" },
    { "id/full/max/90%20/default.jpg", 3, "rotation" },
    { "id/pct:1e1,0,10,10/max/0/default.jpg", 3, "region" },
    { "id/pct:0x1,0,10,10/max/0/default.jpg", 3, "region" },
    { "id/pct:+1,0,10,10/max/0/default.jpg", 3, "region" },
    { "id/pct:%201,0,10,10/max/0/default.jpg", 3, "region" },
    { "id/pct:nan,0,10,10/max/0/default.jpg", 3, "region" },
    { "id/full/pct:1e2/0/default.jpg", 3, "size" },
    { "id/full/pct:+50/0/default.jpg", 3, "size" },
    { "id/full/pct:%2050/0/default.jpg", 3, "size" },
    { "id/full/pct:inf/0/default.jpg", 3, "size" },
    { "id/full/pct:0x32/0/default.jpg", 3, "size" },
    /* qualities and formats */
    { "id/full/max/0/native.jpg", 3, "quality" },
    { "id/full/max/0/grey.jpg", 3, "quality" },
    { "id/full/max/0/Default.jpg", 3, "quality" },
    { "id/full/max/0/.jpg", 3, "quality" },
    { "id/full/max/0/default", 3, "format" },
    { "id/full/max/0/default.", 3, "format" },
    { "id/full/max/0/default.jpeg", 3, "format" },
    { "id/full/max/0/default.JPG", 3, "format" },
    { "id/full/max/0/default.bmp", 3, "format" },
    { "id/full/max/0/default.jpg.png", 3, "quality" },
    /* parameter segments with broken escapes */
    { "id/full/max/0/default%2.jpg", 3, "percent" },
    { "id/full/m%zzax/0/default.jpg", 3, "percent" },
    { "id/full/max/0/default%00.jpg", 3, "percent" },
};

/* ".." in an identifier, raw or encoded: 404 "not found" (nothing to
 * find there), never a 400 that tells the identifier was understood. */
static void
test_dotdot(void **state)
{
    static const char *const paths[] = {
        "..%2Fetc%2Fpasswd/full/max/0/default.jpg",
        "../etc/passwd/full/max/0/default.jpg",
        "a/../../b/info.json",
        "%2E%2E/x/info.json",
        "..",
        "a%2F..%2Fb",
    };

    (void) state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        vl_pool_t     *pool = vl_pool_create(4096);
        vl_iiif_req_t  req;
        vl_err_t       err = { 0 };

        assert_non_null(pool);
        assert_int_equal(vl_iiif_parse(pool, vl_str_from(paths[i]), 3, &req,
                                       &err), VL_ENOTFOUND);
        assert_string_equal(err.msg, "not found");
        vl_pool_destroy(pool);
    }
}

static void
test_bad(void **state)
{
    (void) state;
    assert_true(sizeof(bad) / sizeof(bad[0]) >= 56);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vl_pool_t     *pool = vl_pool_create(4096);
        vl_iiif_req_t  req;
        vl_err_t       err = { 0 };
        int            rc;

        assert_non_null(pool);
        rc = vl_iiif_parse(pool, vl_str_from(bad[i].path), bad[i].version,
                           &req, &err);
        if (rc != VL_EBADREQ || strstr(err.msg, bad[i].reason) == NULL) {
            print_error("case %zu '%s' v%d: rc %d msg '%s'\n", i,
                        bad[i].path, bad[i].version, rc, err.msg);
        }
        assert_int_equal(rc, VL_EBADREQ);
        assert_int_equal(err.code, VL_EBADREQ);
        assert_non_null(strstr(err.msg, bad[i].reason));
        assert_null(strchr(err.msg, '\n'));
        vl_pool_destroy(pool);
    }
}

/* The reason names the parameter and shows the bad value, bounded. */
static void
test_reason(void **state)
{
    vl_pool_t     *pool = vl_pool_create(4096);
    vl_iiif_req_t  req;
    vl_err_t       err = { 0 };
    char           path[512];

    (void) state;
    assert_int_equal(vl_iiif_parse(pool,
                                   vl_str_from("id/full/max/0/default.bmp"),
                                   3, &req, &err), VL_EBADREQ);
    assert_string_equal(err.msg, "unsupported format 'bmp'");

    vl_err_clear(&err);
    memset(path, 0, sizeof(path));
    strcpy(path, "id/full/max/");
    memset(path + strlen(path), '9', 300);
    strcat(path, "/default.jpg");
    assert_int_equal(vl_iiif_parse(pool, vl_str_from(path), 3, &req, &err),
                     VL_EBADREQ);
    assert_non_null(strstr(err.msg, "invalid rotation '999"));
    assert_true(strlen(err.msg) < 80);
    vl_pool_destroy(pool);
}

/* Every IIIF format name parses when the format table has a row for it,
 * and is the one "unsupported format" 400 when it has none (unknown or
 * compiled out). */
static void
test_formats(void **state)
{
    static const struct {
        const char *ext;
        vl_format_t f;
    } iiif[] = {
        { "jpg", VL_FORMAT_JPG }, { "png", VL_FORMAT_PNG },
        { "webp", VL_FORMAT_WEBP }, { "tif", VL_FORMAT_TIF },
        { "gif", VL_FORMAT_GIF }, { "pdf", VL_FORMAT_PDF },
        { "jp2", VL_FORMAT_JP2 },
    };
    vl_pool_t *pool = vl_pool_create(4096);

    (void) state;
    assert_true(vl_format_supported(VL_FORMAT_JPG));
    assert_true(vl_format_supported(VL_FORMAT_PNG));
    for (size_t i = 0; i < sizeof(iiif) / sizeof(iiif[0]); i++) {
        vl_iiif_req_t req;
        vl_err_t      err = { 0 };
        char          path[64], msg[64];
        int           rc;

        snprintf(path, sizeof(path), "id/full/max/0/default.%s",
                 iiif[i].ext);
        rc = vl_iiif_parse(pool, vl_str_from(path), 3, &req, &err);
        if (vl_format_supported(iiif[i].f)) {
            assert_int_equal(rc, VL_OK);
            assert_int_equal(req.format, iiif[i].f);
            assert_string_equal(vl_format_ext(iiif[i].f), iiif[i].ext);
        } else {
            assert_int_equal(rc, VL_EBADREQ);
            snprintf(msg, sizeof(msg), "unsupported format '%s'",
                     iiif[i].ext);
            assert_string_equal(err.msg, msg);
            assert_string_equal(vl_format_ext(iiif[i].f), "");
            assert_string_equal(vl_format_mime(iiif[i].f),
                                "application/octet-stream");
        }
    }
    vl_pool_destroy(pool);
}

static void
test_names(void **state)
{
    (void) state;
    assert_string_equal(vl_format_ext(VL_FORMAT_JPG), "jpg");
    assert_string_equal(vl_format_ext(VL_FORMAT_PNG), "png");
    assert_string_equal(vl_format_mime(VL_FORMAT_JPG), "image/jpeg");
    assert_string_equal(vl_format_mime(VL_FORMAT_PNG), "image/png");
    assert_string_equal(vl_quality_name(VL_QUALITY_DEFAULT), "default");
    assert_string_equal(vl_quality_name(VL_QUALITY_COLOR), "color");
    assert_string_equal(vl_quality_name(VL_QUALITY_GRAY), "gray");
    assert_string_equal(vl_quality_name(VL_QUALITY_BITONAL), "bitonal");
    assert_string_equal(vl_quality_name(VL_QUALITY_NATIVE), "native");
}

/* vl_iiif_is_page: the rule of source/'s page split, the delimiter then
 * digits only at the end (a page number vellum refuses is a page too: the
 * identifier is a 404, never a file). */
static void
test_is_page(void **state)
{
    static const struct {
        const char *id, *delim;
        int         want;
    } cases[] = {
        { "scan;2", ";", 1 },         { "book.tif;12", ";", 1 },
        { "scan;0", ";", 1 },         { "scan;02", ";", 1 },
        { "a;1;2", ";", 1 },          { "c;99999999999", ";", 1 },
        { ";2", ";", 1 },             { "d/scan;2", ";", 1 },
        { "scan", ";", 0 },           { "scan2", ";", 0 },
        { "scan;", ";", 0 },          { "scan;x", ";", 0 },
        { "scan;2a", ";", 0 },        { "scan;2.tif", ";", 0 },
        { "2", ";", 0 },              { "", ";", 0 },
        { "scan;2", "", 0 },          { "scan;2", NULL, 0 },
        { "b_p3", "_p", 1 },          { "b_p", "_p", 0 },
        { "b_3", "_p", 0 },           { "b::7", "::", 1 },
        { "b:7", "::", 0 },
        /* a delimiter that ends in a digit: its last digit is not the
         * page's */
        { "x-v27", "-v2", 1 },        { "x-v2", "-v2", 0 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (vl_iiif_is_page(cases[i].id, cases[i].delim) != cases[i].want) {
            fail_msg("'%s' with '%s': not %d", cases[i].id,
                     cases[i].delim != NULL ? cases[i].delim : "(null)",
                     cases[i].want);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_id_raw),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_dotdot),
        cmocka_unit_test(test_reason),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_is_page),
    };

    return cmocka_run_group_tests_name("iiif", tests, NULL, NULL);
}
