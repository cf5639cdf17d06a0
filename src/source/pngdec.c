/* SPDX-License-Identifier: MIT */
/*
 * pngdec: PNG rows with libpng (pngdec.h); the only file of the source
 * layer that includes png.h. Reads from the caller's bytes of the whole
 * file through a read callback; a restart is a new read struct.
 */
#include "config.h"

#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "core/metrics.h"
#include "core/str.h"
#include "source/liberr.h"
#include "source/pngdec.h"

struct vl_pngdec_s {
    png_structp          png;
    png_infop            info;
    vl_liberr_t          lerr;
    jmp_buf              jmp;           /* pngdec_error jumps here */
    const unsigned char *data;
    size_t               len, pos;
    uint32_t             next;          /* the row png_read_row gives next */
    int                  started;       /* png/info made, header read */
    vl_pngdec_info_t     meta;
    size_t               rowbytes;
    unsigned char       *icc;           /* malloc copy */
    unsigned char       *row;           /* scratch row */
    unsigned char       *whole;         /* interlaced: the whole image */
    png_bytep           *row_list;      /* its row pointers, while read */
};

static void
pngdec_error(png_structp png, png_const_charp msg)
{
    vl_pngdec_t *d = png_get_error_ptr(png);

    vl_liberr_put(&d->lerr, msg);
    longjmp(d->jmp, 1);
}

static void
pngdec_warning(png_structp png, png_const_charp msg)
{
    (void) png;
    (void) msg;
}

static void
pngdec_read(png_structp png, png_bytep out, size_t n)
{
    vl_pngdec_t *d = png_get_io_ptr(png);

    if (d->len - d->pos < n) {
        png_error(png, "the PNG file ended early");
    }
    memcpy(out, d->data + d->pos, n);
    d->pos += n;
}

static void
pngdec_drop(vl_pngdec_t *d)
{
    if (d->png != NULL) {
        png_destroy_read_struct(&d->png, d->info != NULL ? &d->info : NULL,
                                NULL);
    }
    d->png = NULL;
    d->info = NULL;
    d->started = 0;
}

/* New read structs, the header read and the transforms set; longjmps on
 * a libpng error (the caller's setjmp). Returns 0, or -1 out of memory. */
static int
pngdec_begin(vl_pngdec_t *d, int whole)
{
    png_structp png;
    png_uint_32 w, h;
    int         depth, ctype, interlace;

    pngdec_drop(d);
    png = png_create_read_struct(PNG_LIBPNG_VER_STRING, d, pngdec_error,
                                 pngdec_warning);
    if (png == NULL) {
        return -1;
    }
    d->png = png;
    if ((d->info = png_create_info_struct(png)) == NULL) {
        return -1;
    }
    d->pos = 0;
    d->next = 0;
    png_set_read_fn(png, d, pngdec_read);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, d->info);
    png_get_IHDR(png, d->info, &w, &h, &depth, &ctype, &interlace, NULL,
                 NULL);
    if (ctype == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (png_get_valid(png, d->info, PNG_INFO_tRNS)) {
        png_set_tRNS_to_alpha(png);
    }
    if (depth == 16) {
        uint16_t probe = 1;

        if (*(unsigned char *) &probe == 1) {
            png_set_swap(png);
        }
    }
    if (interlace != PNG_INTERLACE_NONE && whole) {
        png_set_interlace_handling(png);
    }
    png_read_update_info(png, d->info);
    d->meta.width = w;
    d->meta.height = h;
    d->meta.bands = png_get_channels(png, d->info);
    d->meta.bits = depth == 16 ? 16 : 8;
    d->meta.interlaced = interlace != PNG_INTERLACE_NONE;
    d->rowbytes = png_get_rowbytes(png, d->info);
    d->started = 1;
    return 0;
}

static int
pngdec_header(vl_pngdec_t *d, size_t max_whole, vl_err_t *err)
{
    png_charp   name;
    int         ctype;
    png_bytep   prof;
    png_uint_32 plen;
    size_t      need;

    if (pngdec_begin(d, 0) != 0) {
        return vl_err_set(err, VL_ENOMEM, "out of memory opening a PNG");
    }
    if (d->rowbytes != (size_t) d->meta.width * (size_t) d->meta.bands
                           * (size_t) (d->meta.bits / 8)) {
        return vl_err_set(err, VL_ECODEC, "unexpected PNG row size");
    }
    if (png_get_iCCP(d->png, d->info, &name, &ctype, &prof, &plen)
        == PNG_INFO_iCCP && plen > 0) {
        if ((d->icc = malloc(plen)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory opening a PNG");
        }
        memcpy(d->icc, prof, plen);
        d->meta.icc = d->icc;
        d->meta.icc_len = plen;
    }
    if (d->meta.interlaced
        && (vl_size_mul(d->rowbytes, d->meta.height, &need) != 0
            || need > max_whole)) {
        return vl_err_set(err, VL_EFORMAT, "an interlaced PNG of %ux%u "
                          "would be decoded whole, beyond the limit of "
                          "%zu MB", d->meta.width, d->meta.height,
                          max_whole >> 20);
    }
    if ((d->row = malloc(d->rowbytes)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory opening a PNG");
    }
    return VL_OK;
}

vl_pngdec_t *
vl_pngdec_open(const unsigned char *data, size_t len, size_t max_whole,
               vl_pngdec_info_t *info, vl_err_t *err)
{
    vl_pngdec_t *volatile d = calloc(1, sizeof(*d));

    if (d == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory opening a PNG");
        return NULL;
    }
    d->data = data;
    d->len = len;
    vl_liberr_clear(&d->lerr);
    if (setjmp(d->jmp) != 0) {
        vl_liberr_fail(&d->lerr, "PNG", "libpng error", err);
        vl_pngdec_free(d);
        return NULL;
    }
    if (pngdec_header(d, max_whole, err) != VL_OK) {
        vl_pngdec_free(d);
        return NULL;
    }
    *info = d->meta;
    return d;
}

/* The body of vl_pngdec_rows, under its setjmp. */
static int
pngdec_run(vl_pngdec_t *d, uint32_t y, uint32_t n, unsigned char *out,
           size_t stride, vl_err_t *err)
{
    if (d->meta.interlaced) {
        if (d->whole == NULL) {
            png_bytep *rows;
            size_t     bytes = d->rowbytes * d->meta.height;

            if (pngdec_begin(d, 1) != 0
                || (d->whole = malloc(bytes)) == NULL
                || (rows = malloc(d->meta.height * sizeof(*rows))) == NULL) {
                free(d->whole);
                d->whole = NULL;
                return vl_err_set(err, VL_ENOMEM,
                                  "out of memory decoding a PNG");
            }
            for (uint32_t i = 0; i < d->meta.height; i++) {
                rows[i] = d->whole + (size_t) i * d->rowbytes;
            }
            /* rows is leaked if libpng jumps out: keep it reachable */
            d->row_list = rows;
            png_read_image(d->png, rows);
            d->row_list = NULL;
            free(rows);
            pngdec_drop(d);
        }
        for (uint32_t i = 0; i < n; i++) {
            memcpy(out + (size_t) i * stride,
                   d->whole + (size_t) (y + i) * d->rowbytes, d->rowbytes);
        }
        return VL_OK;
    }
    if (!d->started || d->next > y) {
        if (d->started) {
            vl_metrics_add(VL_MET_DECODE_RESTART, 1);
        }
        if (pngdec_begin(d, 0) != 0) {
            return vl_err_set(err, VL_ENOMEM, "out of memory decoding a PNG");
        }
    }
    while (d->next < y + n) {
        uint32_t at = d->next;

        png_read_row(d->png, at >= y ? out + (size_t) (at - y) * stride
                                     : d->row, NULL);
        d->next++;
    }
    return VL_OK;
}

int
vl_pngdec_rows(vl_pngdec_t *d, uint32_t y, uint32_t n, unsigned char *out,
               size_t stride, vl_err_t *err)
{
    if (y > d->meta.height || d->meta.height - y < n) {
        return vl_err_set(err, VL_EINTERNAL, "PNG rows out of range");
    }
    vl_liberr_clear(&d->lerr);
    if (setjmp(d->jmp) != 0) {
        free(d->row_list);
        d->row_list = NULL;
        free(d->whole);
        d->whole = NULL;
        pngdec_drop(d);
        return vl_liberr_fail(&d->lerr, "PNG", "libpng error", err);
    }
    return pngdec_run(d, y, n, out, stride, err);
}

void
vl_pngdec_free(vl_pngdec_t *d)
{
    if (d == NULL) {
        return;
    }
    pngdec_drop(d);
    free(d->icc);
    free(d->row);
    free(d->whole);
    free(d);
}

size_t
vl_pngdec_held(const vl_pngdec_t *d)
{
    return d->whole != NULL ? d->rowbytes * d->meta.height : 0;
}

void
vl_pngdec_release(vl_pngdec_t *d)
{
    free(d->whole);
    d->whole = NULL;
}
