/* SPDX-License-Identifier: MIT */
/*
 * manifest: Presentation 3 JSON with jansson, keys in the order the
 * specification's examples use (JSON_PRESERVE_ORDER): @context, id, type,
 * label, descriptive properties, thumbnail, rights and links, items.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "present/manifest.h"

/* json_object_set_new that also fails on a NULL value. */
static int
p3_set(json_t *o, const char *k, json_t *v)
{
    return v == NULL || json_object_set_new(o, k, v) != 0 ? -1 : 0;
}

static int
p3_add(json_t *a, json_t *v)
{
    return v == NULL || json_array_append_new(a, v) != 0 ? -1 : 0;
}

static json_t *
p3_langmap(const vl_langmap_t *m)
{
    json_t *o = json_object();

    for (size_t i = 0; o != NULL && i < m->n; i++) {
        json_t *a = json_array();

        for (size_t k = 0; a != NULL && k < m->v[i].nvalues; k++) {
            if (p3_add(a, json_string(m->v[i].values[k])) != 0) {
                json_decref(a);
                a = NULL;
            }
        }
        if (p3_set(o, m->v[i].lang, a) != 0) {
            json_decref(o);
            return NULL;
        }
    }
    return o;
}

static json_t *
p3_pair(const vl_pair_t *p)
{
    json_t *o = json_object();

    if (o == NULL || p3_set(o, "label", p3_langmap(&p->label)) != 0
        || p3_set(o, "value", p3_langmap(&p->value)) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
p3_services(const vl_p3_image_t *img)
{
    json_t *a = json_array(), *s;

    if (a == NULL) {
        return NULL;
    }
    if (img->service3 != NULL) {
        s = json_object();
        if (s == NULL || p3_set(s, "id", json_string(img->service3)) != 0
            || p3_set(s, "type", json_string("ImageService3")) != 0
            || p3_set(s, "profile", json_string("level2")) != 0
            || p3_add(a, s) != 0) {
            json_decref(s);
            json_decref(a);
            return NULL;
        }
    }
    if (img->service2 != NULL) {
        /* Presentation 3, section 5.6: older services keep @id and @type */
        s = json_object();
        if (s == NULL || p3_set(s, "@id", json_string(img->service2)) != 0
            || p3_set(s, "@type", json_string("ImageService2")) != 0
            || p3_set(s, "profile",
                      json_string("http://iiif.io/api/image/2/level2.json"))
                   != 0
            || p3_add(a, s) != 0) {
            json_decref(s);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *
p3_image(const vl_p3_image_t *img)
{
    json_t *o = json_object();

    if (o == NULL || p3_set(o, "id", json_string(img->id)) != 0
        || p3_set(o, "type", json_string("Image")) != 0
        || p3_set(o, "format", json_string(img->format)) != 0
        || p3_set(o, "width", json_integer(img->width)) != 0
        || p3_set(o, "height", json_integer(img->height)) != 0
        || ((img->service3 != NULL || img->service2 != NULL)
            && p3_set(o, "service", p3_services(img)) != 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *
p3_thumbnail(const vl_p3_image_t *img)
{
    json_t *a = json_array();

    if (a == NULL || p3_add(a, p3_image(img)) != 0) {
        json_decref(a);
        return NULL;
    }
    return a;
}

static json_t *
p3_links(const vl_link_t *l, size_t n, const char *format)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < n; i++) {
        json_t *o = json_object();

        if (o == NULL || p3_set(o, "id", json_string(l[i].id)) != 0
            || p3_set(o, "type", json_string(l[i].type)) != 0
            || (l[i].label.n > 0
                && p3_set(o, "label", p3_langmap(&l[i].label)) != 0)
            || ((l[i].format != NULL || format != NULL)
                && p3_set(o, "format",
                          json_string(l[i].format != NULL ? l[i].format
                                                          : format)) != 0)
            || (l[i].profile != NULL
                && p3_set(o, "profile", json_string(l[i].profile)) != 0)
            || p3_add(a, o) != 0) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *
p3_provider(const vl_p3_manifest_t *m)
{
    json_t *a = json_array(), *o = json_object();

    if (a == NULL || o == NULL
        || p3_set(o, "id", json_string(m->provider_id)) != 0
        || p3_set(o, "type", json_string("Agent")) != 0
        || p3_set(o, "label", p3_langmap(&m->provider_label)) != 0) {
        goto fail;
    }
    if (m->provider_homepage != NULL) {
        vl_link_t home;

        memset(&home, 0, sizeof(home));
        home.id = m->provider_homepage;
        home.type = "Text";
        home.label = m->provider_label;
        if (p3_set(o, "homepage", p3_links(&home, 1, "text/html")) != 0) {
            goto fail;
        }
    }
    if (p3_add(a, o) != 0) {
        o = NULL;
        goto fail;
    }
    return a;

fail:
    json_decref(o);
    json_decref(a);
    return NULL;
}

static json_t *
p3_canvas(const vl_p3_canvas_t *c)
{
    json_t *canvas = json_object(), *pages = json_array();
    json_t *page = json_object(), *annos = json_array(), *anno = json_object();

    if (canvas == NULL || pages == NULL || page == NULL || annos == NULL
        || anno == NULL) {
        goto fail;
    }
    if (p3_set(anno, "id", json_string(c->anno_id)) != 0
        || p3_set(anno, "type", json_string("Annotation")) != 0
        || p3_set(anno, "motivation", json_string("painting")) != 0
        || p3_set(anno, "body", p3_image(&c->body)) != 0
        || p3_set(anno, "target", json_string(c->id)) != 0) {
        goto fail;
    }
    if (json_array_append_new(annos, anno) != 0) {
        anno = NULL;
        goto fail;
    }
    anno = NULL;
    if (p3_set(page, "id", json_string(c->page_id)) != 0
        || p3_set(page, "type", json_string("AnnotationPage")) != 0) {
        goto fail;
    }
    if (json_object_set_new(page, "items", annos) != 0) {
        annos = NULL;
        goto fail;
    }
    annos = NULL;
    if (json_array_append_new(pages, page) != 0) {
        page = NULL;
        goto fail;
    }
    page = NULL;
    if (p3_set(canvas, "id", json_string(c->id)) != 0
        || p3_set(canvas, "type", json_string("Canvas")) != 0
        || (c->label.n > 0
            && p3_set(canvas, "label", p3_langmap(&c->label)) != 0)
        || p3_set(canvas, "width", json_integer(c->width)) != 0
        || p3_set(canvas, "height", json_integer(c->height)) != 0
        || (c->thumbnail.id != NULL
            && p3_set(canvas, "thumbnail", p3_thumbnail(&c->thumbnail))
                   != 0)) {
        goto fail;
    }
    if (json_object_set_new(canvas, "items", pages) != 0) {
        pages = NULL;
        goto fail;
    }
    return canvas;

fail:
    json_decref(anno);
    json_decref(annos);
    json_decref(page);
    json_decref(pages);
    json_decref(canvas);
    return NULL;
}

static int
p3_strings(json_t *o, const char *key, const char **v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < n; i++) {
        if (p3_add(a, json_string(v[i])) != 0) {
            json_decref(a);
            return -1;
        }
    }
    return p3_set(o, key, a);
}

/* The text of doc (consumed) into the pool. */
static int
p3_dump(vl_pool_t *pool, json_t *doc, char **out, size_t *len, vl_err_t *err)
{
    char *text, *copy;

    if (doc == NULL) {
        return vl_err_set(err, VL_ENOMEM, "cannot build the document");
    }
    text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(doc);
    if (text == NULL) {
        return vl_err_set(err, VL_ENOMEM, "cannot build the document");
    }
    copy = vl_pool_strdup(pool, text);
    free(text);
    if (copy == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    *out = copy;
    *len = strlen(copy);
    return VL_OK;
}

int
vl_p3_manifest_json(vl_pool_t *pool, const vl_p3_manifest_t *m, char **out,
                    size_t *len, vl_err_t *err)
{
    json_t *doc, *items, *meta;

    if (m->id == NULL || m->label.n == 0 || m->ncanvases == 0) {
        return vl_err_set(err, VL_EINTERNAL, "a manifest needs an id, a "
                          "label and a canvas");
    }
    doc = json_object();
    if (doc == NULL
        || p3_set(doc, "@context", json_string(VL_P3_CONTEXT)) != 0
        || p3_set(doc, "id", json_string(m->id)) != 0
        || p3_set(doc, "type", json_string("Manifest")) != 0
        || p3_set(doc, "label", p3_langmap(&m->label)) != 0
        || (m->summary.n > 0
            && p3_set(doc, "summary", p3_langmap(&m->summary)) != 0)) {
        goto fail;
    }
    if (m->nmetadata > 0) {
        meta = json_array();
        for (size_t i = 0; meta != NULL && i < m->nmetadata; i++) {
            if (p3_add(meta, p3_pair(&m->metadata[i])) != 0) {
                json_decref(meta);
                meta = NULL;
            }
        }
        if (p3_set(doc, "metadata", meta) != 0) {
            goto fail;
        }
    }
    if ((m->thumbnail.id != NULL
         && p3_set(doc, "thumbnail", p3_thumbnail(&m->thumbnail)) != 0)
        || (m->nav_date != NULL
            && p3_set(doc, "navDate", json_string(m->nav_date)) != 0)
        || (m->viewing_direction != NULL
            && p3_set(doc, "viewingDirection",
                      json_string(m->viewing_direction)) != 0)
        || (m->nbehavior > 0
            && p3_strings(doc, "behavior", m->behavior, m->nbehavior) != 0)
        || (m->rights != NULL
            && p3_set(doc, "rights", json_string(m->rights)) != 0)
        || (m->has_required
            && p3_set(doc, "requiredStatement", p3_pair(&m->required)) != 0)
        || (m->provider_id != NULL
            && p3_set(doc, "provider", p3_provider(m)) != 0)
        || (m->nhomepage > 0
            && p3_set(doc, "homepage",
                      p3_links(m->homepage, m->nhomepage, "text/html")) != 0)
        || (m->nsee_also > 0
            && p3_set(doc, "seeAlso",
                      p3_links(m->see_also, m->nsee_also, NULL)) != 0)) {
        goto fail;
    }
    items = json_array();
    for (size_t i = 0; items != NULL && i < m->ncanvases; i++) {
        if (p3_add(items, p3_canvas(&m->canvases[i])) != 0) {
            json_decref(items);
            items = NULL;
        }
    }
    if (p3_set(doc, "items", items) != 0) {
        goto fail;
    }
    return p3_dump(pool, doc, out, len, err);

fail:
    json_decref(doc);
    return vl_err_set(err, VL_ENOMEM, "cannot build the manifest");
}

int
vl_p3_collection_json(vl_pool_t *pool, const vl_p3_collection_t *c,
                      char **out, size_t *len, vl_err_t *err)
{
    json_t *doc, *items;

    if (c->id == NULL || c->label.n == 0) {
        return vl_err_set(err, VL_EINTERNAL, "a collection needs an id and "
                          "a label");
    }
    doc = json_object();
    if (doc == NULL
        || p3_set(doc, "@context", json_string(VL_P3_CONTEXT)) != 0
        || p3_set(doc, "id", json_string(c->id)) != 0
        || p3_set(doc, "type", json_string("Collection")) != 0
        || p3_set(doc, "label", p3_langmap(&c->label)) != 0
        || (c->summary.n > 0
            && p3_set(doc, "summary", p3_langmap(&c->summary)) != 0)
        || (c->rights != NULL
            && p3_set(doc, "rights", json_string(c->rights)) != 0)) {
        goto fail;
    }
    items = json_array();
    for (size_t i = 0; items != NULL && i < c->nitems; i++) {
        const vl_p3_ref_t *r = &c->items[i];
        json_t            *o = json_object();

        if (o == NULL || p3_set(o, "id", json_string(r->id)) != 0
            || p3_set(o, "type",
                      json_string(r->kind == VL_P3_REF_MANIFEST
                                      ? "Manifest" : "Collection")) != 0
            || p3_set(o, "label", p3_langmap(&r->label)) != 0
            || (r->thumbnail.id != NULL
                && p3_set(o, "thumbnail", p3_thumbnail(&r->thumbnail)) != 0)
            || p3_add(items, o) != 0) {
            json_decref(o);
            json_decref(items);
            items = NULL;
        }
    }
    if (p3_set(doc, "items", items) != 0) {
        goto fail;
    }
    return p3_dump(pool, doc, out, len, err);

fail:
    json_decref(doc);
    return vl_err_set(err, VL_ENOMEM, "cannot build the collection");
}

const char *
vl_p3_rights(vl_pool_t *pool, const char *uri)
{
    static const char *const hosts[] = {
        "creativecommons.org/", "rightsstatements.org/", NULL
    };
    const char *rest;

    if (uri == NULL) {
        return NULL;
    }
    if (strncmp(uri, "http://", 7) == 0) {
        rest = uri + 7;
    } else if (strncmp(uri, "https://", 8) == 0) {
        rest = uri + 8;
    } else {
        return NULL;
    }
    if (strncmp(rest, "www.", 4) == 0) {
        rest += 4;
    }
    for (size_t i = 0; hosts[i] != NULL; i++) {
        size_t n = strlen(hosts[i]);

        if (strncmp(rest, hosts[i], n) == 0 && rest[n] != '\0'
            && strpbrk(rest, " \"<>\\") == NULL) {
            return vl_pool_printf(pool, "http://%s", rest);
        }
    }
    return NULL;
}
