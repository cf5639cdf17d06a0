/* SPDX-License-Identifier: MIT */
/*
 * convert_p: the private contract between convert.c (the streaming driver)
 * and its two writers, tiffpyr.c (libtiff: a tiled pyramid TIFF) and
 * jp2w.c (OpenJPEG: a tiled JPEG 2000). A writer is told the whole
 * geometry at open, then fed rows in order; it owns its files and removes
 * them when aborted. One conversion, one thread.
 */
#ifndef VL_CONVERT_P_H
#define VL_CONVERT_P_H

#include <stddef.h>
#include <stdint.h>

#include "convert/convert.h"
#include "core/err.h"
#include "pixel/image.h"

#define VL_CONVERT_MAX_LEVELS 32

/* What both writers are told at open. */
typedef struct {
    uint32_t                 width, height; /* level 0 */
    int                      bands;         /* 1-4; 2 and 4 carry alpha */
    uint32_t                 nlevels;       /* pyramid TIFF: levels */
    uint32_t                 level_w[VL_CONVERT_MAX_LEVELS];
    uint32_t                 level_h[VL_CONVERT_MAX_LEVELS];
    const vl_convert_opts_t *opts;
    const unsigned char     *icc;
    size_t                   icc_len;
    const char              *title, *description, *creator, *copyright, *date;
} vl_convert_geom_t;

/* ------------------------------------------------------- pyramid TIFF */

typedef struct vl_tiffpyr_s vl_tiffpyr_t;

/* Check that the compression is built into libtiff and fits the bands.
 * Errors: VL_EUNSUPP with a one-line reason. */
int vl_tiffpyr_check(const vl_convert_geom_t *g, vl_err_t *err);

/* Start writing g's pyramid to path (through a temporary name in its
 * directory, renamed by vl_tiffpyr_finish). Errors: VL_EIO, VL_ECODEC. */
vl_tiffpyr_t *vl_tiffpyr_open(const char *path, const vl_convert_geom_t *g,
                              vl_err_t *err);

/* Write tile row `ty` of `level` from band (level width, at most a tile
 * height of rows: fewer only for the last tile row). */
int vl_tiffpyr_put(vl_tiffpyr_t *w, uint32_t level, uint32_t ty,
                   const vl_image_t *band, vl_err_t *err);

/* Assemble the levels into the output and rename it into place; frees w
 * (also on failure, removing what it wrote). */
int vl_tiffpyr_finish(vl_tiffpyr_t *w, vl_err_t *err);

/* Drop everything written; accepts NULL. */
void vl_tiffpyr_abort(vl_tiffpyr_t *w);

/* ---------------------------------------------------------- JPEG 2000 */

typedef struct vl_jp2w_s vl_jp2w_t;

/* Start writing a JP2 of g's level 0 to path (a temporary name, renamed
 * by vl_jp2w_finish). *band_h is the rows vl_jp2w_put takes at a time (the
 * codestream tile height). Errors: VL_EIO, VL_ECODEC, VL_EUNSUPP. */
vl_jp2w_t *vl_jp2w_open(const char *path, const vl_convert_geom_t *g,
                        uint32_t *band_h, vl_err_t *err);

/* The next band of level 0: full width, *band_h rows (fewer at the end). */
int vl_jp2w_put(vl_jp2w_t *w, const vl_image_t *band, vl_err_t *err);

/* Finish the codestream and rename it into place; frees w. */
int vl_jp2w_finish(vl_jp2w_t *w, vl_err_t *err);

/* Drop everything written; accepts NULL. */
void vl_jp2w_abort(vl_jp2w_t *w);

/* A temporary file next to path (".NAME.XXXXXX" in its directory), open
 * for writing; *tmp (malloc) receives its name. With keep, the name is
 * remembered (up to 4) and removed if the process is stopped by SIGINT,
 * SIGTERM or SIGHUP during vl_convert_run, until vl_convert_tmp_release.
 * -1 on failure. */
int vl_convert_tmp(const char *path, int keep, char **tmp);

/* Forget a kept temporary name (renamed into place or removed). */
void vl_convert_tmp_release(const char *tmp);

#endif /* VL_CONVERT_P_H */
