/* SPDX-License-Identifier: MIT */
/*
 * manifest: IIIF Presentation 3.0 documents as plain data, and their JSON
 * (jansson): a Manifest of one or more Canvases, each painted by one image
 * with its image services, and a Collection of Manifest and Collection
 * references. What goes in (labels, metadata, sizes, URIs) is decided by
 * the caller (serve/manifest.c, serve/collection.c); this file only writes
 * it in the shape the specification asks: @context first, language maps
 * of arrays of strings, ids as given, the ImageService2 with @id/@type.
 * Text that is not UTF-8 (a Latin-1 file name, a tag) is read as Latin-1,
 * so one odd name never fails a document. Pure, thread-safe; the text
 * lives in the pool.
 */
#ifndef VL_MANIFEST_H
#define VL_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "present/model.h"

#define VL_P3_CONTEXT "http://iiif.io/api/presentation/3/context.json"
#define VL_P3_MEDIA                                                          \
    "application/ld+json;profile=\"" VL_P3_CONTEXT "\""

/* An image as a content resource: a URL of it at one size, with the image
 * services it comes from (either may be NULL). */
typedef struct {
    const char *id;             /* e.g. {service}/full/max/0/default.jpg */
    const char *format;         /* "image/jpeg" */
    uint32_t    width, height;  /* what that URL returns */
    const char *service3;       /* ImageService3 id (= its info.json id) */
    const char *service2;       /* ImageService2 id */
} vl_p3_image_t;

typedef struct {
    const char   *id;           /* the Canvas URI */
    vl_langmap_t  label;        /* may be empty */
    uint32_t      width, height;
    const char   *page_id;      /* its AnnotationPage */
    const char   *anno_id;      /* the painting Annotation */
    vl_p3_image_t body;
    vl_p3_image_t thumbnail;    /* id NULL: none */
} vl_p3_canvas_t;

/* What is said of a Manifest or a Collection: its descriptive, rights
 * and linking properties, written in this order after id and type. */
typedef struct {
    vl_langmap_t    label;      /* required: not empty */
    vl_langmap_t    summary;
    vl_pair_t      *metadata;
    size_t          nmetadata;
    vl_p3_image_t   thumbnail;  /* id NULL: none */
    const char     *nav_date;
    const char     *viewing_direction;
    const char    **behavior;
    size_t          nbehavior;
    const char     *rights;     /* NULL: none */
    int             has_required;
    vl_pair_t       required;
    const char     *provider_id;    /* NULL: no provider */
    vl_langmap_t    provider_label;
    const char     *provider_homepage;
    vl_link_t      *homepage;   /* type Text, format text/html */
    size_t          nhomepage;
    vl_link_t      *see_also;   /* type Dataset */
    size_t          nsee_also;
} vl_p3_desc_t;

typedef struct {
    const char     *id;         /* the Manifest URI */
    vl_p3_desc_t    d;
    vl_p3_canvas_t *canvases;
    size_t          ncanvases;  /* >= 1 */
} vl_p3_manifest_t;

typedef enum {
    VL_P3_REF_MANIFEST,
    VL_P3_REF_COLLECTION
} vl_p3_ref_kind_t;

/* A reference to a Manifest or a Collection, as a Collection lists it. */
typedef struct {
    vl_p3_ref_kind_t kind;
    const char      *id;
    vl_langmap_t     label;
    vl_p3_image_t    thumbnail; /* id NULL: none */
} vl_p3_ref_t;

typedef struct {
    const char   *id;           /* the Collection URI */
    vl_p3_desc_t  d;
    vl_p3_ref_t  *items;
    size_t        nitems;
} vl_p3_collection_t;

/* The JSON text of m / c into *out (pool, *len bytes).
 * Errors: VL_ENOMEM, VL_EINTERNAL (a required field missing: a bug). */
int vl_p3_manifest_json(vl_pool_t *pool, const vl_p3_manifest_t *m,
                        char **out, size_t *len, vl_err_t *err);
int vl_p3_collection_json(vl_pool_t *pool, const vl_p3_collection_t *c,
                          char **out, size_t *len, vl_err_t *err);

/* rights as Presentation 3 takes it: a Creative Commons or
 * RightsStatements.org URI in its canonical http:// form (an https://
 * one is turned into it); NULL for anything else (it belongs in a
 * requiredStatement then). */
const char *vl_p3_rights(vl_pool_t *pool, const char *uri);

#endif /* VL_MANIFEST_H */
