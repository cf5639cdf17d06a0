/* SPDX-License-Identifier: MIT */
/*
 * memcached: the shared response cache (cache.h), the only libmemcached
 * user. One template handle per worker is cloned into one handle per
 * thread (never shared). Identifiers are spread over the servers by
 * consistent hashing (ketama) of their generation key, and every response
 * of an identifier is stored with it (libmemcached's *_by_key, the
 * generation key as the group key); a server that fails is skipped for
 * VL_CACHE_RETRY_MS by every thread of the worker (its identifiers miss,
 * the others' keep hitting), then tried again with fresh handles. An outage of one
 * server is logged once when it starts and once when it ends.
 * Values are "generation (8 bytes, big-endian), type length (1 byte), type,
 * body" with flags 1. Built --without-memcached, every call is a no-op.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef HAVE_MEMCACHED
#include <libmemcached/memcached.h>
#endif

#include "cache/cache.h"
#include "core/hash.h"
#include "core/log.h"
#include "core/metrics.h"

#define CACHE_VALUE_FLAGS 1u
#define CACHE_HDR         9           /* generation + type length */

/* ------------------------------------------------------------- keys */

void
vl_cache_gen_key(const char *id, char *out)
{
    vl_hash_t h;
    char      hex[VL_HASH_HEX];

    vl_hash_init(&h);
    vl_hash_str(&h, "vellum generation 1");
    vl_hash_str(&h, id);
    vl_hash_hex(&h, hex);
    snprintf(out, VL_CACHE_KEY_SIZE, "%sgen:%s", VL_CACHE_PREFIX, hex);
}

#ifdef HAVE_MEMCACHED

/* ----------------------------------------------------- memcached on */

/* A thread's handle; cloned again when the cache's epoch moved on (after a
 * failure), so a reconnect never inherits libmemcached's dead-server
 * state. */
typedef struct cache_slot_s {
    memcached_st        *mc;
    unsigned             epoch;
    struct cache_slot_s *next;
} cache_slot_t;

/* What the worker knows of one server of MEMCACHED_SERVERS. */
#define CACHE_MAX_SERVERS 64

typedef struct {
    char                 host[128];
    unsigned             port;
    atomic_llong         dead_until; /* monotonic ms; 0 = up */
    atomic_int           down;       /* an outage was logged */
} cache_server_t;

struct vl_cache_s {
    int                  enabled;
    cache_server_t       servers[CACHE_MAX_SERVERS];
    size_t               nservers;   /* those named; more share slot -1 */
    time_t               expiry;
    memcached_st        *proto;      /* template, cloned under lock */
    pthread_mutex_t      lock;       /* proto, slots */
    pthread_key_t        tls;
    cache_slot_t        *slots;
    atomic_llong         dead_until; /* servers beyond the table */
    atomic_int           down;
    atomic_uint          epoch;
};

static long long
cache_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
cache_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

/* Results that say something about the data, not about the server. */
static int
cache_rc_ok(memcached_return_t rc)
{
    switch (rc) {
    case MEMCACHED_SUCCESS:
    case MEMCACHED_STORED:
    case MEMCACHED_NOTSTORED:
    case MEMCACHED_NOTFOUND:
    case MEMCACHED_END:
    case MEMCACHED_DATA_EXISTS:
    case MEMCACHED_BUFFERED:
    case MEMCACHED_VALUE:
    case MEMCACHED_DELETED:
    case MEMCACHED_E2BIG:
        return 1;
    default:
        return 0;
    }
}

/* Skip memcached for VL_CACHE_RETRY_MS; log the first failure of an
 * outage only. */
/* libmemcached's last message without its "(0x...) " handle prefix and
 * " -> file:line" suffix. */
static void
cache_reason(memcached_st *mc, memcached_return_t rc, char *out, size_t size)
{
    const char *m = mc != NULL ? memcached_last_error_message(mc) : NULL;
    const char *end;
    int         e;

    if (m == NULL || m[0] == '\0') {
        m = memcached_strerror(mc, rc);
    }
    if (m[0] == '(' && (end = strstr(m, ") ")) != NULL) {
        m = end + 2;
    }
    end = strstr(m, " -> ");
    e = mc != NULL ? memcached_last_error_errno(mc) : 0;
    snprintf(out, size, "%.*s%s%s",
             (int) (end != NULL ? (size_t) (end - m) : strlen(m)), m,
             e != 0 ? "; " : "", e != 0 ? strerror(e) : "");
}

/* The state of server i (-1: one beyond the table). */
static atomic_llong *
cache_until(vl_cache_t *c, int i)
{
    return i >= 0 ? &c->servers[i].dead_until : &c->dead_until;
}

static atomic_int *
cache_down(vl_cache_t *c, int i)
{
    return i >= 0 ? &c->servers[i].down : &c->down;
}

/* Skip server i for VL_CACHE_RETRY_MS (every thread gets a fresh handle
 * then); the first failure of an outage is logged. */
static void
cache_fail(vl_cache_t *c, int i, memcached_st *mc, memcached_return_t rc)
{
    char why[256];

    vl_metrics_add(VL_MET_MC_ERROR, 1);
    atomic_store(cache_until(c, i), cache_now_ms() + VL_CACHE_RETRY_MS);
    atomic_fetch_add(&c->epoch, 1);
    if (atomic_exchange(cache_down(c, i), 1) == 0) {
        cache_reason(mc, rc, why, sizeof(why));
        if (c->nservers > 1 && i >= 0) {
            vl_log(VL_LOG_ERROR, NULL,
                   "memcached %s:%u unavailable (%s): its share of the keys "
                   "is not cached, retrying every %d s", c->servers[i].host,
                   c->servers[i].port, why, VL_CACHE_RETRY_MS / 1000);
        } else {
            vl_log(VL_LOG_ERROR, NULL,
                   "memcached unavailable (%s): serving without it, "
                   "retrying every %d s", why, VL_CACHE_RETRY_MS / 1000);
        }
    }
}

/* Server i answered. */
static void
cache_ok(vl_cache_t *c, int i)
{
    if (atomic_load(cache_down(c, i))
        && atomic_exchange(cache_down(c, i), 0) == 1) {
        atomic_store(cache_until(c, i), 0);
        if (c->nservers > 1 && i >= 0) {
            vl_log(VL_LOG_WARN, NULL, "memcached %s:%u is back: caching its "
                   "keys again", c->servers[i].host, c->servers[i].port);
        } else {
            vl_log(VL_LOG_WARN, NULL, "memcached is back: caching again");
        }
    }
}

static int
cache_usable(vl_cache_t *c)
{
    return c != NULL && c->enabled;
}

/* May server i be asked now? */
static int
cache_up(vl_cache_t *c, int i)
{
    long long until = atomic_load(cache_until(c, i));

    return until == 0 || cache_now_ms() >= until;
}

/* The server key goes to, as an index of c->servers (-1: not in it). */
static int
cache_server_of(vl_cache_t *c, memcached_st *mc, const char *key)
{
    memcached_return_t           rc;
    const memcached_instance_st *in;
    const char                  *host;
    unsigned                     port;

    if (c->nservers == 1) {
        return 0;
    }
    in = memcached_server_by_key(mc, key, strlen(key), &rc);
    if (in == NULL || (host = memcached_server_name(in)) == NULL) {
        return -1;
    }
    port = (unsigned) memcached_server_port(in);
    for (size_t i = 0; i < c->nservers; i++) {
        if (c->servers[i].port == port
            && strcmp(c->servers[i].host, host) == 0) {
            return (int) i;
        }
    }
    return -1;
}

static memcached_return_t
cache_record_server(const memcached_st *mc, const memcached_instance_st *in,
                    void *ctx)
{
    vl_cache_t *c = ctx;
    const char *host = memcached_server_name(in);

    (void) mc;
    if (c->nservers < CACHE_MAX_SERVERS && host != NULL) {
        cache_server_t *sv = &c->servers[c->nservers++];

        snprintf(sv->host, sizeof(sv->host), "%s", host);
        sv->port = (unsigned) memcached_server_port(in);
        atomic_init(&sv->dead_until, 0);
        atomic_init(&sv->down, 0);
    }
    return MEMCACHED_SUCCESS;
}

/* This thread's handle, fresh after a failure. NULL if none can be
 * made. */
static memcached_st *
cache_handle(vl_cache_t *c)
{
    cache_slot_t *s = pthread_getspecific(c->tls);
    unsigned      epoch = atomic_load(&c->epoch);

    if (s == NULL) {
        if ((s = calloc(1, sizeof(*s))) == NULL) {
            return NULL;
        }
        pthread_mutex_lock(&c->lock);
        s->next = c->slots;
        c->slots = s;
        pthread_mutex_unlock(&c->lock);
        if (pthread_setspecific(c->tls, s) != 0) {
            return NULL;
        }
    }
    if (s->mc != NULL && s->epoch != epoch) {
        memcached_free(s->mc);
        s->mc = NULL;
    }
    if (s->mc == NULL) {
        pthread_mutex_lock(&c->lock);
        s->mc = memcached_clone(NULL, c->proto);
        pthread_mutex_unlock(&c->lock);
        s->epoch = epoch;
    }
    return s->mc;
}

static void
cache_behaviours(memcached_st *mc)
{
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_DISTRIBUTION,
                           MEMCACHED_DISTRIBUTION_CONSISTENT_KETAMA);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_NO_BLOCK, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_TCP_NODELAY, 1);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_CONNECT_TIMEOUT,
                           VL_CACHE_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_POLL_TIMEOUT,
                           VL_CACHE_TIMEOUT_MS);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_SND_TIMEOUT,
                           VL_CACHE_TIMEOUT_MS * 1000);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RCV_TIMEOUT,
                           VL_CACHE_TIMEOUT_MS * 1000);
    memcached_behavior_set(mc, MEMCACHED_BEHAVIOR_RETRY_TIMEOUT, 1);
}

vl_cache_t *
vl_cache_new(const vl_conf_t *conf, vl_err_t *err)
{
    const char *s = conf->memcached_servers;
    vl_cache_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    atomic_init(&c->dead_until, 0);
    atomic_init(&c->down, 0);
    atomic_init(&c->epoch, 0);
    c->expiry = (time_t) conf->memcached_timeout;
    if (s == NULL || s[0] == '\0') {
        return c;
    }
    if (strncmp(s, "--", 2) == 0) {
        /* libmemcached's configuration language: --SERVER=... */
        c->proto = memcached(s, strlen(s));
    } else {
        memcached_server_list_st list = memcached_servers_parse(s);

        if (list != NULL) {
            c->proto = memcached_create(NULL);
            if (c->proto != NULL
                && memcached_server_push(c->proto, list) != MEMCACHED_SUCCESS)
            {
                memcached_free(c->proto);
                c->proto = NULL;
            }
            memcached_server_list_free(list);
        }
    }
    if (c->proto == NULL || memcached_server_count(c->proto) == 0) {
        if (c->proto != NULL) {
            memcached_free(c->proto);
        }
        free(c);
        vl_err_set(err, VL_ECONF, "MEMCACHED_SERVERS: cannot parse '%s' "
                   "(expected host:port[,host:port...])", s);
        return NULL;
    }
    cache_behaviours(c->proto);
    {
        memcached_server_fn fn[1] = { cache_record_server };

        memcached_server_cursor(c->proto, fn, c, 1);
    }
    if (pthread_key_create(&c->tls, NULL) != 0) {
        memcached_free(c->proto);
        free(c);
        vl_err_set(err, VL_ENOMEM, "cannot create thread-local storage");
        return NULL;
    }
    pthread_mutex_init(&c->lock, NULL);
    c->enabled = 1;
    return c;
}

void
vl_cache_free(vl_cache_t *c)
{
    if (c == NULL) {
        return;
    }
    if (c->enabled) {
        while (c->slots != NULL) {
            cache_slot_t *next = c->slots->next;

            if (c->slots->mc != NULL) {
                memcached_free(c->slots->mc);
            }
            free(c->slots);
            c->slots = next;
        }
        pthread_key_delete(c->tls);
        pthread_mutex_destroy(&c->lock);
        memcached_free(c->proto);
    }
    free(c);
}

int
vl_cache_enabled(const vl_cache_t *c)
{
    return c != NULL && c->enabled;
}

static int
cache_parse_u64(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    /* memcached pads a number that shrank in place with spaces */
    while (len > 0 && s[len - 1] == ' ') {
        len--;
    }
    if (len == 0 || len > 19) {
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t) (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* A generation for an identifier that has none: the current time in
 * microseconds, larger than any generation it had before eviction. */
static memcached_return_t
cache_gen_create(memcached_st *mc, const char *gk, uint64_t *gen)
{
    char               buf[24], *v;
    size_t             vlen;
    uint32_t           flags;
    uint64_t           now = cache_now_us();
    memcached_return_t rc;

    snprintf(buf, sizeof(buf), "%llu", (unsigned long long) now);
    rc = memcached_add(mc, gk, strlen(gk), buf, strlen(buf), 0, 0);
    if (rc == MEMCACHED_SUCCESS) {
        *gen = now;
        return rc;
    }
    if (rc != MEMCACHED_NOTSTORED && rc != MEMCACHED_DATA_EXISTS) {
        return rc;
    }
    /* another worker made it first */
    v = memcached_get(mc, gk, strlen(gk), &vlen, &flags, &rc);
    if (v != NULL) {
        if (cache_parse_u64(v, vlen, gen) != 0) {
            *gen = 0;
        }
        free(v);
    }
    return rc;
}

static void
cache_free_value(void *data)
{
    free(data);
}

int
vl_cache_get(vl_cache_t *c, vl_pool_t *pool, const char *id,
             const char *key, vl_cache_hit_t *hit, uint64_t *gen)
{
    memcached_st      *mc;
    memcached_return_t rc;
    char               gk[VL_CACHE_KEY_SIZE], kbuf[MEMCACHED_MAX_KEY];
    const char        *keys[2];
    size_t             lens[2], klen, vlen, body_len = 0;
    char              *v, *body = NULL;
    uint32_t           flags, body_flags = 0;
    uint64_t           g = 0, stored;
    int                have_gen = 0, gs;

    *gen = 0;
    if (!cache_usable(c) || (mc = cache_handle(c)) == NULL) {
        return 0;
    }
    vl_cache_gen_key(id, gk);
    keys[0] = gk;
    keys[1] = key;
    lens[0] = strlen(gk);
    lens[1] = strlen(key);
    /* every key of an identifier lives on the server of its generation
     * (the generation key is the group key of libmemcached's *_by_key
     * calls): with one server of several down, exactly the identifiers
     * it holds miss, and the others keep hitting whole */
    gs = cache_server_of(c, mc, gk);
    if (!cache_up(c, gs)) {
        return 0;
    }
    rc = memcached_mget_by_key(mc, gk, lens[0], keys, lens, 2);
    if (cache_rc_ok(rc)) {
        while ((v = memcached_fetch(mc, kbuf, &klen, &vlen, &flags, &rc))
               != NULL) {
            if (klen == lens[0] && memcmp(kbuf, gk, klen) == 0) {
                have_gen = cache_parse_u64(v, vlen, &g) == 0;
                free(v);
            } else if (klen == lens[1] && memcmp(kbuf, key, klen) == 0
                       && body == NULL) {
                body = v;
                body_len = vlen;
                body_flags = flags;
            } else {
                free(v);
            }
        }
    }
    if (!cache_rc_ok(rc)) {
        free(body);
        cache_fail(c, gs, mc, rc);
        return 0;
    }
    if (!have_gen) {
        rc = cache_gen_create(mc, gk, &g);
        if (!cache_rc_ok(rc)) {
            free(body);
            cache_fail(c, gs, mc, rc);
            return 0;
        }
    }
    cache_ok(c, gs);
    *gen = g;
    if (body == NULL) {
        return 0;
    }
    stored = 0;
    if (body_flags == CACHE_VALUE_FLAGS && body_len >= CACHE_HDR) {
        for (int i = 0; i < 8; i++) {
            stored = (stored << 8) | (unsigned char) body[i];
        }
    }
    if (stored == 0 || stored != g
        || body_len < CACHE_HDR + (size_t) (unsigned char) body[8]
        || (unsigned char) body[8] == 0
        || vl_pool_cleanup_add(pool, cache_free_value, body) != 0) {
        free(body);
        return 0;
    }
    hit->type = vl_pool_strndup(pool, body + CACHE_HDR,
                                (unsigned char) body[8]);
    if (hit->type == NULL) {
        return 0;
    }
    hit->body = (const unsigned char *) body + CACHE_HDR
                + (unsigned char) body[8];
    hit->len = body_len - CACHE_HDR - (unsigned char) body[8];
    return 1;
}

void
vl_cache_set(vl_cache_t *c, const char *id, const char *key, uint64_t gen,
             const char *type, const unsigned char *body, size_t len)
{
    memcached_st      *mc;
    memcached_return_t rc;
    size_t             tlen = strlen(type), n;
    char              *v, gk[VL_CACHE_KEY_SIZE];
    int                ks = -1;

    if (gen == 0 || tlen == 0 || tlen > 255
        || len > VL_CACHE_MAX_ITEM - CACHE_HDR - tlen
        || !cache_usable(c) || (mc = cache_handle(c)) == NULL) {
        return;
    }
    vl_cache_gen_key(id, gk);
    if (!cache_up(c, ks = cache_server_of(c, mc, gk))) {
        return;
    }
    n = CACHE_HDR + tlen + len;
    if ((v = malloc(n)) == NULL) {
        return;
    }
    for (int i = 0; i < 8; i++) {
        v[i] = (char) (gen >> (56 - 8 * i));
    }
    v[8] = (char) tlen;
    memcpy(v + CACHE_HDR, type, tlen);
    if (len > 0) {
        memcpy(v + CACHE_HDR + tlen, body, len);
    }
    rc = memcached_set_by_key(mc, gk, strlen(gk), key, strlen(key), v, n,
                              c->expiry, CACHE_VALUE_FLAGS);
    free(v);
    if (!cache_rc_ok(rc)) {
        cache_fail(c, ks, mc, rc);
    } else {
        cache_ok(c, ks);
    }
}

int
vl_cache_purge(vl_cache_t *c, const char *id, uint64_t *gen, vl_err_t *err)
{
    memcached_st      *mc;
    memcached_return_t rc;
    char               gk[VL_CACHE_KEY_SIZE];
    uint64_t           v = 0;

    if (!vl_cache_enabled(c)) {
        return vl_err_set(err, VL_ECONF,
                          "memcached is not configured (MEMCACHED_SERVERS)");
    }
    if ((mc = cache_handle(c)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    vl_cache_gen_key(id, gk);
    rc = memcached_increment(mc, gk, strlen(gk), 1, &v);
    if (rc == MEMCACHED_NOTFOUND) {
        /* nothing cached under a generation yet: start one, which is
         * newer than anything stored before */
        rc = cache_gen_create(mc, gk, &v);
        if (rc == MEMCACHED_NOTSTORED || rc == MEMCACHED_DATA_EXISTS
            || (rc == MEMCACHED_SUCCESS && v == 0)) {
            rc = memcached_increment(mc, gk, strlen(gk), 1, &v);
        }
    }
    if (rc != MEMCACHED_SUCCESS) {
        char why[256];

        cache_reason(mc, rc, why, sizeof(why));
        return vl_err_set(err, VL_EIO, "memcached is unreachable: %s", why);
    }
    *gen = v;
    return VL_OK;
}

#else /* !HAVE_MEMCACHED */

/* ------------------------------------------------- built without it */

struct vl_cache_s {
    int enabled;
};

vl_cache_t *
vl_cache_new(const vl_conf_t *conf, vl_err_t *err)
{
    vl_cache_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    if (conf->memcached_servers != NULL && conf->memcached_servers[0] != '\0')
    {
        vl_log(VL_LOG_WARN, NULL, "MEMCACHED_SERVERS is set, but vellum "
               "was built without memcached: ignored");
    }
    return c;
}

void
vl_cache_free(vl_cache_t *c)
{
    free(c);
}

int
vl_cache_enabled(const vl_cache_t *c)
{
    (void) c;
    return 0;
}

int
vl_cache_get(vl_cache_t *c, vl_pool_t *pool, const char *id,
             const char *key, vl_cache_hit_t *hit, uint64_t *gen)
{
    (void) c;
    (void) pool;
    (void) id;
    (void) key;
    (void) hit;
    *gen = 0;
    return 0;
}

void
vl_cache_set(vl_cache_t *c, const char *id, const char *key, uint64_t gen,
             const char *type, const unsigned char *body, size_t len)
{
    (void) c;
    (void) id;
    (void) key;
    (void) gen;
    (void) type;
    (void) body;
    (void) len;
}

int
vl_cache_purge(vl_cache_t *c, const char *id, uint64_t *gen, vl_err_t *err)
{
    (void) c;
    (void) id;
    (void) gen;
    return vl_err_set(err, VL_ECONF,
                      "vellum was built without memcached support");
}

#endif /* HAVE_MEMCACHED */
