/* SPDX-License-Identifier: MIT */
/*
 * manifest: the IIIF Presentation 3 Manifest of an identifier,
 * {id}/manifest (and {id}/manifest.json, whose id is the canonical
 * {id}/manifest). An identifier is an image (one Canvas; a multi-page
 * TIFF: one Canvas per page, each page its own image service
 * "{id};{n}"), or a folder made one object by its sidecar (one Canvas per
 * file it lists). What the manifest says is decided in describe.c.
 *
 * Served through the cached response flow. prepare only identifies what
 * the bytes depend on (the image file, or the object folder's listing, and
 * the sidecar), so a 304 costs one handle and a readdir; build opens the
 * pages and files and writes the JSON.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "present/tree.h"
#include "proto/plan.h"
#include "serve/serve_p.h"

/* Canvases of one manifest at most (a book of more pages is cut). */
#define MANIFEST_MAX_CANVASES 5000

typedef struct {
    vl_p3_manifest_t m;
    vl_sidecar_t     sc;
    int              has_sc;
    const char      *uri;        /* the Manifest URI */
    const char      *file_id;    /* the identifier without a page: its
                                    sidecar's, the {id} of templates */
    const char      *base3;      /* service bases, or NULL */
    const char      *base2;
    vl_source_t     *src;        /* an image: its source (leased) */
    /* an object: the folder's image entries the sidecar's items name, in
     * the items' order, and the index of each in the items */
    const vl_tree_entry_t **items;
    size_t                 *item_at;
    size_t                  nitems;
    size_t                  nmissing;   /* items that are not entries */
    const char             *missing;    /* the first of them */
} manifest_ctx_t;

/* The bases of the ImageService3 and ImageService2 of this request: the
 * request's own base, and when it names its API version ("/3/" or "/2/"
 * right before the identifier, as the shipped web-server configurations
 * do), the other version's beside it; else the default version's only. */
static void
manifest_bases(vl_serve_t *s, manifest_ctx_t *ctx, const char *base)
{
    size_t n = strlen(base);

    ctx->base3 = ctx->base2 = NULL;
    if (n >= 3 && base[n - 1] == '/' && base[n - 3] == '/'
        && (base[n - 2] == '2' || base[n - 2] == '3'))
    {
        char *b3 = vl_pool_strdup(s->pool, base);
        char *b2 = vl_pool_strdup(s->pool, base);

        if (b3 != NULL && b2 != NULL) {
            b3[n - 2] = '3';
            b2[n - 2] = '2';
            ctx->base3 = b3;
            ctx->base2 = b2;
        }
        return;
    }
    if (s->version == 2) {
        ctx->base2 = base;
    } else {
        ctx->base3 = base;
    }
}

/* The canvas keyed key ("3": the third canvas of an image or item; "2-5":
 * page 5 of an object's second item) painted by image sid of geometry g
 * (its size and levels). Keys stay with what they show: a missing item
 * renumbers nothing. */
static int
manifest_canvas(vl_serve_t *s, manifest_ctx_t *ctx, const vl_geom_t *g,
                const char *sid, const char *key, vl_p3_canvas_t *c,
                vl_err_t *err)
{
    uint32_t mw, mh, tw, th;

    c->id = vl_pool_printf(s->pool, "%s/canvas/%s", ctx->uri, key);
    c->page_id = vl_pool_printf(s->pool, "%s/page/%s", ctx->uri, key);
    c->anno_id = vl_pool_printf(s->pool, "%s/annotation/%s", ctx->uri, key);
    c->width = g->width;
    c->height = g->height;
    vl_plan_max_size(g->width, g->height, &s->conf->limits, &mw, &mh);
    vl_serve_thumb_size(s->conf, g, &tw, &th);
    if (c->id == NULL || c->page_id == NULL || c->anno_id == NULL
        || vl_serve_p3_image(s, ctx->base3, ctx->base2, sid, mw, mh, 1,
                             &c->body) != VL_OK
        || vl_serve_p3_image(s, ctx->base3, ctx->base2, sid, tw, th, 0,
                             &c->thumbnail) != VL_OK) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    return VL_OK;
}

/* The geometry of a page of the table, as far as a canvas needs it. */
static void
manifest_page_geom(const vl_page_size_t *p, vl_geom_t *g)
{
    memset(g, 0, sizeof(*g));
    g->width = p->width;
    g->height = p->height;
    g->nlevels = p->nlevels;
    for (uint32_t i = 0; i < p->nlevels && i < VL_MAX_LEVELS; i++) {
        g->levels[i].width = p->level_w[i];
        g->levels[i].height = p->level_h[i];
    }
}

/* The file's identifier of page identifier id (vl_iiif_is_page). */
static char *
manifest_file_of(vl_pool_t *pool, const char *id, const char *delim)
{
    size_t n = strlen(id);

    while (n > 0 && id[n - 1] >= '0' && id[n - 1] <= '9') {
        n--;
    }
    return vl_pool_printf(pool, "%.*s", (int) (n - strlen(delim)), id);
}

/* Append the canvases of the pages of src (identifier id, a file): one
 * per page (a multi-page file whose pages are on), their sizes from its
 * page table (one walk of the file), else from opening each; a page
 * vellum cannot read is left out. item: the object's item number (1..)
 * whose pages these are, 0 for an image manifest. label: the first
 * canvas's label (NULL: by the sidecar or the page number). */
static int
manifest_pages(vl_serve_t *s, manifest_ctx_t *ctx, vl_source_t *src,
               const char *id, size_t item, const vl_langmap_t *label,
               const char *name, size_t cap, vl_err_t *err)
{
    const vl_source_info_t *si = vl_source_info(src);
    const char             *delim = s->conf->iiif_delimiter;
    size_t                  n = si->pages > 1 && delim[0] != '\0'
                                    && !vl_iiif_is_page(id, delim)
                                    ? si->pages : 1;
    uint32_t                ntable;
    const vl_page_size_t   *table = vl_source_page_sizes(src, &ntable);
    int                     rc;

    for (size_t p = 1; p <= n && ctx->m.ncanvases < cap; p++) {
        vl_p3_canvas_t *c = &ctx->m.canvases[ctx->m.ncanvases];
        const char     *sid = id;
        vl_geom_t       g;
        char            key[48], text[64];

        if (n == 1 || p == si->page) {
            g = si->geom;
        } else if (p <= ntable && table[p - 1].width > 0
                   && table[p - 1].height > 0) {
            manifest_page_geom(&table[p - 1], &g);
        } else {
            vl_source_t *psrc;
            vl_err_t     perr = { 0 };

            sid = vl_pool_printf(s->pool, "%s%s%zu", id, delim, p);
            psrc = sid != NULL
                       ? vl_source_get(s->app->sources, s->conf, sid, &perr)
                       : NULL;
            if (psrc == NULL) {
                if (sid == NULL || perr.code == VL_ENOMEM) {
                    return vl_err_set(err, VL_ENOMEM, "out of memory");
                }
                continue;
            }
            g = vl_source_info(psrc)->geom;
            vl_source_put(s->app->sources, psrc);
        }
        if (n > 1 && (sid = vl_pool_printf(s->pool, "%s%s%zu", id, delim, p))
                         == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        if (item == 0) {
            snprintf(key, sizeof(key), "%zu", p);
        } else if (n == 1) {
            snprintf(key, sizeof(key), "%zu", item);
        } else {
            snprintf(key, sizeof(key), "%zu-%zu", item, p);
        }
        if ((rc = manifest_canvas(s, ctx, &g, sid, key, c, err)) != VL_OK) {
            return rc;
        }
        /* its label: an image's from the sidecar's canvases, else "p. n"
         * when there are pages, else the manifest's; an item's from the
         * sidecar's canvases (its first page), else its file name */
        rc = VL_OK;
        if (item == 0 && ctx->has_sc && p <= ctx->sc.ncanvas_labels) {
            c->label = ctx->sc.canvas_labels[p - 1];
        } else if (item == 0 && n == 1) {
            c->label = ctx->m.d.label;
        } else if (item > 0 && p == 1 && label != NULL) {
            c->label = *label;
        } else if (item > 0 && n == 1) {
            rc = vl_langmap_none(s->pool, name, &c->label);
        } else {
            snprintf(text, sizeof(text), "%.40s%sp. %zu",
                     item > 0 ? name : "", item > 0 ? ", " : "", p);
            rc = vl_langmap_none(s->pool, text, &c->label);
        }
        if (rc != VL_OK) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        ctx->m.ncanvases++;
    }
    return VL_OK;
}

/* An image: one Canvas, or one per page. */
static int
manifest_of_image(vl_serve_t *s, manifest_ctx_t *ctx, vl_err_t *err)
{
    const vl_source_info_t *si = vl_source_info(ctx->src);
    size_t                  cap = si->pages < MANIFEST_MAX_CANVASES
                                      ? si->pages : MANIFEST_MAX_CANVASES;
    int                     rc;

    if ((rc = vl_serve_describe(s, ctx->has_sc ? &ctx->sc : NULL,
                                ctx->file_id, si, 0, &ctx->m.d, err))
        != VL_OK) {
        return rc;
    }
    ctx->m.canvases = vl_pool_calloc(s->pool, cap + 1,
                                     sizeof(*ctx->m.canvases));
    if (ctx->m.canvases == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = manifest_pages(s, ctx, ctx->src, s->ir.id, 0, NULL, NULL,
                             cap + 1, err)) != VL_OK) {
        return rc;
    }
    if (ctx->m.ncanvases == 0) {
        return vl_err_set(err, VL_EFORMAT, "no page vellum reads");
    }
    ctx->m.d.thumbnail = ctx->m.canvases[0].thumbnail;
    return VL_OK;
}

static int
manifest_entry_cmp(const void *key, const void *e)
{
    return strcmp((const char *) key, ((const vl_tree_entry_t *) e)->name);
}

/* An object: the entries of its folder that its sidecar's items name
 * (images by name and kind; read in build). */
static int
manifest_object_items(vl_serve_t *s, manifest_ctx_t *ctx, vl_hash_t *h,
                      vl_err_t *err)
{
    vl_tree_entry_t *e;
    size_t           n, cap = ctx->sc.nitems;
    int              rc;

    if ((rc = vl_tree_list(s->pool, s->conf, s->ir.id, 0, &e, &n, err))
        != VL_OK) {
        return rc;
    }
    if (cap > MANIFEST_MAX_CANVASES) {
        cap = MANIFEST_MAX_CANVASES;
    }
    ctx->items = vl_pool_calloc(s->pool, cap + 1, sizeof(*ctx->items));
    ctx->item_at = vl_pool_calloc(s->pool, cap + 1, sizeof(*ctx->item_at));
    if (ctx->items == NULL || ctx->item_at == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ctx->sc.nitems && ctx->nitems < cap; i++) {
        const vl_tree_entry_t *f = n > 0 ? bsearch(ctx->sc.items[i], e, n,
                                                   sizeof(*e),
                                                   manifest_entry_cmp)
                                         : NULL;

        if (f == NULL || f->kind != VL_TREE_IMAGE) {
            if (ctx->nmissing++ == 0) {
                ctx->missing = ctx->sc.items[i];
            }
            continue;
        }
        ctx->item_at[ctx->nitems] = i;
        ctx->items[ctx->nitems++] = f;
        vl_hash_str(h, f->name);
        vl_hash_file(h, &f->file);
    }
    if (ctx->nitems == 0) {
        return vl_err_set(err, VL_ENOTFOUND, "the object lists no image");
    }
    return VL_OK;
}

/* A folder whose sidecar lists its files: one Canvas per file (one per
 * page of a multi-page file), keyed by its place in items. */
static int
manifest_of_object(vl_serve_t *s, manifest_ctx_t *ctx, vl_err_t *err)
{
    const char *id = s->ir.id;
    size_t      bad = 0;
    int         rc;

    if ((rc = vl_serve_describe(s, &ctx->sc, id, NULL, 0, &ctx->m.d, err))
        != VL_OK) {
        return rc;
    }
    ctx->m.canvases = vl_pool_calloc(s->pool, MANIFEST_MAX_CANVASES + 1,
                                     sizeof(*ctx->m.canvases));
    if (ctx->m.canvases == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ctx->nitems; i++) {
        const vl_tree_entry_t *e = ctx->items[i];
        size_t                 at = ctx->item_at[i];
        const vl_langmap_t    *label = NULL;
        vl_source_t           *src;
        vl_err_t               ierr = { 0 };

        src = vl_source_get(s->app->sources, s->conf, e->id, &ierr);
        if (src == NULL) {
            if (bad++ == 0 && ctx->nmissing == 0) {
                ctx->missing = e->name;
            }
            continue;
        }
        /* the label the sidecar gives this item, wherever it lands */
        if (at < ctx->sc.ncanvas_labels) {
            label = &ctx->sc.canvas_labels[at];
        }
        rc = manifest_pages(s, ctx, src, e->id, at + 1, label, e->name,
                            MANIFEST_MAX_CANVASES, err);
        vl_source_put(s->app->sources, src);
        if (rc != VL_OK) {
            return rc;
        }
    }
    if (ctx->nmissing + bad > 0) {
        /* one line, however many */
        vl_log(VL_LOG_ERROR, s->req->reqid, "sidecar %s%s: items: %zu of "
               "%zu are not images of the folder (the first: %s): left out",
               id, VL_SIDECAR_SUFFIX, ctx->nmissing + bad, ctx->sc.nitems,
               ctx->missing);
    }
    if (ctx->m.ncanvases == 0) {
        return vl_err_set(err, VL_ENOTFOUND, "the object lists no image");
    }
    ctx->m.d.thumbnail = ctx->m.canvases[0].thumbnail;
    return VL_OK;
}

static int
manifest_prepare(vl_serve_t *s, void *ctxv, vl_source_t *none,
                 vl_respond_what_t *w, vl_err_t *err)
{
    manifest_ctx_t *ctx = ctxv;
    const char     *base = vl_serve_base(s);
    vl_file_id_t    scfile;
    vl_err_t        serr = { 0 };
    vl_hash_t       h;
    int             rc;

    (void) none;
    if (base == NULL
        || (ctx->uri = vl_tree_uri(s->pool, base, s->ir.id, "/manifest"))
               == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    manifest_bases(s, ctx, base);
    ctx->m.id = ctx->uri;
    vl_hash_init(&h);
    ctx->src = vl_serve_source(s, &serr);
    if (ctx->src != NULL) {
        const vl_source_info_t *si = vl_source_info(ctx->src);

        /* an image: the file (all its pages) and its sidecar, which a
         * page's manifest shares with the file's */
        ctx->file_id = s->ir.id;
        if (vl_iiif_is_page(s->ir.id, s->conf->iiif_delimiter)
            && (ctx->file_id = manifest_file_of(s->pool, s->ir.id,
                                                s->conf->iiif_delimiter))
                   == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        ctx->has_sc = vl_serve_sidecar(s, ctx->file_id, 0, &ctx->sc,
                                       &scfile);
        vl_hash_str(&h, "image");
        vl_hash_file(&h, &si->file);
    } else if (serr.code == VL_ENOTFOUND) {
        /* an object: the folder's sidecar and the files it lists */
        ctx->has_sc = vl_serve_sidecar(s, s->ir.id, 1, &ctx->sc, &scfile);
        if (!ctx->has_sc || ctx->sc.nitems == 0) {
            *err = serr;
            return serr.code;
        }
        vl_hash_str(&h, "object");
        if ((rc = manifest_object_items(s, ctx, &h, err)) != VL_OK) {
            return rc;
        }
    } else {
        *err = serr;
        return serr.code;
    }
    vl_hash_file(&h, &scfile);
    vl_hash_str(&h, ctx->base3);
    vl_hash_str(&h, ctx->base2);
    vl_hash_final(&h, w->extra);
    w->request = ctx->uri;
    w->media = VL_P3_MEDIA;
    return VL_OK;
}

static int
manifest_build(vl_serve_t *s, void *ctxv, vl_source_t *none, vl_body_t *out,
               vl_err_t *err)
{
    manifest_ctx_t *ctx = ctxv;
    char           *json;
    size_t          len;
    int             rc;

    (void) none;
    rc = ctx->src != NULL ? manifest_of_image(s, ctx, err)
                          : manifest_of_object(s, ctx, err);
    if (rc != VL_OK
        || (rc = vl_p3_manifest_json(s->pool, &ctx->m, &json, &len, err))
               != VL_OK) {
        return rc;
    }
    out->data = (const unsigned char *) json;
    out->len = len;
    out->type = VL_P3_MEDIA;
    return VL_OK;
}

/* Vary: Accept, as the services given follow the request's version when
 * its base names none. */
static const vl_respond_ops_t manifest_ops = {
    "manifest", 0, "Accept", manifest_prepare, NULL, manifest_build, NULL,
    VL_RESPOND_DOC,
};

void
vl_serve_manifest(vl_serve_t *s)
{
    manifest_ctx_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    vl_respond(s, &manifest_ops, &ctx);
}
