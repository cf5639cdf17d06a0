/* SPDX-License-Identifier: MIT */
/*
 * handler: routes one vl_http_req_t and fills one vl_http_resp_t: image
 * requests, info.json, the base URI (303), OPTIONS, errors. Maps vellum
 * statuses to HTTP in one place (core/err.c). Everything the handler needs
 * across requests lives in a vl_app_t, one per worker process, shared by its
 * threads (read-only, or behind the caches' own mutexes).
 */
#ifndef VL_HANDLER_H
#define VL_HANDLER_H

#include "cache/cache.h"
#include "core/conf.h"
#include "core/pool.h"
#include "front/http.h"
#include "source/source.h"

typedef struct {
    const vl_conf_t   *conf;
    vl_source_cache_t *sources;
    vl_tile_cache_t   *tiles;      /* decoded tiles (cache/tiles.h) */
    vl_cache_t        *mc;         /* shared memcached (cache/cache.h) */
} vl_app_t;

/* Create / destroy the per-process state for conf (conf must outlive it). */
vl_app_t *vl_app_new(const vl_conf_t *conf, vl_err_t *err);
void vl_app_free(vl_app_t *app);

/* Handle one request. Never fails: every outcome is a response (the body
 * and header strings live in pool). */
void vl_handle(vl_app_t *app, const vl_http_req_t *req, vl_http_resp_t *resp,
               vl_pool_t *pool);

#endif /* VL_HANDLER_H */
