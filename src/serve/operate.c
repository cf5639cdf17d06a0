/* SPDX-License-Identifier: MIT */
/*
 * operate: the routes an operator's tools read. /health answers 200 with a
 * small JSON body when the worker that answers can read the image root,
 * 503 otherwise (a load balancer's check: a worker answered, so workers
 * accept). /metrics is the Prometheus text exposition of core/metrics.c,
 * summed over the workers of the master, for the client addresses
 * METRICS_ALLOW lists only (403 for others). Neither is cached anywhere.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/metrics.h"
#include "serve/serve_p.h"

static void
operate_body(vl_serve_t *s, int status, const char *type, const char *body,
             size_t len)
{
    s->resp->status = status;
    s->resp->body = (const unsigned char *) body;
    s->resp->body_len = len;
    vl_serve_header(s, "Content-Type", type);
    vl_serve_header(s, "Cache-Control", "no-store");
}

void
vl_serve_health(vl_serve_t *s)
{
    const char *root = s->conf->filesystem_prefix;
    struct stat st;
    const char *body;

    if (root != NULL && stat(root, &st) == 0 && S_ISDIR(st.st_mode)
        && access(root, R_OK | X_OK) == 0) {
        body = vl_pool_printf(s->pool, "{\"status\":\"ok\",\"version\":\"%s\"}"
                              "\n", PACKAGE_VERSION);
        if (body != NULL) {
            operate_body(s, 200, "application/json", body, strlen(body));
            return;
        }
        vl_serve_fail(s, VL_ENOMEM, "out of memory");
        return;
    }
    /* never the path: the operator knows it, a client must not */
    body = "{\"status\":\"unavailable\","
           "\"reason\":\"the image root cannot be read\"}\n";
    operate_body(s, 503, "application/json", body, strlen(body));
    s->resp->errmsg = "the image root cannot be read";
}

/* Does addr (text) fall under one entry of the METRICS_ALLOW list? */
static int
operate_allowed(const char *list, const char *addr)
{
    unsigned char a6[16], e6[16];
    struct in_addr a4, e4;
    int            is4, is6;
    char           tok[64];

    if (addr == NULL || list == NULL) {
        return 0;
    }
    /* an IPv4 client seen through an IPv6 socket */
    if (strncmp(addr, "::ffff:", 7) == 0 && strchr(addr + 7, '.') != NULL) {
        addr += 7;
    }
    is4 = inet_pton(AF_INET, addr, &a4) == 1;
    is6 = !is4 && inet_pton(AF_INET6, addr, a6) == 1;
    while (*list != '\0') {
        size_t n = strcspn(list, " \t,");

        if (n > 0 && n < sizeof(tok)) {
            char *slash;

            memcpy(tok, list, n);
            tok[n] = '\0';
            slash = strchr(tok, '/');
            if (slash != NULL) {
                char *end;
                long  bits = strtol(slash + 1, &end, 10);

                *slash = '\0';
                if (is4 && *end == '\0' && bits >= 0 && bits <= 32
                    && inet_pton(AF_INET, tok, &e4) == 1) {
                    uint32_t mask = bits == 0 ? 0
                                    : htonl(~(uint32_t) 0 << (32 - bits));

                    if ((a4.s_addr & mask) == (e4.s_addr & mask)) {
                        return 1;
                    }
                }
            } else if (is4 && inet_pton(AF_INET, tok, &e4) == 1) {
                if (a4.s_addr == e4.s_addr) {
                    return 1;
                }
            } else if (is6 && inet_pton(AF_INET6, tok, e6) == 1) {
                if (memcmp(a6, e6, sizeof(a6)) == 0) {
                    return 1;
                }
            }
        }
        list += n;
        list += strspn(list, " \t,");
    }
    return 0;
}

void
vl_serve_metrics(vl_serve_t *s)
{
    char  *buf;
    size_t len;

    if (!operate_allowed(s->conf->metrics_allow, s->req->remote_addr)) {
        vl_http_resp_text(s->resp, s->pool, 403,
                          "forbidden: /metrics is for the addresses of "
                          "METRICS_ALLOW");
        vl_serve_header(s, "Cache-Control", "no-store");
        return;
    }
    if ((buf = vl_pool_alloc(s->pool, VL_METRICS_TEXT_MAX)) == NULL) {
        vl_serve_fail(s, VL_ENOMEM, "out of memory");
        return;
    }
    len = vl_metrics_text(buf, VL_METRICS_TEXT_MAX);
    if (len == 0) {
        vl_serve_fail(s, VL_EINTERNAL, "metrics too large");
        return;
    }
    operate_body(s, 200, "text/plain; version=0.0.4; charset=utf-8", buf,
                 len);
}
