/* SPDX-License-Identifier: MIT */
/*
 * ojph: a C interface to OpenJPH's HTJ2K decoder (ojph.cc, the only C++
 * file and the only OpenJPH user in src/). jp2.c uses it for HTJ2K
 * codestreams, which OpenJPEG 2.5.0 decodes wrongly unless whole
 * codestream tiles are asked for.
 *
 * OpenJPH decodes lines from the top of the image down at a chosen
 * resolution; there is no random access. A reader is opened at a level
 * (resolutions skipped) and pulls one line of every component per call.
 * Every OpenJPH error becomes a return value with a one-line message: no
 * exception crosses into C and nothing is written to stderr.
 */
#ifndef VL_OJPH_H
#define VL_OJPH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VL_OJPH_MAX_COMPS 16

typedef struct vl_ojph_s vl_ojph_t;

/* Open a reader over `len` bytes of codestream (from its SOC marker),
 * decoding at `level` (0: full resolution, n: n resolutions skipped).
 * OpenJPH 0.9 reads the whole codestream into its own buffers here, so
 * `data` need only be valid during the call (jp2.c frees it right after;
 * test_jp2 then reads every level of every HTJ2K fixture). Returns NULL
 * with a message in msg on error.
 *
 * Calls must be serialised by the caller (jp2.c holds its decode lock):
 * OpenJPH's message streams are process-wide. */
vl_ojph_t *vl_ojph_open(const unsigned char *data, size_t len,
                        uint32_t level, char *msg, size_t msg_size);

/* Components, and each one's width and height at the reader's level. */
uint32_t vl_ojph_comps(const vl_ojph_t *r);
uint32_t vl_ojph_width(const vl_ojph_t *r, uint32_t comp);
uint32_t vl_ojph_height(const vl_ojph_t *r, uint32_t comp);

/* Decode the next line of every component into rows[c] (vl_ojph_width(c)
 * samples each; signed values for signed components, else 0..2^bits-1,
 * not clamped for lossy data). Returns 0, or -1 with a message (also
 * after the last line). Components must not be sub-sampled (the caller
 * checks): every call yields one line of each. */
int vl_ojph_pull(vl_ojph_t *r, int32_t *const *rows, char *msg,
                 size_t msg_size);

/* Lines pulled so far (the next line's index). */
uint32_t vl_ojph_line(const vl_ojph_t *r);

/* Accepts NULL. */
void vl_ojph_close(vl_ojph_t *r);

/* How many times OpenJPH failed one of its own checks (assert) in a call
 * of this file: that call failed, and the reader's memory is lost. */
unsigned long vl_ojph_failed_checks(void);

#ifdef __cplusplus
}
#endif

#endif /* VL_OJPH_H */
