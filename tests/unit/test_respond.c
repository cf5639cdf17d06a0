/* SPDX-License-Identifier: MIT */
/*
 * test_respond: the ETag and the memcached key of a response, cut from one
 * digest. Their shape and stability; every input of a response changes
 * both; and walking the option table, every option flagged as changing
 * response bytes changes both while every other option changes neither
 * (the bug this guards against: LEVEL_OVERSAMPLE and MAX_CVT changed the
 * bytes under the same ETag).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "core/conf.h"
#include "serve/respond.h"
#include "conftest.h"

static const vl_file_id_t file_a = { 2049, 123456, 987654,
                                     1700000000123456789LL };

static void
what_base(vl_respond_what_t *w, const vl_conf_t *conf)
{
    memset(w, 0, sizeof(*w));
    w->kind = "image";
    w->version = 3;
    w->id = "a/b.tif";
    w->request = "full/max/0/default.jpg";
    w->media = NULL;
    w->file = &file_a;
    w->fingerprint = conf->fingerprint;
}

static void
test_shape_stable(void **state)
{
    vl_conf_t         *conf = vl_test_conf("HOME=/");
    vl_respond_what_t  w;
    char               e1[VL_ETAG_SIZE], e2[VL_ETAG_SIZE];
    char               k1[VL_CACHE_KEY_SIZE], k2[VL_CACHE_KEY_SIZE];
    char               longid[5000];

    (void) state;
    what_base(&w, conf);
    vl_respond_tags(&w, e1, k1);
    vl_respond_tags(&w, e2, k2);
    assert_string_equal(e1, e2);
    assert_string_equal(k1, k2);
    /* "\"" + 16 hex + "\"", and "vl1:" + 32 hex: the ETag is the key's
     * first 64 bits */
    assert_int_equal(strlen(e1), 18);
    assert_true(e1[0] == '"' && e1[17] == '"');
    assert_int_equal(strspn(e1 + 1, "0123456789abcdef"), 16);
    assert_int_equal(strlen(k1), 36);
    assert_memory_equal(k1, "vl1:", 4);
    assert_int_equal(strspn(k1 + 4, "0123456789abcdef"), 32);
    assert_memory_equal(e1 + 1, k1 + 4, 16);
    /* a long identifier still gives a short key */
    memset(longid, 'x', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    w.id = longid;
    vl_respond_tags(&w, e2, k2);
    assert_int_equal(strlen(k2), 36);
    assert_string_not_equal(k1, k2);
    vl_conf_free(conf);
}

/* Every input changes the ETag and the key. */
static void
test_inputs(void **state)
{
    enum { N = 17 };
    vl_conf_t         *conf = vl_test_conf("HOME=/");
    vl_respond_what_t  w;
    vl_file_id_t       f[N];
    uint64_t           fp[2];
    char               etags[N][VL_ETAG_SIZE], keys[N][VL_CACHE_KEY_SIZE];

    (void) state;
    for (int i = 0; i < N; i++) {
        what_base(&w, conf);
        f[i] = file_a;
        w.file = &f[i];
        switch (i) {
        case 1: w.kind = "info"; break;
        case 2: w.version = 2; break;
        case 3: w.id = "a/c.tif"; break;
        case 4: w.request = "full/max/0/default.png"; break;
        case 5: w.media = "application/json"; break;
        case 6: w.media = ""; break;
        case 7: f[i].dev++; break;
        case 8: f[i].ino++; break;
        case 9: f[i].size++; break;
        case 10: f[i].mtime_ns++; break;
        case 11: w.file = NULL; break;
        case 12: fp[0] = conf->fingerprint[0] ^ 1;
                 fp[1] = conf->fingerprint[1];
                 w.fingerprint = fp;
                 break;
        case 13: w.fingerprint = NULL; break;
        case 15: w.extra[1] = 1; break;
        /* the same bytes split differently between two fields */
        case 14: w.id = "a/b.tiff"; w.request = "ull/max/0/default.jpg";
                 break;
        default: break;
        }
        vl_respond_tags(&w, etags[i], keys[i]);
    }
    /* another device and inode, the same size and time: a copy of the
     * file on another host of a cluster, which must answer alike */
    assert_string_equal(keys[7], keys[0]);
    assert_string_equal(etags[7], etags[0]);
    assert_string_equal(keys[8], keys[0]);
    assert_string_equal(etags[8], etags[0]);
    for (int i = 0; i < N; i++) {
        for (int j = i + 1; j < N; j++) {
            if (i == 7 || i == 8 || j == 7 || j == 8) {
                continue;
            }
            if (i == 0 && j == N - 1) {
                /* the last case is the base again */
                assert_string_equal(keys[i], keys[j]);
                assert_string_equal(etags[i], etags[j]);
                continue;
            }
            if (strcmp(keys[i], keys[j]) == 0
                || strcmp(etags[i], etags[j]) == 0) {
                fail_msg("inputs %d and %d give the same tags", i, j);
            }
        }
    }
    vl_conf_free(conf);
}

/* Walk the option table: a flagged option changes the ETag and the key of
 * an image and of an info.json; an unflagged one (THREADS, LOGFILE,
 * CACHE_CONTROL, ...) changes neither. */
static void
test_every_option(void **state)
{
    vl_conf_t *base = vl_test_conf("HOME=/");
    char       be[2][VL_ETAG_SIZE], bk[2][VL_CACHE_KEY_SIZE];
    size_t     flagged = 0, unflagged = 0;

    (void) state;
    for (int k = 0; k < 2; k++) {
        vl_respond_what_t w;

        what_base(&w, base);
        if (k == 1) {
            w.kind = "info";
            w.request = "http://example.org/iiif/a%2Fb.tif";
            w.media = "application/ld+json";
        }
        vl_respond_tags(&w, be[k], bk[k]);
    }
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        const vl_opt_t *o = &vl_conf_options[i];
        char            kv[256];
        vl_conf_t      *c = vl_test_conf(vl_test_flip(o, kv, sizeof(kv)));
        int             output = (o->flags & VL_OPT_OUTPUT) != 0;

        for (int k = 0; k < 2; k++) {
            vl_respond_what_t w;
            char              e[VL_ETAG_SIZE], key[VL_CACHE_KEY_SIZE];

            what_base(&w, c);
            if (k == 1) {
                w.kind = "info";
                w.request = "http://example.org/iiif/a%2Fb.tif";
                w.media = "application/ld+json";
            }
            vl_respond_tags(&w, e, key);
            if (output && (strcmp(e, be[k]) == 0
                           || strcmp(key, bk[k]) == 0)) {
                fail_msg("%s changes the bytes but not the %s tags", kv,
                         k ? "info" : "image");
            }
            if (!output && (strcmp(e, be[k]) != 0
                            || strcmp(key, bk[k]) != 0)) {
                fail_msg("%s does not change the bytes but changes the %s "
                         "tags", kv, k ? "info" : "image");
            }
        }
        flagged += output;
        unflagged += !output;
        vl_conf_free(c);
    }
    assert_true(flagged >= 14);
    assert_true(unflagged >= 1);
    vl_conf_free(base);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shape_stable),
        cmocka_unit_test(test_inputs),
        cmocka_unit_test(test_every_option),
    };

    return cmocka_run_group_tests_name("respond", tests, NULL, NULL);
}
