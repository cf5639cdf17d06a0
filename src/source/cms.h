/* SPDX-License-Identifier: MIT */
/*
 * cms: colour management (the only lcms2 user). Transforms to sRGB from a
 * source's ICC profile (CMYK separations, RGB and grey images when
 * ICC_TO_SRGB is on) or from CIELab, built once per profile and pixel
 * format and kept in a per-process cache (16 entries, least recently used
 * first out, behind a mutex), keyed by a hash of the profile bytes and the
 * formats. A profile lcms2 cannot open, or of another colour space than
 * the pixels, is remembered as unusable in the same cache and logged once
 * (one warning line per profile and process); the caller serves the image
 * as if it had none. lcms2's own error handler is replaced, so nothing
 * goes to stderr. Rendering intent: relative colorimetric with black point
 * compensation (what Photoshop and vips use by default for CMYK to RGB).
 * Built without lcms2, every transform is VL_EUNSUPP and profiles are not
 * checked.
 */
#ifndef VL_CMS_H
#define VL_CMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "pixel/image.h"
#include "source/source.h"

typedef struct vl_cms_xf_s vl_cms_xf_t;

/* What a transform takes and gives; samples interleaved, 16-bit ones
 * native-endian. */
typedef enum {
    VL_CMS_CMYK8,      /* C, M, Y, K 8-bit (0 = no ink) -> RGB 8-bit */
    VL_CMS_CMYK16,     /* C, M, Y, K 16-bit -> RGB 8-bit */
    VL_CMS_LAB,        /* L*, a*, b* doubles, D50 -> RGB 8-bit (no
                        * profile: lcms2's Lab v4) */
    VL_CMS_RGB8,       /* RGB -> sRGB, 8-bit */
    VL_CMS_RGBA8,      /* the same, alpha copied */
    VL_CMS_RGB16,      /* 16-bit */
    VL_CMS_RGBA16,
    VL_CMS_GRAY8,      /* grey -> grey with sRGB's tone curve (D50) */
    VL_CMS_GRAYA8,
    VL_CMS_GRAY16,
    VL_CMS_GRAYA16,
    VL_CMS_KINDS
} vl_cms_kind_t;

/* Whether vellum was built with lcms2. */
int vl_cms_available(void);

/* The transform of `kind` from profile icc[0, len) (NULL for VL_CMS_LAB)
 * to sRGB: a reference into the cache (vl_cms_release). Errors: VL_EFORMAT
 * (unusable profile: warned about once), VL_EUNSUPP (no lcms2), VL_ENOMEM. */
int vl_cms_get(const unsigned char *icc, size_t len, vl_cms_kind_t kind,
               vl_cms_xf_t **xf, vl_err_t *err);

void vl_cms_release(vl_cms_xf_t *xf);

/* Transform n pixels (thread-safe: one transform may run in many threads
 * at once). */
void vl_cms_run(const vl_cms_xf_t *xf, const void *in, void *out,
                uint32_t n);

/* Transform w x h pixels of img (depth 1 or 2, its bands) in place. */
void vl_cms_run_image(const vl_cms_xf_t *xf, vl_image_t *img, uint32_t w,
                      uint32_t h);

/* Whether icc[0, len) is a profile lcms2 opens whose colour space fits
 * pixels of `bands` (1-2 grey, 3-4 RGB, 0 CMYK); 1 when built without
 * lcms2. A profile that does not is warned about once, naming `who` (the
 * identifier that led to it, or NULL). */
int vl_cms_profile_ok(const unsigned char *icc, size_t len, int bands,
                      const char *who);

/* The transform kind for RGB/grey pixels of `bands` and `depth`. */
vl_cms_kind_t vl_cms_kind_for(int bands, int depth);

/* ------------------------------------------------ a source's profile */

typedef struct vl_cms_src_s vl_cms_src_t;

/* After a backend opened an image (source.c): an ICC profile in info
 * that lcms2 cannot use for the image's bands is dropped (info->icc
 * NULL: served as if it had none). With to_srgb (ICC_TO_SRGB), an RGB or
 * grey image with a usable profile is read converted to sRGB (grey: sRGB's
 * tone curve) and info->icc is set to NULL, so no profile is embedded.
 * Returns the state reads need (vl_cms_source_apply), or NULL. */
vl_cms_src_t *vl_cms_source_open(vl_source_info_t *info, int to_srgb,
                                 const char *who);

/* Convert the w x h pixels just read into img (depth 1 or 2) in place.
 * A transform that cannot be built leaves the pixels as they are. */
void vl_cms_source_apply(vl_cms_src_t *s, vl_image_t *img, uint32_t w,
                         uint32_t h);

void vl_cms_source_close(vl_cms_src_t *s);

/* Drop every cached transform (tests). */
void vl_cms_flush(void);

/* Cache counters (tests): transforms built, lookups that hit. */
void vl_cms_stats(unsigned long *built, unsigned long *hits);

#endif /* VL_CMS_H */
