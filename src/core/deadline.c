/* SPDX-License-Identifier: MIT */
/*
 * deadline: per-thread request deadline and client-gone cancellation
 * (core/deadline.h). Thread-local state only: no locks.
 */
#include "config.h"

#include <stddef.h>
#include <time.h>

#include "core/deadline.h"

typedef struct {
    int        open;
    int        stopped;      /* 0, 1 timed out, 2 client gone */
    double     timeout_s;
    long long  end_ms;       /* 0: no deadline */
    long long  next_poll_ms;
    vl_gone_fn gone;
    void      *user;
} deadline_t;

static _Thread_local deadline_t deadline_cur;

static long long
deadline_now_ms(void)
{
    struct timespec ts;

#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
vl_deadline_begin(double timeout_s, vl_gone_fn gone, void *user)
{
    deadline_t *d = &deadline_cur;
    long long   now = deadline_now_ms();

    d->open = 1;
    d->stopped = 0;
    d->timeout_s = timeout_s;
    d->end_ms = timeout_s > 0 ? now + (long long) (timeout_s * 1000) : 0;
    d->next_poll_ms = now + VL_DEADLINE_POLL_MS;
    d->gone = gone;
    d->user = user;
}

void
vl_deadline_end(void)
{
    deadline_cur.open = 0;
    deadline_cur.stopped = 0;
    deadline_cur.gone = NULL;
}

int
vl_deadline_stop(void)
{
    deadline_t *d = &deadline_cur;
    long long   now;

    if (!d->open) {
        return 0;
    }
    if (d->stopped) {
        return 1;
    }
    now = deadline_now_ms();
    if (d->end_ms != 0 && now >= d->end_ms) {
        d->stopped = 1;
    } else if (d->gone != NULL && now >= d->next_poll_ms) {
        d->next_poll_ms = now + VL_DEADLINE_POLL_MS;
        if (d->gone(d->user)) {
            d->stopped = 2;
        }
    }
    return d->stopped != 0;
}

int
vl_deadline_check(vl_err_t *err)
{
    if (!vl_deadline_stop()) {
        return VL_OK;
    }
    if (deadline_cur.stopped == 2) {
        return vl_err_set(err, VL_EBUSY, "the client went away");
    }
    return vl_err_set(err, VL_EBUSY,
                      "request timed out after %g s (REQUEST_TIMEOUT)",
                      deadline_cur.timeout_s);
}
