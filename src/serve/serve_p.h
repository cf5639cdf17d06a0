/* SPDX-License-Identifier: MIT */
/*
 * serve_p: what the files of serve/ share: the context of one request and
 * the helpers every route uses (error responses, headers, the public id URI
 * of an image, leasing a source for the request's lifetime).
 */
#ifndef VL_SERVE_P_H
#define VL_SERVE_P_H

#include "present/manifest.h"
#include "present/sidecar.h"
#include "proto/iiif.h"
#include "serve/respond.h"
#include "serve/route.h"
#include "serve/serve.h"

#define VL_CTX_IMAGE2     "http://iiif.io/api/image/2/context.json"
#define VL_CTX_IMAGE3     "http://iiif.io/api/image/3/context.json"
#define VL_PROFILE_IMAGE2 "http://iiif.io/api/image/2/level2.json"
#define VL_PROFILE_IMAGE3 "http://iiif.io/api/image/3/level2.json"
/* Retry-After (seconds) of every 503: a heavy request refused at
 * admission, a REQUEST_TIMEOUT, the pixel budget */
#define VL_SERVE_RETRY_AFTER "2"

/* One request on its way through serve/. */
struct vl_serve_s {
    vl_app_t            *app;
    const vl_conf_t     *conf;
    const vl_http_req_t *req;
    vl_http_resp_t      *resp;
    vl_pool_t           *pool;
    vl_route_match_t     m;
    vl_str_t             path;    /* the IIIF path, no leading '/' */
    const char          *base;    /* vl_serve_base, once computed */
    vl_str_t             uri_path; /* the end of REQUEST_URI that spells
                                    * path (as the client sent it), when
                                    * vl_serve_base found it there */
    int                  version; /* IIIF API version of the answer */
    vl_iiif_req_t        ir;      /* identifier decoded (id routes) */
};

/* The handlers of the route table. */
void vl_serve_image(vl_serve_t *s);    /* image.c */
void vl_serve_info(vl_serve_t *s);     /* info.c */
void vl_serve_redirect(vl_serve_t *s);   /* info.c: 303 to info.json */
void vl_serve_reserved(vl_serve_t *s); /* serve.c: 404 */
void vl_serve_manifest(vl_serve_t *s);   /* manifest.c */
void vl_serve_collection(vl_serve_t *s); /* collection.c */
void vl_serve_discovery(vl_serve_t *s);  /* discovery.c */
void vl_serve_health(vl_serve_t *s);     /* operate.c */
void vl_serve_metrics(vl_serve_t *s);    /* operate.c */

/* An error response: the status from the one table (core/err.c), a
 * one-line text body. */
void vl_serve_error(vl_serve_t *s, const vl_err_t *err);
void vl_serve_fail(vl_serve_t *s, vl_status_t code, const char *msg);

/* Add a header whose value lives as long as the pool (static, conf or
 * pool memory): no copy. */
void vl_serve_header(vl_serve_t *s, const char *name, const char *value);

/* Where the service lives, such that base + an identifier as sent is the
 * image's id: BASE_URL (with a trailing '/'), else scheme://host[prefix] +
 * REQUEST_URI without the IIIF path (or the script path + "?IIIF=" when
 * the path is in the query). Computed once per request; NULL on ENOMEM. */
const char *vl_serve_base(vl_serve_t *s);

/* The public base URI of the image ("id"): X-IIIF-ID, else vl_serve_base
 * + the identifier as sent. NULL on ENOMEM. */
char *vl_serve_id_uri(vl_serve_t *s);

/* Check the identifier's source out of the handle cache; it goes back when
 * the pool dies. NULL with err set (404, 415, 500). */
vl_source_t *vl_serve_source(vl_serve_t *s, vl_err_t *err);

/* ---- describe.c: what manifests and collections say ---------------- */

/* Read and check the sidecar of id (is_folder: a folder's) into *sc; its
 * identity into *file (zeroed when there is none; may be NULL). 1 when it
 * is there and valid; 0 otherwise (an invalid one is logged, naming the
 * file and the field, and left out). */
int vl_serve_sidecar(vl_serve_t *s, const char *id, int is_folder,
                     vl_sidecar_t *sc, vl_file_id_t *file);

/* The last segment of an identifier: what it is called without a label. */
const char *vl_serve_name_of(const char *id);

/* The descriptive, rights and linking properties of identifier id ("" for
 * the root folder) into *d: from the sidecar sc (may be NULL), the file's
 * own text info (may be NULL: a folder), the name, the configuration
 * (HOMEPAGE and SEE_ALSO name objects: not for a collection). Everything
 * but the thumbnail. Errors: VL_ENOMEM. */
int vl_serve_describe(vl_serve_t *s, const vl_sidecar_t *sc, const char *id,
                      const vl_source_info_t *info, int collection,
                      vl_p3_desc_t *d, vl_err_t *err);

/* The thumbnail size of an image of geometry g: its largest stored level
 * within THUMBNAIL_SIZE (a size info.json lists: a fast path), else the
 * image scaled to fit THUMBNAIL_SIZE; never beyond MAX_CVT / MAX_AREA. */
void vl_serve_thumb_size(const vl_conf_t *conf, const vl_geom_t *g,
                         uint32_t *w, uint32_t *h);

/* The image sid at w x h (max: "full/max", the size then being what max
 * gives) as a content resource through base3 or else base2, with the
 * ImageService3 of base3 and the ImageService2 of base2 (either NULL: not
 * given). Errors: VL_ENOMEM. */
int vl_serve_p3_image(vl_serve_t *s, const char *base3, const char *base2,
                      const char *sid, uint32_t w, uint32_t h, int max,
                      vl_p3_image_t *img);

#endif /* VL_SERVE_P_H */
