/* SPDX-License-Identifier: MIT */
/*
 * metrics: counters in one struct of atomics, process-local until the
 * master maps a shared copy (vl_metrics_share), then shared with every
 * process it forks. Lock-free 64-bit atomics work across processes on a
 * MAP_SHARED mapping; nothing here takes a lock or allocates.
 */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "core/metrics.h"

static const char *const met_routes[VL_MET_ROUTES] = {
    "image", "info", "manifest", "collection", "discovery", "health",
    "metrics", "base", "reserved", "other"
};

/* Statuses counted one by one; any other is counted as "other". */
static const int met_codes[] = {
    200, 204, 303, 304, 400, 403, 404, 405, 406, 413, 415, 429, 500, 501,
    503
};
#define MET_CODES (sizeof(met_codes) / sizeof(met_codes[0]) + 1)

/* Histogram bounds, seconds. */
static const double met_bounds[] = {
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10
};
#define MET_BUCKETS (sizeof(met_bounds) / sizeof(met_bounds[0]) + 1)

typedef struct {
    atomic_uint_least64_t req[VL_MET_ROUTES][MET_CODES];
    atomic_uint_least64_t lat[VL_MET_ROUTES][MET_BUCKETS];
    atomic_uint_least64_t lat_us[VL_MET_ROUTES];
    atomic_uint_least64_t bytes;
    atomic_uint_least64_t c[VL_MET_COUNT];
    atomic_int_least64_t  handles[VL_MET_SLOTS];
} met_t;

static met_t    met_local;
static met_t   *met = &met_local;
static unsigned met_slot;

int
vl_metrics_share(void)
{
    void *p = mmap(NULL, sizeof(met_t), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED) {
        return -1;
    }
    memcpy(p, met, sizeof(met_t));    /* what was counted so far */
    met = p;
    return 0;
}

static size_t
met_route(const char *route)
{
    if (route != NULL) {
        for (size_t i = 0; i + 1 < VL_MET_ROUTES; i++) {
            if (strcmp(route, met_routes[i]) == 0) {
                return i;
            }
        }
    }
    return VL_MET_ROUTES - 1;
}

void
vl_metrics_request(const char *route, int status, double ms, size_t bytes)
{
    size_t r = met_route(route), k = MET_CODES - 1, b = MET_BUCKETS - 1;
    double s = ms / 1000.0;

    for (size_t i = 0; i + 1 < MET_CODES; i++) {
        if (met_codes[i] == status) {
            k = i;
            break;
        }
    }
    for (size_t i = 0; i + 1 < MET_BUCKETS; i++) {
        if (s <= met_bounds[i]) {
            b = i;
            break;
        }
    }
    atomic_fetch_add_explicit(&met->req[r][k], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&met->lat[r][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&met->lat_us[r],
                              ms > 0 ? (uint64_t) (ms * 1000.0) : 0,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&met->bytes, bytes, memory_order_relaxed);
}

void
vl_metrics_add(vl_met_t c, uint64_t n)
{
    if ((unsigned) c < VL_MET_COUNT) {
        atomic_fetch_add_explicit(&met->c[c], n, memory_order_relaxed);
    }
}

void
vl_metrics_slot(unsigned slot)
{
    met_slot = slot < VL_MET_SLOTS ? slot : VL_MET_SLOTS - 1;
}

void
vl_metrics_slot_reset(unsigned slot)
{
    if (slot < VL_MET_SLOTS) {
        atomic_store(&met->handles[slot], 0);
    }
}

void
vl_metrics_handles(int delta)
{
    atomic_fetch_add_explicit(&met->handles[met_slot], delta,
                              memory_order_relaxed);
}

/* ------------------------------------------------------------ output */

typedef struct {
    char   *buf;
    size_t  cap, len;
    int     full;
} met_out_t;

static void
met_printf(met_out_t *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
met_printf(met_out_t *o, const char *fmt, ...)
{
    va_list ap;
    int     n;

    if (o->full) {
        return;
    }
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t) n >= o->cap - o->len) {
        o->full = 1;
        return;
    }
    o->len += (size_t) n;
}

static uint64_t
met_get(atomic_uint_least64_t *a)
{
    return atomic_load_explicit(a, memory_order_relaxed);
}

static void
met_counter(met_out_t *o, const char *name, const char *help, uint64_t v)
{
    met_printf(o, "# HELP %s %s\n# TYPE %s counter\n%s %llu\n", name, help,
               name, name, (unsigned long long) v);
}

size_t
vl_metrics_text(char *buf, size_t cap)
{
    met_out_t o = { buf, cap, 0, cap == 0 };
    int64_t   open = 0;

    met_printf(&o, "# HELP vellum_build_info The running version.\n"
               "# TYPE vellum_build_info gauge\n"
               "vellum_build_info{version=\"%s\"} 1\n", PACKAGE_VERSION);
    met_printf(&o, "# HELP vellum_requests_total Requests answered, by "
               "route and HTTP status.\n"
               "# TYPE vellum_requests_total counter\n");
    for (size_t r = 0; r < VL_MET_ROUTES; r++) {
        for (size_t k = 0; k < MET_CODES; k++) {
            uint64_t v = met_get(&met->req[r][k]);
            char     code[16];

            if (v == 0) {
                continue;
            }
            if (k + 1 < MET_CODES) {
                snprintf(code, sizeof(code), "%d", met_codes[k]);
            } else {
                snprintf(code, sizeof(code), "other");
            }
            met_printf(&o, "vellum_requests_total{route=\"%s\",status=\"%s\"}"
                       " %llu\n", met_routes[r], code, (unsigned long long) v);
        }
    }
    met_printf(&o, "# HELP vellum_request_duration_seconds Time from the "
               "request read to the response written, by route.\n"
               "# TYPE vellum_request_duration_seconds histogram\n");
    for (size_t r = 0; r < VL_MET_ROUTES; r++) {
        uint64_t cum = 0, n = 0;

        for (size_t b = 0; b < MET_BUCKETS; b++) {
            n += met_get(&met->lat[r][b]);
        }
        if (n == 0) {
            continue;
        }
        for (size_t b = 0; b < MET_BUCKETS; b++) {
            cum += met_get(&met->lat[r][b]);
            if (b + 1 < MET_BUCKETS) {
                met_printf(&o, "vellum_request_duration_seconds_bucket{route="
                           "\"%s\",le=\"%g\"} %llu\n", met_routes[r],
                           met_bounds[b], (unsigned long long) cum);
            } else {
                met_printf(&o, "vellum_request_duration_seconds_bucket{route="
                           "\"%s\",le=\"+Inf\"} %llu\n", met_routes[r],
                           (unsigned long long) cum);
            }
        }
        met_printf(&o, "vellum_request_duration_seconds_sum{route=\"%s\"} "
                   "%.6f\n", met_routes[r],
                   (double) met_get(&met->lat_us[r]) / 1e6);
        met_printf(&o, "vellum_request_duration_seconds_count{route=\"%s\"} "
                   "%llu\n", met_routes[r], (unsigned long long) cum);
    }
    met_counter(&o, "vellum_response_bytes_total",
                "Bytes of response bodies sent.", met_get(&met->bytes));
    met_printf(&o, "# HELP vellum_cache_requests_total Lookups of each cache "
               "tier: memcached (encoded responses), tiles (decoded blocks, "
               "per worker), handles (open images, per worker).\n"
               "# TYPE vellum_cache_requests_total counter\n");
    {
        static const struct {
            const char *tier, *result;
            vl_met_t    c;
        } rows[] = {
            { "memcached", "hit", VL_MET_MC_HIT },
            { "memcached", "miss", VL_MET_MC_MISS },
            { "tiles", "hit", VL_MET_TILE_HIT },
            { "tiles", "miss", VL_MET_TILE_MISS },
            { "handles", "hit", VL_MET_HANDLE_HIT },
            { "handles", "miss", VL_MET_HANDLE_OPEN },
        };

        for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
            met_printf(&o, "vellum_cache_requests_total{tier=\"%s\",result="
                       "\"%s\"} %llu\n", rows[i].tier, rows[i].result,
                       (unsigned long long) met_get(&met->c[rows[i].c]));
        }
    }
    met_counter(&o, "vellum_passthrough_total",
                "Stored JPEG tiles sent as stored, without decoding.",
                met_get(&met->c[VL_MET_PASSTHROUGH]));
    met_counter(&o, "vellum_memcached_errors_total",
                "memcached operations that failed (the request was served "
                "without it).", met_get(&met->c[VL_MET_MC_ERROR]));
    met_counter(&o, "vellum_decode_restarts_total",
                "Reads of a flat JPEG or PNG or of untiled HTJ2K that "
                "decoded again from the top of the image, being above "
                "where the last read stopped.",
                met_get(&met->c[VL_MET_DECODE_RESTART]));
    met_counter(&o, "vellum_workers_started_total",
                "Worker processes the master forked.",
                met_get(&met->c[VL_MET_WORKER_START]));
    met_counter(&o, "vellum_worker_restarts_total",
                "Worker processes that died and were replaced.",
                met_get(&met->c[VL_MET_WORKER_DEATH]));
    for (size_t i = 0; i < VL_MET_SLOTS; i++) {
        open += atomic_load_explicit(&met->handles[i], memory_order_relaxed);
    }
    met_printf(&o, "# HELP vellum_open_handles Image handles open now, "
               "summed over the workers.\n"
               "# TYPE vellum_open_handles gauge\n"
               "vellum_open_handles %lld\n", (long long) (open > 0 ? open : 0));
    return o.full ? 0 : o.len;
}
