/* SPDX-License-Identifier: MIT */
/*
 * test_route: the route table, pure. Which row every form of path takes
 * (reserved names, {id}/suffix documents, image requests by their shape
 * whatever their parameters hold, base URIs), what each captures (the
 * identifier and the four parameters, still encoded), the reserved
 * identifiers and the Allow header of a method mask.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "serve/route.h"

static void
assert_slice(vl_str_t s, const char *want, const char *what,
             const char *path)
{
    if (s.len != strlen(want) || (s.len > 0 && memcmp(s.data, want, s.len))) {
        fail_msg("%s: %s '%.*s', want '%s'", path, what, (int) s.len,
                 s.data != NULL ? s.data : "", want);
    }
}

static void
test_table(void **state)
{
    static const struct {
        const char *path;
        const char *route;
        const char *id;          /* NULL: not captured */
        const char *params[4];
    } cases[] = {
        { "collection.json", "collection", NULL, { NULL } },
        { "collection/2.json", "collection", "", { NULL } },
        { "cd/collection.json", "discovery", NULL, { NULL } },
        { "cd/pages/3.json", "discovery", NULL, { NULL } },
        { "cd/other", "reserved", NULL, { NULL } },
        { "health", "health", NULL, { NULL } },
        { "metrics", "metrics", NULL, { NULL } },
        { "a.tif/info.json", "info", "a.tif", { NULL } },
        { "a%2Fb.tif/info.json", "info", "a%2Fb.tif", { NULL } },
        { "sub/dir/a.tif/info.json", "info", "sub/dir/a.tif", { NULL } },
        { "info.json", "info", "", { NULL } },
        { "a.tif/manifest", "manifest", "a.tif", { NULL } },
        { "a.tif/manifest.json", "manifest", "a.tif", { NULL } },
        { "maps/collection.json", "collection", "maps", { NULL } },
        { "maps%2F1689/collection/12.json", "collection", "maps%2F1689",
          { NULL } },
        { "maps/1689/collection/3.json", "collection", "maps/1689",
          { NULL } },
        /* not a part: no number, or no folder before it */
        { "maps/collection/x.json", "base", "maps/collection/x.json",
          { NULL } },
        { "/collection/2.json", "base", "/collection/2.json", { NULL } },
        /* an image request by its shape */
        { "a.tif/full/max/0/default.jpg", "image", "a.tif",
          { "full", "max", "0", "default.jpg" } },
        { "a.tif/McoDV^/max/0/default.jpg", "image", "a.tif",
          { "McoDV^", "max", "0", "default.jpg" } },
        { "ID/McoDV%5E/max/0/default.jpg", "image", "ID",
          { "McoDV%5E", "max", "0", "default.jpg" } },
        { "sub/dir/a.tif/0,0,10,10/10,/90/gray.png", "image", "sub/dir/a.tif",
          { "0,0,10,10", "10,", "90", "gray.png" } },
        { "a.tif/x/y/z/default%2Ejpg", "image", "a.tif",
          { "x", "y", "z", "default%2Ejpg" } },
        /* a region form with no quality.format: still an image request */
        { "a.tif/full/max/0/default", "image", "a.tif",
          { "full", "max", "0", "default" } },
        { "/full/max/0/default.jpg", "image", "",
          { "full", "max", "0", "default.jpg" } },
        /* the base URI of an identifier */
        { "a.tif", "base", "a.tif", { NULL } },
        { "a/b/c/d/e", "base", "a/b/c/d/e", { NULL } },
        { "a/b/c/d/e.tif", "base", "a/b/c/d/e.tif", { NULL } },
        /* neither a region nor a quality: an identifier's base URI */
        { "ID/McoDV^/max/0/foo.jpg", "base", "ID/McoDV^/max/0/foo.jpg",
          { NULL } },
        { "full/max/0/default.jpg", "base", "full/max/0/default.jpg",
          { NULL } },
        { "a.tif/manifest/info.json", "info", "a.tif/manifest", { NULL } },
        { "healthy", "base", "healthy", { NULL } },
        { "cd", "base", "cd", { NULL } },
        { "", "base", "", { NULL } },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_route_match_t  m;
        int               part = strstr(cases[i].path, "collection/") != NULL
                                 && strcmp(cases[i].route, "collection") == 0;
        const vl_route_t *r = vl_route_find(vl_str_from(cases[i].path), &m);

        assert_non_null(r);
        assert_ptr_equal(m.route, r);
        if (strcmp(r->name, cases[i].route) != 0) {
            fail_msg("%s: route %s, want %s", cases[i].path, r->name,
                     cases[i].route);
        }
        assert_int_equal(r->methods & (VL_M_GET | VL_M_HEAD),
                         VL_M_GET | VL_M_HEAD);
        if (cases[i].id != NULL) {
            assert_slice(m.id, cases[i].id, "id", cases[i].path);
        }
        if (part) {
            /* the page number of a part */
            assert_true(m.part.len > 0);
            assert_true(m.part.data[0] >= '0' && m.part.data[0] <= '9');
        }
        for (int k = 0; k < 4 && cases[i].params[0] != NULL; k++) {
            assert_slice(m.params[k], cases[i].params[k], "param",
                         cases[i].path);
        }
    }
}

static void
test_reserved_ids(void **state)
{
    static const char *const yes[] = {
        "collection.json", "health", "metrics", "cd", "cd/x", "cd/pages/1",
    };
    static const char *const no[] = {
        "a.tif", "healthy", "cdx", "x/cd", "maps/health", "metrics.tif",
        "collection", "x/collection.json",
    };

    (void) state;
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (!vl_route_reserved(yes[i])) {
            fail_msg("%s is not reserved", yes[i]);
        }
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        if (vl_route_reserved(no[i])) {
            fail_msg("%s is reserved", no[i]);
        }
    }
}

static void
test_allow(void **state)
{
    (void) state;
    assert_string_equal(vl_route_allow(VL_M_READ), "GET, HEAD, OPTIONS");
    assert_string_equal(vl_route_allow(VL_M_GET), "GET");
    assert_string_equal(vl_route_allow(VL_M_GET | VL_M_OPTIONS),
                        "GET, OPTIONS");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_reserved_ids),
        cmocka_unit_test(test_allow),
    };

    return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
