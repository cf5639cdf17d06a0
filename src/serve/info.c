/* SPDX-License-Identifier: MIT */
/*
 * info: the info.json route (through the cached response flow) and the
 * base URI of an identifier (303 to its info.json). The media type follows
 * the Accept header (JSON-LD with the API's context by default), so it is
 * part of what the response is, and Vary: Accept goes with it.
 */
#include "config.h"

#include <string.h>

#include "proto/info.h"
#include "serve/serve_p.h"

#define INFO_LD2 "application/ld+json;profile=\"" VL_CTX_IMAGE2 "\""
#define INFO_LD3 "application/ld+json;profile=\"" VL_CTX_IMAGE3 "\""

typedef struct {
    const char *id; /* the id URI */
} info_ctx_t;

static const char *
info_type(const vl_http_req_t *req, int version)
{
    const char *a = req->accept;
    int         ld = a != NULL && strstr(a, "application/ld+json") != NULL;
    int         js = a != NULL && strstr(a, "application/json") != NULL;

    if (version == 2) {
        return ld ? INFO_LD2 : "application/json";
    }
    return js && !ld ? "application/json" : INFO_LD3;
}

static int
info_prepare(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_respond_what_t *w,
             vl_err_t *err)
{
    info_ctx_t *ctx = ctxv;

    (void) src;
    if ((ctx->id = vl_serve_id_uri(s)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    w->request = ctx->id;
    w->media = info_type(s->req, s->version);
    return VL_OK;
}

static int
info_build(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_body_t *out,
           vl_err_t *err)
{
    info_ctx_t             *ctx = ctxv;
    const vl_source_info_t *si = vl_source_info(src);
    const vl_conf_t        *conf = s->conf;
    vl_info_opts_t          o;
    char                   *json;
    size_t                  len;
    int                     rc;

    memset(&o, 0, sizeof(o));
    o.version = s->version;
    o.id = ctx->id;
    o.src = si;
    o.limits = &conf->limits;
    o.cors = conf->cors != NULL && conf->cors[0] != '\0';
    o.rights = vl_info_is_uri(si->rights)        ? si->rights
               : vl_info_is_uri(conf->copyright) ? conf->copyright
                                                 : NULL;
    if ((rc = vl_info_json(s->pool, &o, &json, &len, err)) != VL_OK) {
        return rc;
    }
    out->data = (const unsigned char *) json;
    out->len = len;
    out->type = info_type(s->req, s->version);
    return VL_OK;
}

static void
info_headers(vl_serve_t *s, void *ctxv)
{
    (void) ctxv;
    vl_serve_header(s, "Link",
                    s->version == 2 ? "<" VL_PROFILE_IMAGE2 ">;rel=\"profile\""
                                    : "<" VL_PROFILE_IMAGE3
                                      ">;rel=\"profile\"");
}

static const vl_respond_ops_t info_ops = {
    "info", 1, "Accept", info_prepare, NULL, info_build, info_headers, 0,
};

void
vl_serve_info(vl_serve_t *s)
{
    info_ctx_t ctx = { NULL };

    vl_respond(s, &info_ops, &ctx);
}

void
vl_serve_redirect(vl_serve_t *s)
{
    char *id = vl_serve_id_uri(s);

    if (id == NULL
        || vl_http_header_add(s->resp, s->pool, "Location", "%s/info.json", id)
               != 0)
    {
        vl_serve_fail(s, VL_ENOMEM, "out of memory");
        return;
    }
    s->resp->status = 303;
    s->resp->body = NULL;
    s->resp->body_len = 0;
}
