/* SPDX-License-Identifier: MIT */
/*
 * jpeg: the JPEG encoder (the only libjpeg user in src/). Compresses rows
 * into the request's sink through a custom destination manager; libjpeg
 * errors longjmp back into the calling function and are recorded in the
 * request's vl_err_t (never exit()). The compressor is destroyed by a pool
 * cleanup. 1 or 3 bands, 4:2:0 for colour, baseline Huffman tables.
 */
#include "config.h"

#include <setjmp.h>
#include <stdio.h>

#include <jpeglib.h>

#include "encode/encode_p.h"

#define JPEG_BUF 16384

typedef struct {
    struct jpeg_error_mgr        pub;
    jmp_buf                      jmp;
    vl_err_t                    *err;   /* of the current call */
} jpeg_errmgr_t;

typedef struct {
    struct jpeg_compress_struct  cinfo;
    jpeg_errmgr_t                jerr;
    struct jpeg_destination_mgr  dest;
    vl_sink_t                   *sink;
    int                          created;
    unsigned char                buf[JPEG_BUF];
} jpeg_state_t;

static void
jpeg_error_exit(j_common_ptr cinfo)
{
    jpeg_errmgr_t *jerr = (jpeg_errmgr_t *) cinfo->err;
    char           msg[JMSG_LENGTH_MAX];

    (*cinfo->err->format_message)(cinfo, msg);
    vl_err_set(jerr->err, VL_ECODEC, "jpeg encoder: %s", msg);
    longjmp(jerr->jmp, 1);
}

static void
jpeg_output_message(j_common_ptr cinfo)
{
    (void) cinfo;   /* warnings are not worth a log line per request */
}

static void
jpeg_dest_init(j_compress_ptr cinfo)
{
    jpeg_state_t *st = (jpeg_state_t *) cinfo->client_data;

    st->dest.next_output_byte = st->buf;
    st->dest.free_in_buffer = JPEG_BUF;
}

static boolean
jpeg_dest_empty(j_compress_ptr cinfo)
{
    jpeg_state_t *st = (jpeg_state_t *) cinfo->client_data;

    if (vl_sink_write(st->sink, st->buf, JPEG_BUF, st->jerr.err) != VL_OK) {
        longjmp(st->jerr.jmp, 1);   /* the sink recorded why */
    }
    st->dest.next_output_byte = st->buf;
    st->dest.free_in_buffer = JPEG_BUF;
    return TRUE;
}

static void
jpeg_dest_term(j_compress_ptr cinfo)
{
    jpeg_state_t *st = (jpeg_state_t *) cinfo->client_data;
    size_t        n = JPEG_BUF - st->dest.free_in_buffer;

    if (vl_sink_write(st->sink, st->buf, n, st->jerr.err) != VL_OK) {
        longjmp(st->jerr.jmp, 1);
    }
}

static void
jpeg_release(void *data)
{
    jpeg_state_t *st = data;

    if (st->created) {
        jpeg_destroy_compress(&st->cinfo);
        st->created = 0;
    }
}

static int
jpeg_failed(jpeg_state_t *st, vl_err_t *err)
{
    jpeg_release(st);
    vl_err_set(err, VL_ECODEC, "jpeg encoder failed");
    /* the first error recorded (e.g. the sink's cap) is the status */
    return err != NULL ? (int) err->code : VL_ECODEC;
}

static void *
jpeg_start(vl_pool_t *pool, const vl_encode_opts_t *opts, uint32_t w,
              uint32_t h, int bands, vl_sink_t *sink, vl_err_t *err)
{
    jpeg_state_t *volatile st;

    if (bands != 1 && bands != 3) {
        vl_err_set(err, VL_EINTERNAL, "jpeg takes 1 or 3 bands");
        return NULL;
    }
    if (w > JPEG_MAX_DIMENSION || h > JPEG_MAX_DIMENSION) {
        vl_err_set(err, VL_ELIMIT, "image too large for jpeg");
        return NULL;
    }
    if ((st = vl_pool_calloc(pool, 1, sizeof(*st))) == NULL
        || vl_pool_cleanup_add(pool, jpeg_release, st) != 0) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    st->sink = sink;
    st->cinfo.err = jpeg_std_error(&st->jerr.pub);
    st->jerr.pub.error_exit = jpeg_error_exit;
    st->jerr.pub.output_message = jpeg_output_message;
    st->jerr.err = err;
    if (setjmp(st->jerr.jmp)) {
        jpeg_failed(st, err);
        return NULL;
    }
    jpeg_create_compress(&st->cinfo);
    st->created = 1;
    st->cinfo.client_data = st;
    st->dest.init_destination = jpeg_dest_init;
    st->dest.empty_output_buffer = jpeg_dest_empty;
    st->dest.term_destination = jpeg_dest_term;
    st->cinfo.dest = &st->dest;

    st->cinfo.image_width = w;
    st->cinfo.image_height = h;
    st->cinfo.input_components = bands;
    st->cinfo.in_color_space = bands == 3 ? JCS_RGB : JCS_GRAYSCALE;
    jpeg_set_defaults(&st->cinfo);
    jpeg_set_quality(&st->cinfo,
                     opts->jpeg_quality < 1 ? 1
                     : opts->jpeg_quality > 100 ? 100 : opts->jpeg_quality,
                     TRUE);
    st->cinfo.optimize_coding = FALSE;
    st->cinfo.dct_method = JDCT_ISLOW;
    if (bands == 3) {
        /* 4:2:0 */
        st->cinfo.comp_info[0].h_samp_factor = 2;
        st->cinfo.comp_info[0].v_samp_factor = 2;
        st->cinfo.comp_info[1].h_samp_factor = 1;
        st->cinfo.comp_info[1].v_samp_factor = 1;
        st->cinfo.comp_info[2].h_samp_factor = 1;
        st->cinfo.comp_info[2].v_samp_factor = 1;
    }
    jpeg_start_compress(&st->cinfo, TRUE);
    if (opts->icc != NULL && opts->icc_len > 0
        && opts->icc_len <= 255u * 65519u) {
        jpeg_write_icc_profile(&st->cinfo, opts->icc,
                               (unsigned int) opts->icc_len);
    }
    return st;
}

static int
jpeg_rows(void *stv, const unsigned char *rows, uint32_t nrows,
             size_t stride, vl_err_t *err)
{
    jpeg_state_t *st = stv;

    if (!st->created) {
        return vl_err_set(err, VL_ECODEC, "jpeg encoder failed");
    }
    st->jerr.err = err;
    if (setjmp(st->jerr.jmp)) {
        return jpeg_failed(st, err);
    }
    for (uint32_t i = 0; i < nrows; i++) {
        JSAMPROW row = (JSAMPROW) (rows + (size_t) i * stride);

        jpeg_write_scanlines(&st->cinfo, &row, 1);
    }
    return VL_OK;
}

static int
jpeg_finish(void *stv, vl_err_t *err)
{
    jpeg_state_t *st = stv;

    if (!st->created) {
        return vl_err_set(err, VL_ECODEC, "jpeg encoder failed");
    }
    st->jerr.err = err;
    if (setjmp(st->jerr.jmp)) {
        return jpeg_failed(st, err);
    }
    jpeg_finish_compress(&st->cinfo);
    jpeg_release(st);
    return VL_OK;
}

const vl_encoder_ops_t vl_jpeg_encoder = {
    jpeg_start,
    jpeg_rows,
    jpeg_finish,
};
