/* SPDX-License-Identifier: MIT */
/*
 * sidecar: JSON -> vl_sidecar_t with jansson. Lenient in form where
 * Presentation 3 allows only one (a label may be a plain string or a
 * language map whose values are strings or arrays of strings; a link may
 * be a bare URI), strict in content: an unknown field, a value of the
 * wrong type, a URI that is not http(s), an unknown behavior or viewing
 * direction, a malformed navDate refuse the whole sidecar, naming the
 * field.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "present/sidecar.h"

typedef struct {
    vl_pool_t *pool;
    vl_err_t  *err;
} sc_t;

static int
sc_fail(sc_t *c, const char *field, const char *why)
{
    return vl_err_set(c->err, VL_EFORMAT, "%s: %s", field, why);
}

static const char *
sc_dup(sc_t *c, const char *s)
{
    return vl_pool_strdup(c->pool, s);
}

/* An http(s) URI without blanks or quotes. */
static int
sc_is_uri(const char *s)
{
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0) {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if ((unsigned char) *s <= ' ' || *s == '"' || *s == '<' || *s == '>'
            || *s == '\\' || *s == 0x7f) {
            return 0;
        }
    }
    return 1;
}

int
vl_langmap_none(vl_pool_t *pool, const char *text, vl_langmap_t *out)
{
    vl_lang_t   *l = vl_pool_calloc(pool, 1, sizeof(*l));
    const char **v = vl_pool_calloc(pool, 1, sizeof(*v));

    if (l == NULL || v == NULL || (v[0] = vl_pool_strdup(pool, text)) == NULL)
    {
        return VL_ENOMEM;
    }
    l->lang = "none";
    l->values = v;
    l->nvalues = 1;
    out->v = l;
    out->n = 1;
    return VL_OK;
}

/* A BCP 47 tag, loosely: letters, digits and '-', or "none". */
static int
sc_is_lang(const char *s)
{
    if (*s == '\0' || strlen(s) > 35) {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if (!isalnum((unsigned char) *s) && *s != '-') {
            return 0;
        }
    }
    return 1;
}

/* A string, or an array of strings, into values. */
static int
sc_strings(sc_t *c, json_t *j, const char *field, const char ***out,
           size_t *n)
{
    size_t       k = json_is_array(j) ? json_array_size(j) : 1;
    const char **v;

    if (!json_is_string(j) && !json_is_array(j)) {
        return sc_fail(c, field, "is not a string or an array of strings");
    }
    if (k == 0) {
        return sc_fail(c, field, "is an empty array");
    }
    if ((v = vl_pool_calloc(c->pool, k, sizeof(*v))) == NULL) {
        return vl_err_set(c->err, VL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < k; i++) {
        json_t *s = json_is_array(j) ? json_array_get(j, i) : j;

        if (!json_is_string(s)) {
            return sc_fail(c, field, "holds something that is not a string");
        }
        if ((v[i] = sc_dup(c, json_string_value(s))) == NULL) {
            return vl_err_set(c->err, VL_ENOMEM, "out of memory");
        }
    }
    *out = v;
    *n = k;
    return VL_OK;
}

/* "text" -> {"none": ["text"]}; {"en": "a", "fr": ["b", "c"]} as is. */
static int
sc_langmap(sc_t *c, json_t *j, const char *field, vl_langmap_t *out)
{
    const char *lang;
    json_t     *v;
    size_t      i = 0;
    int         rc;

    if (json_is_string(j)) {
        if (json_string_length(j) == 0) {
            return sc_fail(c, field, "is empty");
        }
        return vl_langmap_none(c->pool, json_string_value(j), out) == VL_OK
                   ? VL_OK
                   : vl_err_set(c->err, VL_ENOMEM, "out of memory");
    }
    if (!json_is_object(j) || json_object_size(j) == 0) {
        return sc_fail(c, field, "is not a string or a language map");
    }
    out->n = json_object_size(j);
    out->v = vl_pool_calloc(c->pool, out->n, sizeof(*out->v));
    if (out->v == NULL) {
        return vl_err_set(c->err, VL_ENOMEM, "out of memory");
    }
    json_object_foreach(j, lang, v) {
        if (!sc_is_lang(lang)) {
            return sc_fail(c, field, "has a key that is not a language tag");
        }
        out->v[i].lang = sc_dup(c, lang);
        if (out->v[i].lang == NULL) {
            return vl_err_set(c->err, VL_ENOMEM, "out of memory");
        }
        if ((rc = sc_strings(c, v, field, &out->v[i].values,
                             &out->v[i].nvalues)) != VL_OK) {
            return rc;
        }
        i++;
    }
    return VL_OK;
}

static int
sc_pair(sc_t *c, json_t *j, const char *field, vl_pair_t *out)
{
    char   f[64];
    json_t *label, *value;
    int     rc;

    if (!json_is_object(j)) {
        return sc_fail(c, field, "is not an object with label and value");
    }
    label = json_object_get(j, "label");
    value = json_object_get(j, "value");
    if (label == NULL || value == NULL || json_object_size(j) != 2) {
        return sc_fail(c, field, "must hold exactly label and value");
    }
    snprintf(f, sizeof(f), "%s.label", field);
    if ((rc = sc_langmap(c, label, f, &out->label)) != VL_OK) {
        return rc;
    }
    snprintf(f, sizeof(f), "%s.value", field);
    return sc_langmap(c, value, f, &out->value);
}

/* metadata: [{label, value}, ...], or {"Label": "value", ...}. */
static int
sc_metadata(sc_t *c, json_t *j, vl_sidecar_t *sc)
{
    char   f[64];
    size_t i = 0;
    int    rc;

    if (json_is_array(j)) {
        sc->nmetadata = json_array_size(j);
        sc->metadata = vl_pool_calloc(c->pool, sc->nmetadata + 1,
                                      sizeof(*sc->metadata));
        if (sc->metadata == NULL) {
            return vl_err_set(c->err, VL_ENOMEM, "out of memory");
        }
        for (i = 0; i < sc->nmetadata; i++) {
            snprintf(f, sizeof(f), "metadata[%zu]", i);
            if ((rc = sc_pair(c, json_array_get(j, i), f, &sc->metadata[i]))
                != VL_OK) {
                return rc;
            }
        }
        return VL_OK;
    }
    if (json_is_object(j)) {
        const char *key;
        json_t     *v;

        sc->nmetadata = json_object_size(j);
        sc->metadata = vl_pool_calloc(c->pool, sc->nmetadata + 1,
                                      sizeof(*sc->metadata));
        if (sc->metadata == NULL) {
            return vl_err_set(c->err, VL_ENOMEM, "out of memory");
        }
        json_object_foreach(j, key, v) {
            snprintf(f, sizeof(f), "metadata.%.40s", key);
            if (vl_langmap_none(c->pool, key, &sc->metadata[i].label)
                    != VL_OK) {
                return vl_err_set(c->err, VL_ENOMEM, "out of memory");
            }
            if ((rc = sc_langmap(c, v, f, &sc->metadata[i].value)) != VL_OK) {
                return rc;
            }
            i++;
        }
        return VL_OK;
    }
    return sc_fail(c, "metadata", "is not an array of label/value pairs");
}

/* A link: "https://..." or {id, type, format, profile, label}; one or an
 * array. */
static int
sc_links(sc_t *c, json_t *j, const char *field, const char *type,
         vl_link_t **out, size_t *n)
{
    size_t k = json_is_array(j) ? json_array_size(j) : 1;
    char   f[64];

    if (k == 0) {
        return sc_fail(c, field, "is an empty array");
    }
    if ((*out = vl_pool_calloc(c->pool, k, sizeof(**out))) == NULL) {
        return vl_err_set(c->err, VL_ENOMEM, "out of memory");
    }
    *n = k;
    for (size_t i = 0; i < k; i++) {
        json_t     *e = json_is_array(j) ? json_array_get(j, i) : j;
        vl_link_t  *l = &(*out)[i];
        const char *key;
        json_t     *v;
        int         rc;

        snprintf(f, sizeof(f), json_is_array(j) ? "%s[%zu]" : "%s", field,
                 i);
        l->type = type;
        if (json_is_string(e)) {
            if (!sc_is_uri(json_string_value(e))) {
                return sc_fail(c, f, "is not an http(s) URI");
            }
            l->id = sc_dup(c, json_string_value(e));
            continue;
        }
        if (!json_is_object(e)) {
            return sc_fail(c, f, "is not a URI or an object with an id");
        }
        json_object_foreach(e, key, v) {
            if (strcmp(key, "label") == 0) {
                char lf[80];

                snprintf(lf, sizeof(lf), "%s.label", f);
                if ((rc = sc_langmap(c, v, lf, &l->label)) != VL_OK) {
                    return rc;
                }
                continue;
            }
            if (!json_is_string(v)) {
                return sc_fail(c, f, "has a field that is not a string");
            }
            if (strcmp(key, "id") == 0) {
                l->id = sc_dup(c, json_string_value(v));
            } else if (strcmp(key, "type") == 0) {
                l->type = sc_dup(c, json_string_value(v));
            } else if (strcmp(key, "format") == 0) {
                l->format = sc_dup(c, json_string_value(v));
            } else if (strcmp(key, "profile") == 0) {
                l->profile = sc_dup(c, json_string_value(v));
            } else {
                return sc_fail(c, f, "has an unknown field");
            }
        }
        if (l->id == NULL || !sc_is_uri(l->id)) {
            return sc_fail(c, f, "has no http(s) id");
        }
    }
    return VL_OK;
}

/* provider: "Name", {label, homepage}, or an array of one of those. */
static int
sc_provider(sc_t *c, json_t *j, vl_sidecar_t *sc)
{
    json_t *label, *home;

    if (json_is_array(j)) {
        if (json_array_size(j) != 1) {
            return sc_fail(c, "provider", "must name one provider");
        }
        j = json_array_get(j, 0);
    }
    if (json_is_string(j)) {
        return sc_langmap(c, j, "provider", &sc->provider_label);
    }
    if (!json_is_object(j)) {
        return sc_fail(c, "provider", "is not a name or an object");
    }
    label = json_object_get(j, "label");
    home = json_object_get(j, "homepage");
    if (label == NULL
        || json_object_size(j) != (size_t) (home != NULL ? 2 : 1))
    {
        return sc_fail(c, "provider", "must hold label and, optionally, "
                                      "homepage");
    }
    if (home != NULL) {
        if (!json_is_string(home) || !sc_is_uri(json_string_value(home))) {
            return sc_fail(c, "provider.homepage", "is not an http(s) URI");
        }
        sc->provider_homepage = sc_dup(c, json_string_value(home));
    }
    return sc_langmap(c, label, "provider.label", &sc->provider_label);
}

/* The behaviors of Presentation 3 (section 3.3): on which of the two
 * resources a sidecar describes each is valid, and its group: two of one
 * group exclude each other. */
#define SC_M 1                  /* a Manifest */
#define SC_C 2                  /* a Collection */

static const struct {
    const char *name;
    int         on, group;
} sc_behaviors[] = {
    { "auto-advance", SC_M | SC_C, 1 }, { "no-auto-advance", SC_M | SC_C, 1 },
    { "repeat", SC_M | SC_C, 2 },       { "no-repeat", SC_M | SC_C, 2 },
    { "unordered", SC_M | SC_C, 3 },    { "individuals", SC_M | SC_C, 3 },
    { "continuous", SC_M | SC_C, 3 },   { "paged", SC_M | SC_C, 3 },
    { "multi-part", SC_C, 4 },          { "together", SC_C, 4 },
    /* of Canvases, Ranges and Annotations: never of what a sidecar says */
    { "facing-pages", 0, 5 },           { "non-paged", 0, 5 },
    { "sequence", 0, 6 },               { "thumbnail-nav", 0, 6 },
    { "no-nav", 0, 6 },                 { "hidden", 0, 7 },
};

#define SC_NBEHAVIORS (sizeof(sc_behaviors) / sizeof(sc_behaviors[0]))

static size_t
sc_behavior_find(const char *name)
{
    size_t k = 0;

    while (k < SC_NBEHAVIORS && strcmp(sc_behaviors[k].name, name) != 0) {
        k++;
    }
    return k;
}

static int
sc_behavior(sc_t *c, json_t *j, vl_sidecar_t *sc)
{
    char why[96];
    int  rc = sc_strings(c, j, "behavior", &sc->behavior, &sc->nbehavior);

    for (size_t i = 0; rc == VL_OK && i < sc->nbehavior; i++) {
        size_t k = sc_behavior_find(sc->behavior[i]);

        if (k == SC_NBEHAVIORS) {
            return sc_fail(c, "behavior", "holds an unknown behavior");
        }
        for (size_t m = 0; m < i; m++) {
            size_t o = sc_behavior_find(sc->behavior[m]);

            if (sc_behaviors[o].group == sc_behaviors[k].group) {
                snprintf(why, sizeof(why), "'%s' and '%s' exclude each other",
                         sc_behaviors[o].name, sc_behaviors[k].name);
                return sc_fail(c, "behavior", why);
            }
        }
    }
    return rc;
}

/* What the sidecar describes: an image or a folder object (a Manifest) or
 * a folder (a Collection); what it says must fit that. */
static int
sc_fits(sc_t *c, const vl_sidecar_t *sc, int is_folder)
{
    int  on = !is_folder || sc->nitems > 0 ? SC_M : SC_C;
    char why[96];

    if (!is_folder && sc->nitems > 0) {
        return sc_fail(c, "items", "lists files only in a folder's sidecar");
    }
    if (on == SC_C && sc->ncanvas_labels > 0) {
        return sc_fail(c, "canvases", "labels canvases only in the sidecar "
                                      "of an image or of a folder with items");
    }
    for (size_t i = 0; i < sc->nbehavior; i++) {
        size_t k = sc_behavior_find(sc->behavior[i]);

        if (!(sc_behaviors[k].on & on)) {
            snprintf(why, sizeof(why), "'%s' is not a behavior of a %s",
                     sc->behavior[i], on == SC_M ? "Manifest" : "Collection");
            return sc_fail(c, "behavior", why);
        }
    }
    return VL_OK;
}

/* xsd:dateTime with a time zone: YYYY-MM-DDThh:mm:ss[.s]Z or +hh:mm. */
static int
sc_is_datetime(const char *s)
{
    static const char form[] = "dddd-dd-ddTdd:dd:dd";
    size_t            i;

    for (i = 0; form[i] != '\0'; i++) {
        if (form[i] == 'd' ? !isdigit((unsigned char) s[i]) : s[i] != form[i]) {
            return 0;
        }
    }
    s += i;
    if (*s == '.') {
        for (s++; isdigit((unsigned char) *s); s++) {
        }
    }
    if (strcmp(s, "Z") == 0) {
        return 1;
    }
    return (s[0] == '+' || s[0] == '-') && isdigit((unsigned char) s[1])
           && isdigit((unsigned char) s[2]) && s[3] == ':'
           && isdigit((unsigned char) s[4]) && isdigit((unsigned char) s[5])
           && s[6] == '\0';
}

static int
sc_field(sc_t *c, const char *key, json_t *v, vl_sidecar_t *sc)
{
    if (strcmp(key, "label") == 0) {
        return sc_langmap(c, v, "label", &sc->label);
    }
    if (strcmp(key, "summary") == 0) {
        return sc_langmap(c, v, "summary", &sc->summary);
    }
    if (strcmp(key, "metadata") == 0) {
        return sc_metadata(c, v, sc);
    }
    if (strcmp(key, "rights") == 0) {
        if (!json_is_string(v) || !sc_is_uri(json_string_value(v))) {
            return sc_fail(c, "rights", "is not an http(s) URI");
        }
        sc->rights = sc_dup(c, json_string_value(v));
        return VL_OK;
    }
    if (strcmp(key, "requiredStatement") == 0) {
        sc->has_required = 1;
        return sc_pair(c, v, "requiredStatement", &sc->required);
    }
    if (strcmp(key, "provider") == 0) {
        return sc_provider(c, v, sc);
    }
    if (strcmp(key, "homepage") == 0) {
        return sc_links(c, v, "homepage", "Text", &sc->homepage,
                        &sc->nhomepage);
    }
    if (strcmp(key, "seeAlso") == 0) {
        return sc_links(c, v, "seeAlso", "Dataset", &sc->see_also,
                        &sc->nsee_also);
    }
    if (strcmp(key, "behavior") == 0) {
        return sc_behavior(c, v, sc);
    }
    if (strcmp(key, "navDate") == 0) {
        if (!json_is_string(v) || !sc_is_datetime(json_string_value(v))) {
            return sc_fail(c, "navDate", "is not an xsd:dateTime with a time "
                                         "zone (1689-01-01T00:00:00Z)");
        }
        sc->nav_date = sc_dup(c, json_string_value(v));
        return VL_OK;
    }
    if (strcmp(key, "viewingDirection") == 0) {
        static const char *const dirs[] = { "left-to-right", "right-to-left",
                                            "top-to-bottom", "bottom-to-top" };

        for (size_t i = 0; json_is_string(v) && i < 4; i++) {
            if (strcmp(json_string_value(v), dirs[i]) == 0) {
                sc->viewing_direction = dirs[i];
                return VL_OK;
            }
        }
        return sc_fail(c, "viewingDirection", "is not left-to-right, "
                       "right-to-left, top-to-bottom or bottom-to-top");
    }
    if (strcmp(key, "canvases") == 0) {
        char f[32];

        if (!json_is_array(v)) {
            return sc_fail(c, "canvases", "is not an array of labels");
        }
        sc->ncanvas_labels = json_array_size(v);
        sc->canvas_labels = vl_pool_calloc(c->pool, sc->ncanvas_labels + 1,
                                           sizeof(*sc->canvas_labels));
        if (sc->canvas_labels == NULL) {
            return vl_err_set(c->err, VL_ENOMEM, "out of memory");
        }
        for (size_t i = 0; i < sc->ncanvas_labels; i++) {
            json_t *e = json_array_get(v, i);
            int     rc;

            snprintf(f, sizeof(f), "canvases[%zu]", i);
            if (json_is_object(e) && json_object_get(e, "label") != NULL
                && json_object_size(e) == 1) {
                e = json_object_get(e, "label");
            }
            if ((rc = sc_langmap(c, e, f, &sc->canvas_labels[i])) != VL_OK) {
                return rc;
            }
        }
        return VL_OK;
    }
    if (strcmp(key, "items") == 0) {
        int rc;

        if (!json_is_array(v)) {
            return sc_fail(c, "items", "is not an array of file names");
        }
        if ((rc = sc_strings(c, v, "items", &sc->items, &sc->nitems))
            != VL_OK) {
            return rc;
        }
        for (size_t i = 0; i < sc->nitems; i++) {
            const char *n = sc->items[i];

            if (n[0] == '\0' || n[0] == '.' || strchr(n, '/') != NULL) {
                return sc_fail(c, "items", "holds a name that is not a file "
                                           "of the folder");
            }
        }
        return VL_OK;
    }
    return sc_fail(c, key, "is not a field of a vellum sidecar");
}

int
vl_sidecar_parse(vl_pool_t *pool, const char *text, size_t len,
                 int is_folder, vl_sidecar_t *out, vl_err_t *err)
{
    json_error_t jerr;
    json_t      *doc, *v;
    const char  *key;
    sc_t         c = { pool, err };
    int          rc = VL_OK;

    memset(out, 0, sizeof(*out));
    doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL) {
        return vl_err_set(err, VL_EFORMAT, "line %d: %s", jerr.line,
                          jerr.text);
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return vl_err_set(err, VL_EFORMAT, "is not a JSON object");
    }
    json_object_foreach(doc, key, v) {
        if ((rc = sc_field(&c, key, v, out)) != VL_OK) {
            break;
        }
    }
    json_decref(doc);
    if (rc == VL_OK) {
        rc = sc_fits(&c, out, is_folder);
    }
    if (rc != VL_OK) {
        memset(out, 0, sizeof(*out));
    }
    return rc;
}
