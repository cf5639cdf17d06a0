/* SPDX-License-Identifier: MIT */
/*
 * gif: the GIF encoder (the only giflib user). A GIF needs its palette
 * before its first pixel, so the rows are kept whole (a buffer the
 * planner's output limits bound) and written at finish: one GIF89a image
 * with a global 256-entry colour table. Grey images get a grey palette
 * (exact for G; 255 levels and a transparent entry for GA). Colour images
 * are quantised in two steps: giflib's GifQuantizeBuffer (median cut on a
 * 5-bit per channel histogram) seeds the palette, then GIF_REFINE rounds of
 * k-means (Lloyd) move each entry to the mean of the pixels nearest to it,
 * and every pixel takes its nearest entry (giflib alone maps by histogram
 * box, which costs about half again as much error on photographs). No
 * dithering. Nearest entries are cached per 6-bit-per-channel cell (a
 * 512 KB table), so the cost is linear in the pixels. Alpha: a pixel with
 * alpha < 128 takes the reserved
 * transparent index 255 (Graphic Control Extension), every other pixel is
 * opaque; the palette is then cut from the opaque pixels only.
 */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include <gif_lib.h>

#include "encode/encode_p.h"

#define GIF_TRANSPARENT 255
#define GIF_REFINE      3
#define GIF_CELLS       (1u << 18)

typedef struct {
    vl_encode_buf_t  buf;
    vl_pool_t       *pool;
    vl_sink_t       *sink;
    vl_err_t        *err;
    GifFileType     *gif;
} gif_state_t;

static int
gif_on_write(GifFileType *gif, const GifByteType *data, int len)
{
    gif_state_t *st = gif->UserData;

    if (len < 0 || vl_sink_write(st->sink, data, (size_t) len, st->err)
                   != VL_OK) {
        return 0;   /* the sink recorded why (its cap: VL_ELIMIT) */
    }
    return len;
}

static void
gif_release(void *data)
{
    gif_state_t *st = data;
    int          e;

    if (st->gif != NULL) {
        EGifCloseFile(st->gif, &e);
        st->gif = NULL;
    }
}

static int
gif_failed(gif_state_t *st, int code, vl_err_t *err)
{
    gif_release(st);   /* the body of a failed request is never sent */
    if (err != NULL && err->code != VL_OK) {
        return err->code;
    }
    return vl_err_set(err, VL_ECODEC, "gif encoder: %s",
                      GifErrorString(code) != NULL ? GifErrorString(code)
                                                   : "failed");
}

static void *
gif_start(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
          uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err)
{
    gif_state_t *st;

    (void) opts;
    if (bands < 1 || bands > 4) {
        vl_err_set(err, VL_EINTERNAL, "gif takes 1 to 4 bands");
        return NULL;
    }
    if (w > 65535 || h > 65535) {
        vl_err_set(err, VL_ELIMIT, "image too large for gif (65535 pixels "
                   "a side)");
        return NULL;
    }
    if ((st = vl_pool_calloc(pool, 1, sizeof(*st))) == NULL
        || vl_pool_cleanup_add(pool, gif_release, st) != 0) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    st->pool = pool;
    st->sink = sink;
    if (vl_encode_buf_init(&st->buf, pool, w, h, bands, 1, err) != VL_OK) {
        return NULL;
    }
    return st;
}

static int
gif_rows(void *stv, const unsigned char *rows, uint32_t nrows, size_t stride,
         vl_err_t *err)
{
    gif_state_t *st = stv;

    (void) err;
    vl_encode_buf_rows(&st->buf, rows, nrows, stride);
    return VL_OK;
}

/* The entry of map[0..n) nearest to p (squared distance). */
static int
gif_nearest(const GifColorType *map, int n, const unsigned char *p)
{
    int best = 0;
    long bd = -1;

    for (int k = 0; k < n; k++) {
        long dr = (long) map[k].Red - p[0], dg = (long) map[k].Green - p[1];
        long db = (long) map[k].Blue - p[2], d = dr * dr + dg * dg + db * db;

        if (bd < 0 || d < bd) {
            bd = d;
            best = k;
        }
    }
    return best;
}

/* Refine the palette (Lloyd rounds) and map every pixel of the planes to
 * its nearest entry. Transparent pixels (alpha plane < 128) are skipped. */
static int
gif_refine(gif_state_t *st, GifByteType *const plane[3], size_t n,
           GifColorType *map, int size, GifByteType *idx, vl_err_t *err)
{
    int16_t *cell;
    const vl_encode_buf_t *b = &st->buf;
    int      alpha = b->bands == 4;

    if ((cell = vl_pool_alloc(st->pool, GIF_CELLS * sizeof(*cell))) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    for (int round = 0; round <= GIF_REFINE; round++) {
        double sum[256][3];
        size_t count[256];

        memset(cell, 0xff, GIF_CELLS * sizeof(*cell));
        memset(sum, 0, sizeof(sum));
        memset(count, 0, sizeof(count));
        for (size_t i = 0; i < n; i++) {
            unsigned char p[3] = { plane[0][i], plane[1][i], plane[2][i] };
            uint32_t      c = (uint32_t) (p[0] >> 2) << 12
                              | (uint32_t) (p[1] >> 2) << 6 | (p[2] >> 2);
            int           k;

            if (alpha && b->px[i * 4 + 3] < 128) {
                continue;
            }
            if (cell[c] < 0) {
                cell[c] = (int16_t) gif_nearest(map, size, p);
            }
            k = cell[c];
            if (round == GIF_REFINE) {
                idx[i] = (GifByteType) k;
                continue;
            }
            sum[k][0] += p[0];
            sum[k][1] += p[1];
            sum[k][2] += p[2];
            count[k]++;
        }
        if (round == GIF_REFINE) {
            break;
        }
        for (int k = 0; k < size; k++) {
            if (count[k] != 0) {
                map[k].Red = (GifByteType) (sum[k][0] / count[k] + 0.5);
                map[k].Green = (GifByteType) (sum[k][1] / count[k] + 0.5);
                map[k].Blue = (GifByteType) (sum[k][2] / count[k] + 0.5);
            }
        }
    }
    return VL_OK;
}

/* Palette indices for every pixel, into idx; the palette into map. */
static int
gif_index(gif_state_t *st, GifByteType *idx, GifColorType *map, int *transp,
          vl_err_t *err)
{
    const vl_encode_buf_t *b = &st->buf;
    size_t                 n = (size_t) b->w * b->h;
    int                    alpha = b->bands == 2 || b->bands == 4;
    int                    colour = b->bands >= 3;
    GifByteType           *plane[3];
    int                    size = alpha ? 255 : 256, ntransp = 0, rc;
    size_t                 first = n;

    memset(map, 0, 256 * sizeof(*map));
    *transp = -1;
    if (!colour) {
        /* grey: the palette is the grey ramp (255 levels with alpha) */
        for (int i = 0; i < size; i++) {
            int g = alpha ? (i * 255 + 127) / 254 : i;

            map[i].Red = map[i].Green = map[i].Blue = (GifByteType) g;
        }
        for (size_t i = 0; i < n; i++) {
            const unsigned char *p = b->px + i * (size_t) b->bands;

            if (alpha && p[1] < 128) {
                idx[i] = GIF_TRANSPARENT;
                ntransp++;
            } else {
                idx[i] = alpha ? (GifByteType) ((p[0] * 254 + 127) / 255)
                               : p[0];
            }
        }
        *transp = ntransp > 0 ? GIF_TRANSPARENT : -1;
        return VL_OK;
    }
    for (int c = 0; c < 3; c++) {
        if ((plane[c] = vl_pool_alloc(st->pool, n)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
    }
    /* transparent pixels take the colour of the first opaque one, so they
     * do not spend palette entries */
    if (alpha) {
        for (size_t i = 0; i < n && first == n; i++) {
            if (b->px[i * 4 + 3] >= 128) {
                first = i;
            }
        }
    }
    for (size_t i = 0; i < n; i++) {
        const unsigned char *p = b->px + i * (size_t) b->bands;

        if (alpha && p[3] < 128) {
            ntransp++;
            p = first < n ? b->px + first * 4 : p;
        }
        plane[0][i] = p[0];
        plane[1][i] = p[1];
        plane[2][i] = p[2];
    }
    if (GifQuantizeBuffer(b->w, b->h, &size, plane[0], plane[1], plane[2],
                          idx, map) != GIF_OK) {
        return vl_err_set(err, VL_ECODEC, "gif encoder: cannot quantise");
    }
    if ((rc = gif_refine(st, plane, n, map, size, idx, err)) != VL_OK) {
        return rc;
    }
    if (alpha && ntransp > 0) {
        for (size_t i = 0; i < n; i++) {
            if (b->px[i * 4 + 3] < 128) {
                idx[i] = GIF_TRANSPARENT;
            }
        }
        *transp = GIF_TRANSPARENT;
    }
    return VL_OK;
}

static int
gif_finish(void *stv, vl_err_t *err)
{
    gif_state_t    *st = stv;
    vl_encode_buf_t *b = &st->buf;
    GifColorType    colors[256];
    GifByteType    *idx;
    ColorMapObject *map;
    int             transp, e = 0, rc;

    st->err = err;
    if ((idx = vl_pool_alloc(st->pool, (size_t) b->w * b->h)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = gif_index(st, idx, colors, &transp, err)) != VL_OK) {
        return rc;
    }
    if ((st->gif = EGifOpen(st, gif_on_write, &e)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "gif encoder: cannot start");
    }
    EGifSetGifVersion(st->gif, true);
    if ((map = GifMakeMapObject(256, colors)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    rc = EGifPutScreenDesc(st->gif, (int) b->w, (int) b->h, 8, 0, map);
    GifFreeMapObject(map);
    if (rc != GIF_OK) {
        return gif_failed(st, st->gif->Error, err);
    }
    if (transp >= 0) {
        GraphicsControlBlock gcb = { DISPOSAL_UNSPECIFIED, false, 0, transp };
        GifByteType          ext[4];
        size_t               len = EGifGCBToExtension(&gcb, ext);

        if (EGifPutExtension(st->gif, GRAPHICS_EXT_FUNC_CODE, (int) len, ext)
            != GIF_OK) {
            return gif_failed(st, st->gif->Error, err);
        }
    }
    if (EGifPutImageDesc(st->gif, 0, 0, (int) b->w, (int) b->h, false, NULL)
        != GIF_OK) {
        return gif_failed(st, st->gif->Error, err);
    }
    for (uint32_t y = 0; y < b->h; y++) {
        if (EGifPutLine(st->gif, idx + (size_t) y * b->w, (int) b->w)
            != GIF_OK) {
            return gif_failed(st, st->gif->Error, err);
        }
    }
    rc = EGifCloseFile(st->gif, &e);
    st->gif = NULL;
    if (rc != GIF_OK) {
        if (err != NULL && err->code != VL_OK) {
            return err->code;
        }
        return vl_err_set(err, VL_ECODEC, "gif encoder: %s",
                          GifErrorString(e) != NULL ? GifErrorString(e)
                                                    : "failed");
    }
    return VL_OK;
}

const vl_encoder_ops_t vl_gif_encoder = {
    gif_start,
    gif_rows,
    gif_finish,
};
