/* SPDX-License-Identifier: MIT */
/*
 * test_fcgi_env: FastCGI parameters -> vl_http_req_t, every way a web
 * server passes a request: the IIIF= argument (nginx/Apache rewrites,
 * iipsrv's leading %2F), URI_MAP on REQUEST_URI with several entries, the
 * query cut from REQUEST_URI, methods, scheme (HTTPS, REQUEST_SCHEME), host
 * (HTTP_HOST, SERVER_NAME), forwarded headers, conditionals and the
 * IIIF_VERSION hint. The last occurrence of a parameter wins (a later
 * fastcgi_param line overrides an earlier one).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/conf.h"
#include "front/fcgi_env.h"
#include "conftest.h"

static void
assert_iiif(const vl_http_req_t *r, const char *want)
{
    if (want == NULL) {
        assert_int_equal(r->has_iiif, 0);
        return;
    }
    if (!r->has_iiif || r->iiif.len != strlen(want)
        || memcmp(r->iiif.data, want, r->iiif.len) != 0) {
        fail_msg("IIIF path '%.*s' (%d), want '%s'", (int) r->iiif.len,
                 r->iiif.data != NULL ? r->iiif.data : "", r->has_iiif,
                 want);
    }
}

static void
test_iiif_argument(void **state)
{
    static const struct {
        const char *query;
        const char *want;
    } cases[] = {
        { "IIIF=/a.tif/info.json", "/a.tif/info.json" },
        /* iipsrv's documented nginx rule: IIIF=%2F$1 (kept encoded) */
        { "IIIF=%2Fa.tif/info.json", "%2Fa.tif/info.json" },
        { "x=1&IIIF=a%2Fb.tif/full/max/0/default.jpg&y=2",
          "a%2Fb.tif/full/max/0/default.jpg" },
        { "IIIF=first&IIIF=second", "first" },
        { "IIIF=", "" },
        { "XIIIF=a", NULL },
        { "", NULL },
    };
    vl_conf_t *conf = vl_test_conf("HOME=/");

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char           qs[256];
        char          *envp[] = { "REQUEST_METHOD=GET",
                                  "REQUEST_URI=/fcgi-bin/vellum", qs, NULL };
        vl_pool_t     *pool = vl_pool_create(1024);
        vl_http_req_t  r;

        snprintf(qs, sizeof(qs), "QUERY_STRING=%s", cases[i].query);
        assert_int_equal(vl_fcgi_req_from_env(envp, conf, pool, "id", &r), 0);
        assert_iiif(&r, cases[i].want);
        assert_string_equal(r.query, cases[i].query);
        assert_string_equal(r.reqid, "id");
        vl_pool_destroy(pool);
    }
    vl_conf_free(conf);
}

static void
test_uri_map(void **state)
{
    static const struct {
        const char *map;
        const char *uri;
        const char *want;
    } cases[] = {
        { "URI_MAP=iiif=>IIIF", "/iiif/a.tif/info.json", "a.tif/info.json" },
        { "URI_MAP=iiif=>IIIF", "/iiif/a%2Fb.tif/info.json?x=1",
          "a%2Fb.tif/info.json" },
        { "URI_MAP=iiif=>IIIF", "/iiifx/a.tif/info.json", NULL },
        { "URI_MAP=iiif=>IIIF", "/other/a.tif/info.json", NULL },
        { "URI_MAP=iiif=>IIIF", "/iiif", NULL },
        /* several entries: the first that matches */
        { "URI_MAP=iiif/3=>IIIF iiif=>IIIF", "/iiif/3/a.tif/info.json",
          "a.tif/info.json" },
        { "URI_MAP=iiif/3=>IIIF iiif=>IIIF", "/iiif/a.tif/info.json",
          "a.tif/info.json" },
        { "URI_MAP=images/iiif=>IIIF,iiif=>IIIF",
          "/images/iiif/a.tif/full/max/0/default.jpg",
          "a.tif/full/max/0/default.jpg" },
        /* an empty prefix maps every path */
        { "URI_MAP==>IIIF", "/a.tif/info.json", "a.tif/info.json" },
        { "URI_MAP=", "/iiif/a.tif/info.json", NULL },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_conf_t     *conf = vl_test_conf(cases[i].map);
        char           uri[256];
        char          *envp[] = { uri, "QUERY_STRING=", NULL };
        vl_pool_t     *pool = vl_pool_create(1024);
        vl_http_req_t  r;

        snprintf(uri, sizeof(uri), "REQUEST_URI=%s", cases[i].uri);
        assert_int_equal(vl_fcgi_req_from_env(envp, conf, pool, "id", &r), 0);
        assert_iiif(&r, cases[i].want);
        /* REQUEST_URI without its query */
        assert_null(strchr(r.request_uri, '?'));
        assert_int_equal(strncmp(r.request_uri, cases[i].uri,
                                 strlen(r.request_uri)), 0);
        vl_pool_destroy(pool);
        vl_conf_free(conf);
    }
}

/* The IIIF= argument wins over URI_MAP. */
static void
test_argument_before_map(void **state)
{
    vl_conf_t     *conf = vl_test_conf("URI_MAP=iiif=>IIIF");
    char          *envp[] = { "REQUEST_URI=/iiif/x.tif/info.json?IIIF=y.tif",
                              "QUERY_STRING=IIIF=y.tif", NULL };
    vl_pool_t     *pool = vl_pool_create(1024);
    vl_http_req_t  r;

    (void) state;
    assert_int_equal(vl_fcgi_req_from_env(envp, conf, pool, "id", &r), 0);
    assert_iiif(&r, "y.tif");
    assert_string_equal(r.request_uri, "/iiif/x.tif/info.json");
    vl_pool_destroy(pool);
    vl_conf_free(conf);
}

static void
test_methods(void **state)
{
    static const struct {
        const char  *m;
        vl_method_t  want;
        const char  *name;
    } cases[] = {
        { "REQUEST_METHOD=GET", VL_METHOD_GET, "GET" },
        { "REQUEST_METHOD=HEAD", VL_METHOD_HEAD, "HEAD" },
        { "REQUEST_METHOD=OPTIONS", VL_METHOD_OPTIONS, "OPTIONS" },
        { "REQUEST_METHOD=POST", VL_METHOD_OTHER, "POST" },
        { "REQUEST_METHOD=get", VL_METHOD_OTHER, "get" },
        { "X=1", VL_METHOD_GET, "-" },
    };
    vl_conf_t *conf = vl_test_conf("HOME=/");

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char          *envp[] = { (char *) cases[i].m, NULL };
        vl_pool_t     *pool = vl_pool_create(1024);
        vl_http_req_t  r;

        assert_int_equal(vl_fcgi_req_from_env(envp, conf, pool, "id", &r), 0);
        assert_int_equal(r.method, cases[i].want);
        assert_string_equal(r.method_name, cases[i].name);
        /* no REQUEST_URI, no SCRIPT_NAME */
        assert_string_equal(r.request_uri, "/");
        assert_string_equal(r.query, "");
        vl_pool_destroy(pool);
    }
    vl_conf_free(conf);
}

static void
test_scheme_host_headers(void **state)
{
    vl_conf_t     *conf = vl_test_conf("HOME=/");
    vl_pool_t     *pool = vl_pool_create(1024);
    vl_http_req_t  r;
    char          *a[] = { "HTTPS=on", "HTTP_HOST=first",
                           "SERVER_NAME=other", "HTTP_ACCEPT=application/json",
                           "HTTP_IF_NONE_MATCH=\"abc\"",
                           "HTTP_IF_MODIFIED_SINCE=Sun, 06 Nov 1994 08:49:37 GMT",
                           "HTTP_X_IIIF_ID=https://x.org/iiif/a",
                           "HTTP_X_FORWARDED_PROTO=https",
                           "HTTP_X_FORWARDED_HOST=pub.example.org",
                           "HTTP_X_FORWARDED_PREFIX=/images",
                           "IIIF_VERSION=2", "HTTP_HOST=img.example.org:8443",
                           "SCRIPT_NAME=/fcgi-bin/vellum", NULL };
    char          *b[] = { "REQUEST_SCHEME=HTTPS", "SERVER_NAME=srv",
                           "IIIF_VERSION=4", NULL };
    char          *c[] = { "HTTPS=off", "HTTP_HOST=", "IIIF_VERSION=3", NULL };

    (void) state;
    assert_int_equal(vl_fcgi_req_from_env(a, conf, pool, "id", &r), 0);
    assert_string_equal(r.scheme, "https");
    assert_string_equal(r.host, "img.example.org:8443");
    assert_string_equal(r.accept, "application/json");
    assert_string_equal(r.if_none_match, "\"abc\"");
    assert_string_equal(r.if_modified_since, "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_string_equal(r.x_iiif_id, "https://x.org/iiif/a");
    assert_string_equal(r.fwd_proto, "https");
    assert_string_equal(r.fwd_host, "pub.example.org");
    assert_string_equal(r.fwd_prefix, "/images");
    assert_int_equal(r.version_hint, 2);
    /* no REQUEST_URI: the script's name */
    assert_string_equal(r.request_uri, "/fcgi-bin/vellum");

    assert_int_equal(vl_fcgi_req_from_env(b, conf, pool, "id", &r), 0);
    assert_string_equal(r.scheme, "https");
    assert_string_equal(r.host, "srv");
    assert_int_equal(r.version_hint, 0);
    assert_null(r.accept);
    assert_null(r.if_none_match);

    assert_int_equal(vl_fcgi_req_from_env(c, conf, pool, "id", &r), 0);
    assert_string_equal(r.scheme, "http");
    assert_string_equal(r.host, "localhost");
    assert_int_equal(r.version_hint, 3);
    vl_pool_destroy(pool);
    vl_conf_free(conf);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_iiif_argument),
        cmocka_unit_test(test_uri_map),
        cmocka_unit_test(test_argument_before_map),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_scheme_host_headers),
    };

    return cmocka_run_group_tests_name("fcgi_env", tests, NULL, NULL);
}
