/* SPDX-License-Identifier: MIT */
/*
 * jp2_p: what the two JPEG 2000 decoders share. jp2.c (OpenJPEG, the
 * backend) opens the file, finds the codestream and decides how its
 * components become bands; htj2k.c (OpenJPH, for untiled HTJ2K) decodes
 * the same codestream line by line, or htj2k_stub.c says it cannot when
 * vellum is built without OpenJPH. Neither header of a codec library is
 * needed here.
 */
#ifndef VL_JP2_P_H
#define VL_JP2_P_H

#include <stdint.h>

#include "source/jp2box.h"
#include "source/source_p.h"

#define VL_JP2_MAX_COMPS 16

/* The one build choice of the JPEG 2000 backends: jp2.c (OpenJPEG) is the
 * sniff table's vl_source_jp2_ops in the default build; --with-grok makes
 * grok.c that, and jp2.c's table is vl_source_opj_ops, to which grok.c
 * hands tiled JPEG 2000 Part 1 files (OpenJPEG decodes just the area of a
 * tile; Grok 10.0.5 needs the whole tile). */
#ifdef HAVE_GROK
#define VL_JP2_OPJ_OPS     vl_source_opj_ops
#define VL_JP2_OPJ_DECODER vl_jp2_opj_decoder
extern const vl_source_ops_t vl_source_opj_ops;
const char                  *vl_jp2_opj_decoder(void);
#else
#define VL_JP2_OPJ_OPS     vl_source_jp2_ops
#define VL_JP2_OPJ_DECODER vl_source_jp2_decoder
#endif

/* The open file and where its codestream is (from the SOC marker). */
typedef struct {
    int     fd;
    int64_t off, len;
} vl_jp2_cs_t;

/* How decoded components become output bands (8-bit, or 16-bit at depth
 * 2, jp2.c only). */
typedef struct {
    uint32_t ncomps;                  /* components after decoding */
    int      colour;                  /* 1 or 3 colour components */
    int      alpha;                   /* component index of alpha, or -1 */
    int      idx[3];                  /* colour component indices */
    int      ycc;                     /* sYCC: convert to RGB */
    int      bands;
    uint32_t prec[VL_JP2_MAX_COMPS];  /* bits per component */
    int      sgnd[VL_JP2_MAX_COMPS];  /* signed component */
} vl_jp2_map_t;

/* What vl_jp2_map_bands needs of a decoded component, whichever codec. */
typedef struct {
    uint32_t prec;   /* bits */
    uint32_t dx, dy; /* sub-sampling */
    int      alpha;  /* marked opacity (cdef) */
} vl_jp2_comp_t;

typedef enum {
    VL_JP2_SPACE_OTHER,
    VL_JP2_SPACE_YCC, /* sYCC or e-sYCC: converted to RGB */
    VL_JP2_SPACE_CMYK /* refused */
} vl_jp2_space_t;

/* jp2.c, shared with grok.c: which of n components are colour and alpha
 * into map (ncomps, alpha, idx, colour, bands, ycc); NULL, or why the
 * image cannot be served. */
const char *vl_jp2_map_bands(vl_jp2_map_t *map, uint32_t n,
                             const vl_jp2_comp_t *comps, vl_jp2_space_t space);

/* jp2.c, shared with grok.c: the Dublin Core of the first XML box of
 * boxes into src's info, each text strdup'ed into text[i] (of
 * VL_JP2BOX_DC_FIELDS, owned by the caller's handle), dc:rights also into
 * *rights when it is a URI. VL_OK, or VL_ENOMEM. */
int vl_jp2_metadata(vl_source_t *src, char **text, char **rights,
                    const vl_jp2box_in_t *boxes, vl_err_t *err);

/* A sample of p bits (signed when sgnd) as 0..255, rounded to nearest. */
static inline unsigned
vl_jp2_to8(int32_t v, uint32_t p, int sgnd)
{
    uint32_t maxv = (p >= 32) ? 0xffffffffu : (1u << p) - 1;
    int64_t  u = (int64_t) v + (sgnd ? ((int64_t) 1 << (p - 1)) : 0);

    if (u < 0) {
        u = 0;
    } else if (u > (int64_t) maxv) {
        u = maxv;
    }
    if (p == 8) {
        return (unsigned) u;
    }
    /* to nearest: u * 255 / maxv (a 16-bit 0x12ff is 19, not 0x12) */
    return (unsigned) ((u * 255 + maxv / 2) / maxv);
}

/* A sample of p bits (signed when sgnd) as 0..65535, exactly: p = 16 as
 * is, 8 < p < 16 by bit replication (u << (16 - p) | u >> (2p - 16): the
 * full range maps onto the full range, within rounding of u * 65535 /
 * maxv), p <= 8 as u * 65535 / maxv rounded (u * 257 for 8 bits). */
static inline unsigned
vl_jp2_to16(int32_t v, uint32_t p, int sgnd)
{
    uint32_t maxv = (1u << p) - 1;
    int64_t  u = (int64_t) v + (sgnd ? ((int64_t) 1 << (p - 1)) : 0);

    if (u < 0) {
        u = 0;
    } else if (u > (int64_t) maxv) {
        u = maxv;
    }
    if (p == 16) {
        return (unsigned) u;
    }
    if (p > 8) {
        return (unsigned) ((u << (16 - p)) | (u >> (2 * p - 16)));
    }
    return (unsigned) ((u * 65535 + maxv / 2) / maxv);
}

static inline unsigned char
vl_jp2_clamp(double v)
{
    return v <= 0.0 ? 0 : v >= 255.0 ? 255 : (unsigned char) (v + 0.5);
}

/* One output pixel from nc 8-bit samples (colour first, then alpha),
 * converting sYCC to RGB when ycc is set. */
static inline void
vl_jp2_pixel(const unsigned *v, int nc, int ycc, unsigned char *o)
{
    if (ycc) {
        double yy = v[0], cb = (double) v[1] - 128.0;
        double cr = (double) v[2] - 128.0;

        o[0] = vl_jp2_clamp(yy + 1.402 * cr);
        o[1] = vl_jp2_clamp(yy - 0.344136 * cb - 0.714136 * cr);
        o[2] = vl_jp2_clamp(yy + 1.772 * cb);
        if (nc == 4) {
            o[3] = (unsigned char) v[3];
        }
        return;
    }
    for (int i = 0; i < nc; i++) {
        o[i] = (unsigned char) v[i];
    }
}

/* ---------------------------------------------- htj2k.c / htj2k_stub.c */

/* Whether untiled HTJ2K can go to OpenJPH (vellum built with it). */
int vl_htj2k_available(void);

/* The blocks of box of walk's level (a grid vl_grid_walk_t), decoded
 * from codestream cs with OpenJPH and given to the walk; called under the
 * walk's decode lock (serialise), which also covers OpenJPH's process-wide
 * state. Errors: VL_ECODEC, VL_EIO, VL_ENOMEM; VL_EINTERNAL from the stub. */
int vl_htj2k_read(vl_grid_walk_t *walk, const vl_jp2_cs_t *cs,
                  const vl_jp2_map_t *map, const vl_rect_t *box,
                  vl_err_t *err);

#endif /* VL_JP2_P_H */
