/* SPDX-License-Identifier: MIT */
/*
 * convert: `vellum convert`, any image vellum reads into a tiled pyramid
 * TIFF and/or a tiled JPEG 2000 for viewer access. Level 0 is read
 * through source/ in bands of rows, never whole; every reduced level is
 * made in the same pass by pixel/'s 2:1 area average from the level above
 * (level k is ceil(w / 2^k) x ceil(h / 2^k), as IIIF rounds), each level
 * holding one tile row. One conversion per call, one thread.
 */
#ifndef VL_CONVERT_H
#define VL_CONVERT_H

#include <stdint.h>

#include "core/err.h"

typedef enum {
    VL_CONVERT_JPEG = 0,
    VL_CONVERT_DEFLATE,
    VL_CONVERT_WEBP,
    VL_CONVERT_ZSTD,
    VL_CONVERT_LZW,
    VL_CONVERT_NONE
} vl_convert_comp_t;

/* Called after each band with the rows of level 0 done so far. */
typedef void (*vl_convert_progress_fn)(void *arg, uint64_t done,
                                       uint64_t total);

typedef struct {
    const char *in;
    const char *out_tif;             /* NULL: no TIFF */
    const char *out_jp2;             /* NULL: no JPEG 2000 */
    uint32_t    tile;                /* TIFF tile side (16..4096,
                                      * a multiple of 16) */
    vl_convert_comp_t compression;   /* of the TIFF */
    int               quality;       /* 1..100: TIFF JPEG/WebP, and
                                      * the JP2 rate when lossy */
    int lossless;                    /* JP2 5/3, WebP lossless */
    int rgb_jpeg;                    /* TIFF JPEG as RGB components,
                                      * 4:4:4 (vips 8.14's way), not
                                      * YCbCr 4:2:0 */
    uint32_t               jp2_tile; /* codestream tile side */
    vl_convert_progress_fn progress; /* NULL: none */
    void                  *progress_arg;
} vl_convert_opts_t;

/* Parse a --compression name ("jpeg", "deflate", "zip", "webp", "zstd",
 * "lzw", "none"). -1 if unknown. */
int vl_convert_comp_parse(const char *name, vl_convert_comp_t *c);

/* Run the conversion. Outputs appear under their names only when complete
 * (written to temporary names in the same directory, then renamed).
 * Errors: those of vl_source_open_path and vl_source_read, VL_EUNSUPP
 * (a compression libtiff lacks, one the bands cannot use), VL_EIO,
 * VL_ECODEC; one line, never a path. */
int vl_convert_run(const vl_convert_opts_t *o, vl_err_t *err);

#endif /* VL_CONVERT_H */
