/* SPDX-License-Identifier: MIT */
/*
 * manifest: Presentation 3 JSON with jansson, keys in the order the
 * specification's examples use (JSON_PRESERVE_ORDER): @context, id, type,
 * label, descriptive properties, thumbnail, rights and links, items.
 *
 * Built with a sticky error: jansson's *_set_new and *_append_new take the
 * value in every case (on failure they release it, and a NULL value or
 * container just fails), so each call only records whether it failed and
 * nothing is ever released twice; one check at the end decides.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "present/manifest.h"

typedef struct {
    int bad;                    /* a call failed: out of memory */
} p3_t;

static json_t *
p3_set(p3_t *b, json_t *o, const char *k, json_t *v)
{
    if (json_object_set_new(o, k, v) != 0) {
        b->bad = 1;
    }
    return o;
}

static void
p3_add(p3_t *b, json_t *a, json_t *v)
{
    if (json_array_append_new(a, v) != 0) {
        b->bad = 1;
    }
}

/* Length of the UTF-8 sequence at s (1..4), 0 if it is not one. */
static size_t
p3_utf8_len(const unsigned char *s)
{
    size_t n;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
    }
    /* overlong, surrogates, beyond U+10FFFF */
    if ((n == 3 && s[0] == 0xe0 && s[1] < 0xa0)
        || (n == 3 && s[0] == 0xed && s[1] >= 0xa0)
        || (n == 4 && s[0] == 0xf0 && s[1] < 0x90)
        || (n == 4 && s[0] == 0xf4 && s[1] >= 0x90)) {
        return 0;
    }
    return n;
}

/* A JSON string of text: as it is when it is UTF-8, else each byte that
 * is not part of a UTF-8 sequence read as Latin-1. NULL text: failure. */
static json_t *
p3_str(const char *text)
{
    const unsigned char *s = (const unsigned char *) text;
    json_t              *j;
    size_t               len, k = 0;
    char                *buf;

    if (text == NULL) {
        return NULL;
    }
    if ((j = json_string(text)) != NULL) {
        return j;
    }
    len = strlen(text);
    if (len > SIZE_MAX / 2 - 1 || (buf = malloc(2 * len + 1)) == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < len;) {
        size_t n = p3_utf8_len(s + i);

        if (n == 0) {
            buf[k++] = (char) (0xc0 | (s[i] >> 6));
            buf[k++] = (char) (0x80 | (s[i] & 0x3f));
            i++;
        } else {
            memcpy(buf + k, s + i, n);
            k += n;
            i += n;
        }
    }
    j = json_stringn(buf, k);
    free(buf);
    return j;
}

static json_t *
p3_langmap(p3_t *b, const vl_langmap_t *m)
{
    json_t *o = json_object();

    for (size_t i = 0; i < m->n; i++) {
        json_t *a = json_array();

        for (size_t k = 0; k < m->v[i].nvalues; k++) {
            p3_add(b, a, p3_str(m->v[i].values[k]));
        }
        p3_set(b, o, m->v[i].lang, a);
    }
    return o;
}

static json_t *
p3_pair(p3_t *b, const vl_pair_t *p)
{
    json_t *o = json_object();

    p3_set(b, o, "label", p3_langmap(b, &p->label));
    return p3_set(b, o, "value", p3_langmap(b, &p->value));
}

static json_t *
p3_services(p3_t *b, const vl_p3_image_t *img)
{
    json_t *a = json_array(), *s;

    if (img->service3 != NULL) {
        s = json_object();
        p3_set(b, s, "id", p3_str(img->service3));
        p3_set(b, s, "type", json_string("ImageService3"));
        p3_set(b, s, "profile", json_string("level2"));
        p3_add(b, a, s);
    }
    if (img->service2 != NULL) {
        /* Presentation 3, section 5.6: older services keep @id and @type */
        s = json_object();
        p3_set(b, s, "@id", p3_str(img->service2));
        p3_set(b, s, "@type", json_string("ImageService2"));
        p3_set(b, s, "profile",
               json_string("http://iiif.io/api/image/2/level2.json"));
        p3_add(b, a, s);
    }
    return a;
}

static json_t *
p3_image(p3_t *b, const vl_p3_image_t *img)
{
    json_t *o = json_object();

    p3_set(b, o, "id", p3_str(img->id));
    p3_set(b, o, "type", json_string("Image"));
    p3_set(b, o, "format", p3_str(img->format));
    p3_set(b, o, "width", json_integer(img->width));
    p3_set(b, o, "height", json_integer(img->height));
    if (img->service3 != NULL || img->service2 != NULL) {
        p3_set(b, o, "service", p3_services(b, img));
    }
    return o;
}

static json_t *
p3_thumbnail(p3_t *b, const vl_p3_image_t *img)
{
    json_t *a = json_array();

    p3_add(b, a, p3_image(b, img));
    return a;
}

static json_t *
p3_links(p3_t *b, const vl_link_t *l, size_t n, const char *format)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++) {
        json_t *o = json_object();

        p3_set(b, o, "id", p3_str(l[i].id));
        p3_set(b, o, "type", p3_str(l[i].type));
        if (l[i].label.n > 0) {
            p3_set(b, o, "label", p3_langmap(b, &l[i].label));
        }
        if (l[i].format != NULL || format != NULL) {
            p3_set(b, o, "format",
                   p3_str(l[i].format != NULL ? l[i].format : format));
        }
        if (l[i].profile != NULL) {
            p3_set(b, o, "profile", p3_str(l[i].profile));
        }
        p3_add(b, a, o);
    }
    return a;
}

static json_t *
p3_provider(p3_t *b, const vl_p3_desc_t *d)
{
    json_t *a = json_array(), *o = json_object();

    p3_set(b, o, "id", p3_str(d->provider_id));
    p3_set(b, o, "type", json_string("Agent"));
    p3_set(b, o, "label", p3_langmap(b, &d->provider_label));
    if (d->provider_homepage != NULL) {
        vl_link_t home;

        memset(&home, 0, sizeof(home));
        home.id = d->provider_homepage;
        home.type = "Text";
        home.label = d->provider_label;
        p3_set(b, o, "homepage", p3_links(b, &home, 1, "text/html"));
    }
    p3_add(b, a, o);
    return a;
}

static json_t *
p3_strings(p3_t *b, const char **v, size_t n)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++) {
        p3_add(b, a, p3_str(v[i]));
    }
    return a;
}

/* The descriptive, rights and linking properties of d into doc. */
static void
p3_desc(p3_t *b, json_t *doc, const vl_p3_desc_t *d)
{
    p3_set(b, doc, "label", p3_langmap(b, &d->label));
    if (d->summary.n > 0) {
        p3_set(b, doc, "summary", p3_langmap(b, &d->summary));
    }
    if (d->nmetadata > 0) {
        json_t *meta = json_array();

        for (size_t i = 0; i < d->nmetadata; i++) {
            p3_add(b, meta, p3_pair(b, &d->metadata[i]));
        }
        p3_set(b, doc, "metadata", meta);
    }
    if (d->thumbnail.id != NULL) {
        p3_set(b, doc, "thumbnail", p3_thumbnail(b, &d->thumbnail));
    }
    if (d->nav_date != NULL) {
        p3_set(b, doc, "navDate", p3_str(d->nav_date));
    }
    if (d->viewing_direction != NULL) {
        p3_set(b, doc, "viewingDirection", p3_str(d->viewing_direction));
    }
    if (d->nbehavior > 0) {
        p3_set(b, doc, "behavior", p3_strings(b, d->behavior, d->nbehavior));
    }
    if (d->rights != NULL) {
        p3_set(b, doc, "rights", p3_str(d->rights));
    }
    if (d->has_required) {
        p3_set(b, doc, "requiredStatement", p3_pair(b, &d->required));
    }
    if (d->provider_id != NULL) {
        p3_set(b, doc, "provider", p3_provider(b, d));
    }
    if (d->nhomepage > 0) {
        p3_set(b, doc, "homepage",
               p3_links(b, d->homepage, d->nhomepage, "text/html"));
    }
    if (d->nsee_also > 0) {
        p3_set(b, doc, "seeAlso", p3_links(b, d->see_also, d->nsee_also,
                                           NULL));
    }
}

static json_t *
p3_canvas(p3_t *b, const vl_p3_canvas_t *c)
{
    json_t *canvas = json_object(), *pages = json_array();
    json_t *page = json_object(), *annos = json_array(), *anno = json_object();

    p3_set(b, anno, "id", p3_str(c->anno_id));
    p3_set(b, anno, "type", json_string("Annotation"));
    p3_set(b, anno, "motivation", json_string("painting"));
    p3_set(b, anno, "body", p3_image(b, &c->body));
    p3_set(b, anno, "target", p3_str(c->id));
    p3_add(b, annos, anno);
    p3_set(b, page, "id", p3_str(c->page_id));
    p3_set(b, page, "type", json_string("AnnotationPage"));
    p3_set(b, page, "items", annos);
    p3_add(b, pages, page);
    p3_set(b, canvas, "id", p3_str(c->id));
    p3_set(b, canvas, "type", json_string("Canvas"));
    if (c->label.n > 0) {
        p3_set(b, canvas, "label", p3_langmap(b, &c->label));
    }
    p3_set(b, canvas, "width", json_integer(c->width));
    p3_set(b, canvas, "height", json_integer(c->height));
    if (c->thumbnail.id != NULL) {
        p3_set(b, canvas, "thumbnail", p3_thumbnail(b, &c->thumbnail));
    }
    return p3_set(b, canvas, "items", pages);
}

/* A document's start: @context, id, type. */
static json_t *
p3_doc(p3_t *b, const char *id, const char *type)
{
    json_t *doc = json_object();

    p3_set(b, doc, "@context", json_string(VL_P3_CONTEXT));
    p3_set(b, doc, "id", p3_str(id));
    return p3_set(b, doc, "type", json_string(type));
}

/* The text of doc (consumed) into the pool. */
static int
p3_dump(vl_pool_t *pool, p3_t *b, json_t *doc, char **out, size_t *len,
        vl_err_t *err, const char *what)
{
    char *text, *copy;

    if (doc == NULL || b->bad) {
        json_decref(doc);
        return vl_err_set(err, VL_ENOMEM, "cannot build the %s", what);
    }
    text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(doc);
    if (text == NULL) {
        return vl_err_set(err, VL_ENOMEM, "cannot build the %s", what);
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
    p3_t    b = { 0 };
    json_t *doc, *items;

    if (m->id == NULL || m->d.label.n == 0 || m->ncanvases == 0) {
        return vl_err_set(err, VL_EINTERNAL, "a manifest needs an id, a "
                          "label and a canvas");
    }
    doc = p3_doc(&b, m->id, "Manifest");
    p3_desc(&b, doc, &m->d);
    items = json_array();
    for (size_t i = 0; i < m->ncanvases; i++) {
        p3_add(&b, items, p3_canvas(&b, &m->canvases[i]));
    }
    p3_set(&b, doc, "items", items);
    return p3_dump(pool, &b, doc, out, len, err, "manifest");
}

int
vl_p3_collection_json(vl_pool_t *pool, const vl_p3_collection_t *c,
                      char **out, size_t *len, vl_err_t *err)
{
    p3_t    b = { 0 };
    json_t *doc, *items;

    if (c->id == NULL || c->d.label.n == 0) {
        return vl_err_set(err, VL_EINTERNAL, "a collection needs an id and "
                          "a label");
    }
    doc = p3_doc(&b, c->id, "Collection");
    p3_desc(&b, doc, &c->d);
    items = json_array();
    for (size_t i = 0; i < c->nitems; i++) {
        const vl_p3_ref_t *r = &c->items[i];
        json_t            *o = json_object();

        p3_set(&b, o, "id", p3_str(r->id));
        p3_set(&b, o, "type", json_string(r->kind == VL_P3_REF_MANIFEST
                                              ? "Manifest" : "Collection"));
        p3_set(&b, o, "label", p3_langmap(&b, &r->label));
        if (r->thumbnail.id != NULL) {
            p3_set(&b, o, "thumbnail", p3_thumbnail(&b, &r->thumbnail));
        }
        p3_add(&b, items, o);
    }
    p3_set(&b, doc, "items", items);
    return p3_dump(pool, &b, doc, out, len, err, "collection");
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
