/* SPDX-License-Identifier: MIT */
/*
 * fcgi_env: one pass over the FastCGI parameters picks out those vellum
 * reads; the request is assembled from them. Nothing here is decoded: the
 * IIIF path stays percent-encoded as the client sent it (the parser
 * decodes each part once).
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
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
    FP_HTTP_X_FORWARDED_FOR,
    FP_REMOTE_ADDR,
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
    FCGI_P("HTTP_X_FORWARDED_FOR"),
    FCGI_P("REMOTE_ADDR"),
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
    req->fwd_for = p[FP_HTTP_X_FORWARDED_FOR];
    req->remote_addr = p[FP_REMOTE_ADDR];

    v = p[FP_IIIF_VERSION];
    if (v != NULL && strcmp(v, "2") == 0) {
        req->version_hint = 2;
    } else if (v != NULL && strcmp(v, "3") == 0) {
        req->version_hint = 3;
    }
    return 0;
}


/* Loopback, private (RFC 1918, fc00::/7), link-local: a hop of the site's
 * own. Text that is not an address counts as not internal. */
static int
fcgi_internal(const char *a, size_t n)
{
    char           t[64];
    struct in_addr v4;
    unsigned char  v6[16];

    if (n == 0 || n >= sizeof(t)) {
        return 0;
    }
    memcpy(t, a, n);
    t[n] = '\0';
    if (strncmp(t, "::ffff:", 7) == 0 && strchr(t + 7, '.') != NULL) {
        memmove(t, t + 7, strlen(t + 7) + 1);
    }
    if (inet_pton(AF_INET, t, &v4) == 1) {
        uint32_t h = ntohl(v4.s_addr);

        return (h >> 24) == 127 || (h >> 24) == 10
               || (h >> 20) == ((172u << 4) | 1) || (h >> 16) == ((192u << 8) | 168)
               || (h >> 16) == ((169u << 8) | 254);
    }
    if (inet_pton(AF_INET6, t, v6) == 1) {
        static const unsigned char lo[16] = { [15] = 1 };

        return memcmp(v6, lo, 16) == 0 || (v6[0] & 0xfe) == 0xfc
               || (v6[0] == 0xfe && (v6[1] & 0xc0) == 0x80);
    }
    return 0;
}

/* a (n bytes) as 16 bytes, an IPv4 address as ::ffff:a.b.c.d; *v4 says
 * it was IPv4 text. 0, or -1 if it is not an address. */
static int
fcgi_addr16(const char *a, size_t n, unsigned char out[16], int *v4)
{
    char t[64];

    if (n == 0 || n >= sizeof(t)) {
        return -1;
    }
    memcpy(t, a, n);
    t[n] = '\0';
    *v4 = 0;
    if (inet_pton(AF_INET, t, out + 12) == 1) {
        memset(out, 0, 10);
        out[10] = out[11] = 0xff;
        *v4 = 1;
        return 0;
    }
    return inet_pton(AF_INET6, t, out) == 1 ? 0 : -1;
}

int
vl_fcgi_addr_in(const char *set, const char *a, size_t n)
{
    unsigned char addr[16];
    int           v4;

    if (set == NULL || fcgi_addr16(a, n, addr, &v4) != 0) {
        return 0;
    }
    for (const char *p = set; *p != '\0';) {
        const char   *e, *slash;
        unsigned char net[16];
        long          bits;
        int           nv4;

        while (*p == ' ' || *p == '\t' || *p == ',') {
            p++;
        }
        for (e = p; *e != '\0' && *e != ' ' && *e != '\t' && *e != ',';) {
            e++;
        }
        if (e == p) {
            break;
        }
        slash = memchr(p, '/', (size_t) (e - p));
        if (fcgi_addr16(p, (size_t) ((slash != NULL ? slash : e) - p), net,
                        &nv4) == 0) {
            bits = 128;
            if (slash != NULL) {
                char *end;

                bits = strtol(slash + 1, &end, 10);
                bits = end != e || bits < 0 || bits > (nv4 ? 32 : 128)
                           ? -1 : nv4 ? bits + 96 : bits;
            }
            if (bits >= 0) {
                size_t k = (size_t) bits / 8;
                int    r = (int) (bits % 8);

                if (memcmp(addr, net, k) == 0
                    && (r == 0
                        || ((addr[k] ^ net[k]) & (0xff00 >> r) & 0xff) == 0))
                {
                    return 1;
                }
            }
        }
        p = e;
    }
    return 0;
}

/* Is the hop a (n bytes) trusted: in the set, or the built-in internal
 * one when there is no set. */
static int
fcgi_trusted(const char *trusted, const char *a, size_t n)
{
    return trusted != NULL ? vl_fcgi_addr_in(trusted, a, n)
                           : fcgi_internal(a, n);
}

const char *
vl_fcgi_client(const vl_http_req_t *req, char *buf, size_t n)
{
    return vl_fcgi_client_via(req, NULL, buf, n);
}

const char *
vl_fcgi_client_via(const vl_http_req_t *req, const char *trusted, char *buf,
                   size_t n)
{
    const char *ra = req->remote_addr, *x = req->fwd_for;

    snprintf(buf, n, "%s", ra != NULL && *ra != '\0' ? ra : "-");
    if (ra == NULL || !fcgi_trusted(trusted, ra, strlen(ra)) || x == NULL) {
        return buf;
    }
    /* right to left: the first hop that is not the site's own */
    for (size_t end = strlen(x); end > 0;) {
        size_t b = end, e;

        while (b > 0 && x[b - 1] != ',') {
            b--;
        }
        e = end;
        end = b > 0 ? b - 1 : 0;
        while (b < e && (x[b] == ' ' || x[b] == '\t')) {
            b++;
        }
        while (e > b && (x[e - 1] == ' ' || x[e - 1] == '\t')) {
            e--;
        }
        if (e > b && !fcgi_trusted(trusted, x + b, e - b)) {
            /* an address, or nothing: what is logged must be one token */
            char           t[64];
            struct in_addr v4;
            unsigned char  v6[16];

            if (e - b < sizeof(t)) {
                memcpy(t, x + b, e - b);
                t[e - b] = '\0';
                if (inet_pton(AF_INET, t, &v4) == 1
                    || inet_pton(AF_INET6, t, v6) == 1) {
                    snprintf(buf, n, "%s", t);
                }
            }
            return buf;
        }
    }
    return buf;
}
