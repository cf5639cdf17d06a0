/* SPDX-License-Identifier: MIT */
/*
 * err: the one status enum of vellum and the error record that carries it.
 * A fallible function returns int (VL_OK or a status) and takes vl_err_t *err
 * last. The first error set wins; it is set once, where the problem is found,
 * with a message that never contains a filesystem path.
 */
#ifndef VL_ERR_H
#define VL_ERR_H

#include <stddef.h>

typedef enum {
    VL_OK = 0,
    VL_EBADREQ,      /* malformed or out-of-range IIIF parameter   -> 400 */
    VL_ELIMIT,       /* beyond maxWidth/maxHeight/maxArea          -> 400 */
    VL_ENOTFOUND,    /* identifier does not resolve under the root -> 404 */
    VL_EMETHOD,      /* HTTP method not allowed                    -> 405 */
    VL_EFORMAT,      /* file exists but is not a supported image   -> 415 */
    VL_EUNSUPP,      /* valid request vellum does not support      -> 501 */
    VL_EBUSY,        /* over capacity (pixel budget, queue)         -> 503 */
    VL_ENOMEM,       /* allocation failed                           -> 500 */
    VL_EIO,          /* read/write failure                          -> 500 */
    VL_ECODEC,       /* a codec library failed on the file          -> 500 */
    VL_ECONF,        /* invalid configuration (start-up only)       -> 500 */
    VL_EINTERNAL,    /* anything else                               -> 500 */
    VL_STATUS_COUNT
} vl_status_t;

#define VL_ERR_MSG_MAX 200

typedef struct {
    vl_status_t code;
    char        msg[VL_ERR_MSG_MAX];
} vl_err_t;

/* Record an error if none is recorded yet. Returns code, so that
 * `return vl_err_set(err, VL_EBADREQ, "...")` reads naturally.
 * err may be NULL. */
int vl_err_set(vl_err_t *err, vl_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Forget any recorded error. */
void vl_err_clear(vl_err_t *err);

/* HTTP status for a vellum status (VL_OK -> 200). */
int vl_status_http(vl_status_t code);

/* Short symbolic name ("EBADREQ") for logs. */
const char *vl_status_name(vl_status_t code);

/* A broken invariant is a bug: log file:line and abort (the master respawns
 * the worker). Never use it to validate input. Stays on in release builds. */
#define VL_ASSERT(expr)                                                     \
    ((expr) ? (void) 0 : vl_assert_fail(#expr, __FILE__, __LINE__))

void vl_assert_fail(const char *expr, const char *file, int line)
    __attribute__((noreturn));

#endif /* VL_ERR_H */
