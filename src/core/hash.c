/* SPDX-License-Identifier: MIT */
/*
 * hash: two FNV-1a 64-bit lanes over the same bytes (the second with its
 * own offset basis and a shift mixed into every step), finished by the
 * splitmix64 avalanche with the lanes folded into each other. vl_hash64:
 * XXH64 as its reference defines it (the unit test checks its vectors).
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

void
vl_hash_file(vl_hash_t *h, const vl_file_id_t *f)
{
    /* not the device and inode: a copy of the file on another host of a
     * cluster (rsync -a, cp -p keep the modification time) must give the
     * same ETags and memcached keys */
    vl_hash_u64(h, (uint64_t) f->size);
    vl_hash_u64(h, (uint64_t) f->mtime_ns);
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

/* ------------------------------------------------------------- XXH64 */

#define H64_P1 0x9E3779B185EBCA87ULL
#define H64_P2 0xC2B2AE3D27D4EB4FULL
#define H64_P3 0x165667B19E3779F9ULL
#define H64_P4 0x85EBCA77C2B2AE63ULL
#define H64_P5 0x27D4EB2F165667C5ULL

static inline uint64_t
h64_rotl(uint64_t x, int r)
{
    return (x << r) | (x >> (64 - r));
}

/* A little-endian word at p, whatever the machine and the alignment. */
static inline uint64_t
h64_read64(const unsigned char *p)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    uint64_t v;

    memcpy(&v, p, sizeof(v));
    return v;
#else
    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
           | (uint64_t) p[3] << 24 | (uint64_t) p[4] << 32
           | (uint64_t) p[5] << 40 | (uint64_t) p[6] << 48
           | (uint64_t) p[7] << 56;
#endif
}

static inline uint64_t
h64_read32(const unsigned char *p)
{
    return (uint64_t) p[0] | (uint64_t) p[1] << 8 | (uint64_t) p[2] << 16
           | (uint64_t) p[3] << 24;
}

static inline uint64_t
h64_round(uint64_t acc, uint64_t in)
{
    acc += in * H64_P2;
    acc = h64_rotl(acc, 31);
    return acc * H64_P1;
}

static inline uint64_t
h64_merge(uint64_t acc, uint64_t v)
{
    acc ^= h64_round(0, v);
    return acc * H64_P1 + H64_P4;
}

/* Whole stripes of 32 bytes into the four lanes. */
static const unsigned char *
h64_stripes(uint64_t v[4], const unsigned char *p, size_t n)
{
    const unsigned char *end = p + (n & ~(size_t) 31);

    while (p < end) {
        v[0] = h64_round(v[0], h64_read64(p));
        v[1] = h64_round(v[1], h64_read64(p + 8));
        v[2] = h64_round(v[2], h64_read64(p + 16));
        v[3] = h64_round(v[3], h64_read64(p + 24));
        p += 32;
    }
    return p;
}

void
vl_hash64_init(vl_hash64_t *h, uint64_t seed)
{
    memset(h, 0, sizeof(*h));
    h->seed = seed;
    h->v[0] = seed + H64_P1 + H64_P2;
    h->v[1] = seed + H64_P2;
    h->v[2] = seed;
    h->v[3] = seed - H64_P1;
}

void
vl_hash64_update(vl_hash64_t *h, const void *data, size_t len)
{
    const unsigned char *p = data;

    h->total += len;
    if (h->nbuf + len < 32) {
        if (len > 0) {
            memcpy(h->buf + h->nbuf, p, len);
        }
        h->nbuf += len;
        return;
    }
    if (h->nbuf > 0) {
        size_t k = 32 - h->nbuf;

        memcpy(h->buf + h->nbuf, p, k);
        h64_stripes(h->v, h->buf, 32);
        p += k;
        len -= k;
        h->nbuf = 0;
    }
    p = h64_stripes(h->v, p, len);
    len &= 31;
    memcpy(h->buf, p, len);
    h->nbuf = len;
}

uint64_t
vl_hash64_final(const vl_hash64_t *h)
{
    const unsigned char *p = h->buf, *end = h->buf + h->nbuf;
    uint64_t             acc;

    if (h->total >= 32) {
        acc = h64_rotl(h->v[0], 1) + h64_rotl(h->v[1], 7)
              + h64_rotl(h->v[2], 12) + h64_rotl(h->v[3], 18);
        for (int i = 0; i < 4; i++) {
            acc = h64_merge(acc, h->v[i]);
        }
    } else {
        acc = h->seed + H64_P5;
    }
    acc += h->total;
    for (; p + 8 <= end; p += 8) {
        acc ^= h64_round(0, h64_read64(p));
        acc = h64_rotl(acc, 27) * H64_P1 + H64_P4;
    }
    if (p + 4 <= end) {
        acc ^= h64_read32(p) * H64_P1;
        acc = h64_rotl(acc, 23) * H64_P2 + H64_P3;
        p += 4;
    }
    for (; p < end; p++) {
        acc ^= *p * H64_P5;
        acc = h64_rotl(acc, 11) * H64_P1;
    }
    acc ^= acc >> 33;
    acc *= H64_P2;
    acc ^= acc >> 29;
    acc *= H64_P3;
    acc ^= acc >> 32;
    return acc;
}

uint64_t
vl_hash64(const void *data, size_t len, uint64_t seed)
{
    vl_hash64_t h;

    vl_hash64_init(&h, seed);
    vl_hash64_update(&h, data, len);
    return vl_hash64_final(&h);
}
