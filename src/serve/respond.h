/* SPDX-License-Identifier: MIT */
/*
 * respond: one flow for every cached, conditional response: lease the
 * source -> decide what is asked -> one digest of it (the ETag and the
 * memcached key are both cut from it, so they can never disagree) -> 304
 * -> the worker's memo (what.memo: bodies kept in the tile cache) -> a
 * direct answer that is cheaper than memcached (a stored tile) ->
 * memcached get -> build (a callback) -> memcached set -> reply. A route
 * supplies only the callbacks (image.c, info.c).
 *
 * The digest covers what decides the bytes: the kind of response, the API
 * version, the identifier, the request within it (canonical image request,
 * or the id URI of a JSON document), the media type when it is decided
 * before building, the identity of the file read and the output
 * fingerprint of the configuration (core/conf.h).
 */
#ifndef VL_RESPOND_H
#define VL_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "cache/cache.h"
#include "core/err.h"
#include "core/types.h"
#include "source/source.h"

/* What a response is. */
typedef struct {
    const char *kind;                /* "image", "info", ... */
    int         version;             /* IIIF API version */
    const char *id;                  /* decoded identifier */
    const char *request;             /* canonical request, or id URI */
    const char *media;               /* Content-Type known before building
                                        (info.json by Accept), or NULL */
    const vl_file_id_t *file;        /* identity of the file read, or NULL */
    uint64_t            extra[2];    /* what else the bytes depend on (a
                                        sidecar's identity, a folder's
                                        listing): a hash, or zeros */
    long long           mtime;       /* Last-Modified, seconds; 0: from
                                        file */
    const uint64_t     *fingerprint; /* conf->fingerprint (2 words) */
    int                 memo;        /* keep the body in the worker's tile
                                        cache too (a small body that costs
                                        a decode or transcode each time: a
                                        viewer's edge tile) */
} vl_respond_what_t;

/* "\"" + 16 hex digits + "\"" and a NUL. */
#define VL_ETAG_SIZE 19

/* The ETag and the memcached key of w, from one digest. Pure. */
void vl_respond_tags(const vl_respond_what_t *w, char etag[VL_ETAG_SIZE],
                     char key[VL_CACHE_KEY_SIZE]);

/* A response body and its Content-Type (pool memory, or borrowed). */
typedef struct {
    const unsigned char *data;
    size_t               len;
    const char          *type;
} vl_body_t;

typedef struct vl_serve_s vl_serve_t;

typedef struct {
    const char *kind; /* vl_respond_what_t.kind */
    int         lease; /* 1: the identifier's source is leased first and
                        * given to every callback; 0: they get NULL and
                        * prepare fills w->file (and extra, mtime) */
    const char *vary; /* a Vary header on 200 and 304, or NULL */
    /* With the source leased: fill w->request (and w->media when it is
     * known before building). An error status answers the request. */
    int (*prepare)(vl_serve_t *s, void *ctx, vl_source_t *src,
                   vl_respond_what_t *w, vl_err_t *err);
    /* Optional: an answer cheaper than a memcached round trip, never
     * stored there. VL_EUNSUPP: not applicable, go on. */
    int (*direct)(vl_serve_t *s, void *ctx, vl_source_t *src, vl_body_t *out,
                  vl_err_t *err);
    /* Build the body (out->type must be set). */
    int (*build)(vl_serve_t *s, void *ctx, vl_source_t *src, vl_body_t *out,
                 vl_err_t *err);
    /* Optional: the route's own headers of a 200 (Link, ...). */
    void (*headers)(vl_serve_t *s, void *ctx);
    /* A document made from the tree, sidecars and scans, which changes
     * more often than images: PRESENTATION_CACHE_CONTROL. VL_RESPOND_DOC
     * (manifests, collections): its newest file date can go back (an item
     * removed), so no Last-Modified and only the ETag validates
     * (If-Modified-Since alone is answered in full). VL_RESPOND_DOC_DATED
     * (Change Discovery): w->mtime never goes back, Last-Modified kept. */
    int derived;
} vl_respond_ops_t;

#define VL_RESPOND_DOC       1
#define VL_RESPOND_DOC_DATED 2

/* Answer s's request (its identifier decoded in s->ir) with ops. */
void vl_respond(vl_serve_t *s, const vl_respond_ops_t *ops, void *ctx);

#endif /* VL_RESPOND_H */
