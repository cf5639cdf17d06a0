/* SPDX-License-Identifier: MIT */
/*
 * hash: a 128-bit non-cryptographic hash (two FNV-1a lanes with different
 * offset bases, finished by an avalanche mix that folds the lanes into each
 * other) for names of things that must not collide by accident: the output
 * fingerprint of a configuration, response ETags and memcached keys. Not for
 * an adversary: what it hashes is the server's own canonical text. Fields
 * are length-prefixed, so no two field lists hash the same bytes. Pure,
 * thread-safe.
 *
 * vl_hash64 is the one for bytes in bulk (the contents of image files, the
 * checksum of a Change Discovery log line): XXH64, word at a time over
 * 32-byte stripes in four lanes, several GB/s, little-endian words on any
 * machine, so a value written on one host checks on another.
 */
#ifndef VL_HASH_H
#define VL_HASH_H

#include <stddef.h>
#include <stdint.h>

#include "core/types.h"

typedef struct {
    uint64_t a, b;
} vl_hash_t;

/* 32 hex digits and a NUL. */
#define VL_HASH_HEX 33

void vl_hash_init(vl_hash_t *h);
void vl_hash_bytes(vl_hash_t *h, const void *data, size_t len);
void vl_hash_u64(vl_hash_t *h, uint64_t v);
/* The length, then the bytes; NULL hashes differently from "". */
void vl_hash_str(vl_hash_t *h, const char *s);

/* The identity of a file's content as every host of a cluster sees it: its
 * size and modification time (nanoseconds), never its device or inode, so
 * that copies made with the time kept (rsync -a, cp -p) answer with the
 * same ETags and memcached keys. The name is the caller's to hash (the
 * identifier). A file rewritten to the same size and time is not seen. */
void vl_hash_file(vl_hash_t *h, const vl_file_id_t *f);

/* The finished value: two 64-bit words, fully mixed. */
void vl_hash_final(const vl_hash_t *h, uint64_t out[2]);

/* The finished value as 32 lowercase hex digits into hex[VL_HASH_HEX]. */
void vl_hash_hex(const vl_hash_t *h, char hex[VL_HASH_HEX]);

/* ---------------------------------------------------- bytes in bulk */

/* The state of a streaming XXH64: any split of the input into updates
 * gives the same value as one call. */
typedef struct {
    uint64_t      v[4];
    uint64_t      total;
    uint64_t      seed;
    unsigned char buf[32];
    size_t        nbuf;
} vl_hash64_t;

void vl_hash64_init(vl_hash64_t *h, uint64_t seed);
void vl_hash64_update(vl_hash64_t *h, const void *data, size_t len);
uint64_t vl_hash64_final(const vl_hash64_t *h);

/* XXH64 of len bytes with seed, in one call. */
uint64_t vl_hash64(const void *data, size_t len, uint64_t seed);

#endif /* VL_HASH_H */
