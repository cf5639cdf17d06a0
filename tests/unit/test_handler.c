/* SPDX-License-Identifier: MIT */
/*
 * test_handler: the whole request path in-process (no FastCGI). Crafted
 * vl_http_req_t go through vl_handle over the fixtures in $VL_FIXTURES:
 * routes, statuses, headers, info.json fields (parsed back with jansson),
 * conditional requests, and pixel checks of PNG outputs (libpng).
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
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <png.h>

#include "core/conf.h"
#include "core/metrics.h"
#include "serve/serve.h"
#include "serve/http.h"
#include "fixture.h"

#define CTX2 "http://iiif.io/api/image/2/context.json"
#define CTX3 "http://iiif.io/api/image/3/context.json"
#define HOST "http://example.org/iiif/"

/* one application per configuration under test */
enum { APP_DEFAULT, APP_NOUP, APP_BASE, APP_NOCORS, APP_SMALL,
       APP_OVERSAMPLE, APP_RESERVED, APP_NOTILES, APP_COUNT };

static vl_app_t  *apps[APP_COUNT];
static vl_conf_t *confs[APP_COUNT];
static char       root[4096];
/* an image root holding files named like the reserved names */
static char       reserved_root[] = "/tmp/vl-test-reserved-XXXXXX";

static void
copy_file(const char *from, const char *to)
{
    assert_int_equal(vl_fx_copy(from, to), 0);
}

static const char *const reserved_files[] = {
    "health.tif", "metrics.tif", "collection.json.tif", "cd/x.tif",
    "cd.tif", "ok.tif", "cdx.tif", "healthy.tif", NULL
};

typedef struct {
    vl_pool_t     *pool;
    vl_http_req_t  req;
    vl_http_resp_t resp;
} hx_t;

static int
group_setup(void **state)
{
    static const char *extra[APP_COUNT] = {
        [APP_DEFAULT] = NULL,
        [APP_NOUP] = "ALLOW_UPSCALING=0",
        [APP_BASE] = "BASE_URL=https://images.example.org/iiif",
        [APP_NOCORS] = "CORS=",
        [APP_SMALL] = "MAX_CVT=300",
        [APP_OVERSAMPLE] = "LEVEL_OVERSAMPLE=4",
        [APP_RESERVED] = "FILESYSTEM_SUFFIX=.tif",
        [APP_NOTILES] = "MAX_IMAGE_CACHE_SIZE=0",
    };
    char prefix[4200], rprefix[200], path[4200];

    (void) state;
    snprintf(root, sizeof(root), "%s", vl_fx_path(""));
    if (root[0] != '\0' && root[strlen(root) - 1] == '/') {
        root[strlen(root) - 1] = '\0';
    }
    snprintf(prefix, sizeof(prefix), "FILESYSTEM_PREFIX=%s", root);
    if (mkdtemp(reserved_root) == NULL) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/cd", reserved_root);
    if (mkdir(path, 0755) != 0) {
        return -1;
    }
    for (int i = 0; reserved_files[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s/%s", reserved_root,
                 reserved_files[i]);
        copy_file(vl_fx_path("single.tif"), path);
    }
    snprintf(rprefix, sizeof(rprefix), "FILESYSTEM_PREFIX=%s",
             reserved_root);
    for (int i = 0; i < APP_COUNT; i++) {
        char    *envp[4] = { prefix, "LOGFILE=stderr", NULL, NULL };
        vl_err_t err = { 0 };

        if (i == APP_RESERVED) {
            envp[0] = rprefix;
        }
        envp[2] = (char *) extra[i];
        confs[i] = vl_conf_load_env(NULL, envp, NULL, &err);
        if (confs[i] == NULL) {
            fprintf(stderr, "conf: %s\n", err.msg);
            return -1;
        }
        apps[i] = vl_app_new(confs[i], &err);
        if (apps[i] == NULL) {
            fprintf(stderr, "app: %s\n", err.msg);
            return -1;
        }
    }
    return 0;
}

static int
group_teardown(void **state)
{
    char path[200];

    (void) state;
    for (int i = 0; i < APP_COUNT; i++) {
        vl_app_free(apps[i]);
        vl_conf_free(confs[i]);
    }
    for (int i = 0; reserved_files[i] != NULL; i++) {
        snprintf(path, sizeof(path), "%s/%s", reserved_root,
                 reserved_files[i]);
        unlink(path);
    }
    snprintf(path, sizeof(path), "%s/cd", reserved_root);
    rmdir(path);
    rmdir(reserved_root);
    return 0;
}

/* A GET of "/iiif/" + path on http://example.org. */
static void
hx_init(hx_t *x, const char *path)
{
    memset(x, 0, sizeof(*x));
    x->pool = vl_pool_create(8192);
    assert_non_null(x->pool);
    x->req.method = VL_METHOD_GET;
    x->req.method_name = "GET";
    if (path != NULL) {
        x->req.iiif = vl_str_from(path);
        x->req.has_iiif = 1;
        x->req.request_uri = vl_pool_printf(x->pool, "/iiif/%s", path);
    } else {
        x->req.request_uri = "/";
    }
    x->req.query = "";
    x->req.scheme = "http";
    x->req.host = "example.org";
    x->req.reqid = "test";
    vl_http_resp_init(&x->resp);
}

static void
hx_run(hx_t *x, int app)
{
    vl_handle(apps[app], &x->req, &x->resp, x->pool);
}

static void
hx_done(hx_t *x)
{
    vl_pool_destroy(x->pool);
}

static const char *
hx_header(const hx_t *x, const char *name)
{
    return vl_http_header_get(&x->resp, name);
}

static void
assert_header(const hx_t *x, const char *name, const char *want)
{
    const char *v = hx_header(x, name);

    if (v == NULL || strcmp(v, want) != 0) {
        fail_msg("%s: got \"%s\", want \"%s\"", name, v ? v : "(none)", want);
    }
}

/* One status for a GET of path on app. */
static int
status_of(int app, const char *path)
{
    hx_t x;
    int  st;

    hx_init(&x, path);
    hx_run(&x, app);
    st = x.resp.status;
    hx_done(&x);
    return st;
}

static json_t *
hx_json(const hx_t *x)
{
    json_error_t je;
    json_t      *doc;

    assert_non_null(x->resp.body);
    doc = json_loadb((const char *) x->resp.body, x->resp.body_len,
                     JSON_PRESERVE_ORDER, &je);
    if (doc == NULL) {
        fail_msg("info.json does not parse: %s", je.text);
    }
    return doc;
}

static const char *
jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    assert_true(json_is_string(v));
    return json_string_value(v);
}

static long long
jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    assert_true(json_is_integer(v));
    return json_integer_value(v);
}

/* The array of strings equals want[0..n). */
static void
assert_strings(json_t *arr, const char *const *want, size_t n)
{
    assert_true(json_is_array(arr));
    assert_int_equal(json_array_size(arr), n);
    for (size_t i = 0; i < n; i++) {
        json_t *v = json_array_get(arr, i);

        assert_true(json_is_string(v));
        assert_string_equal(json_string_value(v), want[i]);
    }
}

static int
has_string(json_t *arr, const char *s)
{
    size_t  i;
    json_t *v;

    json_array_foreach(arr, i, v) {
        if (json_is_string(v) && strcmp(json_string_value(v), s) == 0) {
            return 1;
        }
    }
    return 0;
}

static long long
fixture_mtime(const char *name)
{
    struct stat st;

    assert_int_equal(stat(vl_fx_path(name), &st), 0);
    return (long long) st.st_mtime;
}

/* Decoded PNG body: 8-bit, bands as stored (1-4). */
typedef struct {
    uint32_t       w, h;
    int            bands;
    unsigned char *px;
} png_pix_t;

static void
png_decode(const hx_t *x, png_pix_t *out)
{
    png_image img;

    memset(&img, 0, sizeof(img));
    img.version = PNG_IMAGE_VERSION;
    assert_int_equal(x->resp.status, 200);
    assert_string_equal(hx_header(x, "Content-Type"), "image/png");
    assert_true(png_image_begin_read_from_memory(&img, x->resp.body,
                                                 x->resp.body_len) != 0);
    out->bands = (int) PNG_IMAGE_PIXEL_CHANNELS(img.format);
    img.format = out->bands == 1 ? PNG_FORMAT_GRAY
                 : out->bands == 2 ? PNG_FORMAT_GA
                 : out->bands == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_RGBA;
    out->w = img.width;
    out->h = img.height;
    out->px = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(out->px);
    assert_true(png_image_finish_read(&img, NULL, out->px, 0, NULL) != 0);
}

static uint8_t
png_at(const png_pix_t *p, uint32_t x, uint32_t y, int band)
{
    return p->px[((size_t) y * p->w + x) * (size_t) p->bands + (size_t) band];
}

/* ------------------------------------------------------------ routes */

static void
test_options(void **state)
{
    hx_t x;

    (void) state;
    hx_init(&x, "rgb-deflate.tif/info.json");
    x.req.method = VL_METHOD_OPTIONS;
    hx_run(&x, APP_DEFAULT);
    assert_int_equal(x.resp.status, 204);
    assert_header(&x, "Access-Control-Allow-Origin", "*");
    assert_header(&x, "Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    assert_header(&x, "Access-Control-Allow-Headers",
                  "Accept, If-None-Match, If-Modified-Since");
    assert_header(&x, "Access-Control-Max-Age", "86400");
    assert_int_equal(x.resp.body_len, 0);
    hx_done(&x);
}

static void
test_method_not_allowed(void **state)
{
    hx_t x;

    (void) state;
    hx_init(&x, "rgb-deflate.tif/info.json");
    x.req.method = VL_METHOD_OTHER;
    x.req.method_name = "POST";
    hx_run(&x, APP_DEFAULT);
    assert_int_equal(x.resp.status, 405);
    assert_header(&x, "Allow", "GET, HEAD, OPTIONS");
    assert_header(&x, "Access-Control-Allow-Origin", "*");
    assert_null(hx_header(&x, "Cache-Control"));
    hx_done(&x);
}

static void
test_no_iiif(void **state)
{
    hx_t x;

    (void) state;
    hx_init(&x, NULL);
    hx_run(&x, APP_DEFAULT);
    assert_int_equal(x.resp.status, 400);
    assert_int_equal(x.resp.body_len, strlen("no IIIF request\n"));
    assert_memory_equal(x.resp.body, "no IIIF request\n", x.resp.body_len);
    assert_non_null(x.resp.errmsg);
    hx_done(&x);
}

static void
test_base_redirect(void **state)
{
    hx_t x;

    (void) state;
    hx_init(&x, "rgb-deflate.tif");
    hx_run(&x, APP_DEFAULT);
    assert_int_equal(x.resp.status, 303);
    assert_header(&x, "Location", HOST "rgb-deflate.tif/info.json");
    hx_done(&x);

    hx_init(&x, "sub%2Fdir%2Fnested.tif");
    hx_run(&x, APP_BASE);
    assert_int_equal(x.resp.status, 303);
    assert_header(&x, "Location", "https://images.example.org/iiif/"
                  "sub%2Fdir%2Fnested.tif/info.json");
    hx_done(&x);
}

/* An identifier that holds what a URI cannot (a front that decoded the
 * path, a client that sent raw bytes) is escaped in the 303's Location
 * and in info.json's id, '?' and '#' too; escapes as sent are kept
 * (fuzz_describe found the raw space). */
static void
test_id_uri_escaped(void **state)
{
    static const struct {
        const char *path, *uri, *want;
    } cases[] = {
        /* the front decoded "%20": the path and REQUEST_URI say ' ' */
        { "name with space.tif", "/iiif/name with space.tif",
          HOST "name%20with%20space.tif" },
        /* REQUEST_URI as sent, the path decoded by the front */
        { "name with space.tif", "/iiif/name%20with%20space.tif",
          HOST "name%20with%20space.tif" },
        { "q\"<x>`{|}^\\.tif", "/iiif/q\"<x>`{|}^\\.tif",
          HOST "q%22%3Cx%3E%60%7B%7C%7D%5E%5C.tif" },
        { "caf\xc3\xa9\t.tif", "/iiif/caf\xc3\xa9\t.tif",
          HOST "caf%C3%A9%09.tif" },
        { "a%2Fb?c#d.tif", "/iiif/a%2Fb?c#d.tif", HOST "a%2Fb%3Fc%23d.tif" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t x;
        char loc[512];

        hx_init(&x, cases[i].path);
        x.req.request_uri = cases[i].uri;
        hx_run(&x, APP_DEFAULT);
        assert_int_equal(x.resp.status, 303);
        snprintf(loc, sizeof(loc), "%s/info.json", cases[i].want);
        assert_header(&x, "Location", loc);
        hx_done(&x);
    }
    /* info.json of a file whose name has spaces, path decoded */
    {
        hx_t    x;
        json_t *doc;

        hx_init(&x, "name with space.tif/info.json");
        x.req.request_uri = "/iiif/name with space.tif/info.json";
        hx_run(&x, APP_DEFAULT);
        assert_int_equal(x.resp.status, 200);
        doc = hx_json(&x);
        assert_string_equal(jstr(doc, "id"), HOST "name%20with%20space.tif");
        json_decref(doc);
        hx_done(&x);
    }
}

/* ------------------------------------------------------------ info.json */

static void
test_info_v3(void **state)
{
    static const char *const features[] = {
        "regionByPct", "regionByPx", "regionSquare", "sizeByW", "sizeByH",
        "sizeByPct", "sizeByWh", "sizeByConfinedWh", "sizeUpscaling",
        "rotationBy90s", "rotationArbitrary", "mirroring", "baseUriRedirect",
        "cors", "jsonldMediaType", "profileLinkHeader", "canonicalLinkHeader"
    };
    static const char *const qualities[] = { "color", "gray", "bitonal" };
    /* every format the build writes, in the table's order */
    static const char *const formats[] = {
        "png", "tif",
#ifdef HAVE_GIF
        "gif",
#endif
        "jp2", "pdf",
#ifdef HAVE_WEBP
        "webp",
#endif
    };
    hx_t        x;
    json_t     *doc, *sizes, *tiles, *t, *sf;
    const char *etag;
    char        date[64];

    (void) state;
    hx_init(&x, "rgb-deflate.tif/info.json");
    hx_run(&x, APP_DEFAULT);
    assert_int_equal(x.resp.status, 200);
    assert_header(&x, "Content-Type",
                  "application/ld+json;profile=\"" CTX3 "\"");
    assert_header(&x, "Access-Control-Allow-Origin", "*");
    assert_header(&x, "Vary", "Accept");
    assert_header(&x, "Cache-Control", "max-age=86400");
    assert_non_null(strstr(hx_header(&x, "Link"),
                           "<http://iiif.io/api/image/3/level2.json>;"
                           "rel=\"profile\""));
    vl_http_date(fixture_mtime("rgb-deflate.tif"), date, sizeof(date));
    assert_header(&x, "Last-Modified", date);
    etag = hx_header(&x, "ETag");
    assert_non_null(etag);
    assert_int_equal(strlen(etag), 18);
    assert_true(etag[0] == '"' && etag[17] == '"');
    assert_int_equal(strspn(etag + 1, "0123456789abcdef"), 16);

    doc = hx_json(&x);
    assert_string_equal(json_object_iter_key(json_object_iter(doc)),
                        "@context");
    assert_string_equal(jstr(doc, "@context"), CTX3);
    assert_string_equal(jstr(doc, "id"), HOST "rgb-deflate.tif");
    assert_string_equal(jstr(doc, "type"), "ImageService3");
    assert_string_equal(jstr(doc, "protocol"), "http://iiif.io/api/image");
    assert_string_equal(jstr(doc, "profile"), "level2");
    assert_int_equal(jint(doc, "width"), 1001);
    assert_int_equal(jint(doc, "height"), 737);
    assert_int_equal(jint(doc, "maxWidth"), 5000);
    assert_int_equal(jint(doc, "maxHeight"), 5000);
    assert_int_equal(jint(doc, "maxArea"), 25000000);

    sizes = json_object_get(doc, "sizes");
    assert_int_equal(json_array_size(sizes), 2);
    assert_int_equal(jint(json_array_get(sizes, 0), "width"), 251);
    assert_int_equal(jint(json_array_get(sizes, 0), "height"), 185);
    assert_int_equal(jint(json_array_get(sizes, 1), "width"), 501);
    assert_int_equal(jint(json_array_get(sizes, 1), "height"), 369);

    tiles = json_object_get(doc, "tiles");
    assert_int_equal(json_array_size(tiles), 1);
    t = json_array_get(tiles, 0);
    assert_int_equal(jint(t, "width"), 256);
    assert_int_equal(jint(t, "height"), 256);
    sf = json_object_get(t, "scaleFactors");
    assert_int_equal(json_array_size(sf), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(json_integer_value(json_array_get(sf, i)), 1 << i);
    }
    assert_strings(json_object_get(doc, "extraQualities"), qualities, 3);
    assert_strings(json_object_get(doc, "extraFormats"), formats,
                   sizeof(formats) / sizeof(formats[0]));
    assert_strings(json_object_get(doc, "extraFeatures"), features,
                   sizeof(features) / sizeof(features[0]));
    assert_null(json_object_get(doc, "rights"));
    json_decref(doc);
    hx_done(&x);
}

static void
test_info_v2(void **state)
{
    static const char *const formats[] = {
        "jpg", "png", "tif",
#ifdef HAVE_GIF
        "gif",
#endif
        "jp2", "pdf",
#ifdef HAVE_WEBP
        "webp",
#endif
    };
    static const char *const qualities[] = { "default", "color", "gray",
                                             "bitonal" };
    hx_t    x;
    json_t *doc, *profile, *desc;

    (void) state;
    hx_init(&x, "rgb-deflate.tif/info.json");
    x.req.version_hint = 2;
    hx_run(&x, APP_DEFAULT);
    assert_int_equal(x.resp.status, 200);
    assert_header(&x, "Content-Type", "application/json");
    assert_non_null(strstr(hx_header(&x, "Link"),
                           "<http://iiif.io/api/image/2/level2.json>;"
                           "rel=\"profile\""));
    doc = hx_json(&x);
    assert_string_equal(json_object_iter_key(json_object_iter(doc)),
                        "@context");
    assert_string_equal(jstr(doc, "@context"), CTX2);
    assert_string_equal(jstr(doc, "@id"), HOST "rgb-deflate.tif");
    assert_string_equal(jstr(doc, "protocol"), "http://iiif.io/api/image");
    assert_int_equal(jint(doc, "width"), 1001);
    assert_int_equal(jint(doc, "height"), 737);
    assert_int_equal(json_array_size(json_object_get(doc, "sizes")), 2);
    assert_int_equal(json_array_size(json_object_get(doc, "tiles")), 1);
    profile = json_object_get(doc, "profile");
    assert_int_equal(json_array_size(profile), 2);
    assert_string_equal(json_string_value(json_array_get(profile, 0)),
                        "http://iiif.io/api/image/2/level2.json");
    desc = json_array_get(profile, 1);
    assert_strings(json_object_get(desc, "formats"), formats,
                   sizeof(formats) / sizeof(formats[0]));
    assert_strings(json_object_get(desc, "qualities"), qualities, 4);
    assert_true(has_string(json_object_get(desc, "supports"),
                           "sizeAboveFull"));
    assert_true(has_string(json_object_get(desc, "supports"),
                           "sizeByWhListed"));
    assert_true(has_string(json_object_get(desc, "supports"), "cors"));
    assert_false(has_string(json_object_get(desc, "supports"),
                            "sizeUpscaling"));
    assert_int_equal(jint(desc, "maxWidth"), 5000);
    assert_int_equal(jint(desc, "maxArea"), 25000000);
    assert_null(json_object_get(doc, "id"));
    json_decref(doc);
    hx_done(&x);
}

/* The version and media type chosen from the Accept header. */
static void
test_info_conneg(void **state)
{
    static const struct {
        const char *accept;
        int         hint;
        const char *ctx;
        const char *type;
    } cases[] = {
        { NULL, 0, CTX3, "application/ld+json;profile=\"" CTX3 "\"" },
        { "application/json", 0, CTX3, "application/json" },
        { "application/ld+json", 0, CTX3,
          "application/ld+json;profile=\"" CTX3 "\"" },
        { "application/ld+json;profile=\"" CTX2 "\"", 0, CTX2,
          "application/ld+json;profile=\"" CTX2 "\"" },
        { "application/json;profile=\"" CTX2 "\"", 0, CTX2,
          "application/json" },
        { "application/ld+json;profile=\"" CTX3 "\"", 2, CTX2,
          "application/ld+json;profile=\"" CTX2 "\"" },
        { NULL, 3, CTX3, "application/ld+json;profile=\"" CTX3 "\"" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t    x;
        json_t *doc;

        hx_init(&x, "single.tif/info.json");
        x.req.accept = cases[i].accept;
        x.req.version_hint = cases[i].hint;
        hx_run(&x, APP_DEFAULT);
        assert_int_equal(x.resp.status, 200);
        assert_header(&x, "Content-Type", cases[i].type);
        doc = hx_json(&x);
        assert_string_equal(jstr(doc, "@context"), cases[i].ctx);
        json_decref(doc);
        hx_done(&x);
    }
}

/* The id URI: request path, %2F kept encoded, X-IIIF-ID, BASE_URL,
 * forwarded headers. */
static void
test_info_ids(void **state)
{
    static const struct {
        int         app;
        const char *path;
        const char *x_iiif_id, *proto, *host, *prefix;
        const char *want;
        long long   width;
        const char *script;     /* REQUEST_URI of a ?IIIF= request */
    } cases[] = {
        { APP_DEFAULT, "sub%2Fdir%2Fnested.tif/info.json", NULL, NULL, NULL,
          NULL, HOST "sub%2Fdir%2Fnested.tif", 333, NULL },
        { APP_DEFAULT, "sub/dir/nested.tif/info.json", NULL, NULL, NULL,
          NULL, HOST "sub/dir/nested.tif", 333, NULL },
        { APP_DEFAULT, "a%252Fb.tif/info.json", NULL, NULL, NULL, NULL,
          HOST "a%252Fb.tif", 333, NULL },
        { APP_DEFAULT, "name%20with%20space.tif/info.json", NULL, NULL, NULL,
          NULL, HOST "name%20with%20space.tif", 333, NULL },
        { APP_DEFAULT, "single.tif/info.json", "https://ex.org/img/abc/",
          NULL, NULL, NULL, "https://ex.org/img/abc", 333, NULL },
        { APP_BASE, "sub%2Fdir%2Fnested.tif/info.json", NULL, NULL, NULL,
          NULL, "https://images.example.org/iiif/sub%2Fdir%2Fnested.tif",
          333, NULL },
        { APP_DEFAULT, "single.tif/info.json", NULL, "https",
          "pub.example.org", "/images/",
          "https://pub.example.org/images/iiif/single.tif", 333, NULL },
        { APP_DEFAULT, "single.tif/info.json", NULL, "https, http",
          "pub.example.org:8443", NULL,
          "https://pub.example.org:8443/iiif/single.tif", 333, NULL },
        { APP_DEFAULT, "rgb-deflate.tif/info.json", NULL, NULL, NULL, NULL,
          HOST "rgb-deflate.tif", 1001, NULL },
        { APP_DEFAULT, "sub%2Fdir%2Fnested.tif/info.json", NULL, NULL, NULL,
          NULL,
          "http://example.org/fcgi-bin/vellum?IIIF=sub%2Fdir%2Fnested.tif",
          333, "/fcgi-bin/vellum" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t    x;
        json_t *doc;

        hx_init(&x, cases[i].path);
        x.req.x_iiif_id = cases[i].x_iiif_id;
        x.req.fwd_proto = cases[i].proto;
        x.req.fwd_host = cases[i].host;
        x.req.fwd_prefix = cases[i].prefix;
        if (cases[i].script != NULL) {
            x.req.request_uri = cases[i].script;
            x.req.query = vl_pool_printf(x.pool, "IIIF=%s", cases[i].path);
        }
        hx_run(&x, cases[i].app);
        if (x.resp.status != 200) {
            fail_msg("case %zu: status %d", i, x.resp.status);
        }
        doc = hx_json(&x);
        assert_string_equal(jstr(doc, "id"), cases[i].want);
        assert_int_equal(jint(doc, "width"), cases[i].width);
        json_decref(doc);
        hx_done(&x);
    }
}

/* The front rewrites the path its own way (iipsrv's nginx rule with a
 * leading %2F, nginx's $1 and lighttpd decoding %2F): the identifier
 * resolves and info.json's id is the URL the client asked for. */
static void
test_info_ids_fronts(void **state)
{
    static const struct {
        const char *iiif, *uri, *want;
    } cases[] = {
        { "%2Fsub/dir/nested.tif/info.json",
          "/iiif/sub/dir/nested.tif/info.json",
          HOST "sub/dir/nested.tif" },
        { "%2fsub%2Fdir%2Fnested.tif/info.json",
          "/iiif/sub%2Fdir%2Fnested.tif/info.json",
          HOST "sub%2Fdir%2Fnested.tif" },
        { "sub/dir/nested.tif/info.json",
          "/iiif/sub%2Fdir%2Fnested.tif/info.json",
          HOST "sub%2Fdir%2Fnested.tif" },
        { "/sub/dir/nested.tif/info.json",
          "/iiif/sub%2fdir/nested.tif/info.json",
          HOST "sub%2fdir/nested.tif" },
        { "sub/dir/nested.tif/info.json",
          "/img/sub%2Fdir%2Fnested%2Etif/info%2Ejson",
          "http://example.org/img/sub%2Fdir%2Fnested%2Etif" },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t    x;
        json_t *doc;

        hx_init(&x, NULL);
        x.req.iiif = vl_str_from(cases[i].iiif);
        x.req.has_iiif = 1;
        x.req.request_uri = cases[i].uri;
        hx_run(&x, APP_DEFAULT);
        if (x.resp.status != 200) {
            fail_msg("case %zu: status %d", i, x.resp.status);
        }
        doc = hx_json(&x);
        assert_string_equal(jstr(doc, "id"), cases[i].want);
        assert_int_equal(jint(doc, "width"), 333);
        json_decref(doc);
        hx_done(&x);
    }
}

/* Limits, upscaling and CORS change what is advertised. */
static void
test_info_advertised(void **state)
{
    hx_t    x;
    json_t *doc, *sizes;

    (void) state;
    hx_init(&x, "rgb-deflate.tif/info.json");
    hx_run(&x, APP_NOUP);
    doc = hx_json(&x);
    assert_false(has_string(json_object_get(doc, "extraFeatures"),
                            "sizeUpscaling"));
    assert_true(has_string(json_object_get(doc, "extraFeatures"), "cors"));
    json_decref(doc);
    hx_done(&x);

    hx_init(&x, "rgb-deflate.tif/info.json");
    hx_run(&x, APP_NOCORS);
    assert_null(hx_header(&x, "Access-Control-Allow-Origin"));
    doc = hx_json(&x);
    assert_false(has_string(json_object_get(doc, "extraFeatures"), "cors"));
    json_decref(doc);
    hx_done(&x);

    hx_init(&x, "rgb-deflate.tif/info.json");
    hx_run(&x, APP_SMALL);
    doc = hx_json(&x);
    assert_int_equal(jint(doc, "maxWidth"), 300);
    assert_int_equal(jint(doc, "maxHeight"), 300);
    sizes = json_object_get(doc, "sizes");
    assert_int_equal(json_array_size(sizes), 1);
    assert_int_equal(jint(json_array_get(sizes, 0), "width"), 251);
    json_decref(doc);
    hx_done(&x);
}

/* ------------------------------------------------------------ images */

static void
test_image_crop(void **state)
{
    hx_t        x;
    png_pix_t   p;
    const char *link;

    (void) state;
    hx_init(&x, "rgb-deflate.tif/10,20,100,50/max/0/default.png");
    hx_run(&x, APP_DEFAULT);
    png_decode(&x, &p);
    assert_int_equal(p.w, 100);
    assert_int_equal(p.h, 50);
    assert_int_equal(p.bands, 3);
    for (uint32_t y = 0; y < p.h; y++) {
        for (uint32_t xx = 0; xx < p.w; xx++) {
            for (int b = 0; b < 3; b++) {
                if (png_at(&p, xx, y, b) != vl_fx_rgb(10 + xx, 20 + y, 0, b)) {
                    fail_msg("pixel %u,%u band %d", xx, y, b);
                }
            }
        }
    }
    free(p.px);
    assert_string_equal(x.resp.cache, "miss");
    assert_header(&x, "Access-Control-Allow-Origin", "*");
    assert_header(&x, "Cache-Control", "max-age=86400");
    assert_null(hx_header(&x, "Vary"));
    assert_non_null(hx_header(&x, "ETag"));
    assert_non_null(hx_header(&x, "Last-Modified"));
    link = hx_header(&x, "Link");
    assert_non_null(link);
    assert_non_null(strstr(link, "<http://iiif.io/api/image/3/level2.json>;"
                                 "rel=\"profile\""));
    assert_non_null(strstr(link, "<" HOST "rgb-deflate.tif/10,20,100,50/"));
    assert_non_null(strstr(link, "/0/default.png>;rel=\"canonical\""));
    hx_done(&x);
}

/* The level-1 size read from level 1 unscaled: its own exact pattern. */
static void
test_image_level(void **state)
{
    hx_t      x;
    png_pix_t p;

    (void) state;
    hx_init(&x, "rgb-deflate.tif/full/501,369/0/default.png");
    hx_run(&x, APP_DEFAULT);
    png_decode(&x, &p);
    assert_int_equal(p.w, 501);
    assert_int_equal(p.h, 369);
    for (uint32_t y = 0; y < p.h; y += 7) {
        for (uint32_t xx = 0; xx < p.w; xx += 5) {
            for (int b = 0; b < 3; b++) {
                assert_int_equal(png_at(&p, xx, y, b),
                                 vl_fx_rgb(xx, y, 1, b));
            }
        }
    }
    free(p.px);
    hx_done(&x);
}

/* A floor-rounded pyramid (rgb-floor.tif: 500x368, 250x184 where IIIF's
 * levels are 501x369, 251x185): a viewer's edge tile is the stored pixels
 * 1:1 with the missing last column / row repeated, not the stored part
 * resampled by a pixel (which gave other values for the pattern); interior
 * tiles are the stored level as it is. Level coordinates: (lx0, ly0) of
 * the tile, the level's stored size lw x lh. */
static void
floor_tile(const char *path, uint32_t level, uint32_t lx0, uint32_t ly0,
           uint32_t lw, uint32_t lh, uint32_t ow, uint32_t oh, int turned)
{
    hx_t      x;
    png_pix_t p;

    hx_init(&x, path);
    hx_run(&x, APP_DEFAULT);
    png_decode(&x, &p);
    assert_int_equal(p.w, ow);
    assert_int_equal(p.h, oh);
    for (uint32_t y = 0; y < p.h; y++) {
        for (uint32_t xx = 0; xx < p.w; xx++) {
            /* 180: output (xx, y) is tile pixel (ow-1-xx, oh-1-y) */
            uint32_t tx = turned ? ow - 1 - xx : xx;
            uint32_t ty = turned ? oh - 1 - y : y;
            uint32_t sx = lx0 + tx < lw ? lx0 + tx : lw - 1;
            uint32_t sy = ly0 + ty < lh ? ly0 + ty : lh - 1;

            for (int b = 0; b < 3; b++) {
                if (png_at(&p, xx, y, b) != vl_fx_rgb(sx, sy, level, b)) {
                    fail_msg("%s: pixel %u,%u band %d is %u, not %u", path,
                             xx, y, b, png_at(&p, xx, y, b),
                             vl_fx_rgb(sx, sy, level, b));
                }
            }
        }
    }
    free(p.px);
    hx_done(&x);
}

static void
test_image_floor_edges(void **state)
{
    (void) state;
    /* s = 2: the right column is 244 stored + 1, the bottom row 112 + 1 */
    floor_tile("rgb-floor.tif/512,0,489,512/245,/0/default.png", 1, 256, 0,
               500, 368, 245, 256, 0);
    floor_tile("rgb-floor.tif/0,512,512,225/256,/0/default.png", 1, 0, 256,
               500, 368, 256, 113, 0);
    floor_tile("rgb-floor.tif/512,512,489,225/245,/0/default.png", 1, 256,
               256, 500, 368, 245, 113, 0);
    floor_tile("rgb-floor.tif/512,512,489,225/245,113/0/default.png", 1, 256,
               256, 500, 368, 245, 113, 0);
    floor_tile("rgb-floor.tif/512,512,489,225/245,/180/default.png", 1, 256,
               256, 500, 368, 245, 113, 1);
    /* s = 4: the whole image in one tile, 250x184 stored, 251x185 out */
    floor_tile("rgb-floor.tif/full/251,/0/default.png", 2, 0, 0, 250, 184,
               251, 185, 0);
    /* interior tiles: the stored level, unchanged */
    floor_tile("rgb-floor.tif/0,0,512,512/256,/0/default.png", 1, 0, 0, 500,
               368, 256, 256, 0);
    floor_tile("rgb-floor.tif/512,0,256,256/256,/0/default.png", 0, 512, 0,
               1001, 737, 256, 256, 0);
    floor_tile("rgb-floor.tif/768,512,233,225/233,/0/default.png", 0, 768,
               512, 1001, 737, 233, 225, 0);
}

/* The worker keeps the bodies of edge tiles that cost a transcode (a
 * lossless crop of a padded stored JPEG tile) or a decode and an encode
 * (a padded floor-level tile): the second request is answered from the
 * memo with the same bytes; whole stored tiles stay plain passthroughs. */
static void
memo_twice(const char *path, const char *first, const char *second)
{
    hx_t           a, b;

    hx_init(&a, path);
    hx_run(&a, APP_DEFAULT);
    assert_int_equal(a.resp.status, 200);
    hx_init(&b, path);
    hx_run(&b, APP_DEFAULT);
    assert_int_equal(b.resp.status, 200);
    if (strcmp(a.resp.cache, first) != 0 || strcmp(b.resp.cache, second) != 0) {
        fail_msg("%s: %s then %s, not %s then %s", path, a.resp.cache,
                 b.resp.cache, first, second);
    }
    assert_int_equal(a.resp.body_len, b.resp.body_len);
    assert_memory_equal(a.resp.body, b.resp.body, a.resp.body_len);
    assert_string_equal(hx_header(&a, "Content-Type"),
                        hx_header(&b, "Content-Type"));
    assert_string_equal(hx_header(&a, "ETag"), hx_header(&b, "ETag"));
    hx_done(&a);
    hx_done(&b);
}

static void
test_image_edge_memo(void **state)
{
    (void) state;
    memo_twice("rgb-jpeg.tif/768,512,233,225/233,/0/default.jpg",
               "passthrough", "memo");
    memo_twice("rgb-floor.tif/512,512,489,225/245,/0/default.jpg", "miss",
               "memo");
    memo_twice("rgb-floor.tif/512,512,489,225/245,/0/gray.png", "miss",
               "memo");
    memo_twice("rgb-jpeg.tif/256,256,256,256/256,/0/default.jpg",
               "passthrough", "passthrough");
    memo_twice("rgb-floor.tif/10,20,300,200/150,/0/default.jpg", "miss",
               "miss");
}

static void
test_image_mirror_rotate(void **state)
{
    hx_t      x;
    png_pix_t p;

    (void) state;
    hx_init(&x, "rgb-deflate.tif/300,200,64,32/max/!0/default.png");
    hx_run(&x, APP_DEFAULT);
    png_decode(&x, &p);
    assert_int_equal(p.w, 64);
    assert_int_equal(p.h, 32);
    for (uint32_t y = 0; y < 32; y++) {
        for (uint32_t xx = 0; xx < 64; xx++) {
            for (int b = 0; b < 3; b++) {
                assert_int_equal(png_at(&p, xx, y, b),
                                 vl_fx_rgb(300 + 63 - xx, 200 + y, 0, b));
            }
        }
    }
    free(p.px);
    hx_done(&x);

    /* 90 degrees clockwise: out(x, y) = in(y, h - 1 - x) */
    hx_init(&x, "rgb-deflate.tif/300,200,64,32/max/90/default.png");
    hx_run(&x, APP_DEFAULT);
    png_decode(&x, &p);
    assert_int_equal(p.w, 32);
    assert_int_equal(p.h, 64);
    for (uint32_t y = 0; y < 64; y++) {
        for (uint32_t xx = 0; xx < 32; xx++) {
            for (int b = 0; b < 3; b++) {
                assert_int_equal(png_at(&p, xx, y, b),
                                 vl_fx_rgb(300 + y, 200 + 31 - xx, 0, b));
            }
        }
    }
    free(p.px);
    hx_done(&x);
}

static unsigned long long
decode_restarts(void)
{
    static char        text[65536];
    const char        *p;
    unsigned long long n = 0;

    assert_true(vl_metrics_text(text, sizeof(text)) > 0);
    p = strstr(text, "\nvellum_decode_restarts_total ");
    assert_non_null(p);
    assert_int_equal(sscanf(p, "\nvellum_decode_restarts_total %llu", &n), 1);
    return n;
}

/* 180 degrees of a flat PNG or JPEG whose rows the tile cache cannot keep:
 * the rows are read once, top-down (the streamed flip read them
 * bottom-up, and every chunk decoded the rows above it again); the
 * pixels are the upright ones turned. */
static void
test_image_flat_180(void **state)
{
    /* the whole image, and a region low down in it (its top chunk costs
     * about what its bottom one does, both decode from the image's top) */
    static const char *const files[] = { "flat/big.png", "flat/big.jpg",
                                         "flat/big.png", "flat/big.jpg" };
    static const char *const regions[] = { "full", "full", "0,500,1500,600",
                                           "100,300,1300,800" };

    (void) state;
    if (access(vl_fx_path("flat/big.png"), R_OK) != 0) {
        skip();
    }
    for (size_t f = 0; f < 4; f++) {
        char               path[128];
        hx_t               up, x;
        png_pix_t          a, b;
        unsigned long long before;

        snprintf(path, sizeof(path), "%s/%s/max/0/default.png", files[f],
                 regions[f]);
        hx_init(&up, path);
        hx_run(&up, APP_NOTILES);
        assert_int_equal(up.resp.status, 200);
        png_decode(&up, &a);
        snprintf(path, sizeof(path), "%s/%s/max/180/default.png", files[f],
                 regions[f]);
        hx_init(&x, path);
        before = decode_restarts();
        hx_run(&x, APP_NOTILES);
        assert_int_equal(x.resp.status, 200);
        /* one at most: the upright request left the decoder below */
        assert_true(decode_restarts() - before <= 1);
        png_decode(&x, &b);
        assert_int_equal(a.w, b.w);
        assert_int_equal(a.h, b.h);
        assert_true(a.h > 256 * 2);
        for (uint32_t y = 0; y < a.h; y += 7) {
            for (uint32_t xx = 0; xx < a.w; xx += 5) {
                for (int k = 0; k < 3; k++) {
                    assert_int_equal(png_at(&b, xx, y, k),
                                     png_at(&a, a.w - 1 - xx, a.h - 1 - y,
                                            k));
                }
            }
        }
        free(a.px);
        free(b.px);
        hx_done(&up);
        hx_done(&x);
    }
}

static void
test_image_jpeg_and_head(void **state)
{
    hx_t   x, h;
    size_t len;

    (void) state;
    hx_init(&x, "rgb-jpeg.tif/0,0,256,256/256,256/0/default.jpg");
    hx_run(&x, APP_DEFAULT);
    assert_int_equal(x.resp.status, 200);
    assert_header(&x, "Content-Type", "image/jpeg");
    assert_int_equal(x.resp.head_only, 0);
    assert_true(x.resp.body_len > 100);
    assert_int_equal(x.resp.body[0], 0xff);
    assert_int_equal(x.resp.body[1], 0xd8);
    len = x.resp.body_len;

    hx_init(&h, "rgb-jpeg.tif/0,0,256,256/256,256/0/default.jpg");
    h.req.method = VL_METHOD_HEAD;
    h.req.method_name = "HEAD";
    hx_run(&h, APP_DEFAULT);
    assert_int_equal(h.resp.status, 200);
    assert_int_equal(h.resp.head_only, 1);
    assert_int_equal(h.resp.body_len, len);
    assert_string_equal(hx_header(&h, "ETag"), hx_header(&x, "ETag"));
    assert_string_equal(hx_header(&h, "Link"), hx_header(&x, "Link"));
    assert_header(&h, "Content-Type", "image/jpeg");
    hx_done(&h);
    hx_done(&x);

    hx_init(&h, "rgb-deflate.tif/info.json");
    h.req.method = VL_METHOD_HEAD;
    hx_run(&h, APP_DEFAULT);
    assert_int_equal(h.resp.status, 200);
    assert_int_equal(h.resp.head_only, 1);
    assert_true(h.resp.body_len > 0);
    hx_done(&h);
}

/* ETags differ by request, version and file. */
static void
test_etag_distinct(void **state)
{
    static const struct {
        const char *path;
        int         hint;
    } cases[] = {
        { "rgb-deflate.tif/full/64,/0/default.png", 3 },
        { "rgb-deflate.tif/full/64,/0/default.png", 2 },
        { "rgb-deflate.tif/full/65,/0/default.png", 3 },
        { "rgb-lzw.tif/full/64,/0/default.png", 3 },
        { "rgb-deflate.tif/full/64,/0/default.jpg", 3 },
        { "rgb-deflate.tif/info.json", 3 },
        { "rgb-deflate.tif/info.json", 2 },
    };
    char tags[sizeof(cases) / sizeof(cases[0])][32];

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t x;

        hx_init(&x, cases[i].path);
        x.req.version_hint = cases[i].hint;
        hx_run(&x, APP_DEFAULT);
        assert_int_equal(x.resp.status, 200);
        assert_non_null(hx_header(&x, "ETag"));
        snprintf(tags[i], sizeof(tags[i]), "%s", hx_header(&x, "ETag"));
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(tags[i], tags[j]);
        }
        hx_done(&x);
    }
}

/* The bug of issue 9: a setting that changes the bytes kept the ETag, so
 * after a reload every revalidating client got 304 and kept the stale
 * body. LEVEL_OVERSAMPLE changes an image, MAX_CVT the info.json. */
static void
test_etag_follows_settings(void **state)
{
    static const struct {
        const char *path;
        int         a, b;
    } cases[] = {
        { "rgb-deflate.tif/full/300,/0/default.png", APP_DEFAULT,
          APP_OVERSAMPLE },
        { "rgb-deflate.tif/info.json", APP_DEFAULT, APP_SMALL },
        { "rgb-deflate.tif/full/64,/0/default.png", APP_DEFAULT, APP_NOCORS },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t x, y, z;
        char etag[64];

        hx_init(&x, cases[i].path);
        hx_run(&x, cases[i].a);
        hx_init(&y, cases[i].path);
        hx_run(&y, cases[i].b);
        assert_int_equal(x.resp.status, 200);
        assert_int_equal(y.resp.status, 200);
        snprintf(etag, sizeof(etag), "%s", hx_header(&x, "ETag"));
        if (strcmp(etag, hx_header(&y, "ETag")) == 0) {
            fail_msg("%s: the same ETag %s under two output settings",
                     cases[i].path, etag);
        }
        /* and a client holding the old version gets the new one */
        hx_init(&z, cases[i].path);
        z.req.if_none_match = etag;
        hx_run(&z, cases[i].b);
        assert_int_equal(z.resp.status, 200);
        hx_done(&x);
        hx_done(&y);
        hx_done(&z);
    }
    /* the bodies do differ: the ETags tell the truth */
    {
        hx_t x, y;

        hx_init(&x, "rgb-deflate.tif/info.json");
        hx_run(&x, APP_DEFAULT);
        hx_init(&y, "rgb-deflate.tif/info.json");
        hx_run(&y, APP_SMALL);
        assert_true(x.resp.body_len != y.resp.body_len
                    || memcmp(x.resp.body, y.resp.body, x.resp.body_len));
        hx_done(&x);
        hx_done(&y);
    }
}

/* Values to try for an option: its range ends and small numbers for
 * numbers, the other boolean, a few strings. Returns how many. */
static size_t
flag_values(const vl_opt_t *o, char vals[6][128])
{
    size_t n = 0;

    switch (o->type) {
    case VL_OPT_INT: {
        double cand[4] = { o->min, o->max, 1, 2 };

        for (int i = 0; i < 4; i++) {
            if (cand[i] >= o->min && cand[i] <= o->max
                && cand[i] != strtod(o->def, NULL)) {
                snprintf(vals[n++], 128, "%s=%.0f", o->name, cand[i]);
            }
        }
        break;
    }
    case VL_OPT_FLOAT:
        snprintf(vals[n++], 128, "%s=%g", o->name, o->min);
        snprintf(vals[n++], 128, "%s=%g", o->name, o->max);
        snprintf(vals[n++], 128, "%s=%g", o->name, (o->min + o->max) / 2);
        break;
    case VL_OPT_BOOL:
        snprintf(vals[n++], 128, "%s=%d", o->name, strcmp(o->def, "1") != 0);
        break;
    case VL_OPT_DIR:
        break;
    default:
        if (strcmp(o->name, "URI_MAP") == 0) {
            snprintf(vals[n++], 128, "%s=iiif=>IIIF", o->name);
        } else if (strcmp(o->name, "TIFF_COMPRESSION") == 0) {
            snprintf(vals[n++], 128, "%s=none", o->name);
            snprintf(vals[n++], 128, "%s=jpeg", o->name);
            snprintf(vals[n++], 128, "%s=5", o->name);
        } else if (strcmp(o->name, "BACKGROUND") == 0) {
            snprintf(vals[n++], 128, "%s=000000", o->name);
            snprintf(vals[n++], 128, "%s=#336699", o->name);
        } else if (strcmp(o->name, "LOGFILE") != 0) {
            snprintf(vals[n++], 128, "%s=", o->name);
            snprintf(vals[n++], 128, "%s=x", o->name);
            snprintf(vals[n++], 128, "%s=%s", o->name,
                     "http://creativecommons.org/publicdomain/zero/1.0/");
        }
        break;
    }
    return n;
}

/* What really changes bytes is flagged: every option of the table, at a
 * few values, against responses of every kind (info.json of both API
 * versions, a scaled PNG, a stored JPEG tile, an upscaled JPEG, a JPEG
 * 2000 region). Where an answer's bytes differ from the default
 * configuration's, the option must be VL_OPT_OUTPUT, hence in the ETag. */
static void
test_output_flags(void **state)
{
    static const struct {
        const char *path;
        int         hint;
    } reqs[] = {
        { "rgb-jpeg.tif/info.json", 0 },
        { "rgb-jpeg.tif/info.json", 2 },
        { "rgb-deflate.tif/full/300,/0/default.png", 3 },
        { "rgb-jpeg.tif/0,0,256,256/256,/0/default.jpg", 2 },
        { "single.tif/full/^400,/0/default.jpg", 3 },
        { "rgb.jp2/100,100,300,200/150,/0/gray.png", 3 },
    };
    enum { NREQ = sizeof(reqs) / sizeof(reqs[0]) };
    hx_t   base[NREQ];
    size_t changed = 0;

    (void) state;
    for (size_t r = 0; r < NREQ; r++) {
        hx_init(&base[r], reqs[r].path);
        base[r].req.version_hint = reqs[r].hint;
        hx_run(&base[r], APP_DEFAULT);
        assert_int_equal(base[r].resp.status, 200);
    }
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        const vl_opt_t *o = &vl_conf_options[i];
        char            vals[6][128];
        size_t          nv = flag_values(o, vals);

        for (size_t v = 0; v < nv; v++) {
            char      prefix[4200];
            char     *envp[4] = { prefix, "LOGFILE=stderr", vals[v], NULL };
            vl_err_t  err = { 0 };
            vl_conf_t *c;
            vl_app_t  *app;

            snprintf(prefix, sizeof(prefix), "FILESYSTEM_PREFIX=%s", root);
            if ((c = vl_conf_load_env(NULL, envp, NULL, &err)) == NULL) {
                fail_msg("%s: %s", vals[v], err.msg);
            }
            app = vl_app_new(c, &err);
            assert_non_null(app);
            for (size_t r = 0; r < NREQ; r++) {
                hx_t x;
                int  differ;

                hx_init(&x, reqs[r].path);
                x.req.version_hint = reqs[r].hint;
                vl_handle(app, &x.req, &x.resp, x.pool);
                differ = x.resp.status == 200
                         && (x.resp.body_len != base[r].resp.body_len
                             || memcmp(x.resp.body, base[r].resp.body,
                                       x.resp.body_len) != 0);
                if (differ && !(o->flags & VL_OPT_OUTPUT)) {
                    fail_msg("%s changes the bytes of %s but is not flagged "
                             "VL_OPT_OUTPUT (so not in the ETag)", vals[v],
                             reqs[r].path);
                }
                if (differ) {
                    /* and then the ETag did change */
                    assert_string_not_equal(hx_header(&x, "ETag"),
                                            hx_header(&base[r], "ETag"));
                    changed++;
                }
                hx_done(&x);
            }
            vl_app_free(app);
            vl_conf_free(c);
        }
    }
    /* the walk saw bytes change (it would pass vacuously otherwise) */
    assert_true(changed >= 10);
    for (size_t r = 0; r < NREQ; r++) {
        hx_done(&base[r]);
    }
}

/* The route table: the Presentation routes answer, reserved paths answer
 * 404 and never become an identifier's base URI (303), whatever files the
 * root holds. */
static void
test_routes(void **state)
{
    static const struct {
        int         app;
        const char *path;
        int         want;
    } cases[] = {
        { APP_DEFAULT, "rgb-deflate.tif/manifest", 200 },
        { APP_DEFAULT, "rgb-deflate.tif/manifest.json", 200 },
        { APP_DEFAULT, "rgb-deflate.tif/manifest/", 400 },
        { APP_DEFAULT, "missing.tif/manifest", 404 },
        { APP_DEFAULT, "sub/dir/collection.json", 200 },
        { APP_DEFAULT, "nope/dir/collection.json", 404 },
        { APP_DEFAULT, "collection.json", 200 },
        { APP_DEFAULT, "cd/collection.json", 404 },
        { APP_DEFAULT, "cd/pages/0.json", 404 },
        /* the operator's routes: health (the root is readable), metrics
         * (REMOTE_ADDR not loopback: here none at all) */
        { APP_DEFAULT, "health", 200 },
        { APP_DEFAULT, "metrics", 403 },
        /* files named like the reserved names are not identifiers */
        { APP_RESERVED, "health", 200 },
        { APP_RESERVED, "health/info.json", 404 },
        { APP_RESERVED, "metrics/full/max/0/default.jpg", 404 },
        { APP_RESERVED, "collection.json/info.json", 404 },
        { APP_RESERVED, "cd/x/info.json", 404 },
        { APP_RESERVED, "cd%2Fx/info.json", 404 },
        { APP_RESERVED, "cd/info.json", 404 },
        /* the same root serves an ordinary name */
        { APP_RESERVED, "ok/info.json", 200 },
        { APP_RESERVED, "ok", 303 },
        /* names that only start like a reserved one are names */
        { APP_RESERVED, "cdx/info.json", 200 },
        { APP_RESERVED, "healthy/full/max/0/default.jpg", 200 },
        /* and no "." segment leads around the reserved names */
        { APP_RESERVED, "./health/info.json", 400 },
        { APP_RESERVED, ".%2Fhealth/info.json", 400 },
        { APP_RESERVED, "./health/full/max/0/default.jpg", 400 },
        { APP_RESERVED, "./cd/x/info.json", 400 },
        { APP_RESERVED, "./ok/info.json", 400 },
        /* an empty identifier, also as the front hands it over from
         * /iiif/3//full/max/0/default.jpg (with its slash, or iipsrv's
         * %2F before it): never a 303 to a nonsense info.json */
        { APP_DEFAULT, "info.json", 400 },
        { APP_DEFAULT, "//full/max/0/default.jpg", 400 },
        { APP_DEFAULT, "/full/max/0/default.jpg", 400 },
        { APP_DEFAULT, "%2F/full/max/0/default.jpg", 400 },
        { APP_DEFAULT, "/0,0,10,10/max/0/default.jpg", 400 },
        { APP_DEFAULT, "/x/full/max/0/default.jpg", 404 },
        { APP_DEFAULT, "/single.tif", 303 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t x;

        hx_init(&x, cases[i].path);
        hx_run(&x, cases[i].app);
        if (x.resp.status != cases[i].want) {
            fail_msg("%s: status %d, want %d", cases[i].path, x.resp.status,
                     cases[i].want);
        }
        if (cases[i].want == 404) {
            assert_null(hx_header(&x, "Location"));
        }
        hx_done(&x);
    }
}

static void
test_conditional(void **state)
{
    static const char *const paths[] = {
        "rgb-deflate.tif/0,0,64,64/max/0/default.png",
        "rgb-deflate.tif/info.json",
    };

    (void) state;
    for (size_t i = 0; i < 2; i++) {
        hx_t  x;
        char  etag[64], lastmod[64], buf[256];
        const struct {
            const char *inm, *ims;
            int         want;
        } cases[] = {
            { etag, NULL, 304 },
            { buf, NULL, 304 },                       /* W/ + etag */
            { "\"0000000000000000\"", NULL, 200 },
            { "*", NULL, 304 },
            { NULL, lastmod, 304 },
            { NULL, "Sun, 06 Nov 1994 08:49:37 GMT", 200 },
            { NULL, "not a date", 200 },
            { "\"0000000000000000\"", lastmod, 200 }, /* INM wins */
        };

        hx_init(&x, paths[i]);
        hx_run(&x, APP_DEFAULT);
        assert_int_equal(x.resp.status, 200);
        snprintf(etag, sizeof(etag), "%s", hx_header(&x, "ETag"));
        snprintf(lastmod, sizeof(lastmod), "%s",
                 hx_header(&x, "Last-Modified"));
        hx_done(&x);

        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
            snprintf(buf, sizeof(buf), "\"abc\", W/%s", etag);
            hx_init(&x, paths[i]);
            x.req.if_none_match = cases[c].inm;
            x.req.if_modified_since = cases[c].ims;
            hx_run(&x, APP_DEFAULT);
            if (x.resp.status != cases[c].want) {
                fail_msg("%s case %zu: status %d", paths[i], c,
                         x.resp.status);
            }
            if (cases[c].want == 304) {
                assert_int_equal(x.resp.body_len, 0);
                assert_header(&x, "ETag", etag);
                assert_header(&x, "Access-Control-Allow-Origin", "*");
            }
            hx_done(&x);
        }
    }
}

/* ------------------------------------------------------------ errors */

static void
test_errors(void **state)
{
    static const struct {
        int         app;
        const char *path;
        int         want;
        const char *body;     /* exact body, or NULL */
    } cases[] = {
        { APP_DEFAULT, "missing.tif/info.json", 404, NULL },
        { APP_DEFAULT, "missing.tif/full/max/0/default.jpg", 404, NULL },
        { APP_DEFAULT, "not-an-image.tif/info.json", 415, NULL },
        { APP_DEFAULT, "not-an-image.tif/full/max/0/default.jpg", 415, NULL },
        { APP_DEFAULT, "truncated.tif/full/max/0/default.png", 500, NULL },
        { APP_DEFAULT, "rgb-deflate.tif/full/max/0/default.bmp", 400,
          "unsupported format 'bmp'\n" },
        /* an image request by its shape: a bad region is a 400 */
        { APP_DEFAULT, "rgb-deflate.tif/McoDV^/max/0/default.jpg", 400,
          "invalid region 'McoDV^'\n" },
        { APP_DEFAULT, "rgb-deflate.tif/full/full/0/default.jpg", 400, NULL },
        { APP_DEFAULT, "rgb-deflate.tif/full/2000,/0/default.jpg", 400, NULL },
        { APP_DEFAULT, "rgb-deflate.tif/full/^6000,/0/default.jpg", 400,
          NULL },
        { APP_DEFAULT, "rgb-deflate.tif/2000,2000,10,10/max/0/default.jpg",
          400, NULL },
        { APP_DEFAULT, "rgb-deflate.tif/0,0,0,10/max/0/default.jpg", 400,
          NULL },
        { APP_DEFAULT, "rgb-deflate.tif/full/max/0abc/default.jpg", 400,
          NULL },
        { APP_DEFAULT, "rgb-deflate.tif/full/max/0/fancy.jpg", 400, NULL },
        { APP_NOUP, "rgb-deflate.tif/full/^1200,/0/default.jpg", 501, NULL },
        { APP_SMALL, "rgb-deflate.tif/full/max/0/default.jpg", 200, NULL },
        { APP_SMALL, "rgb-deflate.tif/full/400,/0/default.jpg", 400, NULL },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        hx_t        x;
        const char *body;

        hx_init(&x, cases[i].path);
        hx_run(&x, cases[i].app);
        if (x.resp.status != cases[i].want) {
            fail_msg("%s: status %d, want %d (%.*s)", cases[i].path,
                     x.resp.status, cases[i].want, (int) x.resp.body_len,
                     x.resp.body ? (const char *) x.resp.body : "");
        }
        if (cases[i].want == 200) {
            hx_done(&x);
            continue;
        }
        body = (const char *) x.resp.body;
        assert_non_null(body);
        assert_true(x.resp.body_len >= 2);
        /* exactly one line, no filesystem path */
        assert_int_equal(body[x.resp.body_len - 1], '\n');
        assert_null(memchr(body, '\n', x.resp.body_len - 1));
        assert_null(strstr(body, root));
        assert_null(strstr(body, "/etc"));
        if (cases[i].body != NULL) {
            assert_int_equal(x.resp.body_len, strlen(cases[i].body));
            assert_memory_equal(body, cases[i].body, x.resp.body_len);
        }
        assert_non_null(x.resp.errmsg);
        assert_non_null(strstr(hx_header(&x, "Content-Type"), "text/plain"));
        assert_header(&x, "Access-Control-Allow-Origin", "*");
        assert_null(hx_header(&x, "Cache-Control"));
        assert_null(hx_header(&x, "ETag"));
        hx_done(&x);
    }
}

/* Identifiers that leave the root, raw or encoded: refused by the parser
 * (400) or not found under the root (404), never served; the generator
 * binary just outside the root would be a 415 if it were opened. */
static void
test_traversal(void **state)
{
    static const char *const paths[] = {
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd/info.json",
        "..%2Fmkfixtures/info.json",
        "%2e%2e%2fmkfixtures/info.json",
        "%2E%2E%2Fmkfixtures/full/max/0/default.jpg",
        "sub%2F..%2F..%2Fmkfixtures/info.json",
        "%2Fetc%2Fpasswd/info.json",
        "%252e%252e%252fmkfixtures/info.json",
        "../mkfixtures/info.json",
        "sub/../../mkfixtures/info.json",
        "../../../../etc/passwd/info.json",
        "../../../../etc/passwd/full/max/0/default.jpg",
    };

    (void) state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        int st = status_of(APP_DEFAULT, paths[i]);
        /* ".." is a 404 (as the README says); a leading %2F is
         * iipsrv's rule's (IIIF=%2F$1), so "etc/passwd" under the root:
         * a 404 too */
        if (st != 404) {
            fail_msg("%s: status %d, want 404", paths[i], st);
        }
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_no_iiif),
        cmocka_unit_test(test_base_redirect),
        cmocka_unit_test(test_id_uri_escaped),
        cmocka_unit_test(test_info_v3),
        cmocka_unit_test(test_info_v2),
        cmocka_unit_test(test_info_conneg),
        cmocka_unit_test(test_info_ids),
        cmocka_unit_test(test_info_ids_fronts),
        cmocka_unit_test(test_info_advertised),
        cmocka_unit_test(test_image_crop),
        cmocka_unit_test(test_image_level),
        cmocka_unit_test(test_image_floor_edges),
        cmocka_unit_test(test_image_edge_memo),
        cmocka_unit_test(test_image_mirror_rotate),
        cmocka_unit_test(test_image_flat_180),
        cmocka_unit_test(test_image_jpeg_and_head),
        cmocka_unit_test(test_etag_distinct),
        cmocka_unit_test(test_etag_follows_settings),
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_output_flags),
        cmocka_unit_test(test_conditional),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_traversal),
    };

    return cmocka_run_group_tests_name("handler", tests, group_setup,
                                       group_teardown);
}
