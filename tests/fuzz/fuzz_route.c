/* SPDX-License-Identifier: MIT */
/*
 * fuzz_route: the route table (serve/route.c). Input: the IIIF path (no
 * leading '/'). Every path finds a row; what the row captured lies inside
 * the path; the reserved-name check and the Allow text take any
 * identifier. A second byte string (after the first NUL, if any) goes
 * through vl_route_reserved as a decoded identifier.
 */
#include "config.h"

#include "serve/route.h"
#include "fuzz.h"

static void
route_inside(vl_str_t path, vl_str_t s, const char *what)
{
    if (s.len == 0) {
        return;
    }
    FUZZ_CHECK(s.data >= path.data && s.data + s.len <= path.data + path.len,
               "%s outside the path", what);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    vl_str_t          path = { size, (const char *) data };
    vl_route_match_t  m;
    const vl_route_t *r;
    char             *id;
    size_t            len;
    fuzz_in_t         in = { data, size };

    r = vl_route_find(path, &m);
    FUZZ_CHECK(r != NULL && m.route == r, "no route");
    FUZZ_CHECK(r->name != NULL && r->fn != NULL, "route without a handler");
    FUZZ_CHECK(vl_route_allow(r->methods) != NULL, "no Allow text");
    route_inside(path, m.id, "identifier");
    route_inside(path, m.part, "part");
    for (int k = 0; k < 4; k++) {
        route_inside(path, m.params[k], "parameter");
    }
    if (r->kind == VL_ROUTE_EXACT) {
        FUZZ_CHECK(vl_str_eq(path, r->path), "exact row on another path");
    }
    id = fuzz_rest(&in, &len);
    (void) vl_route_reserved(id);
    free(id);
    return 0;
}
