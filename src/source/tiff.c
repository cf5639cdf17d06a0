/* SPDX-License-Identifier: MIT */
/*
 * tiff: the libtiff backend (the only libtiff user in src/). Multi-page
 * files (tiff_open says what a page is), pyramids as successive IFDs or
 * SubIFDs of a page's IFD, BigTIFF, tiles and strips; a handle shows one
 * page and decodes only the tiles/strips a rectangle touches into 8-bit
 * interleaved bands, or 16-bit ones for 16-bit grey/RGB(A) pages asked at
 * depth 2 (tiff_convert_row16), each through the worker's tile cache.
 * JPEG blocks are decoded by jpegdec (raw block + JPEGTables), which serves
 * virtual levels: a stored level DCT-scaled by 1/2, 1/4, 1/8 where the
 * pyramid has a gap. Every libtiff error lands in this handle's message
 * buffer, never on stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

#include "core/deadline.h"
#include "core/log.h"
#include "core/str.h"
#include "source/cms.h"
#include "source/dct.h"
#include "source/jpegdec.h"
#include "source/liberr.h"
#include "source/meta.h"
#include "source/source_p.h"

typedef struct {
    int      is_sub;             /* SubIFD: use offset, else index */
    uint64_t offset;
    tdir_t   index;
    uint32_t width, height;
    uint32_t tile_w, tile_h;     /* 0 for strips */
    uint32_t rows_per_strip;
    uint16_t compression, photometric, spp, bits, planar;
    uint16_t alpha;              /* 0, EXTRASAMPLE_ASSOCALPHA or _UNASSALPHA */
    int      colour;             /* colour samples read: 1, 3 or 4 (CMYK) */
    int      bands;              /* output bands */
    int      kind;               /* TIFF_KIND_*: how samples become bands */
    int      isfloat;            /* 32-bit IEEE float samples */
    double   smin, smax;         /* float: the range mapped to 0..255 */
    int      direct;             /* stored 8-bit samples are the bands */
    uint16_t ysh, ysv;           /* YCbCr (not JPEG) subsampling */
    vl_cms_xf_t *xf;             /* CMYK (its profile), Lab: to sRGB */
    int      scanline;           /* strips too large: read row by row */
    int      fastjpeg;           /* JPEG blocks jpegdec decodes (scalable) */
    size_t   row_bytes;          /* stored bytes of one block row (contig) */
    size_t   raw_bytes;          /* buffer for one decoded block */
} vl_tiff_level_t;

/* Where the raw JPEG tiles of one stored level are, read once per handle
 * so that a passthrough never switches the libtiff directory. */
typedef struct {
    int             state;       /* 0 not read, 1 ready, -1 not cacheable */
    uint32_t        across;      /* tiles per row */
    uint32_t        ntiles;
    uint64_t       *off, *len;   /* per tile */
    unsigned char  *tables;      /* JPEGTables without EOI, or NULL */
    size_t          tables_len;
} vl_tiff_rawmap_t;

/* How stored samples become output bands (vl_tiff_level_t.kind). */
enum {
    TIFF_KIND_PLAIN,    /* grey, palette, RGB (and YCbCr JPEG as RGB) */
    TIFF_KIND_CMYK,     /* separated, InkSet CMYK: to sRGB */
    TIFF_KIND_CIELAB,   /* CIELab, a* b* signed: to sRGB */
    TIFF_KIND_ICCLAB,   /* ICCLab, a* b* offset by 128: to sRGB */
    TIFF_KIND_YCBCR     /* YCbCr not JPEG: libtiff's RGBA interface */
};

/* Levels with more tiles than this read their tiles through libtiff. */
#define VL_TIFF_RAWMAP_MAX_TILES ((uint32_t) 1 << 20)

/* Top-level IFDs looked at to find and count pages: the rest is ignored. */
#define VL_TIFF_MAX_IFDS 65535u

/* The text tags read, in the order of vl_tiff_t.text. */
enum {
    TIFF_TITLE,
    TIFF_DESCRIPTION,
    TIFF_CREATOR,
    TIFF_COPYRIGHT,
    TIFF_DATE,
    TIFF_TEXTS
};

typedef struct {
    TIFF            *tif;
    long             cur;         /* level of the current directory, -1 */
    vl_tiff_rawmap_t rawmap[VL_MAX_LEVELS];  /* per stored level */
    uint32_t         nlevels;     /* stored levels */
    vl_tiff_level_t  lv[VL_MAX_LEVELS];
    uint32_t         sidx[VL_MAX_LEVELS];  /* geom level -> stored level */
    vl_liberr_t      lerr;        /* libtiff's message */
    unsigned char   *raw, *plane, *line;
    size_t           raw_cap, plane_cap, line_cap;
    vl_jpegdec_t    *jdec;
    TIFFYCbCrToRGB  *ycc;         /* YCbCr without JPEG, or NULL */
    unsigned char   *icc;
    size_t           icc_len;
    char            *rights;
    char            *text[TIFF_TEXTS]; /* the page's, cleaned, or NULL */
} vl_tiff_t;

static int
tiff_on_error(TIFF *tif, void *user, const char *module, const char *fmt,
              va_list ap)
{
    vl_tiff_t *t = user;

    (void) tif;
    (void) module;
    if (t != NULL) {
        vl_liberr_vprintf(&t->lerr, fmt, ap);
    }
    return 1;
}

static int
tiff_on_warning(TIFF *tif, void *user, const char *module,
                const char *fmt, va_list ap)
{
    char buf[256];

    (void) tif;
    (void) user;
    (void) module;
    if (vl_log_enabled(VL_LOG_INFO)) {
        vsnprintf(buf, sizeof(buf), fmt, ap);
        vl_log(VL_LOG_INFO, NULL, "libtiff: %s", buf);
    }
    return 1;
}

static const char *
tiff_compression_name(uint16_t c)
{
    switch (c) {
    case COMPRESSION_NONE: return "none";
    case COMPRESSION_JPEG:
    case COMPRESSION_OJPEG: return "jpeg";
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_DEFLATE: return "deflate";
    case COMPRESSION_LZW: return "lzw";
    case COMPRESSION_PACKBITS: return "packbits";
    case COMPRESSION_CCITTRLE:
    case COMPRESSION_CCITTFAX3:
    case COMPRESSION_CCITTFAX4: return "ccitt";
    case COMPRESSION_LZMA: return "lzma";
    case COMPRESSION_ZSTD: return "zstd";
    case COMPRESSION_WEBP: return "webp";
    case COMPRESSION_JXL: return "jxl";
    case 33003: case 33005: case 34712: return "jpeg2000";
    default: return "other";
    }
}

static const char *
tiff_photometric_name(uint16_t p)
{
    switch (p) {
    case PHOTOMETRIC_MINISWHITE: return "miniswhite";
    case PHOTOMETRIC_MINISBLACK: return "minisblack";
    case PHOTOMETRIC_RGB: return "rgb";
    case PHOTOMETRIC_PALETTE: return "palette";
    case PHOTOMETRIC_YCBCR: return "ycbcr";
    case PHOTOMETRIC_SEPARATED: return "cmyk";
    case PHOTOMETRIC_CIELAB: return "cielab";
    case PHOTOMETRIC_ICCLAB: return "icclab";
    default: return "other";
    }
}

/* The sample format of the current directory into lv (isfloat, smin,
 * smax): unsigned integers, or 32-bit IEEE floats scaled from
 * SMinSampleValue..SMaxSampleValue (when both are there and max > min)
 * else 0.0..1.0. NULL, or why not. */
static const char *
tiff_sample_kind(TIFF *tif, vl_tiff_level_t *lv, uint16_t fmt)
{
    switch (fmt) {
    case SAMPLEFORMAT_UINT:
    case SAMPLEFORMAT_VOID:
        if (lv->bits != 1 && lv->bits != 2 && lv->bits != 4 && lv->bits != 8
            && lv->bits != 16) {
            return "unsigned samples must have 1, 2, 4, 8 or 16 bits "
                   "(12, 24, 32-bit integers are not supported)";
        }
        return NULL;
    case SAMPLEFORMAT_IEEEFP: {
        double lo = 0.0, hi = 0.0;

        if (lv->bits != 32) {
            return "floating-point samples must have 32 bits (16 and "
                   "64-bit floats are not supported)";
        }
        lv->isfloat = 1;
        lv->smin = 0.0;
        lv->smax = 1.0;
        if (TIFFGetField(tif, TIFFTAG_SMINSAMPLEVALUE, &lo)
            && TIFFGetField(tif, TIFFTAG_SMAXSAMPLEVALUE, &hi) && hi > lo
            && hi - lo < 1e300) {
            lv->smin = lo;
            lv->smax = hi;
        }
        return NULL;
    }
    case SAMPLEFORMAT_INT:
        return "signed integer samples are not supported";
    default:
        return "complex samples are not supported";
    }
}

/* YCbCr that is not JPEG-compressed: 8-bit, contiguous, a subsampling
 * libtiff's RGBA interface converts. NULL, or why not. */
static const char *
tiff_ycbcr_ok(TIFF *tif, vl_tiff_level_t *lv)
{
    uint16_t h = 2, v = 2;

    if (lv->bits != 8 || lv->isfloat) {
        return "YCbCr images must have 8 bits per sample";
    }
    if (lv->planar == PLANARCONFIG_SEPARATE) {
        return "planar YCbCr images are not supported";
    }
    TIFFGetFieldDefaulted(tif, TIFFTAG_YCBCRSUBSAMPLING, &h, &v);
    if (!((h == 1 && (v == 1 || v == 2)) || (h == 2 && (v == 1 || v == 2))
          || (h == 4 && (v == 1 || v == 2 || v == 4)))) {
        return "this YCbCr subsampling is not supported (1x1, 1x2, 2x1, "
               "2x2, 4x1, 4x2, 4x4 are)";
    }
    lv->ysh = h;
    lv->ysv = v;
    return NULL;
}

/* Describe the current directory in *lv. Returns NULL if vellum can read
 * it, else a one-line reason. */
static const char *
tiff_inspect(TIFF *tif, vl_tiff_level_t *lv)
{
    uint16_t    nextra = 0, *extra = NULL, fmt = SAMPLEFORMAT_UINT;
    uint32_t    rows;
    size_t      bytes, dec;
    const char *why;

    memset(lv, 0, sizeof(*lv));
    if (!TIFFGetField(tif, TIFFTAG_IMAGEWIDTH, &lv->width)
        || !TIFFGetField(tif, TIFFTAG_IMAGELENGTH, &lv->height)
        || lv->width == 0 || lv->height == 0) {
        return "the image has no size";
    }
    if (lv->width > VL_SOURCE_MAX_SIDE || lv->height > VL_SOURCE_MAX_SIDE) {
        return "image dimensions beyond 1,000,000 pixels a side";
    }
    TIFFGetFieldDefaulted(tif, TIFFTAG_COMPRESSION, &lv->compression);
    TIFFGetFieldDefaulted(tif, TIFFTAG_BITSPERSAMPLE, &lv->bits);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLESPERPIXEL, &lv->spp);
    TIFFGetFieldDefaulted(tif, TIFFTAG_PLANARCONFIG, &lv->planar);
    TIFFGetFieldDefaulted(tif, TIFFTAG_SAMPLEFORMAT, &fmt);
    TIFFGetFieldDefaulted(tif, TIFFTAG_EXTRASAMPLES, &nextra, &extra);
    if (!TIFFGetField(tif, TIFFTAG_PHOTOMETRIC, &lv->photometric)) {
        lv->photometric = lv->spp >= 3 ? PHOTOMETRIC_RGB
                                       : PHOTOMETRIC_MINISBLACK;
    }
    if (!TIFFIsCODECConfigured(lv->compression)) {
        return "the TIFF compression is not available in this build";
    }
    if (lv->spp == 0) {
        return "the image has no samples";
    }
    if ((why = tiff_sample_kind(tif, lv, fmt)) != NULL) {
        return why;
    }
    switch (lv->photometric) {
    case PHOTOMETRIC_MINISBLACK:
    case PHOTOMETRIC_MINISWHITE:
        lv->colour = 1;
        if (lv->bits != 1 && lv->bits != 2 && lv->bits != 4 && lv->bits != 8
            && lv->bits != 16 && !lv->isfloat) {
            return "grey images must have 1, 2, 4, 8 or 16 bits per sample";
        }
        if (lv->bits < 8 && lv->spp != 1) {
            return "bilevel images with extra samples are not supported";
        }
        break;
    case PHOTOMETRIC_PALETTE:
        lv->colour = 1;
        if ((lv->bits != 1 && lv->bits != 2 && lv->bits != 4 && lv->bits != 8)
            || lv->spp != 1 || lv->isfloat) {
            return "palette images must have 1, 2, 4 or 8 bits and one sample";
        }
        break;
    case PHOTOMETRIC_RGB:
        lv->colour = 3;
        break;
    case PHOTOMETRIC_YCBCR:
        lv->colour = 3;
        if (lv->compression == COMPRESSION_JPEG) {
            TIFFSetField(tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
            break;
        }
        if ((why = tiff_ycbcr_ok(tif, lv)) != NULL) {
            return why;
        }
        lv->kind = TIFF_KIND_YCBCR;
        break;
    case PHOTOMETRIC_SEPARATED: {
        uint16_t ink = INKSET_CMYK;

        TIFFGetFieldDefaulted(tif, TIFFTAG_INKSET, &ink);
        if (ink != INKSET_CMYK) {
            return "separated images of other inks than CMYK are not "
                   "supported";
        }
        if (lv->spp < 4) {
            return "CMYK images need four samples";
        }
        if ((lv->bits != 8 && lv->bits != 16) || lv->isfloat) {
            return "CMYK images must have 8 or 16 bits per sample";
        }
        lv->colour = 4;
        lv->kind = TIFF_KIND_CMYK;
        break;
    }
    case PHOTOMETRIC_CIELAB:
    case PHOTOMETRIC_ICCLAB:
        if (lv->spp < 3) {
            return "Lab images need three samples";
        }
        if ((lv->bits != 8 && lv->bits != 16) || lv->isfloat) {
            return "Lab images must have 8 or 16 bits per sample";
        }
        if (!vl_cms_available()) {
            return "Lab images need lcms2, not in this build";
        }
        lv->colour = 3;
        lv->kind = lv->photometric == PHOTOMETRIC_CIELAB ? TIFF_KIND_CIELAB
                                                         : TIFF_KIND_ICCLAB;
        break;
    case PHOTOMETRIC_ITULAB:
        return "ITU Lab images are not supported";
    case PHOTOMETRIC_LOGL:
    case PHOTOMETRIC_LOGLUV:
        return "LogL and LogLuv images are not supported";
    case PHOTOMETRIC_MASK:
        return "transparency masks are not images";
    default: {
        /* tiff_inspect's reasons are used before its next call */
        static _Thread_local char why_buf[80];

        snprintf(why_buf, sizeof(why_buf),
                 "TIFF photometric interpretation %u is not supported",
                 (unsigned) lv->photometric);
        return why_buf;
    }
    }
    if (lv->colour == 3) {
        if (lv->spp < 3) {
            return "RGB images need three samples";
        }
        if (lv->bits != 8 && lv->bits != 16 && !lv->isfloat) {
            return "RGB images must have 8 or 16 bits per sample";
        }
    }
    if (lv->spp > lv->colour && nextra > 0 && extra != NULL
        && (extra[0] == EXTRASAMPLE_ASSOCALPHA
            || extra[0] == EXTRASAMPLE_UNASSALPHA)) {
        lv->alpha = extra[0];
    }
    if (lv->kind == TIFF_KIND_YCBCR && lv->spp != 3) {
        return "YCbCr images with extra samples are not supported";
    }
    lv->bands = (lv->photometric == PHOTOMETRIC_PALETTE
                 || lv->kind == TIFF_KIND_CMYK ? 3 : lv->colour)
                + (lv->alpha ? 1 : 0);
    lv->direct = lv->bits == 8 && !lv->isfloat && lv->spp == lv->bands
                 && lv->kind == TIFF_KIND_PLAIN
                 && lv->alpha != EXTRASAMPLE_ASSOCALPHA
                 && lv->photometric != PHOTOMETRIC_PALETTE
                 && lv->photometric != PHOTOMETRIC_MINISWHITE;

    if (TIFFIsTiled(tif)) {
        if (!TIFFGetField(tif, TIFFTAG_TILEWIDTH, &lv->tile_w)
            || !TIFFGetField(tif, TIFFTAG_TILELENGTH, &lv->tile_h)
            || lv->tile_w == 0 || lv->tile_h == 0
            || lv->tile_w > VL_SOURCE_MAX_SIDE
            || lv->tile_h > VL_SOURCE_MAX_SIDE) {
            return "invalid TIFF tile size";
        }
        rows = lv->tile_h;
    } else {
        TIFFGetFieldDefaulted(tif, TIFFTAG_ROWSPERSTRIP, &lv->rows_per_strip);
        if (lv->rows_per_strip == 0 || lv->rows_per_strip > lv->height) {
            lv->rows_per_strip = lv->height;
        }
        rows = lv->rows_per_strip;
    }
    /* stored bytes of one row of a block (one plane if separate) */
    if (vl_size_mul(lv->tile_w ? lv->tile_w : lv->width,
                    lv->planar == PLANARCONFIG_SEPARATE ? 1u : lv->spp,
                    &bytes) != 0
        || vl_size_mul(bytes, lv->bits, &bytes) != 0) {
        return "image dimensions out of range";
    }
    lv->row_bytes = (bytes + 7) / 8;
    if (lv->planar == PLANARCONFIG_SEPARATE) {
        if (lv->bits < 8 && lv->spp > 1) {
            return "planar bilevel images are not supported";
        }
        lv->row_bytes *= lv->spp;       /* interleaved copy */
    }
    if (vl_size_mul(lv->row_bytes, rows, &lv->raw_bytes) != 0
        || vl_size_mul4(lv->tile_w ? lv->tile_w : lv->width, rows,
                        (size_t) lv->bands, 1, &dec) != 0) {
        return "image dimensions out of range";
    }
    if (lv->raw_bytes > VL_SOURCE_MAX_BLOCK || dec > VL_SOURCE_MAX_BLOCK) {
        if (lv->tile_w != 0) {
            return "TIFF tiles larger than 64 MiB are not supported";
        }
        if (lv->planar == PLANARCONFIG_SEPARATE) {
            return "huge planar TIFF strips are not supported";
        }
        if (lv->kind == TIFF_KIND_YCBCR) {
            return "huge YCbCr strips are not supported";
        }
        /* one strip is larger than the bound: read it row by row */
        lv->scanline = 1;
        lv->raw_bytes = lv->row_bytes;
    }
    /* JPEG blocks jpegdec takes: 8-bit, contiguous, one sample per band */
    lv->fastjpeg = lv->compression == COMPRESSION_JPEG && !lv->scanline
                   && lv->bits == 8
                   && (lv->planar == PLANARCONFIG_CONTIG || lv->spp == 1)
                   && lv->spp == lv->bands
                   && lv->alpha != EXTRASAMPLE_ASSOCALPHA
                   && (lv->photometric == PHOTOMETRIC_MINISBLACK
                       || lv->photometric == PHOTOMETRIC_RGB
                       || (lv->photometric == PHOTOMETRIC_YCBCR
                           && lv->spp == 3));
    return NULL;
}

/* Has lv the aspect ratio of first, within the rounding of a level? */
static int
tiff_same_aspect(const vl_tiff_level_t *first, const vl_tiff_level_t *lv)
{
    uint32_t side = first->width > first->height ? first->width : first->height;
    uint64_t a = (uint64_t) lv->height * first->width;
    uint64_t b = (uint64_t) lv->width * first->height;
    uint64_t tol = 2 * (uint64_t) side;

    return (a > b ? a - b : b - a) <= tol;
}

/* May lv be the next pyramid level after prev (level 0 is first)? */
static int
tiff_level_fits(const vl_tiff_level_t *first, const vl_tiff_level_t *prev,
                const vl_tiff_level_t *lv)
{
    if (lv->width > prev->width || lv->height > prev->height
        || (lv->width == prev->width && lv->height == prev->height)) {
        return 0;
    }
    if ((lv->tile_w != 0) != (first->tile_w != 0)
        || lv->bands != first->bands) {
        return 0;
    }
    /* same aspect ratio within rounding: thumbnails and masks are not */
    return tiff_same_aspect(first, lv);
}

static int
tiff_set_level(vl_tiff_t *t, uint32_t level, vl_err_t *err)
{
    const vl_tiff_level_t *lv = &t->lv[level];
    int                    ok;

    if (t->cur == (long) level) {
        return VL_OK;
    }
    t->cur = -1;
    ok = lv->is_sub ? TIFFSetSubDirectory(t->tif, lv->offset)
                    : TIFFSetDirectory(t->tif, lv->index);
    if (!ok) {
        return vl_liberr_fail(&t->lerr, "cannot read the TIFF directory",
                              "libtiff error", err);
    }
    if (lv->photometric == PHOTOMETRIC_YCBCR
        && lv->compression == COMPRESSION_JPEG) {
        TIFFSetField(t->tif, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
    }
    t->cur = (long) level;
    return VL_OK;
}

static int
tiff_reserve(unsigned char **buf, size_t *cap, size_t need, vl_err_t *err)
{
    unsigned char *p;

    if (*cap >= need) {
        return VL_OK;
    }
    p = realloc(*buf, need);
    if (p == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory decoding a tile");
    }
    *buf = p;
    *cap = need;
    return VL_OK;
}

/* A 16-bit sample to 8 bits, rounded to nearest: v * 255 / 65535. */
static inline unsigned
tiff_16to8(unsigned v)
{
    return (v * 255u + 32767u) / 65535u;
}

/* A float sample to 8 bits: lv->smin..smax onto 0..255, rounded, clamped;
 * NaN is 0. */
static unsigned
tiff_float8(const vl_tiff_level_t *lv, float f)
{
    double v;

    if (f != f) {
        return 0;
    }
    v = ((double) f - lv->smin) / (lv->smax - lv->smin) * 255.0;
    if (!(v > 0.0)) {
        return 0;
    }
    return v >= 255.0 ? 255u : (unsigned) (v + 0.5);
}

/* Sample k (counted from the row's start) of a row of 8, 16-bit or float
 * samples, as 8 bits. */
static inline unsigned
tiff_sample8(const vl_tiff_level_t *lv, const unsigned char *in, size_t k)
{
    if (lv->isfloat) {
        return tiff_float8(lv, ((const float *) (const void *) in)[k]);
    }
    if (lv->bits == 16) {
        return tiff_16to8(((const uint16_t *) (const void *) in)[k]);
    }
    return in[k];
}

#define TIFF_CHUNK 64

/* CMYK and Lab rows: through the level's transform (lcms2) in chunks of
 * TIFF_CHUNK pixels; CMYK without one (no profile, or an unusable one) by
 * the naive formula R = (255 - C)(255 - K) / 255 (G from M, B from Y),
 * on samples rounded to 8 bits. Alpha (the first extra sample) is copied
 * as it is stored (associated alpha is not un-premultiplied here). */
static void
tiff_convert_cms(const vl_tiff_level_t *lv, const unsigned char *in,
                 unsigned char *out, uint32_t n)
{
    const uint16_t *in16 = (const uint16_t *) (const void *) in;
    int             spp = lv->spp, bands = lv->bands;

    for (uint32_t i0 = 0; i0 < n; i0 += TIFF_CHUNK) {
        uint32_t      m = n - i0 < TIFF_CHUNK ? n - i0 : TIFF_CHUNK;
        unsigned char rgb[TIFF_CHUNK * 3];

        if (lv->kind == TIFF_KIND_CMYK && lv->xf != NULL) {
            union {
                unsigned char b[TIFF_CHUNK * 4];
                uint16_t      w[TIFF_CHUNK * 4];
            } cmyk;

            for (uint32_t i = 0; i < m; i++) {
                size_t k = (size_t) (i0 + i) * (size_t) spp;

                for (int c = 0; c < 4; c++) {
                    if (lv->bits == 16) {
                        cmyk.w[i * 4 + c] = in16[k + c];
                    } else {
                        cmyk.b[i * 4 + c] = in[k + c];
                    }
                }
            }
            vl_cms_run(lv->xf, &cmyk, rgb, m);
        } else if (lv->kind == TIFF_KIND_CMYK) {
            for (uint32_t i = 0; i < m; i++) {
                size_t   k = (size_t) (i0 + i) * (size_t) spp;
                unsigned kk = 255 - tiff_sample8(lv, in, k + 3);

                for (int c = 0; c < 3; c++) {
                    unsigned v = 255 - tiff_sample8(lv, in, k + c);

                    rgb[i * 3 + c] = (unsigned char) ((v * kk + 127) / 255);
                }
            }
        } else {
            double lab[TIFF_CHUNK * 3];
            int    icc = lv->kind == TIFF_KIND_ICCLAB;

            for (uint32_t i = 0; i < m; i++) {
                size_t k = (size_t) (i0 + i) * (size_t) spp;

                if (lv->bits == 16) {
                    lab[i * 3] = in16[k] * 100.0 / 65535.0;
                    lab[i * 3 + 1] = icc ? (in16[k + 1] - 32768.0) / 256.0
                                         : (int16_t) in16[k + 1] / 256.0;
                    lab[i * 3 + 2] = icc ? (in16[k + 2] - 32768.0) / 256.0
                                         : (int16_t) in16[k + 2] / 256.0;
                } else {
                    lab[i * 3] = in[k] * 100.0 / 255.0;
                    lab[i * 3 + 1] = icc ? in[k + 1] - 128.0
                                         : (double) (int8_t) in[k + 1];
                    lab[i * 3 + 2] = icc ? in[k + 2] - 128.0
                                         : (double) (int8_t) in[k + 2];
                }
            }
            vl_cms_run(lv->xf, lab, rgb, m);
        }
        for (uint32_t i = 0; i < m; i++) {
            unsigned char *o = out + (size_t) (i0 + i) * (size_t) bands;

            o[0] = rgb[i * 3];
            o[1] = rgb[i * 3 + 1];
            o[2] = rgb[i * 3 + 2];
            if (bands == 4) {
                o[3] = (unsigned char) tiff_sample8(
                    lv, in, (size_t) (i0 + i) * (size_t) spp
                                + (size_t) lv->colour);
            }
        }
    }
}

/* Convert `n` stored pixels of one row into 8-bit output bands. 16-bit
 * samples are rounded to 8 bits ((v * 255 + 32767) / 65535, also 16-bit
 * colormaps); float samples are scaled (tiff_float8); sub-byte grey is
 * scaled to 0..255; associated alpha is un-premultiplied; CMYK and Lab go
 * to sRGB (tiff_convert_cms). */
static void
tiff_convert_row(TIFF *tif, const vl_tiff_level_t *lv,
                 const unsigned char *in, unsigned char *out, uint32_t n)
{
    int       spp = lv->spp, bands = lv->bands;
    uint16_t *cmap[3] = { NULL, NULL, NULL };
    int       c16 = 1;

    if (lv->direct) {
        memcpy(out, in, (size_t) n * (size_t) bands);
        return;
    }
    if (lv->kind == TIFF_KIND_CMYK || lv->kind == TIFF_KIND_CIELAB
        || lv->kind == TIFF_KIND_ICCLAB) {
        tiff_convert_cms(lv, in, out, n);
        return;
    }
    if (lv->photometric == PHOTOMETRIC_PALETTE) {
        size_t ncol = (size_t) 1 << lv->bits;

        TIFFGetField(tif, TIFFTAG_COLORMAP, &cmap[0], &cmap[1], &cmap[2]);
        if (cmap[0] == NULL) {
            memset(out, 0, (size_t) n * 3);
            return;
        }
        /* some writers store 8-bit colormaps */
        c16 = 0;
        for (size_t i = 0; i < ncol; i++) {
            if (cmap[0][i] > 255 || cmap[1][i] > 255 || cmap[2][i] > 255) {
                c16 = 1;
                break;
            }
        }
    }
    for (uint32_t i = 0; i < n; i++) {
        unsigned char *o = out + (size_t) i * (size_t) bands;
        unsigned       v[4] = { 0, 0, 0, 255 };
        int            c;

        if (lv->bits < 8) {
            unsigned b = lv->bits;
            size_t   bit = (size_t) i * b;
            unsigned s = (in[bit >> 3] >> (8 - b - (bit & 7)))
                         & ((1u << b) - 1);

            v[0] = lv->photometric == PHOTOMETRIC_PALETTE
                       ? s : s * 255u / ((1u << b) - 1);
        } else {
            for (c = 0; c < lv->colour; c++) {
                v[c] = tiff_sample8(lv, in, (size_t) i * spp + c);
            }
            if (lv->alpha) {
                v[3] = tiff_sample8(lv, in,
                                    (size_t) i * spp + (size_t) lv->colour);
            }
        }
        if (lv->photometric == PHOTOMETRIC_PALETTE) {
            unsigned idx = v[0];

            for (c = 0; c < 3; c++) {
                v[c] = c16 ? tiff_16to8(cmap[c][idx]) : cmap[c][idx];
            }
        } else if (lv->photometric == PHOTOMETRIC_MINISWHITE) {
            v[0] = 255 - v[0];
        }
        if (lv->alpha == EXTRASAMPLE_ASSOCALPHA && v[3] != 0 && v[3] != 255) {
            int nc = bands - 1;

            for (c = 0; c < nc; c++) {
                unsigned u = (v[c] * 255u + v[3] / 2) / v[3];

                v[c] = u > 255 ? 255 : u;
            }
        }
        if (bands == 1 || bands == 2) {
            o[0] = (unsigned char) v[0];
            if (bands == 2) {
                o[1] = (unsigned char) v[3];
            }
        } else {
            o[0] = (unsigned char) v[0];
            o[1] = (unsigned char) v[1];
            o[2] = (unsigned char) v[2];
            if (bands == 4) {
                o[3] = (unsigned char) v[3];
            }
        }
    }
}

/* The 16-bit read path (depth 2, tiff_reads16 levels only): `n` stored
 * pixels of one row of 16-bit grey, grey+alpha, RGB or RGBA (libtiff gives
 * native-endian samples) into 16-bit output bands as stored; MINISWHITE
 * inverted, associated alpha un-premultiplied at 16 bits. */
static void
tiff_convert_row16(const vl_tiff_level_t *lv, const unsigned char *inb,
                   uint16_t *out, uint32_t n)
{
    const uint16_t *in = (const uint16_t *) (const void *) inb;
    int             spp = lv->spp, bands = lv->bands, nc = lv->colour;

    for (uint32_t i = 0; i < n; i++, in += spp, out += bands) {
        uint32_t a = lv->alpha ? in[nc] : 65535u;

        for (int c = 0; c < nc; c++) {
            uint32_t v = in[c];

            if (lv->photometric == PHOTOMETRIC_MINISWHITE) {
                v = 65535u - v;
            }
            if (lv->alpha == EXTRASAMPLE_ASSOCALPHA && a != 0
                && a != 65535u) {
                v = (v * 65535u + a / 2) / a;
                v = v > 65535u ? 65535u : v;
            }
            out[c] = (uint16_t) v;
        }
        if (lv->alpha) {
            out[nc] = (uint16_t) a;
        }
    }
}

/* Whether level lv reads at depth 2 through tiff_convert_row16. */
static int
tiff_reads16(const vl_tiff_level_t *lv)
{
    return lv->bits == 16 && !lv->fastjpeg
           && (lv->photometric == PHOTOMETRIC_MINISBLACK
               || lv->photometric == PHOTOMETRIC_MINISWHITE
               || lv->photometric == PHOTOMETRIC_RGB)
           && (lv->colour == 1 || lv->colour == 3)
           && lv->bands == lv->colour + (lv->alpha ? 1 : 0)
           && lv->spp >= lv->bands;
}

/* Decode stored block `index` of level si (the current directory) at
 * 1/scale with jpegdec: the window win of the decoded block
 * into out (row stride `stride`). */
static int
tiff_decode_window(vl_tiff_t *t, const vl_tiff_level_t *lv,
                   uint32_t index, uint32_t scale, const vl_rect_t *win,
                   unsigned char *out, size_t stride, vl_err_t *err)
{
    uint64_t             bytes = TIFFGetStrileByteCount(t->tif, index);
    uint32_t             tlen = 0;
    const unsigned char *tables = NULL;
    tmsize_t             n;
    int                  rc;

    if (bytes < 4 || bytes > VL_SOURCE_MAX_BLOCK) {
        return vl_err_set(err, VL_ECODEC, "invalid JPEG tile size");
    }
    if (t->jdec == NULL && (t->jdec = vl_jpegdec_new()) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory decoding a tile");
    }
    rc = tiff_reserve(&t->raw, &t->raw_cap, (size_t) bytes, err);
    if (rc != VL_OK) {
        return rc;
    }
    n = lv->tile_w ? TIFFReadRawTile(t->tif, index, t->raw, (tmsize_t) bytes)
                   : TIFFReadRawStrip(t->tif, index, t->raw,
                                      (tmsize_t) bytes);
    if (n < 4) {
        return vl_liberr_fail(&t->lerr, "cannot read a JPEG tile",
                              "libtiff error", err);
    }
    if (!TIFFGetField(t->tif, TIFFTAG_JPEGTABLES, &tlen, &tables)) {
        tables = NULL;
        tlen = 0;
    }
    return vl_jpegdec_window(t->jdec, tables, tlen, t->raw, (size_t) n,
                             scale, lv->photometric == PHOTOMETRIC_YCBCR,
                             lv->bands, win, out, stride, err);
}

/* The top-left tile->w x tile->h pixels of block `index` into tile. */
static int
tiff_decode_jpeg(vl_tiff_t *t, const vl_tiff_level_t *lv, uint32_t index,
                 uint32_t scale, vl_tile_t *tile, vl_err_t *err)
{
    vl_rect_t all = VL_RECT(0, 0, tile->w, tile->h);

    return tiff_decode_window(t, lv, index, scale, &all, tile->data,
                              (size_t) tile->w * (size_t) tile->bands, err);
}

/* The YCbCr -> RGB converter of the current directory (its
 * YCbCrCoefficients and ReferenceBlackWhite, defaults as TIFF 6 says),
 * built once per handle: libtiff's tables after the struct. */
static int
tiff_ycbcr_conv(vl_tiff_t *t, vl_err_t *err)
{
    float *coef = NULL, *refbw = NULL;
    size_t head = (sizeof(TIFFYCbCrToRGB) + sizeof(long) - 1)
                  / sizeof(long) * sizeof(long);

    if (t->ycc != NULL) {
        return VL_OK;
    }
    t->ycc = calloc(1, head + 4 * 256 * sizeof(TIFFRGBValue)
                           + 2 * 256 * sizeof(int)
                           + 3 * 256 * sizeof(int32_t));
    if (t->ycc == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory decoding a tile");
    }
    TIFFGetFieldDefaulted(t->tif, TIFFTAG_YCBCRCOEFFICIENTS, &coef);
    TIFFGetFieldDefaulted(t->tif, TIFFTAG_REFERENCEBLACKWHITE, &refbw);
    if (coef == NULL || refbw == NULL
        || TIFFYCbCrToRGBInit(t->ycc, coef, refbw) != 0) {
        free(t->ycc);
        t->ycc = NULL;
        return vl_err_set(err, VL_ECODEC, "invalid YCbCr coefficients");
    }
    return VL_OK;
}

/* YCbCr without JPEG: stored block `index` (subsampled: per block of
 * ysh x ysv pixels, its lumas then Cb, Cr) decoded by libtiff and turned
 * into RGB with libtiff's formula, the block's chroma for each of its
 * pixels. */
static int
tiff_decode_ycbcr(vl_tiff_t *t, const vl_tiff_level_t *lv, uint32_t index,
                  vl_tile_t *tile, vl_err_t *err)
{
    uint32_t sbw = lv->tile_w ? lv->tile_w : lv->width;
    uint32_t across = (sbw + lv->ysh - 1) / lv->ysh;
    size_t   bsize = (size_t) lv->ysh * lv->ysv + 2, need, want;
    tmsize_t n;
    int      rc;

    if ((rc = tiff_ycbcr_conv(t, err)) != VL_OK) {
        return rc;
    }
    want = (size_t) (lv->tile_w ? TIFFTileSize64(t->tif)
                                : TIFFStripSize64(t->tif));
    need = (size_t) across * ((tile->h + lv->ysv - 1) / lv->ysv) * bsize;
    if (want > VL_SOURCE_MAX_BLOCK || need > want) {
        return vl_err_set(err, VL_EFORMAT, "invalid YCbCr block size");
    }
    if ((rc = tiff_reserve(&t->raw, &t->raw_cap, want, err)) != VL_OK) {
        return rc;
    }
    n = lv->tile_w
            ? TIFFReadEncodedTile(t->tif, index, t->raw, (tmsize_t) want)
            : TIFFReadEncodedStrip(t->tif, index, t->raw, (tmsize_t) want);
    if (n < 0 || (size_t) n < need) {
        return vl_liberr_fail(&t->lerr, "cannot decode a TIFF block",
                              "libtiff error", err);
    }
    for (uint32_t r = 0; r < tile->h; r++) {
        const unsigned char *brow = t->raw + (size_t) (r / lv->ysv) * across
                                                 * bsize;
        unsigned char       *o = tile->data + (size_t) r * tile->w * 3;

        for (uint32_t i = 0; i < tile->w; i++) {
            const unsigned char *blk = brow + (size_t) (i / lv->ysh) * bsize;
            uint32_t rr, gg, bb;
            unsigned y = blk[(r % lv->ysv) * lv->ysh + i % lv->ysh];

            TIFFYCbCrtoRGB(t->ycc, y, (int32_t) blk[bsize - 2],
                           (int32_t) blk[bsize - 1], &rr, &gg, &bb);
            o[i * 3] = (unsigned char) rr;
            o[i * 3 + 1] = (unsigned char) gg;
            o[i * 3 + 2] = (unsigned char) bb;
        }
    }
    return VL_OK;
}

/* Decode stored block `index` of level si (the current directory) with
 * libtiff: its top-left tile->w x tile->h pixels in 8-bit output bands.
 * sbw x srows is the stored block (tile, or strip of full width). */
static int
tiff_decode_libtiff(vl_tiff_t *t, const vl_tiff_level_t *lv,
                    uint32_t index, uint32_t bx, uint32_t by,
                    uint32_t sbw, vl_tile_t *tile, vl_err_t *err)
{
    uint32_t rows = tile->h;
    size_t   want;
    tmsize_t n;
    int      rc;

    /* a whole stored tile whose rows need no conversion: straight into
     * the tile, no copy */
    if (lv->kind == TIFF_KIND_YCBCR) {
        return tiff_decode_ycbcr(t, lv, index, tile, err);
    }
    if (lv->tile_w != 0 && tile->w == lv->tile_w && tile->h == lv->tile_h
        && lv->direct
        && (lv->planar != PLANARCONFIG_SEPARATE || lv->spp == 1)) {
        want = (size_t) tile->w * tile->h * (size_t) lv->bands;
        if ((uint64_t) TIFFTileSize64(t->tif) == (uint64_t) want) {
            n = TIFFReadEncodedTile(t->tif, index, tile->data,
                                    (tmsize_t) want);
            if (n < 0 || (size_t) n < want) {
                return vl_liberr_fail(&t->lerr, "cannot decode a TIFF block",
                                      "libtiff error", err);
            }
            return VL_OK;
        }
    }
    want = lv->raw_bytes;
    if (lv->tile_w) {
        size_t ts = (size_t) TIFFTileSize64(t->tif);

        want = ts > want ? ts : want;
    } else {
        size_t ss = (size_t) TIFFStripSize64(t->tif);

        want = ss > want ? ss : want;
    }
    if (want > 2 * VL_SOURCE_MAX_BLOCK) {
        return vl_err_set(err, VL_EFORMAT,
                          "TIFF blocks larger than 64 MiB are not supported");
    }
    rc = tiff_reserve(&t->raw, &t->raw_cap, want, err);
    if (rc != VL_OK) {
        return rc;
    }
    if (lv->planar == PLANARCONFIG_SEPARATE && lv->spp > 1) {
        size_t bps = lv->bits / 8, plane_row = (size_t) sbw * bps;
        size_t plane_bytes = plane_row * rows;

        rc = tiff_reserve(&t->plane, &t->plane_cap, want, err);
        if (rc != VL_OK) {
            return rc;
        }
        for (uint16_t s = 0; s < lv->spp; s++) {
            uint32_t k = lv->tile_w ? TIFFComputeTile(t->tif, bx, by, 0, s)
                                    : TIFFComputeStrip(t->tif, by, s);

            n = lv->tile_w
                    ? TIFFReadEncodedTile(t->tif, k, t->plane, (tmsize_t) want)
                    : TIFFReadEncodedStrip(t->tif, k, t->plane,
                                           (tmsize_t) want);
            if (n < 0 || (size_t) n < plane_bytes) {
                return vl_liberr_fail(&t->lerr, "cannot decode a TIFF block",
                                      "libtiff error", err);
            }
            for (uint32_t r = 0; r < rows; r++) {
                const unsigned char *src = t->plane + r * plane_row;
                unsigned char       *dst = t->raw + r * lv->row_bytes;

                for (uint32_t i = 0; i < tile->w; i++) {
                    memcpy(dst + ((size_t) i * lv->spp + s) * bps,
                           src + (size_t) i * bps, bps);
                }
            }
        }
    } else {
        n = lv->tile_w
                ? TIFFReadEncodedTile(t->tif, index, t->raw, (tmsize_t) want)
                : TIFFReadEncodedStrip(t->tif, index, t->raw,
                                       (tmsize_t) want);
        if (n < 0 || (size_t) n < lv->row_bytes * rows) {
            return vl_liberr_fail(&t->lerr, "cannot decode a TIFF block",
                                  "libtiff error", err);
        }
    }
    for (uint32_t r = 0; r < rows; r++) {
        if (tile->depth == 2) {         /* the 16-bit path: tiff_reads16 */
            tiff_convert_row16(lv, t->raw + r * lv->row_bytes,
                               (uint16_t *) (void *) tile->data
                                   + (size_t) r * tile->w * lv->bands,
                               tile->w);
            continue;
        }
        tiff_convert_row(t->tif, lv, t->raw + r * lv->row_bytes,
                         tile->data + (size_t) r * tile->w * lv->bands,
                         tile->w);
    }
    return VL_OK;
}

/* A scaled block whose stored part (ew x eh) is not a multiple of the
 * scale: redo its last column / row from an unscaled decode. */
static int
tiff_fix_edges(vl_tiff_t *t, const vl_tiff_level_t *lv, uint32_t index,
               uint32_t scale, uint32_t ew, uint32_t eh, vl_tile_t *tile,
               vl_err_t *err)
{
    vl_tile_t *full;
    int        rc;

    if (!vl_dct_ragged(ew, eh, scale)) {
        return VL_OK;
    }
    if ((full = vl_tile_new(ew, eh, lv->bands, err)) == NULL) {
        return err != NULL && err->code != VL_OK ? (int) err->code
                                                 : VL_ENOMEM;
    }
    rc = tiff_decode_jpeg(t, lv, index, 1, full, err);
    if (rc == VL_OK) {
        vl_dct_fix_edges(tile, full, scale);
    }
    vl_tile_release(full);
    return rc;
}

/* Stored block (col, row) of level g: its stored origin and libtiff
 * index (tile or strip of the current directory). */
static uint32_t
tiff_index(const vl_tiff_t *t, const vl_tiff_level_t *lv, uint32_t col,
           uint32_t row, uint32_t *bx, uint32_t *by)
{
    *bx = lv->tile_w ? col * lv->tile_w : 0;
    *by = row * (lv->tile_w ? lv->tile_h : lv->rows_per_strip);
    return lv->tile_w ? TIFFComputeTile(t->tif, *bx, *by, 0, 0)
                      : TIFFComputeStrip(t->tif, *by, 0);
}

/* Decode the missing blocks of box (walk->level, the current directory)
 * one by one: each is a whole stored tile or strip, DCT-scaled on a
 * virtual level. */
static int
tiff_grid_decode(vl_grid_walk_t *walk, const vl_rect_t *box, vl_err_t *err)
{
    vl_source_t           *src = walk->src;
    vl_tiff_t             *t = src->priv;
    const vl_tiff_level_t *lv = &t->lv[t->sidx[walk->level]];
    uint32_t               scale = walk->lv->shrink > 1 ? walk->lv->shrink
                                                        : 1;
    int                    rc;

    VL_ASSERT(lv->fastjpeg || scale == 1);
    VL_ASSERT(walk->out->depth != 2 || tiff_reads16(lv));
    for (uint32_t row = box->y; row < box->y + box->h; row++) {
        for (uint32_t col = box->x; col < box->x + box->w; col++) {
            uint32_t   index, bx, by;
            vl_rect_t  b;
            vl_tile_t *tile;

            if (!vl_grid_missing(walk, col, row)) {
                continue;
            }
            /* REQUEST_TIMEOUT, a client gone: between stored tiles */
            if ((rc = vl_deadline_check(err)) != VL_OK) {
                return rc;
            }
            vl_grid_block(walk, col, row, &b);
            index = tiff_index(t, lv, col, row, &bx, &by);
            if ((tile = vl_tile_new_depth(b.w, b.h, lv->bands,
                                          walk->out->depth == 2 ? 2 : 1,
                                          err)) == NULL) {
                return err != NULL && err->code != VL_OK ? (int) err->code
                                                         : VL_ENOMEM;
            }
            vl_liberr_clear(&t->lerr);
            rc = lv->fastjpeg
                     ? tiff_decode_jpeg(t, lv, index, scale, tile, err)
                     : tiff_decode_libtiff(t, lv, index, bx, by,
                                           lv->tile_w ? lv->tile_w
                                                      : lv->width,
                                           tile, err);
            if (rc == VL_OK && scale > 1) {
                uint32_t sbw = lv->tile_w ? lv->tile_w : lv->width;
                uint32_t sbh = lv->tile_w ? lv->tile_h : lv->rows_per_strip;

                rc = tiff_fix_edges(t, lv, index, scale,
                                    lv->width - bx < sbw ? lv->width - bx
                                                         : sbw,
                                    lv->height - by < sbh ? lv->height - by
                                                          : sbh,
                                    tile, err);
            }
            if (rc == VL_OK) {
                vl_grid_put(walk, col, row, tile);
            }
            vl_tile_release(tile);
            if (rc != VL_OK) {
                return rc;
            }
        }
    }
    return VL_OK;
}

/* Huge strips: row by row, no caching. */
static int
tiff_read_scanlines(vl_tiff_t *t, const vl_tiff_level_t *lv,
                    const vl_rect_t *r, vl_image_t *out, vl_err_t *err)
{
    size_t    sl = (size_t) TIFFScanlineSize64(t->tif);
    vl_rect_t line = VL_RECT(0, 0, lv->width, 1);
    int       rc;

    rc = tiff_reserve(&t->raw, &t->raw_cap,
                      sl > lv->row_bytes ? sl : lv->row_bytes, err);
    if (rc == VL_OK) {
        rc = tiff_reserve(&t->line, &t->line_cap,
                          (size_t) lv->width * lv->bands
                              * (size_t) (out->depth == 2 ? 2 : 1), err);
    }
    if (rc != VL_OK) {
        return rc;
    }
    vl_liberr_clear(&t->lerr);
    for (line.y = r->y; line.y < r->y + r->h; line.y++) {
        if ((line.y & 63) == 0 && (rc = vl_deadline_check(err)) != VL_OK) {
            return rc;
        }
        if (TIFFReadScanline(t->tif, t->raw, line.y, 0) < 0) {
            return vl_liberr_fail(&t->lerr, "cannot decode a TIFF row",
                                  "libtiff error", err);
        }
        if (out->depth == 2) {          /* the 16-bit path */
            tiff_convert_row16(lv, t->raw, (uint16_t *) (void *) t->line,
                               lv->width);
        } else {
            tiff_convert_row(t->tif, lv, t->raw, t->line, lv->width);
        }
        vl_image_copy_block(t->line, lv->bands, &line, r, out);
    }
    return VL_OK;
}

/* Block (col, row), only partly inside the request and not in the tile
 * cache: only the part inside is decoded, straight into the request, and
 * not cached. Declined when the block is not a JPEG tile, or is a scaled
 * edge block that needs tiff_fix_edges. */
static int
tiff_grid_partial(vl_grid_walk_t *walk, uint32_t col, uint32_t row,
                  vl_err_t *err)
{
    vl_tiff_t             *t = walk->src->priv;
    const vl_tiff_level_t *lv = &t->lv[t->sidx[walk->level]];
    uint32_t               s = walk->lv->shrink > 1 ? walk->lv->shrink : 1;
    uint32_t               sbx, sby, index;
    vl_rect_t              b, part;
    unsigned char         *at;

    if (!lv->fastjpeg || lv->tile_w == 0) {
        return VL_GRID_DECLINED;
    }
    index = tiff_index(t, lv, col, row, &sbx, &sby);
    if (s > 1 && ((lv->width - sbx < lv->tile_w
                   && (lv->width - sbx) % s != 0)
                  || (lv->height - sby < lv->tile_h
                      && (lv->height - sby) % s != 0))) {
        return VL_GRID_DECLINED;
    }
    vl_grid_block(walk, col, row, &b);
    at = vl_grid_part(walk, &b, &part);
    vl_liberr_clear(&t->lerr);
    /* the part, in the block's own pixels */
    part.x -= b.x;
    part.y -= b.y;
    return tiff_decode_window(t, lv, index, s, &part, at, walk->out->stride,
                              err);
}

/* Blocks in level coordinates: stored tiles or strips over the scale. */
static int
tiff_grid(vl_source_t *src, uint32_t level, vl_grid_t *grid, vl_err_t *err)
{
    const vl_tiff_t       *t = src->priv;
    const vl_level_t      *gl = &src->info.geom.levels[level];
    const vl_tiff_level_t *lv = &t->lv[t->sidx[level]];
    uint32_t               s = gl->shrink > 1 ? gl->shrink : 1;

    (void) err;
    if (lv->tile_w != 0) {
        grid->bw = lv->tile_w / s;
        grid->bh = lv->tile_h / s;
    } else {
        grid->bw = gl->width;
        grid->bh = lv->rows_per_strip >= lv->height ? gl->height
                                                    : lv->rows_per_strip / s;
    }
    grid->max_run = 0;
    return VL_OK;
}

static const vl_grid_ops_t tiff_grid_ops = {
    tiff_grid,
    tiff_grid_decode,
    tiff_grid_partial,
    0,
};

static int
tiff_read(vl_source_t *src, uint32_t level, const vl_rect_t *r,
          vl_image_t *out, vl_err_t *err)
{
    vl_tiff_t             *t = src->priv;
    const vl_tiff_level_t *lv = &t->lv[t->sidx[level]];
    int                    rc;

    rc = tiff_set_level(t, t->sidx[level], err);
    if (rc != VL_OK) {
        return rc;
    }
    if (lv->scanline) {
        return tiff_read_scanlines(t, lv, r, out, err);
    }
    return vl_grid_read(src, &tiff_grid_ops, level, r, out, err);
}

/* JPEGTables of the current directory without their EOI, or NULL. */
static const unsigned char *
tiff_tables(vl_tiff_t *t, size_t *len)
{
    uint32_t             tlen = 0;
    const unsigned char *tables = NULL;

    if (TIFFGetField(t->tif, TIFFTAG_JPEGTABLES, &tlen, &tables)
        && tables != NULL && tlen >= 4 && tables[0] == 0xff
        && tables[1] == 0xd8 && tables[tlen - 2] == 0xff
        && tables[tlen - 1] == 0xd9) {
        *len = tlen - 2;
        return tables;
    }
    *len = 0;
    return NULL;
}

/* Fill the tile map of stored level si (once): offsets, byte counts and
 * tables. A level too large to map is marked and read through libtiff. */
static int
tiff_rawmap_load(vl_tiff_t *t, uint32_t si, vl_err_t *err)
{
    vl_tiff_rawmap_t      *m = &t->rawmap[si];
    const vl_tiff_level_t *lv = &t->lv[si];
    const unsigned char   *tables;
    size_t                 tlen;
    uint32_t               down;
    int                    rc;

    rc = tiff_set_level(t, si, err);
    if (rc != VL_OK) {
        return rc;
    }
    m->across = (uint32_t) (((uint64_t) lv->width + lv->tile_w - 1)
                            / lv->tile_w);
    down = (uint32_t) (((uint64_t) lv->height + lv->tile_h - 1)
                       / lv->tile_h);
    if ((uint64_t) m->across * down > VL_TIFF_RAWMAP_MAX_TILES
        || (uint64_t) m->across * down > TIFFNumberOfTiles(t->tif)) {
        m->state = -1;
        return VL_OK;
    }
    m->ntiles = m->across * down;
    tables = tiff_tables(t, &tlen);
    m->off = malloc((size_t) m->ntiles * sizeof(m->off[0]));
    m->len = malloc((size_t) m->ntiles * sizeof(m->len[0]));
    m->tables = tlen != 0 ? malloc(tlen) : NULL;
    if (m->off == NULL || m->len == NULL || (tlen != 0 && m->tables == NULL)) {
        free(m->off);
        free(m->len);
        free(m->tables);
        memset(m, 0, sizeof(*m));
        return vl_err_set(err, VL_ENOMEM, "out of memory reading a tile");
    }
    if (tlen != 0) {
        memcpy(m->tables, tables, tlen);
    }
    m->tables_len = tlen;
    for (uint32_t i = 0; i < m->ntiles; i++) {
        m->off[i] = TIFFGetStrileOffset(t->tif, i);
        m->len[i] = TIFFGetStrileByteCount(t->tif, i);
    }
    m->state = 1;
    return VL_OK;
}

/* One tile through libtiff (levels without a tile map). */
static int
tiff_read_raw_libtiff(vl_tiff_t *t, const vl_tiff_level_t *lv,
                      uint32_t si, uint32_t col, uint32_t row,
                      vl_pool_t *pool, unsigned char **data, size_t *len,
                      vl_err_t *err)
{
    const unsigned char *tables;
    uint32_t             index;
    uint64_t             bytes;
    size_t               skip, total;
    unsigned char       *buf;
    tmsize_t             n;
    int                  rc;

    rc = tiff_set_level(t, si, err);
    if (rc != VL_OK) {
        return rc;
    }
    vl_liberr_clear(&t->lerr);
    index = TIFFComputeTile(t->tif, col * lv->tile_w, row * lv->tile_h, 0, 0);
    bytes = TIFFGetStrileByteCount(t->tif, index);
    if (bytes < 4 || bytes > VL_SOURCE_MAX_BLOCK) {
        return vl_err_set(err, VL_ECODEC, "invalid JPEG tile size");
    }
    tables = tiff_tables(t, &skip);
    buf = vl_pool_alloc(pool, VL_SOURCE_JPEG_HEADROOM + skip + (size_t) bytes);
    if (buf == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory reading a tile");
    }
    buf += VL_SOURCE_JPEG_HEADROOM;
    if (skip != 0) {
        memcpy(buf, tables, skip);
    }
    n = TIFFReadRawTile(t->tif, index, buf + skip, (tmsize_t) bytes);
    if (n < 4 || buf[skip] != 0xff || buf[skip + 1] != 0xd8) {
        return vl_liberr_fail(&t->lerr, "cannot read a JPEG tile",
                              "libtiff error", err);
    }
    total = skip + (size_t) n;
    if (skip != 0) {
        /* drop the tile's SOI: the tables' SOI starts the stream */
        memmove(buf + skip, buf + skip + 2, (size_t) n - 2);
        total -= 2;
    }
    *data = buf;
    *len = total;
    return VL_OK;
}

/*
 * The stored bytes of one JPEG tile as a complete stream: the level's
 * JPEGTables (without EOI) followed by the tile without its SOI. The tile
 * map makes this one pread, with no libtiff directory switch; the tile is
 * read so that its SOI falls on the last two bytes of the tables' place,
 * checked, then covered by the tables.
 */
static int
tiff_read_jpeg_tile(vl_source_t *src, vl_pool_t *pool, uint32_t level,
                    uint32_t col, uint32_t row, unsigned char **data,
                    size_t *len, vl_err_t *err)
{
    vl_tiff_t             *t = src->priv;
    uint32_t               si = t->sidx[level];
    const vl_tiff_level_t *lv = &t->lv[si];
    vl_tiff_rawmap_t      *m = &t->rawmap[si];
    uint32_t               index;
    uint64_t               bytes;
    size_t                 skip, lead;
    unsigned char         *buf;
    ssize_t                n;
    int                    rc;

    /* only what the decode path hands to jpegdec as it is (fastjpeg): a
     * MINISWHITE, Lab or CMYK stream sent unconverted would not be the
     * image the pipeline renders */
    if (lv->compression != COMPRESSION_JPEG || !lv->fastjpeg || lv->tile_w == 0
        || (lv->planar == PLANARCONFIG_SEPARATE && lv->spp > 1)
        || src->info.geom.levels[level].shrink > 1)
    {
        return vl_err_set(err, VL_EUNSUPP, "level %u is not tiled JPEG",
                          level);
    }
    if (m->state == 0) {
        rc = tiff_rawmap_load(t, si, err);
        if (rc != VL_OK) {
            return rc;
        }
    }
    if (m->state < 0) {
        return tiff_read_raw_libtiff(t, lv, si, col, row, pool, data, len,
                                     err);
    }
    index = row * m->across + col;
    if (col >= m->across || index >= m->ntiles) {
        return vl_err_set(err, VL_ECODEC, "invalid JPEG tile size");
    }
    bytes = m->len[index];
    if (bytes < 4 || bytes > VL_SOURCE_MAX_BLOCK
        || m->off[index] > (uint64_t) INT64_MAX - bytes) {
        return vl_err_set(err, VL_ECODEC, "invalid JPEG tile size");
    }
    skip = m->tables_len;
    lead = skip != 0 ? skip - 2 : 0;      /* where the tile's SOI goes */
    buf = vl_pool_alloc(pool, VL_SOURCE_JPEG_HEADROOM + lead + (size_t) bytes);
    if (buf == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory reading a tile");
    }
    buf += VL_SOURCE_JPEG_HEADROOM;
    do {
        n = pread(TIFFFileno(t->tif), buf + lead, (size_t) bytes,
                  (off_t) m->off[index]);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return vl_err_set(err, VL_EIO, "cannot read a JPEG tile");
    }
    if ((uint64_t) n != bytes || buf[lead] != 0xff
        || buf[lead + 1] != 0xd8) {
        return vl_err_set(err, VL_ECODEC,
                          "cannot read a JPEG tile: truncated or not JPEG");
    }
    if (skip != 0) {
        memcpy(buf, m->tables, skip);
    }
    *data = buf;
    *len = lead + (size_t) bytes;
    return VL_OK;
}

static void
tiff_free(vl_tiff_t *t)
{
    if (t == NULL) {
        return;
    }
    if (t->tif != NULL) {
        TIFFClose(t->tif);
    }
    for (uint32_t i = 0; i < VL_MAX_LEVELS; i++) {
        free(t->rawmap[i].off);
        free(t->rawmap[i].len);
        free(t->rawmap[i].tables);
    }
    free(t->raw);
    free(t->plane);
    free(t->line);
    vl_jpegdec_free(t->jdec);
    free(t->ycc);
    for (uint32_t i = 0; i < t->nlevels; i++) {
        vl_cms_release(t->lv[i].xf);
    }
    free(t->icc);
    free(t->rights);
    for (int i = 0; i < TIFF_TEXTS; i++) {
        free(t->text[i]);
    }
    free(t);
}

static void
tiff_close(vl_source_t *src)
{
    tiff_free(src->priv);
    src->priv = NULL;
}

/* The text tags of the current directory, cleaned (meta.h), into
 * t->text and the handle's info. */
static int
tiff_texts(vl_source_t *src, vl_tiff_t *t, vl_err_t *err)
{
    static const uint32_t tags[TIFF_TEXTS] = {
        TIFFTAG_DOCUMENTNAME, TIFFTAG_IMAGEDESCRIPTION, TIFFTAG_ARTIST,
        TIFFTAG_COPYRIGHT,    TIFFTAG_DATETIME,
    };
    const char **info[TIFF_TEXTS] = {
        &src->info.title,     &src->info.description, &src->info.creator,
        &src->info.copyright, &src->info.date,
    };
    char buf[VL_META_MAX];

    for (int i = 0; i < TIFF_TEXTS; i++) {
        const char *s = NULL;
        size_t      len;

        if (!TIFFGetField(t->tif, tags[i], &s) || s == NULL) {
            continue;
        }
        /* what is past VL_META_IN_MAX is ignored: no need to measure it */
        len = strnlen(s, VL_META_IN_MAX + 1);
        if (vl_meta_text(s, len, buf, sizeof(buf)) == 0) {
            continue;
        }
        if ((t->text[i] = strdup(buf)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory opening a TIFF");
        }
        *info[i] = t->text[i];
    }
    return VL_OK;
}

/* ICC profile, rights and text tags of the page (the current directory:
 * the page's first IFD). */
static int
tiff_metadata(vl_source_t *src, vl_tiff_t *t, vl_err_t *err)
{
    uint32_t    icc_len = 0;
    const void *icc = NULL;
    const char *copy = NULL;

    if (TIFFGetField(t->tif, TIFFTAG_ICCPROFILE, &icc_len, &icc)
        && icc != NULL && icc_len > 0) {
        t->icc = malloc(icc_len);
        if (t->icc == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory opening a TIFF");
        }
        memcpy(t->icc, icc, icc_len);
        t->icc_len = icc_len;
        src->info.icc = t->icc;
        src->info.icc_len = icc_len;
    }
    if (TIFFGetField(t->tif, TIFFTAG_COPYRIGHT, &copy) && copy != NULL
        && vl_meta_is_uri(copy))
    {
        t->rights = strdup(copy);
        if (t->rights == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory opening a TIFF");
        }
        src->info.rights = t->rights;
    }
    return tiff_texts(src, t, err);
}

static void
tiff_add_level(vl_source_t *src, vl_tiff_t *t, const vl_tiff_level_t *lv)
{
    vl_level_t *g = &src->info.geom.levels[t->nlevels];

    t->lv[t->nlevels] = *lv;
    g->width = lv->width;
    g->height = lv->height;
    g->tile_w = lv->tile_w;
    g->tile_h = lv->tile_h;
    g->base = t->nlevels;
    g->shrink = 1;
    t->sidx[t->nlevels] = t->nlevels;
    src->notes[t->nlevels].compression =
        tiff_compression_name(lv->compression);
    src->notes[t->nlevels].rows_per_strip = lv->tile_w ? 0
                                                       : lv->rows_per_strip;
    t->nlevels++;
}

static int
tiff_is_mask(TIFF *tif)
{
    uint32_t sub = 0;

    return TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &sub)
           && (sub & FILETYPE_MASK) != 0;
}

static int
tiff_has_subifds(TIFF *tif)
{
    uint16_t  nsub = 0;
    uint64_t *subs = NULL;

    return TIFFGetField(tif, TIFFTAG_SUBIFD, &nsub, &subs) && nsub > 0
           && subs != NULL;
}

/* The page being walked by tiff_pages. */
typedef struct {
    vl_tiff_level_t first;    /* its first IFD (width, height at least) */
    vl_tiff_level_t last;     /* its last level so far */
    int             readable; /* first is an image vellum reads */
    int             sub;      /* its pyramid is its SubIFDs */
} vl_tiff_page_t;

typedef enum { TIFF_IFD_SKIP, TIFF_IFD_LEVEL, TIFF_IFD_PAGE } vl_tiff_ifd_t;

/*
 * What a top-level IFD after the first is, given the page before it
 * (`why`: tiff_inspect's verdict on it, lv what it found):
 *  - a mask (SUBFILETYPE mask bit) belongs to no page: skipped;
 *  - the next reduced level of the page (tiff_level_fits: smaller, same
 *    kind of blocks, bands and aspect ratio), when the page's pyramid is
 *    not its SubIFDs and the IFD is not marked a page (SUBFILETYPE page
 *    bit) and has no SubIFDs: a level;
 *  - else a reduced image (SUBFILETYPE reduced bit: thumbnail, label) is
 *    skipped, and so is an image not marked a page, without SubIFDs,
 *    smaller than the page with its aspect ratio (an unmarked thumbnail);
 *  - anything else starts a new page: the same size or larger, another
 *    aspect ratio, marked a page, or holding its own pyramid in SubIFDs.
 */
static vl_tiff_ifd_t
tiff_classify(TIFF *tif, const vl_tiff_page_t *cur, const vl_tiff_level_t *lv,
              const char *why)
{
    uint32_t sub = 0;
    int      marked, own;

    TIFFGetField(tif, TIFFTAG_SUBFILETYPE, &sub);
    if ((sub & FILETYPE_MASK) != 0) {
        return TIFF_IFD_SKIP;
    }
    marked = (sub & FILETYPE_PAGE) != 0;
    own = tiff_has_subifds(tif);
    if (!marked && !own && !cur->sub && cur->readable && why == NULL
        && tiff_level_fits(&cur->first, &cur->last, lv))
    {
        return TIFF_IFD_LEVEL;
    }
    if ((sub & FILETYPE_REDUCEDIMAGE) != 0) {
        return TIFF_IFD_SKIP;
    }
    if (!marked && !own && lv->width <= cur->first.width
        && lv->height <= cur->first.height
        && (lv->width != cur->first.width || lv->height != cur->first.height)
        && tiff_same_aspect(&cur->first, lv))
    {
        return TIFF_IFD_SKIP;
    }
    return TIFF_IFD_PAGE;
}

/* The page's first IFD lv (the current directory) as level 0 of the
 * handle: geometry, bits, compression, metadata. */
static int
tiff_first_level(vl_source_t *src, vl_tiff_t *t, const vl_tiff_level_t *lv,
                 vl_err_t *err)
{
    tiff_add_level(src, t, lv);
    src->info.geom.width = lv->width;
    src->info.geom.height = lv->height;
    src->info.geom.bands = lv->bands;
    src->info.geom.has_alpha = lv->alpha != 0;
    src->info.bits = lv->bits;
    src->info.compression = src->notes[0].compression;
    src->photometric = tiff_photometric_name(lv->photometric);
    return tiff_metadata(src, t, err);
}

/* The SubIFDs of the current directory (level 0) that fit, as levels. */
static void
tiff_sub_levels(vl_source_t *src, vl_tiff_t *t)
{
    uint16_t        nsub = 0;
    uint64_t       *subs = NULL, offs[VL_MAX_LEVELS];
    vl_tiff_level_t lv;

    if (!TIFFGetField(t->tif, TIFFTAG_SUBIFD, &nsub, &subs) || nsub == 0
        || subs == NULL)
    {
        return;
    }
    if (nsub > VL_MAX_LEVELS - 1) {
        nsub = VL_MAX_LEVELS - 1;
    }
    memcpy(offs, subs, nsub * sizeof(offs[0]));
    for (uint16_t i = 0; i < nsub; i++) {
        if (!TIFFSetSubDirectory(t->tif, offs[i])) {
            break;
        }
        if (tiff_is_mask(t->tif) || tiff_inspect(t->tif, &lv)
            || !tiff_level_fits(&t->lv[0], &t->lv[t->nlevels - 1], &lv))
        {
            continue;
        }
        lv.is_sub = 1;
        lv.offset = offs[i];
        tiff_add_level(src, t, &lv);
    }
}

/*
 * Walk the top-level IFDs from IFD0 (the current directory): count the
 * pages (tiff_classify) and take the levels of page src->info.page: its
 * first IFD, then its SubIFDs when it has them, else the top-level levels
 * that follow it. A TIFF without pages is one page whose pyramid is IFD0's
 * SubIFDs or the reduced IFDs after IFD0, as before pages existed.
 */
/* The table of pages (vl_source_page_sizes): a new page of size lv, or
 * (page 0) one more stored level of the last. Out of memory: no table. */
static void
tiff_table_add(vl_source_t *src, const vl_tiff_level_t *lv, int page)
{
    vl_page_size_t *p;

    if (page) {
        if (src->npage_sizes >= VL_PAGE_TABLE_MAX) {
            return;
        }
        if ((src->npage_sizes & (src->npage_sizes - 1)) == 0) {
            /* 0, 1, 2, 4, ...: double */
            size_t cap = src->npage_sizes == 0 ? 1 : 2 * src->npage_sizes;
            vl_page_size_t *grown = realloc(src->page_sizes,
                                            cap * sizeof(*grown));

            if (grown == NULL) {
                free(src->page_sizes);
                src->page_sizes = NULL;
                src->npage_sizes = VL_PAGE_TABLE_MAX;   /* no more */
                return;
            }
            src->page_sizes = grown;
        }
        p = &src->page_sizes[src->npage_sizes++];
        memset(p, 0, sizeof(*p));
        p->width = p->level_w[0] = lv->width;
        p->height = p->level_h[0] = lv->height;
        p->nlevels = 1;
        return;
    }
    if (src->page_sizes == NULL || src->npage_sizes == 0
        || src->npage_sizes > VL_PAGE_TABLE_MAX) {
        return;
    }
    p = &src->page_sizes[src->npage_sizes - 1];
    if (p->nlevels < VL_PAGE_LEVELS) {
        p->level_w[p->nlevels] = lv->width;
        p->level_h[p->nlevels] = lv->height;
        p->nlevels++;
    }
}

static int
tiff_pages(vl_source_t *src, vl_tiff_t *t, vl_err_t *err)
{
    uint32_t        want = src->info.page, pages = 0;
    vl_tiff_page_t  cur;
    vl_tiff_level_t lv;
    const char     *why;
    int             collect = 0, rc;

    memset(&cur, 0, sizeof(cur));
    for (tdir_t d = 0;; d++) {
        vl_tiff_ifd_t kind;

        why = tiff_inspect(t->tif, &lv);
        kind = d == 0 ? TIFF_IFD_PAGE : tiff_classify(t->tif, &cur, &lv, why);
        if (kind != TIFF_IFD_SKIP) {
            tiff_table_add(src, &lv, kind == TIFF_IFD_PAGE);
        }
        if (kind == TIFF_IFD_LEVEL) {
            if (collect && t->nlevels < VL_MAX_LEVELS) {
                lv.index = d;
                tiff_add_level(src, t, &lv);
            }
            cur.last = lv;
        } else if (kind == TIFF_IFD_PAGE) {
            pages++;
            collect = 0;
            cur.first = cur.last = lv;
            cur.readable = why == NULL;
            cur.sub = tiff_has_subifds(t->tif);
            if (pages == want) {
                if (why != NULL) {
                    return vl_err_set(err, VL_EFORMAT, "%s", why);
                }
                lv.index = d;
                if ((rc = tiff_first_level(src, t, &lv, err)) != VL_OK) {
                    return rc;
                }
                collect = !cur.sub;
                if (cur.sub) {
                    /* the SubIFDs leave the top-level chain: back to the
                     * IFD after this one, if there is one */
                    int last = TIFFLastDirectory(t->tif);

                    tiff_sub_levels(src, t);
                    if (last || d + 1 >= VL_TIFF_MAX_IFDS
                        || !TIFFSetDirectory(t->tif, d + 1)) {
                        break;
                    }
                    continue;
                }
            }
        }
        if (d + 1 >= VL_TIFF_MAX_IFDS || !TIFFReadDirectory(t->tif)) {
            break;
        }
    }
    if (pages < want) {
        if (t->lerr.msg[0] != '\0') {
            return vl_liberr_fail(&t->lerr, "cannot read the TIFF directory",
                                  "libtiff error", err);
        }
        return vl_err_set(err, VL_ENOTFOUND, "no such page");
    }
    src->info.pages = pages;
    if (pages <= 1 || src->page_sizes == NULL) {
        /* one page: no table */
        free(src->page_sizes);
        src->page_sizes = NULL;
        src->npage_sizes = 0;
    }
    return VL_OK;
}

/*
 * The transforms of levels that are not grey or RGB: a CMYK level goes to
 * sRGB through the page's ICC profile (naive without a usable one), a Lab
 * level through lcms2's Lab (D50). Their profile is not the output's:
 * info.icc is NULL for them, and info.bits 8, since what they give is
 * 8-bit sRGB (so are float and YCbCr levels).
 */
static int
tiff_colour(vl_source_t *src, vl_tiff_t *t, vl_err_t *err)
{
    const vl_tiff_level_t *first = &t->lv[0];

    if (first->isfloat || first->kind != TIFF_KIND_PLAIN) {
        src->info.bits = 8;
    }
    if (first->kind != TIFF_KIND_CMYK && first->kind != TIFF_KIND_CIELAB
        && first->kind != TIFF_KIND_ICCLAB) {
        return VL_OK;
    }
    src->info.icc = NULL;
    src->info.icc_len = 0;
    for (uint32_t i = 0; i < t->nlevels; i++) {
        vl_tiff_level_t *lv = &t->lv[i];
        vl_err_t         cerr = { 0 };
        int              rc;

        if (lv->kind == TIFF_KIND_CMYK) {
            if (t->icc == NULL || !vl_cms_available()) {
                continue;       /* naive */
            }
            rc = vl_cms_get(t->icc, t->icc_len,
                            lv->bits == 16 ? VL_CMS_CMYK16 : VL_CMS_CMYK8,
                            &lv->xf, &cerr);
            if (rc == VL_ENOMEM) {
                *err = cerr;
                return rc;
            }
            /* an unusable profile was warned about: naive */
        } else if (lv->kind == TIFF_KIND_CIELAB
                   || lv->kind == TIFF_KIND_ICCLAB) {
            rc = vl_cms_get(NULL, 0, VL_CMS_LAB, &lv->xf, &cerr);
            if (rc != VL_OK) {
                *err = cerr;
                return rc;
            }
        }
    }
    return VL_OK;
}

static int
tiff_open(vl_source_t *src, int fd, vl_err_t *err)
{
    vl_tiff_t       *t;
    TIFFOpenOptions *opts;
    unsigned char    scalable[VL_MAX_LEVELS];
    int              rc;

    t = calloc(1, sizeof(*t));
    opts = TIFFOpenOptionsAlloc();
    if (t == NULL || opts == NULL) {
        free(t);
        TIFFOpenOptionsFree(opts);
        close(fd);
        return vl_err_set(err, VL_ENOMEM, "out of memory opening a TIFF");
    }
    t->cur = -1;
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tiff_on_error, t);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tiff_on_warning, t);
    TIFFOpenOptionsSetMaxSingleMemAlloc(opts, (tmsize_t) 256 << 20);
    /* "m": no memory mapping, so a file truncated under us is an error,
     * not a SIGBUS */
    t->tif = TIFFFdOpenExt(fd, "image", "rm", opts);
    TIFFOpenOptionsFree(opts);
    if (t->tif == NULL) {
        close(fd);
        rc = vl_liberr_fail(&t->lerr, "cannot open the TIFF",
                            "libtiff error", err);
        tiff_free(t);
        return rc;
    }
    src->priv = t;

    if ((rc = tiff_pages(src, t, err)) != VL_OK
        || (rc = tiff_colour(src, t, err)) != VL_OK) {
        return rc;
    }
    if (t->lerr.msg[0] != '\0') {
        vl_log(VL_LOG_INFO, NULL, "libtiff while reading levels: %s",
               t->lerr.msg);
        vl_liberr_clear(&t->lerr);
    }
    for (uint32_t si = 0; si < t->nlevels; si++) {
        scalable[si] = (unsigned char) t->lv[si].fastjpeg;
    }
    vl_dct_levels(src, t->nlevels, scalable, t->sidx);
    /* 16-bit reads when every stored level takes them (no virtual level:
     * those are JPEG, 8-bit) */
    src->info.reads16 = src->info.bits == 16
                        && src->info.geom.nlevels == t->nlevels;
    for (uint32_t si = 0; si < t->nlevels; si++) {
        src->info.reads16 &= tiff_reads16(&t->lv[si]);
    }
    t->cur = -1;        /* the directory moved while scanning */
    return VL_OK;
}

/* TIFF or BigTIFF, either byte order. */
int
vl_tiff_is_a(const unsigned char *magic, size_t len)
{
    return len >= 4
           && ((magic[0] == 'I' && magic[1] == 'I'
                && (magic[2] == 42 || magic[2] == 43) && magic[3] == 0)
               || (magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0
                   && (magic[3] == 42 || magic[3] == 43)));
}

const vl_source_ops_t vl_source_tiff_ops = {
    "tiff",
    tiff_open,
    tiff_close,
    tiff_read,
    tiff_read_jpeg_tile,
    NULL,
};
