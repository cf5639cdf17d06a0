/* SPDX-License-Identifier: MIT */
/*
 * resample: vellum's scaling kernel. Separable, with per-axis weight tables
 * (2.14 fixed point) computed once per request. Source rows stream in once
 * each: box-averaged for large reductions, filtered horizontally into a ring
 * of int16 rows, and each output row is filtered vertically from the ring
 * (SSE2 where available, AVX2 when the CPU has it: the scalar code gives
 * the same integers). Lanczos3
 * widened by the residual factor reduces, Catmull-Rom enlarges; alpha is
 * premultiplied while filtering. Buffers come from the pixel budget.
 */
#include "config.h"

#include <math.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif
/* AVX2 kernels compiled for that target alone and taken only when the CPU
 * reports it, so the default build needs no -mavx2 */
#if defined(__SSE2__) && defined(__x86_64__) \
    && (defined(__GNUC__) || defined(__clang__))
#define RS_AVX2 1
#include <immintrin.h>
#define RS_TARGET_AVX2 __attribute__((target("avx2")))
#endif

#include "core/str.h"
#include "pixel/pixel.h"

#define RS_EPS 1e-6
#define RS_ONE 16384        /* 1.0 in the 2.14 weights */
#define RS_PAD 8            /* int16 slack after each row: SIMD stores */

static int rs_isa_cap = 2;  /* vl_resample_isa */

int
vl_resample_isa(int cap)
{
    int old = rs_isa_cap;

    rs_isa_cap = cap;
    return old;
}

/* The AVX2 kernels may run: allowed and the CPU has them. */
static inline int
rs_avx2(void)
{
#ifdef RS_AVX2
    return rs_isa_cap >= 2 && __builtin_cpu_supports("avx2");
#else
    return 0;
#endif
}

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

/* The 2.14 fixed-point copy of the weights: each rounded, the rounding
 * residue given to the largest so every row sums to exactly 16384 (a
 * constant image stays constant). */
static int
rs_axis_quantise(vl_pool_t *pool, vl_rs_axis_t *ax, vl_err_t *err)
{
    ax->qtaps = (ax->maxtaps + 1) & ~1;
    ax->vec3 = ax->vec4 = ax->vec3w = 0;
    ax->wq = vl_pool_calloc(pool, (size_t) ax->out_n * (size_t) ax->qtaps,
                            sizeof(*ax->wq));
    ax->wv = vl_pool_calloc(pool, (size_t) ax->out_n * (size_t) ax->qtaps * 2,
                            sizeof(*ax->wv));
    if (ax->wq == NULL || ax->wv == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for weights");
    }
    for (uint32_t i = 0; i < ax->out_n; i++) {
        const float *w = ax->w + (size_t) i * ax->maxtaps;
        int16_t     *q = ax->wq + (size_t) i * ax->qtaps;
        long         sum = 0;
        int          big = 0;

        for (int k = 0; k < ax->n[i]; k++) {
            q[k] = (int16_t) lrintf(w[k] * RS_ONE);
            sum += q[k];
            big = fabsf(w[k]) > fabsf(w[big]) ? k : big;
        }
        q[big] = (int16_t) (q[big] + (RS_ONE - sum));
        /* the last 8-byte load of pixel i starts at tap start + 2 (np - 1)
         * and needs 8 bytes: 3 more pixels of 3 bands, 2 of 4 */
        {
            int64_t slack = (int64_t) ax->in_n - ax->start[i]
                            - 2 * (int64_t) ((ax->n[i] + 1) / 2 - 1);

            if (ax->vec3 == i && slack >= 3) {
                ax->vec3 = i + 1;
            }
            if (ax->vec4 == i && slack >= 2) {
                ax->vec4 = i + 1;
            }
            /* 16-byte loads of taps 4 at a time, the odd pair by 8 */
            if (ax->vec3w == i
                && slack >= ((ax->n[i] + 1) / 2 % 2 == 0 ? 4 : 3)) {
                ax->vec3w = i + 1;
            }
        }
        /* each pair of taps as one int32, four times (a vector operand) */
        for (int k = 0; k < ax->qtaps; k += 2) {
            int32_t pair = (int32_t) ((uint32_t) (uint16_t) q[k]
                                      | (uint32_t) (uint16_t) q[k + 1]
                                        << 16);

            for (int l = 0; l < 4; l++) {
                ax->wv[((size_t) i * ax->qtaps + (size_t) k) * 2 + l] = pair;
            }
        }
    }
    return VL_OK;
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
    return rs_axis_quantise(pool, ax, err);
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

int
vl_resample_init_depth(vl_pool_t *pool, vl_resample_t *rs, uint32_t src_w,
                       uint32_t src_h, int bands, int depth, double sx0,
                       double sy0, double sx1, double sy1, uint32_t out_w,
                       uint32_t out_h, int interp, vl_err_t *err)
{
    int rc = vl_resample_init(pool, rs, src_w, src_h, bands, sx0, sy0, sx1,
                              sy1, out_w, out_h, interp, err);

    rs->depth = depth == 2 ? 2 : 1;
    return rc;
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

/* Box-average source rows of box row k (premultiplied) into dst; float,
 * for vl_pix_box_shrink. */
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

static inline int16_t
rs_s16(int32_t v)
{
    return (int16_t) (v < -32768 ? -32768 : v > 32767 ? 32767 : v);
}

static unsigned char
rs_clamp(float v)
{
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (unsigned char) (v + 0.5f);
}

static inline unsigned char
rs_u8(int32_t v)
{
    return (unsigned char) (v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Horizontal filter of output pixel i from 8-bit samples (scalar). The
 * result keeps 6 fractional bits. */
static inline void
rs_h_px_u8(const vl_rs_axis_t *ax, int nb, const unsigned char *src,
           uint32_t i, int16_t *dst)
{
    const int16_t       *w = ax->wq + (size_t) i * ax->qtaps;
    const unsigned char *p = src + (size_t) ax->start[i] * nb;

    for (int b = 0; b < nb; b++) {
        int32_t acc = 1 << 7;

        for (int k = 0; k < ax->n[i]; k++) {
            acc += w[k] * p[k * nb + b];
        }
        dst[(size_t) i * nb + b] = rs_s16(acc >> 8);
    }
}

/* The same from int16 samples with 6 fractional bits. */
static inline void
rs_h_px_s16(const vl_rs_axis_t *ax, int nb, const int16_t *src, uint32_t i,
            int16_t *dst)
{
    const int16_t *w = ax->wq + (size_t) i * ax->qtaps;
    const int16_t *p = src + (size_t) ax->start[i] * nb;

    for (int b = 0; b < nb; b++) {
        int32_t acc = 1 << 13;

        for (int k = 0; k < ax->n[i]; k++) {
            acc += w[k] * p[k * nb + b];
        }
        dst[(size_t) i * nb + b] = rs_s16(acc >> 14);
    }
}

#ifdef __SSE2__
/* Two taps of all bands of output pixel i through one multiply-add: the
 * samples of pixels j and j + 1 are interleaved band by band (nb is a
 * constant at each call, so the shifts are immediates). s16 selects int16
 * input (6 fractional bits) instead of bytes. */
static inline __attribute__((always_inline)) void
rs_h_px_sse2(const vl_rs_axis_t *ax, const int nb, const int s16,
             const void *src, uint32_t i, int16_t *dst)
{
    const __m128i *w = (const __m128i *) (const void *)
                       (ax->wv + (size_t) i * ax->qtaps * 2);
    int            np = (ax->n[i] + 1) >> 1;
    size_t         o = (size_t) ax->start[i] * nb;
    __m128i        acc = _mm_set1_epi32(s16 ? 1 << 13 : 1 << 7);
    __m128i        zero = _mm_setzero_si128();

    for (int k = 0; k < np; k++, o += 2 * (size_t) nb) {
        __m128i x, y;

        if (s16) {
            x = _mm_loadu_si128((const __m128i *) (const void *)
                                ((const int16_t *) src + o));
        } else {
            x = _mm_unpacklo_epi8(
                _mm_loadl_epi64((const __m128i *) (const void *)
                                ((const unsigned char *) src + o)), zero);
        }
        y = nb == 3 ? _mm_srli_si128(x, 6) : _mm_srli_si128(x, 8);
        acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_unpacklo_epi16(x, y),
                                                _mm_loadu_si128(w + k)));
    }
    acc = _mm_srai_epi32(acc, s16 ? 14 : 8);
    _mm_storel_epi64((__m128i *) (void *) (dst + (size_t) i * nb),
                     _mm_packs_epi32(acc, acc));
}

/* The vector pass over a row of 8-bit samples; a pixel whose 8-byte loads
 * would pass the end of the row takes the scalar path. */
static inline __attribute__((always_inline)) void
rs_h_u8_sse2(const vl_rs_axis_t *ax, const int nb, const unsigned char *src,
             int16_t *dst)
{
    size_t   len = (size_t) ax->in_n * nb;
    uint32_t i = 0, safe = nb == 3 ? ax->vec3 : ax->vec4;

    for (; i < safe; i++) {
        rs_h_px_sse2(ax, nb, 0, src, i, dst);
    }
    for (; i < ax->out_n; i++) {
        int np = (ax->n[i] + 1) >> 1;

        if ((size_t) ax->start[i] * nb + (size_t) (np - 1) * 2 * nb + 8
            > len) {
            rs_h_px_u8(ax, nb, src, i, dst);
        } else {
            rs_h_px_sse2(ax, nb, 0, src, i, dst);
        }
    }
}
#endif

#ifdef RS_AVX2
/* Output pixel i of 3 bands four taps per multiply-add: one 16-byte load
 * holds pixels j .. j + 3, shuffled to the pairs (j, j + 1) and (j + 2,
 * j + 3) band by band in the two 128-bit lanes against the weight pairs k
 * and k + 1; an odd last pair goes through one lane. The same integer sums
 * as rs_h_px_sse2 (a fourth lane of zeros instead of a discarded one).
 * 8-bit rows of 4 bands carry alpha, premultiplied into int16 first. */
static inline __attribute__((always_inline)) RS_TARGET_AVX2 void
rs_h_px3_avx2(const int32_t *w, const unsigned char *p, int np,
              int16_t *dst, __m128i shuf)
{
    __m256i acc = _mm256_setzero_si256();
    __m128i a;

#define RS_G4(g)                                                             \
    acc = _mm256_add_epi32(                                                  \
        _mm256_madd_epi16(                                                   \
            _mm256_cvtepu8_epi16(_mm_shuffle_epi8(                           \
                _mm_loadu_si128((const __m128i *) (const void *)             \
                                (p + 12 * (g))), shuf)),                     \
            _mm256_loadu_si256((const __m256i *) (const void *)              \
                               (w + 8 * (g)))),                              \
        acc)
    /* the common group counts straight-line */
    switch (np >> 1) {
    case 3:
        RS_G4(2);
        /* fall through */
    case 2:
        RS_G4(1);
        /* fall through */
    case 1:
        RS_G4(0);
        /* fall through */
    case 0:
        break;
    default:
        for (int g = 0; g < np >> 1; g++) {
            RS_G4(g);
        }
        break;
    }
#undef RS_G4
    p += 12 * (np >> 1);
    w += 8 * (np >> 1);
    a = _mm_add_epi32(_mm256_castsi256_si128(acc),
                      _mm256_extracti128_si256(acc, 1));
    if (np & 1) {
        __m128i x = _mm_shuffle_epi8(
            _mm_loadl_epi64((const __m128i *) (const void *) p), shuf);

        a = _mm_add_epi32(a, _mm_madd_epi16(_mm_cvtepu8_epi16(x),
                                            _mm_loadu_si128(
                                                (const __m128i *)
                                                (const void *) w)));
    }
    a = _mm_srai_epi32(_mm_add_epi32(a, _mm_set1_epi32(1 << 7)), 8);
    _mm_storel_epi64((__m128i *) (void *) dst, _mm_packs_epi32(a, a));
}

/* The AVX2 pass over a row of 3-band 8-bit samples: the leading run of
 * safe outputs (vec3w), the rest as rs_h_u8_sse2 takes them. The axis
 * fields are read into locals once: the stores may alias them. */
static __attribute__((noinline)) RS_TARGET_AVX2 void
rs_h_u8_avx2(const vl_rs_axis_t *ax, const unsigned char *src, int16_t *dst)
{
    size_t          len = (size_t) ax->in_n * 3;
    size_t          ws = (size_t) ax->qtaps * 2;
    const uint32_t *start = ax->start;
    const int      *n = ax->n;
    const int32_t  *w = ax->wv;
    uint32_t        i = 0, safe = ax->vec3w;
    __m128i         shuf = _mm_setr_epi8(0, 3, 1, 4, 2, 5, -1, -1, 6, 9, 7,
                                         10, 8, 11, -1, -1);

    for (; i < safe; i++, w += ws) {
        rs_h_px3_avx2(w, src + (size_t) start[i] * 3, (n[i] + 1) >> 1,
                      dst + (size_t) i * 3, shuf);
    }
    for (; i < ax->out_n; i++) {
        int np = (ax->n[i] + 1) >> 1;

        if ((size_t) ax->start[i] * 3 + (size_t) (np - 1) * 6 + 8 > len) {
            rs_h_px_u8(ax, 3, src, i, dst);
        } else {
            rs_h_px_sse2(ax, 3, 0, src, i, dst);
        }
    }
}
#endif

/* Horizontal pass of one row of 8-bit samples into 6 fractional bits. dst
 * needs RS_PAD int16 of slack (the vector store writes 4 lanes). */
static void
rs_h_u8(const vl_rs_axis_t *ax, int nb, const unsigned char *src,
        int16_t *dst)
{
#ifdef RS_AVX2
    if (nb == 3 && rs_avx2()) {
        rs_h_u8_avx2(ax, src, dst);
        return;
    }
#endif
#ifdef __SSE2__
    if (nb == 3 && rs_isa_cap >= 1) {
        rs_h_u8_sse2(ax, 3, src, dst);
        return;
    }
    if (nb == 4 && rs_isa_cap >= 1) {
        rs_h_u8_sse2(ax, 4, src, dst);
        return;
    }
#endif
    for (uint32_t i = 0; i < ax->out_n; i++) {
        rs_h_px_u8(ax, nb, src, i, dst);
    }
}

/* Horizontal pass of one int16 row (RS_PAD slack after it). */
static void
rs_h_s16(const vl_rs_axis_t *ax, int nb, const int16_t *src, int16_t *dst)
{
#ifdef __SSE2__
    if (nb == 3 && rs_isa_cap >= 1) {
        for (uint32_t i = 0; i < ax->out_n; i++) {
            rs_h_px_sse2(ax, 3, 1, src, i, dst);
        }
        return;
    }
    if (nb == 4 && rs_isa_cap >= 1) {
        for (uint32_t i = 0; i < ax->out_n; i++) {
            rs_h_px_sse2(ax, 4, 1, src, i, dst);
        }
        return;
    }
#endif
    for (uint32_t i = 0; i < ax->out_n; i++) {
        rs_h_px_s16(ax, nb, src, i, dst);
    }
}

#ifdef RS_AVX2
/* rs_v_u8's vector loop 16 samples at a time; returns how many it did.
 * The in-lane unpacks leave samples 0-3, 8-11 in lo and 4-7, 12-15 in hi,
 * which the in-lane packs put back in order per lane. */
static __attribute__((noinline)) RS_TARGET_AVX2 size_t
rs_v_u8_avx2(const int16_t **rows, const int16_t *w, int np, size_t len,
             unsigned char *out)
{
    size_t  x = 0;
    __m256i rnd = _mm256_set1_epi32(1 << 19);

    for (; x + 16 <= len; x += 16) {
        __m256i lo = rnd, hi = rnd;

        for (int k = 0; k < np; k++) {
            __m256i a = _mm256_loadu_si256((const __m256i *) (const void *)
                                           (rows[2 * k] + x));
            __m256i b = _mm256_loadu_si256((const __m256i *) (const void *)
                                           (rows[2 * k + 1] + x));
            __m256i wv;
            int32_t wp;

            memcpy(&wp, w + 2 * k, sizeof(wp));
            wv = _mm256_set1_epi32(wp);
            lo = _mm256_add_epi32(
                lo, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), wv));
            hi = _mm256_add_epi32(
                hi, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), wv));
        }
        lo = _mm256_packs_epi32(_mm256_srai_epi32(lo, 20),
                                _mm256_srai_epi32(hi, 20));
        lo = _mm256_permute4x64_epi64(_mm256_packus_epi16(lo, lo),
                                      _MM_SHUFFLE(3, 1, 2, 0));
        _mm_storeu_si128((__m128i *) (void *) (out + x),
                         _mm256_castsi256_si128(lo));
    }
    return x;
}
#endif

/* Vertical pass to 8 bits: out[x] = sum of w[t] * rows[t][x] over np
 * pairs of taps (weights zero-padded, the odd row a zero row), rounded. */
static void
rs_v_u8(const int16_t **rows, const int16_t *w, int np, size_t len,
        unsigned char *out)
{
    size_t x = 0;

#ifdef RS_AVX2
    if (rs_avx2()) {
        x = rs_v_u8_avx2(rows, w, np, len, out);
    }
#endif
#ifdef __SSE2__
    __m128i rnd = _mm_set1_epi32(1 << 19);

    for (; rs_isa_cap >= 1 && x + 8 <= len; x += 8) {
        __m128i lo = rnd, hi = rnd;

        for (int k = 0; k < np; k++) {
            __m128i a = _mm_loadu_si128((const __m128i *)
                                        (const void *) (rows[2 * k] + x));
            __m128i b = _mm_loadu_si128((const __m128i *)
                                        (const void *) (rows[2 * k + 1] + x));
            __m128i wv;
            int32_t wp;

            memcpy(&wp, w + 2 * k, sizeof(wp));
            wv = _mm_set1_epi32(wp);
            lo = _mm_add_epi32(lo, _mm_madd_epi16(_mm_unpacklo_epi16(a, b),
                                                  wv));
            hi = _mm_add_epi32(hi, _mm_madd_epi16(_mm_unpackhi_epi16(a, b),
                                                  wv));
        }
        lo = _mm_srai_epi32(lo, 20);
        hi = _mm_srai_epi32(hi, 20);
        lo = _mm_packs_epi32(lo, hi);
        _mm_storel_epi64((__m128i *) (void *) (out + x),
                         _mm_packus_epi16(lo, lo));
    }
#endif
    for (; x < len; x++) {
        int32_t acc = 1 << 19;

        for (int t = 0; t < 2 * np; t++) {
            acc += w[t] * rows[t][x];
        }
        out[x] = rs_u8(acc >> 20);
    }
}

/* Vertical pass keeping 6 fractional bits (premultiplied alpha). */
static void
rs_v_s32(const int16_t **rows, const int16_t *w, int np, size_t len,
         int32_t *out)
{
    for (size_t x = 0; x < len; x++) {
        int32_t acc = 1 << 13;

        for (int t = 0; t < 2 * np; t++) {
            acc += w[t] * rows[t][x];
        }
        out[x] = acc >> 14;
    }
}

static void *
rs_alloc(vl_resample_t *rs, size_t n, size_t size, vl_err_t *err)
{
    size_t bytes;

    if (vl_size_mul(n, size, &bytes) != 0) {
        vl_err_set(err, VL_ELIMIT, "resample buffer too large");
        return NULL;
    }
    return vl_pix_alloc(rs->pool, bytes, err);
}

/* The ring and its bookkeeping, sized from the weight tables: the ring
 * holds every box row between the lowest row a pending output may still
 * read and the highest row pushed before that output is ready. */
static int
rs_stream_plan(vl_resample_t *rs, vl_err_t *err)
{
    uint32_t oh = rs->y.out_n, e = 0, span = 1;

    rs->alpha = (rs->bands == 2 || rs->bands == 4);
    rs->kend = vl_pool_calloc(rs->pool, oh, sizeof(*rs->kend));
    rs->kmin = vl_pool_calloc(rs->pool, oh, sizeof(*rs->kmin));
    if (rs->kend == NULL || rs->kmin == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for resampling");
    }
    for (uint32_t y = 0; y < oh; y++) {
        uint32_t ey = rs->y.start[y] + (uint32_t) rs->y.n[y];

        rs->kend[y] = ey;
        e = ey > e ? ey : e;
        rs->kmin[y] = e;        /* running max, turned into span below */
    }
    for (uint32_t y = oh, m = UINT32_MAX; y-- > 0;) {
        uint32_t ecum = rs->kmin[y];

        m = rs->y.start[y] < m ? rs->y.start[y] : m;
        rs->kmin[y] = m;
        span = ecum - m > span ? ecum - m : span;
    }
    rs->ring_n = span;
    return VL_OK;
}

static int rs16_stream_alloc(vl_resample_t *rs, vl_err_t *err);

static int
rs_stream_alloc_all(vl_resample_t *rs, vl_err_t *err)
{
    uint32_t span;
    size_t   ow = (size_t) rs->x.out_n * rs->bands;
    int      rc;

    if ((rc = rs_stream_plan(rs, err)) != VL_OK) {
        return rc;
    }
    if (rs->depth == 2) {
        return rs16_stream_alloc(rs, err);
    }
    rs->taps = vl_pool_calloc(rs->pool, (size_t) rs->y.qtaps + 2,
                              sizeof(*rs->taps));
    if (rs->taps == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for resampling");
    }
    span = rs->ring_n;
    rs->ring_len = ow + RS_PAD;
    rs->ring = rs_alloc(rs, (size_t) span * rs->ring_len, sizeof(int16_t),
                        err);
    rs->zero = rs_alloc(rs, rs->ring_len, sizeof(int16_t), err);
    rs->ring_tag = rs_alloc(rs, span, sizeof(uint32_t), err);
    if (rs->ring == NULL || rs->zero == NULL || rs->ring_tag == NULL) {
        return err != NULL ? err->code : VL_ENOMEM;
    }
    memset(rs->zero, 0, rs->ring_len * sizeof(int16_t));
    if (rs->alpha || rs->x.box > 1 || rs->y.box > 1) {
        rs->conv = rs_alloc(rs, (size_t) rs->x.in_n * rs->bands + RS_PAD,
                            sizeof(int16_t), err);
        if (rs->conv == NULL) {
            return err != NULL ? err->code : VL_ENOMEM;
        }
        memset(rs->conv, 0, ((size_t) rs->x.in_n * rs->bands + RS_PAD)
                            * sizeof(int16_t));
    }
    if (rs->x.box > 1 || rs->y.box > 1) {
        rs->boxacc = rs_alloc(rs, (size_t) rs->x.in_n * rs->bands,
                              sizeof(uint64_t), err);
        if (rs->boxacc == NULL) {
            return err != NULL ? err->code : VL_ENOMEM;
        }
    }
    if (rs->alpha) {
        rs->vacc = rs_alloc(rs, ow, sizeof(int32_t), err);
        if (rs->vacc == NULL) {
            return err != NULL ? err->code : VL_ENOMEM;
        }
    }
    return VL_OK;
}

/* The streaming state, once (rs->kend set means all of it is there). */
static int
rs_stream_alloc(vl_resample_t *rs, vl_err_t *err)
{
    int rc = rs_stream_alloc_all(rs, err);

    if (rc != VL_OK) {
        rs->kend = NULL;        /* a later begin tries again */
    }
    return rc;
}

/* Restart streaming at output row y0 with box row kb as the first pushed. */
static int
rs_begin(vl_resample_t *rs, uint32_t y0, uint32_t kb, vl_err_t *err)
{
    int rc;

    if (rs->kend == NULL && (rc = rs_stream_alloc(rs, err)) != VL_OK) {
        return rc;
    }
    for (uint32_t s = 0; s < rs->ring_n; s++) {
        rs->ring_tag[s] = UINT32_MAX;
    }
    rs->next_y = y0;
    rs->next_row = kb * rs->y.box;
    return VL_OK;
}

int
vl_resample_begin(vl_resample_t *rs, uint32_t y0, uint32_t *r0,
                  vl_err_t *err)
{
    int rc;

    if (rs->kend == NULL && (rc = rs_stream_alloc(rs, err)) != VL_OK) {
        return rc;
    }
    y0 = y0 > rs->y.out_n ? rs->y.out_n : y0;
    if ((rc = rs_begin(rs, y0, y0 < rs->y.out_n ? rs->kmin[y0] : rs->y.in_n,
                       err)) != VL_OK) {
        return rc;
    }
    *r0 = rs->next_row > rs->y.src_n ? rs->y.src_n : rs->next_row;
    return VL_OK;
}

/* The ring slot for box row k. Evicting a row the next output may still
 * read would be a caller bug (pushing without draining). */
static int16_t *
rs_slot(vl_resample_t *rs, uint32_t k)
{
    uint32_t s = k % rs->ring_n, old = rs->ring_tag[s];

    VL_ASSERT(old == UINT32_MAX || rs->next_y >= rs->y.out_n
              || old < rs->kmin[rs->next_y]);
    rs->ring_tag[s] = k;
    return rs->ring + (size_t) s * rs->ring_len;
}

/* Premultiply one unboxed row into conv (6 fractional bits). */
static void
rs_premultiply(vl_resample_t *rs, const unsigned char *row)
{
    int nb = rs->bands;

    for (uint32_t j = 0; j < rs->x.in_n; j++, row += nb) {
        uint32_t a = row[nb - 1];
        int16_t *o = rs->conv + (size_t) j * nb;

        for (int b = 0; b < nb - 1; b++) {
            o[b] = (int16_t) ((row[b] * a * 64u + 127u) / 255u);
        }
        o[nb - 1] = (int16_t) (a << 6);
    }
}

/* Add one source row to the box sums (premultiplied: colour * alpha and
 * alpha * 255, so all lanes share the divisor). */
static void
rs_box_add(vl_resample_t *rs, const unsigned char *row)
{
    int      nb = rs->bands;
    uint32_t bx = rs->x.box, sn = rs->x.src_n;

    for (uint32_t j = 0; j < rs->x.in_n; j++) {
        uint64_t *acc = rs->boxacc + (size_t) j * nb;
        uint32_t  xe = (j + 1) * bx > sn ? sn : (j + 1) * bx;

        for (uint32_t x = j * bx; x < xe; x++) {
            const unsigned char *p = row + (size_t) x * nb;

            if (rs->alpha) {
                uint32_t a = p[nb - 1];

                for (int b = 0; b < nb - 1; b++) {
                    acc[b] += p[b] * a;
                }
                acc[nb - 1] += a * 255u;
            } else {
                for (int b = 0; b < nb; b++) {
                    acc[b] += p[b];
                }
            }
        }
    }
}

/* Box sums of box row k -> averages with 6 fractional bits in conv. */
static void
rs_box_finish(vl_resample_t *rs, uint32_t k)
{
    int      nb = rs->bands;
    uint32_t bx = rs->x.box, sn = rs->x.src_n, by = rs->y.box;
    uint32_t rows = (k + 1) * by > rs->y.src_n ? rs->y.src_n - k * by : by;
    uint64_t norm = rs->alpha ? 255u : 1u;

    for (uint32_t j = 0; j < rs->x.in_n; j++) {
        uint32_t xe = (j + 1) * bx > sn ? sn : (j + 1) * bx;
        uint64_t d = norm * rows * (xe - j * bx);

        for (int b = 0; b < nb; b++) {
            uint64_t v = rs->boxacc[(size_t) j * nb + b];

            rs->conv[(size_t) j * nb + b] = (int16_t) ((v * 64 + d / 2) / d);
        }
    }
}

static void rs16_push(vl_resample_t *rs, const uint16_t *row);
static void rs16_pop(vl_resample_t *rs, uint16_t *out);

void
vl_resample_push(vl_resample_t *rs, const unsigned char *row)
{
    uint32_t r, by, k, ke;

    if (rs->depth == 2) {
        rs16_push(rs, (const uint16_t *) (const void *) row);
        return;
    }
    r = rs->next_row++;
    by = rs->y.box;
    k = r / by;

    if (rs->x.box == 1 && by == 1) {
        if (!rs->alpha) {
            rs_h_u8(&rs->x, rs->bands, row, rs_slot(rs, k));
            return;
        }
        rs_premultiply(rs, row);
        rs_h_s16(&rs->x, rs->bands, rs->conv, rs_slot(rs, k));
        return;
    }
    if (r == k * by) {
        memset(rs->boxacc, 0,
               (size_t) rs->x.in_n * rs->bands * sizeof(uint64_t));
    }
    rs_box_add(rs, row);
    ke = (k + 1) * by > rs->y.src_n ? rs->y.src_n : (k + 1) * by;
    if (r + 1 == ke) {
        rs_box_finish(rs, k);
        rs_h_s16(&rs->x, rs->bands, rs->conv, rs_slot(rs, k));
    }
}

int
vl_resample_ready(const vl_resample_t *rs)
{
    uint32_t done;

    if (rs->next_y >= rs->y.out_n) {
        return 0;
    }
    done = rs->next_row >= rs->y.src_n ? rs->y.in_n
                                       : rs->next_row / rs->y.box;
    return rs->kend[rs->next_y] <= done;
}

void
vl_resample_pop(vl_resample_t *rs, unsigned char *out)
{
    uint32_t       y;
    int            n, nb = rs->bands;
    const int16_t *w;
    size_t         len = (size_t) rs->x.out_n * nb;

    if (rs->depth == 2) {
        rs16_pop(rs, (uint16_t *) (void *) out);
        return;
    }
    y = rs->next_y++;
    n = rs->y.n[y];
    w = rs->y.wq + (size_t) y * rs->y.qtaps;
    for (int t = 0; t < n; t++) {
        uint32_t k = rs->y.start[y] + (uint32_t) t, s = k % rs->ring_n;

        VL_ASSERT(rs->ring_tag[s] == k);
        rs->taps[t] = rs->ring + (size_t) s * rs->ring_len;
    }
    if (n & 1) {
        rs->taps[n] = rs->zero;
    }
    if (!rs->alpha) {
        rs_v_u8(rs->taps, w, (n + 1) >> 1, len, out);
        return;
    }
    rs_v_s32(rs->taps, w, (n + 1) >> 1, len, rs->vacc);
    for (uint32_t i = 0; i < rs->x.out_n; i++, out += nb) {
        const int32_t *px = rs->vacc + (size_t) i * nb;
        int32_t        a = px[nb - 1];

        for (int b = 0; b < nb - 1; b++) {
            out[b] = a > 0 ? rs_u8((px[b] * 255 + a / 2) / a) : 0;
        }
        out[nb - 1] = rs_u8((a + 32) >> 6);
    }
}

int
vl_resample_strip(vl_resample_t *rs, const vl_image_t *in, uint32_t r0,
                  uint32_t y0, uint32_t y1, vl_image_t *out, vl_err_t *err)
{
    size_t   nb = (size_t) rs->bands * (size_t) (rs->depth == 2 ? 2 : 1);
    int      rc;
    uint32_t k0 = UINT32_MAX, ow = rs->x.out_n;

    if (rs->identity) {
        /* nb: bytes per pixel */
        for (uint32_t y = y0; y < y1; y++) {
            memcpy(VL_IMAGE_ROW(out, y - y0),
                   VL_IMAGE_ROW(in, rs->oy + y - r0) + (size_t) rs->ox * nb,
                   (size_t) ow * nb);
        }
        return VL_OK;
    }
    for (uint32_t y = y0; y < y1; y++) {
        k0 = rs->y.start[y] < k0 ? rs->y.start[y] : k0;
    }
    if (y0 >= y1) {
        return VL_OK;
    }
    if ((rc = rs_begin(rs, y0, k0, err)) != VL_OK) {
        return rc;
    }
    VL_ASSERT(rs->next_row >= r0);
    while (rs->next_y < y1) {
        if (vl_resample_ready(rs)) {
            vl_resample_pop(rs, VL_IMAGE_ROW(out, rs->next_y - y0));
            continue;
        }
        VL_ASSERT(rs->next_row - r0 < in->h);
        vl_resample_push(rs, VL_IMAGE_ROW(in, rs->next_row - r0));
    }
    return VL_OK;
}

/* ---------------------------------------------------------- 16-bit path
 *
 * Depth 2 streams the same way on float rows: 16-bit samples times 2.14
 * weights would overflow the int16 ring, and 16-bit output deserves more
 * than 6 fractional bits. Premultiplied colour is c * a / 65535; results
 * are rounded to the nearest 16-bit value. Separate functions, so the
 * 8-bit loops above are not touched. */

static inline uint16_t
rs16_round(float v)
{
    return v <= 0.0f ? 0 : v >= 65535.0f ? 65535 : (uint16_t) (v + 0.5f);
}

static int
rs16_stream_alloc(vl_resample_t *rs, vl_err_t *err)
{
    size_t ow = (size_t) rs->x.out_n * rs->bands;
    size_t in = (size_t) rs->x.in_n * rs->bands;

    rs->ftaps = vl_pool_calloc(rs->pool, (size_t) rs->y.maxtaps + 2,
                               sizeof(*rs->ftaps));
    if (rs->ftaps == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory for resampling");
    }
    rs->ring_len = ow;
    rs->fring = rs_alloc(rs, (size_t) rs->ring_n * rs->ring_len,
                         sizeof(float), err);
    rs->ring_tag = rs_alloc(rs, rs->ring_n, sizeof(uint32_t), err);
    rs->fconv = rs_alloc(rs, in, sizeof(float), err);
    rs->facc = rs_alloc(rs, ow, sizeof(float), err);
    if (rs->fring == NULL || rs->ring_tag == NULL || rs->fconv == NULL
        || rs->facc == NULL) {
        return err != NULL ? err->code : VL_ENOMEM;
    }
    if (rs->x.box > 1 || rs->y.box > 1) {
        rs->boxacc = rs_alloc(rs, in, sizeof(uint64_t), err);
        if (rs->boxacc == NULL) {
            return err != NULL ? err->code : VL_ENOMEM;
        }
    }
    return VL_OK;
}

/* The ring slot of box row k (see rs_slot). */
static float *
rs16_slot(vl_resample_t *rs, uint32_t k)
{
    uint32_t s = k % rs->ring_n, old = rs->ring_tag[s];

    VL_ASSERT(old == UINT32_MAX || rs->next_y >= rs->y.out_n
              || old < rs->kmin[rs->next_y]);
    rs->ring_tag[s] = k;
    return rs->fring + (size_t) s * rs->ring_len;
}

/* Horizontal pass of one float row with the float weights. */
static void
rs16_h(const vl_rs_axis_t *ax, int nb, const float *src, float *dst)
{
    for (uint32_t i = 0; i < ax->out_n; i++) {
        const float *w = ax->w + (size_t) i * ax->maxtaps;
        const float *p = src + (size_t) ax->start[i] * nb;

        for (int b = 0; b < nb; b++) {
            float acc = 0.0f;

            for (int k = 0; k < ax->n[i]; k++) {
                acc += w[k] * p[k * nb + b];
            }
            dst[(size_t) i * nb + b] = acc;
        }
    }
}

static void
rs16_push(vl_resample_t *rs, const uint16_t *row)
{
    uint32_t r = rs->next_row++, by = rs->y.box, bx = rs->x.box, k = r / by;
    uint32_t sn = rs->x.src_n, ke, rows;
    int      nb = rs->bands;

    if (bx == 1 && by == 1) {
        for (uint32_t j = 0; j < rs->x.in_n; j++) {
            const uint16_t *p = row + (size_t) j * nb;
            float          *o = rs->fconv + (size_t) j * nb;

            if (rs->alpha) {
                float a = p[nb - 1];

                for (int b = 0; b < nb - 1; b++) {
                    o[b] = (float) p[b] * a * (1.0f / 65535.0f);
                }
                o[nb - 1] = a;
            } else {
                for (int b = 0; b < nb; b++) {
                    o[b] = p[b];
                }
            }
        }
        rs16_h(&rs->x, nb, rs->fconv, rs16_slot(rs, k));
        return;
    }
    if (r == k * by) {
        memset(rs->boxacc, 0,
               (size_t) rs->x.in_n * nb * sizeof(uint64_t));
    }
    /* box sums, premultiplied: colour * alpha and alpha * 65535 */
    for (uint32_t j = 0; j < rs->x.in_n; j++) {
        uint64_t *acc = rs->boxacc + (size_t) j * nb;
        uint32_t  xe = (j + 1) * bx > sn ? sn : (j + 1) * bx;

        for (uint32_t x = j * bx; x < xe; x++) {
            const uint16_t *p = row + (size_t) x * nb;

            if (rs->alpha) {
                uint64_t a = p[nb - 1];

                for (int b = 0; b < nb - 1; b++) {
                    acc[b] += p[b] * a;
                }
                acc[nb - 1] += a * 65535u;
            } else {
                for (int b = 0; b < nb; b++) {
                    acc[b] += p[b];
                }
            }
        }
    }
    ke = (k + 1) * by > rs->y.src_n ? rs->y.src_n : (k + 1) * by;
    if (r + 1 != ke) {
        return;
    }
    rows = ke - k * by;
    for (uint32_t j = 0; j < rs->x.in_n; j++) {
        uint32_t xe = (j + 1) * bx > sn ? sn : (j + 1) * bx;
        double   d = (rs->alpha ? 65535.0 : 1.0) * rows * (xe - j * bx);

        for (int b = 0; b < nb; b++) {
            rs->fconv[(size_t) j * nb + b] =
                (float) ((double) rs->boxacc[(size_t) j * nb + b] / d);
        }
    }
    rs16_h(&rs->x, nb, rs->fconv, rs16_slot(rs, k));
}

static void
rs16_pop(vl_resample_t *rs, uint16_t *out)
{
    uint32_t     y = rs->next_y++;
    int          n = rs->y.n[y], nb = rs->bands;
    const float *w = rs->y.w + (size_t) y * rs->y.maxtaps;
    size_t       len = (size_t) rs->x.out_n * nb;

    for (int t = 0; t < n; t++) {
        uint32_t k = rs->y.start[y] + (uint32_t) t, s = k % rs->ring_n;

        VL_ASSERT(rs->ring_tag[s] == k);
        rs->ftaps[t] = rs->fring + (size_t) s * rs->ring_len;
    }
    for (size_t x = 0; x < len; x++) {
        float acc = 0.0f;

        for (int t = 0; t < n; t++) {
            acc += w[t] * rs->ftaps[t][x];
        }
        rs->facc[x] = acc;
    }
    if (!rs->alpha) {
        for (size_t x = 0; x < len; x++) {
            out[x] = rs16_round(rs->facc[x]);
        }
        return;
    }
    for (uint32_t i = 0; i < rs->x.out_n; i++, out += nb) {
        const float *px = rs->facc + (size_t) i * nb;
        float        a = px[nb - 1];

        for (int b = 0; b < nb - 1; b++) {
            out[b] = a >= 0.5f ? rs16_round(px[b] * 65535.0f / a) : 0;
        }
        out[nb - 1] = rs16_round(a);
    }
}

/* vl_pix_box_shrink of 16-bit samples: exact integer averages, rounded
 * half up; alpha premultiplied (colour = sum(c * a) / sum(a)). */
static int
rs16_box_shrink(vl_pool_t *pool, const vl_image_t *in, uint32_t fx,
                uint32_t fy, vl_image_t *out, vl_err_t *err)
{
    int      nb = in->bands, alpha = (nb == 2 || nb == 4), rc;
    uint32_t ow = (in->w + fx - 1) / fx, oh = (in->h + fy - 1) / fy;

    if ((rc = vl_image_new_depth(pool, ow, oh, nb, 2, out, err)) != VL_OK) {
        return rc;
    }
    for (uint32_t k = 0; k < oh; k++) {
        uint16_t *o = (uint16_t *) (void *) VL_IMAGE_ROW(out, k);
        uint32_t  ys = k * fy, ye = ys + fy > in->h ? in->h : ys + fy;

        for (uint32_t j = 0; j < ow; j++, o += nb) {
            uint32_t xs = j * fx, xe = xs + fx > in->w ? in->w : xs + fx;
            uint64_t acc[4] = { 0, 0, 0, 0 };
            uint64_t cnt = (uint64_t) (ye - ys) * (xe - xs);

            for (uint32_t y = ys; y < ye; y++) {
                const uint16_t *p = (const uint16_t *) (const void *)
                                    VL_IMAGE_ROW(in, y) + (size_t) xs * nb;

                for (uint32_t x = xs; x < xe; x++, p += nb) {
                    uint64_t a = alpha ? p[nb - 1] : 1;

                    for (int b = 0; b < (alpha ? nb - 1 : nb); b++) {
                        acc[b] += p[b] * a;
                    }
                    if (alpha) {
                        acc[nb - 1] += a;
                    }
                }
            }
            if (!alpha) {
                for (int b = 0; b < nb; b++) {
                    o[b] = (uint16_t) ((acc[b] + cnt / 2) / cnt);
                }
                continue;
            }
            for (int b = 0; b < nb - 1; b++) {
                uint64_t s = acc[nb - 1];

                o[b] = s > 0 ? (uint16_t) ((acc[b] + s / 2) / s) : 0;
            }
            o[nb - 1] = (uint16_t) ((acc[nb - 1] + cnt / 2) / cnt);
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

    int           depth = in->depth == 2 ? 2 : 1;

    if ((rc = vl_resample_init_depth(pool, &rs, in->w, in->h, in->bands,
                                     depth, sx0, sy0, sx1, sy1, out_w, out_h,
                                     interp, err)) != VL_OK
        || (rc = vl_image_new_depth(pool, out_w, out_h, in->bands, depth, out,
                                    err)) != VL_OK) {
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

    if (in->depth == 2) {
        return rs16_box_shrink(pool, in, fx, fy, out, err);
    }
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
