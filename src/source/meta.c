/* SPDX-License-Identifier: MIT */
/*
 * meta: cleaning of the text fields files carry (meta.h). One pass to
 * decide the encoding (strict UTF-8: no overlong forms, no surrogates,
 * nothing past U+10FFFF), one pass to copy characters out.
 */
#include "config.h"

#include <string.h>

#include "source/meta.h"

/* The length of the valid UTF-8 sequence at p[0, n) and its code point,
 * or 0 when it is invalid or incomplete. */
static size_t
meta_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char c = p[0];
    size_t        len;
    uint32_t      v, lo = 0x80, hi = 0xbf;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        v = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        v = c & 0x0f;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        v = c & 0x07;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi) {
        return 0;
    }
    v = v << 6 | (p[1] & 0x3f);
    for (size_t i = 2; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        v = v << 6 | (p[i] & 0x3f);
    }
    *cp = v;
    return len;
}

/* Whether p[0, n) is UTF-8; with `cut`, an incomplete sequence at the
 * very end (where the input was bounded) does not count against it. */
static int
meta_is_utf8(const unsigned char *p, size_t n, int cut)
{
    size_t   i = 0, k;
    uint32_t cp;

    while (i < n) {
        if ((k = meta_utf8_next(p + i, n - i, &cp)) == 0) {
            return cut && n - i < 4 && p[i] >= 0xc2 && p[i] <= 0xf4;
        }
        i += k;
    }
    return 1;
}

int
vl_meta_put_utf8(char *out, size_t cap, size_t *n, uint32_t cp)
{
    unsigned char b[4];
    size_t        len;

    if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return 0;
    }
    if (cp < 0x80) {
        b[0] = (unsigned char) cp;
        len = 1;
    } else if (cp < 0x800) {
        b[0] = (unsigned char) (0xc0 | cp >> 6);
        b[1] = (unsigned char) (0x80 | (cp & 0x3f));
        len = 2;
    } else if (cp < 0x10000) {
        b[0] = (unsigned char) (0xe0 | cp >> 12);
        b[1] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        b[2] = (unsigned char) (0x80 | (cp & 0x3f));
        len = 3;
    } else {
        b[0] = (unsigned char) (0xf0 | cp >> 18);
        b[1] = (unsigned char) (0x80 | ((cp >> 12) & 0x3f));
        b[2] = (unsigned char) (0x80 | ((cp >> 6) & 0x3f));
        b[3] = (unsigned char) (0x80 | (cp & 0x3f));
        len = 4;
    }
    if (cap == 0 || len > cap - 1 - *n) {
        return -1;
    }
    memcpy(out + *n, b, len);
    *n += len;
    return 0;
}

static int
meta_is_space(uint32_t cp)
{
    return cp == ' ' || (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0x2028
           || cp == 0x2029;
}

static int
meta_is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0xfeff;
}

size_t
vl_meta_text(const char *in, size_t len, char *out, size_t cap)
{
    const unsigned char *p = (const unsigned char *) in;
    size_t               n = 0, i = 0, k;
    int                  cut = len > VL_META_IN_MAX, utf8, space = 0;
    uint32_t             cp;

    if (cap == 0) {
        return 0;
    }
    out[0] = '\0';
    if (in == NULL) {
        return 0;
    }
    len = cut ? VL_META_IN_MAX : len;
    utf8 = meta_is_utf8(p, len, cut);
    while (i < len) {
        if (utf8) {
            if ((k = meta_utf8_next(p + i, len - i, &cp)) == 0) {
                break; /* the sequence the bound cut */
            }
        } else {
            cp = p[i];
            k = 1;
        }
        i += k;
        if (meta_is_space(cp)) {
            space = n > 0;
            continue;
        }
        if (meta_is_control(cp)) {
            continue;
        }
        /* one space before the character, only if both fit */
        if (space) {
            size_t keep = n;

            if (vl_meta_put_utf8(out, cap, &n, ' ') != 0
                || vl_meta_put_utf8(out, cap, &n, cp) != 0)
            {
                n = keep;
                break;
            }
            space = 0;
            continue;
        }
        if (vl_meta_put_utf8(out, cap, &n, cp) != 0) {
            break;
        }
    }
    out[n] = '\0';
    return n;
}

int
vl_meta_is_uri(const char *s)
{
    if (s == NULL
        || (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0))
    {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if ((unsigned char) *s <= ' ' || *s == '"' || *s == '<' || *s == '>'
            || *s == '\\' || (unsigned char) *s >= 127)
        {
            return 0;
        }
    }
    return 1;
}
