/* SPDX-License-Identifier: MIT */
/*
 * test_str: slices, checked integer parsing, percent-decoding and -encoding,
 * and checked size arithmetic at the SIZE_MAX boundaries. Table-driven; one
 * pool per test.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <string.h>

#include "core/pool.h"
#include "core/str.h"

/* a slice that is not NUL-terminated where it ends */
static vl_str_t
slice(const char *s, size_t len)
{
    vl_str_t r = { len, s };

    return r;
}

static void
test_slices(void **state)
{
    vl_str_t s = vl_str_from("region/full");
    vl_str_t e = vl_str_from(NULL);
    vl_str_t lit = VL_STR("full");

    (void) state;
    assert_int_equal(s.len, 11);
    assert_int_equal(e.len, 0);
    assert_non_null(e.data);
    assert_int_equal(lit.len, 4);

    assert_true(vl_str_eq(s, "region/full"));
    assert_false(vl_str_eq(s, "region/ful"));
    assert_false(vl_str_eq(s, "region/fullx"));
    assert_true(vl_str_eq(e, ""));
    assert_true(vl_str_eq(slice("fullmax", 4), "full"));
    assert_false(vl_str_eq(slice("fullmax", 4), "fullmax"));

    assert_true(vl_str_eq_str(slice("fullmax", 4), lit));
    assert_false(vl_str_eq_str(s, lit));
    assert_true(vl_str_eq_str(e, slice("abc", 0)));

    assert_true(vl_str_starts(s, "region/"));
    assert_true(vl_str_starts(s, ""));
    assert_true(vl_str_starts(s, "region/full"));
    assert_false(vl_str_starts(s, "region/full/"));
    assert_false(vl_str_starts(slice("region", 3), "regi"));
    assert_true(vl_str_ends(s, "/full"));
    assert_true(vl_str_ends(s, ""));
    assert_false(vl_str_ends(s, "xregion/full"));
    assert_false(vl_str_ends(slice("info.json", 4), "json"));

    assert_int_equal(vl_str_rchr(s, '/'), 6);
    assert_int_equal(vl_str_rchr(vl_str_from("a.b.c"), '.'), 3);
    assert_int_equal(vl_str_rchr(s, 'x'), -1);
    assert_int_equal(vl_str_rchr(e, '/'), -1);
    /* the slice bounds the search, not the NUL */
    assert_int_equal(vl_str_rchr(slice("ab/cd/", 5), '/'), 2);
}

/* a zero-initialised slice (NULL data) is a valid empty string */
static void
test_null_slice(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);
    vl_str_t   z = { 0, NULL };
    uint64_t   u;
    char      *out;
    size_t     len = 9;

    (void) state;
    assert_true(vl_str_eq(z, ""));
    assert_false(vl_str_eq(z, "a"));
    assert_true(vl_str_eq_str(z, vl_str_from("")));
    assert_true(vl_str_starts(z, ""));
    assert_false(vl_str_starts(z, "a"));
    assert_true(vl_str_ends(z, ""));
    assert_int_equal(vl_str_rchr(z, '/'), -1);
    assert_string_equal(vl_str_dup(pool, z), "");
    assert_int_equal(vl_parse_u64(z, UINT64_MAX, &u), -1);
    assert_int_equal(vl_percent_decode(pool, z, &out, &len), 0);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    vl_pool_destroy(pool);
}

static void
test_str_dup(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);
    char      *d;

    (void) state;
    d = vl_str_dup(pool, slice("identifier/info.json", 10));
    assert_string_equal(d, "identifier");
    d = vl_str_dup(pool, vl_str_from(NULL));
    assert_string_equal(d, "");
    vl_pool_destroy(pool);
}

static const struct {
    const char *in;
    uint64_t    max;
    int         rc;
    uint64_t    val;
} u64_cases[] = {
    { "0", UINT64_MAX, 0, 0 },
    { "7", UINT64_MAX, 0, 7 },
    { "000123", UINT64_MAX, 0, 123 },
    { "4294967296", UINT64_MAX, 0, 4294967296ULL },
    { "18446744073709551615", UINT64_MAX, 0, UINT64_MAX },
    { "18446744073709551616", UINT64_MAX, -1, 0 },
    { "99999999999999999999", UINT64_MAX, -1, 0 },
    { "100", 100, 0, 100 },
    { "101", 100, -1, 0 },
    { "0", 0, 0, 0 },
    { "1", 0, -1, 0 },
    { "", UINT64_MAX, -1, 0 },
    { "+1", UINT64_MAX, -1, 0 },
    { "-1", UINT64_MAX, -1, 0 },
    { "-0", UINT64_MAX, -1, 0 },
    { " 1", UINT64_MAX, -1, 0 },
    { "1 ", UINT64_MAX, -1, 0 },
    { "1.5", UINT64_MAX, -1, 0 },
    { "0x10", UINT64_MAX, -1, 0 },
    { "1e3", UINT64_MAX, -1, 0 },
    { "12a", UINT64_MAX, -1, 0 },
    { "a", UINT64_MAX, -1, 0 },
};

static void
test_parse_u64(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(u64_cases) / sizeof(u64_cases[0]); i++) {
        uint64_t out = 0xDEADBEEF;
        int      rc = vl_parse_u64(vl_str_from(u64_cases[i].in),
                                   u64_cases[i].max, &out);

        print_message("u64 '%s'\n", u64_cases[i].in);
        assert_int_equal(rc, u64_cases[i].rc);
        if (rc == 0) {
            assert_true(out == u64_cases[i].val);
        } else {
            /* out-parameters are written only on success */
            assert_true(out == 0xDEADBEEF);
        }
    }
}

static void
test_parse_u64_slice(void **state)
{
    uint64_t out = 0;

    (void) state;
    /* only the slice is read: "12" of "123" */
    assert_int_equal(vl_parse_u64(slice("123", 2), UINT64_MAX, &out), 0);
    assert_true(out == 12);
    /* "12," with the comma inside the slice fails */
    assert_int_equal(vl_parse_u64(slice("12,5", 3), UINT64_MAX, &out), -1);
    assert_int_equal(vl_parse_u64(slice("5", 0), UINT64_MAX, &out), -1);
}

static const struct {
    const char *in;
    long        min, max;
    int         rc;
    long        val;
} long_cases[] = {
    { "0", -10, 10, 0, 0 },
    { "10", -10, 10, 0, 10 },
    { "-10", -10, 10, 0, -10 },
    { "11", -10, 10, -1, 0 },
    { "-11", -10, 10, -1, 0 },
    { "9223372036854775807", LONG_MIN, LONG_MAX, 0, LONG_MAX },
    { "-9223372036854775808", LONG_MIN, LONG_MAX, 0, LONG_MIN },
    { "9223372036854775808", LONG_MIN, LONG_MAX, -1, 0 },
    { "-9223372036854775809", LONG_MIN, LONG_MAX, -1, 0 },
    { "", LONG_MIN, LONG_MAX, -1, 0 },
    { "-", LONG_MIN, LONG_MAX, -1, 0 },
    { "+1", LONG_MIN, LONG_MAX, -1, 0 },
    { " 1", LONG_MIN, LONG_MAX, -1, 0 },
    { "\t1", LONG_MIN, LONG_MAX, -1, 0 },
    { "1 ", LONG_MIN, LONG_MAX, -1, 0 },
    { "1x", LONG_MIN, LONG_MAX, -1, 0 },
    { "abc", LONG_MIN, LONG_MAX, -1, 0 },
    { "1.0", LONG_MIN, LONG_MAX, -1, 0 },
};

static void
test_parse_long(void **state)
{
    long out;

    (void) state;
    for (size_t i = 0; i < sizeof(long_cases) / sizeof(long_cases[0]); i++) {
        int rc;

        out = 12345;
        rc = vl_parse_long(long_cases[i].in, long_cases[i].min,
                           long_cases[i].max, &out);
        print_message("long '%s'\n", long_cases[i].in);
        assert_int_equal(rc, long_cases[i].rc);
        assert_int_equal(out, rc == 0 ? long_cases[i].val : 12345);
    }
    out = 12345;
    assert_int_equal(vl_parse_long(NULL, 0, 10, &out), -1);
    assert_int_equal(out, 12345);
}

/* in, expected decoded bytes (NULL = rejected), expected length */
static const struct {
    const char *in;
    const char *out;
    size_t      len;
} dec_cases[] = {
    { "", "", 0 },
    { "plain", "plain", 5 },
    { "a%2Fb", "a/b", 3 },
    { "%2F", "/", 1 },
    { "%2f", "/", 1 },
    { "%252F", "%2F", 3 },             /* decoded once, not twice */
    { "%41%42%43", "ABC", 3 },
    { "%7e%7E", "~~", 2 },
    { "%aB%Cd", "\xab\xcd", 2 },       /* mixed case hex */
    { "caf%C3%A9", "caf\xc3\xa9", 5 }, /* UTF-8 bytes pass through */
    { "%E6%97%A5", "\xe6\x97\xa5", 3 },
    { "100%25", "100%", 4 },
    { "+", "+", 1 },                   /* '+' is not a space in paths */
    { "%20", " ", 1 },
    { "%00", NULL, 0 },
    { "a%00b", NULL, 0 },
    { "%G1", NULL, 0 },
    { "%1G", NULL, 0 },
    { "%4", NULL, 0 },
    { "%", NULL, 0 },
    { "abc%", NULL, 0 },
    { "abc%2", NULL, 0 },
    { "%%41", NULL, 0 },
    { "% 1", NULL, 0 },
    { "%-1", NULL, 0 },
};

static void
test_percent_decode(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);

    (void) state;
    for (size_t i = 0; i < sizeof(dec_cases) / sizeof(dec_cases[0]); i++) {
        char  *out = (char *) "unset";
        size_t len = 999;
        int    rc = vl_percent_decode(pool, vl_str_from(dec_cases[i].in),
                                      &out, &len);

        print_message("decode '%s'\n", dec_cases[i].in);
        if (dec_cases[i].out == NULL) {
            assert_int_equal(rc, -1);
            assert_string_equal(out, "unset");
            assert_int_equal(len, 999);
        } else {
            assert_int_equal(rc, 0);
            assert_int_equal(len, dec_cases[i].len);
            assert_memory_equal(out, dec_cases[i].out, len);
            assert_int_equal(out[len], '\0');
        }
    }
    vl_pool_destroy(pool);
}

static void
test_percent_decode_slice(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);
    char      *out;
    size_t     len;

    (void) state;
    /* the escape must be complete inside the slice, not beyond it */
    assert_int_equal(vl_percent_decode(pool, slice("ab%2F", 4), &out, &len),
                     -1);
    assert_int_equal(vl_percent_decode(pool, slice("ab%2Fcd", 5), &out, &len),
                     0);
    assert_string_equal(out, "ab/");
    assert_int_equal(len, 3);
    /* a raw NUL byte inside the slice is refused too */
    assert_int_equal(vl_percent_decode(pool, slice("a\0b", 3), &out, &len),
                     -1);
    /* out_len may be NULL */
    assert_int_equal(vl_percent_decode(pool, vl_str_from("x%20y"), &out, NULL),
                     0);
    assert_string_equal(out, "x y");
    vl_pool_destroy(pool);
}

static void
test_uri_escape(void **state)
{
    static const struct {
        const char *in, *also, *want;
    } cases[] = {
        { "a b", NULL, "a%20b" },
        { "AZaz09-._~:/?#[]@!$&'()*+,;=", NULL,
          "AZaz09-._~:/?#[]@!$&'()*+,;=" },
        { "a?b#c", "?#", "a%3Fb%23c" },
        { "\"<>\\^`{|}", NULL, "%22%3C%3E%5C%5E%60%7B%7C%7D" },
        { "caf\xc3\xa9\t\x7f", NULL, "caf%C3%A9%09%7F" },
        /* escapes stay, a '%' that starts none is escaped */
        { "a%2Fb%20", NULL, "a%2Fb%20" },
        { "100%", NULL, "100%25" },
        { "%4", NULL, "%254" },
        { "%zz%", NULL, "%25zz%25" },
        { "", NULL, "" },
    };
    vl_pool_t *pool = vl_pool_create(1024);

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *got = vl_uri_escape(pool, cases[i].in, strlen(cases[i].in),
                                  cases[i].also);

        assert_non_null(got);
        assert_string_equal(got, cases[i].want);
    }
    /* only len bytes are read: "%2" cut before its second digit */
    assert_string_equal(vl_uri_escape(pool, "%2F", 2, NULL), "%252");
    vl_pool_destroy(pool);
}

static void
test_percent_encode(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);
    char      *enc;

    (void) state;
    enc = vl_percent_encode(pool, "a/b c", 5);
    assert_string_equal(enc, "a%2Fb%20c");
    enc = vl_percent_encode(pool, "AZaz09-._~", 10);
    assert_string_equal(enc, "AZaz09-._~");
    enc = vl_percent_encode(pool, "%+:?#[]@!$&'()*,;=", 18);
    assert_string_equal(enc,
        "%25%2B%3A%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2C%3B%3D");
    enc = vl_percent_encode(pool, "caf\xc3\xa9", 5);
    assert_string_equal(enc, "caf%C3%A9");
    enc = vl_percent_encode(pool, "", 0);
    assert_string_equal(enc, "");
    /* only len bytes are read */
    enc = vl_percent_encode(pool, "ab/cd", 3);
    assert_string_equal(enc, "ab%2F");
    vl_pool_destroy(pool);
}

static void
test_percent_round_trip(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);
    char       all[255];

    (void) state;
    /* every byte but NUL survives encode then decode */
    for (int i = 0; i < 255; i++) {
        all[i] = (char) (i + 1);
    }
    const char *inputs[] = { "books/page 1.tif", "a%2Fb", "~user/x_y.z",
                             "\xe6\x97\xa5\xe6\x9c\xac/\xc3\xa9" };
    for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]) + 1; i++) {
        const char *in = i < 4 ? inputs[i] : all;
        size_t      n = i < 4 ? strlen(inputs[i]) : sizeof(all);
        char       *enc = vl_percent_encode(pool, in, n);
        char       *dec;
        size_t      len;

        assert_non_null(enc);
        /* the encoding holds no '/' and only unreserved or escapes */
        assert_null(strchr(enc, '/'));
        assert_int_equal(vl_percent_decode(pool, vl_str_from(enc), &dec, &len),
                         0);
        assert_int_equal(len, n);
        assert_memory_equal(dec, in, n);
    }
    vl_pool_destroy(pool);
}

static void
test_size_mul(void **state)
{
    size_t out = 77;

    (void) state;
    assert_int_equal(vl_size_mul(0, SIZE_MAX, &out), 0);
    assert_int_equal(out, 0);
    assert_int_equal(vl_size_mul(SIZE_MAX, 0, &out), 0);
    assert_int_equal(out, 0);
    assert_int_equal(vl_size_mul(SIZE_MAX, 1, &out), 0);
    assert_true(out == SIZE_MAX);
    assert_int_equal(vl_size_mul(1, SIZE_MAX, &out), 0);
    assert_true(out == SIZE_MAX);
    assert_int_equal(vl_size_mul(SIZE_MAX / 2, 2, &out), 0);
    assert_true(out == SIZE_MAX - 1);
    assert_int_equal(vl_size_mul(3000, 2000, &out), 0);
    assert_int_equal(out, 6000000);

    out = 77;
    assert_int_equal(vl_size_mul(SIZE_MAX / 2 + 1, 2, &out), -1);
    assert_int_equal(vl_size_mul(2, SIZE_MAX / 2 + 1, &out), -1);
    assert_int_equal(vl_size_mul(SIZE_MAX, SIZE_MAX, &out), -1);
    assert_int_equal(vl_size_mul(SIZE_MAX, 2, &out), -1);
    /* 2^32 * 2^32 on 64-bit, 2^16 * 2^16 on 32-bit */
    assert_int_equal(vl_size_mul((size_t) 1 << (sizeof(size_t) * 4),
                                 (size_t) 1 << (sizeof(size_t) * 4), &out), -1);
    assert_int_equal(out, 77);
}

static void
test_size_add(void **state)
{
    size_t out = 77;

    (void) state;
    assert_int_equal(vl_size_add(SIZE_MAX - 1, 1, &out), 0);
    assert_true(out == SIZE_MAX);
    assert_int_equal(vl_size_add(0, SIZE_MAX, &out), 0);
    assert_true(out == SIZE_MAX);
    assert_int_equal(vl_size_add(0, 0, &out), 0);
    assert_int_equal(out, 0);
    out = 77;
    assert_int_equal(vl_size_add(SIZE_MAX, 1, &out), -1);
    assert_int_equal(vl_size_add(1, SIZE_MAX, &out), -1);
    assert_int_equal(vl_size_add(SIZE_MAX / 2 + 1, SIZE_MAX / 2 + 1, &out), -1);
    assert_int_equal(out, 77);
}

static void
test_size_mul4(void **state)
{
    size_t out = 77;

    (void) state;
    /* a 40000 x 30000 RGB 16-bit image */
    assert_int_equal(vl_size_mul4(40000, 30000, 3, 2, &out), 0);
    assert_true(out == (size_t) 40000 * 30000 * 3 * 2);
    assert_int_equal(vl_size_mul4(SIZE_MAX, 1, 1, 1, &out), 0);
    assert_true(out == SIZE_MAX);
    assert_int_equal(vl_size_mul4(0, SIZE_MAX, SIZE_MAX, SIZE_MAX, &out), 0);
    assert_int_equal(out, 0);
    out = 77;
    /* overflow at each of the three steps */
    assert_int_equal(vl_size_mul4(SIZE_MAX, 2, 1, 1, &out), -1);
    assert_int_equal(vl_size_mul4(SIZE_MAX / 2, 1, 3, 1, &out), -1);
    assert_int_equal(vl_size_mul4(SIZE_MAX / 4, 1, 1, 5, &out), -1);
    /* 2^64: one past SIZE_MAX on 64-bit */
    assert_int_equal(vl_size_mul4(65536, 65536, 65536, 65536, &out), -1);
    assert_int_equal(out, 77);
}

/* How much of the end of a REQUEST_URI spells path, raw or decoded. */
static size_t
suffix(const char *uri, const char *path)
{
    return vl_percent_suffix(vl_str_from(uri), vl_str_from(path));
}

static void
test_percent_suffix(void **state)
{
    (void) state;
    /* the path as the client sent it */
    assert_int_equal(suffix("/iiif/a%2Fb/info.json", "a%2Fb/info.json"), 15);
    /* decoded by the front (nginx's $uri, lighttpd) */
    assert_int_equal(suffix("/iiif/a%2Fb/info.json", "a/b/info.json"), 15);
    assert_int_equal(suffix("/iiif/a%2fb/info.json", "a/b/info.json"), 15);
    /* decoded but for %2F (lighttpd's url-path-2f-decode disabled) */
    assert_int_equal(suffix("/iiif/a%20b%2Fc/info.json", "a b%2Fc/info.json"),
                     19);
    /* a literal '%' */
    assert_int_equal(suffix("/iiif/50%25/info.json", "50%/info.json"), 15);
    assert_int_equal(suffix("/iiif/50%25/info.json", "50%25/info.json"), 15);
    assert_int_equal(suffix("/iiif/%/info.json", "%/info.json"), 11);
    assert_int_equal(suffix("/iiif/a%2", "a%2"), 3);
    assert_int_equal(suffix("%", "%"), 1);
    /* a decoded path whose literal '%' is followed by two hex digits */
    assert_int_equal(suffix("/iiif/a%2541/info.json", "a%41/info.json"), 16);
    assert_int_equal(suffix("/iiif/a%2541/info.json", "a%2541/info.json"), 16);
    assert_int_equal(suffix("/iiif/aA/info.json", "a%41/info.json"), 12);
    /* no match */
    assert_int_equal(suffix("/iiif/a/info.json", "b/info.json"), (size_t) -1);
    assert_int_equal(suffix("/info.json", "/iiif/x/info.json"), (size_t) -1);
    assert_int_equal(suffix("", "x"), (size_t) -1);
    assert_int_equal(suffix("/iiif/a1/info.json", "a%41/info.json"),
                     (size_t) -1);
    assert_int_equal(suffix("/x", ""), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slices),
        cmocka_unit_test(test_null_slice),
        cmocka_unit_test(test_str_dup),
        cmocka_unit_test(test_uri_escape),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_u64_slice),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_percent_decode),
        cmocka_unit_test(test_percent_decode_slice),
        cmocka_unit_test(test_percent_encode),
        cmocka_unit_test(test_percent_round_trip),
        cmocka_unit_test(test_percent_suffix),
        cmocka_unit_test(test_size_mul),
        cmocka_unit_test(test_size_add),
        cmocka_unit_test(test_size_mul4),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
