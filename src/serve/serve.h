/* SPDX-License-Identifier: MIT */
/*
 * serve: the layer between the front and the image machinery. One
 * vl_http_req_t in, one vl_http_resp_t out: the route table (route.c)
 * picks a handler, the handlers of the IIIF routes (image.c, info.c) go
 * through one cached, conditional response flow (respond.c), and the
 * pixel pipeline (render.c) drives source -> pixel -> encode. Everything a
 * worker keeps across requests lives in one vl_app_t per process, shared by
 * its threads (read-only, or behind the caches' own mutexes).
 */
#ifndef VL_SERVE_H
#define VL_SERVE_H

#include "cache/cache.h"
#include "cache/tiles.h"
#include "core/conf.h"
#include "core/pool.h"
#include "serve/http.h"
#include "source/source.h"

typedef struct {
    const vl_conf_t   *conf;
    vl_source_cache_t *sources;
    vl_tile_cache_t   *tiles; /* decoded tiles (cache/tiles.h) */
    vl_cache_t        *mc;    /* shared memcached (cache/cache.h) */
} vl_app_t;

/* Create / destroy the per-process state for conf (conf must outlive it).
 * A bad MEMCACHED_SERVERS is logged and costs the cache, not the app. */
vl_app_t *vl_app_new(const vl_conf_t *conf, vl_err_t *err);
void      vl_app_free(vl_app_t *app);

/* Handle one request. Never fails: every outcome is a response (the body
 * and header strings live in pool). */
void vl_handle(vl_app_t *app, const vl_http_req_t *req, vl_http_resp_t *resp,
               vl_pool_t *pool);

#endif /* VL_SERVE_H */
