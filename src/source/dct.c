/* SPDX-License-Identifier: MIT */
/*
 * dct: the virtual levels libjpeg's DCT scaling gives a pyramid for free,
 * and the edge fix-up of blocks decoded that way (dct.h). Used by tiff.c
 * for JPEG-tiled levels; no codec and no file access here.
 */
#include "config.h"

#include <string.h>

#include "source/dct.h"

uint32_t
vl_dct_levels(vl_source_t *src, uint32_t nstored,
              const unsigned char *scalable, uint32_t *sidx)
{
    vl_level_t             levels[VL_MAX_LEVELS];
    vl_source_level_note_t notes[VL_MAX_LEVELS];
    uint32_t               map[VL_MAX_LEVELS], n = 0;

    for (uint32_t si = 0; si < nstored && n < VL_MAX_LEVELS; si++) {
        const vl_level_t *lv = &src->info.geom.levels[si];
        const vl_level_t *next = si + 1 < nstored
                                     ? &src->info.geom.levels[si + 1]
                                     : NULL;
        uint32_t          rows = src->notes[si].rows_per_strip;
        uint32_t          base = n;

        levels[n] = *lv;
        levels[n].base = n;
        levels[n].shrink = 1;
        notes[n] = src->notes[si];
        map[n++] = si;
        /* a gap: the next level is smaller than L halved, rounding down */
        if (!scalable[si]
            || (next != NULL && (uint64_t) next->width * 2 + 1 >= lv->width
                && (uint64_t) next->height * 2 + 1 >= lv->height)) {
            continue;
        }
        for (uint32_t s = 2; s <= 8 && n < VL_MAX_LEVELS; s *= 2) {
            uint32_t vw = (lv->width + s - 1) / s;
            uint32_t vh = (lv->height + s - 1) / s;

            if (vw >= lv->width || vh >= lv->height
                || (next != NULL && (vw <= next->width
                                     || vh <= next->height))) {
                break;
            }
            if (lv->tile_w != 0 ? lv->tile_w % s != 0 || lv->tile_h % s != 0
                                : rows % s != 0 && rows < lv->height) {
                break;
            }
            levels[n].width = vw;
            levels[n].height = vh;
            levels[n].tile_w = lv->tile_w / s;
            levels[n].tile_h = lv->tile_h / s;
            levels[n].base = base;
            levels[n].shrink = s;
            notes[n].compression = notes[base].compression;
            notes[n].rows_per_strip = lv->tile_w ? 0
                                      : rows >= lv->height ? vh
                                      : rows / s;
            map[n++] = si;
        }
    }
    memcpy(src->info.geom.levels, levels, n * sizeof(levels[0]));
    memcpy(src->notes, notes, n * sizeof(notes[0]));
    memcpy(sidx, map, n * sizeof(map[0]));
    src->info.geom.nlevels = n;
    return n;
}

/* Pixel (x, y) of a DCT-scaled edge block again, as the mean of the
 * stored pixels it covers. */
static void
dct_box_pixel(vl_tile_t *tile, const vl_tile_t *full, uint32_t s,
              uint32_t x, uint32_t y)
{
    uint32_t x1 = (x + 1) * s < full->w ? (x + 1) * s : full->w;
    uint32_t y1 = (y + 1) * s < full->h ? (y + 1) * s : full->h;
    int      bands = tile->bands;

    for (int c = 0; c < bands; c++) {
        unsigned sum = 0, n = 0;

        for (uint32_t yy = y * s; yy < y1; yy++) {
            for (uint32_t xx = x * s; xx < x1; xx++) {
                sum += full->data[((size_t) yy * full->w + xx) * bands + c];
                n++;
            }
        }
        tile->data[((size_t) y * tile->w + x) * bands + c] =
            (unsigned char) ((sum + n / 2) / n);
    }
}

void
vl_dct_fix_edges(vl_tile_t *tile, const vl_tile_t *full, uint32_t scale)
{
    for (uint32_t y = 0; y < tile->h; y++) {
        if (full->w % scale != 0) {
            dct_box_pixel(tile, full, scale, tile->w - 1, y);
        }
    }
    for (uint32_t x = 0; x < tile->w && full->h % scale != 0; x++) {
        dct_box_pixel(tile, full, scale, x, tile->h - 1);
    }
}
