/* SPDX-License-Identifier: MIT */
/*
 * collection: the IIIF Presentation 3 Collection of a folder of the image
 * tree: /collection.json for the root, {folder}/collection.json for every
 * folder under it. Its items are the folder's images and objects (Manifest
 * references with a label and a thumbnail) and its sub-folders
 * (Collection references), by name. Presentation 3 pages no Collection: a
 * folder of more than COLLECTION_SIZE entries lists instead sub-Collections
 * {folder}/collection/{k}.json of COLLECTION_SIZE entries each, by name,
 * labelled with their first and last names.
 *
 * prepare lists the folder by name and kind only (readdir, one fstatat per
 * entry) and hashes that, with the sidecars and the file each object's
 * thumbnail comes from, into the ETag: a 304 reads no image. build opens
 * the images of the one part it shows (at most COLLECTION_SIZE): a file
 * that turns out not to be an image is left out there.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "present/tree.h"
#include "serve/serve_p.h"

/* An entry of the part shown, with what prepare learnt of it. */
typedef struct {
    const vl_tree_entry_t *e;
    vl_sidecar_t           sc;
    int                    has_sc;
    const char            *thumb;   /* a folder that is an object: the
                                       image of its thumbnail (the first
                                       of its items there), else NULL */
} collection_item_t;

typedef struct {
    vl_p3_collection_t c;
    const char        *dir;       /* the folder's identifier, "" root */
    unsigned long      part;      /* 0: the folder; k: its k-th part */
    vl_tree_entry_t   *e;
    size_t             n;
    vl_sidecar_t       sc;        /* the folder's own */
    int                has_sc;
    collection_item_t *items;     /* the entries shown (no parts) */
    size_t             first, count;
} collection_ctx_t;

static int
collection_entry_cmp(const void *key, const void *e)
{
    return strcmp((const char *) key, ((const vl_tree_entry_t *) e)->name);
}

/* An object's thumbnail: the first of its items that is an image entry
 * of its folder; its identity into h. */
static int
collection_object_thumb(vl_serve_t *s, collection_item_t *it, vl_hash_t *h)
{
    vl_tree_entry_t *e;
    size_t           n;
    vl_err_t         err = { 0 };

    if (vl_tree_list(s->pool, s->conf, it->e->id, 0, &e, &n, &err)
        != VL_OK) {
        return err.code == VL_ENOMEM ? VL_ENOMEM : VL_OK;
    }
    for (size_t i = 0; n > 0 && i < it->sc.nitems; i++) {
        const vl_tree_entry_t *f = bsearch(it->sc.items[i], e, n, sizeof(*e),
                                           collection_entry_cmp);

        if (f != NULL && f->kind == VL_TREE_IMAGE) {
            it->thumb = f->id;
            vl_hash_file(h, &f->file);
            return VL_OK;
        }
    }
    return VL_OK;
}

/* 1 if folder e shares its identifier with an image of the folder
 * ("book/" beside "book.tif" with FILESYSTEM_SUFFIX=.tif): {id}/manifest
 * is the image's, so the folder is no object, only a Collection. */
static int
collection_shadowed(vl_serve_t *s, const collection_ctx_t *ctx,
                    const vl_tree_entry_t *e)
{
    const char            *suffix = s->conf->filesystem_suffix;
    const char            *name;
    const vl_tree_entry_t *f;

    if (suffix[0] == '\0'
        || (name = vl_pool_printf(s->pool, "%s%s", e->name, suffix))
               == NULL) {
        return 0;
    }
    f = bsearch(name, ctx->e, ctx->n, sizeof(*ctx->e), collection_entry_cmp);
    return f != NULL && f->kind == VL_TREE_IMAGE;
}

/* The entries of the part shown: sidecars read, objects told from
 * folders, everything the bytes depend on into h. */
static int
collection_items(vl_serve_t *s, collection_ctx_t *ctx, vl_hash_t *h)
{
    ctx->items = vl_pool_calloc(s->pool, ctx->count + 1,
                                sizeof(*ctx->items));
    if (ctx->items == NULL) {
        return VL_ENOMEM;
    }
    for (size_t i = 0; i < ctx->count; i++) {
        collection_item_t *it = &ctx->items[i];
        vl_file_id_t       f;

        it->e = &ctx->e[ctx->first + i];
        if (it->e->sidecar) {
            it->has_sc = vl_serve_sidecar(s, it->e->id,
                                          it->e->kind == VL_TREE_FOLDER,
                                          &it->sc, &f);
            vl_hash_file(h, &f);
        }
        if (it->e->kind == VL_TREE_FOLDER && it->has_sc
            && it->sc.nitems > 0 && !collection_shadowed(s, ctx, it->e)
            && collection_object_thumb(s, it, h) != VL_OK) {
            return VL_ENOMEM;
        }
        vl_hash_u64(h, it->thumb != NULL);
    }
    return VL_OK;
}

/* The thumbnail of image sid (as the manifest's: no services) and its
 * label when it has no sidecar: its title tag. 0: sid is no image. */
static int
collection_image(vl_serve_t *s, const char *sid, vl_p3_image_t *img,
                 const char **title)
{
    vl_err_t         err = { 0 };
    vl_source_t     *src = vl_source_get(s->app->sources, s->conf, sid, &err);
    const vl_geom_t *g;
    uint32_t         w, h;
    int              rc;

    memset(img, 0, sizeof(*img));
    if (src == NULL) {
        return err.code == VL_ENOMEM ? -1 : 0;
    }
    g = &vl_source_info(src)->geom;
    vl_serve_thumb_size(s->conf, g, &w, &h);
    if (title != NULL) {
        const char *t = vl_source_info(src)->title;

        *title = t != NULL && t[0] != '\0' ? vl_pool_strdup(s->pool, t)
                                           : NULL;
    }
    vl_source_put(s->app->sources, src);
    /* a reference's thumbnail: the image alone */
    rc = vl_serve_p3_image(s, vl_serve_base(s), NULL, sid, w, h, 0, img);
    img->service3 = NULL;
    return rc == VL_OK ? 1 : -1;
}

/* The reference of item it into r; 0: left out (not an image). */
static int
collection_ref(vl_serve_t *s, collection_item_t *it, vl_p3_ref_t *r)
{
    const vl_tree_entry_t *e = it->e;
    const char            *base = vl_serve_base(s);
    const char            *title = NULL, *name = vl_serve_name_of(e->id);
    int                    rc = 1;

    /* a folder is an object when its sidecar lists an image of it (else
     * its manifest would be a 404): a Collection otherwise */
    if (e->kind == VL_TREE_FOLDER && it->thumb == NULL) {
        r->kind = VL_P3_REF_COLLECTION;
        r->id = vl_tree_uri(s->pool, base, e->id, "/collection.json");
    } else {
        r->kind = VL_P3_REF_MANIFEST;
        r->id = vl_tree_uri(s->pool, base, e->id, "/manifest");
        if (e->kind == VL_TREE_IMAGE) {
            rc = collection_image(s, e->id, &r->thumbnail, &title);
        } else {
            rc = collection_image(s, it->thumb, &r->thumbnail, NULL) < 0
                     ? -1 : 1;
        }
        if (rc <= 0) {
            return rc;
        }
    }
    /* the label its own manifest or collection has */
    if (it->has_sc && it->sc.label.n > 0) {
        r->label = it->sc.label;
    } else if (vl_langmap_none(s->pool, title != NULL ? title : name,
                               &r->label) != VL_OK) {
        return -1;
    }
    return r->id != NULL ? 1 : -1;
}

static int
collection_prepare(vl_serve_t *s, void *ctxv, vl_source_t *none,
                   vl_respond_what_t *w, vl_err_t *err)
{
    collection_ctx_t *ctx = ctxv;
    const char       *base = vl_serve_base(s);
    size_t            size = (size_t) s->conf->collection_size;
    size_t            nparts;
    vl_file_id_t      dir, own;
    vl_hash_t         h;
    int               rc;

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
        || (rc = vl_tree_list(s->pool, s->conf, ctx->dir, 0, &ctx->e,
                              &ctx->n, err)) != VL_OK) {
        return rc;
    }
    nparts = (ctx->n + size - 1) / size;
    if (ctx->part > 0 && (ctx->n <= size || ctx->part > nparts)) {
        return vl_err_set(err, VL_ENOTFOUND, "no such part");
    }
    /* the folder's own sidecar (beside it, in its parent) describes it */
    memset(&own, 0, sizeof(own));
    if (ctx->dir[0] != '\0') {
        ctx->has_sc = vl_serve_sidecar(s, ctx->dir, 1, &ctx->sc, &own);
    }
    /* the identity of what is shown: the folder, its sidecar, every
     * entry by name, kind and identity, and for the entries of the part
     * shown their sidecars and objects' thumbnails */
    vl_hash_init(&h);
    vl_hash_u64(&h, ctx->part);
    vl_hash_file(&h, &dir);
    vl_hash_file(&h, &own);
    for (size_t i = 0; i < ctx->n; i++) {
        const vl_tree_entry_t *e = &ctx->e[i];

        vl_hash_str(&h, e->name);
        vl_hash_u64(&h, (uint64_t) e->kind);
        vl_hash_file(&h, &e->file);
        vl_hash_u64(&h, (uint64_t) e->sidecar);
        vl_hash_file(&h, &e->sidecar_file);
    }
    if (ctx->n <= size || ctx->part > 0) {
        ctx->first = ctx->part > 0 ? (ctx->part - 1) * size : 0;
        ctx->count = ctx->n - ctx->first < size ? ctx->n - ctx->first : size;
        if (collection_items(s, ctx, &h) != VL_OK) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
    }
    vl_hash_final(&h, w->extra);
    /* the same bytes whichever Image API version the request chose */
    w->version = 0;

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
    if (ctx->c.id == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    w->request = ctx->c.id;
    w->media = VL_P3_MEDIA;
    return VL_OK;
}

/* The folder shown as its parts. */
static int
collection_parts(vl_serve_t *s, collection_ctx_t *ctx)
{
    size_t size = (size_t) s->conf->collection_size;
    size_t nparts = (ctx->n + size - 1) / size;

    ctx->c.items = vl_pool_calloc(s->pool, nparts, sizeof(*ctx->c.items));
    if (ctx->c.items == NULL) {
        return VL_ENOMEM;
    }
    for (size_t k = 0; k < nparts; k++) {
        vl_p3_ref_t *r = &ctx->c.items[k];
        size_t       a = k * size;
        size_t       b = a + size < ctx->n ? a + size : ctx->n;
        char         tail[48];

        snprintf(tail, sizeof(tail), "collection/%zu.json", k + 1);
        r->kind = VL_P3_REF_COLLECTION;
        r->id = ctx->dir[0] == '\0'
                    ? vl_pool_printf(s->pool, "%s%s", vl_serve_base(s), tail)
                    : vl_tree_uri(s->pool, vl_serve_base(s), ctx->dir,
                                  vl_pool_printf(s->pool, "/%s", tail));
        if (r->id == NULL
            || vl_langmap_none(s->pool,
                               vl_pool_printf(s->pool, "%s to %s",
                                              ctx->e[a].name,
                                              ctx->e[b - 1].name),
                               &r->label) != VL_OK) {
            return VL_ENOMEM;
        }
    }
    ctx->c.nitems = nparts;
    return VL_OK;
}

static int
collection_build(vl_serve_t *s, void *ctxv, vl_source_t *none,
                 vl_body_t *out, vl_err_t *err)
{
    collection_ctx_t *ctx = ctxv;
    char             *json;
    size_t            len;
    int               rc;

    (void) none;
    rc = vl_serve_describe(s, ctx->has_sc ? &ctx->sc : NULL, ctx->dir, NULL,
                           1, &ctx->c.d, err);
    if (rc != VL_OK) {
        return rc;
    }
    if (ctx->part > 0) {
        /* a part: "folder: first to last" */
        const char *name = ctx->dir[0] != '\0' ? vl_serve_name_of(ctx->dir)
                                               : NULL;
        const char *label = vl_pool_printf(
            s->pool, "%s%s%s to %s", name != NULL ? name : "",
            name != NULL ? ": " : "", ctx->e[ctx->first].name,
            ctx->e[ctx->first + ctx->count - 1].name);

        if (label == NULL
            || vl_langmap_none(s->pool, label, &ctx->c.d.label) != VL_OK) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
    }
    if (ctx->items == NULL) {
        if (collection_parts(s, ctx) != VL_OK) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
    } else {
        ctx->c.items = vl_pool_calloc(s->pool, ctx->count + 1,
                                      sizeof(*ctx->c.items));
        if (ctx->c.items == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < ctx->count; i++) {
            rc = collection_ref(s, &ctx->items[i],
                                &ctx->c.items[ctx->c.nitems]);
            if (rc < 0) {
                return vl_err_set(err, VL_ENOMEM, "out of memory");
            }
            ctx->c.nitems += (size_t) rc;
        }
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
    VL_RESPOND_DOC,
};

void
vl_serve_collection(vl_serve_t *s)
{
    collection_ctx_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    vl_respond(s, &collection_ops, &ctx);
}
