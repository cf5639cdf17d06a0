/* SPDX-License-Identifier: MIT */
/*
 * tiles: per-worker LRU of decoded blocks, bounded by bytes. One mutex
 * guards the hash table, the LRU list and the counters; blob refcounts are
 * atomic so a reader releases its reference without the lock and a blob
 * may outlive the cache. The cache holds one reference per entry.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache/tiles.h"
#include "core/metrics.h"
#include "core/str.h"

#define TILES_MIN_BUCKETS 64u

struct vl_tile_cache_s {
    pthread_mutex_t lock;
    size_t          capacity;
    size_t          bytes;
    size_t          entries;
    size_t          nbuckets;         /* power of two */
    vl_tile_t     **buckets;
    vl_tile_t      *head, *tail;      /* most recently used first */
    uint64_t        hits, misses, inserts, evictions;
};

static uint64_t
tiles_hash(const vl_tile_key_t *k)
{
    uint64_t h = 1469598103934665603ULL;
    uint64_t v[7];

    v[0] = k->dev;
    v[1] = k->ino;
    v[2] = (uint64_t) k->size;
    v[3] = (uint64_t) k->mtime_ns;
    v[4] = (uint64_t) k->page << 32 | k->level;
    v[5] = k->tile;
    v[6] = (uint64_t) k->depth << 32 | k->scale;
    for (int i = 0; i < 7; i++) {
        h ^= v[i];
        h *= 1099511628211ULL;
        h ^= h >> 29;
    }
    return h;
}

static int
tiles_key_eq(const vl_tile_key_t *a, const vl_tile_key_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size
           && a->mtime_ns == b->mtime_ns && a->page == b->page
           && a->level == b->level && a->tile == b->tile
           && a->scale == b->scale && a->depth == b->depth;
}

vl_tile_cache_t *
vl_tiles_new(size_t capacity)
{
    vl_tile_cache_t *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        return NULL;
    }
    c->nbuckets = TILES_MIN_BUCKETS;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (c->buckets == NULL || pthread_mutex_init(&c->lock, NULL) != 0) {
        free(c->buckets);
        free(c);
        return NULL;
    }
    c->capacity = capacity;
    return c;
}

void
vl_tiles_free(vl_tile_cache_t *cache)
{
    vl_tile_t *t, *next;

    if (cache == NULL) {
        return;
    }
    for (t = cache->head; t != NULL; t = next) {
        next = t->next;
        t->prev = t->next = t->chain = NULL;
        vl_tile_release(t);
    }
    pthread_mutex_destroy(&cache->lock);
    free(cache->buckets);
    free(cache);
}

vl_tile_t *
vl_tile_new(uint32_t w, uint32_t h, int bands, vl_err_t *err)
{
    return vl_tile_new_depth(w, h, bands, 1, err);
}

vl_tile_t *
vl_tile_new_depth(uint32_t w, uint32_t h, int bands, int depth,
                  vl_err_t *err)
{
    vl_tile_t *t;
    size_t     len;

    if (w == 0 || h == 0 || bands < 1 || (depth != 1 && depth != 2)
        || vl_size_mul4(w, h, (size_t) bands, (size_t) depth, &len) != 0) {
        vl_err_set(err, VL_EFORMAT, "tile size out of range");
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL || (t->data = malloc(len)) == NULL) {
        free(t);
        vl_err_set(err, VL_ENOMEM, "out of memory decoding a tile");
        return NULL;
    }
    t->len = len;
    t->w = w;
    t->h = h;
    t->bands = bands;
    t->depth = depth;
    atomic_init(&t->refs, 1);
    return t;
}

void
vl_tile_release(vl_tile_t *tile)
{
    if (tile == NULL) {
        return;
    }
    if (atomic_fetch_sub_explicit(&tile->refs, 1, memory_order_acq_rel)
        == 1) {
        free(tile->data);
        free(tile);
    }
}

static void
tiles_lru_unlink(vl_tile_cache_t *c, vl_tile_t *t)
{
    if (t->prev != NULL) {
        t->prev->next = t->next;
    } else {
        c->head = t->next;
    }
    if (t->next != NULL) {
        t->next->prev = t->prev;
    } else {
        c->tail = t->prev;
    }
    t->prev = t->next = NULL;
}

static void
tiles_lru_front(vl_tile_cache_t *c, vl_tile_t *t)
{
    t->prev = NULL;
    t->next = c->head;
    if (c->head != NULL) {
        c->head->prev = t;
    } else {
        c->tail = t;
    }
    c->head = t;
}

/* Remove entry t from the table and the list; returns the cache's
 * reference, which the caller releases outside the lock. */
static vl_tile_t *
tiles_remove(vl_tile_cache_t *c, vl_tile_t *t)
{
    vl_tile_t **pp = &c->buckets[t->hash & (c->nbuckets - 1)];

    while (*pp != t) {
        VL_ASSERT(*pp != NULL);
        pp = &(*pp)->chain;
    }
    *pp = t->chain;
    t->chain = NULL;
    tiles_lru_unlink(c, t);
    c->bytes -= t->len;
    c->entries--;
    return t;
}

static vl_tile_t *
tiles_find(vl_tile_cache_t *c, const vl_tile_key_t *key, uint64_t hash)
{
    vl_tile_t *t;

    for (t = c->buckets[hash & (c->nbuckets - 1)]; t != NULL; t = t->chain) {
        if (t->hash == hash && tiles_key_eq(&t->key, key)) {
            return t;
        }
    }
    return NULL;
}

/* Double the table when it is fuller than one entry per bucket (best
 * effort: a failed allocation keeps the old table). */
static void
tiles_grow(vl_tile_cache_t *c)
{
    size_t      n = c->nbuckets * 2;
    vl_tile_t **b;

    if (c->entries <= c->nbuckets || n > ((size_t) 1 << 24)) {
        return;
    }
    b = calloc(n, sizeof(*b));
    if (b == NULL) {
        return;
    }
    for (size_t i = 0; i < c->nbuckets; i++) {
        vl_tile_t *t = c->buckets[i], *next;

        for (; t != NULL; t = next) {
            next = t->chain;
            t->chain = b[t->hash & (n - 1)];
            b[t->hash & (n - 1)] = t;
        }
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
}

vl_tile_t *
vl_tiles_get(vl_tile_cache_t *cache, const vl_tile_key_t *key)
{
    uint64_t   hash;
    vl_tile_t *t;

    if (cache == NULL) {
        return NULL;
    }
    hash = tiles_hash(key);
    pthread_mutex_lock(&cache->lock);
    t = cache->capacity != 0 ? tiles_find(cache, key, hash) : NULL;
    if (t != NULL) {
        atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
        if (cache->head != t) {
            tiles_lru_unlink(cache, t);
            tiles_lru_front(cache, t);
        }
        cache->hits++;
        vl_metrics_add(VL_MET_TILE_HIT, 1);
    } else {
        cache->misses++;
        vl_metrics_add(VL_MET_TILE_MISS, 1);
    }
    pthread_mutex_unlock(&cache->lock);
    return t;
}

void
vl_tiles_put(vl_tile_cache_t *cache, const vl_tile_key_t *key,
             vl_tile_t *tile)
{
    vl_tile_t *drop = NULL, *old;
    uint64_t   hash;

    if (cache == NULL || tile == NULL || tile->len > cache->capacity) {
        return;
    }
    hash = tiles_hash(key);
    pthread_mutex_lock(&cache->lock);
    if (tile->prev != NULL || tile->next != NULL || cache->head == tile) {
        /* already published (by this cache): nothing to do */
        pthread_mutex_unlock(&cache->lock);
        return;
    }
    old = tiles_find(cache, key, hash);
    if (old != NULL) {
        tiles_remove(cache, old);
        old->chain = drop;
        drop = old;
    }
    while (cache->bytes + tile->len > cache->capacity && cache->tail != NULL) {
        vl_tile_t *t = tiles_remove(cache, cache->tail);

        t->chain = drop;
        drop = t;
        cache->evictions++;
    }
    tile->key = *key;
    tile->hash = hash;
    atomic_fetch_add_explicit(&tile->refs, 1, memory_order_relaxed);
    tile->chain = cache->buckets[hash & (cache->nbuckets - 1)];
    cache->buckets[hash & (cache->nbuckets - 1)] = tile;
    tiles_lru_front(cache, tile);
    cache->bytes += tile->len;
    cache->entries++;
    cache->inserts++;
    tiles_grow(cache);
    pthread_mutex_unlock(&cache->lock);
    /* free outside the lock */
    while (drop != NULL) {
        vl_tile_t *next = drop->chain;

        drop->chain = NULL;
        vl_tile_release(drop);
        drop = next;
    }
}

void
vl_tiles_forget(vl_tile_cache_t *cache, uint64_t dev, uint64_t ino,
                int64_t size, int64_t mtime_ns)
{
    vl_tile_t *drop = NULL, *t, *next;

    if (cache == NULL) {
        return;
    }
    pthread_mutex_lock(&cache->lock);
    for (t = cache->head; t != NULL; t = next) {
        next = t->next;
        if (t->key.dev == dev && t->key.ino == ino && t->key.size == size
            && t->key.mtime_ns == mtime_ns) {
            tiles_remove(cache, t);
            t->chain = drop;
            drop = t;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    while (drop != NULL) {
        next = drop->chain;
        drop->chain = NULL;
        vl_tile_release(drop);
        drop = next;
    }
}

void
vl_tiles_stats(vl_tile_cache_t *cache, vl_tiles_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    if (cache == NULL) {
        return;
    }
    pthread_mutex_lock(&cache->lock);
    out->hits = cache->hits;
    out->misses = cache->misses;
    out->inserts = cache->inserts;
    out->evictions = cache->evictions;
    out->entries = cache->entries;
    out->bytes = cache->bytes;
    out->capacity = cache->capacity;
    pthread_mutex_unlock(&cache->lock);
}
