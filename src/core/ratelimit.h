/* SPDX-License-Identifier: MIT */
/*
 * ratelimit: RATE_LIMIT requests per RATE_LIMIT_WINDOW seconds per client,
 * counted in one fixed table of VL_RATE_SLOTS clients (about 400 KB).
 * The master maps it shared before its first fork (vl_rate_share), so
 * every worker of a host, and every worker that replaces one, counts in
 * the same table; a process that never called it (spawned mode) counts
 * alone. A client's window starts with its first request and ends
 * RATE_LIMIT_WINDOW seconds later; when the table has no free slot where
 * a client's key falls, the client whose window began first there is
 * forgotten. One process-shared robust mutex: a worker killed while
 * holding it does not stop the others.
 */
#ifndef VL_RATELIMIT_H
#define VL_RATELIMIT_H

#define VL_RATE_SLOTS 16384

typedef struct {
    long      limit;       /* X-RateLimit-Limit */
    long      remaining;   /* X-RateLimit-Remaining (after this request) */
    long long reset;       /* X-RateLimit-Reset: Unix time the window ends */
    long      retry_after; /* seconds until then (>= 1), for a 429 */
} vl_rate_t;

/* Map the table shared (master, before forking); 0 or -1 (errno). */
int vl_rate_share(void);

/* Count a request of client (any string: an address) at Unix time now.
 * Returns 1 if it is within limit per window (counted), 0 if over it (not
 * counted); *out says the numbers either way. Thread- and process-safe. */
int vl_rate_take(const char *client, long limit, long window, long long now,
                 vl_rate_t *out);

#endif /* VL_RATELIMIT_H */
