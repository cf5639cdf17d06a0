/* SPDX-License-Identifier: MIT */
/*
 * jp2box: JP2 box headers read through the caller's callback (jp2box.h).
 * Every length is checked against the file size before it is used; scans
 * stop after a fixed number of boxes.
 */
#include "config.h"

#include <string.h>

#include "source/jp2box.h"

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
