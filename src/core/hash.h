/* SPDX-License-Identifier: MIT */
/*
 * hash: a 128-bit non-cryptographic hash (two FNV-1a lanes with different
 * offset bases, finished by an avalanche mix that folds the lanes into each
 * other) for names of things that must not collide by accident: the output
 * fingerprint of a configuration, response ETags and memcached keys. Not for
 * an adversary: what it hashes is the server's own canonical text. Fields
 * are length-prefixed, so no two field lists hash the same bytes. Pure,
 * thread-safe.
 */
#ifndef VL_HASH_H
#define VL_HASH_H

#include <stddef.h>
#include <stdint.h>

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

/* The finished value: two 64-bit words, fully mixed. */
void vl_hash_final(const vl_hash_t *h, uint64_t out[2]);

/* The finished value as 32 lowercase hex digits into hex[VL_HASH_HEX]. */
void vl_hash_hex(const vl_hash_t *h, char hex[VL_HASH_HEX]);

#endif /* VL_HASH_H */
