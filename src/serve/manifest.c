/* SPDX-License-Identifier: MIT */
/*
 * manifest: the IIIF Presentation 3 Manifest of an identifier,
 * {id}/manifest (and {id}/manifest.json, whose id is the canonical
 * {id}/manifest). An identifier is an image (one Canvas; a multi-page
 * TIFF: one Canvas per page, each page its own image service
 * "{id};{n}"), or a folder made one object by its sidecar (one Canvas per
 * file it lists). What the manifest says comes, in order, from the
 * sidecar beside the image or folder (present/sidecar.h), the file's own
 * tags, and the file name; the provider, homepage and seeAlso from the
 * configuration when the sidecar has none. Served through the cached
 * response flow; the digest covers the image, its sidecar and the pages.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/hash.h"
#include "core/log.h"
#include "present/manifest.h"
#include "present/sidecar.h"
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
    const char      *base3;      /* service bases, or NULL */
    const char      *base2;
    vl_hash_t        deps;       /* identities the bytes depend on */
    long long        mtime;
} manifest_ctx_t;

static int
manifest_has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

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
    if ((s->req->version_hint != 0 ? s->req->version_hint
                                   : s->conf->iiif_version) == 2) {
        ctx->base2 = base;
    } else {
        ctx->base3 = base;
    }
}

/* A template with {id} standing for the identifier (percent-encoded). */
static const char *
manifest_template(vl_pool_t *pool, const char *tpl, const char *id)
{
    const char *at = strstr(tpl, "{id}");
    char       *enc;

    if (at == NULL) {
        return tpl;
    }
    if ((enc = vl_percent_encode(pool, id, strlen(id))) == NULL) {
        return NULL;
    }
    return vl_pool_printf(pool, "%.*s%s%s", (int) (at - tpl), tpl, enc,
                          at + 4);
}

/* The thumbnail size of an image: the largest level (a size info.json
 * lists) whose longest side is within THUMBNAIL_SIZE, else the smallest. */
static void
manifest_thumb_size(const vl_conf_t *conf, const vl_geom_t *g, uint32_t *w,
                    uint32_t *h)
{
    uint64_t max = (uint64_t) conf->thumbnail_size;

    *w = g->levels[g->nlevels - 1].width;
    *h = g->levels[g->nlevels - 1].height;
    for (uint32_t i = 0; i < g->nlevels; i++) {
        const vl_level_t *lv = &g->levels[i];

        if (lv->width <= max && lv->height <= max) {
            *w = lv->width;
            *h = lv->height;
            return;
        }
    }
}

/* A content resource of service svc at one size: "w,h" in version 3, "w,"
 * (the same size, a level's) in version 2. */
static int
manifest_image(vl_serve_t *s, manifest_ctx_t *ctx, const char *sid,
               uint32_t w, uint32_t h, int max, vl_p3_image_t *img)
{
    const char *b = ctx->base3 != NULL ? ctx->base3 : ctx->base2;

    img->service3 = ctx->base3 != NULL
                        ? vl_tree_uri(s->pool, ctx->base3, sid, "")
                        : NULL;
    img->service2 = ctx->base2 != NULL
                        ? vl_tree_uri(s->pool, ctx->base2, sid, "")
                        : NULL;
    img->format = "image/jpeg";
    img->width = w;
    img->height = h;
    if (max) {
        img->id = vl_tree_uri(s->pool, b, sid, "/full/max/0/default.jpg");
    } else {
        char tail[64];

        if (ctx->base3 != NULL) {
            snprintf(tail, sizeof(tail), "/full/%u,%u/0/default.jpg", w, h);
        } else {
            snprintf(tail, sizeof(tail), "/full/%u,/0/default.jpg", w);
        }
        img->id = vl_tree_uri(s->pool, b, sid, tail);
    }
    return img->id != NULL && (ctx->base3 == NULL || img->service3 != NULL)
                   && (ctx->base2 == NULL || img->service2 != NULL)
               ? VL_OK
               : VL_ENOMEM;
}

/* Canvas n (1-based) painted by image source src of identifier sid. */
static int
manifest_canvas(vl_serve_t *s, manifest_ctx_t *ctx, vl_source_t *src,
                const char *sid, size_t n, vl_p3_canvas_t *c, vl_err_t *err)
{
    const vl_source_info_t *si = vl_source_info(src);
    const vl_geom_t        *g = &si->geom;
    uint32_t                mw, mh, tw, th;
    char                    tail[48];

    snprintf(tail, sizeof(tail), "/canvas/%zu", n);
    c->id = vl_pool_printf(s->pool, "%s%s", ctx->uri, tail);
    snprintf(tail, sizeof(tail), "/page/%zu", n);
    c->page_id = vl_pool_printf(s->pool, "%s%s", ctx->uri, tail);
    snprintf(tail, sizeof(tail), "/annotation/%zu", n);
    c->anno_id = vl_pool_printf(s->pool, "%s%s", ctx->uri, tail);
    c->width = g->width;
    c->height = g->height;
    vl_plan_max_size(g->width, g->height, &s->conf->limits, &mw, &mh);
    manifest_thumb_size(s->conf, g, &tw, &th);
    if (c->id == NULL || c->page_id == NULL || c->anno_id == NULL
        || manifest_image(s, ctx, sid, mw, mh, 1, &c->body) != VL_OK
        || manifest_image(s, ctx, sid, tw, th, 0, &c->thumbnail) != VL_OK) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    vl_hash_u64(&ctx->deps, (uint64_t) si->file.dev);
    vl_hash_u64(&ctx->deps, (uint64_t) si->file.ino);
    vl_hash_u64(&ctx->deps, (uint64_t) si->file.size);
    vl_hash_u64(&ctx->deps, (uint64_t) si->file.mtime_ns);
    if (si->file.mtime_ns / 1000000000LL > ctx->mtime) {
        ctx->mtime = si->file.mtime_ns / 1000000000LL;
    }
    return VL_OK;
}

/* One text metadata entry "label": value. */
static int
manifest_meta_add(vl_serve_t *s, vl_p3_manifest_t *m, size_t *cap,
                  const char *label, const char *value)
{
    if (value == NULL || value[0] == '\0') {
        return VL_OK;
    }
    if (m->nmetadata == *cap) {
        vl_pair_t *p = vl_pool_calloc(s->pool, *cap * 2 + 4, sizeof(*p));

        if (p == NULL) {
            return VL_ENOMEM;
        }
        if (m->nmetadata > 0) {
            memcpy(p, m->metadata, m->nmetadata * sizeof(*p));
        }
        m->metadata = p;
        *cap = *cap * 2 + 4;
    }
    if (vl_langmap_none(s->pool, label, &m->metadata[m->nmetadata].label)
            != VL_OK
        || vl_langmap_none(s->pool, value, &m->metadata[m->nmetadata].value)
               != VL_OK) {
        return VL_ENOMEM;
    }
    m->nmetadata++;
    return VL_OK;
}

/* The sidecar of id (is_folder: a folder's), parsed; an invalid one is
 * logged once per request and left out. Its identity joins the digest. */
static void
manifest_sidecar(vl_serve_t *s, manifest_ctx_t *ctx, const char *id,
                 int is_folder)
{
    vl_file_id_t f;
    vl_err_t     err = { 0 };
    char        *text;
    size_t       len;

    ctx->has_sc = 0;
    if (vl_tree_sidecar(s->pool, s->conf, id, is_folder, VL_SIDECAR_MAX,
                        &text, &len, &f, &err) != VL_OK) {
        if (err.code != VL_ENOTFOUND) {
            vl_log(VL_LOG_WARN, s->req->reqid, "sidecar of %s: %s", id,
                   err.msg);
        }
        return;
    }
    vl_hash_u64(&ctx->deps, (uint64_t) f.dev);
    vl_hash_u64(&ctx->deps, (uint64_t) f.ino);
    vl_hash_u64(&ctx->deps, (uint64_t) f.size);
    vl_hash_u64(&ctx->deps, (uint64_t) f.mtime_ns);
    if (f.mtime_ns / 1000000000LL > ctx->mtime) {
        ctx->mtime = f.mtime_ns / 1000000000LL;
    }
    if (vl_sidecar_parse(s->pool, text, len, &ctx->sc, &err) != VL_OK) {
        vl_log(VL_LOG_ERROR, s->req->reqid,
               "sidecar %s%s%s: %s: served without it", id,
               is_folder ? "" : s->conf->filesystem_suffix,
               VL_SIDECAR_SUFFIX, err.msg);
        return;
    }
    ctx->has_sc = 1;
}

/* What is said of the object: the sidecar first, then the file's tags
 * (info may be NULL: a folder), then the name and the configuration. */
static int
manifest_describe(vl_serve_t *s, manifest_ctx_t *ctx, const char *id,
                  const vl_source_info_t *info, vl_err_t *err)
{
    vl_p3_manifest_t   *m = &ctx->m;
    const vl_sidecar_t *sc = ctx->has_sc ? &ctx->sc : NULL;
    const vl_conf_t    *conf = s->conf;
    const char         *name = strrchr(id, '/') != NULL ? strrchr(id, '/') + 1
                                                        : id;
    const char         *rights = NULL;
    size_t              cap = 0;
    int                 rc = VL_OK;

    if (sc != NULL && sc->label.n > 0) {
        m->label = sc->label;
    } else {
        rc |= vl_langmap_none(s->pool,
                              info != NULL && manifest_has(info->title)
                                  ? info->title : name,
                              &m->label);
    }
    if (sc != NULL && sc->summary.n > 0) {
        m->summary = sc->summary;
    } else if (info != NULL && manifest_has(info->description)) {
        rc |= vl_langmap_none(s->pool, info->description, &m->summary);
    }
    if (sc != NULL && sc->nmetadata > 0) {
        m->metadata = sc->metadata;
        m->nmetadata = sc->nmetadata;
    } else if (info != NULL) {
        rc |= manifest_meta_add(s, m, &cap, "Creator", info->creator);
        rc |= manifest_meta_add(s, m, &cap, "Date", info->date);
        rc |= manifest_meta_add(s, m, &cap, "Description", info->description);
    }
    /* rights: a CC or RightsStatements.org URI, canonical; anything else
     * is said in a requiredStatement */
    if (sc != NULL && sc->rights != NULL) {
        rights = sc->rights;
    } else if (info != NULL && info->rights != NULL) {
        rights = info->rights;
    } else if (manifest_has(conf->copyright)) {
        rights = conf->copyright;
    }
    m->rights = vl_p3_rights(s->pool, rights);
    if (sc != NULL && sc->has_required) {
        m->has_required = 1;
        m->required = sc->required;
    } else if ((rights != NULL && m->rights == NULL)
               || (info != NULL && manifest_has(info->copyright)
                   && info->rights == NULL)) {
        m->has_required = 1;
        rc |= vl_langmap_none(s->pool, rights != NULL && m->rights == NULL
                                           ? "Rights" : "Attribution",
                              &m->required.label);
        rc |= vl_langmap_none(s->pool, rights != NULL && m->rights == NULL
                                           ? rights : info->copyright,
                              &m->required.value);
    }
    if (sc != NULL && sc->provider_label.n > 0) {
        m->provider_label = sc->provider_label;
        m->provider_homepage = sc->provider_homepage;
    } else if (manifest_has(conf->provider_label)) {
        rc |= vl_langmap_none(s->pool, conf->provider_label,
                              &m->provider_label);
        m->provider_homepage = manifest_has(conf->provider_homepage)
                                   ? conf->provider_homepage : NULL;
    }
    if (m->provider_label.n > 0) {
        m->provider_id = m->provider_homepage != NULL
                             ? m->provider_homepage
                             : vl_pool_printf(s->pool, "%sprovider",
                                              vl_serve_base(s));
    }
    if (sc != NULL && sc->nhomepage > 0) {
        m->homepage = sc->homepage;
        m->nhomepage = sc->nhomepage;
    } else if (manifest_has(conf->homepage)) {
        vl_link_t *l = vl_pool_calloc(s->pool, 1, sizeof(*l));

        if (l == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        l->id = manifest_template(s->pool, conf->homepage, id);
        l->type = "Text";
        l->label = m->label;
        m->homepage = l;
        m->nhomepage = 1;
    }
    if (sc != NULL && sc->nsee_also > 0) {
        m->see_also = sc->see_also;
        m->nsee_also = sc->nsee_also;
    } else if (manifest_has(conf->see_also)) {
        vl_link_t *l = vl_pool_calloc(s->pool, 1, sizeof(*l));

        if (l == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        l->id = manifest_template(s->pool, conf->see_also, id);
        l->type = "Dataset";
        l->format = manifest_has(conf->see_also_format)
                        ? conf->see_also_format : NULL;
        l->profile = manifest_has(conf->see_also_profile)
                         ? conf->see_also_profile : NULL;
        m->see_also = l;
        m->nsee_also = 1;
    }
    if (sc != NULL) {
        m->behavior = sc->behavior;
        m->nbehavior = sc->nbehavior;
        m->nav_date = sc->nav_date;
        m->viewing_direction = sc->viewing_direction;
    }
    if (rc != VL_OK) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    return VL_OK;
}

/* The label of canvas n (1-based) of ncanvases: the sidecar's, else the
 * page or the file name when there are several. */
static int
manifest_canvas_label(vl_serve_t *s, manifest_ctx_t *ctx, size_t n,
                      size_t ncanvases, const char *fallback,
                      vl_p3_canvas_t *c)
{
    if (ctx->has_sc && n <= ctx->sc.ncanvas_labels) {
        c->label = ctx->sc.canvas_labels[n - 1];
        return VL_OK;
    }
    if (ncanvases > 1) {
        return vl_langmap_none(s->pool, fallback, &c->label);
    }
    c->label = ctx->m.label;
    return VL_OK;
}

/* An image identifier: one Canvas, or one per page. */
static int
manifest_of_image(vl_serve_t *s, manifest_ctx_t *ctx, vl_source_t *src,
                  vl_err_t *err)
{
    const vl_source_info_t *si = vl_source_info(src);
    const char             *id = s->ir.id;
    const char             *delim = s->conf->iiif_delimiter;
    size_t                  n = si->pages > 1 && manifest_has(delim)
                                    ? si->pages : 1;
    int                     rc;

    if (n > MANIFEST_MAX_CANVASES) {
        n = MANIFEST_MAX_CANVASES;
    }
    manifest_sidecar(s, ctx, id, 0);
    if ((rc = manifest_describe(s, ctx, id, si, err)) != VL_OK) {
        return rc;
    }
    ctx->m.canvases = vl_pool_calloc(s->pool, n, sizeof(*ctx->m.canvases));
    if (ctx->m.canvases == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    ctx->m.ncanvases = n;
    vl_hash_u64(&ctx->deps, n);
    for (size_t p = 1; p <= n; p++) {
        vl_p3_canvas_t *c = &ctx->m.canvases[p - 1];
        vl_source_t    *psrc = src;
        const char     *sid = id;
        char            label[32];

        if (n > 1) {
            sid = vl_pool_printf(s->pool, "%s%s%zu", id, delim, p);
            if (sid == NULL) {
                return vl_err_set(err, VL_ENOMEM, "out of memory");
            }
            if (p > 1) {
                psrc = vl_source_get(s->app->sources, s->conf, sid, err);
                if (psrc == NULL) {
                    return err->code;
                }
            }
        }
        snprintf(label, sizeof(label), "p. %zu", p);
        rc = manifest_canvas(s, ctx, psrc, sid, p, c, err);
        if (rc == VL_OK) {
            rc = manifest_canvas_label(s, ctx, p, n, label, c) == VL_OK
                     ? VL_OK
                     : vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        if (psrc != src) {
            vl_source_put(s->app->sources, psrc);
        }
        if (rc != VL_OK) {
            return rc;
        }
    }
    ctx->m.thumbnail = ctx->m.canvases[0].thumbnail;
    return VL_OK;
}

/* A folder whose sidecar lists its files: one Canvas per file. */
static int
manifest_of_object(vl_serve_t *s, manifest_ctx_t *ctx, vl_err_t *err)
{
    const char *id = s->ir.id;
    const char *suffix = s->conf->filesystem_suffix;
    size_t      slen = strlen(suffix), n = 0;
    int         rc;

    manifest_sidecar(s, ctx, id, 1);
    if (!ctx->has_sc || ctx->sc.nitems == 0) {
        return vl_err_set(err, VL_ENOTFOUND, "identifier not found");
    }
    if ((rc = manifest_describe(s, ctx, id, NULL, err)) != VL_OK) {
        return rc;
    }
    ctx->m.canvases = vl_pool_calloc(s->pool, ctx->sc.nitems,
                                     sizeof(*ctx->m.canvases));
    if (ctx->m.canvases == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < ctx->sc.nitems && n < MANIFEST_MAX_CANVASES;
         i++) {
        const char  *item = ctx->sc.items[i];
        size_t       len = strlen(item);
        char        *sid;
        vl_source_t *src;
        vl_err_t     ierr = { 0 };

        /* a file of the folder, named as the root names images */
        if (len <= slen || memcmp(item + len - slen, suffix, slen) != 0
            || (sid = vl_pool_printf(s->pool, "%s/%.*s", id,
                                     (int) (len - slen), item)) == NULL
            || (src = vl_source_get(s->app->sources, s->conf, sid, &ierr))
                   == NULL) {
            vl_log(VL_LOG_ERROR, s->req->reqid, "sidecar %s%s: items: %s "
                   "is not an image of the folder: left out", id,
                   VL_SIDECAR_SUFFIX, item);
            continue;
        }
        rc = manifest_canvas(s, ctx, src, sid, n + 1, &ctx->m.canvases[n],
                             err);
        if (rc == VL_OK) {
            rc = manifest_canvas_label(s, ctx, n + 1, ctx->sc.nitems, item,
                                       &ctx->m.canvases[n]) == VL_OK
                     ? VL_OK
                     : vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        vl_source_put(s->app->sources, src);
        if (rc != VL_OK) {
            return rc;
        }
        n++;
    }
    if (n == 0) {
        return vl_err_set(err, VL_ENOTFOUND, "the object lists no image");
    }
    ctx->m.ncanvases = n;
    ctx->m.thumbnail = ctx->m.canvases[0].thumbnail;
    return VL_OK;
}

static int
manifest_prepare(vl_serve_t *s, void *ctxv, vl_source_t *none,
                 vl_respond_what_t *w, vl_err_t *err)
{
    manifest_ctx_t *ctx = ctxv;
    const char     *base = vl_serve_base(s);
    vl_source_t    *src;
    vl_err_t        serr = { 0 };
    int             rc;

    (void) none;
    if (base == NULL
        || (ctx->uri = vl_tree_uri(s->pool, base, s->ir.id, "/manifest"))
               == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    manifest_bases(s, ctx, base);
    vl_hash_init(&ctx->deps);
    ctx->m.id = ctx->uri;
    src = vl_serve_source(s, &serr);
    if (src != NULL) {
        rc = manifest_of_image(s, ctx, src, err);
    } else if (serr.code == VL_ENOTFOUND) {
        rc = manifest_of_object(s, ctx, err);
    } else {
        *err = serr;
        rc = serr.code;
    }
    if (rc != VL_OK) {
        return rc;
    }
    w->request = ctx->uri;
    w->media = VL_P3_MEDIA;
    vl_hash_str(&ctx->deps, ctx->base3);
    vl_hash_str(&ctx->deps, ctx->base2);
    vl_hash_final(&ctx->deps, w->extra);
    w->mtime = ctx->mtime;
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
    if ((rc = vl_p3_manifest_json(s->pool, &ctx->m, &json, &len, err))
        != VL_OK) {
        return rc;
    }
    out->data = (const unsigned char *) json;
    out->len = len;
    out->type = VL_P3_MEDIA;
    return VL_OK;
}

static const vl_respond_ops_t manifest_ops = {
    "manifest", 0, NULL, manifest_prepare, NULL, manifest_build, NULL,
};

void
vl_serve_manifest(vl_serve_t *s)
{
    manifest_ctx_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    vl_respond(s, &manifest_ops, &ctx);
}
