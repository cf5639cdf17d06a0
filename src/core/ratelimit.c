/* SPDX-License-Identifier: MIT */
/*
 * ratelimit: a fixed window per client in a fixed table (ratelimit.h).
 * A client's key (XXH64 of its address) picks a slot; the next few slots
 * are probed, and a free or expired one is taken, else the one whose
 * window began first. Nothing allocates after the table is mapped.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

#include "core/hash.h"
#include "core/ratelimit.h"

#define RATE_PROBE 8

typedef struct {
    uint64_t  key;       /* 0: free */
    long long start;     /* Unix time the window began */
    long      count;     /* requests counted in it */
} rate_slot_t;

typedef struct {
    pthread_mutex_t lock;
    rate_slot_t     slot[VL_RATE_SLOTS];
} rate_table_t;

static rate_table_t   *rate;
static pthread_once_t  rate_once = PTHREAD_ONCE_INIT;

static rate_table_t *
rate_map(int shared)
{
    pthread_mutexattr_t a;
    rate_table_t       *t;

    t = mmap(NULL, sizeof(*t), PROT_READ | PROT_WRITE,
             (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    if (t == MAP_FAILED) {
        return NULL;
    }
    pthread_mutexattr_init(&a);
    pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
    pthread_mutex_init(&t->lock, &a);
    pthread_mutexattr_destroy(&a);
    return t;
}

int
vl_rate_share(void)
{
    if (rate != NULL) {
        return 0;
    }
    rate = rate_map(1);
    return rate != NULL ? 0 : -1;
}

/* A process that never shared: its own table, once. */
static void
rate_local(void)
{
    if (rate == NULL) {
        rate = rate_map(0);
    }
}

static void
rate_lock(rate_table_t *t)
{
    if (pthread_mutex_lock(&t->lock) == EOWNERDEAD) {
        /* a worker died holding it: the counts are still counts */
        pthread_mutex_consistent(&t->lock);
    }
}

int
vl_rate_take(const char *client, long limit, long window, long long now,
             vl_rate_t *out)
{
    uint64_t     key = vl_hash64(client, strlen(client), 0x7261746531ULL) | 1;
    rate_slot_t *s = NULL, *free_s = NULL, *old = NULL;
    int          ok;

    out->limit = limit;
    out->remaining = limit;
    out->reset = now + window;
    out->retry_after = window;
    pthread_once(&rate_once, rate_local);
    if (rate == NULL) {
        return 1;       /* no memory for a table: nobody is limited */
    }
    rate_lock(rate);
    for (size_t i = 0; i < RATE_PROBE; i++) {
        rate_slot_t *c = &rate->slot[(key + i) % VL_RATE_SLOTS];

        if (c->key == key) {
            s = c;
            break;
        }
        if (free_s == NULL && (c->key == 0 || c->start + window <= now)) {
            free_s = c;
        }
        if (old == NULL || c->start < old->start) {
            old = c;
        }
    }
    if (s == NULL) {
        s = free_s != NULL ? free_s : old;
        s->key = key;
        s->start = now;
        s->count = 0;
    }
    if (s->start + window <= now || s->start > now) {
        s->start = now;     /* a new window (or the clock went back) */
        s->count = 0;
    }
    ok = s->count < limit;
    if (ok) {
        s->count++;
    }
    out->remaining = limit - s->count;
    out->reset = s->start + window;
    out->retry_after = (long) (out->reset - now);
    pthread_mutex_unlock(&rate->lock);
    if (out->retry_after < 1) {
        out->retry_after = 1;
    }
    return ok;
}
