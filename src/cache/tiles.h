/* SPDX-License-Identifier: MIT */
/*
 * tiles: the per-worker cache of decoded tiles, an LRU bounded by bytes
 * (MAX_IMAGE_CACHE_SIZE MB; 0 = off), shared by the worker's threads behind
 * one mutex. Entries are refcounted blobs: a lookup returns a reference the
 * reader releases after copying pixels out, so eviction never frees a blob
 * in use and nothing is copied between caches. Keys carry the file identity
 * (device, inode, size, mtime), so a changed file never hits.
 *
 * Wiring: vl_app_new creates one cache and hands it to the handle cache
 * (vl_source_cache_set_tiles); every handle checked out of that cache points
 * at it (vl_source_t.tiles), and the block walk every backend reads
 * through (source/grid.c) calls vl_tiles_get/put around each block decode.
 * serve/respond.c keeps the encoded bodies of a viewer's edge tiles in the
 * same cache (the memo): page 0, which no decoded block has, a 1-row blob
 * of "type NUL body". Handles opened by path (CLI) get a private cache of
 * VL_TILES_PRIVATE_BYTES. The cache must outlive the handle cache.
 */
#ifndef VL_TILES_H
#define VL_TILES_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"

/* Capacity of the private cache of a handle opened without a handle cache. */
#define VL_TILES_PRIVATE_BYTES ((size_t) 32 << 20)

typedef struct vl_tile_cache_s vl_tile_cache_t;

/* What a decoded block is: a file identity, the page of a multi-page file
 * (1-based; 1 for every other file), a level of that page's geometry, a
 * block number in that level's grid (row * columns + column), the
 * decode scale (1, 2, 4, 8: a DCT-scaled virtual level) and the sample
 * depth it was decoded to (1: 8-bit, 2: 16-bit), so that 8- and 16-bit
 * decodes of one block never meet. */
typedef struct {
    uint64_t dev, ino;
    int64_t  size, mtime_ns;
    uint32_t page;
    uint32_t level;
    uint32_t tile;
    uint32_t scale;
    uint32_t depth;         /* 1 or 2 bytes per sample */
} vl_tile_key_t;

/* A decoded block: w x h pixels of `bands` samples of `depth` bytes
 * (8-bit, or native-endian uint16), rows packed (stride = w * bands *
 * depth). Read-only once published with vl_tiles_put. */
typedef struct vl_tile_s {
    unsigned char    *data;
    size_t            len;
    uint32_t          w, h;
    int               bands;
    int               depth;            /* 1 or 2 bytes per sample */
    /* private: refcount and LRU links */
    atomic_long       refs;
    vl_tile_key_t     key;
    uint64_t          hash;
    struct vl_tile_s *prev, *next;      /* LRU list */
    struct vl_tile_s *chain;            /* hash bucket */
} vl_tile_t;

typedef struct {
    uint64_t hits, misses;      /* lookups; a miss is followed by a decode */
    uint64_t inserts, evictions;
    size_t   entries, bytes;    /* currently held */
    size_t   capacity;
} vl_tiles_stats_t;

/* A cache of at most `capacity` bytes of pixels (0: every lookup misses and
 * nothing is kept). Returns NULL when out of memory. */
vl_tile_cache_t *vl_tiles_new(size_t capacity);

/* Drop the cache's references (blobs still held by readers live on until
 * released). Accepts NULL. */
void vl_tiles_free(vl_tile_cache_t *cache);

/* A new blob of w x h x bands bytes with one reference (the caller's).
 * Errors: VL_ENOMEM, VL_EFORMAT (size out of range). */
vl_tile_t *vl_tile_new(uint32_t w, uint32_t h, int bands, vl_err_t *err);

/* The same with `depth` bytes per sample (1 or 2). */
vl_tile_t *vl_tile_new_depth(uint32_t w, uint32_t h, int bands, int depth,
                             vl_err_t *err);

/* Release one reference; the last one frees the blob. Accepts NULL. */
void vl_tile_release(vl_tile_t *tile);

/* The blob for key with a new reference for the caller, or NULL (miss).
 * Accepts a NULL cache (always a miss, not counted). */
vl_tile_t *vl_tiles_get(vl_tile_cache_t *cache, const vl_tile_key_t *key);

/* Publish tile under key: the cache takes its own reference (the caller
 * keeps and still releases its own). A key already present is replaced.
 * Blobs larger than the capacity are not kept. Evicts least recently used
 * blobs until the total fits. Accepts a NULL cache (no-op). */
void vl_tiles_put(vl_tile_cache_t *cache, const vl_tile_key_t *key,
                  vl_tile_t *tile);

/* Counters since creation. */
/* Drop every block of the file of this identity (a file found changed
 * while it was read: its blocks may mix two versions). O(entries); the
 * blocks a reader still holds stay valid until released. */
void vl_tiles_forget(vl_tile_cache_t *cache, uint64_t dev, uint64_t ino,
                     int64_t size, int64_t mtime_ns);

void vl_tiles_stats(vl_tile_cache_t *cache, vl_tiles_stats_t *out);

#endif /* VL_TILES_H */
