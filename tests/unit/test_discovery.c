/* SPDX-License-Identifier: MIT */
/*
 * test_discovery: Change Discovery below HTTP. XXH64 against the
 * reference's values and split into any updates; a log record's line and
 * back, every byte covered by the checksum, each field's form refused when
 * wrong (with a right checksum); the fold of records into a state; reading
 * a log clean, torn at every offset of its last records, damaged in the
 * middle (checksum, sequence, time order), incrementally; the page
 * arithmetic for sizes 1, 2 and 100 around full pages; the JSON of the
 * collection and of pages (fields, types, prev/next, startIndex, partOf a
 * single object, seeAlso); the per-process index of a log on disk (tags
 * that stay while the log grows, a damaged log served to the damage); and
 * vl_scan_run on a small tree of fixture copies.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/conf.h"
#include "core/hash.h"
#include "core/pool.h"
#include "present/cdlog.h"
#include "present/discovery.h"
#include "present/scan.h"
#include "fixture.h"

/* ---------------------------------------------------------------- hash */

static void
test_hash64(void **state)
{
    /* values of the reference libxxhash */
    static const struct {
        const char *s;
        uint64_t    seed, want;
    } v[] = {
        { "", 0, 0xef46db3751d8e999ULL },
        { "a", 0, 0xd24ec4f1a98c6e5bULL },
        { "abc", 0, 0x44bc2cf5ad770999ULL },
        { "abcd", 0, 0xde0327b0d25d92ccULL },
        { "The quick brown fox jumps over the lazy dog", 0,
          0x0b242d361fda71bcULL },
        { "The quick brown fox jumps over the lazy dog", 1,
          0xdf5091b6dad2c6dbULL },
    };
    unsigned char buf[1000];

    (void) state;
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_true(vl_hash64(v[i].s, strlen(v[i].s), v[i].seed) == v[i].want);
    }
    for (size_t i = 0; i < sizeof(buf); i++) {
        buf[i] = (unsigned char) (i * 7 + 3);
    }
    assert_true(vl_hash64(buf, 1000, 0) == 0x5f235fa033f1a3fbULL);
    assert_true(vl_hash64(buf, 1000, 0x9e3779b97f4a7c15ULL)
                == 0x442acd0a822e86f6ULL);
    /* any split into three updates gives the one-call value */
    for (size_t a = 0; a <= 100; a += 3) {
        for (size_t b = a; b <= 200; b += 7) {
            vl_hash64_t h;

            vl_hash64_init(&h, 0);
            vl_hash64_update(&h, buf, a);
            vl_hash64_update(&h, buf + a, b - a);
            vl_hash64_update(&h, buf + b, 1000 - b);
            assert_true(vl_hash64_final(&h) == 0x5f235fa033f1a3fbULL);
        }
    }
}

/* -------------------------------------------------------------- records */

static vl_cdlog_rec_t
rec(uint64_t seq, const char *time, vl_cdlog_type_t type, int kind,
    const char *id, uint64_t stat, uint64_t s0, uint64_t s1)
{
    vl_cdlog_rec_t r;

    memset(&r, 0, sizeof(r));
    r.seq = seq;
    snprintf(r.time, sizeof(r.time), "%s", time);
    r.type = type;
    r.kind = kind;
    r.id = id;
    r.stat = stat;
    r.sig[0] = s0;
    r.sig[1] = s1;
    return r;
}

static char *
line_of(vl_pool_t *pool, vl_cdlog_rec_t r, size_t *len)
{
    vl_err_t err = { 0 };
    char    *line;

    assert_int_equal(vl_cdlog_format(pool, &r, &line, len, &err), VL_OK);
    return line;
}

static void
test_record_roundtrip(void **state)
{
    static const char *const ids[] = { "a.tif",     "sub/dir/x y.tif",
                                       "a%2Fb.tif", "\xc3\xbcn\xc3\xaf/c.tif",
                                       "book",      "~t-._/q+r&s=t?u#v" };
    vl_pool_t               *pool = vl_pool_create(4096);
    char                     id[VL_CDLOG_LINE_MAX];

    (void) state;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        for (int t = VL_CDLOG_CREATE; t <= VL_CDLOG_SEEN; t++) {
            int            del = t == VL_CDLOG_DELETE;
            vl_cdlog_rec_t r = rec(1 + i * 1000003ULL, "2024-05-01T12:00:59Z",
                                   (vl_cdlog_type_t) t,
                                   i % 2 ? VL_CDLOG_FOLDER : VL_CDLOG_IMAGE,
                                   ids[i], del ? 0 : 0x0123456789abcdefULL,
                                   del ? 0 : UINT64_MAX, del ? 0 : 42);
            vl_cdlog_rec_t back;
            vl_err_t       err = { 0 };
            size_t         len;
            char          *line;

            assert_int_equal(vl_cdlog_format(pool, &r, &line, &len, &err),
                             VL_OK);

            assert_int_equal(strlen(line), len);
            assert_true(line[len - 1] == '\n');
            assert_memory_equal(line, "cd1 ", 4);
            /* one line of printable ASCII: the identifier is encoded */
            for (size_t k = 0; k + 1 < len; k++) {
                assert_true(line[k] >= 0x20 && line[k] < 0x7f);
            }
            assert_int_equal(
                vl_cdlog_parse(line, len - 1, id, sizeof(id), &back, &err),
                VL_OK);
            assert_true(back.seq == r.seq);
            assert_string_equal(back.time, r.time);
            assert_int_equal(back.type, r.type);
            assert_int_equal(back.kind, r.kind);
            assert_string_equal(back.id, ids[i]);
            assert_true(back.stat == r.stat);
            assert_true(back.sig[0] == r.sig[0] && back.sig[1] == r.sig[1]);
            assert_true(back.check == r.check);
            assert_int_equal(vl_cdlog_is_activity(&back), t != VL_CDLOG_SEEN);
        }
    }
    vl_pool_destroy(pool);
}

/* Every byte of a line is covered: any change is refused. */
static void
test_record_checksum(void **state)
{
    vl_pool_t *pool = vl_pool_create(4096);
    char       id[VL_CDLOG_LINE_MAX], copy[512];
    size_t     len;
    char      *line = line_of(pool,
                              rec(7, "2024-05-01T12:00:00Z", VL_CDLOG_UPDATE,
                                  VL_CDLOG_IMAGE, "books/a.tif", 1, 2, 3),
                              &len);

    (void) state;
    len--;
    for (size_t i = 0; i < len; i++) {
        static const char subs[] = { 0x01, 'x', '0', ' ', 'A' };

        for (size_t k = 0; k < sizeof(subs); k++) {
            vl_cdlog_rec_t r;
            vl_err_t       err = { 0 };

            if (line[i] == subs[k]) {
                continue;
            }
            memcpy(copy, line, len);
            copy[i] = subs[k];
            assert_int_equal(
                vl_cdlog_parse(copy, len, id, sizeof(id), &r, &err),
                VL_EFORMAT);
        }
    }
    vl_pool_destroy(pool);
}

/* A body with a right checksum: each field's form is checked too. */
static int
parse_body(const char *body, vl_err_t *err)
{
    char           line[1024], id[VL_CDLOG_LINE_MAX];
    vl_cdlog_rec_t r;
    int            n =
        snprintf(line, sizeof(line), "%s %016llx", body,
                 (unsigned long long) vl_cdlog_checksum(body, strlen(body)));

    return vl_cdlog_parse(line, (size_t) n, id, sizeof(id), &r, err);
}

static void
test_record_fields(void **state)
{
    static const char sig[] = "0000000000000001 "
                              "0000000000000002000000000000000f";
    static const struct {
        const char *body;
        int         ok;
        const char *why;
    } cases[] = {
        { "cd1 1 2024-05-01T12:00:00Z Create i a.tif %s", 1, NULL },
        { "cd1 1 2024-05-01T12:00:00Z Create f a%%2Fb %s", 1, NULL },
        { "cd2 1 2024-05-01T12:00:00Z Create i a.tif %s", 0, "cd1" },
        { "cd1 01 2024-05-01T12:00:00Z Create i a.tif %s", 0, "sequence" },
        { "cd1 0 2024-05-01T12:00:00Z Create i a.tif %s", 0, "sequence" },
        { "cd1 1x 2024-05-01T12:00:00Z Create i a.tif %s", 0, "sequence" },
        { "cd1 1 2024-02-30T12:00:00Z Create i a.tif %s", 0, "time" },
        { "cd1 1 2024-05-01T24:00:00Z Create i a.tif %s", 0, "time" },
        { "cd1 1 2024-05-01 12:00:00Z Create i a.tif %s", 0, "fields" },
        { "cd1 1 2024-05-01T12:00:00+00:00 Create i a.tif %s", 0, "time" },
        { "cd1 1 2024-05-01T12:00:00Z Move i a.tif %s", 0, "type" },
        { "cd1 1 2024-05-01T12:00:00Z create i a.tif %s", 0, "type" },
        { "cd1 1 2024-05-01T12:00:00Z Create x a.tif %s", 0, "kind" },
        { "cd1 1 2024-05-01T12:00:00Z Create i a%%2fb %s", 0, "identifier" },
        { "cd1 1 2024-05-01T12:00:00Z Create i %%41.tif %s", 0, "identifier" },
        { "cd1 1 2024-05-01T12:00:00Z Create i a/b %s", 0, "identifier" },
        { "cd1 1 2024-05-01T12:00:00Z Create i a%%2F..%%2Fb %s", 0,
          "identifier" },
        { "cd1 1 2024-05-01T12:00:00Z Create i a%%00 %s", 0, "identifier" },
        { "cd1 1 2024-05-01T12:00:00Z Create i a%%2 %s", 0, "identifier" },
        { "cd1 1 2024-05-01T12:00:00Z Delete i a.tif %s", 0, "Delete" },
        { "cd1 1 2024-05-01T12:00:00Z Create i a.tif %s x", 0, "fields" },
        { "cd1 1 2024-05-01T12:00:00Z Create i  a.tif %s", 0, "fields" },
        { "cd1 1 2024-05-01T12:00:00Z Create i a.tif 0 0", 0, "signature" },
    };
    char body[512];

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_err_t err = { 0 };

        snprintf(body, sizeof(body), cases[i].body, sig);
        if (cases[i].ok) {
            assert_int_equal(parse_body(body, &err), VL_OK);
            continue;
        }
        assert_int_equal(parse_body(body, &err), VL_EFORMAT);
        if (strstr(err.msg, cases[i].why) == NULL) {
            fail_msg("%s: '%s' does not say '%s'", body, err.msg, cases[i].why);
        }
    }
    /* a Delete has no signature */
    assert_int_equal(parse_body("cd1 1 2024-05-01T12:00:00Z Delete i a.tif "
                                "0000000000000000 "
                                "00000000000000000000000000000000",
                                NULL),
                     VL_OK);
}

static void
test_time(void **state)
{
    char buf[VL_CDLOG_TIME_LEN + 1];

    (void) state;
    assert_true(vl_cdlog_time_parse("1970-01-01T00:00:00Z") == 0);
    assert_true(vl_cdlog_time_parse("2024-02-29T23:59:59Z") == 1709251199);
    assert_true(vl_cdlog_time_parse("2023-02-29T00:00:00Z") == -1);
    assert_true(vl_cdlog_time_parse("2024-13-01T00:00:00Z") == -1);
    assert_true(vl_cdlog_time_parse("2024-01-01T00:00:60Z") == -1);
    assert_true(vl_cdlog_time_parse("2024-01-01T00:00:00") == -1);
    vl_cdlog_time(1709251199, buf);
    assert_string_equal(buf, "2024-02-29T23:59:59Z");
}

/* ------------------------------------------------------------ the fold */

static void
test_fold(void **state)
{
    vl_cdlog_state_t *s = vl_cdlog_state_new();
    vl_err_t          err = { 0 };
    vl_cdlog_rec_t    r;
    vl_cdlog_obj_t   *o;
    char              id[32];
    const char       *t = "2024-05-01T12:00:00Z";

    (void) state;
    assert_non_null(s);
    r = rec(1, t, VL_CDLOG_CREATE, VL_CDLOG_IMAGE, "a", 10, 1, 2);
    assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    r = rec(2, t, VL_CDLOG_CREATE, VL_CDLOG_FOLDER, "b", 20, 3, 4);
    assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    r = rec(3, t, VL_CDLOG_UPDATE, VL_CDLOG_IMAGE, "a", 11, 5, 6);
    assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    r = rec(4, t, VL_CDLOG_SEEN, VL_CDLOG_FOLDER, "b", 21, 3, 4);
    assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    r = rec(5, t, VL_CDLOG_DELETE, VL_CDLOG_IMAGE, "a", 0, 0, 0);
    assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    /* a Delete of what was never there folds into nothing */
    r = rec(6, t, VL_CDLOG_DELETE, VL_CDLOG_IMAGE, "never", 0, 0, 0);
    assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    assert_null(vl_cdlog_state_get(s, "never"));
    assert_int_equal(vl_cdlog_state_count(s), 2);
    assert_int_equal(vl_cdlog_state_live(s), 1);
    o = vl_cdlog_state_get(s, "a");
    assert_non_null(o);
    assert_false(o->live);
    o = vl_cdlog_state_get(s, "b");
    assert_true(o->live && o->kind == VL_CDLOG_FOLDER && o->stat == 21
                && o->sig[0] == 3 && o->sig[1] == 4);
    assert_string_equal(vl_cdlog_state_at(s, 0)->id, "a");
    assert_string_equal(vl_cdlog_state_at(s, 1)->id, "b");
    /* created again after a Delete */
    r = rec(7, t, VL_CDLOG_CREATE, VL_CDLOG_IMAGE, "a", 12, 7, 8);
    assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    o = vl_cdlog_state_get(s, "a");
    assert_true(o->live && o->stat == 12 && o->sig[0] == 7);
    assert_int_equal(vl_cdlog_state_live(s), 2);
    /* many identifiers: the table grows and finds each */
    for (int i = 0; i < 20000; i++) {
        snprintf(id, sizeof(id), "d%d/x%d.tif", i % 97, i);
        r = rec(8 + (uint64_t) i, t, VL_CDLOG_CREATE, VL_CDLOG_IMAGE, id,
                (uint64_t) i, (uint64_t) i, 0);
        assert_int_equal(vl_cdlog_state_apply(s, &r, &err), VL_OK);
    }
    for (int i = 0; i < 20000; i += 7) {
        snprintf(id, sizeof(id), "d%d/x%d.tif", i % 97, i);
        o = vl_cdlog_state_get(s, id);
        assert_non_null(o);
        assert_true(o->stat == (uint64_t) i);
        assert_int_equal(vl_cdlog_state_at(s, 2 + (size_t) i) - o, 0);
    }
    assert_int_equal(vl_cdlog_state_live(s), 20002);
    vl_cdlog_state_free(s);
}

/* ------------------------------------------------------------ reading */

typedef struct {
    char dir[64];
    char path[128];
} tmp_t;

static void
tmp_make(tmp_t *t)
{
    snprintf(t->dir, sizeof(t->dir), "/tmp/vl-test-cd.XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, VL_CDLOG_FILE);
}

static void
tmp_rm(tmp_t *t)
{
    char cmd[160];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
    assert_int_equal(system(cmd), 0);
}

/* A log of n records (every 3rd a Seen) into buf; the end of each line
 * into ends[]. */
static size_t
log_text(vl_pool_t *pool, size_t n, char *buf, size_t *ends)
{
    size_t total = 0;
    char   id[32];

    for (size_t i = 0; i < n; i++) {
        vl_cdlog_rec_t r;
        size_t         len;
        char          *line;

        snprintf(id, sizeof(id), "dir/img-%zu.tif", i % 5);
        r = rec(i + 1, i < 4 ? "2024-05-01T12:00:00Z" : "2024-05-02T08:30:00Z",
                i % 3 == 2 ? VL_CDLOG_SEEN : VL_CDLOG_CREATE, VL_CDLOG_IMAGE,
                id, i, i, i);
        line = line_of(pool, r, &len);
        memcpy(buf + total, line, len);
        total += len;
        ends[i] = total;
    }
    return total;
}

static void
write_file(const char *path, const char *buf, size_t len)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

typedef struct {
    uint64_t n;
    uint64_t seq[64];
} seen_t;

static int
collect(void *arg, const vl_cdlog_rec_t *r, uint64_t off, size_t len)
{
    seen_t *s = arg;

    (void) off;
    (void) len;
    s->seq[s->n++ % 64] = r->seq;
    return VL_OK;
}

static void
read_file(const char *path, const vl_cdlog_pos_t *from, vl_cdlog_result_t *rd,
          seen_t *seen)
{
    vl_err_t err = { 0 };
    int      fd = open(path, O_RDONLY);

    assert_true(fd >= 0);
    memset(seen, 0, sizeof(*seen));
    assert_int_equal(vl_cdlog_read(fd, from, collect, seen, rd, &err), VL_OK);
    close(fd);
}

static void
test_read_torn_damaged(void **state)
{
    vl_pool_t        *pool = vl_pool_create(4096);
    static char       buf[8192], copy[8192];
    size_t            ends[12], total;
    tmp_t             t;
    vl_cdlog_result_t rd;
    seen_t            seen;

    (void) state;
    tmp_make(&t);
    total = log_text(pool, 12, buf, ends);

    /* empty, then clean */
    write_file(t.path, buf, 0);
    read_file(t.path, NULL, &rd, &seen);
    assert_int_equal(rd.end, VL_CDLOG_CLEAN);
    assert_int_equal(rd.nrec, 0);
    write_file(t.path, buf, total);
    read_file(t.path, NULL, &rd, &seen);
    assert_int_equal(rd.end, VL_CDLOG_CLEAN);
    assert_int_equal(rd.nrec, 12);
    assert_true(rd.pos.off == total && rd.pos.seq == 12);
    assert_string_equal(rd.pos.time, "2024-05-02T08:30:00Z");

    /* cut at every byte of the last two records: torn, and valid up to the
     * last whole line */
    for (size_t cut = ends[9]; cut <= total; cut++) {
        size_t whole = cut >= ends[11] ? 12 : cut >= ends[10] ? 11 : 10;

        write_file(t.path, buf, cut);
        read_file(t.path, NULL, &rd, &seen);
        assert_int_equal(rd.nrec, whole);
        assert_true(rd.pos.off == ends[whole - 1]);
        if (cut == ends[whole - 1]) {
            assert_int_equal(rd.end, VL_CDLOG_CLEAN);
        } else {
            assert_int_equal(rd.end, VL_CDLOG_TORN);
            assert_true(rd.tail == cut - ends[whole - 1]);
        }
    }

    /* a flipped byte in record 4: damaged, valid up to record 3 */
    memcpy(copy, buf, total);
    copy[ends[2] + 10] ^= 0x20;
    write_file(t.path, copy, total);
    read_file(t.path, NULL, &rd, &seen);
    assert_int_equal(rd.end, VL_CDLOG_DAMAGED);
    assert_int_equal(rd.nrec, 3);
    assert_true(rd.pos.off == ends[2] && rd.pos.seq == 3);
    assert_true(rd.tail == ends[3] - ends[2]);
    assert_non_null(strstr(rd.why, "checksum"));

    /* a bad last line that is complete is damage, not a torn write */
    memcpy(copy, buf, total);
    copy[total - 5] = copy[total - 5] == 'a' ? 'b' : 'a';
    write_file(t.path, copy, total);
    read_file(t.path, NULL, &rd, &seen);
    assert_int_equal(rd.end, VL_CDLOG_DAMAGED);
    assert_int_equal(rd.nrec, 11);

    /* a record missing in the middle: out of sequence */
    memcpy(copy, buf, ends[4]);
    memcpy(copy + ends[4], buf + ends[5], total - ends[5]);
    write_file(t.path, copy, total - (ends[5] - ends[4]));
    read_file(t.path, NULL, &rd, &seen);
    assert_int_equal(rd.end, VL_CDLOG_DAMAGED);
    assert_int_equal(rd.nrec, 5);
    assert_non_null(strstr(rd.why, "sequence"));

    /* time going back */
    {
        size_t len;
        char  *l1 = line_of(pool,
                            rec(1, "2024-05-02T00:00:00Z", VL_CDLOG_CREATE,
                                VL_CDLOG_IMAGE, "a", 1, 1, 1),
                            &len);
        char  *l2;
        size_t len2;

        l2 = line_of(pool,
                     rec(2, "2024-05-01T23:59:59Z", VL_CDLOG_CREATE,
                         VL_CDLOG_IMAGE, "b", 1, 1, 1),
                     &len2);
        memcpy(copy, l1, len);
        memcpy(copy + len, l2, len2);
        write_file(t.path, copy, len + len2);
        read_file(t.path, NULL, &rd, &seen);
        assert_int_equal(rd.end, VL_CDLOG_DAMAGED);
        assert_int_equal(rd.nrec, 1);
        assert_non_null(strstr(rd.why, "earlier"));
    }

    /* garbage without a newline at the end: torn, whatever it holds */
    memcpy(copy, buf, total);
    memset(copy + total, 0, 100);
    write_file(t.path, copy, total + 100);
    read_file(t.path, NULL, &rd, &seen);
    assert_int_equal(rd.end, VL_CDLOG_TORN);
    assert_int_equal(rd.nrec, 12);
    assert_true(rd.tail == 100);

    /* incremental: from where a read of a shorter log stopped */
    {
        vl_cdlog_pos_t pos;

        write_file(t.path, buf, ends[6] + 3);
        read_file(t.path, NULL, &rd, &seen);
        assert_int_equal(rd.end, VL_CDLOG_TORN);
        pos = rd.pos;
        write_file(t.path, buf, total);
        read_file(t.path, &pos, &rd, &seen);
        assert_int_equal(rd.end, VL_CDLOG_CLEAN);
        assert_int_equal(rd.nrec, 5);
        assert_true(seen.seq[0] == 8 && rd.pos.seq == 12);
    }

    /* a line longer than any record, with a newline after it */
    {
        static char big[3 << 20];

        memcpy(big, buf, ends[1]);
        memset(big + ends[1], 'x', sizeof(big) - ends[1] - 1);
        big[sizeof(big) - 1] = '\n';
        write_file(t.path, big, sizeof(big));
        read_file(t.path, NULL, &rd, &seen);
        assert_int_equal(rd.end, VL_CDLOG_DAMAGED);
        assert_int_equal(rd.nrec, 2);
        /* without it: torn */
        write_file(t.path, big, sizeof(big) - 1);
        read_file(t.path, NULL, &rd, &seen);
        assert_int_equal(rd.end, VL_CDLOG_TORN);
        assert_true(rd.tail == sizeof(big) - 1 - ends[1]);
    }
    tmp_rm(&t);
    vl_pool_destroy(pool);
}

/* ------------------------------------------------------------ pages */

static void
test_pages(void **state)
{
    static const uint64_t sizes[] = { 1, 2, 100 };

    (void) state;
    for (size_t k = 0; k < 3; k++) {
        uint64_t size = sizes[k];
        uint64_t totals[] = { 0,        1,        size - 1,     size,
                              size + 1, 2 * size, 2 * size + 1, 1000 };

        for (size_t j = 0; j < sizeof(totals) / sizeof(totals[0]); j++) {
            uint64_t total = totals[j], np = vl_discovery_npages(total, size);
            uint64_t sum = 0, start, count;

            assert_true(np * size >= total
                        && (np == 0 || (np - 1) * size < total));
            assert_false(vl_discovery_span(total, size, 0, &start, &count));
            assert_false(
                vl_discovery_span(total, size, np + 1, &start, &count));
            for (uint64_t n = 1; n <= np; n++) {
                assert_true(vl_discovery_span(total, size, n, &start, &count));
                assert_true(start == sum);
                assert_true(count >= 1 && count <= size);
                /* every page but the last is full */
                assert_true(n == np || count == size);
                sum += count;
            }
            assert_true(sum == total);
        }
    }
    assert_true(vl_discovery_npages(0, 100) == 0);
    assert_true(vl_discovery_npages(100, 100) == 1);
    assert_true(vl_discovery_npages(101, 100) == 2);
    assert_true(vl_discovery_npages(200, 100) == 2);
    assert_true(vl_discovery_npages(5, 1) == 5);
    assert_true(vl_discovery_npages(5, 2) == 3);
}

/* ------------------------------------------------------------ JSON */

#define BASE "https://ex.org/iiif/"

static json_t *
render(vl_pool_t *pool, const vl_discovery_opts_t *o,
       const vl_discovery_page_t *p)
{
    json_error_t je;
    vl_err_t     err = { 0 };
    char        *text;
    size_t       len;
    json_t      *doc;

    assert_int_equal(vl_discovery_json(pool, o, p, &text, &len, &err), VL_OK);
    assert_int_equal(strlen(text), len);
    doc = json_loadb(text, len, 0, &je);
    assert_non_null(doc);
    return doc;
}

static const char *
jstr(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_string(v)) {
        fail_msg("%s is not a string", key);
    }
    return json_string_value(v);
}

static void
assert_ref(json_t *o, const char *key, const char *id, const char *type)
{
    json_t *v = json_object_get(o, key);

    if (!json_is_object(v)) {
        fail_msg("%s is not a single object", key);
    }
    assert_int_equal(json_object_size(v), 2);
    assert_string_equal(jstr(v, "id"), id);
    assert_string_equal(jstr(v, "type"), type);
}

static void
test_collection_json(void **state)
{
    vl_pool_t          *pool = vl_pool_create(4096);
    vl_discovery_opts_t o = { BASE, NULL, NULL, NULL };
    vl_discovery_page_t p;
    json_t             *doc;

    (void) state;
    memset(&p, 0, sizeof(p));
    p.total = 201;
    p.size = 100;
    p.npages = 3;
    doc = render(pool, &o, &p);
    assert_string_equal(jstr(doc, "@context"),
                        "http://iiif.io/api/discovery/1/context.json");
    assert_string_equal(jstr(doc, "id"), BASE "cd/collection.json");
    assert_string_equal(jstr(doc, "type"), "OrderedCollection");
    assert_int_equal(json_integer_value(json_object_get(doc, "totalItems")),
                     201);
    assert_ref(doc, "first", BASE "cd/pages/1.json", "OrderedCollectionPage");
    assert_ref(doc, "last", BASE "cd/pages/3.json", "OrderedCollectionPage");
    assert_null(json_object_get(doc, "orderedItems"));
    json_decref(doc);
    /* an empty stream: no page to point at, and the collection MUST have
     * last: there is no collection yet */
    p.total = 0;
    p.npages = 0;
    {
        vl_err_t err = { 0 };
        char    *text;
        size_t   len;

        assert_int_equal(vl_discovery_json(pool, &o, &p, &text, &len, &err),
                         VL_ENOTFOUND);
        assert_string_equal(err.msg, "no activity yet");
    }
    vl_pool_destroy(pool);
}

static void
test_page_json(void **state)
{
    vl_pool_t          *pool = vl_pool_create(4096);
    vl_discovery_opts_t plain = { BASE, "", "", "" };
    vl_discovery_opts_t sa = { BASE, "https://ex.org/rec/{id}.xml?x={id}",
                               "application/rdf+xml",
                               "http://www.europeana.eu/schemas/edm/" };
    vl_cdlog_rec_t      items[3];
    vl_discovery_page_t p;
    json_t             *doc, *arr, *a, *obj, *see;

    (void) state;
    items[0] = rec(5, "2024-05-01T12:00:00Z", VL_CDLOG_CREATE, VL_CDLOG_IMAGE,
                   "books/a b.tif", 1, 1, 1);
    items[1] = rec(6, "2024-05-01T12:00:00Z", VL_CDLOG_UPDATE, VL_CDLOG_FOLDER,
                   "book", 1, 1, 1);
    items[2] = rec(8, "2024-05-02T00:00:00Z", VL_CDLOG_DELETE, VL_CDLOG_IMAGE,
                   "x.tif", 0, 0, 0);
    /* pages of 3 of 8 activities: first, middle, last (of 2) */
    for (uint64_t page = 1; page <= 3; page++) {
        memset(&p, 0, sizeof(p));
        p.total = 8;
        p.size = 3;
        p.npages = 3;
        p.page = page;
        p.start = (page - 1) * 3;
        p.n = page < 3 ? 3 : 2;
        p.items = items;
        doc = render(pool, &plain, &p);
        assert_string_equal(jstr(doc, "@context"),
                            "http://iiif.io/api/discovery/1/context.json");
        assert_string_equal(jstr(doc, "id"),
                            vl_pool_printf(pool, BASE "cd/pages/%llu.json",
                                           (unsigned long long) page));
        assert_string_equal(jstr(doc, "type"), "OrderedCollectionPage");
        assert_ref(doc, "partOf", BASE "cd/collection.json",
                   "OrderedCollection");
        assert_true(json_is_integer(json_object_get(doc, "startIndex")));
        assert_int_equal(json_integer_value(json_object_get(doc, "startIndex")),
                         (page - 1) * 3);
        if (page == 1) {
            assert_null(json_object_get(doc, "prev"));
        } else {
            assert_ref(doc, "prev",
                       vl_pool_printf(pool, BASE "cd/pages/%llu.json",
                                      (unsigned long long) page - 1),
                       "OrderedCollectionPage");
        }
        if (page == 3) {
            assert_null(json_object_get(doc, "next"));
        } else {
            assert_ref(doc, "next",
                       vl_pool_printf(pool, BASE "cd/pages/%llu.json",
                                      (unsigned long long) page + 1),
                       "OrderedCollectionPage");
        }
        assert_null(json_object_get(doc, "totalItems"));
        arr = json_object_get(doc, "orderedItems");
        assert_true(json_is_array(arr));
        assert_int_equal(json_array_size(arr), p.n);
        a = json_array_get(arr, 0);
        assert_int_equal(json_object_size(a), 3);
        assert_string_equal(jstr(a, "type"), "Create");
        assert_string_equal(jstr(a, "endTime"), "2024-05-01T12:00:00Z");
        obj = json_object_get(a, "object");
        assert_string_equal(jstr(obj, "id"), BASE "books%2Fa%20b.tif/manifest");
        assert_string_equal(jstr(obj, "type"), "Manifest");
        assert_null(json_object_get(obj, "seeAlso"));
        a = json_array_get(arr, 1);
        assert_string_equal(jstr(a, "type"), "Update");
        assert_string_equal(jstr(json_object_get(a, "object"), "id"),
                            BASE "book/manifest");
        json_decref(doc);
    }
    /* the only page: neither prev nor next */
    memset(&p, 0, sizeof(p));
    p.total = 3;
    p.size = 100;
    p.npages = 1;
    p.page = 1;
    p.n = 3;
    p.items = items;
    doc = render(pool, &sa, &p);
    assert_null(json_object_get(doc, "prev"));
    assert_null(json_object_get(doc, "next"));
    arr = json_object_get(doc, "orderedItems");
    a = json_array_get(arr, 2);
    assert_string_equal(jstr(a, "type"), "Delete");
    assert_string_equal(jstr(a, "endTime"), "2024-05-02T00:00:00Z");
    /* seeAlso: one Dataset, {id} as a path segment; none for a Delete */
    assert_null(json_object_get(json_object_get(a, "object"), "seeAlso"));
    see = json_object_get(json_object_get(json_array_get(arr, 0), "object"),
                          "seeAlso");
    assert_true(json_is_array(see));
    assert_int_equal(json_array_size(see), 1);
    see = json_array_get(see, 0);
    assert_string_equal(jstr(see, "id"),
                        "https://ex.org/rec/"
                        "books%2Fa%20b.tif.xml?x=books%2Fa%20b.tif");
    assert_string_equal(jstr(see, "type"), "Dataset");
    assert_string_equal(jstr(see, "format"), "application/rdf+xml");
    assert_string_equal(jstr(see, "profile"),
                        "http://www.europeana.eu/schemas/edm/");
    json_decref(doc);
    /* without format and profile */
    sa.see_also_format = NULL;
    sa.see_also_profile = "";
    doc = render(pool, &sa, &p);
    see = json_array_get(
        json_object_get(
            json_object_get(
                json_array_get(json_object_get(doc, "orderedItems"), 1),
                "object"),
            "seeAlso"),
        0);
    assert_int_equal(json_object_size(see), 2);
    assert_string_equal(jstr(see, "id"), "https://ex.org/rec/book.xml?x=book");
    json_decref(doc);
    vl_pool_destroy(pool);
}

/* ------------------------------------------------------------ the index */

/* n records as lines appended to path: Create of "id-k" for k in
 * [from, from + n), a Seen after every 4th. Returns the next seq. */
static uint64_t
append_log(vl_pool_t *pool, const char *path, uint64_t seq, int from, int n,
           const char *time)
{
    FILE *f = fopen(path, "ab");
    char  id[32];

    assert_non_null(f);
    for (int k = from; k < from + n; k++) {
        size_t len;
        char  *line;

        snprintf(id, sizeof(id), "id-%d", k);
        line = line_of(pool,
                       rec(seq++, time, VL_CDLOG_CREATE, VL_CDLOG_IMAGE, id, 1,
                           (uint64_t) k, 0),
                       &len);
        assert_int_equal(fwrite(line, 1, len, f), len);
        if (k % 4 == 3) {
            line = line_of(pool,
                           rec(seq++, time, VL_CDLOG_SEEN, VL_CDLOG_IMAGE, id,
                               2, (uint64_t) k, 0),
                           &len);
            assert_int_equal(fwrite(line, 1, len, f), len);
        }
    }
    assert_int_equal(fclose(f), 0);
    return seq;
}

static void
get_ok(vl_pool_t *pool, const char *dir, uint64_t size, uint64_t page,
       vl_discovery_page_t *p)
{
    vl_err_t err = { 0 };

    if (vl_discovery_get(pool, dir, size, page, p, &err) != VL_OK) {
        fail_msg("page %llu: %s", (unsigned long long) page, err.msg);
    }
}

static void
test_index(void **state)
{
    vl_pool_t          *pool = vl_pool_create(4096);
    vl_discovery_page_t p, q;
    vl_err_t            err = { 0 };
    uint64_t            seq, tag1[2], tag2[2];
    tmp_t               t;

    (void) state;
    tmp_make(&t);
    vl_discovery_reset();
    assert_int_equal(vl_discovery_get(pool, t.dir, 3, 0, &p, &err),
                     VL_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no Change Discovery log"));
    /* empty log: no pages, and no collection (it would have no last) */
    write_file(t.path, "", 0);
    vl_err_clear(&err);
    assert_int_equal(vl_discovery_get(pool, t.dir, 3, 0, &p, &err),
                     VL_ENOTFOUND);
    assert_string_equal(err.msg, "no activity yet");
    vl_err_clear(&err);
    assert_int_equal(vl_discovery_get(pool, t.dir, 3, 1, &p, &err),
                     VL_ENOTFOUND);
    assert_string_equal(err.msg, "no activity yet");
    /* a log of Seen records only is no activity either */
    {
        vl_cdlog_rec_t r = rec(1, "2024-05-01T12:00:00Z", VL_CDLOG_SEEN,
                               VL_CDLOG_IMAGE, "a.tif", 1, 1, 0);
        size_t         len;
        char          *line = line_of(pool, r, &len);

        write_file(t.path, line, len);
        vl_err_clear(&err);
        assert_int_equal(vl_discovery_get(pool, t.dir, 3, 0, &p, &err),
                         VL_ENOTFOUND);
        assert_string_equal(err.msg, "no activity yet");
        /* rewritten in place, which a log never is: forget what was read */
        write_file(t.path, "", 0);
        vl_discovery_reset();
    }

    /* 6 activities (and a Seen): exactly two full pages of 3 */
    seq = append_log(pool, t.path, 1, 0, 6, "2024-05-01T12:00:00Z");
    get_ok(pool, t.dir, 3, 0, &p);
    assert_true(p.total == 6 && p.npages == 2);
    get_ok(pool, t.dir, 3, 1, &p);
    assert_true(p.n == 3 && p.start == 0);
    assert_string_equal(p.items[0].id, "id-0");
    assert_string_equal(p.items[2].id, "id-2");
    memcpy(tag1, p.tag, sizeof(tag1));
    get_ok(pool, t.dir, 3, 2, &p);
    assert_true(p.n == 3 && p.start == 3);
    /* the Seen after id-3 is not an activity */
    assert_string_equal(p.items[0].id, "id-3");
    assert_string_equal(p.items[1].id, "id-4");
    assert_true(p.mtime == vl_cdlog_time_parse("2024-05-01T12:00:00Z"));
    memcpy(tag2, p.tag, sizeof(tag2));
    vl_err_clear(&err);
    assert_int_equal(vl_discovery_get(pool, t.dir, 3, 3, &p, &err),
                     VL_ENOTFOUND);

    /* the log grows: page 1 keeps its tag; page 2, full but the last, gets
     * a next page, so its tag changes once */
    seq = append_log(pool, t.path, seq, 6, 2, "2024-05-03T00:00:00Z");
    get_ok(pool, t.dir, 3, 1, &p);
    assert_true(memcmp(p.tag, tag1, sizeof(tag1)) == 0);
    get_ok(pool, t.dir, 3, 2, &p);
    assert_true(memcmp(p.tag, tag2, sizeof(tag2)) != 0);
    memcpy(tag2, p.tag, sizeof(tag2));
    get_ok(pool, t.dir, 3, 3, &p);
    assert_true(p.n == 2 && p.start == 6);
    assert_string_equal(p.items[1].id, "id-7");
    assert_true(p.mtime == vl_cdlog_time_parse("2024-05-03T00:00:00Z"));
    memcpy(tag1, p.tag, sizeof(tag1));
    /* and again: pages 1 and 2 stay, page 3 (the last) changes */
    seq = append_log(pool, t.path, seq, 8, 1, "2024-05-03T00:00:00Z");
    get_ok(pool, t.dir, 3, 2, &q);
    assert_true(memcmp(q.tag, tag2, sizeof(tag2)) == 0);
    get_ok(pool, t.dir, 3, 3, &q);
    assert_true(q.n == 3);
    assert_true(memcmp(q.tag, tag1, sizeof(tag1)) != 0);
    /* another page size: another split */
    get_ok(pool, t.dir, 1, 0, &p);
    assert_true(p.total == 9 && p.npages == 9);
    get_ok(pool, t.dir, 1, 9, &p);
    assert_string_equal(p.items[0].id, "id-8");

    /* a torn tail is not served; the stream stays as it was */
    {
        FILE *f = fopen(t.path, "ab");

        assert_non_null(f);
        fputs("cd1 99 2024-05-0", f);
        fclose(f);
        get_ok(pool, t.dir, 3, 0, &p);
        assert_true(p.total == 9);
    }
    /* damage in the middle: served up to the last valid record before it */
    {
        struct stat st;
        char       *text;
        FILE       *f = fopen(t.path, "rb");
        size_t      n, off;

        assert_int_equal(stat(t.path, &st), 0);
        text = malloc((size_t) st.st_size);
        n = fread(text, 1, (size_t) st.st_size, f);
        fclose(f);
        /* the third line is the third activity */
        off = (size_t) (strchr(strchr(text, '\n') + 1, '\n') - text) + 5;
        text[off] = text[off] == '9' ? '8' : '9';
        write_file(t.path, text, n);
        free(text);
        get_ok(pool, t.dir, 3, 0, &p);
        assert_true(p.total == 2 && p.npages == 1);
        get_ok(pool, t.dir, 3, 1, &p);
        assert_true(p.n == 2);
        assert_string_equal(p.items[1].id, "id-1");
    }
    /* cut in place and grown again past where the index stopped, with other
     * records (a crash, then the scanner's recovery, between two requests):
     * same inode, longer, so it looks like an append; the record before
     * where reading stopped is not the one read, so read it all again */
    unlink(t.path);
    seq = append_log(pool, t.path, 1, 0, 6, "2024-05-01T12:00:00Z");
    get_ok(pool, t.dir, 3, 0, &p);
    assert_true(p.total == 6);
    {
        struct stat st;
        char       *text;
        FILE       *f = fopen(t.path, "rb");
        size_t      n, cut;

        assert_non_null(f);
        assert_int_equal(stat(t.path, &st), 0);
        text = malloc((size_t) st.st_size);
        n = fread(text, 1, (size_t) st.st_size, f);
        fclose(f);
        /* keep 3 lines (id-0, id-1, id-2) */
        cut = (size_t) (strchr(strchr(strchr(text, '\n') + 1, '\n') + 1, '\n')
                        - text) + 1;
        assert_true(cut < n);
        write_file(t.path, text, cut);
        free(text);
        (void) append_log(pool, t.path, 4, 300, 6, "2024-05-02T00:00:00Z");
        assert_int_equal(stat(t.path, &st), 0);
        assert_true((size_t) st.st_size > n);
        get_ok(pool, t.dir, 3, 0, &p);
        assert_true(p.total == 9 && p.npages == 3);
        get_ok(pool, t.dir, 3, 2, &p);
        assert_string_equal(p.items[0].id, "id-300");
        get_ok(pool, t.dir, 3, 3, &p);
        assert_string_equal(p.items[2].id, "id-305");
    }
    /* the log replaced by another one: read again from its start */
    unlink(t.path);
    (void) append_log(pool, t.path, 1, 100, 4, "2024-06-01T00:00:00Z");
    get_ok(pool, t.dir, 3, 0, &p);
    assert_true(p.total == 4 && p.npages == 2);
    get_ok(pool, t.dir, 3, 2, &p);
    assert_string_equal(p.items[0].id, "id-103");
    vl_discovery_reset();
    tmp_rm(&t);
    vl_pool_destroy(pool);
}

/* ------------------------------------------------------------ the scan */

typedef struct {
    vl_conf_t *conf;
    tmp_t      t;
    char       root[128], state[128];
} scan_env_t;

static void
scan_env(scan_env_t *e)
{
    static char single[4096], grey[4096], cmd[20000];
    char        a[200], b[200];
    char       *envp[3] = { a, b, NULL };
    vl_err_t    err = { 0 };

    /* vl_fx_path returns one static buffer */
    snprintf(single, sizeof(single), "%s", vl_fx_path("single.tif"));
    snprintf(grey, sizeof(grey), "%s", vl_fx_path("grey.tif"));
    tmp_make(&e->t);
    snprintf(e->root, sizeof(e->root), "%s/root", e->t.dir);
    snprintf(e->state, sizeof(e->state), "%s/state/sub", e->t.dir);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p '%s/sub' '%s/book' && "
             "cp '%s' '%s/a.tif' && cp '%s' '%s/sub/b.tif' && "
             "cp '%s' '%s/book/p1.tif' && cp '%s' '%s/book/p2.tif' && "
             "echo '{\"items\": [\"p1.tif\", \"p2.tif\"]}' > '%s/book.json'",
             e->root, e->root, single, e->root, grey, e->root, single, e->root,
             grey, e->root, e->root);
    assert_int_equal(system(cmd), 0);
    snprintf(a, sizeof(a), "FILESYSTEM_PREFIX=%s", e->root);
    snprintf(b, sizeof(b), "STATE_DIR=%s", e->state);
    e->conf = vl_conf_load_env(NULL, envp, NULL, &err);
    if (e->conf == NULL) {
        fail_msg("%s", err.msg);
    }
}

static int
scan(scan_env_t *e, vl_scan_result_t *res, vl_err_t *err)
{
    return vl_scan_run(e->conf, NULL, res, err);
}

static void
test_scan(void **state)
{
    scan_env_t       e;
    vl_scan_result_t res;
    vl_err_t         err = { 0 };
    char             path[300], cmd[400];
    struct stat      st, st2;
    int              fd;

    (void) state;
    scan_env(&e);
    assert_int_equal(scan(&e, &res, &err), VL_OK);
    assert_true(res.images == 2 && res.objects == 1);
    assert_true(res.creates == 3 && res.updates == 0 && res.deletes == 0);
    assert_true(res.files_hashed == 4 && res.records == 3);
    /* nothing changed: nothing appended (the files are new: read again) */
    assert_int_equal(scan(&e, &res, &err), VL_OK);
    assert_true(res.creates + res.updates + res.deletes == 0);
    assert_true(res.records == 3);

    /* a change of content in a page of the book: the book is updated */
    snprintf(cmd, sizeof(cmd), "printf x >> '%s/book/p2.tif'", e.root);
    assert_int_equal(system(cmd), 0);
    /* a removed image, and a changed sidecar of an image */
    snprintf(path, sizeof(path), "%s/sub/b.tif", e.root);
    assert_int_equal(unlink(path), 0);
    snprintf(cmd, sizeof(cmd), "echo '{\"label\": \"A\"}' > '%s/a.tif.json'",
             e.root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(scan(&e, &res, &err), VL_OK);
    assert_true(res.creates == 0 && res.updates == 2 && res.deletes == 1);
    assert_true(res.records == 6);

    /* a scan holding the lock keeps a second one out */
    snprintf(path, sizeof(path), "%s/%s", e.state, VL_CDLOG_LOCK);
    fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    vl_err_clear(&err);
    assert_int_equal(scan(&e, &res, &err), VL_EBUSY);
    assert_non_null(strstr(err.msg, "another scan"));
    close(fd);

    /* a torn last record is removed, and its change found again */
    snprintf(path, sizeof(path), "%s/%s", e.state, VL_CDLOG_FILE);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(truncate(path, st.st_size - 7), 0);
    vl_err_clear(&err);
    assert_int_equal(scan(&e, &res, &err), VL_OK);
    assert_true(res.torn_bytes > 0 && res.records == 6);
    assert_true(res.creates + res.updates + res.deletes == 1);
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st2.st_size == st.st_size);

    /* damage in the middle: refused, nothing written */
    snprintf(cmd, sizeof(cmd), "sed -i '2s/Create/Crea7e/' '%s'", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(stat(path, &st), 0);
    vl_err_clear(&err);
    assert_int_equal(scan(&e, &res, &err), VL_EFORMAT);
    assert_non_null(strstr(err.msg, "damaged at line 2"));
    assert_non_null(strstr(err.msg, "nothing was written"));
    assert_null(strstr(err.msg, e.t.dir));
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st2.st_size == st.st_size
                && st2.st_mtim.tv_nsec == st.st_mtim.tv_nsec);
    vl_conf_free(e.conf);

    /* STATE_DIR unset */
    {
        char       a[200];
        char      *envp[2] = { a, NULL };
        vl_conf_t *c;

        snprintf(a, sizeof(a), "FILESYSTEM_PREFIX=%s", e.root);
        c = vl_conf_load_env(NULL, envp, NULL, &err);
        assert_non_null(c);
        vl_err_clear(&err);
        assert_int_equal(vl_scan_run(c, NULL, &res, &err), VL_ECONF);
        assert_string_equal(err.msg, "STATE_DIR is not set");
        vl_conf_free(c);
    }
    tmp_rm(&e.t);
}

/* The records of e's log from line first on (1-based), "Type k id" each
 * (the identifier as the log has it, percent-encoded), one per line. */
static void
scan_records(scan_env_t *e, size_t first, char *out, size_t size)
{
    char   path[300], line[1024];
    FILE  *f;
    size_t n = 0, len = 0;

    snprintf(path, sizeof(path), "%s/%s", e->state, VL_CDLOG_FILE);
    f = fopen(path, "r");
    assert_non_null(f);
    out[0] = '\0';
    while (fgets(line, sizeof(line), f) != NULL) {
        char type[16], kind[4], id[512];

        if (++n < first) {
            continue;
        }
        assert_int_equal(sscanf(line, "cd1 %*s %*s %15s %3s %511s", type,
                                kind, id), 3);
        len += (size_t) snprintf(out + len, size - len, "%s %s %s\n", type,
                                 kind, id);
        assert_true(len < size);
    }
    fclose(f);
}

typedef struct {
    char   text[8192];
    size_t len;
} notes_t;

static void
scan_keep_note(void *arg, int level, const char *msg)
{
    notes_t *n = arg;

    (void) level;
    n->len += (size_t) snprintf(n->text + n->len, sizeof(n->text) - n->len,
                                "%s\n", msg);
    if (n->len >= sizeof(n->text)) {
        n->len = sizeof(n->text) - 1;
    }
}

static size_t
count_of(const char *hay, const char *needle)
{
    size_t n = 0;

    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    return n;
}

/* What a manifest is, as the server answers it: a folder is an object only
 * when one of its sidecar's items is an image of it; an image beside a
 * folder object of the same identifier wins; an image named as a page of
 * another is not one. */
static void
test_scan_objects(void **state)
{
    static char    single[4096], cmd[20000];
    char           a[200], b[200], c[64];
    char          *envp[4] = { a, b, c, NULL };
    char           got[4096];
    scan_env_t     e;
    vl_scan_opts_t o;
    notes_t        notes;
    vl_scan_result_t res;
    vl_err_t       err = { 0 };

    (void) state;
    snprintf(single, sizeof(single), "%s", vl_fx_path("single.tif"));
    tmp_make(&e.t);
    snprintf(e.root, sizeof(e.root), "%s/root", e.t.dir);
    snprintf(e.state, sizeof(e.state), "%s/state", e.t.dir);
    snprintf(cmd, sizeof(cmd),
             "set -e; cd '%s' && mkdir -p root && cd root && "
             "mkdir ghost book atlas && cp '%s' a.tif && "
             "cp a.tif ghost/x.tif && cp a.tif ghost/y.tif && "
             "echo '{\"items\": [\"missing.tif\", \"sub\"]}' > ghost.json && "
             "mkdir ghost/sub && "
             "cp a.tif book.tif && cp a.tif book/p1.tif && "
             "echo '{\"items\": [\"p1.tif\"]}' > book.json && "
             "cp a.tif atlas/01.tif && cp a.tif atlas/02.tif && "
             "echo '{\"items\": [\"gone.tif\", \"02.tif\"]}' > atlas.json && "
             "cp a.tif 'scan;2.tif'",
             e.t.dir, single);
    assert_int_equal(system(cmd), 0);
    snprintf(a, sizeof(a), "FILESYSTEM_PREFIX=%s", e.root);
    snprintf(b, sizeof(b), "STATE_DIR=%s", e.state);
    snprintf(c, sizeof(c), "FILESYSTEM_SUFFIX=.tif");
    e.conf = vl_conf_load_env(NULL, envp, NULL, &err);
    if (e.conf == NULL) {
        fail_msg("%s", err.msg);
    }
    memset(&notes, 0, sizeof(notes));
    o = (vl_scan_opts_t) { .note = scan_keep_note, .arg = &notes };

    assert_int_equal(vl_scan_run(e.conf, &o, &res, &err), VL_OK);
    scan_records(&e, 1, got, sizeof(got));
    /* atlas lists one image of its own: an object. book.tif is served at
     * book/manifest: the image, and the folder is a plain one. ghost
     * lists none of its images: a plain folder. scan;2 is page 2 of
     * scan: not a file's identifier. */
    assert_string_equal(got, "Create i a\n"
                             "Create f atlas\n"
                             "Create i book\n"
                             "Create i book%2Fp1\n"
                             "Create i ghost%2Fx\n"
                             "Create i ghost%2Fy\n");
    assert_true(res.images == 5 && res.objects == 1);
    assert_int_equal(count_of(notes.text, "book: an image and a folder "
                              "object have this identifier"), 1);
    assert_int_equal(count_of(notes.text, "ghost.json: not used: its items "
                              "name no image of the folder"), 1);
    assert_null(strstr(notes.text, e.t.dir));

    /* the sidecar now names an image of it: the folder becomes one
     * object; the image beside book gone, book is the folder object */
    snprintf(cmd, sizeof(cmd),
             "cd '%s' && echo '{\"items\": [\"y.tif\"]}' > ghost.json && "
             "rm book.tif", e.root);
    assert_int_equal(system(cmd), 0);
    memset(&notes, 0, sizeof(notes));
    assert_int_equal(vl_scan_run(e.conf, &o, &res, &err), VL_OK);
    scan_records(&e, 7, got, sizeof(got));
    assert_string_equal(got, "Delete i book%2Fp1\n"
                             "Delete i ghost%2Fx\n"
                             "Delete i ghost%2Fy\n"
                             "Update f book\n"
                             "Create f ghost\n");
    assert_int_equal(count_of(notes.text, "an image and a folder"), 0);
    vl_conf_free(e.conf);
    tmp_rm(&e.t);
}

/* A scan that would delete every manifest (an unmounted or emptied image
 * root) writes nothing, unless forced. */
static void
test_scan_guard(void **state)
{
    scan_env_t       e;
    vl_scan_result_t res;
    vl_scan_opts_t   force = { NULL, NULL, 1 };
    vl_err_t         err = { 0 };
    char             path[300], cmd[700];
    struct stat      st, st2;

    (void) state;
    scan_env(&e);
    assert_int_equal(scan(&e, &res, &err), VL_OK);
    assert_true(res.creates == 3);
    snprintf(path, sizeof(path), "%s/%s", e.state, VL_CDLOG_FILE);
    assert_int_equal(stat(path, &st), 0);

    /* the root empty (a mount point without its disk) */
    snprintf(cmd, sizeof(cmd), "mv '%s' '%s.away' && mkdir '%s'", e.root,
             e.root, e.root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(scan(&e, &res, &err), VL_EIO);
    assert_non_null(strstr(err.msg, "the image root is empty but the log "
                                    "has 3 manifests"));
    assert_non_null(strstr(err.msg, "nothing was written"));
    assert_non_null(strstr(err.msg, "--force"));
    assert_null(strstr(err.msg, e.t.dir));
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st2.st_size == st.st_size);

    /* not empty, but every manifest gone */
    snprintf(cmd, sizeof(cmd), "mkdir '%s/other'", e.root);
    assert_int_equal(system(cmd), 0);
    vl_err_clear(&err);
    assert_int_equal(scan(&e, &res, &err), VL_EIO);
    assert_non_null(strstr(err.msg, "the scan would delete all 3 manifests"));
    assert_int_equal(stat(path, &st2), 0);
    assert_true(st2.st_size == st.st_size);

    /* a new image does not make it less of a mass deletion */
    snprintf(cmd, sizeof(cmd), "cp '%s.away/a.tif' '%s/other/n.tif'", e.root,
             e.root);
    assert_int_equal(system(cmd), 0);
    vl_err_clear(&err);
    assert_int_equal(scan(&e, &res, &err), VL_EIO);

    /* forced: recorded */
    vl_err_clear(&err);
    assert_int_equal(vl_scan_run(e.conf, &force, &res, &err), VL_OK);
    assert_true(res.deletes == 3 && res.creates == 1);

    /* the disk back, the new image kept: an ordinary scan */
    snprintf(cmd, sizeof(cmd),
             "mv '%s/other' '%s.away/' && rm -rf '%s' && mv '%s.away' '%s'",
             e.root, e.root, e.root, e.root, e.root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(scan(&e, &res, &err), VL_OK);
    assert_true(res.creates == 3 && res.deletes == 0);
    /* one manifest of four removed: an ordinary scan */
    snprintf(cmd, sizeof(cmd), "rm '%s/a.tif'", e.root);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(scan(&e, &res, &err), VL_OK);
    assert_true(res.creates == 0 && res.deletes == 1);
    vl_conf_free(e.conf);
    tmp_rm(&e.t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash64),
        cmocka_unit_test(test_record_roundtrip),
        cmocka_unit_test(test_record_checksum),
        cmocka_unit_test(test_record_fields),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_fold),
        cmocka_unit_test(test_read_torn_damaged),
        cmocka_unit_test(test_pages),
        cmocka_unit_test(test_collection_json),
        cmocka_unit_test(test_page_json),
        cmocka_unit_test(test_index),
        cmocka_unit_test(test_scan),
        cmocka_unit_test(test_scan_objects),
        cmocka_unit_test(test_scan_guard),
    };

    return cmocka_run_group_tests_name("discovery", tests, NULL, NULL);
}
