/* SPDX-License-Identifier: MIT */
/*
 * fuzz_handler: the whole request path in-process (serve/vl_handle), as
 * test_handler drives it, over the fixture tree ($VL_FIXTURES: pyramids,
 * damaged files and bombs). Input: the first line is the IIIF path (sent
 * as REQUEST_URI /iiif/PATH and mapped by URI_MAP); the other lines
 * ('\n' or NUL separated) are more FastCGI parameters, which override
 * the base ones (method, host). Small limits keep a run short. Every
 * request must get a response with a known status, no header value may
 * break its line (CR or LF: a header injected), and a Location must hold
 * URI characters only (whatever the Host or X-Forwarded-* say).
 */
#include "config.h"

#include "core/conf.h"
#include "core/pool.h"
#include "front/fcgi_env.h"
#include "serve/http.h"
#include "serve/serve.h"
#include "fuzz.h"

static vl_conf_t *conf;
static vl_app_t  *app;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    static char prefix[4200];
    char       *envp[] = { prefix,
                           "URI_MAP=iiif=>IIIF",
                           "LOGFILE=/dev/null",
                           "VERBOSITY=0",
                           "MAX_METADATA_CACHE_SIZE=0",
                           "MAX_IMAGE_CACHE_SIZE=0",
                           "MAX_CVT=300",
                           "MAX_DECODE_PIXELS=4000000",
                           "MAX_REQUEST_MEMORY=128",
                           "REQUEST_TIMEOUT=5",
                           "HOME=/",
                           NULL };
    vl_err_t    err = { 0 };

    (void) argc;
    (void) argv;
    snprintf(prefix, sizeof(prefix), "FILESYSTEM_PREFIX=%s",
             fuzz_fixtures());
    if (prefix[strlen(prefix) - 1] == '/') {
        prefix[strlen(prefix) - 1] = '\0';
    }
    if ((conf = vl_conf_load_env(NULL, envp, NULL, &err)) == NULL
        || (app = vl_app_new(conf, &err)) == NULL) {
        fprintf(stderr, "fuzz_handler: %s\n", err.msg);
        exit(1);
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t      in = { data, size };
    size_t         len, n = 0;
    char          *text = fuzz_rest(&in, &len), *uri;
    char         **envp = calloc(len + 8, sizeof(*envp));
    vl_pool_t     *pool = vl_pool_create(8192);
    vl_http_req_t  req;
    vl_http_resp_t resp;
    size_t         first = len;

    if (envp == NULL || pool == NULL) {
        abort();
    }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n' || text[i] == '\0') {
            first = i;
            break;
        }
    }
    text[first] = '\0';
    uri = vl_pool_printf(pool, "REQUEST_URI=/iiif/%s", text);
    if (uri == NULL) {
        abort();
    }
    envp[n++] = "REQUEST_METHOD=GET";
    envp[n++] = "HTTP_HOST=example.org";
    envp[n++] = "QUERY_STRING=";
    envp[n++] = uri;
    for (size_t i = first + 1, start = first + 1; i <= len; i++) {
        if (i == len || text[i] == '\n' || text[i] == '\0') {
            text[i] = '\0';
            if (i > start) {
                envp[n++] = text + start;
            }
            start = i + 1;
        }
    }
    envp[n] = NULL;
    memset(&req, 0, sizeof(req));
    if (vl_fcgi_req_from_env(envp, conf, pool, "fuzz", &req) == 0) {
        vl_http_resp_init(&resp);
        vl_handle(app, &req, &resp, pool);
        FUZZ_CHECK(vl_http_reason(resp.status) != NULL
                       && resp.status >= 200 && resp.status < 600,
                   "status %d", resp.status);
        FUZZ_CHECK(resp.nheaders <= VL_HTTP_MAX_HEADERS, "%zu headers",
                   resp.nheaders);
        for (size_t i = 0; i < resp.nheaders; i++) {
            const vl_http_header_t *h = &resp.headers[i];

            FUZZ_CHECK(h->name != NULL && h->value != NULL,
                       "header %zu without a name or value", i);
            FUZZ_CHECK(strpbrk(h->value, "\r\n") == NULL,
                       "line break in header %s: '%s'", h->name, h->value);
            if (strcmp(h->name, "Location") == 0) {
                for (const char *c = h->value; *c != '\0'; c++) {
                    FUZZ_CHECK(*c > ' ' && *c < 0x7f && *c != '"'
                                   && *c != '<' && *c != '>' && *c != '\\'
                                   && *c != '^' && *c != '`' && *c != '{'
                                   && *c != '|' && *c != '}',
                               "Location '%s': byte 0x%02x", h->value,
                               (unsigned char) *c);
                }
            }
        }
        for (size_t i = 0; resp.body != NULL && i < resp.body_len;
             i += 4096) {
            (void) *(volatile const unsigned char *) &resp.body[i];
        }
    }
    vl_pool_destroy(pool);
    free(envp);
    free(text);
    return 0;
}
