/* SPDX-License-Identifier: MIT */
/*
 * htj2k_stub: the OpenJPH driver of a vellum built without OpenJPH
 * (compiled instead of htj2k.c). jp2.c asks vl_htj2k_available first and
 * then sends HTJ2K to OpenJPEG in whole codestream tiles, so the reader
 * is never called.
 */
#include "config.h"

#include "source/jp2_p.h"

int
vl_htj2k_available(void)
{
    return 0;
}

int
vl_htj2k_read(vl_grid_walk_t *walk, const vl_jp2_cs_t *cs,
              const vl_jp2_map_t *map, const vl_rect_t *box, vl_err_t *err)
{
    (void) walk;
    (void) cs;
    (void) map;
    (void) box;
    return vl_err_set(err, VL_EINTERNAL,
                      "vellum is built without OpenJPH");
}
