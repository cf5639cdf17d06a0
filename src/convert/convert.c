/* SPDX-License-Identifier: MIT */
/*
 * convert: the streaming driver of `vellum convert`. Level 0 is read
 * through source/ in bands of full-width rows (a TIFF tile row, or a JPEG
 * 2000 tile row when a JP2 is written too) and fed to the writers; each
 * pyramid level keeps one tile row of its own. When a level's tile row is
 * complete it is written and shrunk 2:1 by vl_pix_box_shrink into the
 * next level's tile row, so every level is made in the one pass, from the
 * level above, at ceil(w / 2^k) x ceil(h / 2^k). Memory: the read band
 * plus about two tile rows of level 0, whatever the image height.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "convert/convert.h"
#include "convert/convert_p.h"
#include "core/pool.h"
#include "pixel/pixel.h"
#include "source/source.h"

typedef struct {
    const vl_convert_geom_t *g;
    vl_tiffpyr_t            *tif;
    vl_image_t               row[VL_CONVERT_MAX_LEVELS];  /* a tile row */
    uint32_t                 fill[VL_CONVERT_MAX_LEVELS]; /* rows in it */
    uint32_t                 done[VL_CONVERT_MAX_LEVELS]; /* rows written */
    uint32_t                 ty[VL_CONVERT_MAX_LEVELS];
} cv_pyr_t;

int
vl_convert_comp_parse(const char *name, vl_convert_comp_t *c)
{
    static const struct {
        const char       *name;
        vl_convert_comp_t c;
    } names[] = {
        { "jpeg", VL_CONVERT_JPEG },   { "deflate", VL_CONVERT_DEFLATE },
        { "zip", VL_CONVERT_DEFLATE }, { "webp", VL_CONVERT_WEBP },
        { "zstd", VL_CONVERT_ZSTD },   { "lzw", VL_CONVERT_LZW },
        { "none", VL_CONVERT_NONE },
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcasecmp(name, names[i].name) == 0) {
            *c = names[i].c;
            return 0;
        }
    }
    return -1;
}

/* The temporary outputs that an interrupted run must not leave behind:
 * names kept in static slots, so the signal handler reads no heap. */
#define CV_SLOTS 4
static char                  cv_slot[CV_SLOTS][4096];
static volatile sig_atomic_t cv_slot_used[CV_SLOTS];

static void
cv_on_signal(int sig)
{
    for (int i = 0; i < CV_SLOTS; i++) {
        if (cv_slot_used[i]) {
            unlink(cv_slot[i]);
        }
    }
    signal(sig, SIG_DFL);
    raise(sig);
}

void
vl_convert_tmp_release(const char *tmp)
{
    for (int i = 0; i < CV_SLOTS; i++) {
        if (cv_slot_used[i] && strcmp(cv_slot[i], tmp) == 0) {
            cv_slot_used[i] = 0;
        }
    }
}

int
vl_convert_tmp(const char *path, int keep, char **tmp)
{
    const char *slash = strrchr(path, '/');
    size_t      dlen = slash != NULL ? (size_t) (slash - path) + 1 : 0;
    const char *base = path + dlen;
    size_t      len = dlen + 1 + strlen(base) + 8;
    char       *name = malloc(len);
    int         fd, slot = -1;

    if (name == NULL) {
        return -1;
    }
    snprintf(name, len, "%.*s.%s.XXXXXX", (int) dlen, path, base);
    if (keep) {
        for (int i = 0; i < CV_SLOTS && slot < 0; i++) {
            slot = cv_slot_used[i] ? -1 : i;
        }
        if (slot < 0 || len > sizeof(cv_slot[0])) {
            free(name);
            return -1;
        }
    }
    if ((fd = mkstemp(name)) < 0) {
        free(name);
        return -1;
    }
    if (slot >= 0) {
        memcpy(cv_slot[slot], name, len);
        cv_slot_used[slot] = 1;
    }
    /* mkstemp makes it 0600; the output gets what a new file gets */
    {
        mode_t um = umask(0);

        umask(um);
        fchmod(fd, 0666 & ~um);
    }
    *tmp = name;
    return fd;
}

/* A TIFF DateTime is "YYYY:MM:DD HH:MM:SS"; anything else is not one. */
static const char *
cv_tiff_date(const char *d)
{
    static const char form[] = "dddd:dd:dd dd:dd:dd";

    if (d == NULL || strlen(d) != sizeof(form) - 1) {
        return NULL;
    }
    for (size_t i = 0; form[i] != '\0'; i++) {
        if (form[i] == 'd' ? (d[i] < '0' || d[i] > '9') : d[i] != form[i]) {
            return NULL;
        }
    }
    return d;
}

/* Write level k's tile row, then shrink it into level k + 1. */
static int cv_push(cv_pyr_t *p, uint32_t k, const vl_image_t *in, uint32_t y0,
                   uint32_t n, vl_err_t *err);

static int
cv_emit(cv_pyr_t *p, uint32_t k, vl_err_t *err)
{
    vl_image_t band = p->row[k];
    vl_image_t half;
    vl_pool_t *pool;
    int        rc;

    band.h = p->fill[k];
    if ((rc = vl_tiffpyr_put(p->tif, k, p->ty[k], &band, err)) != VL_OK) {
        return rc;
    }
    p->done[k] += p->fill[k];
    p->ty[k]++;
    p->fill[k] = 0;
    if (k + 1 >= p->g->nlevels) {
        return VL_OK;
    }
    /* the tile height is even, so a full tile row halves into whole rows
     * of the next level; the last (odd) one ends in a row of single-row
     * boxes, which is ceil(h / 2) rows as IIIF rounds */
    if ((pool = vl_pool_create(4096)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    rc = vl_pix_box_shrink(pool, &band, 2, 2, &half, err);
    if (rc == VL_OK) {
        rc = cv_push(p, k + 1, &half, 0, half.h, err);
    }
    vl_pool_destroy(pool);
    return rc;
}

static int
cv_push(cv_pyr_t *p, uint32_t k, const vl_image_t *in, uint32_t y0, uint32_t n,
        vl_err_t *err)
{
    uint32_t tile = p->g->opts->tile, lh = p->g->level_h[k];
    size_t   rowlen = (size_t) p->g->level_w[k] * (size_t) p->g->bands;
    int      rc;

    while (n > 0) {
        uint32_t room = tile - p->fill[k], m = n < room ? n : room;

        for (uint32_t i = 0; i < m; i++) {
            memcpy(VL_IMAGE_ROW(&p->row[k], p->fill[k] + i),
                   VL_IMAGE_ROW(in, y0 + i), rowlen);
        }
        p->fill[k] += m;
        y0 += m;
        n -= m;
        if (p->fill[k] == tile || p->done[k] + p->fill[k] == lh) {
            if ((rc = cv_emit(p, k, err)) != VL_OK) {
                return rc;
            }
        }
    }
    return VL_OK;
}

/* Is src read from its top row by every read (an untiled image that is
 * not a TIFF or a JPEG 2000: a flat JPEG or PNG)? */
static int
cv_sequential(const vl_source_info_t *info)
{
    const char *f = info->format != NULL ? info->format : "";

    return info->geom.levels[0].tile_w == 0 && strcmp(f, "tiff") != 0
           && strcmp(f, "jp2") != 0 && strcmp(f, "j2k") != 0
           && strncmp(f, "htj2k", 5) != 0;
}

/* Level sizes: ceil(w / 2^k) x ceil(h / 2^k), down to the first level
 * that fits in one tile. */
static void
cv_levels(vl_convert_geom_t *g, uint32_t tile)
{
    uint32_t w = g->width, h = g->height;

    g->nlevels = 0;
    for (;;) {
        g->level_w[g->nlevels] = w;
        g->level_h[g->nlevels] = h;
        g->nlevels++;
        if ((w <= tile && h <= tile) || g->nlevels == VL_CONVERT_MAX_LEVELS) {
            break;
        }
        w = (w + 1) / 2;
        h = (h + 1) / 2;
    }
}

static int
cv_run(vl_pool_t *pool, vl_source_t *src, const vl_convert_opts_t *o,
       vl_err_t *err)
{
    const vl_source_info_t *info = vl_source_info(src);
    vl_convert_geom_t       g;
    cv_pyr_t                p;
    vl_jp2w_t              *jp2 = NULL;
    vl_image_t              band;
    uint32_t                bh = o->tile, jp2_h = 0;
    int                     rc = VL_OK;

    memset(&g, 0, sizeof(g));
    memset(&p, 0, sizeof(p));
    g.width = info->geom.width;
    g.height = info->geom.height;
    g.bands = info->geom.bands;
    g.opts = o;
    g.icc = info->icc;
    g.icc_len = info->icc_len;
    g.title = info->title;
    g.description = info->description;
    g.creator = info->creator;
    g.copyright = info->copyright;
    g.date = cv_tiff_date(info->date);
    cv_levels(&g, o->tile);
    p.g = &g;
    if (o->out_tif != NULL && (rc = vl_tiffpyr_check(&g, err)) != VL_OK) {
        return rc;
    }
    if (o->out_jp2 != NULL
        && (jp2 = vl_jp2w_open(o->out_jp2, &g, &jp2_h, err)) == NULL)
    {
        return err->code;
    }
    if (o->out_tif != NULL) {
        if ((p.tif = vl_tiffpyr_open(o->out_tif, &g, err)) == NULL) {
            vl_jp2w_abort(jp2);
            return err->code;
        }
        for (uint32_t k = 0; k < g.nlevels && rc == VL_OK; k++) {
            rc = vl_image_new(pool, g.level_w[k], o->tile, g.bands, &p.row[k],
                              err);
        }
    }
    /* the read band: a JPEG 2000 tile row when one is written (the TIFF
     * levels take any number of rows), else a TIFF tile row, or a whole
     * number of them covering the source's own blocks (up to 1024 rows),
     * so no block of the source is decoded twice */
    if (jp2 != NULL) {
        bh = jp2_h;
    } else if (cv_sequential(info)) {
        /* a flat JPEG or PNG decodes from its first row: fewer, taller
         * bands (up to 64 MB, 2048 rows) restart it fewer times */
        uint64_t row = (uint64_t) g.width * (uint64_t) g.bands;
        uint64_t rows = row > 0 ? ((uint64_t) 64 << 20) / row : 0;

        rows = rows > 2048 ? 2048 : rows;
        bh = rows > o->tile ? (uint32_t) (rows / o->tile * o->tile) : o->tile;
    } else if (info->geom.levels[0].tile_h > bh) {
        uint32_t sh = info->geom.levels[0].tile_h;

        bh = sh > 1024 ? 1024 : (sh + o->tile - 1) / o->tile * o->tile;
    }
    if (rc == VL_OK) {
        rc = vl_image_new(pool, g.width, bh, g.bands, &band, err);
    }
    for (uint32_t y = 0; y < g.height && rc == VL_OK; y += bh) {
        uint32_t   n = g.height - y < bh ? g.height - y : bh;
        vl_rect_t  r = VL_RECT(0, y, g.width, n);
        vl_image_t b = band;

        b.h = n;
        if ((rc = vl_source_read(src, 0, &r, &b, err)) != VL_OK) {
            break;
        }
        if (jp2 != NULL && (rc = vl_jp2w_put(jp2, &b, err)) != VL_OK) {
            break;
        }
        if (p.tif != NULL && (rc = cv_push(&p, 0, &b, 0, n, err)) != VL_OK) {
            break;
        }
        if (o->progress != NULL) {
            o->progress(o->progress_arg, (uint64_t) y + n, g.height);
        }
    }
    if (rc == VL_OK && jp2 != NULL) {
        rc = vl_jp2w_finish(jp2, err);
        jp2 = NULL;
    }
    if (rc == VL_OK && p.tif != NULL) {
        rc = vl_tiffpyr_finish(p.tif, err);
        p.tif = NULL;
    }
    vl_jp2w_abort(jp2);
    vl_tiffpyr_abort(p.tif);
    return rc;
}

int
vl_convert_run(const vl_convert_opts_t *o, vl_err_t *err)
{
    static const int sigs[3] = { SIGINT, SIGTERM, SIGHUP };
    struct sigaction sa, old[3];
    vl_source_t     *src;
    vl_pool_t       *pool;
    int              rc;

    if (o->tile < 16 || o->tile > 4096 || o->tile % 16 != 0) {
        return vl_err_set(err, VL_EBADREQ,
                          "the tile size must be a multiple of 16 from 16 "
                          "to 4096");
    }
    if (o->jp2_tile < 256 || o->jp2_tile > 8192) {
        return vl_err_set(err, VL_EBADREQ,
                          "the JPEG 2000 tile size must be 256 to 8192");
    }
    if ((src = vl_source_open_path(o->in, err)) == NULL) {
        return err->code;
    }
    if ((pool = vl_pool_create(16384)) == NULL) {
        vl_source_put(NULL, src);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    /* an interrupted run removes its temporary outputs */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = cv_on_signal;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < 3; i++) {
        sigaction(sigs[i], &sa, &old[i]);
    }
    rc = cv_run(pool, src, o, err);
    for (int i = 0; i < 3; i++) {
        sigaction(sigs[i], &old[i], NULL);
    }
    vl_pool_destroy(pool);
    vl_source_put(NULL, src);
    return rc;
}
