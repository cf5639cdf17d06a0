/* SPDX-License-Identifier: MIT */
/*
 * test_jp2box: the JP2 box scanner (source/jp2box.c) over files built in
 * memory: the top-level boxes it sees, what it says about the header box
 * (probe, remap) and where it finds the codestream, for well-formed files
 * and for every way a box header can be short, long or missing.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "source/jp2box.h"

/* ------------------------------------------------------------- builder */

typedef struct {
    unsigned char b[512];
    size_t        n;
} file_t;

static void
put(file_t *f, const void *p, size_t n)
{
    assert_true(f->n + n <= sizeof(f->b));
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void
put32(file_t *f, uint32_t v)
{
    unsigned char b[4] = { (unsigned char) (v >> 24), (unsigned char) (v >> 16),
                           (unsigned char) (v >> 8), (unsigned char) v };

    put(f, b, 4);
}

static void
put64(file_t *f, uint64_t v)
{
    put32(f, (uint32_t) (v >> 32));
    put32(f, (uint32_t) v);
}

/* A box with an LBox of len (the real length when len is ~0). */
static void
box(file_t *f, const char *type, const void *payload, size_t plen,
    uint32_t len)
{
    put32(f, len == UINT32_MAX ? (uint32_t) (8 + plen) : len);
    put(f, type, 4);
    put(f, payload, plen);
}

/* A box with an XLBox of xl (the real length when xl is ~0). */
static void
xlbox(file_t *f, const char *type, const void *payload, size_t plen,
      uint64_t xl)
{
    put32(f, 1);
    put(f, type, 4);
    put64(f, xl == UINT64_MAX ? 16 + plen : xl);
    put(f, payload, plen);
}

#define REAL UINT32_MAX

static const unsigned char cs[16] = { 0xff, 0x4f, 0xff, 0x51, 0, 41, 0, 0,
                                      0, 0, 0, 64, 0, 0, 0, 64 };

/* 12: the signature box */
static void
sig(file_t *f)
{
    box(f, "jP  ", "\x0d\x0a\x87\x0a", 4, REAL);
}

/* 20: the file type box */
static void
ftyp(file_t *f)
{
    box(f, "ftyp", "jp2 \0\0\0\0jp2 ", 12, REAL);
}

/* 22, 15, 15, 14, 16: header sub-boxes */
static void
ihdr(file_t *f)
{
    box(f, "ihdr", "\0\0\0\x40\0\0\0\x40\0\x03\x07\x07\0\0", 14, REAL);
}

static void
colr1(file_t *f)
{
    box(f, "colr", "\x01\0\0\0\0\0\x10", 7, REAL);
}

static void
colr2(file_t *f)
{
    box(f, "colr", "\x02\0\0ICCP", 7, REAL);
}

static void
pclr(file_t *f)
{
    box(f, "pclr", "\0\x01\x01\x07\0\0", 6, REAL);
}

static void
cdef(file_t *f)
{
    box(f, "cdef", "\0\x01\0\0\0\0\0\0", 8, REAL);
}

/* a jp2h box of 8 + the sub-boxes */
static void
jp2h(file_t *f, void (*a)(file_t *), void (*b)(file_t *))
{
    file_t sub = { .n = 0 };

    if (a != NULL) {
        a(&sub);
    }
    if (b != NULL) {
        b(&sub);
    }
    box(f, "jp2h", sub.b, sub.n, REAL);
}

/* 24: the codestream box */
static void
jp2c(file_t *f)
{
    box(f, "jp2c", cs, sizeof(cs), REAL);
}

/* ---------------------------------------------------------------- files */

/* 12 + 20 + 45 + 24 = 101; the codestream at 85 */
static void
mk_plain(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, colr1);
    jp2c(f);
}

/* the codestream box with an XLBox: at 77, 40 bytes, payload at 93 */
static void
mk_xlbox(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, colr1);
    xlbox(f, "jp2c", cs, sizeof(cs), UINT64_MAX);
}

/* the codestream box "to the end of the file" (LBox 0) */
static void
mk_len0(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, colr1);
    box(f, "jp2c", cs, sizeof(cs), 0);
}

/* the file ends 5 bytes into a box header */
static void
mk_trunc_header(file_t *f)
{
    sig(f);
    ftyp(f);
    put(f, "\0\0\0\x2djp", 6);
}

/* the file ends 12 bytes into an XLBox header */
static void
mk_trunc_xlheader(file_t *f)
{
    sig(f);
    ftyp(f);
    put32(f, 1);
    put(f, "jp2c", 4);
    put32(f, 0);
}

/* an XLBox longer than the file */
static void
mk_xl_past_end(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, colr1);
    xlbox(f, "jp2c", cs, sizeof(cs), 4096);
}

/* an LBox longer than the file */
static void
mk_len_past_end(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, colr1);
    box(f, "jp2c", cs, sizeof(cs), 25);
}

/* a box shorter than its own header */
static void
mk_short_box(file_t *f)
{
    sig(f);
    box(f, "ftyp", "jp2 \0\0\0\0jp2 ", 12, 7);
}

/* an XLBox shorter than its 16-byte header */
static void
mk_short_xlbox(file_t *f)
{
    sig(f);
    xlbox(f, "ftyp", "jp2 \0\0\0\0jp2 ", 12, 15);
}

static void
mk_pclr(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, pclr);
    jp2c(f);
}

static void
mk_cdef(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, cdef);
    jp2c(f);
}

static void
mk_colr2(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2h(f, ihdr, colr2);
    jp2c(f);
}

static void
mk_no_jp2h(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2c(f);
}

static void
mk_jp2c_first(file_t *f)
{
    sig(f);
    ftyp(f);
    jp2c(f);
    jp2h(f, ihdr, colr1);
}

/* a header sub-box that runs past the end of jp2h */
static void
mk_bad_sub(file_t *f)
{
    file_t sub = { .n = 0 };

    sig(f);
    ftyp(f);
    ihdr(&sub);
    box(&sub, "colr", "\x01\0\0\0\0\0\x10", 7, 40);
    box(f, "jp2h", sub.b, sub.n, REAL);
    jp2c(f);
}

/* a raw codestream: no boxes at all */
static void
mk_raw(file_t *f)
{
    put(f, cs, sizeof(cs));
    put(f, "\xff\xd9", 2);
}

/* ------------------------------------------------------------ the table */

typedef struct {
    char     type[5];
    uint64_t len;
    uint32_t hdr;
} want_box_t;

static const struct {
    const char *name;
    void      (*make)(file_t *f);
    size_t      size;           /* of the file made */
    want_box_t  boxes[6];       /* top-level boxes from 0, in order */
    int         nboxes;
    int         walk_rc;        /* vl_jp2box_at after the last: 0 end */
    int         probe, remap;   /* vl_jp2box_needs_probe */
    int         cs_rc;          /* vl_jp2box_codestream */
    uint64_t    cs_off, cs_len;
} cases[] = {
    { "plain", mk_plain, 101,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 45, 8 },
        { "jp2c", 24, 8 } }, 4, 0, 0, 0, 0, 85, 16 },
    { "XLBox", mk_xlbox, 109,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 45, 8 },
        { "jp2c", 32, 16 } }, 4, 0, 0, 0, 0, 93, 16 },
    { "length 0", mk_len0, 101,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 45, 8 },
        { "jp2c", 24, 8 } }, 4, 0, 0, 0, 0, 85, 16 },
    { "truncated header", mk_trunc_header, 38,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 } }, 2, -1, 1, 1, -1, 0, 0 },
    { "truncated XLBox header", mk_trunc_xlheader, 44,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 } }, 2, -1, 1, 1, -1, 0, 0 },
    { "XLBox past the end", mk_xl_past_end, 109,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 45, 8 } }, 3, -1,
      0, 0, -1, 0, 0 },
    { "length past the end", mk_len_past_end, 101,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 45, 8 } }, 3, -1,
      0, 0, -1, 0, 0 },
    { "box shorter than its header", mk_short_box, 32,
      { { "jP  ", 12, 8 } }, 1, -1, 1, 1, -1, 0, 0 },
    { "XLBox shorter than its header", mk_short_xlbox, 40,
      { { "jP  ", 12, 8 } }, 1, -1, 1, 1, -1, 0, 0 },
    { "pclr", mk_pclr, 100,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 44, 8 },
        { "jp2c", 24, 8 } }, 4, 0, 1, 1, 0, 84, 16 },
    { "cdef", mk_cdef, 102,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 46, 8 },
        { "jp2c", 24, 8 } }, 4, 0, 1, 1, 0, 86, 16 },
    { "colr method 2", mk_colr2, 101,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 45, 8 },
        { "jp2c", 24, 8 } }, 4, 0, 1, 0, 0, 85, 16 },
    { "no jp2h", mk_no_jp2h, 56,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2c", 24, 8 } }, 3, 0,
      1, 1, 0, 40, 16 },
    { "jp2c before jp2h", mk_jp2c_first, 101,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2c", 24, 8 },
        { "jp2h", 45, 8 } }, 4, 0, 1, 1, 0, 40, 16 },
    { "sub-box past jp2h", mk_bad_sub, 101,
      { { "jP  ", 12, 8 }, { "ftyp", 20, 8 }, { "jp2h", 45, 8 },
        { "jp2c", 24, 8 } }, 4, 0, 1, 1, 0, 85, 16 },
    /* a codestream is no box: SOC SIZ reads as a length past the end */
    { "raw codestream", mk_raw, 18, { { "", 0, 0 } }, 0, -1, 0, 0, 0, 0,
      18 },
};

/* ---------------------------------------------------------------- tests */

typedef struct {
    const file_t *f;
    int           fail;         /* reads fail */
    int           reads;
} mem_t;

static long
mem_read(void *user, uint64_t off, void *buf, size_t n)
{
    mem_t *m = user;

    m->reads++;
    if (m->fail) {
        return -1;
    }
    if (off >= m->f->n) {
        return 0;
    }
    if (n > m->f->n - off) {
        n = m->f->n - (size_t) off;
    }
    memcpy(buf, m->f->b + off, n);
    return (long) n;
}

static void
test_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        file_t         f = { .n = 0 };
        mem_t          m = { &f, 0, 0 };
        vl_jp2box_in_t in = { mem_read, &m, 0 };
        vl_jp2box_t    b;
        uint64_t       pos = 0, off = 7, len = 7;
        int            k, rc, remap = -1;

        cases[i].make(&f);
        in.size = f.n;
        if (f.n != cases[i].size) {
            fail_msg("%s: made %zu bytes, want %zu", cases[i].name, f.n,
                     cases[i].size);
        }
        for (k = 0; pos < f.n; k++) {
            rc = vl_jp2box_at(&in, pos, &b);
            if (rc != 0) {
                break;
            }
            if (k >= cases[i].nboxes) {
                fail_msg("%s: box %d past the %d expected", cases[i].name,
                         k, cases[i].nboxes);
            }
            if (memcmp(b.type, cases[i].boxes[k].type, 4) != 0
                || b.len != cases[i].boxes[k].len
                || b.hdr != cases[i].boxes[k].hdr) {
                fail_msg("%s: box %d is %.4s %llu/%u, want %s %llu/%u",
                         cases[i].name, k, (const char *) b.type,
                         (unsigned long long) b.len, b.hdr,
                         cases[i].boxes[k].type,
                         (unsigned long long) cases[i].boxes[k].len,
                         cases[i].boxes[k].hdr);
            }
            pos += b.len;
        }
        if (k != cases[i].nboxes
            || (pos < f.n ? -1 : 0) != cases[i].walk_rc) {
            fail_msg("%s: %d boxes then %s, want %d then %d", cases[i].name,
                     k, pos < f.n ? "an error" : "the end", cases[i].nboxes,
                     cases[i].walk_rc);
        }
        rc = vl_jp2box_needs_probe(&in, &remap);
        if (rc != cases[i].probe || remap != cases[i].remap) {
            fail_msg("%s: probe %d remap %d, want %d %d", cases[i].name, rc,
                     remap, cases[i].probe, cases[i].remap);
        }
        rc = vl_jp2box_codestream(&in, &off, &len);
        assert_int_equal(rc, cases[i].cs_rc);
        if (rc == 0) {
            assert_int_equal(off, cases[i].cs_off);
            assert_int_equal(len, cases[i].cs_len);
            assert_memory_equal(f.b + off, cs, 4);
        } else {
            /* nothing written on failure */
            assert_int_equal(off, 7);
            assert_int_equal(len, 7);
        }
        assert_int_equal(vl_jp2box_is_raw(&in), cases[i].make == mk_raw);
    }
}

/* Reads that fail are a box that cannot be read; positions at or past
 * the end read nothing. */
static void
test_read_errors(void **state)
{
    file_t         f = { .n = 0 };
    mem_t          m = { &f, 1, 0 };
    vl_jp2box_in_t in = { mem_read, &m, 0 };
    vl_jp2box_t    b;
    uint64_t       off, len;
    int            remap = 0;

    (void) state;
    mk_plain(&f);
    in.size = f.n;
    assert_int_equal(vl_jp2box_at(&in, 0, &b), -1);
    assert_int_equal(vl_jp2box_needs_probe(&in, &remap), 1);
    assert_int_equal(remap, 1);
    assert_int_equal(vl_jp2box_codestream(&in, &off, &len), -1);
    assert_int_equal(vl_jp2box_is_raw(&in), 0);

    m.fail = 0;
    m.reads = 0;
    assert_int_equal(vl_jp2box_at(&in, f.n, &b), -1);
    assert_int_equal(vl_jp2box_at(&in, f.n - 7, &b), -1);
    assert_int_equal(vl_jp2box_at(&in, UINT64_MAX - 3, &b), -1);
    assert_int_equal(m.reads, 0);
    /* an empty file */
    f.n = 0;
    in.size = 0;
    assert_int_equal(vl_jp2box_needs_probe(&in, &remap), 1);
    assert_int_equal(remap, 1);
    assert_int_equal(vl_jp2box_codestream(&in, &off, &len), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_read_errors),
    };

    return cmocka_run_group_tests_name("jp2box", tests, NULL, NULL);
}
