/* SPDX-License-Identifier: MIT */
/*
 * dct: DCT-scaled virtual pyramid levels for sources whose blocks are
 * JPEG streams (libjpeg decodes them at 1/2, 1/4, 1/8 for less than a
 * full decode). Works on the stored levels a backend has put in its
 * handle's geometry and notes; knows nothing of the file format. Pure
 * functions over caller-owned data.
 */
#ifndef VL_DCT_H
#define VL_DCT_H

#include <stdint.h>

#include "cache/tiles.h"
#include "source/source_p.h"

/*
 * Add virtual levels to src: src->info.geom.levels[0, nstored) and
 * src->notes[0, nstored) hold the stored levels, largest first (tiles
 * tile_w x tile_h, or strips of notes[].rows_per_strip rows), and
 * scalable[i] says whether stored level i's blocks are JPEG that can be
 * DCT-scaled. A scalable level followed by a gap (the next stored level is
 * more than 2x smaller, or there is none) gets the levels DCT scaling gives
 * for free, ceil(L / s) for s = 2, 4, 8, those strictly between L and the
 * next stored level, with tiles (or strips) of tile / s; base and shrink
 * say what each is made from. Rebuilds geom.levels, geom.nlevels and notes,
 * sorted by size, and sets sidx[g] = the stored level geometry level g is
 * decoded from (sidx has VL_MAX_LEVELS entries). Returns geom.nlevels.
 */
uint32_t vl_dct_levels(vl_source_t *src, uint32_t nstored,
                       const unsigned char *scalable, uint32_t *sidx);

/* Whether a block whose stored part is ew x eh pixels, decoded at
 * 1/scale, has a last column or row that covers padding: that one must be
 * redone with vl_dct_fix_edges. */
static inline int
vl_dct_ragged(uint32_t ew, uint32_t eh, uint32_t scale)
{
    return ew % scale != 0 || eh % scale != 0;
}

/* Redo the partial last column and row of tile (a block decoded at
 * 1/scale) from full, the same block's stored part decoded unscaled: each
 * such pixel becomes the mean of the stored pixels it covers, since the
 * scaled IDCT mixes in the block's padding. */
void vl_dct_fix_edges(vl_tile_t *tile, const vl_tile_t *full,
                      uint32_t scale);

#endif /* VL_DCT_H */
