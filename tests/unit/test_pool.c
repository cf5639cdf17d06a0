/* SPDX-License-Identifier: MIT */
/*
 * test_pool: the request arena. Many small and large allocations keep their
 * contents and 16-byte alignment, overflowing sizes give NULL, string helpers
 * copy exactly, and cleanups run newest first, once, at destroy.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/pool.h"

static void
test_small_allocations(void **state)
{
    vl_pool_t     *pool = vl_pool_create(4096);
    unsigned char *ptrs[2000];
    size_t         sizes[2000];

    (void) state;
    assert_non_null(pool);
    assert_int_equal(vl_pool_used(pool), 0);
    /* sizes 1..63, each filled with its own byte, spanning many blocks */
    for (size_t i = 0; i < 2000; i++) {
        sizes[i] = 1 + i % 63;
        ptrs[i] = vl_pool_alloc(pool, sizes[i]);
        assert_non_null(ptrs[i]);
        assert_int_equal((uintptr_t) ptrs[i] % 16, 0);
        memset(ptrs[i], (int) (i & 0xff), sizes[i]);
    }
    /* nothing overlapped: every buffer still holds its byte */
    for (size_t i = 0; i < 2000; i++) {
        for (size_t j = 0; j < sizes[i]; j++) {
            assert_int_equal(ptrs[i][j], i & 0xff);
        }
    }
    assert_true(vl_pool_used(pool) >= 2000 * 16);
    vl_pool_destroy(pool);
}

static void
test_used_counts_aligned_bytes(void **state)
{
    vl_pool_t *pool = vl_pool_create(0);

    (void) state;
    assert_non_null(pool);
    assert_non_null(vl_pool_alloc(pool, 1));
    assert_int_equal(vl_pool_used(pool), 16);
    assert_non_null(vl_pool_alloc(pool, 17));
    assert_int_equal(vl_pool_used(pool), 48);
    /* size 0 still gives a distinct, usable pointer */
    void *a = vl_pool_alloc(pool, 0);
    void *b = vl_pool_alloc(pool, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
    vl_pool_destroy(pool);
}

static void
test_large_allocations(void **state)
{
    vl_pool_t     *pool = vl_pool_create(1024);
    unsigned char *small1, *big[8], *small2;

    (void) state;
    assert_non_null(pool);
    small1 = vl_pool_alloc(pool, 32);
    assert_non_null(small1);
    memset(small1, 0xA5, 32);
    for (size_t i = 0; i < 8; i++) {
        size_t n = 100000 + i * 4093;

        big[i] = vl_pool_alloc(pool, n);
        assert_non_null(big[i]);
        assert_int_equal((uintptr_t) big[i] % 16, 0);
        memset(big[i], (int) i + 1, n);
    }
    small2 = vl_pool_alloc(pool, 32);
    assert_non_null(small2);
    assert_int_equal((uintptr_t) small2 % 16, 0);
    memset(small2, 0x5A, 32);
    for (size_t i = 0; i < 8; i++) {
        size_t n = 100000 + i * 4093;

        assert_int_equal(big[i][0], i + 1);
        assert_int_equal(big[i][n - 1], i + 1);
    }
    for (size_t j = 0; j < 32; j++) {
        assert_int_equal(small1[j], 0xA5);
        assert_int_equal(small2[j], 0x5A);
    }
    vl_pool_destroy(pool);
}

static void
test_overflow_gives_null(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);

    (void) state;
    assert_non_null(pool);
    assert_null(vl_pool_alloc(pool, SIZE_MAX));
    assert_null(vl_pool_alloc(pool, SIZE_MAX - 8));
    assert_null(vl_pool_calloc(pool, SIZE_MAX / 2 + 1, 2));
    assert_null(vl_pool_calloc(pool, 2, SIZE_MAX / 2 + 1));
    assert_null(vl_pool_calloc(pool, (size_t) 1 << (sizeof(size_t) * 4),
                               (size_t) 1 << (sizeof(size_t) * 4)));
    assert_null(vl_pool_strndup(pool, "x", SIZE_MAX));
    /* the pool still works after refusing */
    assert_non_null(vl_pool_alloc(pool, 64));
    vl_pool_destroy(pool);
}

static void
test_calloc_zeroes(void **state)
{
    vl_pool_t     *pool = vl_pool_create(1024);
    unsigned char *p;

    (void) state;
    assert_non_null(pool);
    /* dirty some memory first, so zeroing is observable on reuse paths */
    memset(vl_pool_alloc(pool, 200), 0xFF, 200);
    p = vl_pool_calloc(pool, 37, 11);
    assert_non_null(p);
    assert_int_equal((uintptr_t) p % 16, 0);
    for (size_t i = 0; i < 37 * 11; i++) {
        assert_int_equal(p[i], 0);
    }
    p = vl_pool_calloc(pool, 1000, 100);   /* large path */
    assert_non_null(p);
    for (size_t i = 0; i < 100000; i++) {
        assert_int_equal(p[i], 0);
    }
    vl_pool_destroy(pool);
}

static void
test_strings(void **state)
{
    vl_pool_t  *pool = vl_pool_create(1024);
    const char *src = "iiif/image.tif";
    char       *s;
    char        longstr[3000];

    (void) state;
    assert_non_null(pool);
    s = vl_pool_strdup(pool, src);
    assert_non_null(s);
    assert_ptr_not_equal(s, src);
    assert_string_equal(s, src);

    s = vl_pool_strndup(pool, src, 4);
    assert_string_equal(s, "iiif");
    s = vl_pool_strndup(pool, src, 0);
    assert_string_equal(s, "");
    s = vl_pool_strdup(pool, "");
    assert_string_equal(s, "");

    s = vl_pool_printf(pool, "%s/%d/%05.1f/%c", "full", 90, 2.5, 'x');
    assert_string_equal(s, "full/90/002.5/x");
    s = vl_pool_printf(pool, "%s", "");
    assert_string_equal(s, "");

    /* printf longer than a block goes through the large path */
    memset(longstr, 'q', sizeof(longstr) - 1);
    longstr[sizeof(longstr) - 1] = '\0';
    s = vl_pool_printf(pool, "<%s>", longstr);
    assert_non_null(s);
    assert_int_equal(strlen(s), sizeof(longstr) + 1);
    assert_int_equal(s[0], '<');
    assert_int_equal(s[sizeof(longstr)], '>');
    assert_int_equal(s[1000], 'q');
    vl_pool_destroy(pool);
}

/* cleanups record their order into a shared log */
typedef struct {
    int order[16];
    int n;
} cleanup_log_t;

typedef struct {
    cleanup_log_t *log;
    int            id;
} cleanup_arg_t;

static void
record_cleanup(void *data)
{
    cleanup_arg_t *a = data;

    assert_true(a->log->n < 16);
    a->log->order[a->log->n++] = a->id;
}

static void
test_cleanups_reverse_once(void **state)
{
    vl_pool_t     *pool = vl_pool_create(1024);
    cleanup_log_t  log = { { 0 }, 0 };
    cleanup_arg_t  args[5];

    (void) state;
    assert_non_null(pool);
    for (int i = 0; i < 5; i++) {
        args[i].log = &log;
        args[i].id = i;
        assert_int_equal(vl_pool_cleanup_add(pool, record_cleanup, &args[i]),
                         0);
        /* interleave allocations, small and large */
        assert_non_null(vl_pool_alloc(pool, i % 2 ? 5000 : 40));
    }
    assert_int_equal(log.n, 0);     /* nothing runs before destroy */
    vl_pool_destroy(pool);
    assert_int_equal(log.n, 5);
    for (int i = 0; i < 5; i++) {
        assert_int_equal(log.order[i], 4 - i);
    }
}

/* a cleanup may use memory from the pool itself: it is still valid then */
static void
check_pool_string(void *data)
{
    assert_string_equal((const char *) data, "still here");
    *((char *) data) = 'S';
}

static void
test_cleanup_sees_pool_memory(void **state)
{
    vl_pool_t *pool = vl_pool_create(1024);
    char      *s;

    (void) state;
    assert_non_null(pool);
    s = vl_pool_strdup(pool, "still here");
    assert_int_equal(vl_pool_cleanup_add(pool, check_pool_string, s), 0);
    vl_pool_destroy(pool);
}

static void
test_destroy_null(void **state)
{
    (void) state;
    vl_pool_destroy(NULL);
}

static void
test_empty_pool(void **state)
{
    (void) state;
    vl_pool_destroy(vl_pool_create(1 << 20));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_allocations),
        cmocka_unit_test(test_used_counts_aligned_bytes),
        cmocka_unit_test(test_large_allocations),
        cmocka_unit_test(test_overflow_gives_null),
        cmocka_unit_test(test_calloc_zeroes),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_cleanups_reverse_once),
        cmocka_unit_test(test_cleanup_sees_pool_memory),
        cmocka_unit_test(test_destroy_null),
        cmocka_unit_test(test_empty_pool),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
