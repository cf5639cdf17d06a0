/* SPDX-License-Identifier: MIT */
/*
 * handler: routes one request (image, info.json, base URI 303, OPTIONS) and
 * fills the response: status from the one error table, CORS, Link, caching
 * headers, ETag and conditional requests, one-line error bodies. An image
 * is, in order: a 304, a stored JPEG tile passed through, a memcached hit,
 * or rendered (and stored in memcached). All request memory is in the
 * pool; source handles go back to the per-worker cache through a pool
 * cleanup. The vl_app_t is read-only once built.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "encode/encode.h"
#include "encode/jpegcrop.h"
#include "front/handler.h"
#include "serve/render.h"
#include "proto/iiif.h"
#include "proto/info.h"
#include "proto/plan.h"

#define HANDLER_CTX2 "http://iiif.io/api/image/2/context.json"
#define HANDLER_CTX3 "http://iiif.io/api/image/3/context.json"
#define HANDLER_LD_V2 \
    "application/ld+json;profile=\"" HANDLER_CTX2 "\""
#define HANDLER_LD_V3 \
    "application/ld+json;profile=\"" HANDLER_CTX3 "\""
#define HANDLER_PROFILE_V2 "http://iiif.io/api/image/2/level2.json"
#define HANDLER_PROFILE_V3 "http://iiif.io/api/image/3/level2.json"

typedef struct {
    vl_source_cache_t *cache;
    vl_source_t       *src;
} handler_lease_t;

vl_app_t *
vl_app_new(const vl_conf_t *conf, vl_err_t *err)
{
    vl_app_t *app = calloc(1, sizeof(*app));

    if (app == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    app->conf = conf;
    app->sources = vl_source_cache_new(conf->max_metadata_cache_size);
    if (app->sources == NULL) {
        free(app);
        vl_err_set(err, VL_ENOMEM, "cannot create the image handle cache");
        return NULL;
    }
    app->tiles = vl_tiles_new((size_t) (conf->max_image_cache_size * 1048576));
    vl_source_cache_set_tiles(app->sources, app->tiles);
    /* a bad MEMCACHED_SERVERS costs the cache, never the service */
    {
        vl_err_t merr = { 0 };

        app->mc = vl_cache_new(conf, &merr);
        if (app->mc == NULL) {
            vl_log(VL_LOG_ERROR, NULL, "memcached disabled: %s", merr.msg);
        }
    }
    return app;
}

void
vl_app_free(vl_app_t *app)
{
    if (app == NULL) {
        return;
    }
    vl_source_cache_free(app->sources);
    vl_tiles_free(app->tiles);
    vl_cache_free(app->mc);
    free(app);
}

static int
handler_has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* A header whose value lives at least as long as the pool (static, the
 * configuration or the pool): no formatting, no copy. */
static int
handler_header(vl_http_resp_t *resp, const char *name, const char *value)
{
    if (resp->nheaders >= VL_HTTP_MAX_HEADERS) {
        return -1;
    }
    resp->headers[resp->nheaders].name = name;
    resp->headers[resp->nheaders].value = value;
    resp->nheaders++;
    return 0;
}

/* The n parts one after the other, NUL-terminated, in the pool. */
static char *
handler_cat(vl_pool_t *pool, const vl_str_t *parts, size_t n)
{
    size_t len = 0;
    char  *buf, *p;

    for (size_t i = 0; i < n; i++) {
        len += parts[i].len;
    }
    if ((buf = vl_pool_alloc(pool, len + 1)) == NULL) {
        return NULL;
    }
    p = buf;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, parts[i].data, parts[i].len);
        p += parts[i].len;
    }
    *p = '\0';
    return buf;
}

#define HANDLER_S(s) ((vl_str_t) { strlen(s), (s) })

/* "\"%016llx\"" of h into etag[19]. */
static void
handler_etag(uint64_t h, char etag[24])
{
    etag[0] = '"';
    for (int i = 0; i < 16; i++) {
        etag[1 + i] = "0123456789abcdef"[(h >> (60 - 4 * i)) & 15];
    }
    etag[17] = '"';
    etag[18] = '\0';
}

/* An error response: status from the table, one line of text, no
 * Cache-Control (CORS was added on entry). */
static void
handler_error(vl_http_resp_t *resp, vl_pool_t *pool, const vl_err_t *err)
{
    vl_status_t code = err->code == VL_OK ? VL_EINTERNAL : err->code;
    const char *msg = err->msg[0] != '\0' ? err->msg : "internal error";
    char       *copy = vl_pool_strdup(pool, msg);

    resp->body = NULL;
    resp->body_len = 0;
    vl_http_resp_text(resp, pool, vl_status_http(code),
                      copy != NULL ? copy : "internal error");
}

static void
handler_fail(vl_http_resp_t *resp, vl_pool_t *pool, vl_status_t code,
             const char *msg)
{
    vl_err_t err = { 0 };

    vl_err_set(&err, code, "%s", msg);
    handler_error(resp, pool, &err);
}

/* API version: forced by the web server, else the Accept profile, else
 * IIIF_VERSION. */
static int
handler_version(const vl_app_t *app, const vl_http_req_t *req)
{
    if (req->version_hint == 2 || req->version_hint == 3) {
        return req->version_hint;
    }
    if (req->accept != NULL) {
        if (strstr(req->accept, HANDLER_CTX3) != NULL) {
            return 3;
        }
        if (strstr(req->accept, HANDLER_CTX2) != NULL) {
            return 2;
        }
    }
    return app->conf->iiif_version == 2 ? 2 : 3;
}

/* The first element of a comma-separated forwarded header, trimmed. */
static const char *
handler_first(vl_pool_t *pool, const char *v)
{
    size_t n;

    while (*v == ' ' || *v == '\t') {
        v++;
    }
    n = strcspn(v, ", \t");
    return vl_pool_strndup(pool, v, n);
}

static char *
handler_strip_slash(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '/') {
        s[--n] = '\0';
    }
    return s;
}

/* The public base URI of the image ("id"): X-IIIF-ID, else BASE_URL + the
 * encoded identifier, else scheme://host[prefix] + the request path up to
 * and including the identifier (or the script path + "?IIIF=" + identifier
 * when the path is not in REQUEST_URI). The identifier stays encoded as
 * sent. */
static char *
handler_id_uri(const vl_app_t *app, const vl_http_req_t *req,
               const vl_iiif_req_t *ir, vl_pool_t *pool)
{
    const char *base = app->conf->base_url;
    const char *scheme, *host, *prefix = "", *uri = req->request_uri;
    char       *id;
    size_t      off, tail, ulen;

    if (handler_has(req->x_iiif_id)) {
        id = vl_pool_strdup(pool, req->x_iiif_id);
        return id != NULL ? handler_strip_slash(id) : NULL;
    }
    if (handler_has(base)) {
        size_t n = strlen(base);

        return vl_pool_printf(pool, "%s%s%.*s", base,
                              base[n - 1] == '/' ? "" : "/",
                              (int) ir->id_raw.len, ir->id_raw.data);
    }
    scheme = handler_has(req->fwd_proto) ? handler_first(pool, req->fwd_proto)
             : handler_has(req->scheme) ? req->scheme : "http";
    host = handler_has(req->fwd_host) ? handler_first(pool, req->fwd_host)
           : handler_has(req->host) ? req->host : "localhost";
    if (scheme == NULL || host == NULL) {
        return NULL;
    }
    if (handler_has(req->fwd_prefix)) {
        char *p = vl_pool_strdup(pool, req->fwd_prefix);

        if (p == NULL) {
            return NULL;
        }
        prefix = handler_strip_slash(p);
    }
    /* what follows the identifier in the IIIF path ("/info.json",
     * "/full/max/0/default.jpg" or nothing) is cut from REQUEST_URI */
    if (uri != NULL && ir->id_raw.data >= req->iiif.data
        && ir->id_raw.data + ir->id_raw.len <= req->iiif.data + req->iiif.len)
    {
        off = (size_t) (ir->id_raw.data - req->iiif.data);
        tail = req->iiif.len - off - ir->id_raw.len;
        ulen = strlen(uri);
        if (ulen >= tail + ir->id_raw.len
            && memcmp(uri + ulen - tail, ir->id_raw.data + ir->id_raw.len,
                      tail) == 0
            && memcmp(uri + ulen - tail - ir->id_raw.len, ir->id_raw.data,
                      ir->id_raw.len) == 0)
        {
            vl_str_t parts[6];

            parts[0] = HANDLER_S(scheme);
            parts[1] = HANDLER_S("://");
            parts[2] = HANDLER_S(host);
            parts[3] = HANDLER_S(prefix);
            parts[4] = HANDLER_S(uri[0] == '/' ? "" : "/");
            parts[5] = (vl_str_t) { ulen - tail, uri };
            return handler_cat(pool, parts, 6);
        }
    }
    /* a script URI with the path in the query (iipsrv style):
     * http://host/fcgi-bin/vellum?IIIF={id} */
    if (uri != NULL && uri[0] == '/' && req->query != NULL
        && strstr(req->query, "IIIF=") != NULL)
    {
        return vl_pool_printf(pool, "%s://%s%s%s?IIIF=%.*s", scheme, host,
                              prefix, uri, (int) ir->id_raw.len,
                              ir->id_raw.data);
    }
    return vl_pool_printf(pool, "%s://%s%s/%.*s", scheme, host, prefix,
                          (int) ir->id_raw.len, ir->id_raw.data);
}

static void
handler_lease_put(void *data)
{
    handler_lease_t *lease = data;

    vl_source_put(lease->cache, lease->src);
}

/* Check a source out; it goes back when the pool dies. */
static vl_source_t *
handler_source(vl_app_t *app, const vl_iiif_req_t *ir, vl_pool_t *pool,
               vl_err_t *err)
{
    handler_lease_t *lease = vl_pool_alloc(pool, sizeof(*lease));
    vl_source_t     *src;

    if (lease == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    src = vl_source_get(app->sources, app->conf, ir->id, err);
    if (src == NULL) {
        return NULL;
    }
    lease->cache = app->sources;
    lease->src = src;
    if (vl_pool_cleanup_add(pool, handler_lease_put, lease) != 0) {
        vl_source_put(app->sources, src);
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    return src;
}

/* FNV-1a, 64 bit */
static uint64_t
handler_fnv(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

static uint64_t
handler_fnv_str(uint64_t h, const char *s)
{
    /* the NUL separates fields */
    return handler_fnv(h, s, strlen(s) + 1);
}

static uint64_t
handler_fnv_file(const vl_file_id_t *f, int version)
{
    uint64_t  h = 14695981039346656037ULL;
    long long v[5];

    v[0] = (long long) f->dev;
    v[1] = (long long) f->ino;
    v[2] = f->size;
    v[3] = f->mtime_ns;
    v[4] = version;
    return handler_fnv(h, v, sizeof(v));
}

/* 1 if an If-None-Match list names etag (weak comparison, "*" too). */
static int
handler_etag_match(const char *list, const char *etag)
{
    size_t elen = strlen(etag);
    const char *p = list;

    while (*p != '\0') {
        const char *end;
        size_t      n;

        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        if (*p == '*') {
            return 1;
        }
        if (strncmp(p, "W/", 2) == 0) {
            p += 2;
        }
        end = p;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            end = end != NULL ? end + 1 : p + strlen(p);
        } else {
            end += strcspn(end, ", \t");
        }
        n = (size_t) (end - p);
        if (n == elen && memcmp(p, etag, n) == 0) {
            return 1;
        }
        p = end;
    }
    return 0;
}

/* 1 if the request's conditionals say the client has this version. */
static int
handler_not_modified(const vl_http_req_t *req, const char *etag,
                     long long mtime)
{
    if (req->if_none_match != NULL) {
        return handler_etag_match(req->if_none_match, etag);
    }
    if (req->if_modified_since != NULL) {
        long long t = vl_http_date_parse(req->if_modified_since);

        return t >= 0 && t >= mtime;
    }
    return 0;
}

/* Headers shared by 200 and 304 responses of images and info.json. */
static void
handler_cache_headers(vl_app_t *app, vl_http_resp_t *resp, vl_pool_t *pool,
                      const char *etag, long long mtime)
{
    /* one image file, one date: formatted once per thread */
    static _Thread_local long long last_mtime = -1;
    static _Thread_local char      last_date[64];

    if (handler_has(app->conf->cache_control)) {
        handler_header(resp, "Cache-Control", app->conf->cache_control);
    }
    if (mtime != last_mtime) {
        vl_http_date(mtime, last_date, sizeof(last_date));
        last_mtime = mtime;
    }
    handler_header(resp, "Last-Modified", vl_pool_strdup(pool, last_date));
    handler_header(resp, "ETag", vl_pool_strdup(pool, etag));
}

static void
handler_limits(const vl_conf_t *conf, vl_limits_t *l)
{
    *l = conf->limits;
}

static const char *
handler_info_type(const vl_http_req_t *req, int version)
{
    const char *a = req->accept;
    int         ld = a != NULL && strstr(a, "application/ld+json") != NULL;
    int         js = a != NULL && strstr(a, "application/json") != NULL;

    if (version == 2) {
        return ld ? HANDLER_LD_V2 : "application/json";
    }
    return js && !ld ? "application/json" : HANDLER_LD_V3;
}

/* A 200 info.json: the same headers whether built or from memcached. */
static void
handler_info_reply(vl_app_t *app, vl_http_resp_t *resp, vl_pool_t *pool,
                   const unsigned char *body, size_t len, const char *type,
                   int version, const char *etag, long long mtime)
{
    resp->status = 200;
    resp->body = body;
    resp->body_len = len;
    vl_http_header_add(resp, pool, "Content-Type", "%s", type);
    vl_http_header_add(resp, pool, "Link", "<%s>;rel=\"profile\"",
                       version == 2 ? HANDLER_PROFILE_V2 : HANDLER_PROFILE_V3);
    handler_cache_headers(app, resp, pool, etag, mtime);
}

static void
handler_info(vl_app_t *app, const vl_http_req_t *req, vl_http_resp_t *resp,
             vl_pool_t *pool, const vl_iiif_req_t *ir, int version)
{
    const vl_conf_t        *conf = app->conf;
    const vl_source_info_t *si;
    vl_source_t            *src;
    vl_limits_t             limits;
    vl_info_opts_t          o;
    vl_err_t                err = { 0 };
    vl_cache_hit_t          hit;
    const char             *type = handler_info_type(req, version);
    char                   *id, *json, etag[24], key[VL_CACHE_KEY_SIZE];
    size_t                  len;
    long long               mtime;
    uint64_t                h, gen = 0;
    int                     shared = vl_cache_enabled(app->mc);

    if ((id = handler_id_uri(app, req, ir, pool)) == NULL) {
        handler_fail(resp, pool, VL_ENOMEM, "out of memory");
        return;
    }
    if ((src = handler_source(app, ir, pool, &err)) == NULL) {
        handler_error(resp, pool, &err);
        return;
    }
    si = vl_source_info(src);
    mtime = si->file.mtime_ns / 1000000000LL;
    h = handler_fnv_file(&si->file, version);
    h = handler_fnv_str(h, id);
    h = handler_fnv_str(h, type);
    handler_etag(h, etag);

    vl_http_header_add(resp, pool, "Vary", "Accept");
    if (handler_not_modified(req, etag, mtime)) {
        resp->status = 304;
        handler_cache_headers(app, resp, pool, etag, mtime);
        return;
    }
    if (shared) {
        vl_cache_keyin_t ki = { version, ir->id, id, type, &si->file, conf };

        vl_cache_key(&ki, key);
        if (vl_cache_get(app->mc, pool, ir->id, key, &hit, &gen)) {
            handler_info_reply(app, resp, pool, hit.body, hit.len, hit.type,
                               version, etag, mtime);
            resp->cache = "hit";
            return;
        }
    }
    handler_limits(conf, &limits);
    memset(&o, 0, sizeof(o));
    o.version = version;
    o.id = id;
    o.src = si;
    o.limits = &limits;
    o.cors = handler_has(conf->cors);
    o.rights = vl_info_is_uri(si->rights) ? si->rights
               : vl_info_is_uri(conf->copyright) ? conf->copyright : NULL;
    if (vl_info_json(pool, &o, &json, &len, &err) != VL_OK) {
        handler_error(resp, pool, &err);
        return;
    }
    if (shared) {
        vl_cache_set(app->mc, key, gen, type, (const unsigned char *) json,
                     len);
        resp->cache = "miss";
    }
    handler_info_reply(app, resp, pool, (const unsigned char *) json, len,
                       type, version, etag, mtime);
}

/* A 200 image: the same headers rendered, passed through or from
 * memcached. */
static void
handler_image_reply(vl_app_t *app, vl_http_resp_t *resp, vl_pool_t *pool,
                    const unsigned char *body, size_t len, const char *type,
                    int version, const char *id, const vl_plan_t *plan,
                    const char *etag, long long mtime)
{
    vl_str_t parts[7];

    resp->status = 200;
    resp->body = body;
    resp->body_len = len;
    handler_header(resp, "Content-Type", type);
    parts[0] = HANDLER_S("<");
    parts[1] = HANDLER_S(version == 2 ? HANDLER_PROFILE_V2
                                      : HANDLER_PROFILE_V3);
    parts[2] = HANDLER_S(">;rel=\"profile\", <");
    parts[3] = HANDLER_S(id);
    parts[4] = HANDLER_S("/");
    parts[5] = HANDLER_S(plan->canonical);
    parts[6] = HANDLER_S(">;rel=\"canonical\"");
    handler_header(resp, "Link", handler_cat(pool, parts, 7));
    handler_cache_headers(app, resp, pool, etag, mtime);
}

/* The stored-tile fast path: a request that is exactly one stored JPEG
 * tile, as JPEG, with the colours stored (default or color of colour
 * data; default or gray of grey data: the renderer would give the same
 * bands), is answered with the stored bytes, tables merged; a padded edge
 * tile is cropped in the DCT domain. The ICC profile goes in under the
 * renderer's MAX_ICC rule, so both paths carry the same profile.
 * VL_EUNSUPP: not applicable here, render instead. */
static int
handler_passthrough(vl_app_t *app, vl_source_t *src, const vl_plan_t *plan,
                    vl_pool_t *pool, unsigned char **body, size_t *len,
                    vl_err_t *err)
{
    const vl_conf_t        *conf = app->conf;
    const vl_source_info_t *si = vl_source_info(src);
    const unsigned char    *icc = NULL;
    size_t                  icc_len = 0, raw_len;
    unsigned char          *raw;
    int                     bands = si->geom.bands, rc;
    vl_err_t                lerr = { 0 };

    if (!conf->codec_passthrough || !plan->is_stored_tile
        || plan->format != VL_FORMAT_JPG || plan->mirror
        || plan->rotation != 0.0 || si->bits != 8) {
        return VL_EUNSUPP;
    }
    if (!(bands == 3 && (plan->quality == VL_QUALITY_DEFAULT
                         || plan->quality == VL_QUALITY_COLOR))
        && !(bands == 1 && (plan->quality == VL_QUALITY_DEFAULT
                            || plan->quality == VL_QUALITY_GRAY))) {
        return VL_EUNSUPP;
    }
    rc = vl_source_read_jpeg_tile(src, pool, plan->level, plan->tile_col,
                                  plan->tile_row, &raw, &raw_len, &lerr);
    if (rc == VL_EUNSUPP) {
        return VL_EUNSUPP;          /* not a JPEG level */
    }
    if (rc != VL_OK) {
        *err = lerr;
        return rc;
    }
    if (si->icc != NULL && si->icc_len > 0 && bands >= 3
        && si->icc_len <= 255u * 65519u
        && (conf->max_icc < 0
            || (conf->max_icc > 0 && si->icc_len <= (size_t) conf->max_icc)))
    {
        icc = si->icc;
        icc_len = si->icc_len;
    }
    rc = vl_jpegcrop_passthrough(pool, raw, raw_len, plan->out_w, plan->out_h,
                                 bands, icc, icc_len, body, len, &lerr);
    if (rc == VL_EUNSUPP) {
        /* a stream we would not send as is (RGB-coded, 12-bit, ...) */
        vl_log(VL_LOG_DEBUG, NULL, "passthrough declined: %s", lerr.msg);
        return VL_EUNSUPP;
    }
    if (rc != VL_OK) {
        *err = lerr;
    }
    return rc;
}

static void
handler_image(vl_app_t *app, const vl_http_req_t *req, vl_http_resp_t *resp,
              vl_pool_t *pool, const vl_iiif_req_t *ir, int version)
{
    const vl_conf_t        *conf = app->conf;
    const vl_source_info_t *si;
    vl_source_t            *src;
    vl_limits_t             limits;
    vl_plan_t               plan;
    vl_render_opts_t        ro;
    vl_sink_t              *sink;
    vl_err_t                err = { 0 };
    vl_cache_hit_t          hit;
    char                   *id, etag[24], key[VL_CACHE_KEY_SIZE];
    unsigned char          *stored;
    size_t                  stored_len;
    long long               mtime;
    uint64_t                h, gen = 0;
    long                    q[4];
    int                     rc, shared = vl_cache_enabled(app->mc);

    if ((src = handler_source(app, ir, pool, &err)) == NULL) {
        handler_error(resp, pool, &err);
        return;
    }
    si = vl_source_info(src);
    handler_limits(conf, &limits);
    if (vl_plan_build(pool, ir, &si->geom, &limits, &plan, &err) != VL_OK) {
        handler_error(resp, pool, &err);
        return;
    }
    if (!vl_format_supported(plan.format)) {
        vl_err_set(&err, VL_EBADREQ, "format %s is not supported",
                   vl_format_ext(plan.format));
        handler_error(resp, pool, &err);
        return;
    }
    if ((id = handler_id_uri(app, req, ir, pool)) == NULL) {
        handler_fail(resp, pool, VL_ENOMEM, "out of memory");
        return;
    }
    mtime = si->file.mtime_ns / 1000000000LL;
    h = handler_fnv_file(&si->file, version);
    h = handler_fnv_str(h, plan.canonical);
    q[0] = conf->jpeg_quality;
    q[1] = conf->png_quality;
    q[2] = conf->interpolation;
    q[3] = conf->codec_passthrough;
    h = handler_fnv(h, q, sizeof(q));
    handler_etag(h, etag);

    if (handler_not_modified(req, etag, mtime)) {
        resp->status = 304;
        handler_cache_headers(app, resp, pool, etag, mtime);
        return;
    }
    /* a stored tile is as cheap as a memcached round trip: it goes first
     * and is not stored in memcached */
    rc = handler_passthrough(app, src, &plan, pool, &stored, &stored_len,
                             &err);
    if (rc == VL_OK) {
        handler_image_reply(app, resp, pool, stored, stored_len,
                            vl_format_mime(plan.format), version, id, &plan,
                            etag, mtime);
        resp->cache = "passthrough";
        return;
    }
    if (rc != VL_EUNSUPP) {
        handler_error(resp, pool, &err);
        return;
    }
    vl_err_clear(&err);
    if (shared) {
        vl_cache_keyin_t ki = { version, ir->id, plan.canonical, NULL,
                                &si->file, conf };

        vl_cache_key(&ki, key);
        if (vl_cache_get(app->mc, pool, ir->id, key, &hit, &gen)) {
            handler_image_reply(app, resp, pool, hit.body, hit.len, hit.type,
                                version, id, &plan, etag, mtime);
            resp->cache = "hit";
            return;
        }
    }
    memset(&ro, 0, sizeof(ro));
    ro.jpeg_quality = (int) conf->jpeg_quality;
    ro.png_level = (int) conf->png_quality;
    ro.interpolation = (int) conf->interpolation;
    ro.max_icc = conf->max_icc;
    /* the sink's cleanup refers to it: it lives in the pool */
    if ((sink = vl_pool_alloc(pool, sizeof(*sink))) == NULL) {
        handler_fail(resp, pool, VL_ENOMEM, "out of memory");
        return;
    }
    if (vl_sink_init(sink, pool,
                     (size_t) conf->max_response_size * 1024 * 1024, &err)
            != VL_OK
        || vl_render(pool, src, &plan, &ro, sink, &err) != VL_OK)
    {
        handler_error(resp, pool, &err);
        return;
    }
    if (shared) {
        vl_cache_set(app->mc, key, gen, vl_format_mime(plan.format),
                     sink->data, sink->len);
    }
    handler_image_reply(app, resp, pool, sink->data, sink->len,
                        vl_format_mime(plan.format), version, id, &plan, etag,
                        mtime);
    resp->cache = "miss";
}

static void
handler_base(vl_app_t *app, const vl_http_req_t *req, vl_http_resp_t *resp,
             vl_pool_t *pool, const vl_iiif_req_t *ir)
{
    char *id = handler_id_uri(app, req, ir, pool);

    if (id == NULL
        || vl_http_header_add(resp, pool, "Location", "%s/info.json", id)
               != 0)
    {
        handler_fail(resp, pool, VL_ENOMEM, "out of memory");
        return;
    }
    resp->status = 303;
    resp->body = NULL;
    resp->body_len = 0;
}

void
vl_handle(vl_app_t *app, const vl_http_req_t *req, vl_http_resp_t *resp,
          vl_pool_t *pool)
{
    const vl_conf_t *conf = app->conf;
    vl_iiif_req_t    ir;
    vl_err_t         err = { 0 };
    int              version;

    resp->cache = "-";
    if (handler_has(conf->cors)) {
        handler_header(resp, "Access-Control-Allow-Origin", conf->cors);
    }
    switch (req->method) {
    case VL_METHOD_GET:
        break;
    case VL_METHOD_HEAD:
        resp->head_only = 1;
        break;
    case VL_METHOD_OPTIONS:
        resp->status = 204;
        vl_http_header_add(resp, pool, "Access-Control-Allow-Methods",
                           "GET, HEAD, OPTIONS");
        vl_http_header_add(resp, pool, "Access-Control-Allow-Headers",
                           "Accept, If-None-Match, If-Modified-Since");
        vl_http_header_add(resp, pool, "Access-Control-Max-Age", "86400");
        vl_http_header_add(resp, pool, "Allow", "GET, HEAD, OPTIONS");
        return;
    default:
        vl_http_header_add(resp, pool, "Allow", "GET, HEAD, OPTIONS");
        handler_fail(resp, pool, VL_EMETHOD, "method not allowed");
        return;
    }
    if (!req->has_iiif) {
        handler_fail(resp, pool, VL_EBADREQ, "no IIIF request");
        return;
    }
    version = handler_version(app, req);
    if (vl_iiif_parse(pool, req->iiif, version, &ir, &err) != VL_OK) {
        handler_error(resp, pool, &err);
        return;
    }
    switch (ir.kind) {
    case VL_IIIF_BASE:
        handler_base(app, req, resp, pool, &ir);
        break;
    case VL_IIIF_INFO:
        handler_info(app, req, resp, pool, &ir, version);
        break;
    default:
        handler_image(app, req, resp, pool, &ir, version);
        break;
    }
}
