/* SPDX-License-Identifier: MIT */
/*
 * discovery: the IIIF Change Discovery 1.0 routes, /cd/collection.json and
 * /cd/pages/{n}.json. Not served yet: 404 until the stream is built.
 */
#include "config.h"

#include "serve/serve_p.h"

void
vl_serve_discovery(vl_serve_t *s)
{
    vl_serve_reserved(s);
}
