/* SPDX-License-Identifier: MIT */
/*
 * cache: the shared response cache in memcached (MEMCACHED_SERVERS,
 * libmemcached server-list syntax, consistent hashing). Stores encoded
 * bodies and their content type (never other headers) of images and
 * info.json. One vl_cache_t per worker process; each thread gets its own
 * connection handle. A dead memcached costs at most one timeout, then the
 * cache is skipped for a few seconds: it never fails a request.
 *
 * Response keys come from the caller (serve/respond.c cuts the key and
 * the ETag from one digest of everything that decides the bytes: API
 * version, identifier, canonical request or id URI, media type, the file's
 * identity and the configuration's output fingerprint), so a changed file
 * or setting is never served stale and never revalidates as unchanged.
 *
 * Purge: each identifier has a generation number in memcached
 * ("vl1:gen:<hash of id>"). It is stored inside every cached value, and a
 * lookup fetches it together with the body in one multi-get (one round
 * trip): a value whose generation differs from the current one is a miss.
 * So a purge takes effect on the very next request, with no per-worker
 * generation cache. A missing generation key (never purged, or evicted) is
 * created with the current time in microseconds, which is larger than any
 * generation stored before: eviction cannot bring old values back.
 */
#ifndef VL_CACHE_H
#define VL_CACHE_H

#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/types.h"

#define VL_CACHE_PREFIX    "vl1:"
#define VL_CACHE_KEY_SIZE  48          /* buffer for any key + NUL (<= 250):
                                          prefix + 32 hex digits */
#define VL_CACHE_MAX_ITEM  (1024 * 1024 - 1024) /* memcached's 1 MB item */
#define VL_CACHE_RETRY_MS  5000        /* skip memcached after a failure */
#define VL_CACHE_TIMEOUT_MS 100        /* connect, poll, send, receive */

typedef struct vl_cache_s vl_cache_t;

/* A value found in the cache (both in the request pool). */
typedef struct {
    const unsigned char *body;
    size_t               len;
    const char          *type;      /* Content-Type */
} vl_cache_hit_t;

/* Generation key of an identifier: "vl1:gen:" + 32 hex digits. Pure. */
void vl_cache_gen_key(const char *id, char *out);

/* The cache of conf->memcached_servers ("" = off, or built without
 * libmemcached: a cache that is never enabled).
 * Errors: VL_ECONF (the server list does not parse), VL_ENOMEM. */
vl_cache_t *vl_cache_new(const vl_conf_t *conf, vl_err_t *err);
void vl_cache_free(vl_cache_t *cache);

/* 1 if memcached is configured (it may still be down). Accepts NULL. */
int vl_cache_enabled(const vl_cache_t *cache);

/* Look key up, with id's generation. Returns 1 on a hit (*hit filled),
 * 0 on a miss or when memcached is off, down or in its retry delay. *gen
 * receives the generation to store a miss under (0 if unknown: then
 * vl_cache_set does nothing). Never fails a request. */
int vl_cache_get(vl_cache_t *cache, vl_pool_t *pool, const char *id,
                 const char *key, vl_cache_hit_t *hit, uint64_t *gen);

/* Store a response of identifier id under key with generation gen (from
 * vl_cache_get), on the server of id's generation. Bodies larger than
 * VL_CACHE_MAX_ITEM are skipped. Best effort. */
void vl_cache_set(vl_cache_t *cache, const char *id, const char *key,
                  uint64_t gen, const char *type, const unsigned char *body,
                  size_t len);

/* Bump id's generation: every cached response of id misses afterwards.
 * *gen receives the new generation.
 * Errors: VL_ECONF (memcached not configured), VL_EIO (unreachable). */
int vl_cache_purge(vl_cache_t *cache, const char *id, uint64_t *gen,
                   vl_err_t *err);

#endif /* VL_CACHE_H */
