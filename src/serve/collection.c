/* SPDX-License-Identifier: MIT */
/*
 * collection: the IIIF Presentation 3 Collection of a folder of the image
 * tree: /collection.json for the root, {folder}/collection.json for every
 * folder under it. Its items are the folder's images and objects (Manifest
 * references with a label and a thumbnail) and its sub-folders
 * (Collection references), by name. Presentation 3 pages no Collection: a
 * folder of more than COLLECTION_SIZE entries lists instead sub-Collections
 * {folder}/collection/{k}.json of COLLECTION_SIZE entries each, by name,
 * labelled with their first and last names, so every answer touches at
 * most COLLECTION_SIZE images. The digest covers the folder and every
 * entry listed (identity and sidecar).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "present/manifest.h"
#include "present/sidecar.h"
#include "present/tree.h"
#include "serve/serve_p.h"

typedef struct {
    vl_p3_collection_t c;
    const char        *dir;       /* the folder's identifier, "" root */
    unsigned long      part;      /* 0: the folder; k: its k-th part */
    vl_tree_entry_t   *e;
    size_t             n;
} collection_ctx_t;

/* A sidecar of an entry, parsed (NULL: none or invalid, logged); its
 * identity into *f when f is not NULL (zero: none). */
static const vl_sidecar_t *
collection_sidecar(vl_serve_t *s, const char *id, int is_folder,
                   vl_file_id_t *fout)
{
    vl_sidecar_t *sc = vl_pool_calloc(s->pool, 1, sizeof(*sc));
    vl_file_id_t  f = { 0 };
    vl_err_t      err = { 0 };
    char         *text;
    size_t        len;

    if (sc == NULL
        || vl_tree_sidecar(s->pool, s->conf, id, is_folder, VL_SIDECAR_MAX,
                           &text, &len, &f, &err) != VL_OK) {
        return NULL;
    }
    if (fout != NULL) {
        *fout = f;
    }
    if (vl_sidecar_parse(s->pool, text, len, sc, &err) != VL_OK) {
        vl_log(VL_LOG_ERROR, s->req->reqid, "sidecar %s%s%s: %s: left out",
               id, is_folder ? "" : s->conf->filesystem_suffix,
               VL_SIDECAR_SUFFIX, err.msg);
        return NULL;
    }
    return sc;
}

/* The thumbnail of image sid: its largest level within THUMBNAIL_SIZE,
 * through the service of the request's version. */
static void
collection_thumb(vl_serve_t *s, const char *sid, vl_p3_image_t *img)
{
    vl_err_t         err = { 0 };
    vl_source_t     *src = vl_source_get(s->app->sources, s->conf, sid, &err);
    const vl_geom_t *g;
    uint64_t         max = (uint64_t) s->conf->thumbnail_size;
    uint32_t         w, h;
    char             tail[64];

    memset(img, 0, sizeof(*img));
    if (src == NULL) {
        return;
    }
    g = &vl_source_info(src)->geom;
    w = g->levels[g->nlevels - 1].width;
    h = g->levels[g->nlevels - 1].height;
    for (uint32_t i = 0; i < g->nlevels; i++) {
        if (g->levels[i].width <= max && g->levels[i].height <= max) {
            w = g->levels[i].width;
            h = g->levels[i].height;
            break;
        }
    }
    vl_source_put(s->app->sources, src);
    if (s->version >= 3) {
        snprintf(tail, sizeof(tail), "/full/%u,%u/0/default.jpg", w, h);
    } else {
        snprintf(tail, sizeof(tail), "/full/%u,/0/default.jpg", w);
    }
    img->id = vl_tree_uri(s->pool, vl_serve_base(s), sid, tail);
    img->format = "image/jpeg";
    img->width = w;
    img->height = h;
}

/* The reference to entry e: a Manifest (an image, or a folder its sidecar
 * makes one object) or a Collection (a folder). */
static int
collection_ref(vl_serve_t *s, const vl_tree_entry_t *e, vl_p3_ref_t *r)
{
    const char         *base = vl_serve_base(s);
    const vl_sidecar_t *sc = e->sidecar
                                 ? collection_sidecar(s, e->id,
                                                      e->kind
                                                          == VL_TREE_FOLDER,
                                                      NULL)
                                 : NULL;
    const char         *thumb = e->id;

    if (e->kind == VL_TREE_FOLDER && (sc == NULL || sc->nitems == 0)) {
        r->kind = VL_P3_REF_COLLECTION;
        r->id = vl_tree_uri(s->pool, base, e->id, "/collection.json");
        thumb = NULL;
    } else {
        r->kind = VL_P3_REF_MANIFEST;
        r->id = vl_tree_uri(s->pool, base, e->id, "/manifest");
        if (e->kind == VL_TREE_FOLDER) {
            /* an object: the first file it lists */
            const char *item = sc->items[0];
            size_t      len = strlen(item);
            size_t      slen = strlen(s->conf->filesystem_suffix);

            thumb = len > slen ? vl_pool_printf(s->pool, "%s/%.*s", e->id,
                                                (int) (len - slen), item)
                               : NULL;
        }
    }
    if (sc != NULL && sc->label.n > 0) {
        r->label = sc->label;
    } else if (vl_langmap_none(s->pool, e->name, &r->label) != VL_OK) {
        return VL_ENOMEM;
    }
    if (thumb != NULL) {
        collection_thumb(s, thumb, &r->thumbnail);
    }
    return r->id != NULL ? VL_OK : VL_ENOMEM;
}

static int
collection_prepare(vl_serve_t *s, void *ctxv, vl_source_t *none,
                   vl_respond_what_t *w, vl_err_t *err)
{
    collection_ctx_t   *ctx = ctxv;
    const char         *base = vl_serve_base(s);
    size_t              size = (size_t) s->conf->collection_size;
    size_t              nparts, first = 0, count;
    vl_file_id_t        dir, own = { 0 };
    vl_hash_t           h;
    long long           mtime;
    const vl_sidecar_t *sc;
    const char         *name;
    int                 rc;

    (void) none;
    if (base == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    ctx->dir = s->m.id.len == 0 ? "" : s->ir.id;
    if (s->m.route->kind == VL_ROUTE_PART) {
        if (s->m.part.len > 9 || s->m.part.data[0] == '0') {
            return vl_err_set(err, VL_ENOTFOUND, "no such part");
        }
        ctx->part = strtoul(vl_str_dup(s->pool, s->m.part), NULL, 10);
    }
    if ((rc = vl_tree_folder(s->conf, ctx->dir, &dir, err)) != VL_OK
        || (rc = vl_tree_list(s->pool, s->conf, ctx->dir, &ctx->e, &ctx->n,
                              err)) != VL_OK) {
        return rc;
    }
    nparts = (ctx->n + size - 1) / size;
    if (ctx->part > 0 && (ctx->n <= size || ctx->part > nparts)) {
        return vl_err_set(err, VL_ENOTFOUND, "no such part");
    }
    /* the folder's own sidecar (beside it, in its parent) names it */
    sc = ctx->dir[0] != '\0' ? collection_sidecar(s, ctx->dir, 1, &own)
                             : NULL;
    /* the identity of what is listed: the folder, its sidecar and every
     * entry */
    vl_hash_init(&h);
    vl_hash_u64(&h, (uint64_t) own.ino);
    vl_hash_u64(&h, (uint64_t) own.size);
    vl_hash_u64(&h, (uint64_t) own.mtime_ns);
    vl_hash_u64(&h, ctx->part);
    vl_hash_u64(&h, (uint64_t) dir.ino);
    vl_hash_u64(&h, (uint64_t) dir.mtime_ns);
    mtime = dir.mtime_ns / 1000000000LL;
    if (own.mtime_ns / 1000000000LL > mtime) {
        mtime = own.mtime_ns / 1000000000LL;
    }
    for (size_t i = 0; i < ctx->n; i++) {
        const vl_tree_entry_t *e = &ctx->e[i];

        vl_hash_str(&h, e->name);
        vl_hash_u64(&h, (uint64_t) e->kind);
        vl_hash_u64(&h, (uint64_t) e->file.ino);
        vl_hash_u64(&h, (uint64_t) e->file.size);
        vl_hash_u64(&h, (uint64_t) e->file.mtime_ns);
        vl_hash_u64(&h, (uint64_t) e->sidecar);
        vl_hash_u64(&h, (uint64_t) e->sidecar_file.size);
        vl_hash_u64(&h, (uint64_t) e->sidecar_file.mtime_ns);
        mtime = e->file.mtime_ns / 1000000000LL > mtime
                    ? e->file.mtime_ns / 1000000000LL : mtime;
        mtime = e->sidecar_file.mtime_ns / 1000000000LL > mtime
                    ? e->sidecar_file.mtime_ns / 1000000000LL : mtime;
    }
    vl_hash_final(&h, w->extra);
    w->mtime = mtime;

    /* id and label: the folder's own sidecar may name it */
    if (ctx->dir[0] == '\0') {
        ctx->c.id = ctx->part > 0
                        ? vl_pool_printf(s->pool, "%scollection/%lu.json",
                                         base, ctx->part)
                        : vl_pool_printf(s->pool, "%scollection.json", base);
    } else {
        char tail[48];

        snprintf(tail, sizeof(tail), "/collection/%lu.json", ctx->part);
        ctx->c.id = vl_tree_uri(s->pool, base, ctx->dir,
                                ctx->part > 0 ? tail : "/collection.json");
    }
    name = ctx->dir[0] == '\0'
               ? (s->conf->provider_label[0] != '\0' ? s->conf->provider_label
                                                     : "All images")
           : strrchr(ctx->dir, '/') != NULL ? strrchr(ctx->dir, '/') + 1
                                            : ctx->dir;
    if (sc != NULL && sc->label.n > 0 && ctx->part == 0) {
        ctx->c.label = sc->label;
    } else if (ctx->part > 0) {
        first = (ctx->part - 1) * size;
        count = ctx->n - first < size ? ctx->n - first : size;
        rc = vl_langmap_none(s->pool,
                             vl_pool_printf(s->pool, "%s: %s to %s", name,
                                            ctx->e[first].name,
                                            ctx->e[first + count - 1].name),
                             &ctx->c.label);
    } else {
        rc = vl_langmap_none(s->pool, name, &ctx->c.label);
    }
    if (sc != NULL) {
        ctx->c.summary = sc->summary;
        ctx->c.rights = vl_p3_rights(s->pool, sc->rights);
    }
    if (rc != VL_OK || ctx->c.id == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    w->request = ctx->c.id;
    w->media = VL_P3_MEDIA;
    return VL_OK;
}

static int
collection_build(vl_serve_t *s, void *ctxv, vl_source_t *none,
                 vl_body_t *out, vl_err_t *err)
{
    collection_ctx_t *ctx = ctxv;
    size_t            size = (size_t) s->conf->collection_size;
    size_t            first = 0, count = ctx->n;
    char             *json;
    size_t            len;
    int               rc;

    (void) none;
    if (ctx->n > size && ctx->part == 0) {
        /* the folder as parts */
        size_t nparts = (ctx->n + size - 1) / size;
        char   tail[48];

        ctx->c.items = vl_pool_calloc(s->pool, nparts,
                                      sizeof(*ctx->c.items));
        if (ctx->c.items == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        for (size_t k = 0; k < nparts; k++) {
            vl_p3_ref_t *r = &ctx->c.items[k];
            size_t       a = k * size;
            size_t       b = a + size < ctx->n ? a + size : ctx->n;

            snprintf(tail, sizeof(tail), "collection/%zu.json", k + 1);
            r->kind = VL_P3_REF_COLLECTION;
            r->id = ctx->dir[0] == '\0'
                        ? vl_pool_printf(s->pool, "%s%s", vl_serve_base(s),
                                         tail)
                        : vl_tree_uri(s->pool, vl_serve_base(s), ctx->dir,
                                      vl_pool_printf(s->pool, "/%s", tail));
            if (r->id == NULL
                || vl_langmap_none(s->pool,
                                   vl_pool_printf(s->pool, "%s to %s",
                                                  ctx->e[a].name,
                                                  ctx->e[b - 1].name),
                                   &r->label) != VL_OK) {
                return vl_err_set(err, VL_ENOMEM, "out of memory");
            }
        }
        ctx->c.nitems = nparts;
    } else {
        if (ctx->part > 0) {
            first = (ctx->part - 1) * size;
            count = ctx->n - first < size ? ctx->n - first : size;
        }
        ctx->c.items = vl_pool_calloc(s->pool, count + 1,
                                      sizeof(*ctx->c.items));
        if (ctx->c.items == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < count; i++) {
            if (collection_ref(s, &ctx->e[first + i], &ctx->c.items[i])
                != VL_OK) {
                return vl_err_set(err, VL_ENOMEM, "out of memory");
            }
        }
        ctx->c.nitems = count;
    }
    if ((rc = vl_p3_collection_json(s->pool, &ctx->c, &json, &len, err))
        != VL_OK) {
        return rc;
    }
    out->data = (const unsigned char *) json;
    out->len = len;
    out->type = VL_P3_MEDIA;
    return VL_OK;
}

static const vl_respond_ops_t collection_ops = {
    "collection", 0, NULL, collection_prepare, NULL, collection_build, NULL,
};

void
vl_serve_collection(vl_serve_t *s)
{
    collection_ctx_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    vl_respond(s, &collection_ops, &ctx);
}
