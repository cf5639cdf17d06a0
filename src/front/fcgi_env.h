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

#endif /* VL_FCGI_ENV_H */
