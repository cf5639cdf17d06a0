/* SPDX-License-Identifier: MIT */
/*
 * image: the image route. The request is planned against the source's
 * geometry (proto/plan.c: every 400/501 of sizes and limits), then goes
 * through the cached response flow: a stored JPEG tile is passed through
 * (render.c decides), else memcached, else the pixel pipeline renders it.
 * Before rendering, the request's cost is estimated from the plan and the
 * source's declared geometry (vl_render_cost): over MAX_DECODE_PIXELS or
 * MAX_REQUEST_MEMORY it is a 400, nothing decoded; a heavy one runs
 * only while fewer than
 * HEAVY_THREADS heavy ones run in this worker, else a 503 at once (heavy:
 * over HEAVY_PIXELS, over a quarter of MAX_REQUEST_MEMORY, or an
 * arbitrary rotation; never one tile of a level's grid).
 */
#include "config.h"

#include <string.h>

#include "core/log.h"
#include "proto/info.h"
#include "proto/plan.h"
#include "serve/render.h"
#include "serve/serve_p.h"

/* Heavy requests running in this process (admission control). */
static long image_heavy;

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

static void
image_heavy_done(void *unused)
{
    (void) unused;
    __atomic_sub_fetch(&image_heavy, 1, __ATOMIC_RELEASE);
}

static int
image_on_grid(const vl_plan_t *p, uint32_t tw, uint32_t th)
{
    return tw != 0 && th != 0 && p->lx % tw == 0 && p->ly % th == 0
           && p->lw <= tw && p->lh <= th && p->out_w <= tw && p->out_h <= th;
}

/* Whether the plan reads one tile of the grid info.json announces
 * (vl_info_tile_size) or of its level's stored tiles, at that
 * scale factor, for an output no larger: a viewer's tile. */
static int
image_is_tile(const vl_source_info_t *info, const vl_plan_t *p)
{
    const vl_level_t *lv;
    uint32_t          tw, th;

    if (p->level >= info->geom.nlevels) {
        return 0;
    }
    lv = &info->geom.levels[p->level];
    vl_info_tile_size(&info->geom, &tw, &th);
    /* 256 on untiled levels: what clients that ignore info.json ask */
    return image_on_grid(p, tw, th) || image_on_grid(p, lv->tile_w, lv->tile_h)
           || (lv->tile_w == 0 && image_on_grid(p, 256, 256));
}

/* The request budget and admission control, before anything is decoded:
 * a request over the budget is refused for this image (400, whatever the
 * load: it would be refused again); a heavy one takes one of the
 * worker's HEAVY_THREADS slots until its pool dies, or is told to come
 * back (503 with Retry-After) without waiting, so tiles and info.json
 * never queue behind heavy requests. */
static int
image_admit(vl_serve_t *s, const image_ctx_t *ctx, vl_source_t *src,
            vl_err_t *err)
{
    const vl_budget_t *b = &s->conf->budget;
    const vl_plan_t   *p = &ctx->plan;
    vl_cost_t          cost;
    double             rot = p->rotation;
    int                rc, right;

    if ((rc = vl_render_cost(src, p, &s->conf->output, &cost, err))
        != VL_OK) {
        return rc;
    }
    vl_log(VL_LOG_DEBUG, s->req->reqid, "cost: %llu pixels, %llu MB",
           (unsigned long long) cost.pixels,
           (unsigned long long) (cost.bytes >> 20));
    if (b->max_pixels != 0 && cost.pixels > b->max_pixels) {
        return vl_err_set(err, VL_ELIMIT,
                          "request too large for this image: it would "
                          "decode %llu megapixels (MAX_DECODE_PIXELS is "
                          "%llu)",
                          (unsigned long long) ((cost.pixels + 999999)
                                                / 1000000),
                          (unsigned long long) (b->max_pixels / 1000000));
    }
    if (b->max_bytes != 0 && cost.bytes > b->max_bytes) {
        return vl_err_set(err, VL_ELIMIT,
                          "request too large for this image: it would "
                          "need %llu MB at once (MAX_REQUEST_MEMORY is "
                          "%llu)",
                          (unsigned long long) ((cost.bytes + (1u << 20) - 1)
                                                >> 20),
                          (unsigned long long) (b->max_bytes >> 20));
    }
    /* admitted: the heap of a large one goes back to the system after it */
    vl_source_note_cost(s->pool, cost.bytes);
    right = rot == 0.0 || rot == 90.0 || rot == 180.0 || rot == 270.0;
    if (right && image_is_tile(vl_source_info(src), p)) {
        /* what a viewer asks for is never refused for load: a tile near
         * the bottom of a flat JPEG or PNG is estimated as a decode from
         * the top, which the band kept and the tile cache make rare */
        return VL_OK;
    }
    if (cost.pixels <= b->heavy_pixels
        && (b->max_bytes == 0 || cost.bytes <= b->max_bytes / 4) && right) {
        return VL_OK;
    }
    if (__atomic_add_fetch(&image_heavy, 1, __ATOMIC_ACQUIRE)
            > b->heavy_threads
        || vl_pool_cleanup_add(s->pool, image_heavy_done, NULL) != 0) {
        __atomic_sub_fetch(&image_heavy, 1, __ATOMIC_RELEASE);
        return vl_err_set(err, VL_EBUSY,
                          "busy: %ld large requests are running in this "
                          "worker (HEAVY_THREADS); retry later",
                          b->heavy_threads);
    }
    return VL_OK;
}

static int
image_build(vl_serve_t *s, void *ctxv, vl_source_t *src, vl_body_t *out,
            vl_err_t *err)
{
    image_ctx_t *ctx = ctxv;
    vl_sink_t   *sink;
    int          rc;

    if ((rc = image_admit(s, ctx, src, err)) != VL_OK) {
        return rc;
    }
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
