/* SPDX-License-Identifier: MIT */
/*
 * htj2k: the OpenJPH driver of the JPEG 2000 backend, for untiled HTJ2K
 * (see jp2.c's opening comment for why). It talks to OpenJPH through
 * ojph.h only and reads the codestream jp2.c found; blocks go to the grid
 * walk like any backend's. Built only with OpenJPH (--with-openjph); else
 * htj2k_stub.c stands in. One decoder per process, used only under the
 * walk's decode lock.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/deadline.h"
#include "core/log.h"
#include "core/metrics.h"
#include "source/jp2_p.h"
#include "source/ojph.h"

int
vl_htj2k_available(void)
{
    return 1;
}

/* The OpenJPH line decoder of this process. One, kept between requests
 * (handles come and go), and used only under the walk's decode lock
 * (serialise), which also serialises OpenJPH's global message streams
 * (ojph.h). Untiled
 * HTJ2K has no random access: a read further down a level continues from
 * where the last one stopped, a read above it starts again from the top. */
static struct {
    vl_ojph_t     *r;
    vl_file_id_t   file;            /* what r decodes */
    uint32_t       level;
    uint32_t       ncomps;
    int32_t       *rows[VL_OJPH_MAX_COMPS];
    vl_file_id_t   warned;          /* the last file warned about ... */
    uint32_t       warned_levels;   /* ... and its levels */
    unsigned long  checks;          /* vl_ojph_failed_checks() seen */
    vl_file_id_t   failed[16];      /* files OpenJPH failed a check on */
    unsigned       nfailed;
} ht_state;

/* After an OpenJPH call failed on file: if it failed one of OpenJPH's own
 * checks (ojph.cc), the file is never given to OpenJPH again by this
 * process, whose memory for that reader is lost (logged once). */
static void
ht_note_checks(const vl_file_id_t *file, const char *msg)
{
    unsigned long n = vl_ojph_failed_checks();

    if (n == ht_state.checks) {
        return;
    }
    ht_state.checks = n;
    ht_state.failed[ht_state.nfailed++ % 16] = *file;
    vl_log(VL_LOG_ERROR, NULL,
           "%s; this worker will not decode that file with OpenJPH again, "
           "and keeps the memory of that decoder until it restarts",
           msg);
}

static int
ht_failed_before(const vl_file_id_t *file)
{
    for (unsigned i = 0; i < ht_state.nfailed && i < 16; i++) {
        if (vl_file_id_eq(&ht_state.failed[i], file)) {
            return 1;
        }
    }
    return 0;
}

static void
ht_close_reader(void)
{
    if (ht_state.r != NULL) {
        ht_note_checks(&ht_state.file, "OpenJPH failed one of its own "
                       "checks decoding an HTJ2K file");
    }
    vl_ojph_close(ht_state.r);
    ht_state.r = NULL;
    for (uint32_t c = 0; c < VL_OJPH_MAX_COMPS; c++) {
        free(ht_state.rows[c]);
        ht_state.rows[c] = NULL;
    }
}

/* A reader of the walk's level whose next line is at most v0. The
 * codestream is read into a buffer that lives only while the reader is
 * made (OpenJPH copies it then): no mapping, so a file truncated or
 * rewritten in place gives an error, never a SIGBUS. */
static int
ht_seek(vl_grid_walk_t *walk, const vl_jp2_cs_t *cs,
        const vl_jp2_map_t *map, uint32_t v0, vl_err_t *err)
{
    vl_source_t      *src = walk->src;
    uint32_t          level = walk->level;
    const vl_level_t *lv = walk->lv;
    char              msg[VL_ERR_MSG_MAX];
    unsigned char    *buf;
    size_t            got = 0, len = (size_t) cs->len;

    if (ht_state.r != NULL && vl_file_id_eq(&ht_state.file, &src->info.file)
        && ht_state.level == level && vl_ojph_line(ht_state.r) <= v0) {
        return VL_OK;
    }
    if (ht_state.r != NULL && vl_file_id_eq(&ht_state.file, &src->info.file)
        && ht_state.level == level) {
        vl_metrics_add(VL_MET_DECODE_RESTART, 1);
    }
    ht_close_reader();
    if (ht_failed_before(&src->info.file)) {
        return vl_err_set(err, VL_ECODEC, "cannot decode HTJ2K: the decoder "
                          "failed one of its own checks on this file "
                          "before (damaged file?)");
    }
    if ((buf = malloc(len > 0 ? len : 1)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory reading HTJ2K");
    }
    while (got < len) {
        ssize_t n = pread(cs->fd, buf + got, len - got,
                          (off_t) (cs->off + (int64_t) got));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            free(buf);
            return vl_err_set(err, n < 0 ? VL_EIO : VL_ECODEC,
                              n < 0 ? "cannot read the HTJ2K file"
                                    : "the HTJ2K file is truncated");
        }
        got += (size_t) n;
    }
    ht_state.r = vl_ojph_open(buf, len, level, msg, sizeof(msg));
    free(buf);
    if (ht_state.r == NULL) {
        ht_note_checks(&src->info.file, msg);
        return vl_err_set(err, VL_ECODEC, "%s", msg);
    }
    ht_state.file = src->info.file;
    ht_state.level = level;
    ht_state.ncomps = vl_ojph_comps(ht_state.r);
    if (ht_state.ncomps != map->ncomps) {
        ht_close_reader();
        return vl_err_set(err, VL_ECODEC,
                          "HTJ2K components differ between decoders");
    }
    for (uint32_t c = 0; c < ht_state.ncomps; c++) {
        if (vl_ojph_width(ht_state.r, c) != lv->width
            || vl_ojph_height(ht_state.r, c) != lv->height) {
            ht_close_reader();
            return vl_err_set(err, VL_ECODEC,
                              "HTJ2K level %u decodes at %ux%u, not %ux%u",
                              level, vl_ojph_width(ht_state.r, c),
                              vl_ojph_height(ht_state.r, c), lv->width,
                              lv->height);
        }
        ht_state.rows[c] = malloc((size_t) lv->width * sizeof(int32_t));
        if (ht_state.rows[c] == NULL) {
            ht_close_reader();
            return vl_err_set(err, VL_ENOMEM, "out of memory decoding HTJ2K");
        }
    }
    return VL_OK;
}

/* Samples [x0, x0 + n) of the decoder's current lines as 8-bit pixels. */
static void
ht_line8(const vl_jp2_map_t *map, uint32_t x0, uint32_t n, unsigned char *o)
{
    int comp[4], nc = 0, fast = !map->ycc;

    for (int i = 0; i < map->colour; i++) {
        comp[nc++] = map->idx[i];
    }
    if (map->alpha >= 0) {
        comp[nc++] = map->alpha;
    }
    for (int i = 0; i < nc; i++) {
        fast &= map->prec[comp[i]] == 8 && !map->sgnd[comp[i]];
    }
    if (fast) {
        for (int i = 0; i < nc; i++) {
            const int32_t *row = ht_state.rows[comp[i]] + x0;
            unsigned char *q = o + i;

            for (uint32_t x = 0; x < n; x++) {
                int32_t v = row[x];

                *q = (unsigned char) (v < 0 ? 0 : v > 255 ? 255 : v);
                q += nc;
            }
        }
        return;
    }
    for (uint32_t x = 0; x < n; x++) {
        unsigned v[4];

        for (int i = 0; i < nc; i++) {
            v[i] = vl_jp2_to8(ht_state.rows[comp[i]][x0 + x],
                              map->prec[comp[i]], map->sgnd[comp[i]]);
        }
        vl_jp2_pixel(v, nc, map->ycc, o);
        o += nc;
    }
}

/* Decode tile row `row` of the walk's level (the reader stands at its
 * first line): tiles [ca0, ca1] are made and given to the walk, which
 * caches them and copies what the request covers of them. */
static int
ht_band(vl_grid_walk_t *walk, const vl_jp2_map_t *map, uint32_t row,
        uint32_t ca0, uint32_t ca1, vl_err_t *err)
{
    const vl_level_t *lv = walk->lv;
    uint32_t          ts = walk->grid.bw, v0 = row * ts;
    uint32_t          bh = lv->height - v0 < ts ? lv->height - v0 : ts;
    uint32_t          n = ca1 - ca0 + 1;
    vl_tile_t       **tiles;
    char              msg[VL_ERR_MSG_MAX];
    int               rc = VL_OK;

    tiles = calloc(n, sizeof(*tiles));
    if (tiles == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory decoding HTJ2K");
    }
    for (uint32_t i = 0; i < n && rc == VL_OK; i++) {
        uint32_t bu = (ca0 + i) * ts;
        uint32_t bw = lv->width - bu < ts ? lv->width - bu : ts;

        if ((tiles[i] = vl_tile_new(bw, bh, map->bands, err)) == NULL) {
            rc = err != NULL ? err->code : VL_ENOMEM;
        }
    }
    for (uint32_t ly = 0; ly < bh && rc == VL_OK; ly++) {
        if (vl_ojph_pull(ht_state.r, ht_state.rows, msg, sizeof(msg)) != 0) {
            rc = vl_err_set(err, VL_ECODEC, "%s", msg);
            break;
        }
        for (uint32_t i = 0; i < n; i++) {
            vl_tile_t *tl = tiles[i];

            ht_line8(map, (ca0 + i) * ts, tl->w,
                     tl->data + (size_t) ly * tl->w * (size_t) map->bands);
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        if (tiles[i] == NULL) {
            continue;
        }
        if (rc == VL_OK) {
            vl_grid_put(walk, ca0 + i, row, tiles[i]);
        }
        vl_tile_release(tiles[i]);
    }
    free(tiles);
    if (rc != VL_OK) {
        ht_close_reader();       /* a failed reader is not resumed */
    }
    return rc;
}

/* Whether every tile of tile row `row` of the walk's level is in the
 * cache. */
static int
ht_cached(vl_grid_walk_t *walk, uint32_t row)
{
    for (uint32_t c = 0; c < walk->cols; c++) {
        if (!vl_grid_cached(walk, c, row)) {
            return 0;
        }
    }
    return 1;
}

/* The tiles of box through OpenJPH. When the tile
 * cache can hold two whole tile rows of the level, whole rows are made,
 * and the rows the decoder passes on its way down are kept too. When it
 * can hold the whole level (in 60 % of it), the decoder goes on to the
 * end of the level once it has the rows asked for: the first read of a
 * level pays for all of it, and later reads anywhere in it are hits
 * until the cache lets the level go. */
int
vl_htj2k_read(vl_grid_walk_t *walk, const vl_jp2_cs_t *cs,
              const vl_jp2_map_t *map, const vl_rect_t *box, vl_err_t *err)
{
    vl_source_t      *src = walk->src;
    uint32_t          level = walk->level;
    const vl_level_t *lv = walk->lv;
    uint32_t          ts = walk->grid.bw;
    uint32_t          cols = walk->cols;
    uint32_t          c0 = box->x, c1 = box->x + box->w - 1;
    uint32_t          r0 = box->y, r1 = box->y + box->h - 1;
    vl_tiles_stats_t  st;
    int               ahead, fill, rc;

    vl_tiles_stats(src->tiles, &st);
    ahead = src->tiles != NULL
            && (uint64_t) lv->width * ts * (uint64_t) map->bands * 2
                   <= st.capacity;
    fill = ahead
           && (uint64_t) lv->width * lv->height * (uint64_t) map->bands * 10
                  <= (uint64_t) st.capacity * 6;
    if (!fill && (!vl_file_id_eq(&ht_state.warned, &src->info.file)
                  || !(ht_state.warned_levels & (1u << level)))) {
        /* once per file and level: what the operator can do about it */
        const char *base = src->path != NULL ? strrchr(src->path, '/') : NULL;
        uint64_t    need = ((uint64_t) lv->width * lv->height * map->bands
                            * 10 / 6 + ((1u << 20) - 1)) >> 20;

        if (!vl_file_id_eq(&ht_state.warned, &src->info.file)) {
            ht_state.warned = src->info.file;
            ht_state.warned_levels = 0;
        }
        ht_state.warned_levels |= 1u << level;
        vl_log(VL_LOG_WARN, NULL,
               "%s: untiled HTJ2K, level %u: every read decodes from the top "
               "of the level; MAX_IMAGE_CACHE_SIZE=%llu or more keeps the "
               "level decoded (or tile the file: ojph_compress -tile_size)",
               base != NULL ? base + 1 : "image", level,
               (unsigned long long) need);
    }
    for (uint32_t row = r0; row <= r1; row++) {
        uint32_t v0 = row * ts;

        if ((rc = ht_seek(walk, cs, map, v0, err)) != VL_OK) {
            return rc;
        }
        while (vl_ojph_line(ht_state.r) < v0) {
            uint32_t line = vl_ojph_line(ht_state.r);
            char     msg[VL_ERR_MSG_MAX];

            /* OpenJPH decodes a line at a time: REQUEST_TIMEOUT and a
             * client gone are checked every 64 lines (the reader stays
             * where it is, for the next request) */
            if ((line & 63) == 0 && (rc = vl_deadline_check(err)) != VL_OK) {
                return rc;
            }
            if (ahead && line % ts == 0 && !ht_cached(walk, line / ts)) {
                rc = ht_band(walk, map, line / ts, 0, cols - 1, err);
                if (rc != VL_OK) {
                    return rc;
                }
                continue;
            }
            if (vl_ojph_pull(ht_state.r, ht_state.rows, msg, sizeof(msg))
                != 0) {
                ht_close_reader();
                return vl_err_set(err, VL_ECODEC, "%s", msg);
            }
        }
        rc = ht_band(walk, map, row, ahead ? 0 : c0, ahead ? cols - 1 : c1,
                     err);
        if (rc != VL_OK) {
            return rc;
        }
    }
    if (fill) {
        uint32_t rows = (lv->height + ts - 1) / ts;
        uint32_t last = r1;

        /* go on only as far as the last row the cache is missing */
        for (uint32_t row = rows; row-- > r1 + 1;) {
            if (!ht_cached(walk, row)) {
                last = row;
                break;
            }
        }
        for (uint32_t row = r1 + 1; row <= last && ht_state.r != NULL; row++) {
            if (vl_ojph_line(ht_state.r) != row * ts || vl_deadline_stop()) {
                break;
            }
            if (ht_cached(walk, row)) {
                char msg[VL_ERR_MSG_MAX];
                int  bad = 0;

                for (uint32_t i = 0; i < ts && !bad
                     && vl_ojph_line(ht_state.r) < lv->height; i++) {
                    bad = vl_ojph_pull(ht_state.r, ht_state.rows, msg,
                                       sizeof(msg)) != 0;
                }
                if (bad) {
                    ht_close_reader();
                }
                continue;
            }
            /* the request has its pixels: a failure here is not its own */
            vl_err_t ferr = { 0 };

            if (ht_band(walk, map, row, 0, cols - 1, &ferr) != VL_OK) {
                vl_log(VL_LOG_WARN, NULL, "HTJ2K level %u, filling row %u: %s",
                       level, row, ferr.msg);
                break;
            }
        }
    }
    return VL_OK;
}
