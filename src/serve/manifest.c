/* SPDX-License-Identifier: MIT */
/*
 * manifest: the IIIF Presentation 3 Manifest of an image or an object,
 * {id}/manifest. Not served yet: 404.
 */
#include "config.h"

#include "serve/serve_p.h"

void
vl_serve_manifest(vl_serve_t *s)
{
    vl_serve_reserved(s);
}
