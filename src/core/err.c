/* SPDX-License-Identifier: MIT */
/*
 * err: status enum -> HTTP status and name, in one table.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/log.h"

static const struct {
    int         http;
    const char *name;
} err_table[VL_STATUS_COUNT] = {
    [VL_OK]        = { 200, "OK" },
    [VL_EBADREQ]   = { 400, "EBADREQ" },
    [VL_ELIMIT]    = { 400, "ELIMIT" },
    [VL_ENOTFOUND] = { 404, "ENOTFOUND" },
    [VL_EMETHOD]   = { 405, "EMETHOD" },
    [VL_EFORMAT]   = { 415, "EFORMAT" },
    [VL_EUNSUPP]   = { 501, "EUNSUPP" },
    [VL_EBUSY]     = { 503, "EBUSY" },
    [VL_ENOMEM]    = { 500, "ENOMEM" },
    [VL_EIO]       = { 500, "EIO" },
    [VL_ECODEC]    = { 500, "ECODEC" },
    [VL_ECONF]     = { 500, "ECONF" },
    [VL_EINTERNAL] = { 500, "EINTERNAL" },
};

int
vl_err_set(vl_err_t *err, vl_status_t code, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || err->code != VL_OK || code == VL_OK) {
        return code;
    }
    err->code = code;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    /* one line, always */
    for (char *p = err->msg; *p; p++) {
        if (*p == '\n' || *p == '\r') {
            *p = ' ';
        }
    }
    return code;
}

void
vl_err_clear(vl_err_t *err)
{
    if (err != NULL) {
        err->code = VL_OK;
        err->msg[0] = '\0';
    }
}

int
vl_status_http(vl_status_t code)
{
    if ((unsigned) code >= VL_STATUS_COUNT) {
        return 500;
    }
    return err_table[code].http;
}

const char *
vl_status_name(vl_status_t code)
{
    if ((unsigned) code >= VL_STATUS_COUNT) {
        return "EUNKNOWN";
    }
    return err_table[code].name;
}

void
vl_assert_fail(const char *expr, const char *file, int line)
{
    vl_log(VL_LOG_ERROR, NULL, "assertion failed: %s at %s:%d", expr, file,
           line);
    fprintf(stderr, "vellum: assertion failed: %s at %s:%d\n", expr, file,
            line);
    abort();
}
