/* SPDX-License-Identifier: MIT */
/*
 * pool: per-request arena. Allocate freely, never free one by one; everything
 * dies with vl_pool_destroy, which first runs the registered cleanups in
 * reverse order (library handles, fds, references). Not thread-safe: one pool
 * belongs to one request on one thread.
 */
#ifndef VL_POOL_H
#define VL_POOL_H

#include <stddef.h>

typedef struct vl_pool_s vl_pool_t;
typedef void (*vl_cleanup_fn)(void *data);

/* New pool whose blocks are at least block_size bytes. NULL on ENOMEM. */
vl_pool_t *vl_pool_create(size_t block_size);

/* Run cleanups (last registered first), free all memory. Accepts NULL. */
void vl_pool_destroy(vl_pool_t *pool);

/* Aligned (16) allocation; NULL on ENOMEM or size overflow. */
void *vl_pool_alloc(vl_pool_t *pool, size_t size);

/* Zeroed allocation of n * size bytes (checked multiply). */
void *vl_pool_calloc(vl_pool_t *pool, size_t n, size_t size);

/* NUL-terminated copies. */
char *vl_pool_strdup(vl_pool_t *pool, const char *s);
char *vl_pool_strndup(vl_pool_t *pool, const char *s, size_t n);
char *vl_pool_printf(vl_pool_t *pool, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Register fn(data) to run at destroy. Returns 0, or -1 on ENOMEM (in which
 * case fn is NOT registered and the caller must release data itself). */
int vl_pool_cleanup_add(vl_pool_t *pool, vl_cleanup_fn fn, void *data);

/* Bytes handed out so far (for tests and logs). */
size_t vl_pool_used(const vl_pool_t *pool);

#endif /* VL_POOL_H */
