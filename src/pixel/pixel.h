/* SPDX-License-Identifier: MIT */
/*
 * pixel: the private kernel API of the pixel module (resample.c, rotate.c,
 * colour.c), used by render.c and the unit tests. Kernels work on
 * interleaved vl_image_t buffers of 8-bit samples, or 16-bit ones (depth
 * 2, native-endian uint16) where a 16-bit source meets a 16-bit output: the
 * 16-bit code paths are separate functions chosen once per call or at
 * vl_resample_init_depth, so the 8-bit loops are the same as ever. Scratch
 * memory comes from the pixel budget and dies with the request pool. One
 * request, one thread.
 */
#ifndef VL_PIXEL_H
#define VL_PIXEL_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"
#include "pixel/image.h"
#include "core/types.h"

/* Interpolation modes (INTERPOLATION). */
#define VL_INTERP_NEAREST  0
#define VL_INTERP_BILINEAR 1
#define VL_INTERP_LANCZOS  2   /* area average + Lanczos3; bicubic upscale */

/* Allocate size bytes of scratch counted against the pixel budget and freed
 * when pool dies. Errors: VL_EBUSY, VL_ENOMEM. */
void *vl_pix_alloc(vl_pool_t *pool, size_t size, vl_err_t *err);

/* One axis of a resample: output i reads taps [start[i], start[i] + n[i])
 * of the input after an integer box shrink by `box`, with weights
 * w[i * maxtaps + k] (normalised to sum 1). */
typedef struct {
    uint32_t  src_n;        /* input size before the box shrink */
    uint32_t  box;          /* area-average factor applied first (>= 1) */
    uint32_t  in_n;         /* ceil(src_n / box) */
    uint32_t  out_n;
    int       maxtaps;
    uint32_t *start;
    int      *n;
    float    *w;
    int       qtaps;        /* even >= maxtaps: stride of wq */
    int16_t  *wq;           /* weights in 2.14 fixed point, sum 16384,
                             * zero-padded to qtaps */
    int32_t  *wv;           /* wq as int32 pairs, each repeated 4 times */
    /* outputs [0, vec3) (3 bands) and [0, vec4) (4 bands) whose taps, read
     * as pairs by 8-byte loads, stay inside an 8-bit row: the vector pass
     * takes them without checking each */
    uint32_t  vec3, vec4;
    /* outputs [0, vec3w) (3 bands) whose taps, read four at a time by
     * 16-byte loads and an odd pair by 8 (the AVX2 pass), stay inside */
    uint32_t  vec3w;
} vl_rs_axis_t;

typedef struct {
    vl_rs_axis_t x, y;
    int          bands;
    int          identity;  /* scale 1, integral offset: plain copy */
    uint32_t     ox, oy;    /* offsets of the identity copy */
    vl_pool_t   *pool;
    /* streaming state (vl_resample_begin / push / pop): source rows are
     * box-averaged, filtered horizontally once into a ring of int16 rows
     * (6 fractional bits), and output rows are filtered vertically from
     * the ring as soon as their support is complete */
    int          alpha;
    uint32_t    *kend;      /* per output row: first box row not needed */
    uint32_t    *kmin;      /* per output row: min start of it and later */
    uint32_t     ring_n;    /* slots */
    size_t       ring_len;  /* int16 per slot (padded) */
    int16_t     *ring;
    uint32_t    *ring_tag;  /* box row held by a slot, UINT32_MAX: none */
    int16_t     *zero;      /* a row of zeros (odd tap counts) */
    int16_t     *conv;      /* one source row as int16 (alpha or box) */
    uint64_t    *boxacc;    /* box sums of the current box row */
    const int16_t **taps;   /* row pointers of one vertical pass */
    int32_t     *vacc;      /* one output row before unpremultiplying */
    uint32_t     next_row;  /* next source row push expects */
    uint32_t     next_y;    /* next output row pop produces */
    /* depth 2 (16-bit samples): the same stream on float rows (the float
     * weights of the axes, not the 2.14 ones: 16 bits do not fit the
     * int16 ring); chosen at init, the 8-bit state above stays unused */
    int          depth;     /* 1 or 2 bytes per sample */
    float       *fring;     /* ring_n slots of ring_len floats */
    float       *fzero;
    float       *fconv;     /* one source row as float (alpha or box) */
    const float **ftaps;
    float       *facc;      /* one output row before rounding */
} vl_resample_t;

/* Prepare resampling the exact fractional rectangle (sx0, sy0)-(sx1, sy1)
 * of a src_w x src_h buffer of `bands` bands to out_w x out_h. Output pixel
 * i samples the source at sx0 + (i + 0.5) * scale - 0.5. Downscale (interp
 * 2): area average by floor(scale / 2) when the factor is >= 4, then
 * Lanczos3 widened by the residual factor; upscale: Catmull-Rom. Edges
 * replicate. Errors: VL_EBUSY/VL_ENOMEM for the weight tables. */
int vl_resample_init(vl_pool_t *pool, vl_resample_t *rs, uint32_t src_w,
                     uint32_t src_h, int bands, double sx0, double sy0,
                     double sx1, double sy1, uint32_t out_w, uint32_t out_h,
                     int interp, vl_err_t *err);

/* The same for rows of `depth` bytes per sample: 1 is vl_resample_init;
 * 2 takes and gives 16-bit rows (push and pop uint16 samples, as bytes),
 * filtered in float and rounded to the nearest 16-bit value. */
int vl_resample_init_depth(vl_pool_t *pool, vl_resample_t *rs,
                           uint32_t src_w, uint32_t src_h, int bands,
                           int depth, double sx0, double sy0, double sx1,
                           double sy1, uint32_t out_w, uint32_t out_h,
                           int interp, vl_err_t *err);

/* The source rows [*r0, *r1) that output rows [y0, y1) need (minimal:
 * every reported row carries a non-zero weight or belongs to a box). */
void vl_resample_rows(const vl_resample_t *rs, uint32_t y0, uint32_t y1,
                      uint32_t *r0, uint32_t *r1);

/* Produce output rows [y0, y1) into rows 0.. of out (out_w wide, same
 * bands) from `in`, which holds source rows [r0, r0 + in->h) (full source
 * width) as reported by vl_resample_rows. Alpha is premultiplied while
 * filtering. Errors: VL_EBUSY/VL_ENOMEM for scratch. */
int vl_resample_strip(vl_resample_t *rs, const vl_image_t *in, uint32_t r0,
                      uint32_t y0, uint32_t y1, vl_image_t *out,
                      vl_err_t *err);

/* Streaming: start producing output rows from y0; *r0 is the first source
 * row to push. Errors: VL_EBUSY/VL_ENOMEM for the ring. */
int vl_resample_begin(vl_resample_t *rs, uint32_t y0, uint32_t *r0,
                      vl_err_t *err);

/* Feed the next source row (full source width, `bands` bands, rows in
 * order from *r0 of vl_resample_begin). Drain ready output rows with
 * vl_resample_pop before pushing more (the ring holds only what the next
 * output row may need). */
void vl_resample_push(vl_resample_t *rs, const unsigned char *row);

/* 1 when the next output row can be produced from the rows pushed. */
int vl_resample_ready(const vl_resample_t *rs);

/* Write the next output row (out_w pixels, `bands` bands) and advance. */
void vl_resample_pop(vl_resample_t *rs, unsigned char *out);

/* The widest instruction set the 8-bit kernels may use: 2 AVX2 (when the
 * CPU has it, checked at run time), 1 SSE2, 0 scalar; all give the same
 * bytes. Returns the previous cap. For tests; the default is 2. */
int vl_resample_isa(int cap);

/* Whole-buffer convenience: resample all of `in` into out (allocated, of
 * in's depth). */
int vl_resample_image(vl_pool_t *pool, const vl_image_t *in, double sx0,
                      double sy0, double sx1, double sy1, uint32_t out_w,
                      uint32_t out_h, int interp, vl_image_t *out,
                      vl_err_t *err);

/* Area average of in by integer factors (fx, fy); out is allocated with
 * ceil(w / fx) x ceil(h / fy) pixels of in's depth (edge boxes average what
 * they hold; alpha premultiplied; rounded to nearest). */
int vl_pix_box_shrink(vl_pool_t *pool, const vl_image_t *in, uint32_t fx,
                      uint32_t fy, vl_image_t *out, vl_err_t *err);

/* Mirror (horizontal flip) in place (any depth). */
void vl_pix_mirror(vl_image_t *img);

/* Rotate by 90, 180 or 270 degrees clockwise by index mapping into a new
 * image of in's depth. */
int vl_pix_rotate_right(vl_pool_t *pool, const vl_image_t *in, int degrees,
                        vl_image_t *out, vl_err_t *err);

/* Rotate by any angle (degrees clockwise) about the centre into a new
 * out_w x out_h image (the bounding box), bicubic on premultiplied alpha.
 * The result always has alpha (bands 2 or 4) and in's depth (16-bit: the
 * same sampling on 0..65535 values); uncovered pixels are transparent. */
int vl_pix_rotate_any(vl_pool_t *pool, const vl_image_t *in, double degrees,
                      uint32_t out_w, uint32_t out_h, vl_image_t *out,
                      vl_err_t *err);

/* Output bands for a source of in_bands under quality, for an output that
 * keeps alpha or not (the format table's column): gray/bitonal -> 1 colour
 * band, color -> 3, default -> as stored; alpha kept when the output keeps
 * it, except with bitonal (flattened onto white, then thresholded). */
int vl_pix_out_bands(int in_bands, vl_quality_t quality, int keeps_alpha);

/* Convert one row of w pixels from in_bands to out_bands under quality:
 * grey = Rec. 709 luma on the 8-bit values, (0.2126 R + 0.7152 G +
 * 0.0722 B), rounded; bitonal = grey >= 128 ? 255 : 0; grey -> RGB
 * replicates; alpha dropped by flattening onto white. mirror reads the
 * row right to left. */
void vl_pix_convert_row(const unsigned char *in, int in_bands,
                        unsigned char *out, int out_bands, uint32_t w,
                        vl_quality_t quality, int mirror);

/* The same for 16-bit rows (native-endian uint16 samples) into 16-bit
 * rows: grey = Rec. 709 luma of the 16-bit values, rounded; grey -> RGB
 * replicates; alpha dropped by flattening onto bg (16-bit grey level of
 * the background per colour band, NULL: white 0xffff; out = (c * a + bg *
 * (65535 - a)) / 65535, rounded). Bitonal (an 8-bit output: render.c
 * never asks for it at depth 2) gives 0 or 65535 at half range. */
void vl_pix_convert_row16(const uint16_t *in, int in_bands, uint16_t *out,
                          int out_bands, uint32_t w, vl_quality_t quality,
                          int mirror, const uint16_t bg[3]);

/* Rec. 709 luma of a 16-bit RGB triple, rounded (same weights as
 * vl_pix_luma, 0.2126 0.7152 0.0722, in 16-bit fixed point). */
static inline uint16_t
vl_pix_luma16(uint32_t r, uint32_t g, uint32_t b)
{
    return (uint16_t) (((uint64_t) 13933u * r + (uint64_t) 46871u * g
                        + (uint64_t) 4732u * b + 32768u) >> 16);
}

/* A 16-bit sample to 8 bits, rounded to nearest: v * 255 / 65535. */
static inline unsigned char
vl_pix_16to8(uint32_t v)
{
    return (unsigned char) ((v * 255u + 32767u) / 65535u);
}
/* The same, alpha flattened onto bg (RGB; its Rec. 709 luma for grey in
 * and out): out = (c * a + bg * (255 - a) + 127) / 255. BACKGROUND. */
void vl_pix_convert_row_bg(const unsigned char *in, int in_bands,
                           unsigned char *out, int out_bands, uint32_t w,
                           vl_quality_t quality, int mirror,
                           const unsigned char bg[3]);

/* Rec. 709 luma of an 8-bit RGB triple, rounded. */
static inline unsigned char
vl_pix_luma(unsigned r, unsigned g, unsigned b)
{
    return (unsigned char) ((13933u * r + 46871u * g + 4732u * b + 32768u)
                            >> 16);
}

#endif /* VL_PIXEL_H */
