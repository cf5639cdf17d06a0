/* SPDX-License-Identifier: MIT */
/*
 * metrics: the counters /metrics shows, summed over every worker of a
 * master. The master maps them in shared memory before it forks, so its
 * workers (and the ones that replace them) add to the same counters with
 * atomic operations: a scrape of any worker sees the whole pool. A process
 * without a master (spawned by mod_fcgid, lighttpd, spawn-fcgi; the CLI;
 * tests) counts its own. Counting never allocates and never fails.
 */
#ifndef VL_METRICS_H
#define VL_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* The routes of the route table, by the name serve/route.c gives them. */
#define VL_MET_ROUTES 10

/* What is counted besides requests. */
typedef enum {
    VL_MET_MC_HIT,           /* memcached answered the body */
    VL_MET_MC_MISS,          /* built afresh (memcached on or off) */
    VL_MET_MC_ERROR,         /* a memcached operation failed */
    VL_MET_PASSTHROUGH,      /* a stored JPEG tile sent as stored */
    VL_MET_TILE_HIT,         /* decoded blocks found in a tile cache */
    VL_MET_TILE_MISS,
    VL_MET_HANDLE_HIT,       /* an open image handle reused */
    VL_MET_HANDLE_OPEN,      /* image handles opened */
    VL_MET_WORKER_START,     /* workers the master forked */
    VL_MET_WORKER_DEATH,     /* workers that died (were replaced) */
    VL_MET_DECODE_RESTART,   /* a line decoder started again from the top
                              * of its image (a read above the last) */
    VL_MET_COUNT
} vl_met_t;

/* Map the counters in memory shared with the processes forked after it
 * (the master, before its first fork). Without it a process counts in its
 * own memory. Returns 0, or -1 (the counters stay process-local). */
int vl_metrics_share(void);

/* One request answered: its route's name ("image", "info", ...; NULL or
 * unknown: "other"), HTTP status, duration and bytes sent. */
void vl_metrics_request(const char *route, int status, double ms,
                        size_t bytes);

/* Add n to counter c. */
void vl_metrics_add(vl_met_t c, uint64_t n);

/* Gauges are kept per worker slot, so that a worker that dies takes its
 * share with it: a worker sets its slot once after the fork (0 for a
 * process without a master), the master resets a dead worker's. */
#define VL_MET_SLOTS 1025
void vl_metrics_slot(unsigned slot);
void vl_metrics_slot_reset(unsigned slot);

/* Image handles open in this process: +1 or -1. */
void vl_metrics_handles(int delta);

/* The Prometheus text exposition (format 0.0.4) of every counter into buf
 * (at most cap bytes, NUL-terminated); returns its length, or 0 when cap is
 * too small. */
size_t vl_metrics_text(char *buf, size_t cap);

/* The buffer vl_metrics_text needs, with margin. */
#define VL_METRICS_TEXT_MAX ((size_t) 96 * 1024)

#endif /* VL_METRICS_H */
