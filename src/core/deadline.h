/* SPDX-License-Identifier: MIT */
/*
 * deadline: the running request's deadline (REQUEST_TIMEOUT) and its
 * cancellation when the client has gone, per thread. front/fcgi.c opens it
 * around each request with a function that polls the connection; the long
 * loops below check it between their steps (grid.c between decodes,
 * render.c between source rows, the codecs' stream and line callbacks),
 * so a request stops at the next check instead of running on for nobody.
 * A thread without an open deadline (the command line, tests) is never
 * stopped. A check is a coarse clock read; the connection is polled at
 * most every VL_DEADLINE_POLL_MS.
 */
#ifndef VL_DEADLINE_H
#define VL_DEADLINE_H

#include "core/err.h"

#define VL_DEADLINE_POLL_MS 50

/* 1 when the peer of the request has gone (its connection hung up). */
typedef int (*vl_gone_fn)(void *user);

/* Open this thread's deadline: timeout_s seconds from now (<= 0: none),
 * and `gone` (may be NULL) asked whether the client is still there. */
void vl_deadline_begin(double timeout_s, vl_gone_fn gone, void *user);

/* Close it (the thread is never stopped until the next begin). */
void vl_deadline_end(void);

/* VL_OK, or VL_EBUSY (503) with "request timed out after N s" or "the
 * client went away" once either has happened; sticky until the end. */
int vl_deadline_check(vl_err_t *err);

/* The same without an error record, for codec callbacks: 1 when the
 * request must stop. */
int vl_deadline_stop(void);

#endif /* VL_DEADLINE_H */
