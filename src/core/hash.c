/* SPDX-License-Identifier: MIT */
/*
 * hash: two FNV-1a 64-bit lanes over the same bytes (the second with its
 * own offset basis and a shift mixed into every step), finished by the
 * splitmix64 avalanche with the lanes folded into each other.
 */
#include "config.h"

#include <string.h>

#include "core/hash.h"

void
vl_hash_init(vl_hash_t *h)
{
    h->a = 14695981039346656037ULL;
    h->b = 0x6c62272e07bb0142ULL;
}

void
vl_hash_bytes(vl_hash_t *h, const void *data, size_t len)
{
    const unsigned char *p = data;

    for (size_t i = 0; i < len; i++) {
        h->a = (h->a ^ p[i]) * 1099511628211ULL;
        h->b = (h->b ^ (p[i] ^ 0x5c)) * 0x100000001b3ULL;
        h->b ^= h->b >> 29;
    }
}

void
vl_hash_u64(vl_hash_t *h, uint64_t v)
{
    unsigned char b[8];

    for (int i = 0; i < 8; i++) {
        b[i] = (unsigned char) (v >> (56 - 8 * i));
    }
    vl_hash_bytes(h, b, sizeof(b));
}

void
vl_hash_str(vl_hash_t *h, const char *s)
{
    if (s == NULL) {
        vl_hash_u64(h, UINT64_MAX);
        return;
    }
    vl_hash_u64(h, strlen(s));
    vl_hash_bytes(h, s, strlen(s));
}

static uint64_t
hash_mix(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

void
vl_hash_final(const vl_hash_t *h, uint64_t out[2])
{
    out[0] = hash_mix(h->a ^ (h->b << 1));
    out[1] = hash_mix(h->b + out[0]);
}

void
vl_hash_hex(const vl_hash_t *h, char hex[VL_HASH_HEX])
{
    static const char digits[] = "0123456789abcdef";
    uint64_t          v[2];

    vl_hash_final(h, v);
    for (int w = 0; w < 2; w++) {
        for (int i = 0; i < 16; i++) {
            hex[w * 16 + i] = digits[(v[w] >> (60 - 4 * i)) & 15];
        }
    }
    hex[32] = '\0';
}
