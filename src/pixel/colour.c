/* SPDX-License-Identifier: MIT */
/*
 * colour: the quality stage, one row at a time (fused with mirroring for
 * streamed output). gray is Rec. 709 luma on the 8-bit values (no
 * linearisation), bitonal thresholds that luma at 128, alpha is flattened
 * onto the background colour (BACKGROUND, white by default) when the
 * output has none. Pure functions, thread-safe.
 */
#include "config.h"

#include "pixel/pixel.h"

int
vl_pix_out_bands(int in_bands, vl_quality_t quality, int keeps_alpha)
{
    int alpha = (in_bands == 2 || in_bands == 4);
    int colour;

    switch (quality) {
    case VL_QUALITY_GRAY:
    case VL_QUALITY_BITONAL:
        colour = 1;
        break;
    case VL_QUALITY_COLOR:
        colour = 3;
        break;
    default:
        colour = alpha ? in_bands - 1 : in_bands;
        break;
    }
    if (!keeps_alpha || quality == VL_QUALITY_BITONAL) {
        alpha = 0;
    }
    return colour + alpha;
}

void
vl_pix_convert_row(const unsigned char *in, int in_bands,
                   unsigned char *out, int out_bands, uint32_t w,
                   vl_quality_t quality, int mirror)
{
    static const unsigned char white[3] = { 255, 255, 255 };

    vl_pix_convert_row_bg(in, in_bands, out, out_bands, w, quality, mirror,
                          white);
}

void
vl_pix_convert_row_bg(const unsigned char *in, int in_bands,
                      unsigned char *out, int out_bands, uint32_t w,
                      vl_quality_t quality, int mirror,
                      const unsigned char bg[3])
{
    int       in_alpha = (in_bands == 2 || in_bands == 4);
    int       out_alpha = (out_bands == 2 || out_bands == 4);
    int       in_col = in_alpha ? in_bands - 1 : in_bands;
    int       out_col = out_alpha ? out_bands - 1 : out_bands;
    int       flatten = in_alpha && !out_alpha;
    ptrdiff_t step = mirror ? -in_bands : in_bands;
    const unsigned char *p = mirror ? in + (size_t) (w - 1) * in_bands : in;
    unsigned  bgr = bg[0], bgg = bg[1], bgb = bg[2];

    if (in_col == 1 && out_col == 1) {
        /* grey onto the grey of the background */
        bgr = bgg = bgb = vl_pix_luma(bg[0], bg[1], bg[2]);
    }

    for (uint32_t i = 0; i < w; i++, p += step, out += out_bands) {
        unsigned r, g, b, a = in_alpha ? p[in_bands - 1] : 255;

        r = p[0];
        g = in_col == 3 ? p[1] : r;
        b = in_col == 3 ? p[2] : r;
        if (flatten && a != 255) {
            unsigned na = 255 - a;

            r = (r * a + bgr * na + 127) / 255;
            g = (g * a + bgg * na + 127) / 255;
            b = (b * a + bgb * na + 127) / 255;
        }
        if (out_col == 1) {
            unsigned v = in_col == 1 ? r : vl_pix_luma(r, g, b);

            if (quality == VL_QUALITY_BITONAL) {
                v = v >= 128 ? 255 : 0;
            }
            out[0] = (unsigned char) v;
        } else {
            out[0] = (unsigned char) r;
            out[1] = (unsigned char) g;
            out[2] = (unsigned char) b;
        }
        if (out_alpha) {
            out[out_col] = (unsigned char) a;
        }
    }
}

/* The 16-bit quality stage: the same decisions as vl_pix_convert_row on
 * 0..65535 samples (a separate loop, so the 8-bit one is untouched). */
void
vl_pix_convert_row16(const uint16_t *in, int in_bands, uint16_t *out,
                     int out_bands, uint32_t w, vl_quality_t quality,
                     int mirror, const uint16_t bg[3])
{
    static const uint16_t white[3] = { 0xffff, 0xffff, 0xffff };
    int       in_alpha = (in_bands == 2 || in_bands == 4);
    int       out_alpha = (out_bands == 2 || out_bands == 4);
    int       in_col = in_alpha ? in_bands - 1 : in_bands;
    int       out_col = out_alpha ? out_bands - 1 : out_bands;
    int       flatten = in_alpha && !out_alpha;
    ptrdiff_t step = mirror ? -in_bands : in_bands;
    const uint16_t *p = mirror ? in + (size_t) (w - 1) * in_bands : in;

    if (bg == NULL) {
        bg = white;
    }
    for (uint32_t i = 0; i < w; i++, p += step, out += out_bands) {
        uint32_t r, g, b, a = in_alpha ? p[in_bands - 1] : 65535u;

        r = p[0];
        g = in_col == 3 ? p[1] : r;
        b = in_col == 3 ? p[2] : r;
        if (flatten && a != 65535u) {
            uint32_t na = 65535u - a;

            /* < 2^32: 65535 * 65535 + 32767 */
            r = (r * a + bg[0] * na + 32767u) / 65535u;
            g = (g * a + bg[1] * na + 32767u) / 65535u;
            b = (b * a + bg[2] * na + 32767u) / 65535u;
        }
        if (out_col == 1) {
            /* exact for grey (r = g = b): the weights sum to 65536 */
            uint32_t v = vl_pix_luma16(r, g, b);

            if (quality == VL_QUALITY_BITONAL) {
                v = v >= 32768u ? 65535u : 0;
            }
            out[0] = (uint16_t) v;
        } else {
            out[0] = (uint16_t) r;
            out[1] = (uint16_t) g;
            out[2] = (uint16_t) b;
        }
        if (out_alpha) {
            out[out_col] = (uint16_t) a;
        }
    }
}
