/* SPDX-License-Identifier: MIT */
/*
 * fcgi: leader/followers over one poll set per process. The thread holding
 * the leader mutex polls the listening socket, the idle kept-alive
 * connections and a stop pipe; it takes one ready connection, hands the
 * leadership on and serves one request on it. libfcgi only parses the
 * request records (we accept and wait ourselves, so no signal ever
 * interrupts its reads); the response goes out as records we gather into
 * one writev.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <fastcgi.h>
#include <fcgiapp.h>

#include "core/log.h"
#include "core/str.h"
#include "front/fcgi.h"
#include "serve/serve.h"
#include "source/source.h"

#define FCGI_POOL_BLOCK   16384
#define FCGI_DRAIN_MAX    65536     /* request body bytes read and dropped */
#define FCGI_READ_TIMEOUT 60        /* seconds, inside one request */

typedef struct {
    int                 listen_fd;
    const vl_conf_t    *conf;
    vl_app_t           *app;
    int                 stop_rd;       /* readable once stopping */
    int                 note_rd;       /* a connection became idle */
    int                 note_wr;
    pthread_mutex_t     lead;          /* held by the polling thread */
    pthread_mutex_t     lock;          /* guards idle[] */
    int                *idle;
    size_t              nidle;
    size_t              cap;
    atomic_int          stopping;
    atomic_ulong        served;
    atomic_ulong        seq;
    pid_t               pid;           /* of this worker, for request ids */
} fcgi_ctx_t;

/* the stop pipe's write end, for the signal handler */
static int fcgi_stop_wr = -1;

static const struct {
    int         status;
    const char *reason;
} fcgi_reasons[] = {
    { 200, "OK" }, { 204, "No Content" }, { 206, "Partial Content" },
    { 301, "Moved Permanently" }, { 302, "Found" }, { 303, "See Other" },
    { 304, "Not Modified" }, { 307, "Temporary Redirect" },
    { 308, "Permanent Redirect" }, { 400, "Bad Request" },
    { 401, "Unauthorized" }, { 403, "Forbidden" }, { 404, "Not Found" },
    { 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
    { 410, "Gone" }, { 413, "Content Too Large" }, { 414, "URI Too Long" },
    { 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
    { 429, "Too Many Requests" }, { 500, "Internal Server Error" },
    { 501, "Not Implemented" }, { 502, "Bad Gateway" },
    { 503, "Service Unavailable" }, { 504, "Gateway Timeout" },
};


const char *
vl_fcgi_reason(int status)
{
    for (size_t i = 0; i < sizeof(fcgi_reasons) / sizeof(fcgi_reasons[0]);
         i++)
    {
        if (fcgi_reasons[i].status == status) {
            return fcgi_reasons[i].reason;
        }
    }
    return "Unknown";
}


/* The parameters vellum reads, by FP_* index: one pass over the
 * environment, the first occurrence of each wins. */
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

#define FCGI_P(n) { n, sizeof(n) - 1 }
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
            if (fcgi_param_names[i].len == n && out[i] == NULL
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


/* URI_MAP "prefix=>IIIF": the path after "/prefix/". */
static int
fcgi_uri_map(const char *map, const char *path, vl_str_t *out)
{
    const char *arrow, *proto, *p, *e;
    size_t      plen;

    if (map == NULL || *map == '\0' || path == NULL
        || (arrow = strstr(map, "=>")) == NULL)
    {
        return 0;
    }
    proto = arrow + 2;
    while (*proto == ' ') {
        proto++;
    }
    if (strncasecmp(proto, "IIIF", 4) != 0
        || (proto[4] != '\0' && proto[4] != ' '))
    {
        return 0;
    }
    p = map;
    e = arrow;
    while (p < e && (*p == ' ' || *p == '/')) {
        p++;
    }
    while (e > p && (e[-1] == ' ' || e[-1] == '/')) {
        e--;
    }
    plen = (size_t) (e - p);
    if (path[0] != '/') {
        return 0;
    }
    path++;
    if (plen > 0) {
        if (strncmp(path, p, plen) != 0 || path[plen] != '/') {
            return 0;
        }
        path += plen + 1;
    }
    *out = vl_str_from(path);
    return 1;
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
    } else if (fcgi_uri_map(conf->uri_map, uri, &req->iiif)) {
        req->has_iiif = 1;
    }

    v = p[FP_HTTPS];
    if (v != NULL && (strcasecmp(v, "on") == 0 || strcmp(v, "1") == 0)) {
        req->scheme = "https";
    } else if ((v = p[FP_REQUEST_SCHEME]) != NULL
               && strcasecmp(v, "https") == 0)
    {
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


/* ------------------------------------------------------------ signals */

static void
fcgi_on_stop(int sig)
{
    int saved = errno;

    (void) sig;
    if (fcgi_stop_wr >= 0) {
        (void) !write(fcgi_stop_wr, "s", 1);
    }
    errno = saved;
}


static void
fcgi_begin_stop(fcgi_ctx_t *ctx)
{
    if (atomic_exchange(&ctx->stopping, 1) == 0) {
        (void) !write(fcgi_stop_wr, "s", 1);
    }
}


/* ------------------------------------------------------------ requests */

static double
fcgi_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec * 1000.0 + (double) ts.tv_nsec / 1e6;
}


static void
fcgi_base36(unsigned long v, char *buf, size_t *n)
{
    char   tmp[16];
    size_t k = 0;

    do {
        tmp[k++] = "0123456789abcdefghijklmnopqrstuvwxyz"[v % 36];
        v /= 36;
    } while (v != 0 && k < sizeof(tmp));
    while (k > 0) {
        buf[(*n)++] = tmp[--k];
    }
}


static int
fcgi_header_ok(const char *s)
{
    return s != NULL && strpbrk(s, "\r\n") == NULL;
}


/* Append n bytes to a header buffer that was sized beforehand. */
static char *
fcgi_put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}


/* writev all of iov; 0 or an errno value. */
static int
fcgi_writev_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);

        if (w < 0) {
            if (errno == EINTR) {
                continue;
            }
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                struct pollfd p = { fd, POLLOUT, 0 };

                (void) poll(&p, 1, 1000);
                continue;
            }
            return errno != 0 ? errno : EIO;
        }
        while (n > 0 && (size_t) w >= iov->iov_len) {
            w -= (ssize_t) iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *) iov->iov_base + w;
            iov->iov_len -= (size_t) w;
        }
    }
    return 0;
}


/*
 * Write status, headers and body as FastCGI stdout records straight to the
 * connection: records of up to 64 KiB (libfcgi's stream would cut them at
 * 8 KiB, one write each), gathered with writev together with the closing
 * records (end of stdout, end of request), so a stored tile goes out in
 * one system call. libfcgi's streams are then marked closed, as
 * FCGX_Finish_r would leave them, so that it writes nothing more. Returns
 * 0 or an errno value.
 */
static int
fcgi_write_resp(FCGX_Request *fr, const vl_http_req_t *req,
                const vl_http_resp_t *resp, size_t *sent)
{
    enum { RECS = 32, REC_MAX = 65528 };
    int                  nobody = resp->status == 204 || resp->status == 304;
    int                  head = resp->head_only
                                || req->method == VL_METHOD_HEAD;
    const char          *reason = vl_fcgi_reason(resp->status);
    const char          *reqid = req->reqid != NULL ? req->reqid : "-";
    char                 small[2048], *hbuf = small, *p;
    char                 num[24];
    unsigned char        rh[RECS][8], end[24];
    struct iovec         iov[RECS * 3 + 1];
    const unsigned char *body = NULL;
    size_t               need, hlen, blen = 0, hoff = 0, boff = 0;
    int                  rc = 0, status = resp->status;

    *sent = 0;
    if (status < 100 || status > 999) {
        status = 500;
    }
    need = 32 + strlen(reason) + 64 + strlen(reqid);
    for (size_t i = 0; i < resp->nheaders; i++) {
        const vl_http_header_t *h = &resp->headers[i];

        if (h->name != NULL && h->value != NULL) {
            need += strlen(h->name) + strlen(h->value) + 4;
        }
    }
    if (need > sizeof(small) && (hbuf = malloc(need)) == NULL) {
        return ENOMEM;
    }
    p = fcgi_put(hbuf, "Status: ", 8);
    *p++ = (char) ('0' + status / 100);
    *p++ = (char) ('0' + status / 10 % 10);
    *p++ = (char) ('0' + status % 10);
    *p++ = ' ';
    p = fcgi_put(p, reason, strlen(reason));
    p = fcgi_put(p, "\r\n", 2);
    for (size_t i = 0; i < resp->nheaders; i++) {
        const vl_http_header_t *h = &resp->headers[i];

        if (!fcgi_header_ok(h->name) || !fcgi_header_ok(h->value)
            || strcasecmp(h->name, "Content-Length") == 0)
        {
            continue;
        }
        p = fcgi_put(p, h->name, strlen(h->name));
        p = fcgi_put(p, ": ", 2);
        p = fcgi_put(p, h->value, strlen(h->value));
        p = fcgi_put(p, "\r\n", 2);
    }
    if (!nobody) {
        int n = snprintf(num, sizeof(num), "%zu",
                         resp->body != NULL ? resp->body_len : 0);

        p = fcgi_put(p, "Content-Length: ", 16);
        p = fcgi_put(p, num, (size_t) n);
        p = fcgi_put(p, "\r\n", 2);
    }
    p = fcgi_put(p, "X-Request-Id: ", 14);
    p = fcgi_put(p, reqid, strlen(reqid));
    p = fcgi_put(p, "\r\n\r\n", 4);
    hlen = (size_t) (p - hbuf);
    if (!nobody && !head && resp->body != NULL && resp->body_len > 0) {
        body = resp->body;
        blen = resp->body_len;
    }

    /* stderr is never written: closing it writes nothing, and leaves
     * stdout the last writer, the one that ends the request */
    FCGX_FClose(fr->err);
    memset(end, 0, sizeof(end));
    end[0] = FCGI_VERSION_1;
    end[1] = FCGI_STDOUT;
    end[2] = (unsigned char) ((fr->requestId >> 8) & 0xff);
    end[3] = (unsigned char) (fr->requestId & 0xff);
    end[8] = FCGI_VERSION_1;
    end[9] = FCGI_END_REQUEST;
    end[10] = end[2];
    end[11] = end[3];
    end[13] = 8;                    /* FCGI_EndRequestBody, status 0 */

    /* the headers, then the body, cut into records, RECS per writev, the
     * closing records at the end of the last one */
    while (rc == 0 && (hoff < hlen || boff < blen)) {
        int niov = 0, nrec = 0;

        while (nrec < RECS && (hoff < hlen || boff < blen)) {
            size_t room = REC_MAX, h = hlen - hoff, b;

            h = h < room ? h : room;
            room -= h;
            b = blen - boff < room ? blen - boff : room;
            rh[nrec][0] = FCGI_VERSION_1;
            rh[nrec][1] = FCGI_STDOUT;
            rh[nrec][2] = (unsigned char) ((fr->requestId >> 8) & 0xff);
            rh[nrec][3] = (unsigned char) (fr->requestId & 0xff);
            rh[nrec][4] = (unsigned char) (((h + b) >> 8) & 0xff);
            rh[nrec][5] = (unsigned char) ((h + b) & 0xff);
            rh[nrec][6] = 0;
            rh[nrec][7] = 0;
            iov[niov].iov_base = rh[nrec];
            iov[niov++].iov_len = 8;
            if (h > 0) {
                iov[niov].iov_base = hbuf + hoff;
                iov[niov++].iov_len = h;
                hoff += h;
            }
            if (b > 0) {
                iov[niov].iov_base = (void *) (body + boff);
                iov[niov++].iov_len = b;
                boff += b;
            }
            nrec++;
        }
        if (hoff == hlen && boff == blen) {
            iov[niov].iov_base = end;
            iov[niov++].iov_len = sizeof(end);
        }
        rc = fcgi_writev_all(fr->ipcFd, iov, niov);
    }
    if (hbuf != small) {
        free(hbuf);
    }
    if (rc != 0) {
        /* the record stream is cut: this connection cannot carry more */
        fr->keepConnection = 0;
        return rc;
    }
    fr->out->wasFCloseCalled = 1;
    fr->out->isClosed = 1;
    fr->nWriters = 0;
    *sent = blen;
    return 0;
}


static void
fcgi_serve(fcgi_ctx_t *ctx, FCGX_Request *fr)
{
    char            reqid[40];
    size_t          n = 0;
    char            drain[4096];
    size_t          drained = 0;
    int             r;
    double          t0 = fcgi_now_ms();
    vl_pool_t      *pool;
    vl_http_req_t   req;
    vl_http_resp_t  resp;
    size_t          sent = 0;

    fcgi_base36((unsigned long) ctx->pid, reqid, &n);
    reqid[n++] = '-';
    fcgi_base36(atomic_fetch_add(&ctx->seq, 1) + 1, reqid, &n);
    reqid[n] = '\0';

    /* drop a request body, so that the next request on a kept connection
     * starts on a record boundary; a large body closes the connection */
    while ((r = FCGX_GetStr(drain, sizeof(drain), fr->in)) > 0) {
        drained += (size_t) r;
        if (drained > FCGI_DRAIN_MAX) {
            fr->keepConnection = 0;
            break;
        }
    }

    vl_http_resp_init(&resp);
    pool = vl_pool_create(FCGI_POOL_BLOCK);
    if (pool == NULL
        || vl_fcgi_req_from_env(fr->envp, ctx->conf, pool, reqid, &req) != 0)
    {
        memset(&req, 0, sizeof(req));
        req.reqid = reqid;
        req.method_name = "-";
        req.request_uri = "-";
        resp.status = 503;
        resp.errmsg = "out of memory";
    } else {
        vl_handle(ctx->app, &req, &resp, pool);
    }

    r = fcgi_write_resp(fr, &req, &resp, &sent);
    if (r != 0) {
        vl_log(VL_LOG_WARN, reqid, "client went away while writing the "
               "response: %s", strerror(r));
    }

    if (vl_log_enabled(VL_LOG_ACCESS)) {
        const char *path = req.has_iiif ? req.iiif.data : req.request_uri;
        int         plen = req.has_iiif ? (int) req.iiif.len
                           : (int) strlen(path != NULL ? path : "-");

        vl_log(VL_LOG_ACCESS, reqid, "%s %.*s %d %zu %.3fms %s%s%s",
               req.method_name, plen, path != NULL ? path : "-",
               resp.status, sent, fcgi_now_ms() - t0,
               resp.cache != NULL ? resp.cache : "-",
               resp.errmsg != NULL ? " " : "",
               resp.errmsg != NULL ? resp.errmsg : "");
    }
    vl_pool_destroy(pool);
}


/* ------------------------------------------------------------ threads */

static void
fcgi_close_idle(fcgi_ctx_t *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->nidle; i++) {
        close(ctx->idle[i]);
    }
    ctx->nidle = 0;
    pthread_mutex_unlock(&ctx->lock);
}


/* Put a kept connection back in the poll set; wake the leader unless the
 * caller is the next leader itself (it reads the set afresh). */
static int
fcgi_add_idle(fcgi_ctx_t *ctx, int fd, int wake)
{
    pthread_mutex_lock(&ctx->lock);
    if (ctx->nidle == ctx->cap) {
        size_t  cap = ctx->cap ? ctx->cap * 2 : 16;
        int    *p = realloc(ctx->idle, cap * sizeof(*p));

        if (p == NULL) {
            pthread_mutex_unlock(&ctx->lock);
            return -1;
        }
        ctx->idle = p;
        ctx->cap = cap;
    }
    ctx->idle[ctx->nidle++] = fd;
    pthread_mutex_unlock(&ctx->lock);
    if (wake) {
        (void) !write(ctx->note_wr, "n", 1);
    }
    return 0;
}


static int
fcgi_accept(fcgi_ctx_t *ctx)
{
    struct sockaddr_storage sa;
    socklen_t               len = sizeof(sa);
    struct timeval          tv = { FCGI_READ_TIMEOUT, 0 };
    int                     fd, one = 1;

    fd = accept4(ctx->listen_fd, (struct sockaddr *) &sa, &len, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR
            && errno != ECONNABORTED && errno != EPROTO)
        {
            /* EMFILE and friends: do not spin */
            vl_log(VL_LOG_ERROR, NULL, "accept: %s", strerror(errno));
            usleep(10000);
        }
        return -1;
    }
    if (sa.ss_family == AF_INET || sa.ss_family == AF_INET6) {
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    /* a peer that stops sending in the middle of a request must not hold a
     * thread forever (our own waits between requests are polls, untimed) */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}


/* As leader (ctx->lead held): wait for a connection with a request to read.
 * Releases the leadership before returning; -1 when stopping. */
static int
fcgi_lead(fcgi_ctx_t *ctx, struct pollfd **pfd, size_t *pcap)
{
    static unsigned long turn;  /* only the leader touches it */
    int                  fd = -1;

    while (fd < 0) {
        size_t n = 3, nidle;

        if (atomic_load(&ctx->stopping)) {
            break;
        }
        pthread_mutex_lock(&ctx->lock);
        nidle = ctx->nidle;
        if (nidle + 3 > *pcap) {
            struct pollfd *p = realloc(*pfd, (nidle + 3) * sizeof(*p));

            if (p == NULL) {
                nidle = *pcap - 3;
            } else {
                *pfd = p;
                *pcap = nidle + 3;
            }
        }
        for (size_t i = 0; i < nidle; i++) {
            (*pfd)[n].fd = ctx->idle[i];
            (*pfd)[n].events = POLLIN;
            (*pfd)[n++].revents = 0;
        }
        pthread_mutex_unlock(&ctx->lock);
        (*pfd)[0] = (struct pollfd) { ctx->stop_rd, POLLIN, 0 };
        (*pfd)[1] = (struct pollfd) { ctx->note_rd, POLLIN, 0 };
        (*pfd)[2] = (struct pollfd) { ctx->listen_fd, POLLIN, 0 };

        if (poll(*pfd, n, -1) < 0) {
            continue;
        }
        if ((*pfd)[0].revents != 0) {
            atomic_store(&ctx->stopping, 1);
            fcgi_close_idle(ctx);
            break;
        }
        if ((*pfd)[1].revents != 0) {
            char buf[64];

            while (read(ctx->note_rd, buf, sizeof(buf)) > 0) {
            }
        }
        /* fairness: alternate between new connections and kept ones, and
         * start the scan of kept ones at a rotating place */
        turn++;
        if ((turn & 1) && (*pfd)[2].revents != 0) {
            fd = fcgi_accept(ctx);
        }
        for (size_t k = 0; k + 3 < n && fd < 0; k++) {
            size_t i = 3 + (k + turn) % (n - 3);

            if ((*pfd)[i].revents == 0) {
                continue;
            }
            pthread_mutex_lock(&ctx->lock);
            for (size_t j = 0; j < ctx->nidle; j++) {
                if (ctx->idle[j] == (*pfd)[i].fd) {
                    ctx->idle[j] = ctx->idle[--ctx->nidle];
                    fd = (*pfd)[i].fd;
                    break;
                }
            }
            pthread_mutex_unlock(&ctx->lock);
        }
        if (fd < 0 && !(turn & 1) && (*pfd)[2].revents != 0) {
            fd = fcgi_accept(ctx);
        }
    }
    pthread_mutex_unlock(&ctx->lead);
    return fd;
}


static void *
fcgi_thread(void *arg)
{
    fcgi_ctx_t    *ctx = arg;
    FCGX_Request   fr;
    struct pollfd *pfd = NULL;
    size_t         pcap = 0;
    int            leading = 0;

    pfd = malloc(16 * sizeof(*pfd));
    if (pfd == NULL) {
        return NULL;
    }
    pcap = 16;
    /* listen_sock -1: libfcgi must never accept itself; when the peer
     * closes a connection, FCGX_Accept_r falls back to accept(-1) and
     * returns at once with EBADF */
    FCGX_InitRequest(&fr, -1, 0);

    for (;;) {
        unsigned long nth;
        int           fd;

        if (!leading) {
            pthread_mutex_lock(&ctx->lead);
        }
        leading = 0;
        fd = fcgi_lead(ctx, &pfd, &pcap);
        if (fd < 0) {
            break;
        }
        fr.ipcFd = fd;
        /* FCGX_Accept_r first finishes the previous request and would close
         * the connection we just handed it if this flag were clear */
        fr.keepConnection = 1;
        if (FCGX_Accept_r(&fr) < 0) {
            /* the peer closed (or spoke garbage): libfcgi closed the fd */
            fr.ipcFd = -1;
            continue;
        }
        nth = atomic_fetch_add(&ctx->served, 1) + 1;
        if (ctx->conf->max_requests > 0
            && nth >= (unsigned long) ctx->conf->max_requests)
        {
            fcgi_begin_stop(ctx);
        }
        fcgi_serve(ctx, &fr);
        FCGX_Finish_r(&fr);
        if (fr.ipcFd >= 0) {
            int kept = fr.ipcFd;

            fr.ipcFd = -1;
            /* no other thread leads: this one does next, without a wake-up
             * through the note pipe */
            leading = pthread_mutex_trylock(&ctx->lead) == 0;
            if (atomic_load(&ctx->stopping)
                || fcgi_add_idle(ctx, kept, !leading) != 0) {
                close(kept);
            }
        }
    }
    FCGX_Free(&fr, 1);
    free(pfd);
    return NULL;
}


static int
fcgi_pipe(int fds[2])
{
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) {
        return -1;
    }
    return 0;
}


int
vl_fcgi_run(int listen_fd, const vl_conf_t *conf)
{
    fcgi_ctx_t        ctx;
    vl_err_t          err = { 0 };
    struct sigaction  sa;
    sigset_t          block;
    pthread_t        *tids;
    long              nthreads = conf->threads > 0 ? conf->threads : 1;
    long              started = 0;
    int               stop[2], note[2], fl;

#ifdef M_ARENA_MAX
    /* One malloc arena for all of this worker's threads, set before they
     * start. With an arena per thread, each thread keeps the heap of the
     * largest decode it ever ran (OpenJPEG: ~114 MB for a tile of an untiled
     * JP2), and a 4-thread worker reached 436 MB. With one arena and the
     * JPEG 2000 decode lock (jp2.c) a worker holds one decode's memory at
     * most (126 MB), and JP2 tiles got faster (17.9 -> 24.7 req/s); stored
     * tiles lost ~6 % (8700 -> 8200 req/s), measured in bench/run. */
    mallopt(M_ARENA_MAX, 1);
#endif
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* Keep large blocks in the heap instead of a fresh mmap per malloc.
     * OpenJPEG allocates and frees tens of MB per decode (the tile-part
     * buffer, code-block arrays); as mmaps each decode page-faulted and
     * zeroed them again. One JPEG 2000 tile read went from 51 to 27 ms
     * (big-tiled.jp2) and 141 to 115 ms (big.jp2) with the same peak RSS.
     * The cost: a worker keeps up to 128 MB of freed heap. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
#endif
    {
        /* JPEG 2000 decode threads: the CPUs this worker's share leaves */
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        long workers = conf->workers > 0 ? conf->workers : cpus;

        vl_source_set_decode_threads(cpus > 0 && workers > 0
                                         ? (int) (cpus / workers) : 1);
    }
    memset(&ctx, 0, sizeof(ctx));
    ctx.listen_fd = listen_fd;
    ctx.conf = conf;
    ctx.pid = getpid();

    /* our handlers first: libfcgi only installs its own (SIGPIPE, and a
     * SIGUSR1 that would make every later read fail) over SIG_DFL */
    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);

    if (fcgi_pipe(stop) != 0 || fcgi_pipe(note) != 0) {
        vl_log(VL_LOG_ERROR, NULL, "worker: pipe: %s", strerror(errno));
        return 1;
    }
    ctx.stop_rd = stop[0];
    fcgi_stop_wr = stop[1];
    ctx.note_rd = note[0];
    ctx.note_wr = note[1];
    sa.sa_handler = fcgi_on_stop;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        vl_log(VL_LOG_ERROR, NULL, "worker: the listening socket is not "
               "usable: %s", strerror(errno));
        return 1;
    }
    if (FCGX_Init() != 0) {
        vl_log(VL_LOG_ERROR, NULL, "worker: FastCGI library initialisation "
               "failed");
        return 1;
    }
    ctx.app = vl_app_new(conf, &err);
    if (ctx.app == NULL) {
        vl_log(VL_LOG_ERROR, NULL, "worker: %s", err.msg);
        return 1;
    }
    pthread_mutex_init(&ctx.lead, NULL);
    pthread_mutex_init(&ctx.lock, NULL);

    tids = calloc((size_t) nthreads, sizeof(*tids));
    if (tids == NULL) {
        vl_app_free(ctx.app);
        return 1;
    }
    /* the threads never take the process signals: only this thread runs
     * the handler, so no libfcgi call is ever interrupted */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    for (long i = 0; i < nthreads; i++) {
        int rc = pthread_create(&tids[i], NULL, fcgi_thread, &ctx);

        if (rc != 0) {
            vl_log(VL_LOG_ERROR, NULL, "worker: cannot start thread: %s",
                   strerror(rc));
            break;
        }
        started++;
    }
    pthread_sigmask(SIG_UNBLOCK, &block, NULL);
    if (started == 0) {
        fcgi_begin_stop(&ctx);
    }
    vl_log(VL_LOG_INFO, NULL, "worker ready, %ld threads", started);

    for (long i = 0; i < started; i++) {
        pthread_join(tids[i], NULL);
    }
    fcgi_close_idle(&ctx);
    vl_log(VL_LOG_INFO, NULL, "worker stopped after %lu requests",
           (unsigned long) atomic_load(&ctx.served));

    sa.sa_handler = SIG_DFL;
    sa.sa_flags = 0;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    fcgi_stop_wr = -1;
    close(stop[0]);
    close(stop[1]);
    close(note[0]);
    close(note[1]);
    free(ctx.idle);
    free(tids);
    vl_app_free(ctx.app);
    pthread_mutex_destroy(&ctx.lead);
    pthread_mutex_destroy(&ctx.lock);
    return started > 0 ? 0 : 1;
}
