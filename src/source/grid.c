/* SPDX-License-Identifier: MIT */
/*
 * grid: the block walk every tiled backend reads through (source_p.h).
 * A read looks each block it touches up once in the worker's tile cache,
 * copies the hits, lets the backend decode the misses' bounding box and
 * copies what it publishes. The walk lives on the reader's stack; the only
 * shared state is the serialising lock and its decode counter.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "core/deadline.h"
#include "source/source_p.h"

/* One serialised decode at a time per process (vl_grid_ops_t.serialise).
 * A JPEG 2000 decode of an untiled file holds ~140 MB for its whole area
 * and keeps a core busy; with THREADS threads decoding at once a worker's
 * memory grew to 436 MB on big.jp2 for no gain in throughput (the cores
 * were already busy). Serialising bounds a worker to one decode's memory;
 * the other threads wait, and look in the tile cache again when a decode
 * finished while they waited. */
static pthread_mutex_t grid_decode_lock = PTHREAD_MUTEX_INITIALIZER;
/* Serialised decodes finished in this process (atomic): a thread that
 * finds it moved while it waited for the lock looks again. */
static unsigned long   grid_decodes;

static void
grid_key(const vl_grid_walk_t *w, uint32_t col, uint32_t row,
         vl_tile_key_t *key)
{
    const vl_file_id_t *f = &w->src->info.file;

    key->dev = (uint64_t) f->dev;
    key->ino = (uint64_t) f->ino;
    key->size = f->size;
    key->mtime_ns = f->mtime_ns;
    key->page = w->src->info.page;
    key->level = w->level;
    key->tile = row * w->cols + col;
    key->scale = w->lv->shrink > 1 ? w->lv->shrink : 1;
    key->depth = w->out->depth == 2 ? 2 : 1;
}

static unsigned char *
grid_flag(const vl_grid_walk_t *w, uint32_t col, uint32_t row)
{
    return &w->miss[(size_t) (row - w->span.y) * w->span.w
                    + (col - w->span.x)];
}

static int
grid_in_span(const vl_grid_walk_t *w, uint32_t col, uint32_t row)
{
    return col >= w->span.x && col - w->span.x < w->span.w
           && row >= w->span.y && row - w->span.y < w->span.h;
}

void
vl_grid_block(const vl_grid_walk_t *w, uint32_t col, uint32_t row,
              vl_rect_t *b)
{
    b->x = col * w->grid.bw;
    b->y = row * w->grid.bh;
    b->w = w->lv->width - b->x < w->grid.bw ? w->lv->width - b->x
                                             : w->grid.bw;
    b->h = w->lv->height - b->y < w->grid.bh ? w->lv->height - b->y
                                              : w->grid.bh;
}

int
vl_grid_missing(const vl_grid_walk_t *w, uint32_t col, uint32_t row)
{
    return grid_in_span(w, col, row) && *grid_flag(w, col, row);
}

int
vl_grid_cached(vl_grid_walk_t *w, uint32_t col, uint32_t row)
{
    vl_tile_key_t key;
    vl_tile_t    *hit;

    grid_key(w, col, row, &key);
    if ((hit = vl_tiles_get(w->src->tiles, &key)) == NULL) {
        return 0;
    }
    vl_tile_release(hit);
    return 1;
}

void
vl_grid_put(vl_grid_walk_t *w, uint32_t col, uint32_t row, vl_tile_t *tile)
{
    vl_tile_key_t key;
    vl_rect_t     b;

    b.x = col * w->grid.bw;
    b.y = row * w->grid.bh;
    b.w = tile->w;
    b.h = tile->h;
    VL_ASSERT((tile->depth == 2) == (w->out->depth == 2));
    vl_image_copy_block(tile->data, tile->bands, &b, w->req, w->out);
    grid_key(w, col, row, &key);
    vl_tiles_put(w->src->tiles, &key, tile);
    if (grid_in_span(w, col, row)) {
        *grid_flag(w, col, row) = 0;
    }
}

unsigned char *
vl_grid_part(const vl_grid_walk_t *w, const vl_rect_t *b, vl_rect_t *part)
{
    vl_rect_intersect(b, w->req, part);
    return VL_IMAGE_ROW(w->out, part->y - w->req->y)
           + (size_t) (part->x - w->req->x) * (size_t) w->out->bands
             * (size_t) (w->out->depth == 2 ? 2 : 1);
}

/*
 * Look up the blocks of `box` (inside the span): copy the hits, flag the
 * misses and return their bounding box in *missed (empty: none). With
 * ops->partial (the first look only), a miss the request covers only in
 * part is offered to the backend first.
 */
static int
grid_lookup(vl_grid_walk_t *w, const vl_grid_ops_t *ops, const vl_rect_t *box,
            int partial, vl_rect_t *missed, vl_err_t *err)
{
    uint32_t c0 = UINT32_MAX, c1 = 0, r0 = UINT32_MAX, r1 = 0;
    int      rc;

    for (uint32_t row = box->y; row < box->y + box->h; row++) {
        for (uint32_t col = box->x; col < box->x + box->w; col++) {
            unsigned char *flag = grid_flag(w, col, row);
            vl_tile_key_t  key;
            vl_tile_t     *hit;
            vl_rect_t      b;

            grid_key(w, col, row, &key);
            vl_grid_block(w, col, row, &b);
            if ((hit = vl_tiles_get(w->src->tiles, &key)) != NULL) {
                b.w = hit->w;
                b.h = hit->h;
                vl_image_copy_block(hit->data, hit->bands, &b, w->req,
                                    w->out);
                vl_tile_release(hit);
                *flag = 0;
                continue;
            }
            if (partial && !vl_rect_contains(w->req, &b)) {
                rc = ops->partial(w, col, row, err);
                if (rc == VL_OK) {
                    *flag = 0;
                    continue;
                }
                if (rc != VL_GRID_DECLINED) {
                    return rc;
                }
            }
            *flag = 1;
            c0 = col < c0 ? col : c0;
            c1 = col > c1 ? col : c1;
            r0 = row < r0 ? row : r0;
            r1 = row > r1 ? row : r1;
        }
    }
    *missed = c0 == UINT32_MAX ? VL_RECT(box->x, box->y, 0, 0)
                               : VL_RECT(c0, r0, c1 - c0 + 1, r1 - r0 + 1);
    return VL_OK;
}

/* Decode one run of blocks; serialised backends wait for the lock and,
 * when a decode finished since `seen`, look the run up again first. */
static int
grid_decode_run(vl_grid_walk_t *w, const vl_grid_ops_t *ops,
                const vl_rect_t *run, unsigned long seen, vl_err_t *err)
{
    vl_rect_t box = *run;
    int       rc = VL_OK;

    /* REQUEST_TIMEOUT, a client gone: before every decode, and again once
     * the lock is ours (a decode of another request may have held it) */
    if ((rc = vl_deadline_check(err)) != VL_OK) {
        return rc;
    }
    if (!ops->serialise) {
        return ops->decode(w, run, err);
    }
    pthread_mutex_lock(&grid_decode_lock);
    if (__atomic_load_n(&grid_decodes, __ATOMIC_ACQUIRE) != seen) {
        /* a thread that held the lock may have decoded them meanwhile */
        rc = grid_lookup(w, ops, run, 0, &box, err);
    }
    if (rc == VL_OK && (rc = vl_deadline_check(err)) == VL_OK
        && !vl_rect_empty(&box)) {
        rc = ops->decode(w, &box, err);
        __atomic_add_fetch(&grid_decodes, 1, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&grid_decode_lock);
    return rc;
}

static int
grid_walk(vl_grid_walk_t *w, const vl_grid_ops_t *ops, vl_err_t *err)
{
    unsigned long seen = 0;
    vl_rect_t     box;
    uint32_t      run = w->grid.max_run;
    int           rc;

    if (ops->serialise) {
        seen = __atomic_load_n(&grid_decodes, __ATOMIC_ACQUIRE);
    }
    /* cached blocks first; the missing ones' bounding box is decoded */
    rc = grid_lookup(w, ops, &w->span, ops->partial != NULL, &box, err);
    if (rc != VL_OK || vl_rect_empty(&box)) {
        return rc;
    }
    if (run == 0 || (uint64_t) box.w * box.h <= run) {
        return grid_decode_run(w, ops, &box, seen, err);
    }
    for (uint32_t row = box.y; row < box.y + box.h; row++) {
        for (uint32_t c = box.x; c < box.x + box.w; c += run) {
            uint32_t  left = box.x + box.w - c;
            vl_rect_t part = VL_RECT(c, row, left > run ? run : left, 1);

            if ((rc = grid_decode_run(w, ops, &part, seen, err)) != VL_OK) {
                return rc;
            }
        }
    }
    return VL_OK;
}

int
vl_grid_read(vl_source_t *src, const vl_grid_ops_t *ops, uint32_t level,
             const vl_rect_t *r, vl_image_t *out, vl_err_t *err)
{
    unsigned char  stack[VL_GRID_STACK];
    vl_grid_walk_t w;
    size_t         n;
    int            rc;

    w.src = src;
    w.level = level;
    w.lv = &src->info.geom.levels[level];
    w.req = r;
    w.out = out;
    if ((rc = ops->grid(src, level, &w.grid, err)) != VL_OK) {
        return rc;
    }
    VL_ASSERT(w.grid.bw != 0 && w.grid.bh != 0);
    w.cols = (uint32_t) (((uint64_t) w.lv->width + w.grid.bw - 1)
                         / w.grid.bw);
    w.rows = (uint32_t) (((uint64_t) w.lv->height + w.grid.bh - 1)
                         / w.grid.bh);
    w.span.x = r->x / w.grid.bw;
    w.span.y = r->y / w.grid.bh;
    w.span.w = (r->x + r->w - 1) / w.grid.bw - w.span.x + 1;
    w.span.h = (r->y + r->h - 1) / w.grid.bh - w.span.y + 1;
    n = (size_t) w.span.w * w.span.h;
    w.miss = n <= sizeof(stack) ? stack : malloc(n);
    if (w.miss == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory reading a tile");
    }
    rc = grid_walk(&w, ops, err);
    if (w.miss != stack) {
        free(w.miss);
    }
    return rc;
}
