/* SPDX-License-Identifier: MIT */
/*
 * fixture: the known pixel pattern of the test images that
 * tests/fixtures/mkfixtures.c writes at `make check` time into $VL_FIXTURES,
 * and helpers to find them. Shared by the generator and every test that
 * checks pixels, so both sides compute the same values.
 *
 * Level L (0 = full resolution) of every pattern fixture holds, at (x, y) in
 * that level's own coordinates:
 *     R = (x + 17 L) & 255,  G = (y + 31 L) & 255,  B = (x ^ y ^ (L << 5)) & 255
 *     grey = (x + 2 y + 40 L) & 255,   alpha = (x * 3 + y + 64) & 255
 * Levels are not downsampled images: each level has its own exact pattern, so
 * a test can tell which level was read and check lossless data exactly.
 * Level sizes halve with ceiling rounding until both sides are <= the tile
 * size: L+1 = ceil(L / 2) (rgb-floor.tif: floor(L / 2)).
 */
#ifndef VL_TEST_FIXTURE_H
#define VL_TEST_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline uint8_t
vl_fx_rgb(uint32_t x, uint32_t y, uint32_t level, int band)
{
    switch (band) {
    case 0: return (uint8_t) ((x + 17 * level) & 255);
    case 1: return (uint8_t) ((y + 31 * level) & 255);
    default: return (uint8_t) ((x ^ y ^ (level << 5)) & 255);
    }
}

static inline uint8_t
vl_fx_grey(uint32_t x, uint32_t y, uint32_t level)
{
    return (uint8_t) ((x + 2 * y + 40 * level) & 255);
}

static inline uint8_t
vl_fx_alpha(uint32_t x, uint32_t y)
{
    return (uint8_t) ((x * 3 + y + 64) & 255);
}

/* The fixtures (file name, width, height, tile, layout), all under
 * $VL_FIXTURES:
 *   rgb-deflate.tif   1001x737 RGB, tiles 256, multi-IFD pyramid, deflate
 *   rgb-subifd.tif    1001x737 RGB, tiles 256, SubIFD pyramid, deflate
 *   rgb-lzw.tif       1001x737 RGB, tiles 256, multi-IFD, LZW
 *   rgb-none.tif      1001x737 RGB, tiles 256, multi-IFD, uncompressed
 *   rgb-big.tif       1001x737 RGB, tiles 256, multi-IFD, deflate, BigTIFF
 *   rgb-jpeg.tif      1001x737 RGB, tiles 256, multi-IFD, JPEG q95 YCbCr
 *                     (lossy: compare with a tolerance)
 *   rgb-jpeg-rgb.tif  1001x737 RGB, tiles 256, multi-IFD, JPEG q95, RGB
 *                     photometric (no YCbCr), shared JPEGTables
 *   rgb-floor.tif     1001x737 RGB, tiles 256, multi-IFD, deflate, levels
 *                     floor-rounded as vips makes them: 500x368, 250x184
 *                     (IIIF's sizes at 2 and 4 are 501x369, 251x185)
 *   grey.tif          640x480 grey, tiles 128, multi-IFD, deflate
 *   rgba.tif          300x200 RGBA (unassociated alpha), tiles 64, deflate
 *   grey16.tif        256x256 16-bit grey (value = grey * 257), tiles 64,
 *                     deflate, single level
 *   strip.tif         500x400 RGB, strips of 16 rows, LZW, single level
 *   single.tif        333x222 RGB, tiles 64, single level, deflate
 *   tiny.tif          1x1 RGB, strips, single level
 *   not-an-image.tif  a text file
 *   truncated.tif     rgb-deflate.tif cut at 40 % of its length
 *   sub/dir/nested.tif   copy of single.tif (identifiers with slashes)
 *   name with space.tif  copy of single.tif
 *   "a%2Fb.tif"          literal file name containing "%2F" (copy of single)
 */
#define VL_FX_RGB_W 1001
#define VL_FX_RGB_H 737
/* rgb-big.ppm and its HTJ2K encodings (several tile rows at every level
 * but the smallest, so that reads are partial) */
#define VL_FX_BIG_W 2100
#define VL_FX_BIG_H 1700

/* Path of fixture `name` (static buffer). Exits 77 (automake SKIP) if
 * VL_FIXTURES is not set. */
static inline const char *
vl_fx_path(const char *name)
{
    static char buf[4096];
    const char *dir = getenv("VL_FIXTURES");

    if (dir == NULL || *dir == '\0') {
        fprintf(stderr, "VL_FIXTURES not set: run through `make check`\n");
        exit(77);
    }
    snprintf(buf, sizeof(buf), "%s/%s", dir, name);
    return buf;
}

/* Copy file from to file to (a fixture into a test's own root). Returns 0,
 * or -1 when either cannot be opened, read or written. */
static inline int
vl_fx_copy(const char *from, const char *to)
{
    FILE  *in = fopen(from, "rb"), *out = fopen(to, "wb");
    char   buf[65536];
    size_t n;
    int    rc = in != NULL && out != NULL ? 0 : -1;

    while (rc == 0 && (n = fread(buf, 1, sizeof(buf), in)) > 0) {
        rc = fwrite(buf, 1, n, out) == n ? 0 : -1;
    }
    if (in != NULL && ferror(in)) {
        rc = -1;
    }
    if (in != NULL) {
        fclose(in);
    }
    if (out != NULL && fclose(out) != 0) {
        rc = -1;
    }
    return rc;
}

/* Make the first 132 bytes of icc[0, len) the header and (empty) tag
 * table of an ICC profile of colour space `space` ("RGB ", "GRAY"): what
 * lcms2 opens, so that vellum keeps it (a profile it cannot open, or of
 * another colour space than the pixels, is dropped). The rest is left as
 * it is. len >= 132. */
static inline void
vl_fx_icc_header(unsigned char *icc, size_t len, const char *space)
{
    memset(icc, 0, 132);
    icc[0] = (unsigned char) (len >> 24);
    icc[1] = (unsigned char) (len >> 16);
    icc[2] = (unsigned char) (len >> 8);
    icc[3] = (unsigned char) len;
    icc[8] = 2;
    icc[9] = 0x10;                      /* version 2.1 */
    memcpy(icc + 12, "mntr", 4);
    memcpy(icc + 16, space, 4);
    memcpy(icc + 20, "XYZ ", 4);
    memcpy(icc + 36, "acsp", 4);
}

#endif /* VL_TEST_FIXTURE_H */
