/* SPDX-License-Identifier: MIT */
/*
 * route: the route table. Rows are tried in order; paths are the IIIF path
 * as sent (percent-encoded, no leading '/'). The names reserved at the top
 * of the service (collection.json, cd/, health, metrics) and the suffixes
 * of an identifier's own documents (manifest, manifest.json,
 * collection.json) are routed before any identifier is looked for, so a
 * file can never shadow them; an identifier whose decoded form names a
 * reserved top-level resource is refused (vl_route_reserved). A new route
 * is a row here plus its handler in one file of serve/.
 */
#include "config.h"

#include <string.h>

#include "proto/iiif.h"
#include "serve/serve_p.h"

static const vl_route_t route_table[] = {
    /* the service's own resources */
    { VL_ROUTE_EXACT, "collection.json", VL_M_READ, "collection",
      vl_serve_collection },
    { VL_ROUTE_EXACT, "cd/collection.json", VL_M_READ, "discovery",
      vl_serve_discovery },
    { VL_ROUTE_PREFIX, "cd/pages/", VL_M_READ, "discovery",
      vl_serve_discovery },
    { VL_ROUTE_PREFIX, "cd/", VL_M_READ, "reserved", vl_serve_reserved },
    { VL_ROUTE_EXACT, "health", VL_M_READ, "health", vl_serve_health },
    { VL_ROUTE_EXACT, "metrics", VL_M_READ, "metrics", vl_serve_metrics },
    /* documents of an identifier */
    { VL_ROUTE_SUFFIX, "info.json", VL_M_READ, "info", vl_serve_info },
    { VL_ROUTE_SUFFIX, "manifest", VL_M_READ, "manifest",
      vl_serve_manifest },
    { VL_ROUTE_SUFFIX, "manifest.json", VL_M_READ, "manifest",
      vl_serve_manifest },
    { VL_ROUTE_SUFFIX, "collection.json", VL_M_READ, "collection",
      vl_serve_collection },
    { VL_ROUTE_PART, "collection/", VL_M_READ, "collection",
      vl_serve_collection },
    /* {id}/{region}/{size}/{rotation}/{quality}.{format}, by its shape */
    { VL_ROUTE_IMAGE, NULL, VL_M_READ, "image", vl_serve_image },
    /* anything else is the base URI of an identifier: 303 to info.json */
    { VL_ROUTE_ID, NULL, VL_M_READ, "base", vl_serve_redirect },
};

#define ROUTE_N (sizeof(route_table) / sizeof(route_table[0]))

static int
route_match(const vl_route_t *r, vl_str_t path, vl_route_match_t *m)
{
    size_t n = r->path != NULL ? strlen(r->path) : 0;

    switch (r->kind) {
    case VL_ROUTE_EXACT:
        return vl_str_eq(path, r->path);
    case VL_ROUTE_PREFIX:
        if (!vl_str_starts(path, r->path)) {
            return 0;
        }
        m->part = (vl_str_t) { path.len - n, path.data + n };
        return 1;
    case VL_ROUTE_PART: {
        /* "{id}/" + path + digits + ".json", or path + digits + ".json";
         * the root's form is the one whose identifier would be empty */
        size_t end = path.len, d;

        if (!vl_str_ends(path, ".json")) {
            return 0;
        }
        end -= 5;
        d = end;
        while (d > 0 && path.data[d - 1] >= '0' && path.data[d - 1] <= '9') {
            d--;
        }
        if (d == end || end - d > 9 || d < n
            || memcmp(path.data + d - n, r->path, n) != 0) {
            return 0;
        }
        m->part = (vl_str_t) { end - d, path.data + d };
        if (d == n) {
            m->id = (vl_str_t) { 0, path.data };    /* the root's */
            return 1;
        }
        if (d - n < 2 || path.data[d - n - 1] != '/') {
            return 0;
        }
        m->id = (vl_str_t) { d - n - 1, path.data };
        return 1;
    }
    case VL_ROUTE_SUFFIX:
        if (vl_str_eq(path, r->path)) {
            m->id = (vl_str_t) { 0, path.data };
            return 1;
        }
        if (path.len > n + 1 && vl_str_ends(path, r->path)
            && path.data[path.len - n - 1] == '/')
        {
            m->id = (vl_str_t) { path.len - n - 1, path.data };
            return 1;
        }
        return 0;
    case VL_ROUTE_IMAGE:
        return vl_iiif_split(path, &m->id, m->params);
    case VL_ROUTE_ID:
        m->id = path;
        return 1;
    }
    return 0;
}

const vl_route_t *
vl_route_find(vl_str_t path, vl_route_match_t *m)
{
    memset(m, 0, sizeof(*m));
    for (size_t i = 0; i < ROUTE_N; i++) {
        if (route_match(&route_table[i], path, m)) {
            m->route = &route_table[i];
            return m->route;
        }
        memset(m, 0, sizeof(*m));
    }
    /* the last row takes any path */
    m->route = &route_table[ROUTE_N - 1];
    m->id = path;
    return m->route;
}

int
vl_route_reserved(const char *id)
{
    return vl_iiif_reserved(id);
}

const char *
vl_route_allow(unsigned methods)
{
    static const char *const allow[8] = {
        "",        "GET",          "HEAD",          "GET, HEAD",
        "OPTIONS", "GET, OPTIONS", "HEAD, OPTIONS", "GET, HEAD, OPTIONS"
    };

    return allow[methods & 7u];
}
