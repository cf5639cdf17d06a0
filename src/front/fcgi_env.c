/* SPDX-License-Identifier: MIT */
/*
 * fcgi_env: one pass over the FastCGI parameters picks out those vellum
 * reads; the request is assembled from them. Nothing here is decoded: the
 * IIIF path stays percent-encoded as the client sent it (the parser
 * decodes each part once).
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "core/str.h"
#include "front/fcgi_env.h"

/* The parameters vellum reads, by FP_* index: one pass over the
 * environment, the last occurrence of each wins: a web server sends its
 * parameters in the order of its configuration, so a later line overrides
 * an earlier one (nginx's `fastcgi_param HTTP_HOST $http_host;` after
 * `include fastcgi_params;`, whose Debian copy sends $host, without the
 * port). Clients cannot add a parameter that is not HTTP_*, and nginx,
 * Apache and lighttpd do not send a request header that a parameter of
 * the same name replaces. */
enum {
    FP_REQUEST_METHOD,
    FP_REQUEST_URI,
    FP_SCRIPT_NAME,
    FP_QUERY_STRING,
    FP_HTTPS,
    FP_REQUEST_SCHEME,
    FP_HTTP_HOST,
    FP_SERVER_NAME,
    FP_HTTP_ACCEPT,
    FP_HTTP_IF_NONE_MATCH,
    FP_HTTP_IF_MODIFIED_SINCE,
    FP_HTTP_X_IIIF_ID,
    FP_HTTP_X_FORWARDED_PROTO,
    FP_HTTP_X_FORWARDED_HOST,
    FP_HTTP_X_FORWARDED_PREFIX,
    FP_IIIF_VERSION,
    FCGI_NPARAMS
};

#define FCGI_P(n)                                                              \
    {                                                                          \
        n, sizeof(n) - 1                                                       \
    }
static const struct {
    const char *name;
    size_t      len;
} fcgi_param_names[FCGI_NPARAMS] = {
    FCGI_P("REQUEST_METHOD"),
    FCGI_P("REQUEST_URI"),
    FCGI_P("SCRIPT_NAME"),
    FCGI_P("QUERY_STRING"),
    FCGI_P("HTTPS"),
    FCGI_P("REQUEST_SCHEME"),
    FCGI_P("HTTP_HOST"),
    FCGI_P("SERVER_NAME"),
    FCGI_P("HTTP_ACCEPT"),
    FCGI_P("HTTP_IF_NONE_MATCH"),
    FCGI_P("HTTP_IF_MODIFIED_SINCE"),
    FCGI_P("HTTP_X_IIIF_ID"),
    FCGI_P("HTTP_X_FORWARDED_PROTO"),
    FCGI_P("HTTP_X_FORWARDED_HOST"),
    FCGI_P("HTTP_X_FORWARDED_PREFIX"),
    FCGI_P("IIIF_VERSION"),
};
#undef FCGI_P


static void
fcgi_params(char **envp, const char *out[FCGI_NPARAMS])
{
    for (size_t i = 0; i < FCGI_NPARAMS; i++) {
        out[i] = NULL;
    }
    for (; envp != NULL && *envp != NULL; envp++) {
        const char *e = *envp, *eq = strchr(e, '=');
        size_t      n;

        if (eq == NULL) {
            continue;
        }
        n = (size_t) (eq - e);
        for (size_t i = 0; i < FCGI_NPARAMS; i++) {
            if (fcgi_param_names[i].len == n
                && memcmp(e, fcgi_param_names[i].name, n) == 0) {
                out[i] = eq + 1;
                break;
            }
        }
    }
}


/* The raw value of the IIIF= argument of a query string. */
static int
fcgi_query_iiif(const char *query, vl_str_t *out)
{
    const char *p = query;

    while (p != NULL && *p != '\0') {
        const char *end = strchr(p, '&');
        size_t      len = end != NULL ? (size_t) (end - p) : strlen(p);

        if (len >= 5 && strncmp(p, "IIIF=", 5) == 0) {
            out->data = p + 5;
            out->len = len - 5;
            return 1;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return 0;
}


/* URI_MAP (parsed at load, core/conf.c): the path after "/prefix/" of the
 * first entry that matches; an empty prefix maps every path. */
static int
fcgi_uri_map(const vl_conf_t *conf, const char *path, vl_str_t *out)
{
    if (path == NULL || path[0] != '/') {
        return 0;
    }
    path++;
    for (size_t i = 0; i < conf->nuri_maps; i++) {
        const vl_uri_map_t *m = &conf->uri_maps[i];

        if (m->len == 0) {
            *out = vl_str_from(path);
            return 1;
        }
        if (strncmp(path, m->prefix, m->len) == 0 && path[m->len] == '/') {
            *out = vl_str_from(path + m->len + 1);
            return 1;
        }
    }
    return 0;
}


int
vl_fcgi_req_from_env(char **envp, const vl_conf_t *conf, vl_pool_t *pool,
                     const char *reqid, vl_http_req_t *req)
{
    const char *m, *uri, *q, *v, *p[FCGI_NPARAMS];

    memset(req, 0, sizeof(*req));
    req->reqid = reqid;
    fcgi_params(envp, p);

    m = p[FP_REQUEST_METHOD];
    req->method_name = m != NULL ? m : "-";
    if (m == NULL || strcmp(m, "GET") == 0) {
        req->method = VL_METHOD_GET;
    } else if (strcmp(m, "HEAD") == 0) {
        req->method = VL_METHOD_HEAD;
    } else if (strcmp(m, "OPTIONS") == 0) {
        req->method = VL_METHOD_OPTIONS;
    } else {
        req->method = VL_METHOD_OTHER;
    }

    uri = p[FP_REQUEST_URI];
    if (uri == NULL) {
        uri = p[FP_SCRIPT_NAME];
    }
    if (uri == NULL) {
        uri = "/";
    }
    q = strchr(uri, '?');
    if (q != NULL) {
        uri = vl_pool_strndup(pool, uri, (size_t) (q - uri));
        if (uri == NULL) {
            return -1;
        }
    }
    req->request_uri = uri;

    v = p[FP_QUERY_STRING];
    req->query = v != NULL ? v : "";
    if (fcgi_query_iiif(req->query, &req->iiif)) {
        req->has_iiif = 1;
    } else if (fcgi_uri_map(conf, uri, &req->iiif)) {
        req->has_iiif = 1;
    }

    v = p[FP_HTTPS];
    if (v != NULL && (strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)) {
        req->scheme = "https";
    } else if ((v = p[FP_REQUEST_SCHEME]) != NULL
               && strcasecmp(v, "https") == 0) {
        req->scheme = "https";
    } else {
        req->scheme = "http";
    }

    req->host = p[FP_HTTP_HOST];
    if (req->host == NULL || *req->host == '\0') {
        v = p[FP_SERVER_NAME];
        req->host = v != NULL && *v != '\0' ? v : "localhost";
    }
    req->accept = p[FP_HTTP_ACCEPT];
    req->if_none_match = p[FP_HTTP_IF_NONE_MATCH];
    req->if_modified_since = p[FP_HTTP_IF_MODIFIED_SINCE];
    req->x_iiif_id = p[FP_HTTP_X_IIIF_ID];
    req->fwd_proto = p[FP_HTTP_X_FORWARDED_PROTO];
    req->fwd_host = p[FP_HTTP_X_FORWARDED_HOST];
    req->fwd_prefix = p[FP_HTTP_X_FORWARDED_PREFIX];

    v = p[FP_IIIF_VERSION];
    if (v != NULL && strcmp(v, "2") == 0) {
        req->version_hint = 2;
    } else if (v != NULL && strcmp(v, "3") == 0) {
        req->version_hint = 3;
    }
    return 0;
}
