/* SPDX-License-Identifier: MIT */
/*
 * fcgi: the serving loop of a worker, the only libfcgi user.
 * Leader/followers over one poll set per process. The thread holding
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

#include "core/deadline.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "core/str.h"
#include "front/fcgi.h"
#include "front/fcgi_env.h"
#include "serve/serve.h"
#include "source/source.h"

#define FCGI_POOL_BLOCK   16384
#define FCGI_DRAIN_MAX    65536     /* request body bytes read and dropped */
#define FCGI_PEEK_MAX     65536     /* a request seen whole before a
                                     * thread takes it; larger ones are
                                     * read by libfcgi under SO_RCVTIMEO */
#define FCGI_TICK_MS      100       /* a connection readable with nothing
                                     * new is looked at again after this */

/* A connection in the poll set: kept alive between requests, or new or
 * with part of a request, waiting for the rest. */
typedef struct {
    int    fd;
    int    quiet;       /* readable, nothing new since: not polled */
    size_t seen;        /* bytes of the next request seen so far */
    double deadline;    /* ms: the request must be whole by then; 0 none
                         * (kept, no byte of a next request yet) */
    double since;       /* ms: parked since (the oldest goes first) */
    double quiet_at;    /* ms */
} fcgi_conn_t;

typedef struct {
    int                 listen_fd;
    const vl_conf_t    *conf;
    vl_app_t           *app;
    int                 stop_rd;       /* readable once stopping */
    int                 stop_wr;       /* written to stop (MAX_REQUESTS) */
    int                 note_rd;       /* a connection became idle */
    int                 note_wr;
    pthread_mutex_t     lead;          /* held by the polling thread */
    pthread_mutex_t     lock;          /* guards idle[] */
    fcgi_conn_t        *idle;          /* the parked connections */
    unsigned char      *peek;          /* the leader's (FCGI_PEEK_MAX) */
    double              read_ms;       /* FCGI_READ_TIMEOUT */
    size_t              max_idle;      /* FCGI_MAX_IDLE */
    size_t              nidle;
    size_t              cap;
    atomic_int          stopping;
    atomic_ulong        served;
    atomic_ulong        seq;
    pid_t               pid;           /* of this worker, for request ids */
} fcgi_ctx_t;

/* ------------------------------------------------------------ stopping */

static void
fcgi_begin_stop(fcgi_ctx_t *ctx)
{
    if (atomic_exchange(&ctx->stopping, 1) == 0) {
        (void) !write(ctx->stop_wr, "s", 1);
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
    const char          *reason = vl_http_reason(resp->status);
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


/* RATE_LIMIT: count the request of its client (TRUSTED_PROXIES decide
 * whose X-Forwarded-For names it) and put the X-RateLimit headers on
 * resp; 1 to serve it, 0 when over the limit (resp is the 429). The
 * headers come first, so vl_handle adds its own after them. */
static int
fcgi_rate(fcgi_ctx_t *ctx, const vl_http_req_t *req, vl_http_resp_t *resp,
          vl_pool_t *pool)
{
    char      client[64];
    vl_rate_t r;
    int       ok;

    vl_fcgi_client_via(req, ctx->conf->trusted_proxies, client,
                       sizeof(client));
    ok = vl_rate_take(client, ctx->conf->rate_limit,
                      ctx->conf->rate_limit_window, (long long) time(NULL),
                      &r);
    if (!ok) {
        vl_http_resp_text(resp, pool, 429, "rate limit exceeded");
        vl_http_header_add(resp, pool, "Retry-After", "%ld", r.retry_after);
        /* vl_handle, which would add it, is not called: a viewer's script
         * must still see the 429 */
        if (ctx->conf->cors != NULL && ctx->conf->cors[0] != '\0') {
            vl_http_header_add(resp, pool, "Access-Control-Allow-Origin", "%s",
                               ctx->conf->cors);
        }
    }
    if (ctx->conf->cors != NULL && ctx->conf->cors[0] != '\0') {
        vl_http_header_add(resp, pool, "Access-Control-Expose-Headers",
                           "X-RateLimit-Limit, X-RateLimit-Remaining, "
                           "X-RateLimit-Reset, Retry-After");
    }
    vl_http_header_add(resp, pool, "X-RateLimit-Limit", "%ld", r.limit);
    vl_http_header_add(resp, pool, "X-RateLimit-Remaining", "%ld",
                       r.remaining);
    vl_http_header_add(resp, pool, "X-RateLimit-Reset", "%lld", r.reset);
    return ok;
}

/* The request's cancel hook (core/deadline.h): the web server closes its
 * end when the client goes (nginx does, as it cannot reuse a connection
 * mid-response), or sends FCGI_ABORT_REQUEST; either makes the
 * connection readable or hung up while a request is being served. */
static int
fcgi_client_gone(void *user)
{
    const FCGX_Request *fr = user;
    struct pollfd       p = { fr->ipcFd, POLLIN | POLLRDHUP, 0 };
    unsigned char       hdr[FCGI_HEADER_LEN];

    if (poll(&p, 1, 0) != 1) {
        return 0;
    }
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) {
        return 1;
    }
    return (p.revents & POLLIN)
           && recv(fr->ipcFd, hdr, sizeof(hdr), MSG_PEEK | MSG_DONTWAIT)
                  == (ssize_t) sizeof(hdr)
           && hdr[1] == FCGI_ABORT_REQUEST;
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
    } else if (ctx->conf->rate_limit <= 0
               || fcgi_rate(ctx, &req, &resp, pool)) {
        vl_deadline_begin(ctx->conf->budget.timeout_s, fcgi_client_gone, fr);
        vl_handle(ctx->app, &req, &resp, pool);
        vl_deadline_end();
    }

    r = fcgi_write_resp(fr, &req, &resp, &sent);
    if (r != 0) {
        vl_log(VL_LOG_WARN, reqid, "client went away while writing the "
               "response: %s", strerror(r));
    }

    vl_metrics_request(resp.route, resp.status, fcgi_now_ms() - t0, sent);
    if (resp.cache != NULL && strcmp(resp.cache, "hit") == 0) {
        vl_metrics_add(VL_MET_MC_HIT, 1);
    } else if (resp.cache != NULL && strcmp(resp.cache, "miss") == 0) {
        vl_metrics_add(VL_MET_MC_MISS, 1);
    } else if (resp.cache != NULL && strcmp(resp.cache, "passthrough") == 0) {
        vl_metrics_add(VL_MET_PASSTHROUGH, 1);
    }
    /* a server error is an error: logged at every VERBOSITY (0 is
     * "errors only"), in the access line's form */
    if (vl_log_enabled(VL_LOG_ACCESS) || resp.status >= 500) {
        const char *path = req.has_iiif ? req.iiif.data : req.request_uri;
        int         plen = req.has_iiif ? (int) req.iiif.len
                           : (int) strlen(path != NULL ? path : "-");

        char client[64];

        vl_log(vl_log_enabled(VL_LOG_ACCESS) ? VL_LOG_ACCESS : VL_LOG_ERROR,
               reqid, "%s %s %.*s %d %zu %.3fms %s%s%s",
               vl_fcgi_client_via(&req, ctx->conf->trusted_proxies, client,
                                  sizeof(client)),
               req.method_name, plen, path != NULL ? path : "-",
               resp.status, sent, fcgi_now_ms() - t0,
               resp.cache != NULL ? resp.cache : "-",
               resp.errmsg != NULL ? " " : "",
               resp.errmsg != NULL ? resp.errmsg : "");
    }
    vl_pool_destroy(pool);
    vl_source_release_memory();
}


/* ------------------------------------------------------------ threads */

static void
fcgi_close_idle(fcgi_ctx_t *ctx)
{
    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->nidle; i++) {
        close(ctx->idle[i].fd);
    }
    ctx->nidle = 0;
    pthread_mutex_unlock(&ctx->lock);
}


/* Park fd (ctx->lock held): a kept connection (seen 0, no deadline), or
 * one with a request not yet whole (deadline set). At FCGI_MAX_IDLE, the
 * connection parked longest is closed to make room. */
static int
fcgi_park_locked(fcgi_ctx_t *ctx, int fd, size_t seen, double deadline)
{
    double now = fcgi_now_ms();

    if (ctx->nidle >= ctx->max_idle && ctx->nidle > 0) {
        size_t old = 0;

        for (size_t i = 1; i < ctx->nidle; i++) {
            if (ctx->idle[i].since < ctx->idle[old].since) {
                old = i;
            }
        }
        vl_log(VL_LOG_WARN, NULL, "%zu FastCGI connections parked "
               "(FCGI_MAX_IDLE): the oldest closed", ctx->nidle);
        close(ctx->idle[old].fd);
        ctx->idle[old] = ctx->idle[--ctx->nidle];
    }
    if (ctx->nidle == ctx->cap) {
        size_t       cap = ctx->cap ? ctx->cap * 2 : 16;
        fcgi_conn_t *p = realloc(ctx->idle, cap * sizeof(*p));

        if (p == NULL) {
            return -1;
        }
        ctx->idle = p;
        ctx->cap = cap;
    }
    ctx->idle[ctx->nidle++] = (fcgi_conn_t) { fd, 0, seen, deadline, now,
                                              0 };
    return 0;
}


/* Put a kept connection back in the poll set; wake the leader unless the
 * caller is the next leader itself (it reads the set afresh). */
static int
fcgi_add_idle(fcgi_ctx_t *ctx, int fd, int wake)
{
    int rc;

    pthread_mutex_lock(&ctx->lock);
    rc = fcgi_park_locked(ctx, fd, 0, 0);
    pthread_mutex_unlock(&ctx->lock);
    if (rc == 0 && wake) {
        (void) !write(ctx->note_wr, "n", 1);
    }
    return rc;
}


/* 1 if the n bytes of p hold a whole request (its records up to the empty
 * STDIN record that ends it), or records libfcgi should judge itself
 * (not version 1, management, abort), or fill the peek buffer (full); 0
 * if more is to come. Only record headers are read. */
static int
fcgi_whole(const unsigned char *p, size_t n, int full)
{
    size_t off = 0;

    while (off + FCGI_HEADER_LEN <= n) {
        unsigned type = p[off + 1];
        size_t   rid = ((size_t) p[off + 2] << 8) | p[off + 3];
        size_t   clen = ((size_t) p[off + 4] << 8) | p[off + 5];
        size_t   plen = p[off + 6];

        if (p[off] != FCGI_VERSION_1 || rid == 0
            || type == FCGI_ABORT_REQUEST) {
            return 1;
        }
        if (off + FCGI_HEADER_LEN + clen + plen > n) {
            break;
        }
        if (type == FCGI_STDIN && clen == 0) {
            return 1;
        }
        off += FCGI_HEADER_LEN + clen + plen;
    }
    return full;
}


/* Look at what fd holds without reading it (the leader only): 1 a whole
 * request, 0 not yet (*seen: the bytes there), -1 closed or failed. */
static int
fcgi_peek(fcgi_ctx_t *ctx, int fd, size_t *seen)
{
    ssize_t n = recv(fd, ctx->peek, FCGI_PEEK_MAX, MSG_PEEK | MSG_DONTWAIT);

    if (n == 0) {
        return -1;
    }
    if (n < 0) {
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
                   ? 0 : -1;
    }
    *seen = (size_t) n;
    return fcgi_whole(ctx->peek, (size_t) n, n == FCGI_PEEK_MAX);
}


static int
fcgi_accept(fcgi_ctx_t *ctx)
{
    struct sockaddr_storage sa;
    socklen_t               len = sizeof(sa);
    struct timeval          tv = { (time_t) (ctx->read_ms / 1000), 0 };
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
    /* a thread takes a connection once its request is whole (fcgi_lead);
     * a request larger than the peek buffer is read by libfcgi, and a peer
     * that stops sending in the middle of it holds the thread for this
     * long per read at most */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}


/* A new connection (the leader): its request whole already, fd back;
 * else parked until it is or FCGI_READ_TIMEOUT passes; -1. */
static int
fcgi_take_new(fcgi_ctx_t *ctx)
{
    size_t seen = 0;
    int    fd = fcgi_accept(ctx), r;

    if (fd < 0) {
        return -1;
    }
    if ((r = fcgi_peek(ctx, fd, &seen)) == 1) {
        return fd;
    }
    pthread_mutex_lock(&ctx->lock);
    if (r < 0
        || fcgi_park_locked(ctx, fd, seen, fcgi_now_ms() + ctx->read_ms)
               != 0) {
        close(fd);
    }
    pthread_mutex_unlock(&ctx->lock);
    return -1;
}


/* Stopping (the leader): a parked connection whose next request is
 * already whole is handed out, to be answered and then closed; nginx sent
 * it on a kept connection and would answer 502 if the worker closed it
 * unread. When none is left, the parked ones are closed. -1 then. */
static int
fcgi_take_pending(fcgi_ctx_t *ctx)
{
    int fd = -1;

    pthread_mutex_lock(&ctx->lock);
    for (size_t i = 0; i < ctx->nidle && fd < 0;) {
        size_t seen = ctx->idle[i].seen;

        if (fcgi_peek(ctx, ctx->idle[i].fd, &seen) > 0) {
            fd = ctx->idle[i].fd;
            ctx->idle[i] = ctx->idle[--ctx->nidle];
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&ctx->lock);
    if (fd < 0) {
        fcgi_close_idle(ctx);
    }
    return fd;
}


/* As leader (ctx->lead held): wait for a connection with a whole request
 * to read. A parked connection whose request is not whole FCGI_READ_TIMEOUT
 * after its first byte (a kept one) or its accept (a new one) is closed;
 * one that is readable with nothing new (part of a request, the rest to
 * come) is looked at again every FCGI_TICK_MS, not polled, so no peer
 * can make the leader spin or hold a thread by sending half a request.
 * Releases the leadership before returning. Stopping: a parked
 * connection whose request is already whole (fcgi_take_pending), else -1. */
static int
fcgi_lead(fcgi_ctx_t *ctx, struct pollfd **pfd, size_t *pcap)
{
    static unsigned long turn;  /* only the leader touches it */
    int                  fd = -1;

    while (fd < 0) {
        size_t n = 3, nidle, expired = 0;
        double now = fcgi_now_ms(), wait = -1;

        if (atomic_load(&ctx->stopping)) {
            fd = fcgi_take_pending(ctx);
            break;
        }
        pthread_mutex_lock(&ctx->lock);
        for (size_t i = 0; i < ctx->nidle;) {
            fcgi_conn_t *c = &ctx->idle[i];
            double       w;

            if (c->deadline != 0 && now >= c->deadline) {
                close(c->fd);
                ctx->idle[i] = ctx->idle[--ctx->nidle];
                expired++;
                continue;
            }
            if (c->quiet && now - c->quiet_at >= FCGI_TICK_MS) {
                c->quiet = 0;
            }
            w = c->quiet ? FCGI_TICK_MS - (now - c->quiet_at) : -1;
            if (c->deadline != 0 && (w < 0 || c->deadline - now < w)) {
                w = c->deadline - now;
            }
            if (w >= 0 && (wait < 0 || w < wait)) {
                wait = w;
            }
            i++;
        }
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
            (*pfd)[n].fd = ctx->idle[i].fd;
            (*pfd)[n].events = ctx->idle[i].quiet ? 0 : POLLIN;
            (*pfd)[n++].revents = 0;
        }
        pthread_mutex_unlock(&ctx->lock);
        if (expired > 0) {
            vl_log(VL_LOG_ERROR, NULL, "FastCGI request not complete after "
                   "%.0f s (FCGI_READ_TIMEOUT): %zu connection%s closed",
                   ctx->read_ms / 1000, expired, expired > 1 ? "s" : "");
        }
        (*pfd)[0] = (struct pollfd) { ctx->stop_rd, POLLIN, 0 };
        (*pfd)[1] = (struct pollfd) { ctx->note_rd, POLLIN, 0 };
        (*pfd)[2] = (struct pollfd) { ctx->listen_fd, POLLIN, 0 };

        if (poll(*pfd, n, wait < 0 ? -1 : (int) wait + 1) < 0) {
            continue;
        }
        if ((*pfd)[0].revents != 0) {
            atomic_store(&ctx->stopping, 1);
            fd = fcgi_take_pending(ctx);
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
            fd = fcgi_take_new(ctx);
        }
        now = fcgi_now_ms();
        for (size_t k = 0; k + 3 < n && fd < 0; k++) {
            size_t i = 3 + (k + turn) % (n - 3);

            if ((*pfd)[i].revents == 0) {
                continue;
            }
            pthread_mutex_lock(&ctx->lock);
            for (size_t j = 0; j < ctx->nidle; j++) {
                fcgi_conn_t *c = &ctx->idle[j];
                size_t       seen = c->seen;
                int          r;

                if (c->fd != (*pfd)[i].fd) {
                    continue;
                }
                r = fcgi_peek(ctx, c->fd, &seen);
                if (r != 0) {
                    if (r > 0) {
                        fd = c->fd;
                    } else {
                        close(c->fd);
                    }
                    ctx->idle[j] = ctx->idle[--ctx->nidle];
                } else if (seen > c->seen) {
                    /* the first bytes of a kept connection's next request
                     * start its clock */
                    if (c->deadline == 0) {
                        c->deadline = now + ctx->read_ms;
                    }
                    c->seen = seen;
                    c->quiet = 0;
                } else {
                    c->quiet = 1;
                    c->quiet_at = now;
                }
                break;
            }
            pthread_mutex_unlock(&ctx->lock);
        }
        if (fd < 0 && !(turn & 1) && (*pfd)[2].revents != 0) {
            fd = fcgi_take_new(ctx);
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
vl_fcgi_serve(int listen_fd, const vl_conf_t *conf, vl_app_t *app,
              int stop_rd, int stop_wr)
{
    fcgi_ctx_t ctx;
    sigset_t   block;
    pthread_t *tids;
    long       nthreads = conf->threads > 0 ? conf->threads : 1;
    long       started = 0;
    int        note[2];

    memset(&ctx, 0, sizeof(ctx));
    ctx.listen_fd = listen_fd;
    ctx.conf = conf;
    ctx.app = app;
    ctx.stop_rd = stop_rd;
    ctx.stop_wr = stop_wr;
    ctx.pid = getpid();
    ctx.read_ms = (double) (conf->fcgi_read_timeout > 0
                            ? conf->fcgi_read_timeout : 5) * 1000;
    ctx.max_idle = conf->fcgi_max_idle > 0 ? (size_t) conf->fcgi_max_idle
                                           : 256;
    if ((ctx.peek = malloc(FCGI_PEEK_MAX)) == NULL) {
        return 1;
    }
    if (FCGX_Init() != 0) {
        vl_log(VL_LOG_ERROR, NULL, "worker: FastCGI library initialisation "
               "failed");
        free(ctx.peek);
        return 1;
    }
    if (fcgi_pipe(note) != 0) {
        vl_log(VL_LOG_ERROR, NULL, "worker: pipe: %s", strerror(errno));
        free(ctx.peek);
        return 1;
    }
    ctx.note_rd = note[0];
    ctx.note_wr = note[1];
    tids = calloc((size_t) nthreads, sizeof(*tids));
    if (tids == NULL) {
        close(note[0]);
        close(note[1]);
        free(ctx.peek);
        return 1;
    }
    pthread_mutex_init(&ctx.lead, NULL);
    pthread_mutex_init(&ctx.lock, NULL);

    /* the threads never take the process signals: only the calling thread
     * runs the handlers, so no libfcgi call is ever interrupted */
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGUSR1);
    sigaddset(&block, SIGUSR2);
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
    close(note[0]);
    close(note[1]);
    free(ctx.idle);
    free(ctx.peek);
    free(tids);
    pthread_mutex_destroy(&ctx.lead);
    pthread_mutex_destroy(&ctx.lock);
    return started > 0 ? 0 : 1;
}
