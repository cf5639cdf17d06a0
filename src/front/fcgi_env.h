/* SPDX-License-Identifier: MIT */
/*
 * fcgi_env: FastCGI (CGI) parameters -> vl_http_req_t. Pure: no libfcgi,
 * no I/O, so every way a web server can pass a request (IIIF= query
 * argument, URI_MAP on REQUEST_URI, HTTPS, forwarded headers, the
 * IIIF_VERSION hint) is unit-tested (test_fcgi_env).
 */
#ifndef VL_FCGI_ENV_H
#define VL_FCGI_ENV_H

#include "core/conf.h"
#include "core/pool.h"
#include "serve/http.h"

/* Fill req from a NULL-terminated NAME=value array: method, IIIF path
 * (the IIIF= query argument, else REQUEST_URI after the first URI_MAP
 * prefix that matches), request URI without its query, scheme, host,
 * headers, IIIF_VERSION hint. The last occurrence of a parameter wins.
 * Strings point into envp or pool; reqid is stored as given.
 * Returns 0, or -1 on ENOMEM. */
int vl_fcgi_req_from_env(char **envp, const vl_conf_t *conf, vl_pool_t *pool,
                         const char *reqid, vl_http_req_t *req);

/* The client's address for the access log, into buf (n bytes): REMOTE_ADDR
 * (the web server's peer); when that is a loopback or private address (a
 * load balancer or proxy of the site's own in front of the web server),
 * the last X-Forwarded-For address that is not (the one the site's own
 * proxies saw connect: addresses before it are what the client claims).
 * "-" when the web server sent no REMOTE_ADDR. Returns buf. */
const char *vl_fcgi_client(const vl_http_req_t *req, char *buf, size_t n);

/* The same with the trusted peers a TRUSTED_PROXIES list names (addresses
 * and prefixes a.b.c.d/n, x::/n, blank- or comma-separated) instead of
 * the built-in loopback/private/link-local set; trusted NULL: that set.
 * An untrusted REMOTE_ADDR is the client whatever X-Forwarded-For says. */
const char *vl_fcgi_client_via(const vl_http_req_t *req, const char *trusted,
                               char *buf, size_t n);

/* 1 if the address a (n bytes, IPv4 or IPv6 text) is in set (as above). */
int vl_fcgi_addr_in(const char *set, const char *a, size_t n);

#endif /* VL_FCGI_ENV_H */
