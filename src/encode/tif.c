/* SPDX-License-Identifier: MIT */
/*
 * tif: the TIFF encoder (libtiff's second user, after source/tiff.c).
 * libtiff writes through TIFFClientOpenExt straight into the request's
 * sink (a seekable view of it: vl_sink_write_at), so the sink's cap holds
 * and its VL_ELIMIT is the status. Rows arrive top to bottom and leave as
 * strips of about 64 KB; 8- or 16-bit (native-endian) samples, grey or
 * RGB, alpha as an unassociated ExtraSample, the ICC profile in
 * TIFFTAG_ICCPROFILE. Compression: TIFF_COMPRESSION (iipsrv's numbers:
 * 0 none, 1 LZW, 2 Deflate, 3 JPEG, 4 WebP, 5 Zstd); JPEG and WebP take
 * TIFF_QUALITY and only 8-bit samples (and WebP 3 or 4 bands, at most
 * 16383 pixels wide; JPEG 65500): other images are written with Deflate
 * instead. libtiff's messages are caught
 * per handle (TIFFOpenOptions), never through the global handlers.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <tiffio.h>

#include "encode/encode_p.h"

#define TIF_STRIP_BYTES 65536
#define TIF_MAX_RPS     16368 /* 16 x 1023: under WebP's 16383 */

typedef struct {
    TIFF          *tif;
    vl_sink_t     *sink;
    size_t         pos;
    vl_err_t      *err;          /* of the current call */
    char           msg[VL_ERR_MSG_MAX]; /* libtiff's first message */
    uint32_t       h, row;
    size_t         rowbytes;
    uint32_t       rps;          /* rows per strip */
    uint32_t       instrip;      /* rows held in strip */
    uint32_t       nstrip;       /* strips written */
    unsigned char *strip;
} tif_state_t;

static int
tif_on_error(TIFF *tif, void *user, const char *module, const char *fmt,
             va_list ap)
{
    tif_state_t *st = user;

    (void) tif;
    (void) module;
    if (st != NULL && st->msg[0] == '\0') {
        vsnprintf(st->msg, sizeof(st->msg), fmt, ap);
    }
    return 1;
}

static int
tif_on_warning(TIFF *tif, void *user, const char *module, const char *fmt,
               va_list ap)
{
    (void) tif;
    (void) user;
    (void) module;
    (void) fmt;
    (void) ap;
    return 1;
}

static tmsize_t
tif_read(thandle_t h, void *buf, tmsize_t size)
{
    tif_state_t *st = (tif_state_t *) h;
    size_t       n = 0;

    if (size <= 0) {
        return 0;
    }
    if (st->pos < st->sink->len) {
        n = st->sink->len - st->pos;
        n = n > (size_t) size ? (size_t) size : n;
        memcpy(buf, st->sink->data + st->pos, n);
        st->pos += n;
    }
    return (tmsize_t) n;
}

static tmsize_t
tif_write(thandle_t h, void *buf, tmsize_t size)
{
    tif_state_t *st = (tif_state_t *) h;

    if (size < 0 || vl_sink_write_at(st->sink, st->pos, buf, (size_t) size,
                                     st->err) != VL_OK) {
        return -1;   /* the sink recorded why (its cap: VL_ELIMIT) */
    }
    st->pos += (size_t) size;
    return size;
}

static toff_t
tif_seek(thandle_t h, toff_t off, int whence)
{
    tif_state_t *st = (tif_state_t *) h;
    toff_t       base = whence == SEEK_CUR ? (toff_t) st->pos
                        : whence == SEEK_END ? (toff_t) st->sink->len : 0;

    st->pos = (size_t) (base + off);
    return (toff_t) st->pos;
}

static int
tif_close(thandle_t h)
{
    (void) h;
    return 0;
}

static toff_t
tif_size(thandle_t h)
{
    return (toff_t) ((tif_state_t *) h)->sink->len;
}

static int
tif_map(thandle_t h, void **base, toff_t *size)
{
    (void) h;
    (void) base;
    (void) size;
    return 0;
}

static void
tif_unmap(thandle_t h, void *base, toff_t size)
{
    (void) h;
    (void) base;
    (void) size;
}

static void
tif_release(void *data)
{
    tif_state_t *st = data;

    if (st->tif != NULL) {
        TIFFCleanup(st->tif);   /* frees without writing anything more */
        st->tif = NULL;
    }
}

/* The first error recorded (the sink's cap) is the status; else libtiff's
 * message. */
static int
tif_failed(tif_state_t *st, const char *what, vl_err_t *err)
{
    tif_release(st);
    if (err != NULL && err->code != VL_OK) {
        return err->code;
    }
    return vl_err_set(err, VL_ECODEC, "tiff encoder: %s%s%s", what,
                      st->msg[0] != '\0' ? ": " : "", st->msg);
}

static uint16_t
tif_codec(int c)
{
    switch (c) {
    case VL_TIFF_LZW: return COMPRESSION_LZW;
    case VL_TIFF_DEFLATE: return COMPRESSION_ADOBE_DEFLATE;
    case VL_TIFF_JPEG: return COMPRESSION_JPEG;
    case VL_TIFF_WEBP: return COMPRESSION_WEBP;
    case VL_TIFF_ZSTD: return COMPRESSION_ZSTD;
    default: return COMPRESSION_NONE;
    }
}

static void *
tif_start(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
          uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err)
{
    tif_state_t     *st;
    TIFFOpenOptions *oo;
    int              bits = opts->bits == 16 ? 16 : 8, ok = 1;
    int              quality;
    uint16_t         comp = tif_codec(opts->tiff_compression);
    size_t           strip_bytes;

    if (bands < 1 || bands > 4) {
        vl_err_set(err, VL_EINTERNAL, "tiff takes 1 to 4 bands");
        return NULL;
    }
    /* what JPEG and WebP in TIFF cannot hold goes out as Deflate (a strip
     * is one JPEG of at most 65500 pixels a side, one WebP of 16383; strips
     * are below both heights, TIF_MAX_RPS) */
    if ((comp == COMPRESSION_JPEG && (bits != 8 || w > 65500))
        || (comp == COMPRESSION_WEBP && (bits != 8 || bands < 3 || w > 16383)))
    {
        comp = COMPRESSION_ADOBE_DEFLATE;
    }
    if (comp != COMPRESSION_NONE && !TIFFIsCODECConfigured(comp)) {
        vl_err_set(err, VL_EUNSUPP,
                   "TIFF_COMPRESSION %d is not built into libtiff",
                   opts->tiff_compression);
        return NULL;
    }
    if ((st = vl_pool_calloc(pool, 1, sizeof(*st))) == NULL
        || vl_pool_cleanup_add(pool, tif_release, st) != 0) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    st->sink = sink;
    st->err = err;
    st->h = h;
    if (vl_size_mul4(w, (size_t) bands, (size_t) bits / 8, 1, &st->rowbytes)
        != 0) {
        vl_err_set(err, VL_ELIMIT, "image too large for tiff");
        return NULL;
    }
    /* strips of ~64 KB, a multiple of 16 rows (JPEG's MCU with 4:2:0) */
    st->rps = (uint32_t) (TIF_STRIP_BYTES / st->rowbytes);
    st->rps = st->rps < 16 ? 16 : st->rps / 16 * 16;
    st->rps = st->rps > TIF_MAX_RPS ? TIF_MAX_RPS : st->rps;
    st->rps = st->rps > h ? h : st->rps;
    if (vl_size_mul(st->rowbytes, st->rps, &strip_bytes) != 0
        || (st->strip = vl_pool_alloc(pool, strip_bytes)) == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }

    if ((oo = TIFFOpenOptionsAlloc()) == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    TIFFOpenOptionsSetErrorHandlerExtR(oo, tif_on_error, st);
    TIFFOpenOptionsSetWarningHandlerExtR(oo, tif_on_warning, st);
    st->tif = TIFFClientOpenExt("response", "w", (thandle_t) st, tif_read,
                                tif_write, tif_seek, tif_close, tif_size,
                                tif_map, tif_unmap, oo);
    TIFFOpenOptionsFree(oo);
    if (st->tif == NULL) {
        tif_failed(st, "cannot start", err);
        return NULL;
    }
    ok &= TIFFSetField(st->tif, TIFFTAG_IMAGEWIDTH, w);
    ok &= TIFFSetField(st->tif, TIFFTAG_IMAGELENGTH, h);
    ok &= TIFFSetField(st->tif, TIFFTAG_BITSPERSAMPLE, bits);
    ok &= TIFFSetField(st->tif, TIFFTAG_SAMPLESPERPIXEL, bands);
    ok &= TIFFSetField(st->tif, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
    ok &= TIFFSetField(st->tif, TIFFTAG_ORIENTATION, ORIENTATION_TOPLEFT);
    ok &= TIFFSetField(st->tif, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_UINT);
    ok &= TIFFSetField(st->tif, TIFFTAG_PHOTOMETRIC,
                       bands >= 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
    if (bands == 2 || bands == 4) {
        uint16_t extra = EXTRASAMPLE_UNASSALPHA;

        ok &= TIFFSetField(st->tif, TIFFTAG_EXTRASAMPLES, 1, &extra);
    }
    ok &= TIFFSetField(st->tif, TIFFTAG_COMPRESSION, comp);
    quality = opts->tiff_quality < 1 ? 1 : opts->tiff_quality > 100 ? 100
              : opts->tiff_quality;
    switch (comp) {
    case COMPRESSION_LZW:
    case COMPRESSION_ADOBE_DEFLATE:
    case COMPRESSION_ZSTD:
        ok &= TIFFSetField(st->tif, TIFFTAG_PREDICTOR, PREDICTOR_HORIZONTAL);
        if (comp == COMPRESSION_ADOBE_DEFLATE) {
            ok &= TIFFSetField(st->tif, TIFFTAG_ZIPQUALITY, 6);
        }
        break;
    case COMPRESSION_JPEG:
        ok &= TIFFSetField(st->tif, TIFFTAG_JPEGQUALITY, quality);
        if (bands == 3) {
            /* YCbCr 4:2:0 inside, RGB in and out */
            ok &= TIFFSetField(st->tif, TIFFTAG_PHOTOMETRIC,
                               PHOTOMETRIC_YCBCR);
            ok &= TIFFSetField(st->tif, TIFFTAG_JPEGCOLORMODE,
                               JPEGCOLORMODE_RGB);
        }
        break;
    case COMPRESSION_WEBP:
        ok &= TIFFSetField(st->tif, TIFFTAG_WEBP_LEVEL, quality);
        break;
    default:
        break;
    }
    ok &= TIFFSetField(st->tif, TIFFTAG_ROWSPERSTRIP, st->rps);
    ok &= TIFFSetField(st->tif, TIFFTAG_SOFTWARE, "vellum");
    if (opts->icc != NULL && opts->icc_len > 0
        && opts->icc_len <= 0x7fffffffu) {
        ok &= TIFFSetField(st->tif, TIFFTAG_ICCPROFILE,
                           (uint32_t) opts->icc_len, opts->icc);
    }
    if (!ok) {
        tif_failed(st, "cannot set the tags", err);
        return NULL;
    }
    return st;
}

static int
tif_flush(tif_state_t *st, vl_err_t *err)
{
    tmsize_t n = (tmsize_t) (st->rowbytes * st->instrip);

    if (st->instrip == 0) {
        return VL_OK;
    }
    if (TIFFWriteEncodedStrip(st->tif, st->nstrip, st->strip, n) < 0) {
        return tif_failed(st, "cannot write a strip", err);
    }
    st->nstrip++;
    st->instrip = 0;
    return VL_OK;
}

static int
tif_rows(void *stv, const unsigned char *rows, uint32_t nrows, size_t stride,
         vl_err_t *err)
{
    tif_state_t *st = stv;
    int          rc;

    if (st->tif == NULL) {
        return vl_err_set(err, VL_ECODEC, "tiff encoder failed");
    }
    st->err = err;
    for (uint32_t i = 0; i < nrows; i++) {
        memcpy(st->strip + (size_t) st->instrip * st->rowbytes,
               rows + (size_t) i * stride, st->rowbytes);
        st->instrip++;
        st->row++;
        if (st->instrip == st->rps || st->row == st->h) {
            if ((rc = tif_flush(st, err)) != VL_OK) {
                return rc;
            }
        }
    }
    return VL_OK;
}

static int
tif_finish(void *stv, vl_err_t *err)
{
    tif_state_t *st = stv;
    int          rc;

    if (st->tif == NULL) {
        return vl_err_set(err, VL_ECODEC, "tiff encoder failed");
    }
    st->err = err;
    if ((rc = tif_flush(st, err)) != VL_OK) {
        return rc;
    }
    if (!TIFFWriteDirectory(st->tif)) {
        return tif_failed(st, "cannot write the directory", err);
    }
    tif_release(st);
    return err != NULL && err->code != VL_OK ? err->code : VL_OK;
}

const vl_encoder_ops_t vl_tif_encoder = {
    tif_start,
    tif_rows,
    tif_finish,
};
