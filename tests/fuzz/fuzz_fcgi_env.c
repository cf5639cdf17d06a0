/* SPDX-License-Identifier: MIT */
/*
 * fuzz_fcgi_env: FastCGI parameters -> vl_http_req_t (front/fcgi_env.c).
 * Input: lines ('\n' or NUL separated); the first is a TRUSTED_PROXIES
 * set, the others the NAME=value parameters the web server sends (the
 * configuration maps /iiif/ and /img/ with URI_MAP). The mapping, the
 * client address (built-in and given trusted sets), the date and ETag
 * helpers the conditional headers go through must take any parameters.
 */
#include "config.h"

#include "core/conf.h"
#include "core/pool.h"
#include "front/fcgi_env.h"
#include "serve/http.h"
#include "fuzz.h"

static vl_conf_t *conf;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char    *envp[] = { "URI_MAP=iiif=>IIIF /img/=>IIIF", "HOME=/", NULL };
    vl_err_t err = { 0 };

    (void) argc;
    (void) argv;
    conf = vl_conf_load_env(NULL, envp, NULL, &err);
    if (conf == NULL) {
        fprintf(stderr, "conf: %s\n", err.msg);
        exit(1);
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t     in = { data, size };
    size_t        len, n = 0;
    char         *text = fuzz_rest(&in, &len), *trusted = text;
    char        **envp = calloc(len + 2, sizeof(*envp));
    vl_pool_t    *pool = vl_pool_create(4096);
    vl_http_req_t req;
    char          buf[128];

    if (envp == NULL || pool == NULL) {
        abort();
    }
    for (size_t i = 0, start = 0; i <= len; i++) {
        if (i == len || text[i] == '\n' || text[i] == '\0') {
            text[i] = '\0';
            if (start > 0) {
                envp[n++] = text + start;
            }
            start = i + 1;
        }
    }
    envp[n] = NULL;
    memset(&req, 0, sizeof(req));
    if (vl_fcgi_req_from_env(envp, conf, pool, "fuzz", &req) == 0) {
        if (req.has_iiif) {
            FUZZ_CHECK(req.iiif.data != NULL || req.iiif.len == 0,
                       "IIIF path without data");
            for (size_t i = 0; i < req.iiif.len; i++) {
                (void) *(volatile const char *) &req.iiif.data[i];
            }
        }
        FUZZ_CHECK(req.request_uri != NULL && req.query != NULL
                       && req.scheme != NULL,
                   "request without a URI, query or scheme");
        FUZZ_CHECK(strchr(req.request_uri, '?') == NULL,
                   "query left in the request URI '%s'", req.request_uri);
        FUZZ_CHECK(strlen(vl_fcgi_client(&req, buf, sizeof(buf)))
                       < sizeof(buf), "client");
        (void) vl_fcgi_client_via(&req, trusted, buf, sizeof(buf));
        (void) vl_fcgi_client_via(&req, "", buf, sizeof(buf));
        if (req.if_modified_since != NULL) {
            (void) vl_http_date_parse(req.if_modified_since);
        }
        if (req.if_none_match != NULL) {
            (void) vl_http_etag_match(req.if_none_match, "\"abc\"");
        }
        if (req.remote_addr != NULL) {
            (void) vl_fcgi_addr_in(trusted, req.remote_addr,
                                   strlen(req.remote_addr));
        }
    }
    vl_pool_destroy(pool);
    free(envp);
    free(text);
    return 0;
}
