/* SPDX-License-Identifier: MIT */
/*
 * discovery: the IIIF Change Discovery 1.0 stream of the log
 * (present/cdlog.h) as serve/ answers it: the activities (Create, Update,
 * Delete; Seen records are left out) in pages of DISCOVERY_PAGE_SIZE,
 * oldest first, and the JSON of the OrderedCollection and of a page
 * (jansson). Each worker process keeps an index of the log (the offset of
 * every activity), refreshed from the file on each request by reading only
 * what was appended; it is shared by the worker's threads behind a mutex.
 * A damaged log is served up to its last valid record.
 */
#ifndef VL_DISCOVERY_H
#define VL_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "present/cdlog.h"

#define VL_DISCOVERY_CONTEXT "http://iiif.io/api/discovery/1/context.json"
#define VL_DISCOVERY_MEDIA                                                     \
    "application/ld+json;profile=\"" VL_DISCOVERY_CONTEXT "\""

/* Pages of size activities that total activities make (an empty stream
 * has none). Pure. */
uint64_t vl_discovery_npages(uint64_t total, uint64_t size);

/* The startIndex and the number of activities of page n (1-based).
 * Returns 0 when there is no such page. Pure. */
int vl_discovery_span(uint64_t total, uint64_t size, uint64_t n,
                      uint64_t *start, uint64_t *count);

/* The collection (page 0) or one page of the stream, as the log is now. */
typedef struct {
    uint64_t        total; /* activities in the stream */
    uint64_t        size;  /* activities per page */
    uint64_t        npages;
    uint64_t        page;   /* 0: the collection */
    uint64_t        start;  /* the page's startIndex */
    size_t          n;      /* its activities */
    vl_cdlog_rec_t *items;  /* pool */
    uint64_t        tag[2]; /* what its bytes depend on, but for the base
                             * URI and the configuration: for the ETag */
    long long mtime;        /* Last-Modified: the newest endTime in it */
} vl_discovery_page_t;

/* Refresh this process's index of dir's log and read the collection (page
 * 0) or page n of size activities into *out (pool memory).
 * Errors: VL_ENOTFOUND (no log yet: "no Change Discovery log yet"; a log
 * without activities: "no activity yet", for the collection too, which
 * Change Discovery 1.0 wants with a last page; no such page), VL_EIO (the
 * log cannot be read, or changed under the reader), VL_ENOMEM.
 * Thread-safe. */
int vl_discovery_get(vl_pool_t *pool, const char *dir, uint64_t size,
                     uint64_t page, vl_discovery_page_t *out, vl_err_t *err);

/* Forget the index (tests). */
void vl_discovery_reset(void);

/* What the JSON says beyond the log. */
typedef struct {
    const char *base;            /* where the service lives, with its '/' */
    const char *see_also;        /* SEE_ALSO template with {id}, or ""/NULL */
    const char *see_also_format; /* or ""/NULL */
    const char *see_also_profile;
} vl_discovery_opts_t;

/* The OrderedCollection of p (p->page 0), or the OrderedCollectionPage
 * p->page, as JSON text in pool. Errors: VL_ENOTFOUND (a collection
 * without pages: "no activity yet"), VL_ENOMEM. */
int vl_discovery_json(vl_pool_t *pool, const vl_discovery_opts_t *o,
                      const vl_discovery_page_t *p, char **json, size_t *len,
                      vl_err_t *err);

/* The URI of the collection (page 0) or of page n under base. */
char *vl_discovery_uri(vl_pool_t *pool, const char *base, uint64_t page);

#endif /* VL_DISCOVERY_H */
