/* SPDX-License-Identifier: MIT */
/*
 * meta: what a file says about itself (TIFF ASCII tags, the Dublin Core of
 * a JP2's XML box) made fit for a manifest: valid UTF-8, no control
 * characters, whitespace collapsed, trimmed and bounded. Used by the
 * backends at open (tiff.c, jp2box.c); pure functions over caller-owned
 * buffers, thread-safe.
 */
#ifndef VL_META_H
#define VL_META_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of one cleaned field, its NUL included (a longer text is cut at a
 * character boundary). */
#define VL_META_MAX 4096

/* Bytes of input one field is cleaned from: the rest is ignored. */
#define VL_META_IN_MAX ((size_t) 64 << 10)

/*
 * Clean the first min(len, VL_META_IN_MAX) bytes of `in` into out (cap
 * bytes, at least 1): decoded as UTF-8 when those bytes are valid UTF-8
 * (a sequence cut by the bound is dropped), else as Latin-1 (each byte one
 * character: what TIFF writers that are not UTF-8 mostly store). Then tab,
 * line breaks and other white space become spaces, the other control
 * characters (C0, DEL, C1) and U+FEFF are dropped, runs of spaces become
 * one and the ends are trimmed. Writes at most cap - 1 bytes and a NUL,
 * never a partial character. Returns the length written (0: nothing left).
 */
size_t vl_meta_text(const char *in, size_t len, char *out, size_t cap);

/* Whether s (NUL-terminated) is an http(s) URI without spaces, quotes,
 * angle brackets, backslashes or non-ASCII bytes: what info.json may give
 * as "rights". */
int vl_meta_is_uri(const char *s);

/* Append code point cp to out[*n, cap - 1) as UTF-8 if it fits and is a
 * Unicode scalar value other than NUL (surrogates, values past U+10FFFF
 * and NUL are dropped). Returns 0, or -1 when it does not fit. */
int vl_meta_put_utf8(char *out, size_t cap, size_t *n, uint32_t cp);

#endif /* VL_META_H */
