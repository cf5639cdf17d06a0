/* SPDX-License-Identifier: MIT */
/*
 * test_ratelimit: the counts of core/ratelimit.c: a window from a client's
 * first request, exact remaining values, refusals not counted, a new
 * window after it, clients apart, the counts shared with a forked child.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/ratelimit.h"

static void
test_window(void **state)
{
    vl_rate_t r;

    (void) state;
    for (long i = 1; i <= 3; i++) {
        assert_int_equal(vl_rate_take("192.0.2.1", 3, 10, 1000 + i, &r), 1);
        assert_int_equal(r.limit, 3);
        assert_int_equal(r.remaining, 3 - i);
        assert_int_equal(r.reset, 1011);     /* from the first request */
    }
    /* over: refused, not counted, told when to come back */
    assert_int_equal(vl_rate_take("192.0.2.1", 3, 10, 1005, &r), 0);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.reset, 1011);
    assert_int_equal(r.retry_after, 6);
    assert_int_equal(vl_rate_take("192.0.2.1", 3, 10, 1010, &r), 0);
    assert_int_equal(r.retry_after, 1);
    /* another client counts apart */
    assert_int_equal(vl_rate_take("192.0.2.2", 3, 10, 1005, &r), 1);
    assert_int_equal(r.remaining, 2);
    /* the window ends: a new one from this request */
    assert_int_equal(vl_rate_take("192.0.2.1", 3, 10, 1011, &r), 1);
    assert_int_equal(r.remaining, 2);
    assert_int_equal(r.reset, 1021);
    /* the clock went back: a new window rather than a stuck one */
    assert_int_equal(vl_rate_take("192.0.2.1", 3, 10, 900, &r), 1);
    assert_int_equal(r.remaining, 2);
    assert_int_equal(r.reset, 910);
}

/* Far more clients than slots: bounded, and a client seen last still has
 * its count. */
static void
test_many_clients(void **state)
{
    vl_rate_t r;
    char      ip[32];

    (void) state;
    for (int i = 0; i < 3 * VL_RATE_SLOTS; i++) {
        snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
                 i & 255);
        assert_int_equal(vl_rate_take(ip, 5, 60, 5000, &r), 1);
        assert_int_equal(r.remaining, 4);
    }
    assert_int_equal(vl_rate_take(ip, 5, 60, 5001, &r), 1);
    assert_int_equal(r.remaining, 3);
}

/* After vl_rate_share, a forked process counts in the same table. */
static void
test_shared(void **state)
{
    vl_rate_t r;
    pid_t     pid;
    int       st;

    (void) state;
    assert_int_equal(vl_rate_share(), 0);
    assert_int_equal(vl_rate_take("198.51.100.9", 10, 60, 7000, &r), 1);
    pid = fork();
    if (pid == 0) {
        vl_rate_take("198.51.100.9", 10, 60, 7001, &r);
        _exit(r.remaining == 8 ? 0 : 1);
    }
    assert_true(pid > 0);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_int_equal(vl_rate_take("198.51.100.9", 10, 60, 7002, &r), 1);
    assert_int_equal(r.remaining, 7);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_many_clients),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
