/* SPDX-License-Identifier: MIT */
/*
 * jp2box: a scanner of JP2 boxes (ISO 15444-1 annex I) over a read
 * callback: the top-level box at an offset, what the jp2h header box says
 * about decoding (palette, channel definitions, ICC), where the
 * codestream is, and the Dublin Core of the first XML box. No codec, no
 * file descriptor, no allocation: it reads only through the caller's
 * callback into the caller's buffers, so a fuzz target or a test can feed
 * it memory. Thread-safe (no state of its own).
 */
#ifndef VL_JP2BOX_H
#define VL_JP2BOX_H

#include <stddef.h>
#include <stdint.h>

#include "source/meta.h"

/* Read up to n bytes at offset off into buf: the bytes read (fewer at the
 * end of the file), or -1 on an error. */
typedef long (*vl_jp2box_read_fn)(void *user, uint64_t off, void *buf,
                                  size_t n);

/* What is scanned: a file of `size` bytes. */
typedef struct {
    vl_jp2box_read_fn read;
    void             *user;
    uint64_t          size;
} vl_jp2box_in_t;

/* One box: type, whole length (header included; an XLBox and a length of
 * 0, "to the end of the file", resolved) and header size (8 or 16). */
typedef struct {
    unsigned char type[4];
    uint64_t      len;
    uint32_t      hdr;
} vl_jp2box_t;

/* Whether the file is a raw codestream (starts with SOC, SIZ). */
int vl_jp2box_is_raw(const vl_jp2box_in_t *in);

/* The top-level box at pos into *box. Returns 0, or -1 when its header
 * cannot be read or the box does not fit in the file (an XLBox or a
 * length past the end, a length shorter than the header). */
int vl_jp2box_at(const vl_jp2box_in_t *in, uint64_t pos, vl_jp2box_t *box);

/*
 * Whether the JP2 header box holds a palette (pclr), channel definitions
 * (cdef) or an ICC profile (colr method other than 1), which a decoder may
 * apply or attach only when decoding: 1 yes, 0 no. A raw codestream has
 * none (0). A file this scan cannot follow (a box that does not fit, a
 * codestream before the header box, no header box) answers 1.
 * *remap says whether the decoded components may differ from the
 * codestream's: 1 with pclr or cdef, or when not known; 0 otherwise.
 */
int vl_jp2box_needs_probe(const vl_jp2box_in_t *in, int *remap);

/* Where the codestream starts and how long it is: the whole file for a
 * raw codestream, the payload of the first top-level jp2c box of a JP2.
 * Returns 0, or -1 when there is none this scan can find. */
int vl_jp2box_codestream(const vl_jp2box_in_t *in, uint64_t *off,
                         uint64_t *len);

/* Where the first top-level box of `type` (4 bytes) is: the offset and
 * length of its payload. Returns 0, or -1 when there is none this scan
 * can find (a raw codestream has no boxes). */
int vl_jp2box_find(const vl_jp2box_in_t *in, const char *type, uint64_t *off,
                   uint64_t *len);

/* ---------------------------------------------------------- Dublin Core */

/* Bytes of an XML box read for its Dublin Core: the rest is ignored. */
#define VL_JP2BOX_XML_MAX ((size_t) 256 << 10)

/* The fields read, in the order of vl_jp2box_dc_t.text. */
typedef enum {
    VL_JP2BOX_DC_TITLE,
    VL_JP2BOX_DC_DESCRIPTION,
    VL_JP2BOX_DC_CREATOR,
    VL_JP2BOX_DC_RIGHTS,
    VL_JP2BOX_DC_DATE,
    VL_JP2BOX_DC_FIELDS
} vl_jp2box_dc_field_t;

/* Cleaned UTF-8 text of each field (vl_meta_text), "" when absent. */
typedef struct {
    char text[VL_JP2BOX_DC_FIELDS][VL_META_MAX];
} vl_jp2box_dc_t;

/*
 * The text of the first element named dc:NAME or NAME (NAME: title,
 * description, creator, rights, date) of the XML xml[0, len), for each
 * field, into dc. Tolerant, not a validating parser: comments, processing
 * instructions and declarations are skipped (an element inside one does
 * not count), the tags nested in the element are dropped (their text
 * kept), CDATA sections are kept as they are, the five predefined
 * entities and numeric character references are decoded (other entities
 * and a bare '&' stay as written), then the text is cleaned. An element
 * whose end tag is missing (the XML cut short) or that is empty gives "".
 * The element's bytes are decoded in place: xml is overwritten.
 */
void vl_jp2box_dc_parse(char *xml, size_t len, vl_jp2box_dc_t *dc);

/* Read the first top-level "xml " box of a JP2 (its first cap bytes at
 * most, into buf) and parse its Dublin Core into dc. Returns 1 when a box
 * was read, 0 when there is none (dc all ""), -1 when a read failed. */
int vl_jp2box_dc(const vl_jp2box_in_t *in, char *buf, size_t cap,
                 vl_jp2box_dc_t *dc);

#endif /* VL_JP2BOX_H */
