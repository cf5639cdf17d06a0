/* SPDX-License-Identifier: MIT */
/*
 * fuzz_describe: info.json, manifests and the base URI's redirect with
 * hostile identifiers (serve/info.c, manifest.c, describe.c, proto/info.c
 * and present/manifest.c through vl_handle). Input: a flags byte (bit 0:
 * API 2; bit 1: REQUEST_URI carries the identifier decoded, as a front
 * that decodes the path passes it; bits 2-3: which documents), then the
 * identifier as sent. When it decodes to a name a file can have, that
 * file is made in a private root (a link to tiny.tif of the fixtures)
 * for the run. Every JSON body must parse, and every URI vellum writes
 * (info.json "id"/"@id", every "id" of a manifest, the Location of the
 * 303) must be a URI: only RFC 3986 characters, '%' only in an escape,
 * no '?' or '#'; the image's own id and the Location must decode to the
 * identifier requested.
 */
#include "config.h"

#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/conf.h"
#include "core/pool.h"
#include "core/str.h"
#include "proto/iiif.h"
#include "serve/http.h"
#include "serve/serve.h"
#include "fuzz.h"

#define HOST "http://example.org/iiif/"

static char       root[] = "/tmp/vl-fuzz-describe-XXXXXX";
static char       image[4200];
static vl_conf_t *conf;
static vl_app_t  *app;

static void
describe_cleanup(void)
{
    unlink(image);
    rmdir(root);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char prefix[4200];
    char       *envp[] = { prefix, "LOGFILE=/dev/null", "VERBOSITY=0",
                           "MAX_METADATA_CACHE_SIZE=0",
                           "MAX_IMAGE_CACHE_SIZE=0", "IIIF_DELIMITER=",
                           "HOME=/", NULL };
    char        from[4200];
    vl_err_t    err = { 0 };
    FILE       *in, *out;
    char        buf[65536];
    size_t      n;

    (void) argc;
    (void) argv;
    snprintf(from, sizeof(from), "%s/tiny.tif", fuzz_fixtures());
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    /* the image every identifier links to, hidden from listings */
    snprintf(image, sizeof(image), "%s/.tiny.tif", root);
    if ((in = fopen(from, "rb")) == NULL
        || (out = fopen(image, "wb")) == NULL) {
        perror(from);
        exit(1);
    }
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        fwrite(buf, 1, n, out);
    }
    fclose(in);
    fclose(out);
    atexit(describe_cleanup);
    snprintf(prefix, sizeof(prefix), "FILESYSTEM_PREFIX=%s", root);
    if ((conf = vl_conf_load_env(NULL, envp, NULL, &err)) == NULL
        || (app = vl_app_new(conf, &err)) == NULL) {
        fprintf(stderr, "fuzz_describe: %s\n", err.msg);
        exit(1);
    }
    return 0;
}

static int
describe_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')
           || (c >= 'A' && c <= 'F');
}

/* Every byte of uri is a URI character: RFC 3986's unreserved and
 * delimiters but '?' and '#' (none of the URIs checked has a query or a
 * fragment: a '?' or '#' in one comes from an identifier), '%' only in an
 * escape. */
static void
describe_chars(const char *uri, const char *what)
{
    static const char ok[] = "-._~:/[]@!$&'()*+,;=";
    size_t            n = strlen(uri);

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) uri[i];

        if (c == '%') {
            FUZZ_CHECK(i + 2 < n && describe_hex(uri[i + 1])
                           && describe_hex(uri[i + 2]),
                       "%s '%s': a '%%' that is no escape", what, uri);
            continue;
        }
        FUZZ_CHECK((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                       || (c >= '0' && c <= '9')
                       || (c != 0 && strchr(ok, c) != NULL),
                   "%s '%s': byte 0x%02x is not a URI character", what, uri,
                   c);
    }
}

/* The checks on a URI that names the image of decoded identifier id
 * (what follows is `tail`: "" or "/info.json"). */
static void
describe_uri(vl_pool_t *pool, const char *uri, const char *id,
             const char *tail, const char *what)
{
    size_t n = strlen(uri), hl = strlen(HOST), tl = strlen(tail);
    char  *dec;
    size_t dlen;

    describe_chars(uri, what);
    FUZZ_CHECK(n >= hl + tl && memcmp(uri, HOST, hl) == 0
                   && strcmp(uri + n - tl, tail) == 0,
               "%s '%s' is not under " HOST, what, uri);
    FUZZ_CHECK(vl_percent_decode(pool,
                                 (vl_str_t) { n - hl - tl, uri + hl }, &dec,
                                 &dlen) == 0
                   && strcmp(dec, id) == 0,
               "%s '%s' does not name '%s'", what, uri, id);
}

/* Every "id" of a JSON document that vellum made (under HOST) is a URI. */
static void
describe_ids(json_t *j)
{
    const char *key;
    json_t     *v;
    size_t      i;

    if (json_is_object(j)) {
        json_object_foreach(j, key, v) {
            if ((strcmp(key, "id") == 0 || strcmp(key, "@id") == 0)
                && json_is_string(v)
                && strncmp(json_string_value(v), HOST, strlen(HOST)) == 0) {
                describe_chars(json_string_value(v), key);
            }
            describe_ids(v);
        }
    } else if (json_is_array(j)) {
        json_array_foreach(j, i, v) {
            describe_ids(v);
        }
    }
}

static void
describe_one(vl_pool_t *pool, const char *raw, const char *dec, int version,
             int decoded_path, const char *suffix, int made)
{
    vl_http_req_t  req;
    vl_http_resp_t resp;
    char          *path = vl_pool_printf(pool, "%s%s",
                                         decoded_path ? dec : raw, suffix);

    memset(&req, 0, sizeof(req));
    req.method = VL_METHOD_GET;
    req.method_name = "GET";
    req.iiif = vl_str_from(path);
    req.has_iiif = 1;
    req.request_uri = vl_pool_printf(pool, "/iiif/%s%s", raw, suffix);
    req.query = "";
    req.scheme = "http";
    req.host = "example.org";
    req.reqid = "fuzz";
    req.version_hint = version;
    vl_http_resp_init(&resp);
    vl_handle(app, &req, &resp, pool);
    if (!made || resp.status == 400) {
        return;
    }
    if (suffix[0] == '\0') {
        const char *loc = vl_http_header_get(&resp, "Location");

        FUZZ_CHECK(resp.status == 303 && loc != NULL,
                   "base URI of '%s': %d", raw, resp.status);
        describe_uri(pool, loc, dec, "/info.json", "Location");
        return;
    }
    FUZZ_CHECK(resp.status == 200, "%s of '%s': %d %s", suffix, raw,
               resp.status, resp.errmsg != NULL ? resp.errmsg : "");
    {
        json_error_t jerr;
        json_t      *doc = json_loadb((const char *) resp.body,
                                      resp.body_len, 0, &jerr);
        const char  *key = version == 2 && strcmp(suffix, "/info.json") == 0
                               ? "@id" : "id";
        const char  *self;

        FUZZ_CHECK(doc != NULL, "%s of '%s' is not JSON: %s", suffix, raw,
                   jerr.text);
        if (strcmp(suffix, "/info.json") == 0) {
            self = json_string_value(json_object_get(doc, key));
            FUZZ_CHECK(self != NULL, "info.json without %s", key);
            describe_uri(pool, self, dec, "", key);
        } else {
            describe_ids(doc);
        }
        json_decref(doc);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t  in = { data, size };
    uint8_t    flags = fuzz_u8(&in);
    size_t     len, dlen = 0;
    char      *raw = fuzz_rest(&in, &len), *dec = NULL;
    char       file[4400] = "";
    vl_pool_t *pool = vl_pool_create(8192);
    int        made = 0, version = flags & 1 ? 2 : 3;
    int        which = flags >> 2 & 3;

    if (pool == NULL) {
        abort();
    }
    if (strlen(raw) != len || len > 200) {
        goto done;      /* no NUL in a path; names of a few segments */
    }
    if (vl_percent_decode(pool, (vl_str_t) { len, raw }, &dec, &dlen) == 0
        && vl_iiif_id_ok(dec) && strchr(dec, '/') == NULL
        && !vl_iiif_reserved(dec) && dec[0] != '.') {
        snprintf(file, sizeof(file), "%s/%s", root, dec);
        made = link(image, file) == 0;
        if (!made) {
            file[0] = '\0';
        }
    }
    if ((flags & 2) != 0 && dec == NULL) {
        goto done;
    }
    /* a decoded path is decoded once more by vellum: with a '%' in it,
     * the identifier is another one, which has no file */
    made = made && ((flags & 2) == 0 || strchr(dec, '%') == NULL);
    if (which == 0 || which == 3) {
        describe_one(pool, raw, dec, version, flags >> 1 & 1, "/info.json",
                     made);
    }
    if (which == 1 || which == 3) {
        describe_one(pool, raw, dec, version, flags >> 1 & 1,
                     "/manifest.json", made);
    }
    if (which == 2 || which == 3) {
        describe_one(pool, raw, dec, version, flags >> 1 & 1, "", made);
    }
done:
    if (file[0] != '\0') {
        unlink(file);
    }
    vl_pool_destroy(pool);
    free(raw);
    return 0;
}
