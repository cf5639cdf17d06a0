/* SPDX-License-Identifier: MIT */
/*
 * iiif: pure parser of IIIF Image API 2.1 / 3.0 request paths.
 *   "{id}/{region}/{size}/{rotation}/{quality}.{format}"  -> VL_IIIF_IMAGE
 *   "{id}/info.json"                                      -> VL_IIIF_INFO
 *   "{id}"                                                -> VL_IIIF_BASE (303)
 * The path is parsed from the right, so identifiers may hold raw slashes or
 * %2F; the identifier is percent-decoded exactly once. Bad syntax stops here
 * with VL_EBADREQ and a one-line reason. No I/O, no globals: thread-safe.
 */
#ifndef VL_IIIF_H
#define VL_IIIF_H

#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "core/str.h"
#include "core/types.h"
#include "encode/encode.h"

typedef enum {
    VL_IIIF_IMAGE,
    VL_IIIF_INFO,
    VL_IIIF_BASE
} vl_iiif_kind_t;

typedef enum {
    VL_REGION_FULL,
    VL_REGION_SQUARE,
    VL_REGION_PX,        /* x,y,w,h */
    VL_REGION_PCT        /* pct:x,y,w,h */
} vl_region_kind_t;

typedef struct {
    vl_region_kind_t kind;
    uint32_t         x, y, w, h;        /* VL_REGION_PX */
    double           px, py, pw, ph;    /* VL_REGION_PCT, in percent */
} vl_region_t;

typedef enum {
    VL_SIZE_MAX,         /* "max" (v3, v2), "full" (v2 only) */
    VL_SIZE_W,           /* "w," */
    VL_SIZE_H,           /* ",h" */
    VL_SIZE_PCT,         /* "pct:n" */
    VL_SIZE_WH,          /* "w,h" */
    VL_SIZE_CONFINED     /* "!w,h" */
} vl_size_kind_t;

typedef struct {
    vl_size_kind_t kind;
    int            upscale;     /* '^' prefix (v3) */
    int            v2_full;     /* v2 "full" (canonical form differs) */
    uint32_t       w, h;
    double         pct;
} vl_iiif_size_t;

typedef struct {
    int    mirror;              /* '!' prefix */
    double degrees;             /* [0, 360] */
} vl_rotation_t;

typedef struct {
    vl_iiif_kind_t  kind;
    int             version;    /* 2 or 3, as passed to the parser */
    char           *id;         /* decoded identifier, NUL-terminated */
    size_t          id_len;
    vl_str_t        id_raw;     /* the identifier as sent (still encoded) */
    vl_region_t     region;
    vl_iiif_size_t  size;
    vl_rotation_t   rotation;
    vl_quality_t    quality;
    vl_format_t     format;
} vl_iiif_req_t;

/* 1 if the decoded identifier id is well formed: not empty, no leading
 * or trailing '/', no empty, "." or ".." segment (no ".." at all). */
int vl_iiif_id_ok(const char *id);

/* 1 if the decoded identifier id names a reserved top-level resource of
 * the service (collection.json, cd and what is under it, health,
 * metrics): never an image, never listed. */
int vl_iiif_reserved(const char *id);

/* 1 if identifier id (decoded; an image's without FILESYSTEM_SUFFIX)
 * ends in delim followed by digits only ("book.tif;2"): the image API
 * reads it as a page of a shorter identifier (or as a 404 "no such page"),
 * so no file of that name is reachable. 0 when delim is NULL or "". */
int vl_iiif_is_page(const char *id, const char *delim);

/* Decode identifier `raw` (as sent, percent-encoded) once into req->id,
 * id_len and id_raw, refusing "..", empty segments, a leading or trailing
 * '/' and NUL. Errors: VL_EBADREQ. */
int vl_iiif_identifier(vl_pool_t *pool, vl_str_t raw, vl_iiif_req_t *req,
                       vl_err_t *err);

/* The shape of an image request: path (no leading '/') has four parameter
 * segments after the identifier (empty only after a leading '/'), and the
 * first has the form of a region (full, square, pct..., a digit) or the
 * last the form quality.format (an Image API quality, then a '.'). Returns
 * 1 and the identifier and parameters (still encoded, slices of path), or
 * 0. The kind of a request is decided by its shape: a malformed region,
 * size or rotation is then a 400 of an image request, not the base URI of
 * an odd identifier; "a/b/c/d/e.tif" stays an identifier. */
int vl_iiif_split(vl_str_t path, vl_str_t *id, vl_str_t params[4]);

/* Parse the four parameters of an image request (region, size, rotation,
 * quality.format; percent-decoded once each) into req for API `version`;
 * req->kind becomes VL_IIIF_IMAGE. Errors: VL_EBADREQ with the reason. */
int vl_iiif_parse_image(vl_pool_t *pool, const vl_str_t params[4],
                        int version, vl_iiif_req_t *req, vl_err_t *err);

/* Parse path for API `version` (2 or 3). Strings point into the pool or
 * into path. A format vellum does not write (encode's format table has no
 * row for it) is refused here, with the other syntax errors.
 * Errors: VL_EBADREQ (400) with the reason. */
int vl_iiif_parse(vl_pool_t *pool, vl_str_t path, int version,
                  vl_iiif_req_t *req, vl_err_t *err);

/* "default", "color", ... */
const char *vl_quality_name(vl_quality_t q);

#endif /* VL_IIIF_H */
