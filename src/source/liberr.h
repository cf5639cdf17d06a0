/* SPDX-License-Identifier: MIT */
/*
 * liberr: what a codec library said went wrong, caught once. libtiff,
 * OpenJPEG and libjpeg report errors through hooks (a handler, a callback,
 * error_exit) that may fire several times for one failure; the first
 * message is kept, trimmed of trailing newlines and spaces, and becomes
 * "what: message" in the request's vl_err_t when the call that failed
 * returns. One vl_liberr_t per library handle, used by one thread at a
 * time, like the handle.
 */
#ifndef VL_LIBERR_H
#define VL_LIBERR_H

#include <stdarg.h>

#include "core/err.h"

typedef struct {
    char msg[VL_ERR_MSG_MAX];   /* the first message, or "" */
} vl_liberr_t;

/* Forget the message: call before each library call that may fail. */
void vl_liberr_clear(vl_liberr_t *le);

/* Keep a message unless one is kept already (NULL le: ignored). */
void vl_liberr_put(vl_liberr_t *le, const char *msg);
void vl_liberr_vprintf(vl_liberr_t *le, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Set err to VL_ECODEC "what: message", the message being the kept one or
 * else `fallback`. Returns VL_ECODEC. */
int vl_liberr_fail(const vl_liberr_t *le, const char *what,
                   const char *fallback, vl_err_t *err);

#endif /* VL_LIBERR_H */
