/* SPDX-License-Identifier: MIT */
/*
 * liberr: the first library message of a failed call, trimmed, turned
 * into one vl_err_t (see liberr.h). No state beyond the caller's record.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "source/liberr.h"

static void
liberr_trim(vl_liberr_t *le)
{
    size_t n = strlen(le->msg);

    while (n > 0 && (le->msg[n - 1] == '\n' || le->msg[n - 1] == ' ')) {
        le->msg[--n] = '\0';
    }
}

void
vl_liberr_clear(vl_liberr_t *le)
{
    le->msg[0] = '\0';
}

void
vl_liberr_put(vl_liberr_t *le, const char *msg)
{
    if (le != NULL && le->msg[0] == '\0') {
        snprintf(le->msg, sizeof(le->msg), "%s", msg);
        liberr_trim(le);
    }
}

void
vl_liberr_vprintf(vl_liberr_t *le, const char *fmt, va_list ap)
{
    if (le != NULL && le->msg[0] == '\0') {
        vsnprintf(le->msg, sizeof(le->msg), fmt, ap);
        liberr_trim(le);
    }
}

int
vl_liberr_fail(const vl_liberr_t *le, const char *what, const char *fallback,
               vl_err_t *err)
{
    return vl_err_set(err, VL_ECODEC, "%s: %s", what,
                      le->msg[0] != '\0' ? le->msg : fallback);
}
