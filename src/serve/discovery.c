/* SPDX-License-Identifier: MIT */
/*
 * discovery: the IIIF Change Discovery 1.0 routes, /cd/collection.json
 * and /cd/pages/{n}.json, through the cached response flow with no source
 * leased: prepare reads the page from the log (present/discovery.h) and
 * gives its tag and endTime as the identity of the response, so a page
 * that is not the last keeps its bytes and its ETag while the log grows.
 */
#include "config.h"

#include <string.h>

#include "present/discovery.h"
#include "serve/serve_p.h"

typedef struct {
    uint64_t            page; /* 0: the collection */
    vl_discovery_page_t p;
} disc_ctx_t;

/* "{n}.json", n a positive decimal without leading zeros. */
static int
disc_page_number(vl_str_t part, uint64_t *n)
{
    size_t digits;

    if (!vl_str_ends(part, ".json") || part.len <= 5) {
        return -1;
    }
    digits = part.len - 5;
    if (digits > 18 || part.data[0] == '0') {
        return -1;
    }
    return vl_parse_u64((vl_str_t) { digits, part.data }, UINT64_MAX, n);
}

static int
disc_prepare(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_respond_what_t *w,
             vl_err_t *err)
{
    disc_ctx_t *ctx = ctxv;
    const char *base = vl_serve_base(s);
    int         rc;

    (void) src;
    if (s->conf->state_dir == NULL || s->conf->state_dir[0] == '\0') {
        return vl_err_set(err, VL_ENOTFOUND,
                          "Change Discovery is off "
                          "(STATE_DIR is not set)");
    }
    if (base == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = vl_discovery_get(s->pool, s->conf->state_dir,
                               (uint64_t) s->conf->discovery_page_size,
                               ctx->page, &ctx->p, err))
        != VL_OK)
    {
        return rc;
    }
    if ((w->request = vl_discovery_uri(s->pool, base, ctx->page)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    w->id = "cd";
    /* the same bytes whatever Image API version the request asked for
     * (the Accept profile on an unversioned path): the same ETag */
    w->version = 0;
    w->media = VL_DISCOVERY_MEDIA;
    w->extra[0] = ctx->p.tag[0];
    w->extra[1] = ctx->p.tag[1];
    w->mtime = ctx->p.mtime > 0 ? ctx->p.mtime : 1;
    return VL_OK;
}

static int
disc_build(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_body_t *out,
           vl_err_t *err)
{
    disc_ctx_t         *ctx = ctxv;
    vl_discovery_opts_t o;
    char               *json;
    size_t              len;
    int                 rc;

    (void) src;
    memset(&o, 0, sizeof(o));
    o.base = vl_serve_base(s);
    o.see_also = s->conf->see_also;
    o.see_also_format = s->conf->see_also_format;
    o.see_also_profile = s->conf->see_also_profile;
    if ((rc = vl_discovery_json(s->pool, &o, &ctx->p, &json, &len, err))
        != VL_OK) {
        return rc;
    }
    out->data = (const unsigned char *) json;
    out->len = len;
    out->type = VL_DISCOVERY_MEDIA;
    return VL_OK;
}

static const vl_respond_ops_t disc_ops = {
    "discovery", 0, NULL, disc_prepare, NULL, disc_build, NULL,
    VL_RESPOND_DOC_DATED,
};

void
vl_serve_discovery(vl_serve_t *s)
{
    disc_ctx_t ctx;

    memset(&ctx, 0, sizeof(ctx));
    if (s->m.route != NULL && s->m.route->kind == VL_ROUTE_PREFIX
        && disc_page_number(s->m.part, &ctx.page) != 0)
    {
        vl_serve_fail(s, VL_ENOTFOUND,
                      "no such page: a page is "
                      "cd/pages/{n}.json, n from 1");
        return;
    }
    vl_respond(s, &disc_ops, &ctx);
}
