/* SPDX-License-Identifier: MIT */
/*
 * str: length+pointer slices (no copies of FastCGI strings), checked integer
 * parsing, percent-decoding and -encoding, and checked size arithmetic.
 * Everything here is pure and thread-safe.
 */
#ifndef VL_STR_H
#define VL_STR_H

#include <stddef.h>
#include <stdint.h>

#include "core/pool.h"

typedef struct {
    size_t      len;
    const char *data;
} vl_str_t;

#define VL_STR(lit) ((vl_str_t) { sizeof(lit) - 1, (lit) })

/* Slice of a NUL-terminated string (NULL gives the empty slice). */
vl_str_t vl_str_from(const char *s);

/* 1 if equal, else 0. */
int vl_str_eq(vl_str_t a, const char *lit);
int vl_str_eq_str(vl_str_t a, vl_str_t b);
int vl_str_starts(vl_str_t a, const char *prefix);
int vl_str_ends(vl_str_t a, const char *suffix);

/* Index of the last occurrence of c, or -1. */
long vl_str_rchr(vl_str_t s, char c);

/* NUL-terminated copy in the pool. */
char *vl_str_dup(vl_pool_t *pool, vl_str_t s);

/* The n slices one after the other, NUL-terminated, in the pool (no
 * formatting: for hot header values). NULL on ENOMEM. */
char *vl_str_cat(vl_pool_t *pool, const vl_str_t *parts, size_t n);

/* Decimal non-negative integer, digits only (no sign, no spaces, no
 * leading '+'), value <= max. Returns 0 on success, -1 otherwise. */
int vl_parse_u64(vl_str_t s, uint64_t max, uint64_t *out);

/* Signed long in [min, max] from a NUL-terminated string, whole string must
 * be consumed (leading '-' allowed). 0 on success, -1 otherwise. */
int vl_parse_long(const char *s, long min, long max, long *out);

/* How many bytes at the end of uri spell path, comparing the two as
 * percent-decoded text ("a%2Fb/info.json" ends with "a/b/info.json" and
 * with itself), or (size_t) -1 when uri does not end with it. */
size_t vl_percent_suffix(vl_str_t uri, vl_str_t path);

/* Percent-decode s into a new pool string. Rejects malformed escapes
 * ("%G1", "%4"), and the NUL byte ("%00") since no identifier may hold it.
 * Returns 0, or -1 on bad input / ENOMEM. *out_len gets the decoded length. */
int vl_percent_decode(vl_pool_t *pool, vl_str_t s, char **out,
                      size_t *out_len);

/* Percent-encode everything except RFC 3986 unreserved characters
 * (A-Z a-z 0-9 - . _ ~); '/' is encoded too (identifiers: %2F). Returns a
 * pool string or NULL on ENOMEM. */
char *vl_percent_encode(vl_pool_t *pool, const char *s, size_t len);

/* s[0, len) made fit to stand in a URI (RFC 3986): every byte that is no
 * URI character (not unreserved, gen-delims or sub-delims: spaces,
 * quotes, '<', '>', '\\', '^', '`', '{', '|', '}', controls, non-ASCII)
 * percent-encoded, a '%' that starts no escape (two hex digits) as "%25",
 * escapes kept as they are, and the bytes of `also` encoded too ("?#" for
 * text that is one path: an identifier). Returns a pool string or NULL on
 * ENOMEM. */
char *vl_uri_escape(vl_pool_t *pool, const char *s, size_t len,
                    const char *also);

/* Checked size arithmetic: 0 and *out set on success, -1 on overflow. */
int vl_size_mul(size_t a, size_t b, size_t *out);
int vl_size_add(size_t a, size_t b, size_t *out);
/* a*b*c*d with every step checked. */
int vl_size_mul4(size_t a, size_t b, size_t c, size_t d, size_t *out);

#endif /* VL_STR_H */
