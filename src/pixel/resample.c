/* SPDX-License-Identifier: MIT */
/*
 * resample: vellum's scaling kernel. Separable, with per-axis weight tables
 * computed once per request; works on strips of output rows so the caller
 * reads only the source rows a strip needs. Large reductions first average
 * integer boxes, then a Lanczos3 widened by the residual factor does the
 * rest (antialiased); enlargement is Catmull-Rom. Alpha is premultiplied
 * while filtering. Scratch memory is float, from the pixel budget.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "core/str.h"
#include "pixel/pixel.h"

#define RS_EPS 1e-6

static double
rs_sinc(double x)
{
    if (fabs(x) < 1e-9) {
        return 1.0;
    }
    x *= M_PI;
    return sin(x) / x;
}

static double
rs_lanczos3(double x)
{
    x = fabs(x);
    return x < 3.0 ? rs_sinc(x) * rs_sinc(x / 3.0) : 0.0;
}

/* Catmull-Rom (Keys a = -0.5) */
static double
rs_cubic(double x)
{
    x = fabs(x);
    if (x < 1.0) {
        return (1.5 * x - 2.5) * x * x + 1.0;
    }
    if (x < 2.0) {
        return ((-0.5 * x + 2.5) * x - 4.0) * x + 2.0;
    }
    return 0.0;
}

static int
rs_axis_init(vl_pool_t *pool, vl_rs_axis_t *ax, uint32_t src_n, double s0,
             double s1, uint32_t out_n, int interp, vl_err_t *err)
{
    double  scale = (s1 - s0) / out_n, r, support, wscale;
    int     maxtaps;
    double *tmp;

    ax->src_n = src_n;
    ax->out_n = out_n;
    ax->box = 1;
    if (interp == VL_INTERP_LANCZOS && scale >= 4.0) {
        ax->box = (uint32_t) floor(scale / 2.0);
    }
    ax->in_n = (src_n + ax->box - 1) / ax->box;
    r = scale / ax->box;

    switch (interp) {
    case VL_INTERP_NEAREST:
        support = 0.5;
        wscale = 1.0;
        break;
    case VL_INTERP_BILINEAR:
        support = 1.0;
        wscale = 1.0;
        break;
    default:
        if (r > 1.0) {
            support = 3.0 * r;
            wscale = r;
        } else {
            support = 2.0;
            wscale = 1.0;
        }
        break;
    }
    maxtaps = (int) ceil(2.0 * support) + 2;
    if (maxtaps > (int) ax->in_n + 2) {
        maxtaps = (int) ax->in_n + 2;
    }
    ax->maxtaps = maxtaps;
    ax->start = vl_pool_calloc(pool, out_n, sizeof(*ax->start));
    ax->n = vl_pool_calloc(pool, out_n, sizeof(*ax->n));
    ax->w = vl_pool_calloc(pool, (size_t) out_n * (size_t) maxtaps,
                           sizeof(*ax->w));
    tmp = vl_pool_calloc(pool, ax->in_n, sizeof(*tmp));
    if (ax->start == NULL || ax->n == NULL || ax->w == NULL || tmp == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for weights");
    }

    for (uint32_t i = 0; i < out_n; i++) {
        /* centre of output pixel i in source, then in box-shrunk pixels */
        double  c = s0 + (i + 0.5) * scale - 0.5;
        double  cs = (c + 0.5) / ax->box - 0.5;
        long    lo, hi, first, last;
        double  sum = 0.0;

        if (interp == VL_INTERP_NEAREST) {
            long j = (long) floor(cs + 0.5);

            j = j < 0 ? 0 : j >= (long) ax->in_n ? (long) ax->in_n - 1 : j;
            ax->start[i] = (uint32_t) j;
            ax->n[i] = 1;
            ax->w[(size_t) i * maxtaps] = 1.0f;
            continue;
        }
        lo = (long) ceil(cs - support);
        hi = (long) floor(cs + support);
        first = (long) ax->in_n;
        last = -1;
        for (long j = lo; j <= hi; j++) {
            double d = (j - cs) / wscale, wt;
            long   k = j < 0 ? 0 : j >= (long) ax->in_n
                                   ? (long) ax->in_n - 1 : j;

            wt = interp == VL_INTERP_BILINEAR ? fmax(0.0, 1.0 - fabs(d))
                 : r > 1.0 ? rs_lanczos3(d) : rs_cubic(d);
            if (k < first) {
                first = k;
                tmp[k] = 0.0;
            }
            if (k > last) {
                if (k != first) {
                    tmp[k] = 0.0;
                }
                last = k;
            }
            tmp[k] += wt;
            sum += wt;
        }
        if (last < first || fabs(sum) < RS_EPS) {
            /* degenerate (cannot happen for sane kernels): nearest */
            long j = (long) floor(cs + 0.5);

            j = j < 0 ? 0 : j >= (long) ax->in_n ? (long) ax->in_n - 1 : j;
            first = last = j;
            tmp[j] = sum = 1.0;
        }
        /* drop zero weights at both ends: the reported rows are minimal */
        while (first < last && fabs(tmp[first] / sum) < RS_EPS) {
            first++;
        }
        while (last > first && fabs(tmp[last] / sum) < RS_EPS) {
            last--;
        }
        VL_ASSERT(last - first + 1 <= maxtaps);
        ax->start[i] = (uint32_t) first;
        ax->n[i] = (int) (last - first + 1);
        for (long j = first; j <= last; j++) {
            ax->w[(size_t) i * maxtaps + (size_t) (j - first)] =
                (float) (tmp[j] / sum);
        }
    }
    return VL_OK;
}

int
vl_resample_init(vl_pool_t *pool, vl_resample_t *rs, uint32_t src_w,
                 uint32_t src_h, int bands, double sx0, double sy0,
                 double sx1, double sy1, uint32_t out_w, uint32_t out_h,
                 int interp, vl_err_t *err)
{
    int rc;

    memset(rs, 0, sizeof(*rs));
    rs->pool = pool;
    rs->bands = bands;
    if (sx1 - sx0 == (double) out_w && sy1 - sy0 == (double) out_h
        && sx0 == floor(sx0) && sy0 == floor(sy0) && sx0 >= 0 && sy0 >= 0
        && sx0 + out_w <= src_w && sy0 + out_h <= src_h) {
        rs->identity = 1;
        rs->ox = (uint32_t) sx0;
        rs->oy = (uint32_t) sy0;
    }
    if ((rc = rs_axis_init(pool, &rs->x, src_w, sx0, sx1, out_w, interp,
                           err)) != VL_OK) {
        return rc;
    }
    return rs_axis_init(pool, &rs->y, src_h, sy0, sy1, out_h, interp, err);
}

void
vl_resample_rows(const vl_resample_t *rs, uint32_t y0, uint32_t y1,
                 uint32_t *r0, uint32_t *r1)
{
    uint32_t lo = UINT32_MAX, hi = 0;

    if (rs->identity) {
        *r0 = rs->oy + y0;
        *r1 = rs->oy + y1;
        return;
    }
    for (uint32_t y = y0; y < y1; y++) {
        uint32_t e = rs->y.start[y] + (uint32_t) rs->y.n[y];

        lo = rs->y.start[y] < lo ? rs->y.start[y] : lo;
        hi = e > hi ? e : hi;
    }
    *r0 = lo * rs->y.box;
    hi *= rs->y.box;
    *r1 = hi > rs->y.src_n ? rs->y.src_n : hi;
}

static float *
rs_scratch(vl_resample_t *rs, size_t nfloats, vl_err_t *err)
{
    size_t bytes;

    if (nfloats <= rs->scratch_len) {
        return rs->scratch;
    }
    if (nfloats < rs->scratch_len * 2) {
        nfloats = rs->scratch_len * 2;
    }
    if (vl_size_mul(nfloats, sizeof(float), &bytes) != 0) {
        vl_err_set(err, VL_ELIMIT, "resample scratch too large");
        return NULL;
    }
    rs->scratch = vl_pix_alloc(rs->pool, bytes, err);
    rs->scratch_len = rs->scratch != NULL ? nfloats : 0;
    return rs->scratch;
}

/* Box-average source rows of box row k (premultiplied) into dst. */
static void
rs_box_row(const vl_resample_t *rs, const vl_image_t *in, uint32_t r0,
           uint32_t k, float *dst)
{
    int      nb = rs->bands, alpha = (nb == 2 || nb == 4);
    uint32_t bx = rs->x.box, by = rs->y.box;
    uint32_t ys = k * by, ye = ys + by;

    if (ye > rs->y.src_n) {
        ye = rs->y.src_n;
    }
    for (uint32_t j = 0; j < rs->x.in_n; j++) {
        uint32_t xs = j * bx, xe = xs + bx;
        float    acc[4] = { 0, 0, 0, 0 };

        if (xe > rs->x.src_n) {
            xe = rs->x.src_n;
        }
        for (uint32_t y = ys; y < ye; y++) {
            const unsigned char *p = VL_IMAGE_ROW(in, y - r0) + xs * nb;

            for (uint32_t x = xs; x < xe; x++, p += nb) {
                if (alpha) {
                    float a = p[nb - 1];

                    for (int b = 0; b < nb - 1; b++) {
                        acc[b] += p[b] * a * (1.0f / 255.0f);
                    }
                    acc[nb - 1] += a;
                } else {
                    for (int b = 0; b < nb; b++) {
                        acc[b] += p[b];
                    }
                }
            }
        }
        for (int b = 0; b < nb; b++) {
            dst[(size_t) j * nb + b] =
                acc[b] / (float) ((ye - ys) * (xe - xs));
        }
    }
}

/* Horizontal pass of one (box-shrunk, premultiplied) row. */
static void
rs_hpass(const vl_rs_axis_t *ax, int nb, const float *src, float *dst)
{
    for (uint32_t i = 0; i < ax->out_n; i++) {
        const float *w = ax->w + (size_t) i * ax->maxtaps;
        const float *p = src + (size_t) ax->start[i] * nb;
        float        acc[4] = { 0, 0, 0, 0 };

        for (int k = 0; k < ax->n[i]; k++, p += nb) {
            for (int b = 0; b < nb; b++) {
                acc[b] += w[k] * p[b];
            }
        }
        for (int b = 0; b < nb; b++) {
            dst[(size_t) i * nb + b] = acc[b];
        }
    }
}

static unsigned char
rs_clamp(float v)
{
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (unsigned char) (v + 0.5f);
}

int
vl_resample_strip(vl_resample_t *rs, const vl_image_t *in, uint32_t r0,
                  uint32_t y0, uint32_t y1, vl_image_t *out, vl_err_t *err)
{
    int      nb = rs->bands, alpha = (nb == 2 || nb == 4);
    uint32_t k0 = UINT32_MAX, k1 = 0, nk, ow = rs->x.out_n;
    size_t   inrow, hrow;
    float   *boxed, *hbuf, *acc;

    if (rs->identity) {
        for (uint32_t y = y0; y < y1; y++) {
            memcpy(VL_IMAGE_ROW(out, y - y0),
                   VL_IMAGE_ROW(in, rs->oy + y - r0) + (size_t) rs->ox * nb,
                   (size_t) ow * nb);
        }
        return VL_OK;
    }
    for (uint32_t y = y0; y < y1; y++) {
        uint32_t e = rs->y.start[y] + (uint32_t) rs->y.n[y];

        k0 = rs->y.start[y] < k0 ? rs->y.start[y] : k0;
        k1 = e > k1 ? e : k1;
    }
    VL_ASSERT(k0 * rs->y.box >= r0);
    nk = k1 - k0;
    inrow = (size_t) rs->x.in_n * nb;
    hrow = (size_t) ow * nb;
    boxed = rs_scratch(rs, inrow + (size_t) nk * hrow + hrow, err);
    if (boxed == NULL) {
        return err != NULL ? err->code : VL_ENOMEM;
    }
    hbuf = boxed + inrow;
    acc = hbuf + (size_t) nk * hrow;

    for (uint32_t k = k0; k < k1; k++) {
        rs_box_row(rs, in, r0, k, boxed);
        rs_hpass(&rs->x, nb, boxed, hbuf + (size_t) (k - k0) * hrow);
    }
    for (uint32_t y = y0; y < y1; y++) {
        const float   *w = rs->y.w + (size_t) y * rs->y.maxtaps;
        const float   *row = hbuf + (size_t) (rs->y.start[y] - k0) * hrow;
        unsigned char *o = VL_IMAGE_ROW(out, y - y0);

        memset(acc, 0, hrow * sizeof(float));
        for (int t = 0; t < rs->y.n[y]; t++, row += hrow) {
            float wt = w[t];

            for (size_t i = 0; i < hrow; i++) {
                acc[i] += wt * row[i];
            }
        }
        for (uint32_t i = 0; i < ow; i++) {
            float *px = acc + (size_t) i * nb;

            if (alpha) {
                float a = px[nb - 1];

                for (int b = 0; b < nb - 1; b++) {
                    o[b] = a > 0.0f ? rs_clamp(px[b] * 255.0f / a) : 0;
                }
                o[nb - 1] = rs_clamp(a);
            } else {
                for (int b = 0; b < nb; b++) {
                    o[b] = rs_clamp(px[b]);
                }
            }
            o += nb;
        }
    }
    return VL_OK;
}

int
vl_resample_image(vl_pool_t *pool, const vl_image_t *in, double sx0,
                  double sy0, double sx1, double sy1, uint32_t out_w,
                  uint32_t out_h, int interp, vl_image_t *out,
                  vl_err_t *err)
{
    vl_resample_t rs;
    vl_image_t    band;
    uint32_t      r0, r1;
    int           rc;

    if ((rc = vl_resample_init(pool, &rs, in->w, in->h, in->bands, sx0, sy0,
                               sx1, sy1, out_w, out_h, interp, err)) != VL_OK
        || (rc = vl_image_new(pool, out_w, out_h, in->bands, out, err))
           != VL_OK) {
        return rc;
    }
    vl_resample_rows(&rs, 0, out_h, &r0, &r1);
    band = *in;
    band.data = VL_IMAGE_ROW(in, r0);
    band.h = r1 - r0;
    return vl_resample_strip(&rs, &band, r0, 0, out_h, out, err);
}

int
vl_pix_box_shrink(vl_pool_t *pool, const vl_image_t *in, uint32_t fx,
                  uint32_t fy, vl_image_t *out, vl_err_t *err)
{
    vl_resample_t rs;
    float        *row;
    size_t        n;
    int           rc, nb = in->bands;

    memset(&rs, 0, sizeof(rs));
    rs.bands = nb;
    rs.x.src_n = in->w;
    rs.x.box = fx;
    rs.x.in_n = (in->w + fx - 1) / fx;
    rs.y.src_n = in->h;
    rs.y.box = fy;
    rs.y.in_n = (in->h + fy - 1) / fy;
    if ((rc = vl_image_new(pool, rs.x.in_n, rs.y.in_n, nb, out, err))
        != VL_OK) {
        return rc;
    }
    n = (size_t) rs.x.in_n * nb;
    if ((row = vl_pix_alloc(pool, n * sizeof(float), err)) == NULL) {
        return err != NULL ? err->code : VL_ENOMEM;
    }
    for (uint32_t k = 0; k < rs.y.in_n; k++) {
        unsigned char *o = VL_IMAGE_ROW(out, k);

        rs_box_row(&rs, in, 0, k, row);
        for (uint32_t i = 0; i < rs.x.in_n; i++, o += nb) {
            const float *px = row + (size_t) i * nb;

            if (nb == 2 || nb == 4) {
                float a = px[nb - 1];

                for (int b = 0; b < nb - 1; b++) {
                    o[b] = a > 0.0f ? rs_clamp(px[b] * 255.0f / a) : 0;
                }
                o[nb - 1] = rs_clamp(a);
            } else {
                for (int b = 0; b < nb; b++) {
                    o[b] = rs_clamp(px[b]);
                }
            }
        }
    }
    return VL_OK;
}
