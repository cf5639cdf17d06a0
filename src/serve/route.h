/* SPDX-License-Identifier: MIT */
/*
 * route: the route table, evaluated before the Image API grammar. A row is
 * a path form (an exact path, a prefix, "{id}/suffix", the shape of an
 * image request, or any other path as an identifier), a method mask and a
 * handler. The first row a path matches wins; the last takes any path (the
 * base URI of an identifier). Top-level names reserved for the service's
 * own resources (collection.json, cd/, health, metrics) are never taken as
 * identifiers. Matching is pure; handlers run with a vl_serve_t
 * (serve_p.h).
 */
#ifndef VL_ROUTE_H
#define VL_ROUTE_H

#include "core/str.h"

/* Method mask bits. */
#define VL_M_GET     1u
#define VL_M_HEAD    2u
#define VL_M_OPTIONS 4u
#define VL_M_READ    (VL_M_GET | VL_M_HEAD | VL_M_OPTIONS)

typedef enum {
    VL_ROUTE_EXACT,  /* path == row's path */
    VL_ROUTE_PREFIX, /* path starts with row's path */
    VL_ROUTE_SUFFIX, /* path == "{id}/" + row's path, or == row's path
                      * (then the identifier is empty: a 400) */
    VL_ROUTE_PART,   /* path == "{id}/" + row's path + "{n}.json", or row's
                      * path + "{n}.json" (the root's: the identifier is
                      * empty); n, digits, in m->part */
    VL_ROUTE_IMAGE,  /* {id}/{region}/{size}/{rotation}/{quality}.{format}
                      * by shape (vl_iiif_split) */
    VL_ROUTE_ID      /* any path: an identifier */
} vl_route_kind_t;

typedef struct vl_serve_s vl_serve_t;
typedef void (*vl_route_fn)(vl_serve_t *s);

typedef struct {
    vl_route_kind_t kind;
    const char     *path;    /* EXACT, PREFIX, SUFFIX, PART */
    unsigned        methods; /* VL_M_* */
    const char     *name;    /* "image", "info", "base", "reserved" */
    vl_route_fn     fn;
} vl_route_t;

typedef struct {
    const vl_route_t *route;
    vl_str_t          id;        /* SUFFIX, IMAGE, ID: as sent */
    vl_str_t          params[4]; /* IMAGE: region, size, rotation,
                                    quality.format, as sent */
    vl_str_t          part;      /* PART: the digits; PREFIX: the rest of
                                    the path */
} vl_route_match_t;

/* The first row path (the IIIF path without its leading '/') matches, with
 * what it captured. Never NULL. */
const vl_route_t *vl_route_find(vl_str_t path, vl_route_match_t *m);

/* 1 if the decoded identifier id names a reserved top-level resource
 * (collection.json, cd and what is under it, health, metrics). */
int vl_route_reserved(const char *id);

/* The Allow header value of a method mask: "GET, HEAD, OPTIONS". */
const char *vl_route_allow(unsigned methods);

#endif /* VL_ROUTE_H */
