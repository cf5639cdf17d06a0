/* SPDX-License-Identifier: MIT */
/*
 * collection: the IIIF Presentation 3 Collections of the image tree,
 * /collection.json and {folder}/collection.json. Not served yet: 404.
 */
#include "config.h"

#include "serve/serve_p.h"

void
vl_serve_collection(vl_serve_t *s)
{
    vl_serve_reserved(s);
}
