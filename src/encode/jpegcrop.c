/* SPDX-License-Identifier: MIT */
/*
 * jpegcrop: stored JPEG tiles sent as they are. A marker scan decides
 * whether a stream can go out unchanged (size, colour interpretation, ICC),
 * turbojpeg's lossless transform crops padded edge tiles in the DCT domain
 * (never a re-encode), and ICC profiles go in as APP2 segments. One
 * transform handle per call; buffers live in the caller's pool (turbojpeg's
 * own output is freed by a pool cleanup). Thread-safe.
 */
#include "config.h"

#include <string.h>

#include <turbojpeg.h>

#include "encode/jpegcrop.h"

#define JPEGCROP_ICC_SIG     "ICC_PROFILE"  /* + NUL = 12 bytes */
#define JPEGCROP_ICC_HDR     14             /* signature, seq, count */
#define JPEGCROP_ICC_CHUNK   (65535 - 2 - JPEGCROP_ICC_HDR)

static unsigned
jpegcrop_u16(const unsigned char *p)
{
    return ((unsigned) p[0] << 8) | p[1];
}

/* The colour interpretation libjpeg (and so nearly every decoder) gives a
 * three-component stream: JFIF means YCbCr, an Adobe marker says it with
 * its transform flag, and without either the component ids decide (1,2,3
 * or 0,1,2 are YCbCr by convention; 'R','G','B' are RGB to libjpeg, as
 * libtiff writes RGB-photometric tiles, but not to every decoder). */
static int
jpegcrop_is_ycc(int jfif, int adobe, int transform, const unsigned ids[3])
{
    if (jfif) {
        return 1;
    }
    if (adobe) {
        return transform == 1;
    }
    return (ids[0] == 1 && ids[1] == 2 && ids[2] == 3)
           || (ids[0] == 0 && ids[1] == 1 && ids[2] == 2);
}

int
vl_jpegcrop_scan(const unsigned char *data, size_t len, vl_jpeg_head_t *head,
                 vl_err_t *err)
{
    vl_jpeg_head_t h;
    unsigned       ids[3] = { 0, 0, 0 };
    int            jfif = 0, adobe = 0, transform = -1, sof = 0;
    size_t         pos = 2;

    memset(&h, 0, sizeof(h));
    if (len < 4 || data[0] != 0xff || data[1] != 0xd8) {
        return vl_err_set(err, VL_ECODEC, "not a JPEG stream");
    }
    for (;;) {
        const unsigned char *seg;
        unsigned             m;
        size_t               seglen;

        if (pos >= len || data[pos] != 0xff) {
            return vl_err_set(err, VL_ECODEC, "damaged JPEG marker");
        }
        while (pos < len && data[pos] == 0xff) {
            pos++;              /* fill bytes */
        }
        if (pos >= len) {
            return vl_err_set(err, VL_ECODEC, "truncated JPEG stream");
        }
        m = data[pos++];
        if (m == 0x01 || (m >= 0xd0 && m <= 0xd7)) {
            continue;           /* TEM, RSTn: no length */
        }
        if (m == 0xd8 || m == 0xd9 || m == 0x00) {
            return vl_err_set(err, VL_ECODEC, "JPEG stream without a scan");
        }
        if (len - pos < 2 || jpegcrop_u16(data + pos) < 2
            || jpegcrop_u16(data + pos) > len - pos) {
            return vl_err_set(err, VL_ECODEC, "truncated JPEG segment");
        }
        seg = data + pos + 2;
        seglen = jpegcrop_u16(data + pos) - 2;
        pos += seglen + 2;

        if (m == 0xda) {
            break;              /* SOS: the header is complete */
        }
        switch (m) {
        case 0xc0:              /* baseline, extended, progressive Huffman */
        case 0xc1:
        case 0xc2:
            if (seglen < 6 || seglen < 6 + 3 * (size_t) seg[5]) {
                return vl_err_set(err, VL_ECODEC, "damaged JPEG frame header");
            }
            if (seg[0] != 8) {
                return vl_err_set(err, VL_EUNSUPP,
                                  "JPEG tile is not 8-bit");
            }
            h.height = jpegcrop_u16(seg + 1);
            h.width = jpegcrop_u16(seg + 3);
            h.components = seg[5];
            if (h.components == 3) {
                ids[0] = seg[6];
                ids[1] = seg[9];
                ids[2] = seg[12];
            }
            sof = 1;
            break;
        case 0xc3: case 0xc5: case 0xc6: case 0xc7:
        case 0xc9: case 0xca: case 0xcb:
        case 0xcd: case 0xce: case 0xcf:
            return vl_err_set(err, VL_EUNSUPP,
                              "lossless, hierarchical or arithmetic JPEG");
        case 0xe0:
            if (seglen >= 5 && memcmp(seg, "JFIF", 5) == 0) {
                jfif = 1;
            }
            break;
        case 0xe2:
            if (seglen >= JPEGCROP_ICC_HDR
                && memcmp(seg, JPEGCROP_ICC_SIG, 12) == 0) {
                h.has_icc = 1;
            }
            break;
        case 0xee:
            if (seglen >= 12 && memcmp(seg, "Adobe", 5) == 0) {
                adobe = 1;
                transform = seg[11];
            }
            break;
        default:
            break;
        }
    }
    if (!sof || h.width == 0 || h.height == 0) {
        return vl_err_set(err, VL_ECODEC, "JPEG stream without a frame");
    }
    if (h.components != 1 && h.components != 3) {
        return vl_err_set(err, VL_EUNSUPP, "JPEG with %d components",
                          h.components);
    }
    h.ycc = h.components == 3 && jpegcrop_is_ycc(jfif, adobe, transform, ids);
    h.rgb = h.components == 3 && !jfif && adobe && transform == 0;
    h.rgb_ids = h.components == 3 && !jfif && !adobe && ids[0] == 'R'
                && ids[1] == 'G' && ids[2] == 'B';
    *head = h;
    return VL_OK;
}

int
vl_jpegcrop_add_icc(vl_pool_t *pool, const unsigned char *data, size_t len,
                    const unsigned char *icc, size_t icc_len,
                    unsigned char **out, size_t *out_len, vl_err_t *err)
{
    size_t         chunks, at = 2, total, o, done = 0;
    unsigned char *buf;

    if (len < 4 || data[0] != 0xff || data[1] != 0xd8) {
        return vl_err_set(err, VL_ECODEC, "not a JPEG stream");
    }
    if (icc_len == 0) {
        *out = (unsigned char *) data;
        *out_len = len;
        return VL_OK;
    }
    chunks = (icc_len + JPEGCROP_ICC_CHUNK - 1) / JPEGCROP_ICC_CHUNK;
    if (chunks > 255) {
        return vl_err_set(err, VL_EUNSUPP, "ICC profile too large for JPEG");
    }
    /* JFIF wants its APP0 right after SOI: the profile follows it */
    if (len - at >= 9 && data[at] == 0xff && data[at + 1] == 0xe0
        && memcmp(data + at + 4, "JFIF", 5) == 0
        && jpegcrop_u16(data + at + 2) + (size_t) 2 <= len - at) {
        at += 2 + jpegcrop_u16(data + at + 2);
    }
    total = len + chunks * (4 + JPEGCROP_ICC_HDR) + icc_len;
    if ((buf = vl_pool_alloc(pool, total)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    memcpy(buf, data, at);
    o = at;
    for (size_t i = 0; i < chunks; i++) {
        size_t n = icc_len - done < JPEGCROP_ICC_CHUNK ? icc_len - done
                                                       : JPEGCROP_ICC_CHUNK;
        size_t seglen = 2 + JPEGCROP_ICC_HDR + n;

        buf[o++] = 0xff;
        buf[o++] = 0xe2;
        buf[o++] = (unsigned char) (seglen >> 8);
        buf[o++] = (unsigned char) (seglen & 0xff);
        memcpy(buf + o, JPEGCROP_ICC_SIG, 12);    /* with its NUL */
        o += 12;
        buf[o++] = (unsigned char) (i + 1);
        buf[o++] = (unsigned char) chunks;
        memcpy(buf + o, icc + done, n);
        o += n;
        done += n;
    }
    memcpy(buf + o, data + at, len - at);
    *out = buf;
    *out_len = total;
    return VL_OK;
}

/* An Adobe APP14 segment saying "RGB, no colour transform" after SOI:
 * what libjpeg writes itself for RGB JPEGs, and what every decoder
 * honours. */
static int
jpegcrop_add_adobe(vl_pool_t *pool, unsigned char *data, size_t len,
                   size_t headroom, unsigned char **out, size_t *out_len,
                   vl_err_t *err)
{
    static const unsigned char adobe[16] = {
        0xff, 0xee, 0x00, 0x0e, 'A', 'd', 'o', 'b', 'e', 0x00, 0x64,
        0x00, 0x00, 0x00, 0x00, 0x00
    };
    unsigned char *buf;

    if (headroom >= sizeof(adobe)) {
        /* SOI moves back into the headroom and the marker follows it,
         * over the old SOI: the stream is not copied */
        buf = data - sizeof(adobe);
        buf[0] = 0xff;
        buf[1] = 0xd8;
        memcpy(buf + 2, adobe, sizeof(adobe));
        *out = buf;
        *out_len = len + sizeof(adobe);
        return VL_OK;
    }
    buf = vl_pool_alloc(pool, len + sizeof(adobe));

    if (buf == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    memcpy(buf, data, 2);
    memcpy(buf + 2, adobe, sizeof(adobe));
    memcpy(buf + 2 + sizeof(adobe), data + 2, len - 2);
    *out = buf;
    *out_len = len + sizeof(adobe);
    return VL_OK;
}

static void
jpegcrop_free(void *data)
{
    tjFree(data);
}

/* Top-left w x h of a larger stream, coefficients copied as they are: the
 * crop starts at (0,0), an iMCU corner, so no block is re-quantised; the
 * partial blocks at the new right/bottom edge keep their padding, which
 * decoders ignore. */
static int
jpegcrop_crop(vl_pool_t *pool, const unsigned char *data, size_t len,
              uint32_t w, uint32_t h, unsigned char **out, size_t *out_len,
              vl_err_t *err)
{
    tjhandle       tj;
    tjtransform    xf;
    unsigned char *dst = NULL;
    unsigned long  dst_len = 0;
    int            rc;

    if ((tj = tjInitTransform()) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "cannot create a JPEG transform");
    }
    memset(&xf, 0, sizeof(xf));
    xf.r.x = 0;
    xf.r.y = 0;
    xf.r.w = (int) w;
    xf.r.h = (int) h;
    xf.op = TJXOP_NONE;
    xf.options = TJXOPT_CROP;
    rc = tjTransform(tj, data, (unsigned long) len, 1, &dst, &dst_len, &xf,
                     0);
    if (rc != 0) {
        vl_err_set(err, VL_ECODEC, "lossless JPEG crop failed: %s",
                   tjGetErrorStr2(tj));
        tjFree(dst);
        tjDestroy(tj);
        return VL_ECODEC;
    }
    tjDestroy(tj);
    if (vl_pool_cleanup_add(pool, jpegcrop_free, dst) != 0) {
        tjFree(dst);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    *out = dst;
    *out_len = dst_len;
    return VL_OK;
}

int
vl_jpegcrop_passthrough(vl_pool_t *pool, const unsigned char *data,
                        size_t len, size_t headroom, uint32_t w, uint32_t h,
                        int bands,
                        const unsigned char *icc, size_t icc_len,
                        unsigned char **out, size_t *out_len, vl_err_t *err)
{
    vl_jpeg_head_t head;
    unsigned char *body = (unsigned char *) data;
    size_t         body_len = len;
    int            rc;

    if ((rc = vl_jpegcrop_scan(data, len, &head, err)) != VL_OK) {
        return rc;
    }
    if (bands == 1 ? head.components != 1
                   : bands != 3 || head.components != 3
                     || !(head.ycc || head.rgb || head.rgb_ids)) {
        return vl_err_set(err, VL_EUNSUPP,
                          "stored JPEG colours differ from the image's");
    }
    if (head.width < w || head.height < h) {
        return vl_err_set(err, VL_EUNSUPP,
                          "stored JPEG tile smaller than the request");
    }
    if (head.width != w || head.height != h) {
        rc = jpegcrop_crop(pool, data, len, w, h, &body, &body_len, err);
        if (rc != VL_OK) {
            return rc;
        }
        headroom = 0;           /* turbojpeg's buffer */
        if ((rc = vl_jpegcrop_scan(body, body_len, &head, err)) != VL_OK) {
            return rc;
        }
        if (head.width != w || head.height != h) {
            return vl_err_set(err, VL_ECODEC,
                              "lossless JPEG crop gave %ux%u, not %ux%u",
                              head.width, head.height, w, h);
        }
    }
    if (head.rgb_ids) {
        /* (a cropped stream was scanned again: libjpeg's encoder writes
         * the marker itself for RGB, so this is mostly the unchanged one) */
        rc = jpegcrop_add_adobe(pool, body, body_len, headroom, &body,
                                &body_len, err);
        if (rc != VL_OK) {
            return rc;
        }
    }
    if (icc != NULL && icc_len > 0 && !head.has_icc) {
        rc = vl_jpegcrop_add_icc(pool, body, body_len, icc, icc_len, &body,
                                 &body_len, err);
        if (rc != VL_OK) {
            return rc;
        }
    }
    *out = body;
    *out_len = body_len;
    return VL_OK;
}
