/* SPDX-License-Identifier: MIT */
/*
 * respond: the cached, conditional response flow (respond.h). Headers of a
 * 200 and of a 304 are the same wherever the body came from (built,
 * memcached, passed through); memcached stores the body and its type only.
 */
#include "config.h"

#include <string.h>

#include "core/hash.h"
#include "serve/serve_p.h"

void
vl_respond_tags(const vl_respond_what_t *w, char etag[VL_ETAG_SIZE],
                char key[VL_CACHE_KEY_SIZE])
{
    vl_hash_t h;
    char      hex[VL_HASH_HEX];

    vl_hash_init(&h);
    vl_hash_str(&h, "vellum response 2");
    vl_hash_str(&h, w->kind);
    vl_hash_u64(&h, (uint64_t) w->version);
    vl_hash_str(&h, w->id);
    vl_hash_str(&h, w->request);
    vl_hash_str(&h, w->media);
    if (w->file != NULL) {
        vl_hash_file(&h, w->file);
    } else {
        vl_hash_u64(&h, UINT64_MAX);
    }
    vl_hash_u64(&h, w->extra[0]);
    vl_hash_u64(&h, w->extra[1]);
    if (w->fingerprint != NULL) {
        vl_hash_u64(&h, w->fingerprint[0]);
        vl_hash_u64(&h, w->fingerprint[1]);
    } else {
        vl_hash_u64(&h, UINT64_MAX);
    }
    vl_hash_hex(&h, hex);
    /* the key is the whole digest, the ETag its first 64 bits */
    memcpy(key, VL_CACHE_PREFIX, sizeof(VL_CACHE_PREFIX) - 1);
    memcpy(key + sizeof(VL_CACHE_PREFIX) - 1, hex, VL_HASH_HEX);
    etag[0] = '"';
    memcpy(etag + 1, hex, 16);
    etag[17] = '"';
    etag[18] = '\0';
}

/* The worker's memo: a body (w.memo) kept in the per-worker tile cache
 * (cache/tiles.c, LRU by bytes, MAX_IMAGE_CACHE_SIZE) under the file's
 * identity, page 0 (decoded blocks are on pages >= 1) and 128 bits of the
 * response digest, as "type NUL body" in one blob. Bodies above
 * RESPOND_MEMO_MAX are not kept. */
#define RESPOND_MEMO_MAX ((size_t) 256 << 10)

static void
respond_memo_key(const vl_respond_what_t *w, const char *key,
                 vl_tile_key_t *k)
{
    const char *hex = key + sizeof(VL_CACHE_PREFIX) - 1;
    uint32_t    v[4] = { 0, 0, 0, 0 };

    for (int i = 0; i < 32; i++) {
        char c = hex[i];
        int  d = c >= 'a' ? c - 'a' + 10 : c >= 'A' ? c - 'A' + 10 : c - '0';

        v[i / 8] = v[i / 8] << 4 | (uint32_t) (d & 15);
    }
    memset(k, 0, sizeof(*k));
    k->dev = (uint64_t) w->file->dev;
    k->ino = (uint64_t) w->file->ino;
    k->size = w->file->size;
    k->mtime_ns = w->file->mtime_ns;
    k->page = 0;
    k->level = v[0];
    k->tile = v[1];
    k->scale = v[2];
    k->depth = v[3];
}

/* A memo hit into body (a copy in the pool: the blob may be evicted). */
static int
respond_memo_get(vl_serve_t *s, const vl_respond_what_t *w, const char *key,
                 vl_body_t *body)
{
    vl_tile_key_t  k;
    vl_tile_t     *hit;
    unsigned char *data;
    size_t         tl;

    if (!w->memo || w->file == NULL || s->app->tiles == NULL) {
        return 0;
    }
    respond_memo_key(w, key, &k);
    if ((hit = vl_tiles_get(s->app->tiles, &k)) == NULL) {
        return 0;
    }
    tl = strnlen((const char *) hit->data, hit->len);
    data = tl < hit->len ? vl_pool_alloc(s->pool, hit->len) : NULL;
    if (data != NULL) {
        memcpy(data, hit->data, hit->len);
        body->type = (const char *) data;
        body->data = data + tl + 1;
        body->len = hit->len - tl - 1;
    }
    vl_tile_release(hit);
    return data != NULL;
}

static void
respond_memo_put(vl_serve_t *s, const vl_respond_what_t *w, const char *key,
                 const vl_body_t *body)
{
    vl_tile_key_t k;
    vl_tile_t    *t;
    size_t        tl;

    if (!w->memo || w->file == NULL || s->app->tiles == NULL
        || body->type == NULL || body->len > RESPOND_MEMO_MAX) {
        return;
    }
    tl = strlen(body->type);
    if ((t = vl_tile_new((uint32_t) (tl + 1 + body->len), 1, 1, NULL))
        == NULL) {
        return;
    }
    memcpy(t->data, body->type, tl + 1);
    memcpy(t->data + tl + 1, body->data, body->len);
    respond_memo_key(w, key, &k);
    vl_tiles_put(s->app->tiles, &k, t);
    vl_tile_release(t);
}

/* Cache-Control, Last-Modified, ETag (and Vary): on 200 and 304 alike. */
static void
respond_cache_headers(vl_serve_t *s, const vl_respond_ops_t *ops,
                      const char *etag, long long mtime)
{
    /* one image file, one date: formatted once per thread */
    static _Thread_local long long last_mtime = -1;
    static _Thread_local char      last_date[64];

    const char *cc = ops->derived ? s->conf->presentation_cache_control
                                  : s->conf->cache_control;

    if (ops->vary != NULL) {
        vl_serve_header(s, "Vary", ops->vary);
    }
    if (cc != NULL && cc[0] != '\0') {
        vl_serve_header(s, "Cache-Control", cc);
    }
    if (ops->derived == VL_RESPOND_DOC) {
        vl_serve_header(s, "ETag", vl_pool_strdup(s->pool, etag));
        return;
    }
    if (mtime != last_mtime) {
        vl_http_date(mtime, last_date, sizeof(last_date));
        last_mtime = mtime;
    }
    vl_serve_header(s, "Last-Modified", vl_pool_strdup(s->pool, last_date));
    vl_serve_header(s, "ETag", vl_pool_strdup(s->pool, etag));
}

static void
respond_reply(vl_serve_t *s, const vl_respond_ops_t *ops, void *ctx,
              const vl_body_t *body, const char *etag, long long mtime,
              const char *how)
{
    s->resp->status = 200;
    s->resp->body = body->data;
    s->resp->body_len = body->len;
    s->resp->cache = how;
    vl_serve_header(s, "Content-Type", body->type);
    if (ops->headers != NULL) {
        ops->headers(s, ctx);
    }
    respond_cache_headers(s, ops, etag, mtime);
}

/* The file changed during the request (vl_source_changed): 503, to be
 * asked again at once, when the next open sees the file as it is. */
static void
respond_changed(vl_serve_t *s)
{
    /* before the failure, so vl_serve_error keeps it instead of the busy
     * server's */
    vl_serve_header(s, "Retry-After", "1");
    vl_serve_fail(s, VL_EBUSY, "the image file changed while it was read");
}

void
vl_respond(vl_serve_t *s, const vl_respond_ops_t *ops, void *ctx)
{
    vl_source_t            *src;
    vl_respond_what_t       w;
    vl_cache_hit_t          hit;
    vl_body_t               body;
    vl_err_t                err = { 0 };
    char                    etag[VL_ETAG_SIZE], key[VL_CACHE_KEY_SIZE];
    long long               mtime;
    uint64_t                gen = 0;
    int                     rc, shared = vl_cache_enabled(s->app->mc);

    src = NULL;
    if (ops->lease && (src = vl_serve_source(s, &err)) == NULL) {
        vl_serve_error(s, &err);
        return;
    }
    memset(&w, 0, sizeof(w));
    w.kind = ops->kind;
    w.version = s->version;
    w.id = s->ir.id;
    w.file = src != NULL ? &vl_source_info(src)->file : NULL;
    w.fingerprint = s->conf->fingerprint;
    if (ops->prepare(s, ctx, src, &w, &err) != VL_OK) {
        vl_serve_error(s, &err);
        return;
    }
    vl_respond_tags(&w, etag, key);
    mtime = ops->derived == VL_RESPOND_DOC ? -1
            : w.mtime != 0 ? w.mtime
            : w.file != NULL ? w.file->mtime_ns / 1000000000LL
                             : 0;

    if (vl_http_not_modified(s->req, etag, mtime)) {
        s->resp->status = 304;
        respond_cache_headers(s, ops, etag, mtime);
        return;
    }
    memset(&body, 0, sizeof(body));
    if (respond_memo_get(s, &w, key, &body)) {
        respond_reply(s, ops, ctx, &body, etag, mtime, "memo");
        return;
    }
    /* a stored tile is as cheap as a memcached round trip: it goes first
     * and is not stored in memcached */
    if (ops->direct != NULL) {
        memset(&body, 0, sizeof(body));
        rc = ops->direct(s, ctx, src, &body, &err);
        if (rc == VL_OK && vl_source_changed(src)) {
            respond_changed(s);
            return;
        }
        if (rc == VL_OK) {
            respond_memo_put(s, &w, key, &body);
            respond_reply(s, ops, ctx, &body, etag, mtime, "passthrough");
            return;
        }
        if (rc != VL_EUNSUPP) {
            vl_serve_error(s, &err);
            return;
        }
        vl_err_clear(&err);
    }
    if (shared && vl_cache_get(s->app->mc, s->pool, s->ir.id, key, &hit, &gen))
    {
        body.data = hit.body;
        body.len = hit.len;
        body.type = hit.type;
        respond_reply(s, ops, ctx, &body, etag, mtime, "hit");
        return;
    }
    memset(&body, 0, sizeof(body));
    if (ops->build(s, ctx, src, &body, &err) != VL_OK) {
        vl_serve_error(s, &err);
        return;
    }
    /* the file rewritten in place while it was read: the pixels may mix
     * two versions; neither stored nor sent */
    if (vl_source_changed(src)) {
        respond_changed(s);
        return;
    }
    if (shared) {
        vl_cache_set(s->app->mc, s->ir.id, key, gen, body.type, body.data,
                     body.len);
    }
    respond_memo_put(s, &w, key, &body);
    respond_reply(s, ops, ctx, &body, etag, mtime, "miss");
}
