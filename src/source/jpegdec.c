/* SPDX-License-Identifier: MIT */
/*
 * jpegdec: TIFF JPEG tiles decoded with libjpeg(-turbo) directly: the
 * level's JPEGTables stream primes the decompressor, then the tile's own
 * stream is decoded, DCT-scaled when asked, into the caller's rows: whole,
 * or only a window (columns cropped, rows above skipped, decoding stopped
 * after the last). libjpeg errors longjmp back here and become one
 * VL_ECODEC message; warnings are dropped (as libtiff's codec does). One
 * decompressor per handle, reused across tiles; single-threaded.
 */
#include "config.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

#include "core/str.h"
#include "source/jpegdec.h"
#include "source/liberr.h"

struct vl_jpegdec_s {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr         jerr;
    jmp_buf                       jmp;
    vl_liberr_t                   lerr;       /* libjpeg's message */
    int                           live;       /* cinfo created */
    unsigned char                *row;        /* scratch for cropped rows */
    size_t                        row_cap;
};

static void
jpegdec_error_exit(j_common_ptr cinfo)
{
    vl_jpegdec_t *d = (vl_jpegdec_t *) cinfo->client_data;
    char          buf[JMSG_LENGTH_MAX];

    (*cinfo->err->format_message)(cinfo, buf);
    vl_liberr_put(&d->lerr, buf);
    longjmp(d->jmp, 1);
}

static void
jpegdec_output_message(j_common_ptr cinfo)
{
    (void) cinfo;
}

/* Create d's decompressor: 0, or -1 when libjpeg ran out of memory. */
static int
jpegdec_create(vl_jpegdec_t *d)
{
    if (setjmp(d->jmp) != 0) {
        return -1;
    }
    jpeg_create_decompress(&d->cinfo);
    return 0;
}

vl_jpegdec_t *
vl_jpegdec_new(void)
{
    vl_jpegdec_t *d = calloc(1, sizeof(*d));

    if (d == NULL) {
        return NULL;
    }
    d->cinfo.err = jpeg_std_error(&d->jerr);
    d->jerr.error_exit = jpegdec_error_exit;
    d->jerr.output_message = jpegdec_output_message;
    d->cinfo.client_data = d;
    if (jpegdec_create(d) != 0) {
        free(d);
        return NULL;
    }
    d->live = 1;
    return d;
}

void
vl_jpegdec_free(vl_jpegdec_t *d)
{
    if (d == NULL) {
        return;
    }
    if (d->live) {
        jpeg_destroy_decompress(&d->cinfo);
    }
    free(d->row);
    free(d);
}

/* Rows of one iMCU row of the output, for whole-row skips. */
static JDIMENSION
jpegdec_imcu_rows(j_decompress_ptr cinfo)
{
#if JPEG_LIB_VERSION >= 70
    return (JDIMENSION) (cinfo->max_v_samp_factor
                         * cinfo->min_DCT_v_scaled_size);
#else
    return (JDIMENSION) (cinfo->max_v_samp_factor
                         * cinfo->min_DCT_scaled_size);
#endif
}

/* Make d->row hold `need` bytes. */
static int
jpegdec_scratch(vl_jpegdec_t *d, size_t need, vl_err_t *err)
{
    unsigned char *p;

    if (d->row_cap >= need) {
        return VL_OK;
    }
    if ((p = realloc(d->row, need)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory decoding a tile");
    }
    d->row = p;
    d->row_cap = need;
    return VL_OK;
}

/* Narrow the decode to the iMCU columns around [wx, wx + ww), keeping one
 * pixel of margin on each inner side: a crop edge is upsampled as an
 * image edge, the margin keeps that column out of the window. Returns the
 * window's column in the cropped rows. */
static JDIMENSION
jpegdec_crop(j_decompress_ptr cinfo, uint32_t wx, uint32_t ww)
{
    JDIMENSION cx, cend, cw;

    if (wx == 0 && ww == cinfo->output_width) {
        return 0;
    }
    cx = wx > 0 ? wx - 1 : 0;
    cend = wx + ww + 1 < cinfo->output_width ? wx + ww + 1
                                             : cinfo->output_width;
    cw = cend - cx;
    jpeg_crop_scanline(cinfo, &cx, &cw);
    return wx - cx;
}

/* Skip whole iMCU rows before row wy, one iMCU row of context short, so
 * the rows read next are upsampled exactly as in a full decode. */
static int
jpegdec_skip(j_decompress_ptr cinfo, uint32_t wy)
{
    JDIMENSION imcu = jpegdec_imcu_rows(cinfo), skip;

    if (imcu == 0 || wy < 2 * imcu) {
        return 0;
    }
    skip = (wy / imcu - 1) * imcu;
    return jpeg_skip_scanlines(cinfo, skip) == skip ? 0 : -1;
}

/* The body of vl_jpegdec_window, between setjmp and cleanup. Returns
 * VL_OK or a status after setting err. */
static int
jpegdec_run(vl_jpegdec_t *d, const unsigned char *tables,
            size_t tables_len, const unsigned char *data, size_t len,
            unsigned scale, int ycbcr, int bands, const vl_rect_t *win,
            unsigned char *out, size_t stride, vl_err_t *err)
{
    j_decompress_ptr cinfo = &d->cinfo;
    uint32_t         wx = win->x, wy = win->y, ww = win->w, wh = win->h;
    size_t           row_bytes, need;
    JDIMENSION       col;
    int              direct, rc;

    if (tables != NULL && tables_len > 0) {
        jpeg_mem_src(cinfo, tables, (unsigned long) tables_len);
        if (jpeg_read_header(cinfo, FALSE) != JPEG_HEADER_TABLES_ONLY) {
            jpeg_abort_decompress(cinfo);
            return vl_err_set(err, VL_ECODEC, "invalid JPEGTables");
        }
    }
    jpeg_mem_src(cinfo, data, (unsigned long) len);
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        jpeg_abort_decompress(cinfo);
        return vl_err_set(err, VL_ECODEC, "a JPEG tile has no image");
    }
    if (cinfo->num_components != bands
        || (ycbcr && cinfo->num_components != 3)) {
        jpeg_abort_decompress(cinfo);
        return vl_err_set(err, VL_ECODEC,
                          "a JPEG tile has %d components, expected %d",
                          cinfo->num_components, bands);
    }
    /* the colour transform is the TIFF's business, as in libtiff */
    if (ycbcr) {
        cinfo->jpeg_color_space = JCS_YCbCr;
        cinfo->out_color_space = JCS_RGB;
    } else {
        cinfo->jpeg_color_space = JCS_UNKNOWN;
        cinfo->out_color_space = JCS_UNKNOWN;
    }
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->scale_num = 1;
    cinfo->scale_denom = scale;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_width < wx || cinfo->output_width - wx < ww
        || cinfo->output_height < wy || cinfo->output_height - wy < wh
        || cinfo->output_components != bands) {
        jpeg_abort_decompress(cinfo);
        return vl_err_set(err, VL_ECODEC,
                          "a JPEG tile is smaller than the TIFF says");
    }
    col = jpegdec_crop(cinfo, wx, ww);
    if (jpegdec_skip(cinfo, wy) != 0) {
        jpeg_abort_decompress(cinfo);
        return vl_err_set(err, VL_ECODEC, "a JPEG tile ended early");
    }
    row_bytes = (size_t) ww * (size_t) bands;
    direct = col == 0 && wy == 0 && cinfo->output_width == ww;
    if (!direct) {
        if (vl_size_mul4(cinfo->output_width, (size_t) bands,
                         (size_t) cinfo->rec_outbuf_height, 1, &need) != 0) {
            jpeg_abort_decompress(cinfo);
            return vl_err_set(err, VL_ECODEC, "JPEG tile too large");
        }
        if ((rc = jpegdec_scratch(d, need, err)) != VL_OK) {
            jpeg_abort_decompress(cinfo);
            return rc;
        }
    }
    while (cinfo->output_scanline < wy + wh) {
        JSAMPROW   rows[16];
        JDIMENSION want = wy + wh - cinfo->output_scanline, got;
        uint32_t   y0 = cinfo->output_scanline;

        if (want > (JDIMENSION) cinfo->rec_outbuf_height) {
            want = (JDIMENSION) cinfo->rec_outbuf_height;
        }
        if (want > 16) {
            want = 16;
        }
        for (JDIMENSION i = 0; i < want; i++) {
            rows[i] = direct ? out + (size_t) (y0 + i) * stride
                             : d->row + (size_t) i * cinfo->output_width
                                            * (size_t) bands;
        }
        got = jpeg_read_scanlines(cinfo, rows, want);
        if (got == 0) {
            jpeg_abort_decompress(cinfo);
            return vl_err_set(err, VL_ECODEC, "a JPEG tile ended early");
        }
        for (JDIMENSION i = 0; !direct && i < got; i++) {
            if (y0 + i >= wy) {
                memcpy(out + (size_t) (y0 + i - wy) * stride,
                       rows[i] + (size_t) col * (size_t) bands, row_bytes);
            }
        }
    }
    if (cinfo->output_scanline == cinfo->output_height) {
        jpeg_finish_decompress(cinfo);
    } else {
        jpeg_abort_decompress(cinfo);
    }
    return VL_OK;
}

int
vl_jpegdec_window(vl_jpegdec_t *d, const unsigned char *tables,
                  size_t tables_len, const unsigned char *data, size_t len,
                  unsigned scale, int ycbcr, int bands, const vl_rect_t *win,
                  unsigned char *out, size_t stride, vl_err_t *err)
{
    if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
        return vl_err_set(err, VL_EINTERNAL, "bad JPEG scale %u", scale);
    }
    if (len < 4) {
        return vl_err_set(err, VL_ECODEC, "a JPEG tile is empty");
    }
    if (vl_rect_empty(win)) {
        return vl_err_set(err, VL_EINTERNAL, "empty JPEG window");
    }
    vl_liberr_clear(&d->lerr);
    if (setjmp(d->jmp) != 0) {
        jpeg_abort_decompress(&d->cinfo);
        return vl_liberr_fail(&d->lerr, "JPEG", "libjpeg error", err);
    }
    return jpegdec_run(d, tables, tables_len, data, len, scale, ycbcr,
                       bands, win, out, stride, err);
}

int
vl_jpegdec_decode(vl_jpegdec_t *d, const unsigned char *tables,
                  size_t tables_len, const unsigned char *data, size_t len,
                  unsigned scale, int ycbcr, int bands, uint32_t out_w,
                  uint32_t out_h, unsigned char *out, size_t stride,
                  vl_err_t *err)
{
    vl_rect_t all = VL_RECT(0, 0, out_w, out_h);

    return vl_jpegdec_window(d, tables, tables_len, data, len, scale, ycbcr,
                             bands, &all, out, stride, err);
}
