/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jp2box: the JP2 box scanner (source/jp2box.c) over memory. Input:
 * a JP2 file or a raw codestream. Every scan (raw?, the header box, the
 * codestream, a box by type, the Dublin Core of the XML box) takes any
 * bytes and answers only with places inside the file.
 */
#include "config.h"

#include "source/jp2box.h"
#include "fuzz.h"

typedef struct {
    const uint8_t *p;
    size_t         n;
} box_mem_t;

static long
box_read(void *user, uint64_t off, void *buf, size_t n)
{
    box_mem_t *m = user;

    if (off >= m->n) {
        return 0;
    }
    if (n > m->n - off) {
        n = m->n - (size_t) off;
    }
    memcpy(buf, m->p + off, n);
    return (long) n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const types[] = { "jp2h", "xml ", "jp2c", "uuid",
                                         "res ", "colr" };
    box_mem_t      m = { data, size };
    vl_jp2box_in_t in = { box_read, &m, size };
    vl_jp2box_t    box;
    uint64_t       off, len, pos = 0;
    int            remap = -1;
    char          *xml;
    vl_jp2box_dc_t *dc = malloc(sizeof(*dc));

    if (dc == NULL) {
        abort();
    }
    (void) vl_jp2box_is_raw(&in);
    FUZZ_CHECK(vl_jp2box_needs_probe(&in, &remap) >= 0 && remap >= 0,
               "needs_probe without an answer");
    if (vl_jp2box_codestream(&in, &off, &len) == 0) {
        FUZZ_CHECK(off <= size && len <= size - off,
                   "codestream %llu+%llu past %zu", (unsigned long long) off,
                   (unsigned long long) len, size);
    }
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
        if (vl_jp2box_find(&in, types[i], &off, &len) == 0) {
            FUZZ_CHECK(off <= size && len <= size - off,
                       "box %s %llu+%llu past %zu", types[i],
                       (unsigned long long) off, (unsigned long long) len,
                       size);
        }
    }
    /* walk the top-level boxes as the backends do */
    for (int k = 0; k < 64 && pos < size; k++) {
        if (vl_jp2box_at(&in, pos, &box) != 0) {
            break;
        }
        FUZZ_CHECK(box.len >= box.hdr && box.len <= size - pos,
                   "box of %llu bytes at %llu past %zu",
                   (unsigned long long) box.len, (unsigned long long) pos,
                   size);
        pos += box.len;
    }
    {
        char buf[4096];

        (void) vl_jp2box_dc(&in, buf, sizeof(buf), dc);
    }
    /* the XML parser alone, over the whole input */
    xml = malloc(size + 1);
    if (xml == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(xml, data, size);
    }
    vl_jp2box_dc_parse(xml, size, dc);
    for (int f = 0; f < VL_JP2BOX_DC_FIELDS; f++) {
        FUZZ_CHECK(memchr(dc->text[f], '\0', VL_META_MAX) != NULL,
                   "field %d not terminated", f);
    }
    free(xml);
    free(dc);
    return 0;
}
