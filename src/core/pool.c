/* SPDX-License-Identifier: MIT */
/*
 * pool: a chain of blocks, bump allocation, large requests get their own
 * block. Cleanups are a singly linked list, run newest first.
 */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/pool.h"
#include "core/str.h"

#define POOL_ALIGN 16

typedef struct pool_block_s {
    struct pool_block_s *next;
    size_t               size;   /* usable bytes after the header */
    size_t               used;
    /* data follows, aligned */
} pool_block_t;

typedef struct pool_cleanup_s {
    struct pool_cleanup_s *next;
    vl_cleanup_fn          fn;
    void                  *data;
} pool_cleanup_t;

struct vl_pool_s {
    pool_block_t   *blocks;      /* current block first */
    pool_cleanup_t *cleanups;
    size_t          block_size;
    size_t          total;
};

#define BLOCK_HDR ((sizeof(pool_block_t) + POOL_ALIGN - 1) & ~(size_t) (POOL_ALIGN - 1))

static pool_block_t *
pool_block_new(size_t size)
{
    pool_block_t *b;

    if (size > SIZE_MAX - BLOCK_HDR) {
        return NULL;
    }
    b = malloc(BLOCK_HDR + size);
    if (b == NULL) {
        return NULL;
    }
    b->next = NULL;
    b->size = size;
    b->used = 0;
    return b;
}

vl_pool_t *
vl_pool_create(size_t block_size)
{
    vl_pool_t *pool = calloc(1, sizeof(*pool));

    if (pool == NULL) {
        return NULL;
    }
    pool->block_size = block_size < 1024 ? 1024 : block_size;
    pool->blocks = pool_block_new(pool->block_size);
    if (pool->blocks == NULL) {
        free(pool);
        return NULL;
    }
    return pool;
}

void
vl_pool_destroy(vl_pool_t *pool)
{
    pool_cleanup_t *c;
    pool_block_t   *b, *next;

    if (pool == NULL) {
        return;
    }
    /* cleanups live in the pool's own memory: walk before freeing blocks */
    for (c = pool->cleanups; c != NULL; c = c->next) {
        c->fn(c->data);
    }
    for (b = pool->blocks; b != NULL; b = next) {
        next = b->next;
        free(b);
    }
    free(pool);
}

void *
vl_pool_alloc(vl_pool_t *pool, size_t size)
{
    pool_block_t *b = pool->blocks;
    size_t        need;

    if (size == 0) {
        size = 1;
    }
    if (size > SIZE_MAX - POOL_ALIGN) {
        return NULL;
    }
    need = (size + POOL_ALIGN - 1) & ~(size_t) (POOL_ALIGN - 1);

    if (b->size - b->used < need) {
        pool_block_t *nb;

        if (need > pool->block_size / 4) {
            /* big allocation: own block, linked behind the current one so
             * the current block keeps serving small requests */
            nb = pool_block_new(need);
            if (nb == NULL) {
                return NULL;
            }
            nb->used = need;
            nb->next = b->next;
            b->next = nb;
            pool->total += need;
            return (char *) nb + BLOCK_HDR;
        }
        nb = pool_block_new(pool->block_size);
        if (nb == NULL) {
            return NULL;
        }
        nb->next = b;
        pool->blocks = nb;
        b = nb;
    }
    void *p = (char *) b + BLOCK_HDR + b->used;
    b->used += need;
    pool->total += need;
    return p;
}

void *
vl_pool_calloc(vl_pool_t *pool, size_t n, size_t size)
{
    size_t bytes;
    void  *p;

    if (vl_size_mul(n, size, &bytes) != 0) {
        return NULL;
    }
    p = vl_pool_alloc(pool, bytes);
    if (p != NULL) {
        memset(p, 0, bytes);
    }
    return p;
}

char *
vl_pool_strndup(vl_pool_t *pool, const char *s, size_t n)
{
    char *p;

    if (n == SIZE_MAX) {
        return NULL;
    }
    p = vl_pool_alloc(pool, n + 1);
    if (p != NULL) {
        if (n > 0) {
            memcpy(p, s, n);    /* s may be NULL when n is 0 */
        }
        p[n] = '\0';
    }
    return p;
}

char *
vl_pool_strdup(vl_pool_t *pool, const char *s)
{
    return vl_pool_strndup(pool, s, strlen(s));
}

char *
vl_pool_printf(vl_pool_t *pool, const char *fmt, ...)
{
    va_list ap;
    int     n;
    char   *p;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        return NULL;
    }
    p = vl_pool_alloc(pool, (size_t) n + 1);
    if (p == NULL) {
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t) n + 1, fmt, ap);
    va_end(ap);
    return p;
}

int
vl_pool_cleanup_add(vl_pool_t *pool, vl_cleanup_fn fn, void *data)
{
    pool_cleanup_t *c = vl_pool_alloc(pool, sizeof(*c));

    if (c == NULL) {
        return -1;
    }
    c->fn = fn;
    c->data = data;
    c->next = pool->cleanups;
    pool->cleanups = c;
    return 0;
}

size_t
vl_pool_used(const vl_pool_t *pool)
{
    return pool->total;
}
