/* SPDX-License-Identifier: MIT */
/*
 * iiif: strict parser of IIIF Image API 2.1 / 3.0 paths, read from the right.
 * The identifier and each parameter segment are percent-decoded exactly
 * once; numbers use only digits and one optional '.', never signs, blanks or
 * exponents. Geometry (clipping, limits, upscaling) is left to plan.c.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "proto/iiif.h"

/* Largest integer accepted in a region or size: keeps every product of two
 * such values inside 63 bits in the planner. */
#define IIIF_INT_MAX   0x7fffffffu
/* Longest decimal accepted ("100.000000..."): enough for any real use. */
#define IIIF_DEC_MAX   32

const char *
vl_quality_name(vl_quality_t q)
{
    switch (q) {
    case VL_QUALITY_DEFAULT:
        return "default";
    case VL_QUALITY_COLOR:
        return "color";
    case VL_QUALITY_GRAY:
        return "gray";
    case VL_QUALITY_BITONAL:
        return "bitonal";
    case VL_QUALITY_NATIVE:
        return "native";
    }
    return "default";
}


/* Printable, bounded copy of a parameter for error messages. */
static const char *
iiif_show(vl_str_t s, char *buf, size_t cap)
{
    size_t n = 0;

    for (size_t i = 0; i < s.len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char) s.data[i];

        buf[n++] = (c >= 0x20 && c < 0x7f) ? (char) c : '?';
    }
    if (n < s.len) {
        buf[n++] = '.';
        buf[n++] = '.';
        buf[n++] = '.';
    }
    buf[n] = '\0';
    return buf;
}


static int
iiif_uint(vl_str_t s, uint32_t *out)
{
    uint64_t v;

    if (vl_parse_u64(s, IIIF_INT_MAX, &v) != 0) {
        return -1;
    }
    *out = (uint32_t) v;
    return 0;
}


/* Decimal: digits, optionally '.' and more digits; no sign, no exponent,
 * no leading or trailing '.'. The grammar is checked here; the value is
 * strtod's of the checked text (which then holds nothing else strtod
 * takes: no sign, space, exponent, hex, inf or nan), correctly rounded,
 * so that the planner's shortest round-trip form of a value parses back
 * to the same double. */
static int
iiif_decimal(vl_str_t s, double *out)
{
    char   buf[IIIF_DEC_MAX + 1];
    size_t i = 0;

    if (s.len == 0 || s.len > IIIF_DEC_MAX) {
        return -1;
    }
    while (i < s.len && s.data[i] >= '0' && s.data[i] <= '9') {
        i++;
    }
    if (i == 0) {
        return -1;
    }
    if (i < s.len) {
        if (s.data[i] != '.' || i + 1 == s.len) {
            return -1;
        }
        for (i++; i < s.len; i++) {
            if (s.data[i] < '0' || s.data[i] > '9') {
                return -1;
            }
        }
    }
    memcpy(buf, s.data, s.len);
    buf[s.len] = '\0';
    *out = strtod(buf, NULL);
    return 0;
}


/* Split s at commas into exactly n parts. */
static int
iiif_split(vl_str_t s, vl_str_t *parts, size_t n)
{
    size_t k = 0, start = 0;

    for (size_t i = 0; i <= s.len; i++) {
        if (i == s.len || s.data[i] == ',') {
            if (k == n) {
                return -1;
            }
            parts[k].data = s.data + start;
            parts[k].len = i - start;
            k++;
            start = i + 1;
        }
    }
    return k == n ? 0 : -1;
}


static int
iiif_region(vl_str_t s, vl_region_t *r, vl_err_t *err)
{
    vl_str_t parts[4];
    char     buf[48];

    memset(r, 0, sizeof(*r));
    if (vl_str_eq(s, "full")) {
        r->kind = VL_REGION_FULL;
        return VL_OK;
    }
    if (vl_str_eq(s, "square")) {
        r->kind = VL_REGION_SQUARE;
        return VL_OK;
    }
    if (vl_str_starts(s, "pct:")) {
        vl_str_t v = { s.len - 4, s.data + 4 };

        if (iiif_split(v, parts, 4) != 0
            || iiif_decimal(parts[0], &r->px) != 0
            || iiif_decimal(parts[1], &r->py) != 0
            || iiif_decimal(parts[2], &r->pw) != 0
            || iiif_decimal(parts[3], &r->ph) != 0)
        {
            return vl_err_set(err, VL_EBADREQ, "invalid region '%s'",
                              iiif_show(s, buf, sizeof(buf)));
        }
        if (r->pw <= 0.0 || r->ph <= 0.0) {
            return vl_err_set(err, VL_EBADREQ,
                              "region '%s' has zero width or height",
                              iiif_show(s, buf, sizeof(buf)));
        }
        r->kind = VL_REGION_PCT;
        return VL_OK;
    }
    if (iiif_split(s, parts, 4) != 0
        || iiif_uint(parts[0], &r->x) != 0
        || iiif_uint(parts[1], &r->y) != 0
        || iiif_uint(parts[2], &r->w) != 0
        || iiif_uint(parts[3], &r->h) != 0)
    {
        return vl_err_set(err, VL_EBADREQ, "invalid region '%s'",
                          iiif_show(s, buf, sizeof(buf)));
    }
    if (r->w == 0 || r->h == 0) {
        return vl_err_set(err, VL_EBADREQ,
                          "region '%s' has zero width or height",
                          iiif_show(s, buf, sizeof(buf)));
    }
    r->kind = VL_REGION_PX;
    return VL_OK;
}


static int
iiif_size(vl_str_t s, int version, vl_iiif_size_t *sz, vl_err_t *err)
{
    vl_str_t v = s;
    vl_str_t parts[2];
    char     buf[48];

    memset(sz, 0, sizeof(*sz));
    if (v.len > 0 && v.data[0] == '^') {
        if (version < 3) {
            return vl_err_set(err, VL_EBADREQ,
                              "invalid size '%s': '^' is not part of API 2.1",
                              iiif_show(s, buf, sizeof(buf)));
        }
        sz->upscale = 1;
        v.data++;
        v.len--;
    }
    if (vl_str_eq(v, "max")) {
        sz->kind = VL_SIZE_MAX;
        return VL_OK;
    }
    if (vl_str_eq(v, "full")) {
        if (version >= 3) {
            return vl_err_set(err, VL_EBADREQ,
                              "invalid size '%s': use 'max' in API 3.0",
                              iiif_show(s, buf, sizeof(buf)));
        }
        sz->kind = VL_SIZE_MAX;
        sz->v2_full = 1;
        return VL_OK;
    }
    if (vl_str_starts(v, "pct:")) {
        vl_str_t n = { v.len - 4, v.data + 4 };

        if (iiif_decimal(n, &sz->pct) != 0 || sz->pct <= 0.0) {
            return vl_err_set(err, VL_EBADREQ, "invalid size '%s'",
                              iiif_show(s, buf, sizeof(buf)));
        }
        if (version >= 3 && !sz->upscale && sz->pct > 100.0) {
            return vl_err_set(err, VL_EBADREQ,
                              "invalid size '%s': above 100 needs '^'",
                              iiif_show(s, buf, sizeof(buf)));
        }
        sz->kind = VL_SIZE_PCT;
        return VL_OK;
    }
    if (v.len > 0 && v.data[0] == '!') {
        v.data++;
        v.len--;
        if (iiif_split(v, parts, 2) != 0
            || iiif_uint(parts[0], &sz->w) != 0
            || iiif_uint(parts[1], &sz->h) != 0 || sz->w == 0 || sz->h == 0)
        {
            return vl_err_set(err, VL_EBADREQ, "invalid size '%s'",
                              iiif_show(s, buf, sizeof(buf)));
        }
        sz->kind = VL_SIZE_CONFINED;
        return VL_OK;
    }
    if (iiif_split(v, parts, 2) != 0) {
        return vl_err_set(err, VL_EBADREQ, "invalid size '%s'",
                          iiif_show(s, buf, sizeof(buf)));
    }
    if (parts[0].len == 0) {
        sz->kind = VL_SIZE_H;
    } else if (parts[1].len == 0) {
        sz->kind = VL_SIZE_W;
    } else {
        sz->kind = VL_SIZE_WH;
    }
    if ((parts[0].len > 0 && (iiif_uint(parts[0], &sz->w) != 0 || sz->w == 0))
        || (parts[1].len > 0
            && (iiif_uint(parts[1], &sz->h) != 0 || sz->h == 0))
        || (parts[0].len == 0 && parts[1].len == 0))
    {
        return vl_err_set(err, VL_EBADREQ, "invalid size '%s'",
                          iiif_show(s, buf, sizeof(buf)));
    }
    return VL_OK;
}


static int
iiif_rotation(vl_str_t s, vl_rotation_t *r, vl_err_t *err)
{
    vl_str_t v = s;
    char     buf[48];

    memset(r, 0, sizeof(*r));
    if (v.len > 0 && v.data[0] == '!') {
        r->mirror = 1;
        v.data++;
        v.len--;
    }
    if (iiif_decimal(v, &r->degrees) != 0 || r->degrees > 360.0) {
        return vl_err_set(err, VL_EBADREQ, "invalid rotation '%s'",
                          iiif_show(s, buf, sizeof(buf)));
    }
    return VL_OK;
}


static int
iiif_quality_format(vl_str_t s, int version, vl_iiif_req_t *req,
                    vl_err_t *err)
{
    static const struct {
        const char   *name;
        vl_quality_t  q;
    } qualities[] = {
        { "default", VL_QUALITY_DEFAULT },
        { "color", VL_QUALITY_COLOR },
        { "gray", VL_QUALITY_GRAY },
        { "bitonal", VL_QUALITY_BITONAL },
        { "native", VL_QUALITY_NATIVE },
    };
    long     dot = vl_str_rchr(s, '.');
    vl_str_t q, f;
    char     buf[48];
    size_t   i;

    if (dot < 0) {
        return vl_err_set(err, VL_EBADREQ, "missing format in '%s'",
                          iiif_show(s, buf, sizeof(buf)));
    }
    q.data = s.data;
    q.len = (size_t) dot;
    f.data = s.data + dot + 1;
    f.len = s.len - (size_t) dot - 1;
    for (i = 0; i < sizeof(qualities) / sizeof(qualities[0]); i++) {
        if (vl_str_eq(q, qualities[i].name)) {
            break;
        }
    }
    if (i == sizeof(qualities) / sizeof(qualities[0])
        || (qualities[i].q == VL_QUALITY_NATIVE && version >= 3))
    {
        return vl_err_set(err, VL_EBADREQ, "invalid quality '%s'",
                          iiif_show(q, buf, sizeof(buf)));
    }
    req->quality = qualities[i].q;
    /* the one place that decides a format vellum does not write (unknown,
     * or compiled out): the format table has no row for it */
    if (vl_format_find(f, &req->format) != 0) {
        return vl_err_set(err, VL_EBADREQ, "unsupported format '%s'",
                          iiif_show(f, buf, sizeof(buf)));
    }
    return VL_OK;
}


/* 1 if a segment of id (len bytes) is "." */
static int
iiif_has_dot_segment(const char *id, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (id[i] == '.' && (i == 0 || id[i - 1] == '/')
            && (i + 1 == len || id[i + 1] == '/')) {
            return 1;
        }
    }
    return 0;
}


int
vl_iiif_id_ok(const char *id)
{
    size_t len = strlen(id);

    return len > 0 && id[0] != '/' && id[len - 1] != '/'
           && strstr(id, "//") == NULL && strstr(id, "..") == NULL
           && !iiif_has_dot_segment(id, len);
}


/* Top-level names an identifier may not take: the service's own
 * resources (collection.json, Change Discovery under cd/, health,
 * metrics). */
int
vl_iiif_reserved(const char *id)
{
    static const char *const names[] = {
        "collection.json", "health", "metrics", NULL
    };

    for (size_t i = 0; names[i] != NULL; i++) {
        if (strcmp(id, names[i]) == 0) {
            return 1;
        }
    }
    return strcmp(id, "cd") == 0 || strncmp(id, "cd/", 3) == 0;
}


/* The rule of source/ (source_page_split): a page is the digits after a
 * delimiter that only digits follow, so "a;1;2" is page 2 of "a;1" and
 * "a;2b" is no page. Valid page number or not ("a;0", "a;02" are a 404),
 * such an identifier never names a file. */
int
vl_iiif_is_page(const char *id, const char *delim)
{
    size_t dlen = delim != NULL ? strlen(delim) : 0;
    size_t n = strlen(id), digits = n;

    while (digits > 0 && id[digits - 1] >= '0' && id[digits - 1] <= '9') {
        digits--;
    }
    if (dlen == 0 || digits == n) {
        return 0;
    }
    /* a delimiter ending at q, only digits from q on (at least one) */
    for (size_t q = n - 1;; q--) {
        if (q >= dlen && memcmp(id + q - dlen, delim, dlen) == 0) {
            return 1;
        }
        if (q == digits) {
            return 0;
        }
    }
}


/* Decode the identifier once and refuse what could walk out of the image
 * root or is ambiguous as a path: "..", a "." segment (another name of the
 * same file, and a way around the reserved names), a leading '/', an empty
 * segment ("//" or a trailing '/'), NUL (refused by vl_percent_decode). */
int
vl_iiif_identifier(vl_pool_t *pool, vl_str_t raw, vl_iiif_req_t *req,
                   vl_err_t *err)
{
    char   *id;
    size_t  len;

    if (raw.len == 0) {
        return vl_err_set(err, VL_EBADREQ, "empty identifier");
    }
    if (vl_percent_decode(pool, raw, &id, &len) != 0) {
        return vl_err_set(err, VL_EBADREQ,
                          "invalid percent-encoding in identifier");
    }
    /* ".." leaves nothing to find: "not found", as for a path that a
     * link leads out of the root (source/), so neither says more */
    if (len > 0 && strlen(id) == len && strstr(id, "..") != NULL) {
        return vl_err_set(err, VL_ENOTFOUND, "not found");
    }
    if (len == 0 || strlen(id) != len || !vl_iiif_id_ok(id)) {
        return vl_err_set(err, VL_EBADREQ, "invalid identifier");
    }
    req->id = id;
    req->id_len = len;
    req->id_raw = raw;
    return VL_OK;
}


/* A last segment of the form quality.format: one of the qualities of the
 * Image API, then a '.' (or its escape); the format is the parser's to
 * judge. "e.tif", the last segment of an identifier with raw slashes, is
 * not one. */
static int
iiif_is_quality_format(vl_str_t s)
{
    static const char *const names[] = {
        "default", "color", "gray", "bitonal", "native"
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        size_t   n = strlen(names[i]);
        vl_str_t rest;

        if (s.len <= n || memcmp(s.data, names[i], n) != 0) {
            continue;
        }
        rest = (vl_str_t) { s.len - n, s.data + n };
        if (rest.data[0] == '.' || vl_str_starts(rest, "%2E")
            || vl_str_starts(rest, "%2e")) {
            return 1;
        }
    }
    return 0;
}

/* A region segment of the form of a region: full, square, pct:... or a
 * number first. */
static int
iiif_is_region_form(vl_str_t s)
{
    return vl_str_starts(s, "full") || vl_str_starts(s, "square")
           || vl_str_starts(s, "pct")
           || (s.len > 0 && s.data[0] >= '0' && s.data[0] <= '9');
}


int
vl_iiif_split(vl_str_t path, vl_str_t *id, vl_str_t params[4])
{
    size_t end = path.len;

    /* the last four '/'-separated segments, right to left; what is left
     * of them, if anything, is the identifier */
    for (int n = 3; n >= 0; n--) {
        size_t i = end;

        while (i > 0 && path.data[i - 1] != '/') {
            i--;
        }
        if (i == 0) {
            return 0;
        }
        params[n].data = path.data + i;
        params[n].len = end - i;
        end = i - 1;
    }
    /* end == 0: "/{region}/...": an image request whose identifier is
     * empty (a 400), not a base URI */
    if (!iiif_is_quality_format(params[3])
        && !iiif_is_region_form(params[0])) {
        return 0;
    }
    id->data = path.data;
    id->len = end;
    return 1;
}


int
vl_iiif_parse_image(vl_pool_t *pool, const vl_str_t params[4], int version,
                    vl_iiif_req_t *req, vl_err_t *err)
{
    static const char *const names[4] = {
        "region", "size", "rotation", "quality"
    };
    char   *dec[4];
    size_t  declen[4];
    int     rc;

    req->version = version >= 3 ? 3 : 2;
    req->kind = VL_IIIF_IMAGE;
    for (int k = 0; k < 4; k++) {
        if (vl_percent_decode(pool, params[k], &dec[k], &declen[k]) != 0) {
            return vl_err_set(err, VL_EBADREQ,
                              "invalid percent-encoding in %s", names[k]);
        }
    }
    rc = iiif_region((vl_str_t) { declen[0], dec[0] }, &req->region, err);
    if (rc == VL_OK) {
        rc = iiif_size((vl_str_t) { declen[1], dec[1] }, req->version,
                       &req->size, err);
    }
    if (rc == VL_OK) {
        rc = iiif_rotation((vl_str_t) { declen[2], dec[2] }, &req->rotation,
                           err);
    }
    if (rc == VL_OK) {
        rc = iiif_quality_format((vl_str_t) { declen[3], dec[3] },
                                 req->version, req, err);
    }
    return rc;
}


int
vl_iiif_parse(vl_pool_t *pool, vl_str_t path, int version,
              vl_iiif_req_t *req, vl_err_t *err)
{
    vl_str_t id, params[4];
    int      rc;

    memset(req, 0, sizeof(*req));
    req->version = version >= 3 ? 3 : 2;
    req->kind = VL_IIIF_BASE;

    /* the front may hand over the path with its leading slash */
    if (path.len > 0 && path.data[0] == '/') {
        path.data++;
        path.len--;
    }
    if (vl_str_eq(path, "info.json") || vl_str_ends(path, "/info.json")) {
        id = path;
        id.len = path.len >= 10 ? path.len - 10 : 0;
        req->kind = VL_IIIF_INFO;
        return vl_iiif_identifier(pool, id, req, err);
    }
    /* an image request by its shape: a malformed parameter is a 400 of the
     * image request, not the base URI of an odd identifier */
    if (vl_iiif_split(path, &id, params)) {
        rc = vl_iiif_identifier(pool, id, req, err);
        return rc != VL_OK ? rc
                           : vl_iiif_parse_image(pool, params, version, req,
                                                 err);
    }
    return vl_iiif_identifier(pool, path, req, err);
}
