/* SPDX-License-Identifier: MIT */
/*
 * jp2box: JP2 box headers read through the caller's callback (jp2box.h).
 * Every length is checked against the file size before it is used; scans
 * stop after a fixed number of boxes. The Dublin Core reader is a small
 * tokenizer over the caller's buffer: every scan moves forward, and each
 * field is looked for in one element only, so the work is linear in the
 * bytes read.
 */
#include "config.h"

#include <string.h>

#include "source/jp2box.h"
#include "source/meta.h"

/* Boxes looked at before giving up: the header search, the codestream
 * search. */
#define JP2BOX_MAX_HEADER 64
#define JP2BOX_MAX_TOP    1024

static uint64_t
jp2box_be32(const unsigned char *b)
{
    return (uint64_t) b[0] << 24 | (uint64_t) b[1] << 16
           | (uint64_t) b[2] << 8 | b[3];
}

int
vl_jp2box_is_raw(const vl_jp2box_in_t *in)
{
    unsigned char b[4];

    return in->size >= 4 && in->read(in->user, 0, b, 4) == 4
           && memcmp(b, "\xff\x4f\xff\x51", 4) == 0;
}

int
vl_jp2box_at(const vl_jp2box_in_t *in, uint64_t pos, vl_jp2box_t *box)
{
    unsigned char b[16];
    uint64_t      len, end = in->size;
    uint32_t      hdr = 8;
    long          n;

    if (pos > end || end - pos < 8
        || (n = in->read(in->user, pos, b, 16)) < 8) {
        return -1;
    }
    len = jp2box_be32(b);
    if (len == 1) {
        if (end - pos < 16 || n < 16) {
            return -1;
        }
        len = 0;
        for (int i = 8; i < 16; i++) {
            len = len << 8 | b[i];
        }
        hdr = 16;
    } else if (len == 0) {
        len = end - pos;
    }
    if (len < hdr || len > end - pos) {
        return -1;
    }
    memcpy(box->type, b + 4, 4);
    box->len = len;
    box->hdr = hdr;
    return 0;
}

/* The sub-boxes of jp2h [pos, hend): see vl_jp2box_needs_probe. */
static int
jp2box_header(const vl_jp2box_in_t *in, uint64_t pos, uint64_t hend,
              int *remap)
{
    unsigned char b[9];
    int           probe = 0;

    *remap = 0;
    while (hend - pos >= 8) {
        uint64_t sub;

        /* length, type and the first byte of the payload (colr: METH) */
        if (in->read(in->user, pos, b, 9) != 9) {
            *remap = 1;
            return 1;
        }
        sub = jp2box_be32(b);
        if (sub < 8 || sub > hend - pos) {
            *remap = 1;
            return 1;
        }
        if (memcmp(b + 4, "pclr", 4) == 0 || memcmp(b + 4, "cdef", 4) == 0) {
            *remap = 1;
            probe = 1;
        } else if (memcmp(b + 4, "colr", 4) == 0 && b[8] != 1) {
            probe = 1;
        }
        pos += sub;
    }
    return probe;
}

int
vl_jp2box_needs_probe(const vl_jp2box_in_t *in, int *remap)
{
    uint64_t pos = 0;

    *remap = 1;
    if (vl_jp2box_is_raw(in)) {
        *remap = 0;
        return 0;
    }
    for (int n = 0; n < JP2BOX_MAX_HEADER && in->size - pos >= 8; n++) {
        vl_jp2box_t box;

        if (vl_jp2box_at(in, pos, &box) != 0) {
            return 1;
        }
        if (memcmp(box.type, "jp2c", 4) == 0) {
            return 1;               /* codestream before the header box */
        }
        if (memcmp(box.type, "jp2h", 4) == 0) {
            return jp2box_header(in, pos + box.hdr, pos + box.len, remap);
        }
        pos += box.len;
    }
    return 1;
}

int
vl_jp2box_codestream(const vl_jp2box_in_t *in, uint64_t *off, uint64_t *len)
{
    uint64_t pos = 0;

    if (vl_jp2box_is_raw(in)) {
        *off = 0;
        *len = in->size;
        return 0;
    }
    for (int n = 0; n < JP2BOX_MAX_TOP && in->size - pos >= 8; n++) {
        vl_jp2box_t box;

        if (vl_jp2box_at(in, pos, &box) != 0) {
            return -1;
        }
        if (memcmp(box.type, "jp2c", 4) == 0) {
            *off = pos + box.hdr;
            *len = box.len - box.hdr;
            return 0;
        }
        pos += box.len;
    }
    return -1;
}

int
vl_jp2box_find(const vl_jp2box_in_t *in, const char *type, uint64_t *off,
               uint64_t *len)
{
    uint64_t pos = 0;

    if (vl_jp2box_is_raw(in)) {
        return -1;
    }
    for (int n = 0; n < JP2BOX_MAX_TOP && in->size - pos >= 8; n++) {
        vl_jp2box_t box;

        if (vl_jp2box_at(in, pos, &box) != 0) {
            return -1;
        }
        if (memcmp(box.type, type, 4) == 0) {
            *off = pos + box.hdr;
            *len = box.len - box.hdr;
            return 0;
        }
        pos += box.len;
    }
    return -1;
}

/* ---------------------------------------------------------- Dublin Core */

/* What starts at a '<' of the XML. */
typedef enum {
    DC_UNTERMINATED, /* runs to the end of the buffer */
    DC_OPEN,         /* <name ...> */
    DC_EMPTY,        /* <name .../> */
    DC_CLOSE,        /* </name> */
    DC_CDATA,        /* <![CDATA[...]]> */
    DC_SKIP          /* comment, processing instruction, declaration */
} dc_kind_t;

typedef struct {
    dc_kind_t   kind;
    size_t      next; /* index after the markup */
    const char *name; /* element name (OPEN, EMPTY, CLOSE) */
    size_t      nlen;
} dc_markup_t;

static const char *const dc_names[VL_JP2BOX_DC_FIELDS] = {
    "title", "description", "creator", "rights", "date",
};

/* Index of the first `lit` in p[i, n), or n. */
static size_t
dc_find(const char *p, size_t n, size_t i, const char *lit)
{
    size_t k = strlen(lit);

    while (i < n && n - i >= k) {
        const char *c = memchr(p + i, lit[0], n - i - k + 1);

        if (c == NULL) {
            break;
        }
        i = (size_t) (c - p);
        if (memcmp(c, lit, k) == 0) {
            return i;
        }
        i++;
    }
    return n;
}

static int
dc_starts(const char *p, size_t n, size_t i, const char *lit)
{
    size_t k = strlen(lit);

    return n - i >= k && memcmp(p + i, lit, k) == 0;
}

static int
dc_is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The markup at p[i] == '<'. */
static void
dc_markup(const char *p, size_t n, size_t i, dc_markup_t *m)
{
    const char *end;
    size_t      j, k;
    char        quote = 0;

    m->kind = DC_UNTERMINATED;
    m->next = n;
    m->name = NULL;
    m->nlen = 0;
    if (dc_starts(p, n, i, "<!--") || dc_starts(p, n, i, "<![CDATA[")
        || dc_starts(p, n, i, "<?"))
    {
        int cdata = p[i + 1] == '!' && p[i + 2] == '[';
        int pi = p[i + 1] == '?';

        end = cdata ? "]]>" : pi ? "?>" : "-->";
        j = dc_find(p, n, i + (cdata ? 9 : pi ? 2 : 4), end);
        if (j < n) {
            m->kind = cdata ? DC_CDATA : DC_SKIP;
            m->next = j + strlen(end);
        }
        return;
    }
    /* a tag or a declaration: to the '>' outside quoted values */
    for (j = i + 1; j < n; j++) {
        if (quote != 0) {
            quote = p[j] == quote ? 0 : quote;
        } else if (p[j] == '"' || p[j] == '\'') {
            quote = p[j];
        } else if (p[j] == '>') {
            break;
        }
    }
    if (j >= n) {
        return;
    }
    m->next = j + 1;
    if (i + 1 < n && (p[i + 1] == '!' || p[i + 1] == '?')) {
        m->kind = DC_SKIP;
        return;
    }
    k = i + 1 + (p[i + 1] == '/');
    m->name = p + k;
    while (k < j && !dc_is_space(p[k]) && p[k] != '/' && p[k] != '>') {
        k++;
    }
    m->nlen = (size_t) (p + k - m->name);
    m->kind = p[i + 1] == '/' ? DC_CLOSE : p[j - 1] == '/' ? DC_EMPTY : DC_OPEN;
}

/* Which field an element name is, or -1. */
static int
dc_field(const char *name, size_t len)
{
    if (len > 3 && memcmp(name, "dc:", 3) == 0) {
        name += 3;
        len -= 3;
    }
    for (int f = 0; f < VL_JP2BOX_DC_FIELDS; f++) {
        if (strlen(dc_names[f]) == len && memcmp(name, dc_names[f], len) == 0) {
            return f;
        }
    }
    return -1;
}

/* Where the element whose content starts at p[i] ends: the index of its
 * end tag (elements of the same name nested in it counted), or n. */
static size_t
dc_content_end(const char *p, size_t n, size_t i, const char *name, size_t nlen,
               size_t *after)
{
    int depth = 1;

    while (i < n) {
        const char *lt = memchr(p + i, '<', n - i);
        dc_markup_t m;

        if (lt == NULL) {
            break;
        }
        i = (size_t) (lt - p);
        dc_markup(p, n, i, &m);
        if (m.kind == DC_UNTERMINATED) {
            break;
        }
        if (m.nlen == nlen && memcmp(m.name, name, nlen) == 0) {
            if (m.kind == DC_OPEN) {
                depth++;
            } else if (m.kind == DC_CLOSE && --depth == 0) {
                *after = m.next;
                return i;
            }
        }
        i = m.next;
    }
    return n;
}

/* A character reference or predefined entity at p[i] == '&', [i, end):
 * its code point into *cp and the index after it, or 0 when it is none
 * (the '&' stays as written). *cp 0: a reference to no character. */
static size_t
dc_entity(const char *p, size_t end, size_t i, uint32_t *cp)
{
    static const struct {
        const char *name;
        char        c;
    } named[] = {
        { "&amp;", '&' },  { "&lt;", '<' },    { "&gt;", '>' },
        { "&quot;", '"' }, { "&apos;", '\'' },
    };
    uint32_t v = 0;
    size_t   j;
    int      hex, digits = 0;

    for (size_t k = 0; k < sizeof(named) / sizeof(named[0]); k++) {
        if (dc_starts(p, end, i, named[k].name)) {
            *cp = (unsigned char) named[k].c;
            return i + strlen(named[k].name);
        }
    }
    if (!dc_starts(p, end, i, "&#")) {
        return 0;
    }
    hex = i + 2 < end && p[i + 2] == 'x';
    for (j = i + 2 + (size_t) hex; j < end && p[j] != ';'; j++) {
        int d = p[j] >= '0' && p[j] <= '9'          ? p[j] - '0'
                : hex && p[j] >= 'a' && p[j] <= 'f' ? p[j] - 'a' + 10
                : hex && p[j] >= 'A' && p[j] <= 'F' ? p[j] - 'A' + 10
                                                    : -1;

        if (d < 0) {
            return 0;
        }
        /* saturate: anything past U+10FFFF is no character */
        v = v > 0x10ffff ? v : v * (hex ? 16u : 10u) + (uint32_t) d;
        digits++;
    }
    if (j >= end || digits == 0) {
        return 0;
    }
    *cp = v > 0x10ffff ? 0 : v;
    return j + 1;
}

/* Decode the content p[i, end) in place: text with its references
 * decoded, CDATA as it is, no markup. Returns the decoded length. */
static size_t
dc_decode(char *p, size_t i, size_t end)
{
    size_t w = i, start = i;

    while (i < end) {
        if (p[i] == '<') {
            dc_markup_t m;

            dc_markup(p, end, i, &m);
            if (m.kind == DC_CDATA) {
                size_t k = m.next - 3 - (i + 9);

                memmove(p + w, p + i + 9, k);
                w += k;
            }
            i = m.next;
        } else if (p[i] == '&') {
            uint32_t cp = 0;
            size_t   next = dc_entity(p, end, i, &cp), n = 0;
            char     u[5];

            if (next == 0) {
                p[w++] = p[i++];
                continue;
            }
            /* a reference is at least as long as its UTF-8 */
            if (vl_meta_put_utf8(u, sizeof(u), &n, cp) == 0 && n > 0) {
                memcpy(p + w, u, n);
                w += n;
            }
            i = next;
        } else {
            p[w++] = p[i++];
        }
    }
    return w - start;
}

void
vl_jp2box_dc_parse(char *xml, size_t len, vl_jp2box_dc_t *dc)
{
    int    seen[VL_JP2BOX_DC_FIELDS] = { 0 };
    size_t i = 0;

    memset(dc, 0, sizeof(*dc));
    while (i < len) {
        const char *lt = memchr(xml + i, '<', len - i);
        dc_markup_t m;
        size_t      end, after = 0;
        int         f;

        if (lt == NULL) {
            break;
        }
        i = (size_t) (lt - xml);
        dc_markup(xml, len, i, &m);
        if (m.kind == DC_UNTERMINATED) {
            break;
        }
        i = m.next;
        if ((m.kind != DC_OPEN && m.kind != DC_EMPTY)
            || (f = dc_field(m.name, m.nlen)) < 0 || seen[f])
        {
            continue;
        }
        /* the first element of each field only, empty or not */
        seen[f] = 1;
        if (m.kind == DC_EMPTY) {
            continue;
        }
        end = dc_content_end(xml, len, i, m.name, m.nlen, &after);
        if (end >= len) {
            continue; /* no end tag: cut short */
        }
        vl_meta_text(xml + i, dc_decode(xml, i, end), dc->text[f],
                     sizeof(dc->text[f]));
        i = after;
    }
}

int
vl_jp2box_dc(const vl_jp2box_in_t *in, char *buf, size_t cap,
             vl_jp2box_dc_t *dc)
{
    uint64_t off, len;
    size_t   want, got = 0;

    memset(dc, 0, sizeof(*dc));
    if (vl_jp2box_find(in, "xml ", &off, &len) != 0) {
        return 0;
    }
    want = len < cap ? (size_t) len : cap;
    while (got < want) {
        long n = in->read(in->user, off + got, buf + got, want - got);

        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        got += (size_t) n;
    }
    vl_jp2box_dc_parse(buf, got, dc);
    return 1;
}
