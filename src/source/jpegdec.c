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
#include <jerror.h>

#include "core/metrics.h"
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

/* Make *buf (of *cap bytes) hold `need` bytes. */
static int
jpegdec_scratch_buf(unsigned char **buf, size_t *cap, size_t need,
                    vl_err_t *err)
{
    unsigned char *p;

    if (*cap >= need) {
        return VL_OK;
    }
    if ((p = realloc(*buf, need)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory decoding a JPEG");
    }
    *buf = p;
    *cap = need;
    return VL_OK;
}

static int
jpegdec_scratch(vl_jpegdec_t *d, size_t need, vl_err_t *err)
{
    return jpegdec_scratch_buf(&d->row, &d->row_cap, need, err);
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

/* ------------------------------------------------- flat JPEG, by rows */

struct vl_jpegseq_s {
    struct jpeg_decompress_struct cinfo;
    struct jpeg_error_mgr         jerr;
    jmp_buf                       jmp;
    vl_liberr_t                   lerr;
    const unsigned char          *data;
    size_t                        len;
    int                           live;       /* cinfo created */
    int                           active;     /* a decode is started */
    unsigned                      scale;
    int                           cmyk, inverted;
    unsigned char                *icc;        /* malloc (libjpeg's) */
    unsigned char                *row;        /* scratch rows */
    size_t                        row_cap;
};

static void
jpegseq_error_exit(j_common_ptr cinfo)
{
    vl_jpegseq_t *q = (vl_jpegseq_t *) cinfo->client_data;
    char          buf[JMSG_LENGTH_MAX];

    (*cinfo->err->format_message)(cinfo, buf);
    vl_liberr_put(&q->lerr, buf);
    longjmp(q->jmp, 1);
}

/* A warning that the data ran out is an error here: libjpeg would give
 * the rest of the image as grey. Other warnings are dropped. */
static void
jpegseq_emit_message(j_common_ptr cinfo, int level)
{
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        jpegseq_error_exit(cinfo);
    }
}

/* EXIF Orientation of an APP1 payload, or 0. */
static int
jpegseq_exif_orientation(const unsigned char *p, size_t n)
{
    const unsigned char *t = p + 6;
    size_t               tn, ifd, count;
    int                  le;

    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0) {
        return 0;
    }
    tn = n - 6;
    if (memcmp(t, "II*\0", 4) == 0) {
        le = 1;
    } else if (memcmp(t, "MM\0*", 4) == 0) {
        le = 0;
    } else {
        return 0;
    }
#define JPEGSEQ_U16(q) (le ? (size_t) (q)[0] | (size_t) (q)[1] << 8 \
                           : (size_t) (q)[1] | (size_t) (q)[0] << 8)
#define JPEGSEQ_U32(q) (le ? (size_t) (q)[0] | (size_t) (q)[1] << 8    \
                               | (size_t) (q)[2] << 16                 \
                               | (size_t) (q)[3] << 24                 \
                           : (size_t) (q)[3] | (size_t) (q)[2] << 8    \
                               | (size_t) (q)[1] << 16                 \
                               | (size_t) (q)[0] << 24)
    ifd = JPEGSEQ_U32(t + 4);
    if (ifd > tn - 2 || ifd < 8) {
        return 0;
    }
    count = JPEGSEQ_U16(t + ifd);
    for (size_t i = 0; i < count; i++) {
        const unsigned char *e = t + ifd + 2 + i * 12;
        size_t               v;

        if ((size_t) (e - t) + 12 > tn) {
            return 0;
        }
        if (JPEGSEQ_U16(e) == 0x0112 && JPEGSEQ_U16(e + 2) == 3) {
            v = JPEGSEQ_U16(e + 8);
            return v >= 1 && v <= 8 ? (int) v : 0;
        }
    }
#undef JPEGSEQ_U16
#undef JPEGSEQ_U32
    return 0;
}

static int
jpegseq_header(vl_jpegseq_t *q, vl_jpegseq_info_t *info, vl_err_t *err)
{
    j_decompress_ptr        cinfo = &q->cinfo;
    jpeg_saved_marker_ptr   m;
    JOCTET                 *icc = NULL;
    unsigned int            icc_len = 0;

    jpeg_mem_src(cinfo, q->data, (unsigned long) q->len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0xffff);
    jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0xffff);
    if (jpeg_read_header(cinfo, TRUE) != JPEG_HEADER_OK) {
        return vl_err_set(err, VL_ECODEC, "the JPEG file has no image");
    }
    memset(info, 0, sizeof(*info));
    info->width = cinfo->image_width;
    info->height = cinfo->image_height;
    info->components = cinfo->num_components;
    info->progressive = cinfo->progressive_mode != 0;
    for (int c = 0; c < cinfo->num_components; c++) {
        info->coef_bytes += (size_t) cinfo->comp_info[c].width_in_blocks
                            * cinfo->comp_info[c].height_in_blocks
                            * DCTSIZE2 * sizeof(JCOEF);
    }
    for (m = cinfo->marker_list; m != NULL; m = m->next) {
        if (m->marker == JPEG_APP0 + 1 && info->orientation == 0) {
            info->orientation = jpegseq_exif_orientation(m->data,
                                                         m->data_length);
        }
    }
    if (jpeg_read_icc_profile(cinfo, &icc, &icc_len) && icc != NULL) {
        q->icc = icc;
        info->icc = icc;
        info->icc_len = icc_len;
    }
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
        info->bands = 1;
        break;
    case JCS_YCbCr:
    case JCS_RGB:
        info->bands = 3;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        info->bands = 3;
        q->cmyk = 1;
        q->inverted = cinfo->saw_Adobe_marker;
        break;
    default:
        return vl_err_set(err, VL_EFORMAT, "a JPEG of %d components in an "
                          "unknown colour space", cinfo->num_components);
    }
    jpeg_abort_decompress(cinfo);
    return VL_OK;
}

vl_jpegseq_t *
vl_jpegseq_open(const unsigned char *data, size_t len,
                vl_jpegseq_info_t *info, vl_err_t *err)
{
    vl_jpegseq_t *volatile q = calloc(1, sizeof(*q));

    if (q == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory opening a JPEG");
        return NULL;
    }
    q->data = data;
    q->len = len;
    q->cinfo.err = jpeg_std_error(&q->jerr);
    q->jerr.error_exit = jpegseq_error_exit;
    q->jerr.emit_message = jpegseq_emit_message;
    q->cinfo.client_data = q;
    vl_liberr_clear(&q->lerr);
    if (setjmp(q->jmp) != 0) {
        vl_liberr_fail(&q->lerr, "JPEG", "libjpeg error", err);
        vl_jpegseq_free(q);
        return NULL;
    }
    jpeg_create_decompress(&q->cinfo);
    q->live = 1;
    if (len < 4 || jpegseq_header(q, info, err) != VL_OK) {
        if (len < 4) {
            vl_err_set(err, VL_ECODEC, "the JPEG file is empty");
        }
        vl_jpegseq_free(q);
        return NULL;
    }
    return q;
}

void
vl_jpegseq_free(vl_jpegseq_t *q)
{
    if (q == NULL) {
        return;
    }
    if (q->live) {
        jpeg_destroy_decompress(&q->cinfo);
    }
    free(q->icc);
    free(q->row);
    free(q);
}

/* Start the decode again from the top at 1/scale. */
static void
jpegseq_start(vl_jpegseq_t *q, unsigned scale, size_t max_memory)
{
    j_decompress_ptr cinfo = &q->cinfo;

    if (q->active) {
        jpeg_abort_decompress(cinfo);
        q->active = 0;
    }
    jpeg_mem_src(cinfo, q->data, (unsigned long) q->len);
    jpeg_save_markers(cinfo, JPEG_APP0 + 1, 0);
    jpeg_save_markers(cinfo, JPEG_APP0 + 2, 0);
    jpeg_read_header(cinfo, TRUE);
    cinfo->out_color_space = q->cmyk ? JCS_CMYK
                             : cinfo->num_components == 1 ? JCS_GRAYSCALE
                                                          : JCS_RGB;
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    cinfo->scale_num = 1;
    cinfo->scale_denom = scale;
    cinfo->mem->max_memory_to_use = (long) max_memory;
    jpeg_start_decompress(cinfo);
    q->active = 1;
    q->scale = scale;
}

/* ink: CMYK samples, inverted (Adobe) or not, to RGB as Pillow does. */
static void
jpegseq_cmyk_row(const unsigned char *in, unsigned char *out, uint32_t w,
                 int inverted)
{
    for (uint32_t i = 0; i < w; i++, in += 4, out += 3) {
        unsigned k = inverted ? in[3] : 255u - in[3];   /* 255 - ink */

        for (int c = 0; c < 3; c++) {
            unsigned ink = inverted ? 255u - in[c] : in[c];
            unsigned t = ink * k + 128;

            out[c] = (unsigned char) (k - ((t + (t >> 8)) >> 8));
        }
    }
}

static int
jpegseq_run(vl_jpegseq_t *q, unsigned scale, uint32_t y, uint32_t n,
            size_t max_memory, unsigned char *out, size_t stride,
            vl_err_t *err)
{
    j_decompress_ptr cinfo = &q->cinfo;
    JDIMENSION       imcu;
    size_t           need;
    int              rc;

    if (!q->active || q->scale != scale || cinfo->output_scanline > y) {
        if (q->active) {
            vl_metrics_add(VL_MET_DECODE_RESTART, 1);
        }
        jpegseq_start(q, scale, max_memory);
    }
    if (cinfo->output_height < y || cinfo->output_height - y < n) {
        return vl_err_set(err, VL_ECODEC, "the JPEG is smaller than its "
                          "header says");
    }
    if (vl_size_mul4(cinfo->output_width,
                     (size_t) cinfo->output_components, 1, 1, &need) != 0
        || (rc = jpegdec_scratch_buf(&q->row, &q->row_cap, need, err))
               != VL_OK) {
        return VL_ENOMEM;
    }
    /* whole iMCU rows skipped, one short of y: the rows read next are
     * upsampled as in a full decode */
    imcu = jpegdec_imcu_rows(cinfo);
    if (imcu != 0 && y / imcu >= 2 && (y / imcu - 1) * imcu
                                          > cinfo->output_scanline) {
        JDIMENSION skip = (y / imcu - 1) * imcu - cinfo->output_scanline;

        if (jpeg_skip_scanlines(cinfo, skip) != skip) {
            return vl_err_set(err, VL_ECODEC, "the JPEG file ended early");
        }
    }
    while (cinfo->output_scanline < y + n) {
        uint32_t  at = cinfo->output_scanline;
        int       keep = at >= y;
        JSAMPROW  row = keep && !q->cmyk ? out + (size_t) (at - y) * stride
                                         : q->row;

        if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
            return vl_err_set(err, VL_ECODEC, "the JPEG file ended early");
        }
        if (keep && q->cmyk) {
            jpegseq_cmyk_row(q->row, out + (size_t) (at - y) * stride,
                             cinfo->output_width, q->inverted);
        }
    }
    return VL_OK;
}

int
vl_jpegseq_rows(vl_jpegseq_t *q, unsigned scale, uint32_t y, uint32_t n,
                size_t max_memory, unsigned char *out, size_t stride,
                vl_err_t *err)
{
    int rc;

    if (scale != 1 && scale != 2 && scale != 4 && scale != 8) {
        return vl_err_set(err, VL_EINTERNAL, "bad JPEG scale %u", scale);
    }
    vl_liberr_clear(&q->lerr);
    if (setjmp(q->jmp) != 0) {
        if (q->active) {
            jpeg_abort_decompress(&q->cinfo);
            q->active = 0;
        }
        return vl_liberr_fail(&q->lerr, "JPEG", "libjpeg error", err);
    }
    rc = jpegseq_run(q, scale, y, n, max_memory, out, stride, err);
    if (rc != VL_OK && q->active) {
        jpeg_abort_decompress(&q->cinfo);
        q->active = 0;
    }
    return rc;
}
