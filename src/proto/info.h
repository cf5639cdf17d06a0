/* SPDX-License-Identifier: MIT */
/*
 * info: the info.json document of an image for IIIF Image API 3.0 and 2.1,
 * built with jansson (the only jansson user on the image path). Pure: the
 * caller passes what the source knows, the limits and the id URI; the text
 * lives in the request pool. Thread-safe.
 */
#ifndef VL_INFO_H
#define VL_INFO_H

#include <stddef.h>

#include "core/err.h"
#include "core/pool.h"
#include "proto/plan.h"
#include "source/source.h"

typedef struct {
    int                     version;   /* 2 or 3 */
    const char             *id;        /* base URI, no trailing slash */
    const vl_source_info_t *src;
    const vl_limits_t      *limits;
    int                     cors;      /* CORS headers are sent */
    const char             *rights;    /* rights URI or NULL */
} vl_info_opts_t;

/* 1 if s looks like an absolute http(s) URI (usable as "rights"). */
int vl_info_is_uri(const char *s);

/* The tile size info.json announces for g (at scale factor 1): level 0's
 * tiles (as the source gives them: jp2.c 512 for untiled codestreams,
 * flat.c 256), else 512 (strip TIFFs). */
void vl_info_tile_size(const vl_geom_t *g, uint32_t *tw, uint32_t *th);

/* Write the info.json text of opts into *out (pool string, *len bytes,
 * no trailing newline).
 * Errors: VL_ENOMEM. */
int vl_info_json(vl_pool_t *pool, const vl_info_opts_t *opts, char **out,
                 size_t *len, vl_err_t *err);

#endif /* VL_INFO_H */
