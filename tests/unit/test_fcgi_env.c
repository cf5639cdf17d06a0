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

/* The access log's client: REMOTE_ADDR, or behind the site's own proxies
 * the last X-Forwarded-For hop that is not one of them; never a claim of
 * the client's own (what comes before), never text that is no address. */
static void
test_client(void **state)
{
    static const struct {
        const char *ra, *xff, *want;
    } cases[] = {
        { "203.0.113.7", NULL, "203.0.113.7" },
        { "203.0.113.7", "198.51.100.1", "203.0.113.7" },   /* not ours */
        { "127.0.0.1", NULL, "127.0.0.1" },
        { "127.0.0.1", "198.51.100.1", "198.51.100.1" },
        { "10.0.0.2", "6.6.6.6, 198.51.100.1, 10.0.0.9", "198.51.100.1" },
        { "192.168.1.1", "  2001:db8::1 ", "2001:db8::1" },
        { "::1", "198.51.100.1", "198.51.100.1" },
        { "::ffff:127.0.0.1", "198.51.100.1", "198.51.100.1" },
        { "172.16.0.1", "10.1.1.1, 192.168.0.9", "172.16.0.1" },
        { "127.0.0.1", "evil <script>", "127.0.0.1" },
        { "127.0.0.1", "", "127.0.0.1" },
        { NULL, "198.51.100.1", "-" },
        { "172.32.0.1", "198.51.100.1", "172.32.0.1" },     /* public */
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_http_req_t r;
        char          buf[64];

        memset(&r, 0, sizeof(r));
        r.remote_addr = cases[i].ra;
        r.fwd_for = cases[i].xff;
        if (strcmp(vl_fcgi_client(&r, buf, sizeof(buf)), cases[i].want) != 0) {
            fail_msg("case %zu: %s, want %s", i, buf, cases[i].want);
        }
        /* TRUSTED_PROXIES' default is the same set */
        if (strcmp(vl_fcgi_client_via(&r, VL_TRUSTED_DEFAULT, buf,
                                      sizeof(buf)), cases[i].want) != 0) {
            fail_msg("case %zu (default TRUSTED_PROXIES): %s, want %s", i,
                     buf, cases[i].want);
        }
    }
}

/* TRUSTED_PROXIES: addresses and prefixes, v4 and v6; empty trusts none,
 * so a peer's X-Forwarded-For is never honoured. */
static void
test_trusted_proxies(void **state)
{
    static const struct {
        const char *set, *ra, *xff, *want;
    } cases[] = {
        { "", "127.0.0.1", "198.51.100.1", "127.0.0.1" },
        { "203.0.113.7", "203.0.113.7", "198.51.100.1", "198.51.100.1" },
        { "203.0.113.0/24", "203.0.113.99", "198.51.100.1", "198.51.100.1" },
        { "203.0.113.0/25", "203.0.113.200", "198.51.100.1",
          "203.0.113.200" },
        { "10.0.0.0/8", "127.0.0.1", "198.51.100.1", "127.0.0.1" },
        { "2001:db8::/32, 10.0.0.1", "2001:db8:5::1", "198.51.100.1",
          "198.51.100.1" },
        { "2001:db8::/33", "2001:db8:8000::1", "198.51.100.1",
          "2001:db8:8000::1" },
        { "10.0.0.1", "::ffff:10.0.0.1", "198.51.100.1", "198.51.100.1" },
        /* hops: right to left, the first one not trusted */
        { "10.0.0.1 10.0.0.2", "10.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2",
          "198.51.100.1" },
        { "10.0.0.1", "10.0.0.1", "6.6.6.6, 198.51.100.1, 10.0.0.2",
          "10.0.0.2" },
        { "10.0.0.1/99 bogus", "10.0.0.1", "198.51.100.1", "10.0.0.1" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_http_req_t r;
        char          buf[64];

        memset(&r, 0, sizeof(r));
        r.remote_addr = cases[i].ra;
        r.fwd_for = cases[i].xff;
        if (strcmp(vl_fcgi_client_via(&r, cases[i].set, buf, sizeof(buf)),
                   cases[i].want) != 0) {
            fail_msg("case %zu: %s, want %s", i, buf, cases[i].want);
        }
    }
    assert_int_equal(vl_fcgi_addr_in("0.0.0.0/0", "8.8.8.8", 7), 1);
    assert_int_equal(vl_fcgi_addr_in("::/0", "2001:db8::1", 11), 1);
    assert_int_equal(vl_fcgi_addr_in("10.0.0.0/8", "not an address", 14),
                     0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_trusted_proxies),
        cmocka_unit_test(test_iiif_argument),
        cmocka_unit_test(test_uri_map),
        cmocka_unit_test(test_argument_before_map),
        cmocka_unit_test(test_methods),
        cmocka_unit_test(test_scheme_host_headers),
    };

    return cmocka_run_group_tests_name("fcgi_env", tests, NULL, NULL);
}
