/* SPDX-License-Identifier: MIT */
/*
 * jp2w: the JPEG 2000 writer of `vellum convert` (the OpenJPEG side). A JP2
 * (boxes, colr with the ICC profile when there is one, cdef for alpha, the
 * text as Dublin Core in an xml box)
 * holding a codestream cut into tiles of jp2_tile x jp2_tile, RPCL order,
 * precincts of 256 at the two highest resolutions and 128 below, 64x64
 * code-blocks, enough resolutions that the smallest fits 256 pixels, and
 * PLT and TLM markers, so that a viewer's region at any scale reads only
 * the packets it needs. OpenJPEG encodes one tile at a time
 * (opj_write_tile), so memory is one band of tile rows at full width plus
 * the codec's per-tile state, never the image. The JP2 boxes are written
 * here and OpenJPEG writes the bare codestream into the jp2c box through a
 * stream on our descriptor: OpenJPEG before 2.5.4 cannot write an ICC
 * profile (its colr box asserts), and this way the profile's bytes go into
 * colr whatever the version.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openjpeg.h>

#include "convert/convert_p.h"
#include "core/err.h"
#include "source/liberr.h"

struct vl_jp2w_s {
    const vl_convert_geom_t *g;
    opj_codec_t             *codec;
    opj_image_t             *image;
    opj_stream_t            *stream;
    char                    *tmp;
    int                      fd;
    off_t                    base; /* the codestream's first byte */
    int                      started;
    uint32_t                 tile, cols, next_ty;
    unsigned char           *buf; /* one tile, planar */
    vl_liberr_t              lerr;
};

static void
jw_on_error(const char *msg, void *user)
{
    vl_liberr_put(&((vl_jp2w_t *) user)->lerr, msg);
}

static void
jw_quiet(const char *msg, void *user)
{
    (void) msg;
    (void) user;
}

static void
jw_free(vl_jp2w_t *w)
{
    if (w->stream != NULL) {
        opj_stream_destroy(w->stream);
    }
    if (w->codec != NULL) {
        opj_destroy_codec(w->codec);
    }
    if (w->image != NULL) {
        opj_image_destroy(w->image);
    }
    if (w->fd >= 0) {
        close(w->fd);
    }
    free(w->buf);
    free(w->tmp);
    free(w);
}

/* OpenJPEG's stream on w->fd, offsets from w->base (it seeks back to fill
 * in the TLM marker segments at the end). */
static OPJ_SIZE_T
jw_write(void *buf, OPJ_SIZE_T n, void *user)
{
    vl_jp2w_t     *w = user;
    unsigned char *p = buf;
    size_t         left = n;

    while (left > 0) {
        ssize_t k = write(w->fd, p, left);

        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k <= 0) {
            return (OPJ_SIZE_T) -1;
        }
        p += k;
        left -= (size_t) k;
    }
    return n;
}

static OPJ_OFF_T
jw_skip(OPJ_OFF_T n, void *user)
{
    vl_jp2w_t *w = user;

    return lseek(w->fd, (off_t) n, SEEK_CUR) < 0 ? -1 : n;
}

static OPJ_BOOL
jw_seek(OPJ_OFF_T off, void *user)
{
    vl_jp2w_t *w = user;

    return lseek(w->fd, w->base + (off_t) off, SEEK_SET) >= 0;
}

static unsigned char *
jw_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char) (v >> 24);
    p[1] = (unsigned char) (v >> 16);
    p[2] = (unsigned char) (v >> 8);
    p[3] = (unsigned char) v;
    return p + 4;
}

static unsigned char *
jw_box(unsigned char *p, uint32_t len, const char *type)
{
    p = jw_be32(p, len);
    memcpy(p, type, 4);
    return p + 4;
}

/* Append text to the XML being built, escaped; NULL text: nothing. */
static size_t
jw_xml_put(char *out, const char *open, const char *text, const char *close)
{
    size_t n = 0;

    if (text == NULL) {
        return 0;
    }
    for (const char *q = open; *q != '\0'; q++, n++) {
        if (out != NULL) {
            out[n] = *q;
        }
    }
    for (const char *q = text; *q != '\0'; q++) {
        const char *e = *q == '&'   ? "&amp;"
                        : *q == '<' ? "&lt;"
                        : *q == '>' ? "&gt;"
                                    : NULL;
        size_t      k = e != NULL ? strlen(e) : 1;

        if (out != NULL) {
            memcpy(out + n, e != NULL ? e : q, k);
        }
        n += k;
    }
    for (const char *q = close; *q != '\0'; q++, n++) {
        if (out != NULL) {
            out[n] = *q;
        }
    }
    return n;
}

/* The Dublin Core of the source's text (what vellum reads back from a
 * JP2's first XML box), or 0 bytes when it has none. */
static size_t
jw_xml(const vl_convert_geom_t *g, char *out)
{
    static const char head[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\""
        " xmlns:dc=\"http://purl.org/dc/elements/1.1/\">"
        "<rdf:Description>\n";
    static const char tail[] = "</rdf:Description></rdf:RDF>\n";
    size_t            n;

    if (g->title == NULL && g->description == NULL && g->creator == NULL
        && g->copyright == NULL && g->date == NULL)
    {
        return 0;
    }
    n = jw_xml_put(out, head, "", "");
    n += jw_xml_put(out != NULL ? out + n : NULL, "<dc:title>", g->title,
                    "</dc:title>\n");
    n += jw_xml_put(out != NULL ? out + n : NULL, "<dc:description>",
                    g->description, "</dc:description>\n");
    n += jw_xml_put(out != NULL ? out + n : NULL, "<dc:creator>", g->creator,
                    "</dc:creator>\n");
    n += jw_xml_put(out != NULL ? out + n : NULL, "<dc:rights>", g->copyright,
                    "</dc:rights>\n");
    n += jw_xml_put(out != NULL ? out + n : NULL, "<dc:date>", g->date,
                    "</dc:date>\n");
    n += jw_xml_put(out != NULL ? out + n : NULL, tail, "", "");
    return n;
}

/* The JP2 header boxes (signature, ftyp, jp2h: ihdr, colr, cdef for
 * alpha) and the head of the jp2c box, its 64-bit length patched in by
 * vl_jp2w_finish. */
static int
jw_header(vl_jp2w_t *w)
{
    const vl_convert_geom_t *g = w->g;
    int                      nb = g->bands, alpha = nb == 2 || nb == 4;
    size_t                   icc =
        g->icc != NULL && g->icc_len > 0 && g->icc_len < ((size_t) 1 << 30)
                              ? g->icc_len
                              : 0;
    uint32_t       colr = icc > 0 ? 11 + (uint32_t) icc : 15;
    uint32_t       cdef = alpha ? 10 + 6 * (uint32_t) nb : 0;
    uint32_t       jp2h = 8 + 22 + colr + cdef;
    size_t         xml = jw_xml(g, NULL);
    size_t         len;
    unsigned char *h, *p;
    int            rc;

    if (xml > ((size_t) 1 << 20)) {
        xml = 0; /* absurd text: left out */
    }
    len = 12 + 20 + jp2h + (xml > 0 ? 8 + xml : 0) + 16;
    if ((h = malloc(len)) == NULL) {
        return -1;
    }
    p = h;
    p = jw_box(p, 12, "jP  ");
    p = jw_be32(p, 0x0D0A870A);
    p = jw_box(p, 20, "ftyp");
    memcpy(p, "jp2 \0\0\0\0jp2 ", 12);
    p += 12;
    p = jw_box(p, jp2h, "jp2h");
    p = jw_box(p, 22, "ihdr");
    p = jw_be32(p, g->height);
    p = jw_be32(p, g->width);
    *p++ = 0;
    *p++ = (unsigned char) nb;
    *p++ = 7; /* 8 bits, unsigned */
    *p++ = 7; /* wavelet */
    *p++ = 0; /* colourspace known */
    *p++ = 0; /* no IPR box */
    p = jw_box(p, colr, "colr");
    if (icc > 0) {
        *p++ = 2; /* restricted ICC profile */
        *p++ = 0;
        *p++ = 0;
        memcpy(p, g->icc, icc);
        p += icc;
    } else {
        *p++ = 1; /* enumerated */
        *p++ = 0;
        *p++ = 0;
        p = jw_be32(p, nb >= 3 ? 16 : 17); /* sRGB, greyscale */
    }
    if (alpha) {
        p = jw_box(p, cdef, "cdef");
        *p++ = 0;
        *p++ = (unsigned char) nb;
        for (int b = 0; b < nb; b++) {
            int is_alpha = b == nb - 1;

            *p++ = 0;
            *p++ = (unsigned char) b;
            *p++ = 0;
            *p++ = is_alpha ? 1 : 0; /* opacity, not premultiplied */
            *p++ = 0;
            *p++ = is_alpha ? 0 : (unsigned char) (b + 1);
        }
    }
    if (xml > 0) {
        /* after jp2h: a reader may stop at the first xml box */
        p = jw_box(p, 8 + (uint32_t) xml, "xml ");
        jw_xml(g, (char *) p);
        p += xml;
    }
    p = jw_be32(p, 1); /* XLBox follows */
    memcpy(p, "jp2c", 4);
    p += 4;
    memset(p, 0, 8);
    p += 8;
    rc = jw_write(h, (OPJ_SIZE_T) (p - h), w) == (OPJ_SIZE_T) (p - h) ? 0 : -1;
    w->base = (off_t) (p - h);
    free(h);
    return rc;
}

void
vl_jp2w_abort(vl_jp2w_t *w)
{
    if (w == NULL) {
        return;
    }
    if (w->tmp != NULL) {
        unlink(w->tmp);
        vl_convert_tmp_release(w->tmp);
    }
    jw_free(w);
}

static vl_jp2w_t *
jw_fail(vl_jp2w_t *w, int code, const char *msg, vl_err_t *err)
{
    if (code == VL_ECODEC) {
        vl_liberr_fail(&w->lerr, msg, "OpenJPEG error", err);
    } else {
        vl_err_set(err, code, "%s", msg);
    }
    vl_jp2w_abort(w);
    return NULL;
}

/* Coding parameters. Lossy: the 9/7 wavelet and 4 quality layers, the
 * last at a compression ratio of 10 * 2^((90 - quality) / 20) (quality 90:
 * 10:1, about 2.4 bits per RGB pixel; 70: 20:1; 50: 40:1; 100: 7:1), each
 * layer before it at twice the ratio of the next. Lossless: 5/3 and the
 * reversible colour transform, layers at 40:1, 10:1 and lossless. */
static void
jw_params(const vl_convert_geom_t *g, uint32_t tile, opj_cparameters_t *p)
{
    const vl_convert_opts_t *o = g->opts;
    uint32_t                 side = g->width > g->height ? g->width : g->height;
    int                      nres = 1;

    opj_set_default_encoder_parameters(p);
    p->tile_size_on = OPJ_TRUE;
    p->cp_tdx = (int) tile;
    p->cp_tdy = (int) tile;
    p->cp_tx0 = 0;
    p->cp_ty0 = 0;
    /* the smallest resolution fits a 256 viewer tile; each resolution
     * must still leave every codestream tile at least a pixel */
    while (nres < 11 && (side - 1) >> (nres - 1) >= 256 && (1u << nres) <= tile)
    {
        nres++;
    }
    p->numresolution = nres;
    p->prog_order = OPJ_RPCL;
    p->cblockw_init = 64;
    p->cblockh_init = 64;
    p->csty |= 0x01; /* user precincts */
    p->res_spec = nres;
    for (int r = 0; r < nres; r++) {
        int sz = r < 2 ? 256 : 128; /* r = 0: the highest resolution */

        p->prcw_init[r] = sz;
        p->prch_init[r] = sz;
    }
    p->tcp_mct = g->bands >= 3 ? 1 : 0;
    p->cp_disto_alloc = 1;
    if (o->lossless) {
        p->irreversible = 0;
        p->tcp_numlayers = 3;
        p->tcp_rates[0] = 40;
        p->tcp_rates[1] = 10;
        p->tcp_rates[2] = 0; /* no limit: lossless */
    } else {
        double ratio = 10.0;
        int    q = o->quality;

        /* 10 * 2^((90 - q) / 20), a step of 2^(1/20) per quality point */
        for (int d = q; d < 90; d++) {
            ratio *= 1.0352649238413776;
        }
        for (int d = 90; d < q; d++) {
            ratio /= 1.0352649238413776;
        }
        if (ratio < 2.0) {
            ratio = 2.0;
        }
        p->irreversible = 1;
        p->tcp_numlayers = 4;
        for (int l = 0; l < 4; l++) {
            p->tcp_rates[l] = (float) (ratio * (double) (1 << (3 - l)));
        }
    }
}

vl_jp2w_t *
vl_jp2w_open(const char *path, const vl_convert_geom_t *g, uint32_t *band_h,
             vl_err_t *err)
{
    static const char *const extra[] = { "PLT=YES", "TLM=YES", NULL };
    vl_jp2w_t               *w = calloc(1, sizeof(*w));
    opj_cparameters_t        p;
    opj_image_cmptparm_t     cp[4];
    int                      alpha = g->bands == 2 || g->bands == 4;
    long                     ncpu = sysconf(_SC_NPROCESSORS_ONLN);

    if (w == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    w->g = g;
    w->fd = -1;
    w->tile = g->opts->jp2_tile;
    w->cols = (g->width + w->tile - 1) / w->tile;
    if ((w->buf = malloc((size_t) w->tile * w->tile * (size_t) g->bands))
        == NULL) {
        return jw_fail(w, VL_ENOMEM, "out of memory", err);
    }
    jw_params(g, w->tile, &p);
    memset(cp, 0, sizeof(cp));
    for (int b = 0; b < g->bands; b++) {
        cp[b].dx = 1;
        cp[b].dy = 1;
        cp[b].w = g->width;
        cp[b].h = g->height;
        cp[b].prec = 8;
        cp[b].sgnd = 0;
    }
    w->image = opj_image_tile_create((OPJ_UINT32) g->bands, cp,
                                     g->bands >= 3 ? OPJ_CLRSPC_SRGB
                                                   : OPJ_CLRSPC_GRAY);
    if (w->image == NULL) {
        return jw_fail(w, VL_ENOMEM, "out of memory", err);
    }
    w->image->x0 = 0;
    w->image->y0 = 0;
    w->image->x1 = g->width;
    w->image->y1 = g->height;
    if (alpha) {
        w->image->comps[g->bands - 1].alpha = 1;
    }
    if ((w->codec = opj_create_compress(OPJ_CODEC_J2K)) == NULL) {
        return jw_fail(w, VL_ENOMEM, "out of memory", err);
    }
    opj_set_error_handler(w->codec, jw_on_error, w);
    opj_set_warning_handler(w->codec, jw_quiet, w);
    opj_set_info_handler(w->codec, jw_quiet, w);
    vl_liberr_clear(&w->lerr);
    if (!opj_setup_encoder(w->codec, &p, w->image)
        || !opj_encoder_set_extra_options(w->codec, extra))
    {
        return jw_fail(w, VL_ECODEC, "cannot set up the JPEG 2000 encoder",
                       err);
    }
    if (ncpu > 1) {
        opj_codec_set_threads(w->codec, (int) ncpu);
    }
    if ((w->fd = vl_convert_tmp(path, 1, &w->tmp)) < 0 || jw_header(w) != 0) {
        return jw_fail(w, VL_EIO, "cannot create the output JPEG 2000", err);
    }
    w->stream = opj_stream_create(OPJ_J2K_STREAM_CHUNK_SIZE, OPJ_FALSE);
    if (w->stream == NULL) {
        return jw_fail(w, VL_ENOMEM, "out of memory", err);
    }
    opj_stream_set_user_data(w->stream, w, NULL);
    opj_stream_set_write_function(w->stream, jw_write);
    opj_stream_set_skip_function(w->stream, jw_skip);
    opj_stream_set_seek_function(w->stream, jw_seek);
    if (!opj_start_compress(w->codec, w->image, w->stream)) {
        return jw_fail(w, VL_ECODEC, "cannot start the JPEG 2000 codestream",
                       err);
    }
    w->started = 1;
    *band_h = w->tile;
    return w;
}

int
vl_jp2w_put(vl_jp2w_t *w, const vl_image_t *band, vl_err_t *err)
{
    int      nb = w->g->bands;
    uint32_t th = band->h;

    for (uint32_t tx = 0; tx < w->cols; tx++) {
        uint32_t x0 = tx * w->tile;
        uint32_t tw = w->g->width - x0 < w->tile ? w->g->width - x0 : w->tile;
        size_t   plane = (size_t) tw * th;

        for (int b = 0; b < nb; b++) {
            unsigned char *d = w->buf + plane * (size_t) b;

            for (uint32_t y = 0; y < th; y++) {
                const unsigned char *s =
                    VL_IMAGE_ROW(band, y) + (size_t) x0 * nb + b;

                for (uint32_t x = 0; x < tw; x++) {
                    *d++ = s[(size_t) x * nb];
                }
            }
        }
        vl_liberr_clear(&w->lerr);
        if (!opj_write_tile(w->codec, w->next_ty * w->cols + tx, w->buf,
                            (OPJ_UINT32) (plane * (size_t) nb), w->stream))
        {
            return vl_liberr_fail(&w->lerr, "cannot encode a JPEG 2000 tile",
                                  "OpenJPEG error", err);
        }
    }
    w->next_ty++;
    return VL_OK;
}

int
vl_jp2w_finish(vl_jp2w_t *w, vl_err_t *err)
{
    int rc = VL_OK;

    vl_liberr_clear(&w->lerr);
    if (!opj_end_compress(w->codec, w->stream)) {
        rc = vl_liberr_fail(&w->lerr, "cannot finish the JPEG 2000 file",
                            "OpenJPEG error", err);
    }
    opj_stream_destroy(w->stream); /* flushes what it buffered */
    w->stream = NULL;
    if (rc == VL_OK) {
        /* the jp2c box's length, now that the codestream has one */
        off_t         end = lseek(w->fd, 0, SEEK_END);
        uint64_t      n = (uint64_t) (end - w->base) + 16;
        unsigned char b[8];

        for (int i = 0; i < 8; i++) {
            b[i] = (unsigned char) (n >> (56 - 8 * i));
        }
        if (end < 0 || pwrite(w->fd, b, 8, w->base - 8) != 8
            || close(w->fd) != 0) {
            rc = vl_err_set(err, VL_EIO, "cannot write the JPEG 2000 file");
        }
        w->fd = -1;
    }
    if (rc == VL_OK && rename(w->tmp, w->g->opts->out_jp2) != 0) {
        rc = vl_err_set(err, VL_EIO, "cannot rename the output JPEG 2000: %s",
                        strerror(errno));
    }
    if (rc != VL_OK) {
        vl_jp2w_abort(w);
        return rc;
    }
    vl_convert_tmp_release(w->tmp);
    jw_free(w);
    return VL_OK;
}
