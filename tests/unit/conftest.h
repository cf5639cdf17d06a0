/* SPDX-License-Identifier: MIT */
/*
 * conftest: configurations for cmocka tests. A configuration of one
 * NAME=value, and for any row of the option table a valid value other than
 * its default, so a test can walk the table and change each option in turn
 * (test_conf: the fingerprint; test_respond: ETags and memcached keys).
 */
#ifndef VL_TEST_CONFTEST_H
#define VL_TEST_CONFTEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/conf.h"

/* "NAME=value" with a value different from the default into buf. */
static inline const char *
vl_test_flip(const vl_opt_t *o, char *buf, size_t size)
{
    double def = strtod(o->def, NULL);

    switch (o->type) {
    case VL_OPT_INT:
        snprintf(buf, size, "%s=%.0f", o->name, def != o->min ? o->min
                                                               : o->max);
        break;
    case VL_OPT_FLOAT:
        snprintf(buf, size, "%s=%g", o->name, def != o->min ? o->min
                                                            : o->max);
        break;
    case VL_OPT_BOOL:
        snprintf(buf, size, "%s=%d", o->name, strcmp(o->def, "1") != 0);
        break;
    case VL_OPT_DIR:
        snprintf(buf, size, "%s=/tmp", o->name);
        break;
    default:
        /* a string: a value a string option of vellum accepts */
        if (strcmp(o->name, "URI_MAP") == 0) {
            snprintf(buf, size, "%s=iiif=>IIIF", o->name);
        } else if (strcmp(o->name, "BACKGROUND") == 0) {
            snprintf(buf, size, "%s=000000", o->name);
        } else if (strcmp(o->name, "LOGFILE") == 0) {
            snprintf(buf, size, "%s=syslog", o->name);
        } else if (strcmp(o->name, "TIFF_COMPRESSION") == 0) {
            snprintf(buf, size, "%s=lzw", o->name);
        } else {
            snprintf(buf, size, "%s=%sx", o->name, o->def);
        }
        break;
    }
    return buf;
}

/* The configuration of one "NAME=value" (the test fails if it does not
 * load). */
static inline vl_conf_t *
vl_test_conf(const char *kv)
{
    char      *envp[2] = { (char *) kv, NULL };
    vl_err_t   err = { 0 };
    vl_conf_t *c = vl_conf_load_env(NULL, envp, NULL, &err);

    if (c == NULL) {
        fail_msg("%s: %s", kv, err.msg);
    }
    return c;
}

#endif /* VL_TEST_CONFTEST_H */
