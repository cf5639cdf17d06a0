/* SPDX-License-Identifier: MIT */
/*
 * test_meta: the cleaning of the text fields files carry (source/meta.c),
 * table-driven: UTF-8 kept, anything else read as Latin-1, control
 * characters and white space, trimming, the output bound (never half a
 * character) and the input bound; and the rights-URI check.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "source/meta.h"

static const struct {
    const char *name;
    const char *in;
    size_t      cap;            /* 0: VL_META_MAX */
    const char *want;
} cases[] = {
    { "ASCII", "Book of Hours", 0, "Book of Hours" },
    { "UTF-8 kept byte for byte", "\xc2\xa9 Biblioth\xc3\xa8que \xe4\xb8\xad"
      "\xf0\x9f\x93\x9c", 0,
      "\xc2\xa9 Biblioth\xc3\xa8que \xe4\xb8\xad\xf0\x9f\x93\x9c" },
    { "Latin-1 converted", "Jos\xe9 Mar\xed" "a \xd1u\xf1" "ez \xa9\xff", 0,
      "Jos\xc3\xa9 Mar\xc3\xad" "a \xc3\x91u\xc3\xb1" "ez \xc2\xa9\xc3\xbf" },
    /* one invalid sequence makes the whole text Latin-1 */
    { "mixed: Latin-1", "\xc3\xa9 and \xe9", 0,
      "\xc3\x83\xc2\xa9 and \xc3\xa9" },
    { "overlong form: Latin-1", "\xc0\xaf", 0, "\xc3\x80\xc2\xaf" },
    /* (0x80-0x9f are C1 controls in Latin-1: dropped) */
    { "surrogate: Latin-1", "\xed\xa0\x80", 0, "\xc3\xad\xc2\xa0" },
    { "past U+10FFFF: Latin-1", "\xf4\x90\x80\x80", 0, "\xc3\xb4" },
    { "a lead byte at the end: Latin-1", "caf\xc3", 0, "caf\xc3\x83" },
    { "white space collapsed and trimmed", " \t a \r\n\v\f b  ", 0, "a b" },
    { "NEL and line separators are white space",
      "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xa9" "d", 0, "a b c d" },
    { "controls dropped", "\x01" "a\x1b[0m\x7f" "b\xc2\x80\xc2\x9f" "c", 0,
      "a[0mbc" },
    { "C1 bytes of Latin-1 dropped", "a\x85" "b\x9f" "c", 0, "a bc" },
    { "byte order mark dropped", "\xef\xbb\xbftitle", 0, "title" },
    { "only space", " \t\r\n ", 0, "" },
    { "empty", "", 0, "" },
    { "cut at the bound", "abcdef", 4, "abc" },
    { "never half a character", "ab\xc3\xa9", 4, "ab" },
    { "never half a character (4 bytes)", "a\xf0\x9f\x93\x9c", 5, "a" },
    { "a space at the bound is not kept", "abc def", 5, "abc" },
    { "cap 1", "abc", 1, "" },
};

static void
test_text_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char   out[VL_META_MAX];
        size_t cap = cases[i].cap != 0 ? cases[i].cap : sizeof(out);
        size_t n;

        memset(out, 'x', sizeof(out));
        n = vl_meta_text(cases[i].in, strlen(cases[i].in), out, cap);
        if (n != strlen(cases[i].want) || strcmp(out, cases[i].want) != 0) {
            fail_msg("%s: '%s' (%zu bytes), want '%s'", cases[i].name, out, n,
                     cases[i].want);
        }
        assert_true(n < cap);
        assert_int_equal(out[n], '\0');
    }
}

/* Long input: the output is VL_META_MAX - 1 bytes at most; only the first
 * VL_META_IN_MAX bytes of the input count (a UTF-8 sequence they cut does
 * not turn the text into Latin-1). */
static void
test_text_bounds(void **state)
{
    size_t len = VL_META_IN_MAX + 1000;
    char  *in = malloc(len), out[VL_META_MAX];
    size_t n;

    (void) state;
    assert_non_null(in);
    for (size_t i = 0; i < len; i += 2) {
        memcpy(in + i, "\xc3\xa9", 2);
    }
    n = vl_meta_text(in, len, out, sizeof(out));
    assert_int_equal(n, VL_META_MAX - 2);       /* whole characters */
    assert_memory_equal(out, "\xc3\xa9", 2);

    /* spaces up to the input bound, then text: nothing left */
    memset(in, ' ', len);
    memcpy(in + VL_META_IN_MAX, "late", 4);
    assert_int_equal(vl_meta_text(in, len, out, sizeof(out)), 0);
    assert_string_equal(out, "");

    /* a sequence cut by the input bound: dropped, the rest is UTF-8 */
    memset(in, 'a', len);
    memcpy(in + VL_META_IN_MAX - 1, "\xc3\xa9", 2);
    memcpy(in + 10, "\xc3\xa9", 2);
    n = vl_meta_text(in, len, out, sizeof(out));
    assert_int_equal(n, VL_META_MAX - 1);
    assert_memory_equal(out + 10, "\xc3\xa9", 2);

    /* NULL input, zero-length input */
    assert_int_equal(vl_meta_text(NULL, 5, out, sizeof(out)), 0);
    assert_int_equal(vl_meta_text(in, 0, out, sizeof(out)), 0);
    assert_string_equal(out, "");
    free(in);
}

static void
test_is_uri(void **state)
{
    (void) state;
    assert_true(vl_meta_is_uri("http://rightsstatements.org/vocab/InC/1.0/"));
    assert_true(vl_meta_is_uri("https://creativecommons.org/licenses/by/4.0/"));
    assert_false(vl_meta_is_uri("Public domain"));
    assert_false(vl_meta_is_uri("ftp://example.org/"));
    assert_false(vl_meta_is_uri("http://example.org/a b"));
    assert_false(vl_meta_is_uri("http://example.org/\"x\""));
    assert_false(vl_meta_is_uri("http://example.org/<x>"));
    assert_false(vl_meta_is_uri("http://example.org/\xc3\xa9"));
    assert_false(vl_meta_is_uri(" http://example.org/"));
    assert_false(vl_meta_is_uri(NULL));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_table),
        cmocka_unit_test(test_text_bounds),
        cmocka_unit_test(test_is_uri),
    };

    return cmocka_run_group_tests_name("meta", tests, NULL, NULL);
}
