/* SPDX-License-Identifier: MIT */
/*
 * str: slices, checked parsing, percent coding, checked sizes.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "core/str.h"

vl_str_t
vl_str_from(const char *s)
{
    vl_str_t r = { 0, "" };

    if (s != NULL) {
        r.len = strlen(s);
        r.data = s;
    }
    return r;
}

int
vl_str_eq(vl_str_t a, const char *lit)
{
    size_t n = strlen(lit);

    return a.len == n && (n == 0 || memcmp(a.data, lit, n) == 0);
}

int
vl_str_eq_str(vl_str_t a, vl_str_t b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.data, b.data, a.len) == 0);
}

int
vl_str_starts(vl_str_t a, const char *prefix)
{
    size_t n = strlen(prefix);

    return a.len >= n && (n == 0 || memcmp(a.data, prefix, n) == 0);
}

int
vl_str_ends(vl_str_t a, const char *suffix)
{
    size_t n = strlen(suffix);

    return a.len >= n
           && (n == 0 || memcmp(a.data + a.len - n, suffix, n) == 0);
}

long
vl_str_rchr(vl_str_t s, char c)
{
    for (size_t i = s.len; i > 0; i--) {
        if (s.data[i - 1] == c) {
            return (long) (i - 1);
        }
    }
    return -1;
}

char *
vl_str_dup(vl_pool_t *pool, vl_str_t s)
{
    return vl_pool_strndup(pool, s.data, s.len);
}

char *
vl_str_cat(vl_pool_t *pool, const vl_str_t *parts, size_t n)
{
    size_t len = 0;
    char  *buf, *p;

    for (size_t i = 0; i < n; i++) {
        if (len + parts[i].len < len) {
            return NULL;
        }
        len += parts[i].len;
    }
    if (len + 1 == 0 || (buf = vl_pool_alloc(pool, len + 1)) == NULL) {
        return NULL;
    }
    p = buf;
    for (size_t i = 0; i < n; i++) {
        memcpy(p, parts[i].data, parts[i].len);
        p += parts[i].len;
    }
    *p = '\0';
    return buf;
}

int
vl_parse_u64(vl_str_t s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (s.len == 0) {
        return -1;
    }
    for (size_t i = 0; i < s.len; i++) {
        unsigned d;

        if (s.data[i] < '0' || s.data[i] > '9') {
            return -1;
        }
        d = (unsigned) (s.data[i] - '0');
        if (v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    if (v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

int
vl_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long  v;

    if (s == NULL || *s == '\0' || *s == ' ' || *s == '\t' || *s == '+') {
        return -1;
    }
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max) {
        return -1;
    }
    *out = v;
    return 0;
}

static int
hexval(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* The character that ends s[0, *n) once decoded, stepping *n back past
 * it (one byte, or a %XX escape). */
static char
pct_last(const char *s, size_t *n)
{
    size_t j = *n;
    int    hi, lo;

    if (j >= 3 && s[j - 3] == '%' && (hi = hexval(s[j - 2])) >= 0
        && (lo = hexval(s[j - 1])) >= 0) {
        *n = j - 3;
        return (char) (hi * 16 + lo);
    }
    *n = j - 1;
    return s[j - 1];
}

size_t
vl_percent_suffix(vl_str_t uri, vl_str_t path)
{
    size_t i = uri.len, j = path.len;

    while (j > 0) {
        size_t i2 = i, j2 = j;
        char   u, p;

        if (i == 0) {
            return (size_t) -1;
        }
        u = pct_last(uri.data, &i2);
        p = pct_last(path.data, &j2);
        if (u != p) {
            /* a path the front decoded may hold a literal '%' before two
             * hex digits (the client's "%2541" is "%41" there): that
             * "%41" is three characters, not an escape */
            if (j2 + 3 != j || u != path.data[j - 1]) {
                return (size_t) -1;
            }
            j2 = j - 1;
        }
        i = i2;
        j = j2;
    }
    return uri.len - i;
}

int
vl_percent_decode(vl_pool_t *pool, vl_str_t s, char **out, size_t *out_len)
{
    char  *d = vl_pool_alloc(pool, s.len + 1);
    size_t n = 0;

    if (d == NULL) {
        return -1;
    }
    for (size_t i = 0; i < s.len; i++) {
        char c = s.data[i];

        if (c == '\0') {
            return -1;
        }
        if (c == '%') {
            int hi, lo;

            if (i + 2 >= s.len) {
                return -1;      /* fewer than two characters follow */
            }
            hi = hexval(s.data[i + 1]);
            lo = hexval(s.data[i + 2]);
            if (hi < 0 || lo < 0) {
                return -1;
            }
            c = (char) (hi * 16 + lo);
            if (c == '\0') {
                return -1;
            }
            i += 2;
        }
        d[n++] = c;
    }
    d[n] = '\0';
    *out = d;
    if (out_len != NULL) {
        *out_len = n;
    }
    return 0;
}

char *
vl_percent_encode(vl_pool_t *pool, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t cap;
    char  *d, *p;

    if (vl_size_mul(len, 3, &cap) != 0 || vl_size_add(cap, 1, &cap) != 0) {
        return NULL;
    }
    d = vl_pool_alloc(pool, cap);
    if (d == NULL) {
        return NULL;
    }
    p = d;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];

        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
            || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
            || c == '~')
        {
            *p++ = (char) c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return d;
}

char *
vl_uri_escape(vl_pool_t *pool, const char *s, size_t len, const char *also)
{
    static const char hex[] = "0123456789ABCDEF";
    static const char delims[] = "-._~:/?#[]@!$&'()*+,;=";
    size_t cap;
    char  *d, *p;

    if (vl_size_mul(len, 3, &cap) != 0 || vl_size_add(cap, 1, &cap) != 0) {
        return NULL;
    }
    if ((d = vl_pool_alloc(pool, cap)) == NULL) {
        return NULL;
    }
    p = d;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) s[i];
        int           keep;

        if (c == '%') {
            keep = i + 2 < len && hexval(s[i + 1]) >= 0
                   && hexval(s[i + 2]) >= 0;
        } else {
            keep = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                   || (c >= '0' && c <= '9')
                   || (c != 0 && strchr(delims, c) != NULL);
            if (keep && also != NULL && c != 0 && strchr(also, c) != NULL) {
                keep = 0;
            }
        }
        if (keep) {
            *p++ = (char) c;
        } else {
            *p++ = '%';
            *p++ = hex[c >> 4];
            *p++ = hex[c & 15];
        }
    }
    *p = '\0';
    return d;
}

int
vl_size_mul(size_t a, size_t b, size_t *out)
{
    if (a != 0 && b > SIZE_MAX / a) {
        return -1;
    }
    *out = a * b;
    return 0;
}

int
vl_size_add(size_t a, size_t b, size_t *out)
{
    if (b > SIZE_MAX - a) {
        return -1;
    }
    *out = a + b;
    return 0;
}

int
vl_size_mul4(size_t a, size_t b, size_t c, size_t d, size_t *out)
{
    size_t t;

    if (vl_size_mul(a, b, &t) != 0 || vl_size_mul(t, c, &t) != 0
        || vl_size_mul(t, d, &t) != 0)
    {
        return -1;
    }
    *out = t;
    return 0;
}
