/* SPDX-License-Identifier: MIT */
/*
 * info: info.json for Image API 3.0 and 2.1 with jansson. Keys are emitted
 * in the order the specification lists them (JSON_PRESERVE_ORDER), "@context"
 * first. Only what vellum really serves is advertised: the formats of the
 * format table, the features of the parser and kernels, sizes and tiles
 * within the limits.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core/str.h"
#include "encode/encode.h"
#include "proto/info.h"

#define INFO_CTX3 "http://iiif.io/api/image/3/context.json"
#define INFO_CTX2 "http://iiif.io/api/image/2/context.json"
#define INFO_PROTOCOL "http://iiif.io/api/image"
#define INFO_LEVEL2_V2 "http://iiif.io/api/image/2/level2.json"
#define INFO_UNTILED 512

/* Features of the 3.0 vocabulary vellum implements, in the order of the
 * spec's table; the conditional ones are flagged. */
enum { INFO_ALWAYS, INFO_IF_UPSCALING, INFO_IF_CORS };

static const struct {
    const char *name;
    int         when;
} info_features3[] = {
    { "regionByPct", INFO_ALWAYS },
    { "regionByPx", INFO_ALWAYS },
    { "regionSquare", INFO_ALWAYS },
    { "sizeByW", INFO_ALWAYS },
    { "sizeByH", INFO_ALWAYS },
    { "sizeByPct", INFO_ALWAYS },
    { "sizeByWh", INFO_ALWAYS },
    { "sizeByConfinedWh", INFO_ALWAYS },
    { "sizeUpscaling", INFO_IF_UPSCALING },
    { "rotationBy90s", INFO_ALWAYS },
    { "rotationArbitrary", INFO_ALWAYS },
    { "mirroring", INFO_ALWAYS },
    { "baseUriRedirect", INFO_ALWAYS },
    { "cors", INFO_IF_CORS },
    { "jsonldMediaType", INFO_ALWAYS },
    { "profileLinkHeader", INFO_ALWAYS },
    { "canonicalLinkHeader", INFO_ALWAYS },
}, info_features2[] = {
    { "baseUriRedirect", INFO_ALWAYS },
    { "canonicalLinkHeader", INFO_ALWAYS },
    { "cors", INFO_IF_CORS },
    { "jsonldMediaType", INFO_ALWAYS },
    { "mirroring", INFO_ALWAYS },
    { "profileLinkHeader", INFO_ALWAYS },
    { "regionByPct", INFO_ALWAYS },
    { "regionByPx", INFO_ALWAYS },
    { "regionSquare", INFO_ALWAYS },
    { "rotationArbitrary", INFO_ALWAYS },
    { "rotationBy90s", INFO_ALWAYS },
    { "sizeAboveFull", INFO_IF_UPSCALING },
    { "sizeByConfinedWh", INFO_ALWAYS },
    { "sizeByDistortedWh", INFO_ALWAYS },
    { "sizeByForcedWh", INFO_ALWAYS },
    { "sizeByH", INFO_ALWAYS },
    { "sizeByPct", INFO_ALWAYS },
    { "sizeByW", INFO_ALWAYS },
    { "sizeByWh", INFO_ALWAYS },
    { "sizeByWhListed", INFO_ALWAYS },
};

static const char *const info_extra_qualities[] = { "color", "gray",
                                                    "bitonal" };

int
vl_info_is_uri(const char *s)
{
    if (s == NULL) {
        return 0;
    }
    if (strncmp(s, "http://", 7) == 0) {
        s += 7;
    } else if (strncmp(s, "https://", 8) == 0) {
        s += 8;
    } else {
        return 0;
    }
    if (*s == '\0' || *s == '/') {
        return 0;
    }
    for (; *s != '\0'; s++) {
        if ((unsigned char) *s <= ' ' || *s == '"' || *s == '<' || *s == '>'
            || (unsigned char) *s >= 0x7f)
        {
            return 0;
        }
    }
    return 1;
}

static uint64_t
info_max_height(const vl_limits_t *l)
{
    return l->max_height != 0 ? l->max_height : l->max_width;
}

static int
info_size_allowed(const vl_limits_t *l, uint64_t w, uint64_t h)
{
    uint64_t mh = info_max_height(l);

    if (l->max_width != 0 && w > l->max_width) {
        return 0;
    }
    if (mh != 0 && h > mh) {
        return 0;
    }
    if (l->max_area != 0 && w * h > l->max_area) {
        return 0;
    }
    return 1;
}

static int
info_upscaling(const vl_info_opts_t *o)
{
    /* a server offering sizeUpscaling MUST declare maxWidth or maxArea */
    return o->limits->allow_upscaling
           && (o->limits->max_width != 0 || o->limits->max_area != 0);
}

static int
info_set(json_t *obj, const char *key, json_t *val)
{
    return val == NULL || json_object_set_new(obj, key, val) != 0 ? -1 : 0;
}

static int
info_append(json_t *arr, json_t *val)
{
    return val == NULL || json_array_append_new(arr, val) != 0 ? -1 : 0;
}

static json_t *
info_strings(const char *const *v, size_t n)
{
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (info_append(arr, json_string(v[i])) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* The formats of the format table (encode.c), jpg (which every level
 * requires) left out when `extra`. */
static json_t *
info_formats(int extra)
{
    vl_format_t f[VL_FORMAT_COUNT];
    size_t      n = vl_format_list(f, VL_FORMAT_COUNT);
    json_t     *arr = json_array();

    for (size_t i = 0; arr != NULL && i < n; i++) {
        if (extra && f[i] == VL_FORMAT_JPG) {
            continue;
        }
        if (info_append(arr, json_string(vl_format_ext(f[i]))) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static json_t *
info_features(const vl_info_opts_t *o, int v2)
{
    json_t *arr = json_array();
    size_t  n = v2 ? sizeof(info_features2) / sizeof(info_features2[0])
                   : sizeof(info_features3) / sizeof(info_features3[0]);

    for (size_t i = 0; arr != NULL && i < n; i++) {
        const char *name = v2 ? info_features2[i].name
                              : info_features3[i].name;
        int         when = v2 ? info_features2[i].when
                              : info_features3[i].when;

        if ((when == INFO_IF_UPSCALING && !info_upscaling(o))
            || (when == INFO_IF_CORS && !o->cors))
        {
            continue;
        }
        if (info_append(arr, json_string(name)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

/* Every stored level below full resolution, smallest first, that the
 * limits allow. */
static json_t *
info_sizes(const vl_info_opts_t *o)
{
    const vl_geom_t *g = &o->src->geom;
    json_t          *arr = json_array();

    for (uint32_t i = g->nlevels; arr != NULL && i-- > 1;) {
        const vl_level_t *lv = &g->levels[i];
        json_t           *s;

        if (!info_size_allowed(o->limits, lv->width, lv->height)) {
            continue;
        }
        s = json_object();
        if (s == NULL
            || info_set(s, "width", json_integer(lv->width)) != 0
            || info_set(s, "height", json_integer(lv->height)) != 0
            || info_append(arr, s) != 0)
        {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

void
vl_info_tile_size(const vl_geom_t *g, uint32_t *tw, uint32_t *th)
{
    *tw = g->nlevels > 0 ? g->levels[0].tile_w : 0;
    *th = g->nlevels > 0 ? g->levels[0].tile_h : 0;
    if (*tw == 0 || *th == 0) {
        *tw = *th = INFO_UNTILED;
    }
}

static json_t *
info_tiles(const vl_info_opts_t *o)
{
    const vl_geom_t *g = &o->src->geom;
    uint32_t         sf[VL_MAX_LEVELS + 8];
    size_t           n = vl_plan_scale_factors(g, sf,
                                           sizeof(sf) / sizeof(sf[0]));
    uint32_t         tw, th;
    json_t          *arr = json_array(), *tile = json_object();
    json_t          *scales = json_array();

    vl_info_tile_size(g, &tw, &th);
    if (arr == NULL || tile == NULL || scales == NULL) {
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        if (info_append(scales, json_integer(sf[i])) != 0) {
            goto fail;
        }
    }
    if (info_set(tile, "width", json_integer(tw)) != 0
        || info_set(tile, "height", json_integer(th)) != 0)
    {
        goto fail;
    }
    if (json_object_set_new(tile, "scaleFactors", scales) != 0) {
        scales = NULL;
        goto fail;
    }
    scales = NULL;
    if (json_array_append_new(arr, tile) != 0) {
        tile = NULL;
        goto fail;
    }
    return arr;

fail:
    json_decref(scales);
    json_decref(tile);
    json_decref(arr);
    return NULL;
}

static int
info_limits(json_t *obj, const vl_limits_t *l)
{
    if (l->max_width != 0
        && (info_set(obj, "maxWidth", json_integer((json_int_t) l->max_width))
                != 0
            || info_set(obj, "maxHeight",
                        json_integer((json_int_t) info_max_height(l))) != 0))
    {
        return -1;
    }
    if (l->max_area != 0
        && info_set(obj, "maxArea", json_integer((json_int_t) l->max_area))
               != 0)
    {
        return -1;
    }
    return 0;
}

static json_t *
info_build3(const vl_info_opts_t *o)
{
    json_t *doc = json_object();

    if (doc == NULL
        || info_set(doc, "@context", json_string(INFO_CTX3)) != 0
        || info_set(doc, "id", json_string(o->id)) != 0
        || info_set(doc, "type", json_string("ImageService3")) != 0
        || info_set(doc, "protocol", json_string(INFO_PROTOCOL)) != 0
        || info_set(doc, "profile", json_string("level2")) != 0
        || info_set(doc, "width", json_integer(o->src->geom.width)) != 0
        || info_set(doc, "height", json_integer(o->src->geom.height)) != 0
        || info_limits(doc, o->limits) != 0
        || info_set(doc, "sizes", info_sizes(o)) != 0
        || info_set(doc, "tiles", info_tiles(o)) != 0
        || info_set(doc, "extraQualities",
                    info_strings(info_extra_qualities,
                                 sizeof(info_extra_qualities)
                                 / sizeof(info_extra_qualities[0]))) != 0
        || info_set(doc, "extraFormats", info_formats(1)) != 0
        || info_set(doc, "extraFeatures", info_features(o, 0)) != 0
        || (o->rights != NULL
            && info_set(doc, "rights", json_string(o->rights)) != 0))
    {
        json_decref(doc);
        return NULL;
    }
    return doc;
}

static json_t *
info_build2(const vl_info_opts_t *o)
{
    static const char *const qualities[] = { "default", "color", "gray",
                                             "bitonal" };
    json_t *doc = json_object(), *profile = json_array();
    json_t *desc = json_object();

    if (doc == NULL || profile == NULL || desc == NULL
        || info_append(profile, json_string(INFO_LEVEL2_V2)) != 0
        || info_set(desc, "formats", info_formats(0)) != 0
        || info_set(desc, "qualities", info_strings(qualities, 4)) != 0
        || info_set(desc, "supports", info_features(o, 1)) != 0
        || info_limits(desc, o->limits) != 0)
    {
        goto fail;
    }
    if (json_array_append_new(profile, desc) != 0) {
        desc = NULL;
        goto fail;
    }
    desc = NULL;
    if (info_set(doc, "@context", json_string(INFO_CTX2)) != 0
        || info_set(doc, "@id", json_string(o->id)) != 0
        || info_set(doc, "protocol", json_string(INFO_PROTOCOL)) != 0
        || info_set(doc, "width", json_integer(o->src->geom.width)) != 0
        || info_set(doc, "height", json_integer(o->src->geom.height)) != 0
        || info_set(doc, "sizes", info_sizes(o)) != 0
        || info_set(doc, "tiles", info_tiles(o)) != 0)
    {
        goto fail;
    }
    if (json_object_set_new(doc, "profile", profile) != 0) {
        profile = NULL;
        goto fail;
    }
    profile = NULL;
    if (o->rights != NULL
        && info_set(doc, "license", json_string(o->rights)) != 0)
    {
        goto fail;
    }
    return doc;

fail:
    json_decref(desc);
    json_decref(profile);
    json_decref(doc);
    return NULL;
}

int
vl_info_json(vl_pool_t *pool, const vl_info_opts_t *opts, char **out,
             size_t *len, vl_err_t *err)
{
    json_t *doc = opts->version == 2 ? info_build2(opts) : info_build3(opts);
    char   *text, *copy;

    if (doc == NULL) {
        return vl_err_set(err, VL_ENOMEM, "cannot build info.json");
    }
    text = json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(doc);
    if (text == NULL) {
        return vl_err_set(err, VL_ENOMEM, "cannot build info.json");
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
