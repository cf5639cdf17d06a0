/* SPDX-License-Identifier: MIT */
/*
 * sidecar: the optional JSON file beside an image ("map.tif.json") or a
 * folder ("book.json") that says what the file cannot: label, summary,
 * metadata, rights, requiredStatement, provider, homepage, seeAlso,
 * behavior, navDate, viewingDirection, canvas labels, and, for a folder,
 * the files that make it one object, in order. Validated field by field:
 * an invalid sidecar is refused whole with a one-line reason (the manifest
 * is then served without it). The schema is in the README.
 */
#ifndef VL_SIDECAR_H
#define VL_SIDECAR_H

#include <stddef.h>

#include "core/err.h"
#include "core/pool.h"
#include "present/model.h"

/* Largest sidecar read. */
#define VL_SIDECAR_MAX ((size_t) 1 << 20)

typedef struct {
    vl_langmap_t  label, summary;
    vl_pair_t    *metadata;
    size_t        nmetadata;
    const char   *rights;             /* a URI, or NULL */
    int           has_required;
    vl_pair_t     required;           /* requiredStatement */
    vl_langmap_t  provider_label;     /* empty: none */
    const char   *provider_homepage;
    vl_link_t    *homepage;
    size_t        nhomepage;
    vl_link_t    *see_also;
    size_t        nsee_also;
    const char  **behavior;
    size_t        nbehavior;
    const char   *nav_date;           /* xsd:dateTime, or NULL */
    const char   *viewing_direction;  /* or NULL */
    vl_langmap_t *canvas_labels;      /* one per canvas, in order */
    size_t        ncanvas_labels;
    const char  **items;              /* a folder object's files */
    size_t        nitems;
} vl_sidecar_t;

/* Parse and validate the sidecar text (len bytes) of an image
 * (is_folder 0: it describes a Manifest) or of a folder (1: a Manifest
 * when it lists items, else a Collection) into *out (pool strings):
 * behaviors must be those of that resource and not exclude each other.
 * Errors: VL_EFORMAT with the reason in err ("metadata[2]: label is not a
 * string or a language map"); *out is then empty. */
int vl_sidecar_parse(vl_pool_t *pool, const char *text, size_t len,
                     int is_folder, vl_sidecar_t *out, vl_err_t *err);

/* A language map of one value in language "none" (a file name, a tag). */
int vl_langmap_none(vl_pool_t *pool, const char *text, vl_langmap_t *out);

#endif /* VL_SIDECAR_H */
