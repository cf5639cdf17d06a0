/* SPDX-License-Identifier: MIT */
/*
 * test_jp2box: the JP2 box scanner (source/jp2box.c) over files built in
 * memory: the top-level boxes it sees, what it says about the header box
 * (probe, remap) and where it finds the codestream, for well-formed files
 * and for every way a box header can be short, long or missing; and the
 * Dublin Core of an XML box: the extraction table-driven, the box found
 * anywhere among the top-level boxes, cut short, or larger than is read.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
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

/* ---------------------------------------------------------- Dublin Core */

typedef struct {
    const char *name;
    const char *xml;
    const char *want[VL_JP2BOX_DC_FIELDS];   /* NULL: "" */
} dc_case_t;

static const dc_case_t dc_cases[] = {
    { "plain",
      "<dc:title>T</dc:title><dc:description>D</dc:description>"
      "<dc:creator>C</dc:creator><dc:rights>R</dc:rights>"
      "<dc:date>1900</dc:date>",
      { "T", "D", "C", "R", "1900" } },
    { "unprefixed, attributes, namespaces",
      "<?xml version='1.0'?><record xmlns:dc='x'>"
      "<title lang=\"en\" note='a > b'>Title</title>"
      "<creator>Someone</creator></record>",
      { "Title", NULL, "Someone", NULL, NULL } },
    { "other prefixes are other elements",
      "<dcterms:title>no</dcterms:title><x:date>no</x:date>"
      "<dc:date>yes</dc:date>",
      { NULL, NULL, NULL, NULL, "yes" } },
    { "the first element of a field, even empty",
      "<dc:title>first</dc:title><title>second</title>"
      "<dc:creator/><dc:creator>later</dc:creator>"
      "<dc:date> </dc:date><dc:date>later</dc:date>",
      { "first", NULL, NULL, NULL, NULL } },
    { "nested tags dropped, text kept, whitespace collapsed",
      "<dc:title>\n  The <i>Great</i>\tMap\r\n</dc:title>"
      "<dc:creator><rdf:Seq>\n <rdf:li>A</rdf:li>\n <rdf:li>B</rdf:li>"
      "</rdf:Seq></dc:creator>",
      { "The Great Map", NULL, "A B", NULL, NULL } },
    { "nested element of the same name",
      "<title>a <title>b</title> c</title><title>d</title>",
      { "a b c", NULL, NULL, NULL, NULL } },
    { "entities and character references",
      "<dc:title>&amp;&lt;&gt;&quot;&apos; &#65;&#x42;&#x10348; "
      "&#233;</dc:title>"
      "<dc:description>&nbsp; &amp &#xZZ; &#; & x</dc:description>"
      "<dc:creator>a&#0;b&#xD800;c&#1114112;d&#99999999999;e</dc:creator>"
      "<dc:rights>line&#10;break&#9;tab&#1;ctl</dc:rights>",
      { "&<>\"' AB\xf0\x90\x8d\x88 \xc3\xa9", "&nbsp; &amp &#xZZ; &#; & x",
        "abcde", "line break tabctl", NULL } },
    { "CDATA kept as it is",
      "<dc:title><![CDATA[<b>&amp;</b>]]> and <![CDATA[]]>more</dc:title>"
      "<dc:date><![CDATA[</dc:date>]]>2001</dc:date>",
      { "<b>&amp;</b> and more", NULL, NULL, NULL, "</dc:date>2001" } },
    { "comments, PIs and declarations hide nothing and count for nothing",
      "<!DOCTYPE x [ <!ENTITY e 'v'> ]><!-- <dc:title>no</dc:title> -->"
      "<?pi <dc:title>no</dc:title> ?><dc:title>a<!-- </dc:title> -->b"
      "<?pi x?>c</dc:title>",
      { "abc", NULL, NULL, NULL, NULL } },
    { "missing elements", "<metadata><other>x</other></metadata>",
      { NULL, NULL, NULL, NULL, NULL } },
    { "not XML", "just some text & more", { NULL, NULL, NULL, NULL, NULL } },
    { "empty", "", { NULL, NULL, NULL, NULL, NULL } },
    { "cut in an element", "<dc:date>1900</dc:date><dc:title>The Gre",
      { NULL, NULL, NULL, NULL, "1900" } },
    { "cut in a tag", "<dc:title>T</dc:title><dc:creator id='x",
      { "T", NULL, NULL, NULL, NULL } },
    { "cut in a comment", "<dc:title>T</dc:title><!-- <dc:date>1</dc:date>",
      { "T", NULL, NULL, NULL, NULL } },
    { "an end tag without its element", "</dc:title><dc:title>x</dc:title>",
      { "x", NULL, NULL, NULL, NULL } },
    { "end tag with spaces, no end tag for another",
      "<dc:creator>never closed<dc:title>T</dc:title >",
      { "T", NULL, NULL, NULL, NULL } },
    { "Latin-1 text (not UTF-8) is converted",
      "<dc:creator>Jos\xe9</dc:creator>",
      { NULL, NULL, "Jos\xc3\xa9", NULL, NULL } },
};

static void
test_dc_table(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(dc_cases) / sizeof(dc_cases[0]); i++) {
        const dc_case_t *c = &dc_cases[i];
        size_t           len = strlen(c->xml);
        char            *xml = malloc(len + 1);
        vl_jp2box_dc_t  *dc = malloc(sizeof(*dc));

        assert_non_null(xml);
        assert_non_null(dc);
        memcpy(xml, c->xml, len + 1);
        /* the parser stops at len, not at a NUL */
        vl_jp2box_dc_parse(xml, len, dc);
        for (int f = 0; f < VL_JP2BOX_DC_FIELDS; f++) {
            const char *want = c->want[f] != NULL ? c->want[f] : "";

            if (strcmp(dc->text[f], want) != 0) {
                fail_msg("%s: field %d is '%s', want '%s'", c->name, f,
                         dc->text[f], want);
            }
        }
        free(xml);
        free(dc);
    }
}

/* A big, growing file for the XML box tests. */
typedef struct {
    unsigned char *b;
    size_t         n;
} big_t;

static long
big_read(void *user, uint64_t off, void *buf, size_t n)
{
    const big_t *f = user;

    if (off >= f->n) {
        return 0;
    }
    if (n > f->n - off) {
        n = f->n - (size_t) off;
    }
    memcpy(buf, f->b + off, n);
    return (long) n;
}

static void
big_put(big_t *f, const void *p, size_t n)
{
    unsigned char *b = realloc(f->b, f->n + n);

    assert_non_null(b);
    f->b = b;
    memcpy(f->b + f->n, p, n);
    f->n += n;
}

static void
big_box(big_t *f, const char *type, const void *payload, size_t plen,
        uint32_t len)
{
    uint32_t      l = len == REAL ? (uint32_t) (8 + plen) : len;
    unsigned char h[8] = { (unsigned char) (l >> 24), (unsigned char) (l >> 16),
                           (unsigned char) (l >> 8), (unsigned char) l };

    memcpy(h + 4, type, 4);
    big_put(f, h, 8);
    big_put(f, payload, plen);
}

static void
big_head(big_t *f)
{
    file_t sm = { .n = 0 };

    sig(&sm);
    ftyp(&sm);
    jp2h(&sm, ihdr, colr1);
    big_put(f, sm.b, sm.n);
}

/* What vl_jp2box_dc finds in f, read through a buffer of cap bytes. */
static int
big_dc(big_t *f, size_t cap, vl_jp2box_dc_t *dc)
{
    vl_jp2box_in_t in = { big_read, f, f->n };
    char          *buf = malloc(cap > 0 ? cap : 1);
    int            rc;

    assert_non_null(buf);
    rc = vl_jp2box_dc(&in, buf, cap, dc);
    free(buf);
    return rc;
}

static void
test_dc_boxes(void **state)
{
    static const char xml[] = "<dc:title>T</dc:title>";
    static const char xml2[] = "<dc:title>second box</dc:title>";
    vl_jp2box_dc_t   *dc = malloc(sizeof(*dc));
    big_t             f = { NULL, 0 };
    char             *pad;
    size_t            big = VL_JP2BOX_XML_MAX + 4096;

    (void) state;
    assert_non_null(dc);

    /* before the codestream, a second one ignored */
    big_head(&f);
    big_box(&f, "xml ", xml, strlen(xml), REAL);
    big_box(&f, "jp2c", cs, sizeof(cs), REAL);
    big_box(&f, "xml ", xml2, strlen(xml2), REAL);
    assert_int_equal(big_dc(&f, VL_JP2BOX_XML_MAX, dc), 1);
    assert_string_equal(dc->text[VL_JP2BOX_DC_TITLE], "T");
    free(f.b);

    /* after the codestream */
    f.b = NULL;
    f.n = 0;
    big_head(&f);
    big_box(&f, "jp2c", cs, sizeof(cs), REAL);
    big_box(&f, "xml ", xml2, strlen(xml2), REAL);
    assert_int_equal(big_dc(&f, VL_JP2BOX_XML_MAX, dc), 1);
    assert_string_equal(dc->text[VL_JP2BOX_DC_TITLE], "second box");
    free(f.b);

    /* none; a raw codestream has no boxes */
    f.b = NULL;
    f.n = 0;
    big_head(&f);
    big_box(&f, "jp2c", cs, sizeof(cs), REAL);
    memset(dc, 'x', sizeof(*dc));
    assert_int_equal(big_dc(&f, VL_JP2BOX_XML_MAX, dc), 0);
    for (int k = 0; k < VL_JP2BOX_DC_FIELDS; k++) {
        assert_string_equal(dc->text[k], "");
    }
    free(f.b);
    f.b = NULL;
    f.n = 0;
    big_put(&f, cs, sizeof(cs));
    assert_int_equal(big_dc(&f, VL_JP2BOX_XML_MAX, dc), 0);
    free(f.b);

    /* truncated: the box runs past the end of the file: not read */
    f.b = NULL;
    f.n = 0;
    big_head(&f);
    big_box(&f, "xml ", xml, strlen(xml), (uint32_t) (8 + strlen(xml) + 10));
    assert_int_equal(big_dc(&f, VL_JP2BOX_XML_MAX, dc), 0);
    assert_string_equal(dc->text[VL_JP2BOX_DC_TITLE], "");
    free(f.b);

    /* larger than what is read: the elements in the first
     * VL_JP2BOX_XML_MAX bytes only */
    f.b = NULL;
    f.n = 0;
    pad = malloc(big);
    assert_non_null(pad);
    memset(pad, ' ', big);
    memcpy(pad, "<dc:title>early</dc:title>", 26);
    memcpy(pad + VL_JP2BOX_XML_MAX - 11, "<dc:date>1900</dc:date>", 23);
    memcpy(pad + VL_JP2BOX_XML_MAX + 100, "<dc:creator>late</dc:creator>",
           29);
    big_head(&f);
    big_box(&f, "xml ", pad, big, REAL);
    big_box(&f, "jp2c", cs, sizeof(cs), REAL);
    assert_int_equal(big_dc(&f, VL_JP2BOX_XML_MAX, dc), 1);
    assert_string_equal(dc->text[VL_JP2BOX_DC_TITLE], "early");
    assert_string_equal(dc->text[VL_JP2BOX_DC_DATE], "");      /* cut */
    assert_string_equal(dc->text[VL_JP2BOX_DC_CREATOR], "");   /* beyond */
    /* the whole box read: all three */
    assert_int_equal(big_dc(&f, big, dc), 1);
    assert_string_equal(dc->text[VL_JP2BOX_DC_DATE], "1900");
    assert_string_equal(dc->text[VL_JP2BOX_DC_CREATOR], "late");
    free(pad);
    free(f.b);

    /* one field longer than VL_META_MAX: cut below it, whole characters */
    f.b = NULL;
    f.n = 0;
    pad = malloc(2 * VL_META_MAX + 64);
    assert_non_null(pad);
    memcpy(pad, "<dc:title>", 10);
    for (size_t k = 0; k < VL_META_MAX; k++) {
        memcpy(pad + 10 + 2 * k, "\xc3\xa9", 2);
    }
    memcpy(pad + 10 + 2 * VL_META_MAX, "</dc:title>", 11);
    big_head(&f);
    big_box(&f, "xml ", pad, 21 + 2 * VL_META_MAX, REAL);
    assert_int_equal(big_dc(&f, VL_JP2BOX_XML_MAX, dc), 1);
    assert_int_equal(strlen(dc->text[VL_JP2BOX_DC_TITLE]), VL_META_MAX - 2);
    assert_memory_equal(dc->text[VL_JP2BOX_DC_TITLE], "\xc3\xa9\xc3\xa9", 4);
    free(pad);
    free(f.b);

    /* a failing read */
    {
        file_t         sm = { .n = 0 };
        mem_t          m = { &sm, 0, 0 };
        vl_jp2box_in_t in = { mem_read, &m, 0 };
        char           buf[64];

        sig(&sm);
        box(&sm, "xml ", xml, strlen(xml), REAL);
        in.size = sm.n;
        assert_int_equal(vl_jp2box_dc(&in, buf, sizeof(buf), dc), 1);
        assert_string_equal(dc->text[VL_JP2BOX_DC_TITLE], "T");
        m.fail = 1;
        assert_int_equal(vl_jp2box_dc(&in, buf, sizeof(buf), dc), 0);
    }
    free(dc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_read_errors),
        cmocka_unit_test(test_dc_table),
        cmocka_unit_test(test_dc_boxes),
    };

    return cmocka_run_group_tests_name("jp2box", tests, NULL, NULL);
}
