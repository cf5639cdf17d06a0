/* SPDX-License-Identifier: MIT */
/*
 * rotate: mirror and right-angle rotations by index mapping (exact), and
 * arbitrary rotation by bicubic sampling on premultiplied alpha into the
 * bounding box. Rotations work on whole images (the planner bounds their
 * size); every output buffer comes from the pixel budget.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "pixel/pixel.h"

/* Mirror of 16-bit pixels (uint16 samples). */
static void
rot_mirror16(vl_image_t *img)
{
    int nb = img->bands;

    for (uint32_t y = 0; y < img->h; y++) {
        uint16_t *l = (uint16_t *) (void *) VL_IMAGE_ROW(img, y);
        uint16_t *r = l + (size_t) (img->w - 1) * nb;

        for (; l < r; l += nb, r -= nb) {
            for (int b = 0; b < nb; b++) {
                uint16_t t = l[b];

                l[b] = r[b];
                r[b] = t;
            }
        }
    }
}

void
vl_pix_mirror(vl_image_t *img)
{
    int nb = img->bands;

    if (img->depth == 2) {
        rot_mirror16(img);
        return;
    }

    for (uint32_t y = 0; y < img->h; y++) {
        unsigned char *l = VL_IMAGE_ROW(img, y);
        unsigned char *r = l + (size_t) (img->w - 1) * nb;

        for (; l < r; l += nb, r -= nb) {
            for (int b = 0; b < nb; b++) {
                unsigned char t = l[b];

                l[b] = r[b];
                r[b] = t;
            }
        }
    }
}

int
vl_pix_rotate_right(vl_pool_t *pool, const vl_image_t *in, int degrees,
                    vl_image_t *out, vl_err_t *err)
{
    int      depth = in->depth == 2 ? 2 : 1, rc;
    size_t   nb = (size_t) in->bands * (size_t) depth;  /* pixel bytes */
    uint32_t w = in->w, h = in->h;
    int      swap = (degrees == 90 || degrees == 270);

    VL_ASSERT(degrees == 90 || degrees == 180 || degrees == 270);
    if ((rc = vl_image_new_depth(pool, swap ? h : w, swap ? w : h, in->bands,
                                 depth, out, err)) != VL_OK) {
        return rc;
    }
    /* output (ox, oy) takes input:
     *   90:  (oy, h - 1 - ox)     180: (w - 1 - ox, h - 1 - oy)
     *   270: (w - 1 - oy, ox) */
    for (uint32_t oy = 0; oy < out->h; oy++) {
        unsigned char *o = VL_IMAGE_ROW(out, oy);

        for (uint32_t ox = 0; ox < out->w; ox++, o += nb) {
            uint32_t ix, iy;

            if (degrees == 90) {
                ix = oy;
                iy = h - 1 - ox;
            } else if (degrees == 180) {
                ix = w - 1 - ox;
                iy = h - 1 - oy;
            } else {
                ix = w - 1 - oy;
                iy = ox;
            }
            memcpy(o, VL_IMAGE_ROW(in, iy) + (size_t) ix * nb, nb);
        }
    }
    return VL_OK;
}

static void
rot_cubic_weights(double t, float w[4])
{
    /* Catmull-Rom weights for taps -1, 0, 1, 2 at fraction t */
    double t2 = t * t, t3 = t2 * t;

    w[0] = (float) (-0.5 * t3 + t2 - 0.5 * t);
    w[1] = (float) (1.5 * t3 - 2.5 * t2 + 1.0);
    w[2] = (float) (-1.5 * t3 + 2.0 * t2 + 0.5 * t);
    w[3] = (float) (0.5 * t3 - 0.5 * t2);
}

/* vl_pix_rotate_any on 16-bit samples: the same sampling, alpha
 * premultiplied on 0..65535. */
static int
rot_any16(vl_pool_t *pool, const vl_image_t *in, double degrees,
          uint32_t out_w, uint32_t out_h, vl_image_t *out, vl_err_t *err)
{
    int    nb = in->bands, alpha = (nb == 2 || nb == 4);
    int    ob = alpha ? nb : nb + 1, nc = ob - 1, rc;
    double th = degrees * M_PI / 180.0, c = cos(th), s = sin(th);
    double icx = in->w / 2.0, icy = in->h / 2.0;
    double ocx = out_w / 2.0, ocy = out_h / 2.0;

    if ((rc = vl_image_new_depth(pool, out_w, out_h, ob, 2, out, err))
        != VL_OK) {
        return rc;
    }
    for (uint32_t oy = 0; oy < out_h; oy++) {
        uint16_t *o = (uint16_t *) (void *) VL_IMAGE_ROW(out, oy);
        double    dy = oy + 0.5 - ocy;

        for (uint32_t ox = 0; ox < out_w; ox++, o += ob) {
            double dx = ox + 0.5 - ocx;
            double u = dx * c + dy * s + icx - 0.5;
            double v = -dx * s + dy * c + icy - 0.5;
            double fu = floor(u), fv = floor(v);
            long   x0 = (long) fu - 1, y0 = (long) fv - 1;
            float  wx[4], wy[4];
            double acc[4] = { 0, 0, 0, 0 };

            if (u < -1.0 || v < -1.0 || u > in->w || v > in->h) {
                memset(o, 0, (size_t) ob * sizeof(*o));
                continue;
            }
            rot_cubic_weights(u - fu, wx);
            rot_cubic_weights(v - fv, wy);
            for (int j = 0; j < 4; j++) {
                long            yy = y0 + j;
                const uint16_t *row;

                if (yy < 0 || yy >= (long) in->h) {
                    continue;
                }
                row = (const uint16_t *) (const void *) VL_IMAGE_ROW(in, yy);
                for (int i = 0; i < 4; i++) {
                    long            xx = x0 + i;
                    const uint16_t *p;
                    double          wt, a;

                    if (xx < 0 || xx >= (long) in->w) {
                        continue;
                    }
                    p = row + (size_t) xx * nb;
                    wt = (double) wx[i] * wy[j];
                    a = alpha ? p[nb - 1] : 65535.0;
                    for (int b = 0; b < nc; b++) {
                        acc[b] += wt * p[b] * a * (1.0 / 65535.0);
                    }
                    acc[nc] += wt * a;
                }
            }
            if (acc[nc] <= 0.5) {
                memset(o, 0, (size_t) ob * sizeof(*o));
                continue;
            }
            for (int b = 0; b < nc; b++) {
                double vv = acc[b] * 65535.0 / acc[nc];

                o[b] = vv <= 0 ? 0 : vv >= 65535.0 ? 65535
                       : (uint16_t) (vv + 0.5);
            }
            o[nc] = acc[nc] >= 65535.0 ? 65535 : (uint16_t) (acc[nc] + 0.5);
        }
    }
    return VL_OK;
}

int
vl_pix_rotate_any(vl_pool_t *pool, const vl_image_t *in, double degrees,
                  uint32_t out_w, uint32_t out_h, vl_image_t *out,
                  vl_err_t *err)
{
    int    nb = in->bands, alpha = (nb == 2 || nb == 4);
    int    ob = alpha ? nb : nb + 1, nc = ob - 1, rc;
    double th = degrees * M_PI / 180.0, c = cos(th), s = sin(th);
    double icx = in->w / 2.0, icy = in->h / 2.0;
    double ocx = out_w / 2.0, ocy = out_h / 2.0;

    if (in->depth == 2) {
        return rot_any16(pool, in, degrees, out_w, out_h, out, err);
    }
    if ((rc = vl_image_new(pool, out_w, out_h, ob, out, err)) != VL_OK) {
        return rc;
    }
    for (uint32_t oy = 0; oy < out_h; oy++) {
        unsigned char *o = VL_IMAGE_ROW(out, oy);
        double         dy = oy + 0.5 - ocy;

        for (uint32_t ox = 0; ox < out_w; ox++, o += ob) {
            /* inverse of a clockwise rotation (y down), pixel centres */
            double dx = ox + 0.5 - ocx;
            double u = dx * c + dy * s + icx - 0.5;
            double v = -dx * s + dy * c + icy - 0.5;
            double fu = floor(u), fv = floor(v);
            long   x0 = (long) fu - 1, y0 = (long) fv - 1;
            float  wx[4], wy[4], acc[4] = { 0, 0, 0, 0 };

            if (u < -1.0 || v < -1.0 || u > in->w || v > in->h) {
                memset(o, 0, (size_t) ob);
                continue;
            }
            rot_cubic_weights(u - fu, wx);
            rot_cubic_weights(v - fv, wy);
            for (int j = 0; j < 4; j++) {
                long                 yy = y0 + j;
                const unsigned char *row;

                if (yy < 0 || yy >= (long) in->h) {
                    continue;   /* outside: transparent */
                }
                row = VL_IMAGE_ROW(in, yy);
                for (int i = 0; i < 4; i++) {
                    long                 xx = x0 + i;
                    const unsigned char *p;
                    float                wt, a;

                    if (xx < 0 || xx >= (long) in->w) {
                        continue;
                    }
                    p = row + (size_t) xx * nb;
                    wt = wx[i] * wy[j];
                    a = alpha ? p[nb - 1] : 255.0f;
                    for (int b = 0; b < nc; b++) {
                        acc[b] += wt * p[b] * a * (1.0f / 255.0f);
                    }
                    acc[nc] += wt * a;
                }
            }
            if (acc[nc] <= 0.5f) {
                memset(o, 0, (size_t) ob);
                continue;
            }
            for (int b = 0; b < nc; b++) {
                float vv = acc[b] * 255.0f / acc[nc];

                o[b] = vv <= 0 ? 0 : vv >= 255 ? 255
                       : (unsigned char) (vv + 0.5f);
            }
            o[nc] = acc[nc] >= 255.0f ? 255 : (unsigned char) (acc[nc] + 0.5f);
        }
    }
    return VL_OK;
}
