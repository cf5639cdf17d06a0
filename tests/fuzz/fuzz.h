/* SPDX-License-Identifier: MIT */
/*
 * fuzz: what the libFuzzer targets of tests/fuzz/ share: the entry points
 * (LLVMFuzzerTestOneInput, and LLVMFuzzerInitialize for the targets that
 * need set-up), a reader that takes typed values off the front of the
 * input, and FUZZ_CHECK, which turns a broken property into a crash the
 * fuzzer keeps. Each target is one .c file; replay.c is the plain main
 * `make check` links each one with (no clang needed).
 */
#ifndef VL_FUZZ_H
#define VL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* A property that must hold whatever the input: abort with where and
 * why, so the fuzzer records the input (not VL_ASSERT: that one is for
 * the code under test). */
#define FUZZ_CHECK(expr, ...)                                              \
    do {                                                                   \
        if (!(expr)) {                                                     \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__,         \
                    __LINE__, #expr);                                      \
            fprintf(stderr, __VA_ARGS__);                                  \
            fputc('\n', stderr);                                           \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* Typed values off the front of the input; 0 once it is used up. */
typedef struct {
    const uint8_t *p;
    size_t         n;
} fuzz_in_t;

static inline uint8_t
fuzz_u8(fuzz_in_t *in)
{
    uint8_t v = 0;

    if (in->n > 0) {
        v = in->p[0];
        in->p++;
        in->n--;
    }
    return v;
}

static inline uint16_t
fuzz_u16(fuzz_in_t *in)
{
    uint16_t hi = fuzz_u8(in);

    return (uint16_t) (hi << 8 | fuzz_u8(in));
}

static inline uint32_t
fuzz_u32(fuzz_in_t *in)
{
    uint32_t hi = fuzz_u16(in);

    return hi << 16 | fuzz_u16(in);
}

/* The rest of the input as a NUL-terminated malloc'd copy (NULs inside
 * are kept; *len says how long). Never NULL (aborts on ENOMEM). */
static inline char *
fuzz_rest(fuzz_in_t *in, size_t *len)
{
    char *s = malloc(in->n + 1);

    if (s == NULL) {
        abort();
    }
    if (in->n > 0) {
        memcpy(s, in->p, in->n);
    }
    s[in->n] = '\0';
    if (len != NULL) {
        *len = in->n;
    }
    in->p += in->n;
    in->n = 0;
    return s;
}

/* The directory of the fixtures (tests/fixtures/out), from VL_FIXTURES;
 * exits with a message when it is not set (the targets that need image
 * files call this from LLVMFuzzerInitialize). */
static inline const char *
fuzz_fixtures(void)
{
    const char *dir = getenv("VL_FIXTURES");

    if (dir == NULL || *dir == '\0') {
        fprintf(stderr, "VL_FIXTURES is not set: the fixtures directory "
                        "(build/tests/fixtures/out) is needed\n");
        exit(1);
    }
    return dir;
}

#endif /* VL_FUZZ_H */
