/* SPDX-License-Identifier: MIT */
/*
 * http: the plain request and response that front/fcgi.c fills from and
 * writes to FastCGI, and what HTTP itself says about them (reason phrases,
 * dates, conditionals). Nothing below front/ knows about FastCGI, so the whole
 * request path runs in-process (tests, `vellum render`). All strings are
 * borrowed (FastCGI env or the request pool) and live as long as the request.
 */
#ifndef VL_HTTP_H
#define VL_HTTP_H

#include <stddef.h>

#include "core/pool.h"
#include "core/str.h"

typedef enum {
    VL_METHOD_GET,
    VL_METHOD_HEAD,
    VL_METHOD_OPTIONS,
    VL_METHOD_OTHER
} vl_method_t;

typedef struct {
    vl_method_t  method;
    const char  *method_name;     /* as sent, for logs */
    /* The IIIF path "{id}/{region}/..." or "{id}/info.json", still
     * percent-encoded as the client sent it: the IIIF= query argument, or
     * REQUEST_URI after the URI_MAP prefix. has_iiif = 0 when neither. */
    vl_str_t     iiif;
    int          has_iiif;
    const char  *request_uri;     /* REQUEST_URI without the query string */
    const char  *query;           /* QUERY_STRING, may be "" */
    const char  *scheme;          /* "http" or "https" */
    const char  *host;            /* Host header, may carry ":port" */
    const char  *accept;          /* Accept header or NULL */
    const char  *if_none_match;   /* or NULL */
    const char  *if_modified_since;
    const char  *x_iiif_id;       /* X-IIIF-ID: the public id URI of the image */
    const char  *fwd_proto;       /* X-Forwarded-Proto */
    const char  *fwd_host;        /* X-Forwarded-Host */
    const char  *fwd_prefix;      /* X-Forwarded-Prefix */
    const char  *fwd_for;         /* X-Forwarded-For */
    const char  *remote_addr;     /* REMOTE_ADDR: the peer of the web
                                     server (the client, or a proxy) */
    int          version_hint;    /* 2 or 3 forced by the web server
                                     (fastcgi_param IIIF_VERSION), else 0 */
    const char  *reqid;           /* short id for logs and X-Request-Id */
} vl_http_req_t;

#define VL_HTTP_MAX_HEADERS 24

typedef struct {
    const char *name;
    const char *value;
} vl_http_header_t;

typedef struct {
    int                  status;            /* 200, 303, 304, 400, ... */
    vl_http_header_t     headers[VL_HTTP_MAX_HEADERS];
    size_t               nheaders;
    const unsigned char *body;              /* borrowed; NULL if none */
    size_t               body_len;
    int                  head_only;         /* HEAD: headers (with the real
                                               Content-Length), no body */
    const char          *cache;             /* "hit", "miss", "passthrough"
                                               or "-" for the access log */
    const char          *errmsg;            /* one-line reason, for the log */
    const char          *route;             /* the route's name ("image",
                                               "info", ...), for metrics;
                                               NULL: none matched */
} vl_http_resp_t;

/* Zero a response (status 500, no headers, cache "-"). */
void vl_http_resp_init(vl_http_resp_t *resp);

/* Add a header; value is copied into the pool. Returns 0 or -1 (full/ENOMEM). */
int vl_http_header_add(vl_http_resp_t *resp, vl_pool_t *pool,
                       const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The value of a header already added, or NULL. */
const char *vl_http_header_get(const vl_http_resp_t *resp, const char *name);

/* Set status and a one-line text/plain body "msg\n" (never a path). */
int vl_http_resp_text(vl_http_resp_t *resp, vl_pool_t *pool, int status,
                      const char *msg);

/* Format an HTTP date (RFC 7231 IMF-fixdate) into buf (>= 32 bytes). */
void vl_http_date(long long t, char *buf, size_t len);

/* Parse an HTTP date; returns -1 if it is not one. */
long long vl_http_date_parse(const char *s);

/* Reason phrase of an HTTP status ("Not Found"); "Unknown" if unknown. */
const char *vl_http_reason(int status);

/* 1 if an If-None-Match list names etag (weak comparison, "*" too). */
int vl_http_etag_match(const char *list, const char *etag);

/* 1 if the request's conditionals say the client has the version with
 * this ETag and modification time (If-None-Match wins over
 * If-Modified-Since, RFC 9110 13.2.2; mtime < 0: the response has no
 * Last-Modified, If-Modified-Since is ignored). */
int vl_http_not_modified(const vl_http_req_t *req, const char *etag,
                         long long mtime);

#endif /* VL_HTTP_H */
