/* SPDX-License-Identifier: MIT */
/*
 * tiffpyr: the pyramid TIFF writer of `vellum convert` (the libtiff side).
 * Levels are successive top-level IFDs, level 0 first, each reduced level
 * marked SubfileType FILETYPE_REDUCEDIMAGE, all tiled alike (what
 * source/tiff.c's tiff_classify takes for levels, and what vips and
 * iipsrv's tools write). libtiff writes one IFD at a time, so level 0 is
 * encoded straight into the output while every reduced level is encoded
 * into its own unlinked temporary TIFF next to it; at the end each is
 * appended to the output by copying its raw tiles (no second encode).
 * Memory: one tile buffer; libtiff's own per-IFD state.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <tiffio.h>

#include "convert/convert_p.h"
#include "core/err.h"
#include "source/liberr.h"

struct vl_tiffpyr_s {
    const vl_convert_geom_t *g;
    TIFF                    *lv[VL_CONVERT_MAX_LEVELS]; /* [0]: the output */
    int            dupfd[VL_CONVERT_MAX_LEVELS]; /* reduced: to read back */
    char          *tmp;                          /* the output's temp name */
    unsigned char *tilebuf;
    size_t         tilelen;
    int            big;
    vl_liberr_t    lerr;
};

static const struct {
    vl_convert_comp_t c;
    uint16_t          tag;
    const char       *name;
} tp_codecs[] = {
    { VL_CONVERT_JPEG, COMPRESSION_JPEG, "jpeg" },
    { VL_CONVERT_DEFLATE, COMPRESSION_ADOBE_DEFLATE, "deflate" },
    { VL_CONVERT_WEBP, COMPRESSION_WEBP, "webp" },
    { VL_CONVERT_ZSTD, COMPRESSION_ZSTD, "zstd" },
    { VL_CONVERT_LZW, COMPRESSION_LZW, "lzw" },
    { VL_CONVERT_NONE, COMPRESSION_NONE, "none" },
};

static uint16_t
tp_tag(vl_convert_comp_t c, const char **name)
{
    for (size_t i = 0; i < sizeof(tp_codecs) / sizeof(tp_codecs[0]); i++) {
        if (tp_codecs[i].c == c) {
            *name = tp_codecs[i].name;
            return tp_codecs[i].tag;
        }
    }
    *name = "?";
    return COMPRESSION_NONE;
}

static int
tp_on_error(TIFF *tif, void *user, const char *module, const char *fmt,
            va_list ap)
{
    (void) tif;
    (void) module;
    vl_liberr_vprintf(&((vl_tiffpyr_t *) user)->lerr, fmt, ap);
    return 1;
}

static int
tp_on_warning(TIFF *tif, void *user, const char *module, const char *fmt,
              va_list ap)
{
    (void) tif;
    (void) user;
    (void) module;
    (void) fmt;
    (void) ap;
    return 1;
}

int
vl_tiffpyr_check(const vl_convert_geom_t *g, vl_err_t *err)
{
    const char *name;
    uint16_t    tag = tp_tag(g->opts->compression, &name);

    if (!TIFFIsCODECConfigured(tag)) {
        return vl_err_set(err, VL_EUNSUPP,
                          "this libtiff is built without %s compression", name);
    }
    if (g->opts->compression == VL_CONVERT_WEBP && g->bands < 3) {
        return vl_err_set(err, VL_EUNSUPP,
                          "webp compression needs RGB or RGBA: use deflate "
                          "or jpeg for a grey image");
    }
    if (g->opts->compression == VL_CONVERT_JPEG && g->opts->lossless) {
        return vl_err_set(err, VL_EUNSUPP,
                          "jpeg compression is never lossless: use deflate, "
                          "zstd, lzw or webp with --lossless");
    }
    return VL_OK;
}

static TIFF *
tp_open_fd(vl_tiffpyr_t *w, int fd, const char *mode)
{
    TIFFOpenOptions *opts = TIFFOpenOptionsAlloc();
    TIFF            *t;

    if (opts == NULL) {
        return NULL;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(opts, tp_on_error, w);
    TIFFOpenOptionsSetWarningHandlerExtR(opts, tp_on_warning, w);
    t = TIFFFdOpenExt(fd, "output", mode, opts);
    TIFFOpenOptionsFree(opts);
    return t;
}

/* The tags of one level's IFD, up to (not including) the pixels. */
static int
tp_set_fields(vl_tiffpyr_t *w, TIFF *t, uint32_t level)
{
    const vl_convert_geom_t *g = w->g;
    const vl_convert_opts_t *o = g->opts;
    const char              *name;
    uint16_t                 comp = tp_tag(o->compression, &name);
    int                      alpha = g->bands == 2 || g->bands == 4;
    int                      ok = 1;
    uint16_t                 photo;

    ok &= TIFFSetField(t, TIFFTAG_IMAGEWIDTH, g->level_w[level]);
    ok &= TIFFSetField(t, TIFFTAG_IMAGELENGTH, g->level_h[level]);
    ok &= TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 8);
    ok &= TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, g->bands);
    ok &= TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
    ok &= TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    ok &= TIFFSetField(t, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    ok &= TIFFSetField(t, TIFFTAG_TILEWIDTH, o->tile);
    ok &= TIFFSetField(t, TIFFTAG_TILELENGTH, o->tile);
    if (level > 0) {
        ok &= TIFFSetField(t, TIFFTAG_SUBFILETYPE, FILETYPE_REDUCEDIMAGE);
    }
    ok &= TIFFSetField(t, TIFFTAG_COMPRESSION, comp);
    /* JPEG of RGB is stored as YCbCr 4:2:0 (as vips does by default): a
     * third of the bytes of RGB at the same quality, and what the stored-
     * tile passthrough and jpegdec read; with alpha, 4 components of RGB */
    photo = g->bands >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK;
    if (comp == COMPRESSION_JPEG && g->bands == 3 && !o->rgb_jpeg) {
        photo = PHOTOMETRIC_YCBCR;
    }
    ok &= TIFFSetField(t, TIFFTAG_PHOTOMETRIC, photo);
    if (alpha) {
        uint16_t extra = EXTRASAMPLE_UNASSALPHA;

        ok &= TIFFSetField(t, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    switch (comp) {
    case COMPRESSION_JPEG:
        ok &= TIFFSetField(t, TIFFTAG_JPEGQUALITY, o->quality);
        if (photo == PHOTOMETRIC_YCBCR) {
            ok &= TIFFSetField(t, TIFFTAG_YCBCRSUBSAMPLING, 2, 2);
            ok &= TIFFSetField(t, TIFFTAG_JPEGCOLORMODE, JPEGCOLORMODE_RGB);
        }
        break;
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_LZW:
    case COMPRESSION_ZSTD:
        ok &= TIFFSetField(t, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        break;
    case COMPRESSION_WEBP:
        ok &= TIFFSetField(t, TIFFTAG_WEBP_LEVEL, o->quality);
        ok &= TIFFSetField(t, TIFFTAG_WEBP_LOSSLESS, o->lossless ? 1 : 0);
        break;
    default:
        break;
    }
    if (g->icc != NULL && g->icc_len > 0 && g->icc_len <= UINT32_MAX) {
        ok &=
            TIFFSetField(t, TIFFTAG_ICCPROFILE, (uint32_t) g->icc_len, g->icc);
    }
    if (level == 0) {
        ok &= TIFFSetField(t, TIFFTAG_SOFTWARE, "vellum " PACKAGE_VERSION);
        if (g->title != NULL) {
            ok &= TIFFSetField(t, TIFFTAG_DOCUMENTNAME, g->title);
        }
        if (g->description != NULL) {
            ok &= TIFFSetField(t, TIFFTAG_IMAGEDESCRIPTION, g->description);
        }
        if (g->creator != NULL) {
            ok &= TIFFSetField(t, TIFFTAG_ARTIST, g->creator);
        }
        if (g->copyright != NULL) {
            ok &= TIFFSetField(t, TIFFTAG_COPYRIGHT, g->copyright);
        }
        if (g->date != NULL) {
            ok &= TIFFSetField(t, TIFFTAG_DATETIME, g->date);
        }
    }
    return ok;
}

static void
tp_free(vl_tiffpyr_t *w)
{
    for (uint32_t k = 0; k < VL_CONVERT_MAX_LEVELS; k++) {
        if (w->lv[k] != NULL) {
            TIFFClose(w->lv[k]);
        }
        if (w->dupfd[k] >= 0) {
            close(w->dupfd[k]);
        }
    }
    free(w->tilebuf);
    free(w->tmp);
    free(w);
}

void
vl_tiffpyr_abort(vl_tiffpyr_t *w)
{
    if (w == NULL) {
        return;
    }
    if (w->tmp != NULL) {
        unlink(w->tmp);
        vl_convert_tmp_release(w->tmp);
    }
    tp_free(w);
}

static vl_tiffpyr_t *
tp_fail(vl_tiffpyr_t *w, int code, const char *msg, vl_err_t *err)
{
    if (code == VL_ECODEC) {
        vl_liberr_fail(&w->lerr, msg, "libtiff error", err);
    } else {
        vl_err_set(err, code, "%s", msg);
    }
    vl_tiffpyr_abort(w);
    return NULL;
}

vl_tiffpyr_t *
vl_tiffpyr_open(const char *path, const vl_convert_geom_t *g, vl_err_t *err)
{
    vl_tiffpyr_t *w = calloc(1, sizeof(*w));
    uint64_t      raw = 0;
    const char   *mode;
    int           fd;

    if (w == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    w->g = g;
    for (uint32_t k = 0; k < VL_CONVERT_MAX_LEVELS; k++) {
        w->dupfd[k] = -1;
    }
    /* classic TIFF offsets end at 4 GiB: BigTIFF when the pixels could
     * come near it (uncompressed size, an eighth of it for JPEG/WebP) */
    for (uint32_t k = 0; k < g->nlevels; k++) {
        raw += (uint64_t) g->level_w[k] * g->level_h[k] * (uint64_t) g->bands;
    }
    if (g->opts->compression == VL_CONVERT_JPEG
        || (g->opts->compression == VL_CONVERT_WEBP && !g->opts->lossless))
    {
        raw /= 8;
    }
    w->big = raw > ((uint64_t) 3 << 30);
    mode = w->big ? "w8" : "w";
    w->tilelen = (size_t) g->opts->tile * g->opts->tile * (size_t) g->bands;
    if ((w->tilebuf = malloc(w->tilelen)) == NULL) {
        return tp_fail(w, VL_ENOMEM, "out of memory", err);
    }
    if ((fd = vl_convert_tmp(path, 1, &w->tmp)) < 0) {
        return tp_fail(w, VL_EIO, "cannot create the output TIFF", err);
    }
    if ((w->lv[0] = tp_open_fd(w, fd, mode)) == NULL) {
        close(fd);
        return tp_fail(w, VL_ECODEC, "cannot create the output TIFF", err);
    }
    if (!tp_set_fields(w, w->lv[0], 0)) {
        return tp_fail(w, VL_ECODEC, "cannot set the TIFF tags", err);
    }
    for (uint32_t k = 1; k < g->nlevels; k++) {
        char *name = NULL;

        /* unlinked at once: nothing is left behind, whatever happens */
        if ((fd = vl_convert_tmp(path, 0, &name)) < 0) {
            return tp_fail(w, VL_EIO, "cannot create a temporary file", err);
        }
        unlink(name);
        free(name);
        if ((w->dupfd[k] = dup(fd)) < 0) {
            close(fd);
            return tp_fail(w, VL_EIO, "cannot create a temporary file", err);
        }
        if ((w->lv[k] = tp_open_fd(w, fd, mode)) == NULL) {
            close(fd);
            return tp_fail(w, VL_ECODEC, "cannot create a temporary TIFF", err);
        }
        if (!tp_set_fields(w, w->lv[k], k)) {
            return tp_fail(w, VL_ECODEC, "cannot set the TIFF tags", err);
        }
    }
    return w;
}

int
vl_tiffpyr_put(vl_tiffpyr_t *w, uint32_t level, uint32_t ty,
               const vl_image_t *band, vl_err_t *err)
{
    uint32_t tile = w->g->opts->tile, lw = w->g->level_w[level];
    size_t   px = (size_t) w->g->bands, rowlen = (size_t) tile * px;
    TIFF    *t = w->lv[level];

    for (uint32_t x0 = 0; x0 < lw; x0 += tile) {
        uint32_t n = lw - x0 < tile ? lw - x0 : tile;

        /* edge tiles are padded by repeating the last column and row: the
         * codec sees no false edge (smaller, cleaner JPEG), the reader
         * never shows the padding */
        for (uint32_t y = 0; y < tile; y++) {
            uint32_t             sy = y < band->h ? y : band->h - 1;
            const unsigned char *s = VL_IMAGE_ROW(band, sy) + x0 * px;
            unsigned char       *d = w->tilebuf + y * rowlen;

            memcpy(d, s, n * px);
            for (uint32_t x = n; x < tile; x++) {
                memcpy(d + x * px, d + (n - 1) * px, px);
            }
        }
        vl_liberr_clear(&w->lerr);
        if (TIFFWriteEncodedTile(t, TIFFComputeTile(t, x0, ty * tile, 0, 0),
                                 w->tilebuf, (tmsize_t) w->tilelen)
            < 0)
        {
            return vl_liberr_fail(&w->lerr, "cannot write a TIFF tile",
                                  "libtiff error", err);
        }
    }
    return VL_OK;
}

/* Append reduced level k (its temporary TIFF, closed and read back) to the
 * output as the next IFD, tile by tile, raw. */
static int
tp_append(vl_tiffpyr_t *w, uint32_t k, vl_err_t *err)
{
    TIFF          *out = w->lv[0], *in;
    unsigned char *buf = NULL;
    size_t         cap = 0;
    uint32_t       count = 0;
    void          *tables = NULL;
    float         *refbw = NULL;
    int            rc = VL_OK;

    vl_liberr_clear(&w->lerr);
    TIFFClose(w->lv[k]); /* writes its IFD; closes the first fd */
    w->lv[k] = NULL;
    if (lseek(w->dupfd[k], 0, SEEK_SET) != 0
        || (in = tp_open_fd(w, w->dupfd[k], "rm")) == NULL)
    {
        return vl_liberr_fail(&w->lerr, "cannot read a temporary TIFF",
                              "libtiff error", err);
    }
    /* "m": read, not mapped, so the copy does not count the whole level
     * into the resident set */
    w->dupfd[k] = -1; /* TIFFClose(in) closes it */
    if (!tp_set_fields(w, out, k)) {
        TIFFClose(in);
        return vl_liberr_fail(&w->lerr, "cannot set the TIFF tags",
                              "libtiff error", err);
    }
    /* what the JPEG codec wrote at its first tile: the shared tables and
     * the YCbCr reference range */
    if (TIFFGetField(in, TIFFTAG_JPEGTABLES, &count, &tables) && count > 0) {
        TIFFSetField(out, TIFFTAG_JPEGTABLES, count, tables);
    }
    if (TIFFGetField(in, TIFFTAG_REFERENCEBLACKWHITE, &refbw) && refbw != NULL)
    {
        TIFFSetField(out, TIFFTAG_REFERENCEBLACKWHITE, refbw);
    }
    for (uint32_t i = 0; i < TIFFNumberOfTiles(in) && rc == VL_OK; i++) {
        uint64_t n = TIFFGetStrileByteCount(in, i);

        if (n > cap) {
            unsigned char *nb = realloc(buf, (size_t) n);

            if (nb == NULL) {
                rc = vl_err_set(err, VL_ENOMEM, "out of memory");
                break;
            }
            buf = nb;
            cap = (size_t) n;
        }
        if (TIFFReadRawTile(in, i, buf, (tmsize_t) n) != (tmsize_t) n
            || TIFFWriteRawTile(out, i, buf, (tmsize_t) n) != (tmsize_t) n)
        {
            rc = vl_liberr_fail(&w->lerr, "cannot copy a TIFF tile",
                                "libtiff error", err);
        }
    }
    free(buf);
    TIFFClose(in);
    if (rc == VL_OK && !TIFFWriteDirectory(out)) {
        rc = vl_liberr_fail(&w->lerr, "cannot write a TIFF directory",
                            "libtiff error", err);
    }
    return rc;
}

int
vl_tiffpyr_finish(vl_tiffpyr_t *w, vl_err_t *err)
{
    const char *path = NULL;
    int         rc = VL_OK;

    vl_liberr_clear(&w->lerr);
    if (!TIFFWriteDirectory(w->lv[0])) {
        rc = vl_liberr_fail(&w->lerr, "cannot write a TIFF directory",
                            "libtiff error", err);
    }
    for (uint32_t k = 1; k < w->g->nlevels && rc == VL_OK; k++) {
        rc = tp_append(w, k, err);
    }
    if (rc == VL_OK) {
        TIFF *out = w->lv[0];

        w->lv[0] = NULL;
        TIFFClose(out);
        if (w->lerr.msg[0] != '\0') {
            rc = vl_liberr_fail(&w->lerr, "cannot write the output TIFF",
                                "libtiff error", err);
        }
    }
    path = w->g->opts->out_tif;
    if (rc == VL_OK && rename(w->tmp, path) != 0) {
        rc = vl_err_set(err, VL_EIO, "cannot rename the output TIFF: %s",
                        strerror(errno));
    }
    if (rc != VL_OK) {
        vl_tiffpyr_abort(w);
        return rc;
    }
    vl_convert_tmp_release(w->tmp);
    tp_free(w);
    return VL_OK;
}
