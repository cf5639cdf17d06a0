/* SPDX-License-Identifier: MIT */
/*
 * image: the image route. The request is planned against the source's
 * geometry (proto/plan.c: every 400/501 of sizes and limits), then goes
 * through the cached response flow: a stored JPEG tile is passed through
 * (render.c decides), else memcached, else the pixel pipeline renders it.
 */
#include "config.h"

#include <string.h>

#include "proto/plan.h"
#include "serve/render.h"
#include "serve/serve_p.h"

typedef struct {
    vl_plan_t plan;
    char     *id; /* the id URI, for the canonical Link */
} image_ctx_t;

/* A viewer's edge tile whose body is not a stored tile as it is: a padded
 * stored tile cut by a lossless crop (a transcode of the tile, about 4M
 * instructions against a pread), or an edge tile of a floor-rounded level
 * made 1:1 with its last column / row repeated (a decode and an encode).
 * They are 2 % of a viewer's tiles and were most of the work: respond.c
 * keeps their bodies in the worker (w->memo). */
static int
image_edge_tile(const vl_plan_t *p, const vl_geom_t *g)
{
    const vl_level_t *lv = &g->levels[p->level];

    if (p->pad_w != 0 || p->pad_h != 0) {
        return 1;
    }
    return p->is_stored_tile && (p->out_w != lv->tile_w
                                 || p->out_h != lv->tile_h);
}

static int
image_prepare(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_respond_what_t *w,
              vl_err_t *err)
{
    image_ctx_t *ctx = ctxv;
    int          rc;

    rc = vl_plan_build(s->pool, &s->ir, &vl_source_info(src)->geom,
                       &s->conf->limits, &ctx->plan, err);
    if (rc != VL_OK) {
        return rc;
    }
    if ((ctx->id = vl_serve_id_uri(s)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    w->request = ctx->plan.canonical;
    w->memo = image_edge_tile(&ctx->plan, &vl_source_info(src)->geom);
    return VL_OK;
}

static int
image_direct(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_body_t *out,
             vl_err_t *err)
{
    image_ctx_t   *ctx = ctxv;
    unsigned char *data;
    size_t         len;
    int            rc;

    rc = vl_render_passthrough(s->pool, src, &ctx->plan, &s->conf->output,
                               &data, &len, err);
    /* a stored tile over MAX_RESPONSE_SIZE is not sent: the pipeline
     * encodes it instead, under the sink's cap like any body */
    if (rc == VL_OK && s->conf->max_response_bytes != 0
        && len > s->conf->max_response_bytes)
    {
        return VL_EUNSUPP;
    }
    if (rc == VL_OK) {
        out->data = data;
        out->len = len;
        out->type = vl_format_mime(ctx->plan.format);
    }
    return rc;
}

static int
image_build(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_body_t *out,
            vl_err_t *err)
{
    image_ctx_t *ctx = ctxv;
    vl_sink_t   *sink;
    int          rc;

    /* the sink's cleanup refers to it: it lives in the pool */
    if ((sink = vl_pool_alloc(s->pool, sizeof(*sink))) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = vl_sink_init(sink, s->pool, s->conf->max_response_bytes, err))
            != VL_OK
        || (rc = vl_render(s->pool, src, &ctx->plan, &s->conf->output, sink,
                           err))
               != VL_OK)
    {
        return rc;
    }
    out->data = sink->data;
    out->len = sink->len;
    out->type = vl_format_mime(ctx->plan.format);
    return VL_OK;
}

/* The file name of Content-Disposition: "{id}-{region}-{size}-{rotation}-
 * {quality}.{ext}" from the canonical request, every byte outside
 * [A-Za-z0-9._-] (the '/' of identifiers among them) as '_', the
 * identifier cut to IMAGE_NAME_ID bytes. NULL on ENOMEM. */
#define IMAGE_NAME_ID 128

static char *
image_filename(vl_pool_t *pool, const char *id, const char *canonical)
{
    size_t idlen = strlen(id), clen = strlen(canonical), n = 0;
    char  *name;

    idlen = idlen > IMAGE_NAME_ID ? IMAGE_NAME_ID : idlen;
    if ((name = vl_pool_alloc(pool, idlen + clen + 2)) == NULL) {
        return NULL;
    }
    for (size_t i = 0; i < idlen + 1 + clen; i++) {
        char c = i < idlen ? id[i] : i == idlen ? '-'
                 : canonical[i - idlen - 1];

        if (i > idlen && c == '/') {
            c = '-';            /* between the parameters */
        } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
                     || (c >= '0' && c <= '9') || c == '.' || c == '_'
                     || c == '-')) {
            c = '_';
        }
        name[n++] = c;
    }
    name[n] = '\0';
    return name;
}

static void
image_headers(vl_serve_t *s, void *ctxv)
{
    image_ctx_t *ctx = ctxv;
    vl_str_t     parts[7];
    char        *name;

    /* on every tile: concatenated, not formatted */
    parts[0] = VL_STR("<");
    parts[1] =
        s->version == 2 ? VL_STR(VL_PROFILE_IMAGE2) : VL_STR(VL_PROFILE_IMAGE3);
    parts[2] = VL_STR(">;rel=\"profile\", <");
    parts[3] = vl_str_from(ctx->id);
    parts[4] = VL_STR("/");
    parts[5] = vl_str_from(ctx->plan.canonical);
    parts[6] = VL_STR(">;rel=\"canonical\"");
    vl_serve_header(s, "Link", vl_str_cat(s->pool, parts, 7));
    /* the same wherever the body came from (built, memcached, stored) */
    if ((name = image_filename(s->pool, s->ir.id, ctx->plan.canonical))
        != NULL) {
        parts[0] = VL_STR("inline; filename=\"");
        parts[1] = vl_str_from(name);
        parts[2] = VL_STR("\"");
        vl_serve_header(s, "Content-Disposition",
                        vl_str_cat(s->pool, parts, 3));
    }
}

static const vl_respond_ops_t image_ops = {
    "image", 1, NULL, image_prepare, image_direct, image_build, image_headers,
    0,
};

void
vl_serve_image(vl_serve_t *s)
{
    image_ctx_t ctx;
    vl_err_t    err = { 0 };

    memset(&ctx, 0, sizeof(ctx));
    if (vl_iiif_parse_image(s->pool, s->m.params, s->version, &s->ir, &err)
        != VL_OK)
    {
        vl_serve_error(s, &err);
        return;
    }
    vl_respond(s, &image_ops, &ctx);
}
