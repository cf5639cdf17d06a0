/* SPDX-License-Identifier: MIT */
/*
 * describe: what manifests and collections say of an image, an object or a
 * folder, shared by serve/manifest.c and serve/collection.c so that the
 * two always agree: the label and the other descriptive, rights and
 * linking properties (the sidecar first, then the file's tags, then the
 * name and the configuration), sidecars read and checked, and images at
 * one size (bodies and thumbnails) with their services.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "present/tree.h"
#include "proto/plan.h"
#include "serve/serve_p.h"

static int
describe_has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

int
vl_serve_sidecar(vl_serve_t *s, const char *id, int is_folder,
                 vl_sidecar_t *sc, vl_file_id_t *file)
{
    vl_file_id_t f = { 0 };
    vl_err_t     err = { 0 };
    char        *text;
    size_t       len;

    memset(sc, 0, sizeof(*sc));
    if (file != NULL) {
        memset(file, 0, sizeof(*file));
    }
    if (vl_tree_sidecar(s->pool, s->conf, id, is_folder, VL_SIDECAR_MAX,
                        &text, &len, &f, &err) != VL_OK) {
        if (err.code != VL_ENOTFOUND) {
            vl_log(VL_LOG_WARN, s->req->reqid, "sidecar of %s: %s", id,
                   err.msg);
        }
        return 0;
    }
    if (file != NULL) {
        *file = f;
    }
    if (vl_sidecar_parse(s->pool, text, len, is_folder, sc, &err) != VL_OK) {
        vl_log(VL_LOG_ERROR, s->req->reqid,
               "sidecar %s%s%s: %s: served without it", id,
               is_folder ? "" : s->conf->filesystem_suffix,
               VL_SIDECAR_SUFFIX, err.msg);
        return 0;
    }
    return 1;
}

/* A template with {id} standing for the identifier (percent-encoded). */
static const char *
describe_template(vl_pool_t *pool, const char *tpl, const char *id)
{
    const char *at = strstr(tpl, "{id}");
    char       *enc;

    if (at == NULL) {
        return tpl;
    }
    enc = vl_tree_uri(pool, "", id, "");
    if (enc == NULL) {
        return NULL;
    }
    return vl_pool_printf(pool, "%.*s%s%s", (int) (at - tpl), tpl, enc,
                          at + 4);
}

/* One text metadata entry "label": value. */
static int
describe_meta_add(vl_serve_t *s, vl_p3_desc_t *d, size_t *cap,
                  const char *label, const char *value)
{
    if (!describe_has(value)) {
        return VL_OK;
    }
    if (d->nmetadata == *cap) {
        vl_pair_t *p = vl_pool_calloc(s->pool, *cap * 2 + 4, sizeof(*p));

        if (p == NULL) {
            return VL_ENOMEM;
        }
        if (d->nmetadata > 0) {
            memcpy(p, d->metadata, d->nmetadata * sizeof(*p));
        }
        d->metadata = p;
        *cap = *cap * 2 + 4;
    }
    if (vl_langmap_none(s->pool, label, &d->metadata[d->nmetadata].label)
            != VL_OK
        || vl_langmap_none(s->pool, value, &d->metadata[d->nmetadata].value)
               != VL_OK) {
        return VL_ENOMEM;
    }
    d->nmetadata++;
    return VL_OK;
}

/* Links of a sidecar, each with a label (Presentation 3 requires one on a
 * homepage): the object's when the sidecar gives none. */
static vl_link_t *
describe_links(vl_serve_t *s, const vl_link_t *l, size_t n,
               const vl_langmap_t *label)
{
    vl_link_t *copy = vl_pool_calloc(s->pool, n, sizeof(*copy));

    if (copy == NULL) {
        return NULL;
    }
    memcpy(copy, l, n * sizeof(*copy));
    for (size_t i = 0; i < n; i++) {
        if (copy[i].label.n == 0) {
            copy[i].label = *label;
        }
    }
    return copy;
}

const char *
vl_serve_name_of(const char *id)
{
    const char *slash = strrchr(id, '/');

    return slash != NULL ? slash + 1 : id;
}

int
vl_serve_describe(vl_serve_t *s, const vl_sidecar_t *sc, const char *id,
                  const vl_source_info_t *info, int collection,
                  vl_p3_desc_t *d, vl_err_t *err)
{
    const vl_conf_t *conf = s->conf;
    const char      *name = id[0] != '\0' ? vl_serve_name_of(id) : NULL;
    const char      *rights = NULL;
    size_t           cap = 0;
    int              rc = VL_OK;

    /* the label: the root collection's is the provider's name */
    if (sc != NULL && sc->label.n > 0) {
        d->label = sc->label;
    } else {
        rc |= vl_langmap_none(s->pool,
                              info != NULL && describe_has(info->title)
                                  ? info->title
                              : name != NULL ? name
                              : describe_has(conf->provider_label)
                                  ? conf->provider_label
                                  : "All images",
                              &d->label);
    }
    if (sc != NULL && sc->summary.n > 0) {
        d->summary = sc->summary;
    } else if (info != NULL && describe_has(info->description)) {
        rc |= vl_langmap_none(s->pool, info->description, &d->summary);
    }
    if (sc != NULL && sc->nmetadata > 0) {
        d->metadata = sc->metadata;
        d->nmetadata = sc->nmetadata;
    } else if (info != NULL) {
        rc |= describe_meta_add(s, d, &cap, "Creator", info->creator);
        rc |= describe_meta_add(s, d, &cap, "Date", info->date);
        rc |= describe_meta_add(s, d, &cap, "Description",
                                info->description);
    }
    /* rights: a CC or RightsStatements.org URI, canonical; anything else
     * is said in a requiredStatement */
    if (sc != NULL && sc->rights != NULL) {
        rights = sc->rights;
    } else if (info != NULL && info->rights != NULL) {
        rights = info->rights;
    } else if (describe_has(conf->copyright)) {
        rights = conf->copyright;
    }
    d->rights = vl_p3_rights(s->pool, rights);
    if (sc != NULL && sc->has_required) {
        d->has_required = 1;
        d->required = sc->required;
    } else if (rights != NULL && d->rights == NULL) {
        d->has_required = 1;
        rc |= vl_langmap_none(s->pool, "Rights", &d->required.label);
        rc |= vl_langmap_none(s->pool, rights, &d->required.value);
    } else if (info != NULL && describe_has(info->copyright)
               && info->rights == NULL) {
        d->has_required = 1;
        rc |= vl_langmap_none(s->pool, "Attribution", &d->required.label);
        rc |= vl_langmap_none(s->pool, info->copyright, &d->required.value);
    }
    /* the provider: an Agent of its own URI (not its homepage's) */
    if (sc != NULL && sc->provider_label.n > 0) {
        d->provider_label = sc->provider_label;
        d->provider_homepage = sc->provider_homepage;
    } else if (describe_has(conf->provider_label)) {
        rc |= vl_langmap_none(s->pool, conf->provider_label,
                              &d->provider_label);
        d->provider_homepage = describe_has(conf->provider_homepage)
                                   ? conf->provider_homepage : NULL;
    }
    if (d->provider_label.n > 0) {
        const char *base = vl_serve_base(s);

        if (d->provider_homepage != NULL
            && strchr(d->provider_homepage, '#') == NULL) {
            d->provider_id = vl_pool_printf(s->pool, "%s#provider",
                                            d->provider_homepage);
        } else if (base != NULL) {
            d->provider_id = vl_pool_printf(s->pool,
                                            "%scollection.json#provider",
                                            base);
        }
        rc |= d->provider_id == NULL ? VL_ENOMEM : VL_OK;
    }
    if (sc != NULL && sc->nhomepage > 0) {
        d->homepage = describe_links(s, sc->homepage, sc->nhomepage,
                                     &d->label);
        d->nhomepage = d->homepage != NULL ? sc->nhomepage : 0;
        rc |= d->homepage == NULL ? VL_ENOMEM : VL_OK;
    } else if (describe_has(conf->homepage) && !collection) {
        vl_link_t *l = vl_pool_calloc(s->pool, 1, sizeof(*l));

        if (l == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        l->id = describe_template(s->pool, conf->homepage, id);
        l->type = "Text";
        l->label = d->label;
        d->homepage = l;
        d->nhomepage = 1;
        rc |= l->id == NULL ? VL_ENOMEM : VL_OK;
    }
    if (sc != NULL && sc->nsee_also > 0) {
        d->see_also = sc->see_also;
        d->nsee_also = sc->nsee_also;
    } else if (describe_has(conf->see_also) && !collection) {
        vl_link_t *l = vl_pool_calloc(s->pool, 1, sizeof(*l));

        if (l == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        l->id = describe_template(s->pool, conf->see_also, id);
        l->type = "Dataset";
        l->format = describe_has(conf->see_also_format)
                        ? conf->see_also_format : NULL;
        l->profile = describe_has(conf->see_also_profile)
                         ? conf->see_also_profile : NULL;
        d->see_also = l;
        d->nsee_also = 1;
        rc |= l->id == NULL ? VL_ENOMEM : VL_OK;
    }
    if (sc != NULL) {
        d->behavior = sc->behavior;
        d->nbehavior = sc->nbehavior;
        d->nav_date = sc->nav_date;
        d->viewing_direction = sc->viewing_direction;
    }
    if (rc != VL_OK) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    return VL_OK;
}

void
vl_serve_thumb_size(const vl_conf_t *conf, const vl_geom_t *g, uint32_t *w,
                    uint32_t *h)
{
    uint64_t max = (uint64_t) conf->thumbnail_size;
    uint32_t mw, mh;

    *w = *h = 0;
    for (uint32_t i = 0; i < g->nlevels; i++) {
        const vl_level_t *lv = &g->levels[i];

        if (lv->width <= max && lv->height <= max) {
            *w = lv->width;
            *h = lv->height;
            break;
        }
    }
    if (*w == 0) {
        /* no stored level that small: the image scaled to fit */
        uint64_t W = g->width, H = g->height;

        if (W >= H) {
            *w = (uint32_t) max;
            *h = (uint32_t) ((H * max + W / 2) / W);
        } else {
            *h = (uint32_t) max;
            *w = (uint32_t) ((W * max + H / 2) / H);
        }
        *w = *w > 0 ? *w : 1;
        *h = *h > 0 ? *h : 1;
    }
    /* and never beyond what the service gives (MAX_CVT, MAX_AREA) */
    vl_plan_max_size(g->width, g->height, &conf->limits, &mw, &mh);
    if (*w > mw || *h > mh) {
        *w = mw;
        *h = mh;
    }
}

int
vl_serve_p3_image(vl_serve_t *s, const char *base3, const char *base2,
                  const char *sid, uint32_t w, uint32_t h, int max,
                  vl_p3_image_t *img)
{
    const char *b = base3 != NULL ? base3 : base2;
    char        tail[64];

    memset(img, 0, sizeof(*img));
    img->service3 = base3 != NULL ? vl_tree_uri(s->pool, base3, sid, "")
                                  : NULL;
    img->service2 = base2 != NULL ? vl_tree_uri(s->pool, base2, sid, "")
                                  : NULL;
    img->format = "image/jpeg";
    img->width = w;
    img->height = h;
    /* "w,h": the exact size in either version */
    if (max) {
        snprintf(tail, sizeof(tail), "/full/max/0/default.jpg");
    } else {
        snprintf(tail, sizeof(tail), "/full/%u,%u/0/default.jpg", w, h);
    }
    img->id = vl_tree_uri(s->pool, b, sid, tail);
    return img->id != NULL && (base3 == NULL || img->service3 != NULL)
                   && (base2 == NULL || img->service2 != NULL)
               ? VL_OK
               : VL_ENOMEM;
}
