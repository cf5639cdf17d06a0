/* SPDX-License-Identifier: MIT */
/*
 * test_err: the status -> HTTP table for every status, the symbolic names,
 * "first error wins", one-line messages, truncation and a NULL err.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "core/err.h"

static const struct {
    vl_status_t code;
    int         http;
    const char *name;
} err_cases[] = {
    { VL_OK,        200, "OK" },
    { VL_EBADREQ,   400, "EBADREQ" },
    { VL_ELIMIT,    400, "ELIMIT" },
    { VL_ENOTFOUND, 404, "ENOTFOUND" },
    { VL_EMETHOD,   405, "EMETHOD" },
    { VL_EFORMAT,   415, "EFORMAT" },
    { VL_EUNSUPP,   501, "EUNSUPP" },
    { VL_EBUSY,     503, "EBUSY" },
    { VL_ENOMEM,    500, "ENOMEM" },
    { VL_EIO,       500, "EIO" },
    { VL_ECODEC,    500, "ECODEC" },
    { VL_ECONF,     500, "ECONF" },
    { VL_EINTERNAL, 500, "EINTERNAL" },
};

#define NCASES (sizeof(err_cases) / sizeof(err_cases[0]))

static void
test_table_covers_every_status(void **state)
{
    (void) state;
    /* a new status must be added to this test too */
    assert_int_equal(NCASES, VL_STATUS_COUNT);
    for (size_t i = 0; i < NCASES; i++) {
        assert_int_equal(err_cases[i].code, (vl_status_t) i);
    }
}

static void
test_http_codes(void **state)
{
    (void) state;
    for (size_t i = 0; i < NCASES; i++) {
        assert_int_equal(vl_status_http(err_cases[i].code), err_cases[i].http);
    }
}

static void
test_names(void **state)
{
    (void) state;
    for (size_t i = 0; i < NCASES; i++) {
        assert_string_equal(vl_status_name(err_cases[i].code),
                            err_cases[i].name);
    }
}

static void
test_out_of_range_status(void **state)
{
    (void) state;
    assert_int_equal(vl_status_http(VL_STATUS_COUNT), 500);
    assert_int_equal(vl_status_http((vl_status_t) 1000), 500);
    assert_int_equal(vl_status_http((vl_status_t) -1), 500);
    assert_string_equal(vl_status_name(VL_STATUS_COUNT), "EUNKNOWN");
    assert_string_equal(vl_status_name((vl_status_t) -1), "EUNKNOWN");
}

static void
test_set_returns_code(void **state)
{
    vl_err_t err = { VL_OK, "" };

    (void) state;
    assert_int_equal(vl_err_set(&err, VL_ENOTFOUND, "no %s", "image"),
                     VL_ENOTFOUND);
    assert_int_equal(err.code, VL_ENOTFOUND);
    assert_string_equal(err.msg, "no image");
}

static void
test_first_error_wins(void **state)
{
    vl_err_t err = { VL_OK, "" };

    (void) state;
    vl_err_set(&err, VL_EBADREQ, "bad region '%s'", "x,y");
    /* the later call still returns its own code, but records nothing */
    assert_int_equal(vl_err_set(&err, VL_EIO, "read failed"), VL_EIO);
    assert_int_equal(err.code, VL_EBADREQ);
    assert_string_equal(err.msg, "bad region 'x,y'");

    vl_err_clear(&err);
    assert_int_equal(err.code, VL_OK);
    assert_string_equal(err.msg, "");
    vl_err_set(&err, VL_EIO, "read failed");
    assert_int_equal(err.code, VL_EIO);
    assert_string_equal(err.msg, "read failed");
}

static void
test_set_ok_records_nothing(void **state)
{
    vl_err_t err = { VL_OK, "" };

    (void) state;
    assert_int_equal(vl_err_set(&err, VL_OK, "nothing"), VL_OK);
    assert_int_equal(err.code, VL_OK);
    assert_string_equal(err.msg, "");
    /* and a real error may still be set afterwards */
    vl_err_set(&err, VL_EBUSY, "busy");
    assert_int_equal(err.code, VL_EBUSY);
}

static void
test_message_one_line(void **state)
{
    vl_err_t err = { VL_OK, "" };

    (void) state;
    vl_err_set(&err, VL_ECODEC, "line one\nline two\r\nthree%s", "\n");
    assert_null(strchr(err.msg, '\n'));
    assert_null(strchr(err.msg, '\r'));
    assert_string_equal(err.msg, "line one line two  three ");
}

static void
test_message_truncated(void **state)
{
    vl_err_t err = { VL_OK, "" };
    char     big[VL_ERR_MSG_MAX * 2];

    (void) state;
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    vl_err_set(&err, VL_EINTERNAL, "%s", big);
    assert_int_equal(strlen(err.msg), VL_ERR_MSG_MAX - 1);
    assert_int_equal(err.code, VL_EINTERNAL);
}

static void
test_null_err(void **state)
{
    (void) state;
    assert_int_equal(vl_err_set(NULL, VL_ENOMEM, "out of memory"), VL_ENOMEM);
    vl_err_clear(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_covers_every_status),
        cmocka_unit_test(test_http_codes),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_out_of_range_status),
        cmocka_unit_test(test_set_returns_code),
        cmocka_unit_test(test_first_error_wins),
        cmocka_unit_test(test_set_ok_records_nothing),
        cmocka_unit_test(test_message_one_line),
        cmocka_unit_test(test_message_truncated),
        cmocka_unit_test(test_null_err),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
