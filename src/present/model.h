/* SPDX-License-Identifier: MIT */
/*
 * model: the Presentation 3 values vellum writes, as plain data (no JSON
 * library in sight): language maps, label/value pairs, links. What a
 * sidecar file says (sidecar.h) and what the file's own tags say are both
 * turned into these; manifest.c renders them. All strings live in a pool.
 */
#ifndef VL_MODEL_H
#define VL_MODEL_H

#include <stddef.h>

/* One language of a language map: values are always arrays of strings. */
typedef struct {
    const char  *lang;          /* BCP 47 tag, or "none" */
    const char **values;
    size_t       nvalues;
} vl_lang_t;

/* A language map ({"en": ["..."]}); empty when n == 0. */
typedef struct {
    vl_lang_t *v;
    size_t     n;
} vl_langmap_t;

/* A metadata entry or a requiredStatement. */
typedef struct {
    vl_langmap_t label, value;
} vl_pair_t;

/* homepage, seeAlso, provider homepage: an external resource. */
typedef struct {
    const char  *id;            /* HTTP(S) URI */
    const char  *type;          /* "Text", "Dataset", ... */
    const char  *format;        /* media type, or NULL */
    const char  *profile;       /* or NULL */
    vl_langmap_t label;
} vl_link_t;

#endif /* VL_MODEL_H */
