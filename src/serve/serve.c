/* SPDX-License-Identifier: MIT */
/*
 * serve: the per-process application state and the entry point of one
 * request: CORS, the route, the method, the API version and the decoded
 * identifier are settled here, then the route's handler answers. Also the
 * helpers every handler uses (errors, headers, the id URI, source leases).
 * All request memory is in the pool; source handles go back to the
 * per-worker cache through a pool cleanup.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "serve/serve_p.h"

typedef struct {
    vl_source_cache_t *cache;
    vl_source_t       *src;
} serve_lease_t;

vl_app_t *
vl_app_new(const vl_conf_t *conf, vl_err_t *err)
{
    vl_app_t *app = calloc(1, sizeof(*app));
    vl_err_t  merr = { 0 };

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
    app->tiles = vl_tiles_new(conf->tile_cache_bytes);
    vl_source_cache_set_tiles(app->sources, app->tiles);
    /* a bad MEMCACHED_SERVERS costs the cache, never the service */
    app->mc = vl_cache_new(conf, &merr);
    if (app->mc == NULL) {
        vl_log(VL_LOG_ERROR, NULL, "memcached disabled: %s", merr.msg);
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
serve_has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

void
vl_serve_header(vl_serve_t *s, const char *name, const char *value)
{
    vl_http_resp_t *resp = s->resp;

    if (value != NULL && resp->nheaders < VL_HTTP_MAX_HEADERS) {
        resp->headers[resp->nheaders].name = name;
        resp->headers[resp->nheaders].value = value;
        resp->nheaders++;
    }
}

void
vl_serve_error(vl_serve_t *s, const vl_err_t *err)
{
    vl_status_t code = err->code == VL_OK ? VL_EINTERNAL : err->code;
    const char *msg = err->msg[0] != '\0' ? err->msg : "internal error";
    char       *copy = vl_pool_strdup(s->pool, msg);

    s->resp->body = NULL;
    s->resp->body_len = 0;
    vl_http_resp_text(s->resp, s->pool, vl_status_http(code),
                      copy != NULL ? copy : "internal error");
    /* over capacity, timed out: the same request may succeed soon (unless
     * the caller said when already) */
    if (code == VL_EBUSY
        && vl_http_header_get(s->resp, "Retry-After") == NULL) {
        vl_serve_header(s, "Retry-After", VL_SERVE_RETRY_AFTER);
    }
}

void
vl_serve_fail(vl_serve_t *s, vl_status_t code, const char *msg)
{
    vl_err_t err = { 0 };

    vl_err_set(&err, code, "%s", msg);
    vl_serve_error(s, &err);
}

void
vl_serve_reserved(vl_serve_t *s)
{
    vl_serve_fail(s, VL_ENOTFOUND, "not found");
}

/* The first element of a comma-separated forwarded header, trimmed. */
static const char *
serve_first(vl_pool_t *pool, const char *v)
{
    size_t n;

    while (*v == ' ' || *v == '\t') {
        v++;
    }
    n = strcspn(v, ", \t");
    return vl_pool_strndup(pool, v, n);
}

static char *
serve_strip_slash(char *s)
{
    size_t n = strlen(s);

    while (n > 0 && s[n - 1] == '/') {
        s[--n] = '\0';
    }
    return s;
}

const char *
vl_serve_base(vl_serve_t *s)
{
    const vl_http_req_t *req = s->req;
    vl_pool_t           *pool = s->pool;
    const char          *base = s->conf->base_url;
    const char          *scheme, *host, *prefix = "", *uri = req->request_uri;
    size_t               ulen, cut;

    if (s->base != NULL) {
        return s->base;
    }
    if (serve_has(base)) {
        size_t n = strlen(base);

        s->base = base[n - 1] == '/' ? base
                                     : vl_pool_printf(pool, "%s/", base);
        return s->base;
    }
    scheme = serve_has(req->fwd_proto) ? serve_first(pool, req->fwd_proto)
             : serve_has(req->scheme)  ? req->scheme
                                       : "http";
    host = serve_has(req->fwd_host) ? serve_first(pool, req->fwd_host)
           : serve_has(req->host)   ? req->host
                                    : "localhost";
    if (scheme == NULL || host == NULL) {
        return NULL;
    }
    if (serve_has(req->fwd_prefix)) {
        char *p = vl_pool_strdup(pool, req->fwd_prefix);

        if (p == NULL) {
            return NULL;
        }
        prefix = serve_strip_slash(p);
    }
    /* the IIIF path ("{id}/info.json", "cd/pages/1.json") is cut from the
     * end of REQUEST_URI: what is left is where the service lives. The
     * front may have decoded the path (nginx's $1 or $uri, lighttpd):
     * the two are compared as decoded text */
    ulen = uri != NULL ? strlen(uri) : 0;
    cut = uri != NULL && s->path.len > 0
              ? vl_percent_suffix((vl_str_t) { ulen, uri }, s->path)
              : (size_t) -1;
    if (cut != (size_t) -1) {
        vl_str_t parts[6];

        parts[0] = vl_str_from(scheme);
        parts[1] = VL_STR("://");
        parts[2] = vl_str_from(host);
        parts[3] = vl_str_from(prefix);
        parts[4] = vl_str_from(uri[0] == '/' ? "" : "/");
        parts[5] = (vl_str_t) { ulen - cut, uri };
        s->uri_path = (vl_str_t) { cut, uri + ulen - cut };
        s->base = vl_str_cat(pool, parts, 6);
    } else if (uri != NULL && uri[0] == '/' && req->query != NULL
               && strstr(req->query, "IIIF=") != NULL) {
        /* a script URI with the path in the query (iipsrv style):
         * http://host/fcgi-bin/vellum?IIIF={id} */
        s->base = vl_pool_printf(pool, "%s://%s%s%s?IIIF=", scheme, host,
                                 prefix, uri);
    } else {
        s->base = vl_pool_printf(pool, "%s://%s%s/", scheme, host, prefix);
    }
    /* the host, prefix and path come from the request: what is not a URI
     * character in them (a path the front decoded, a hostile Host) is
     * escaped, so every id written from this base is a URI */
    if (s->base != NULL) {
        s->base = vl_uri_escape(pool, s->base, strlen(s->base), "#");
    }
    return s->base;
}

char *
vl_serve_id_uri(vl_serve_t *s)
{
    const vl_http_req_t *req = s->req;
    const char          *base;
    vl_str_t             parts[2];
    char                *id;

    if (serve_has(req->x_iiif_id)) {
        id = vl_uri_escape(s->pool, req->x_iiif_id, strlen(req->x_iiif_id),
                           NULL);
        return id != NULL ? serve_strip_slash(id) : NULL;
    }
    if ((base = vl_serve_base(s)) == NULL) {
        return NULL;
    }
    parts[0] = vl_str_from(base);
    parts[1] = s->ir.id_raw;
    /* spelled as the client spelled it (a front that decoded the path
     * turned "a%2Fb" into "a/b"): the part of REQUEST_URI before what
     * follows the identifier in the path */
    if (s->uri_path.len > 0 && s->ir.id_raw.data >= s->path.data
        && s->ir.id_raw.data + s->ir.id_raw.len <= s->path.data + s->path.len)
    {
        const char *end = s->ir.id_raw.data + s->ir.id_raw.len;
        vl_str_t    rest = { (size_t) (s->path.data + s->path.len - end),
                             end };
        size_t      n = vl_percent_suffix(s->uri_path, rest);

        if (n != (size_t) -1 && n < s->uri_path.len) {
            parts[1] = (vl_str_t) { s->uri_path.len - n, s->uri_path.data };
        }
    }
    /* the identifier as sent may hold what a URI cannot (a front that
     * decoded the path, a client that sent a raw space or quote): escaped
     * here, and '?' and '#' too, which would end the path */
    if ((id = vl_uri_escape(s->pool, parts[1].data, parts[1].len, "?#"))
        == NULL) {
        return NULL;
    }
    parts[1] = vl_str_from(id);
    return vl_str_cat(s->pool, parts, 2);
}

static void
serve_lease_put(void *data)
{
    serve_lease_t *lease = data;

    vl_source_put(lease->cache, lease->src);
}

vl_source_t *
vl_serve_source(vl_serve_t *s, vl_err_t *err)
{
    serve_lease_t *lease = vl_pool_alloc(s->pool, sizeof(*lease));
    vl_source_t   *src;

    if (lease == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    src = vl_source_get(s->app->sources, s->conf, s->ir.id, err);
    if (src == NULL) {
        return NULL;
    }
    lease->cache = s->app->sources;
    lease->src = src;
    if (vl_pool_cleanup_add(s->pool, serve_lease_put, lease) != 0) {
        vl_source_put(s->app->sources, src);
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    return src;
}

/* API version: forced by the web server, else the Accept profile, else
 * IIIF_VERSION. */
static int
serve_version(const vl_conf_t *conf, const vl_http_req_t *req)
{
    if (req->version_hint == 2 || req->version_hint == 3) {
        return req->version_hint;
    }
    if (req->accept != NULL) {
        if (strstr(req->accept, VL_CTX_IMAGE3) != NULL) {
            return 3;
        }
        if (strstr(req->accept, VL_CTX_IMAGE2) != NULL) {
            return 2;
        }
    }
    return conf->iiif_version == 2 ? 2 : 3;
}

void
vl_handle(vl_app_t *app, const vl_http_req_t *req, vl_http_resp_t *resp,
          vl_pool_t *pool)
{
    vl_serve_t        s;
    vl_str_t          path = req->iiif;
    const vl_route_t *route = NULL;
    unsigned          methods = VL_M_READ, bit;
    vl_err_t          err = { 0 };

    memset(&s, 0, sizeof(s));
    s.app = app;
    s.conf = app->conf;
    s.req = req;
    s.resp = resp;
    s.pool = pool;
    resp->cache = "-";
    if (serve_has(s.conf->cors)) {
        vl_serve_header(&s, "Access-Control-Allow-Origin", s.conf->cors);
    }
    if (req->has_iiif) {
        /* the front may hand over the path with its leading slash, or
         * encoded as iipsrv's documented nginx rule does (IIIF=%2F$1) */
        vl_str_t sent = path;

        if (path.len > 0 && path.data[0] == '/') {
            path.data++;
            path.len--;
        } else if (path.len >= 3 && path.data[0] == '%' && path.data[1] == '2'
                   && (path.data[2] == 'F' || path.data[2] == 'f')) {
            path.data += 3;
            path.len -= 3;
        }
        s.path = path;
        route = vl_route_find(path, &s.m);
        /* "/full/max/0/default.jpg" is an image request with an empty
         * identifier (/iiif/3//full/...): a 400, not the base URI of an
         * identifier "full/max/0/default.jpg" once its slash is cut */
        if (sent.len != path.len && route->kind == VL_ROUTE_ID) {
            vl_route_match_t m2;
            const vl_route_t *r2 = vl_route_find(sent, &m2);

            if (r2->kind == VL_ROUTE_IMAGE && m2.id.len == 0) {
                route = r2;
                s.m = m2;
                s.path = sent;
            }
        }
        methods = route->methods;
        resp->route = route->name;
    }
    bit = req->method == VL_METHOD_GET       ? VL_M_GET
          : req->method == VL_METHOD_HEAD    ? VL_M_HEAD
          : req->method == VL_METHOD_OPTIONS ? VL_M_OPTIONS
                                             : 0;
    if ((methods & bit) == 0) {
        vl_http_header_add(resp, pool, "Allow", "%s", vl_route_allow(methods));
        vl_serve_fail(&s, VL_EMETHOD, "method not allowed");
        return;
    }
    if (bit == VL_M_OPTIONS) {
        /* CORS preflight */
        resp->status = 204;
        vl_http_header_add(resp, pool, "Access-Control-Allow-Methods", "%s",
                           vl_route_allow(methods));
        vl_http_header_add(resp, pool, "Access-Control-Allow-Headers",
                           "Accept, If-None-Match, If-Modified-Since");
        vl_http_header_add(resp, pool, "Access-Control-Max-Age", "86400");
        vl_http_header_add(resp, pool, "Allow", "%s", vl_route_allow(methods));
        return;
    }
    resp->head_only = bit == VL_M_HEAD;
    if (route == NULL) {
        vl_serve_fail(&s, VL_EBADREQ, "no IIIF request");
        return;
    }
    s.version = serve_version(s.conf, req);
    s.ir.version = s.version;
    /* the identifier, decoded once; a part of the root (the collection of
     * the root, "collection/2.json") has none */
    if ((route->kind == VL_ROUTE_SUFFIX || route->kind == VL_ROUTE_IMAGE
         || route->kind == VL_ROUTE_ID || route->kind == VL_ROUTE_PART)
        && !(route->kind == VL_ROUTE_PART && s.m.id.len == 0))
    {
        if (vl_iiif_identifier(pool, s.m.id, &s.ir, &err) != VL_OK) {
            vl_serve_error(&s, &err);
            return;
        }
        if (vl_route_reserved(s.ir.id)) {
            vl_serve_fail(&s, VL_ENOTFOUND, "identifier not found");
            return;
        }
    }
    route->fn(&s);
}
