/* SPDX-License-Identifier: MIT */
/*
 * source: turn an identifier into an open image. Resolves the identifier
 * under FILESYSTEM_PREFIX (+ FILESYSTEM_SUFFIX) with realpath and a prefix
 * check (symlinks included: nothing outside the root is ever opened), sniffs
 * the magic bytes and opens the backend behind one vtable (tiff.c, jp2.c;
 * flat.c for plain JPEG and PNG), at one page of a multi-page file, and
 * shows it with area-averaged levels below the backend's smallest and a
 * flat JPEG's EXIF orientation applied (vl_source_info). Handles come from a
 * per-worker cache revalidated by (device, inode, size, mtime) with one
 * stat per request.
 *
 * Threads: a vl_source_t is used by one thread at a time. vl_source_get
 * checks a handle out of the cache (opening another one if every cached
 * handle of that file is in use); vl_source_put returns it. The cache itself
 * is behind a mutex.
 */
#ifndef VL_SOURCE_H
#define VL_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "cache/tiles.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/types.h"
#include "pixel/image.h"

typedef struct vl_source_s       vl_source_t;
typedef struct vl_source_cache_s vl_source_cache_t;

/* What the handler, planner and info.json need to know about an image. */
typedef struct {
    vl_geom_t            geom;         /* levels, tile sizes, bands */
    int                  bits;         /* stored bits per sample (8, 16) */
    int                  reads16;      /* 1: vl_source_read delivers
                                        * 16-bit samples (depth 2) at
                                        * every level. Set by a backend
                                        * only with bits == 16 and when
                                        * it decodes every level at 16
                                        * bits (tiff.c: grey, grey+alpha,
                                        * RGB(A) levels decoded by
                                        * libtiff; jp2.c: components of
                                        * more than 8 bits, OpenJPEG).
                                        * 0: depth 1 only, whatever bits
                                        * says */
    const char          *format;       /* "tiff" */
    const char          *compression;  /* of level 0: "jpeg", "deflate", ... */
    const unsigned char *icc;          /* ICC profile or NULL */
    size_t               icc_len;
    const char          *rights;       /* Copyright tag when it is a URI,
                                        * else NULL */
    vl_file_id_t         file;         /* identity, for ETag and cache keys */
    /* What the file says about itself (TIFF tags; the Dublin Core of a
     * JP2's XML box), UTF-8 text, NULL when absent: for manifests */
    const char          *title;        /* DocumentName, dc:title */
    const char          *description;  /* ImageDescription, dc:description */
    const char          *creator;      /* Artist, dc:creator */
    const char          *copyright;    /* Copyright, dc:rights (as text) */
    const char          *date;         /* DateTime, dc:date */
    /* A multi-page file (a TIFF whose top-level images are separate pages,
     * not pyramid levels): `pages` of them, this handle shows page `page`
     * (1-based; identifier "{id}" + IIIF_DELIMITER + page). 1 and 1 for
     * every other image. */
    uint32_t             pages;
    uint32_t             page;
} vl_source_info_t;

/* Cache of open handles: at most max_handles idle ones (0 = no caching,
 * -1 = unlimited). */
vl_source_cache_t *vl_source_cache_new(long max_handles);
void vl_source_cache_free(vl_source_cache_t *cache);

/* Decoded blocks of handles from this cache go to `tiles` (NULL: none).
 * Set once, before the first vl_source_get; tiles must outlive cache. */
void vl_source_cache_set_tiles(vl_source_cache_t *cache,
                               vl_tile_cache_t *tiles);

/* Resolve `id` (decoded identifier) and check a handle out. With
 * conf->iiif_delimiter set (not empty), digits after the last delimiter
 * select a page: "book.tif;2" is page 2 of "book.tif" (1-based, no leading
 * zero); other text after it leaves `id` whole. One handle per file and
 * page.
 * Errors: VL_ENOTFOUND (no such file, or outside the root: 404, nothing
 * read; "no such page": page 0, a leading zero, past the file's pages),
 * VL_EFORMAT (not an image vellum reads: 415), VL_ECODEC/VL_EIO (the file
 * is damaged: 500). Messages never contain the filesystem path. */
vl_source_t *vl_source_get(vl_source_cache_t *cache, const vl_conf_t *conf,
                           const char *id, vl_err_t *err);

/* 1 if a source backend reads the file open on fd (its magic bytes), 0 if
 * none does, -1 (errno set) if its first bytes cannot be read; for
 * listings that must not open every file. */
int vl_source_sniff_fd(int fd);

/* Open a file by path directly (CLI tools: `vellum info`, `render`): its
 * first page. */
vl_source_t *vl_source_open_path(const char *path, vl_err_t *err);

/* Return a handle to its cache (or close it if it has none / is broken).
 * Accepts NULL. */
void vl_source_put(vl_source_cache_t *cache, vl_source_t *src);

const vl_source_info_t *vl_source_info(const vl_source_t *src);

/* 1 if the file of src is no longer what it was when src was opened (its
 * size, modification or change time differ: rewritten in place, maybe
 * while a read was decoding it), 0 if it is the same. Pixels read from a
 * changed file may mix two versions: the caller answers an error, stores
 * nothing, and the handle becomes broken (closed when put back, so the
 * next request opens the file as it is now). */
int vl_source_changed(vl_source_t *src);

/* ICC_TO_SRGB for a handle opened by path (vl_source_get does it from the
 * configuration): reads of an RGB or grey image with a usable profile are
 * converted to sRGB from now on, and info.icc becomes NULL. */
void vl_source_set_srgb(vl_source_t *src);

/* Every page of a multi-page file as one walk of it found them: what a
 * manifest needs of each page without opening each (opening page n walks
 * the whole file again: a book would cost its pages squared). */
#define VL_PAGE_LEVELS    16    /* stored levels kept per page */
#define VL_PAGE_TABLE_MAX 5000  /* pages kept */

typedef struct {
    uint32_t width, height;               /* the page's full size */
    uint32_t nlevels;                     /* >= 1: level 0 is the page;
                                           * levels stored as later
                                           * top-level IFDs follow (a
                                           * pyramid in SubIFDs: only the
                                           * opened page's) */
    uint32_t level_w[VL_PAGE_LEVELS], level_h[VL_PAGE_LEVELS];
} vl_page_size_t;

/* The pages of src's file (*n of them, the first VL_PAGE_TABLE_MAX), or
 * NULL when the backend has no table (a one-page file). */
const vl_page_size_t *vl_source_page_sizes(const vl_source_t *src,
                                           uint32_t *n);

/* Read rectangle r of pyramid level `level` into out, which the caller has
 * allocated with out->bands == info.geom.bands and at least r->w x r->h
 * pixels, 8-bit (depth 1); or 16-bit (depth 2: native-endian uint16
 * samples scaled to the full 0..65535 range) when info.reads16 is set.
 * Only the tiles/strips the rectangle touches are decoded; 8- and 16-bit
 * decodes of a block are cached apart (the tile key has the depth).
 * Errors: VL_ECODEC, VL_EIO, VL_EBADREQ (rectangle outside the level),
 * VL_EINTERNAL (a buffer that does not match, depth 2 without reads16). */
int vl_source_read(vl_source_t *src, uint32_t level, const vl_rect_t *r,
                   vl_image_t *out, vl_err_t *err);

/* What a read costs, estimated from the declared geometry before any
 * decode (the request budget: MAX_DECODE_PIXELS, MAX_REQUEST_MEMORY).
 * Worst case: no block is in the tile cache. */
typedef struct {
    uint64_t pixels;   /* pixels the decoders produce, plus the set-up
                        * work of a JPEG 2000 decode as pixels (the
                        * code-block structures it builds, each counted
                        * as VL_COST_CBLK_WORK pixels) */
    uint64_t bytes;    /* the most memory held at once: one decode's
                        * (samples, code-block structures, strip or tile
                        * buffers) plus the read's own buffers */
} vl_cost_t;

/* Set-up work and memory of one JPEG 2000 code-block structure (OpenJPEG
 * 2.5 builds them for the whole of every codestream tile a decode
 * touches, at every resolution, whatever the area and reduce factor:
 * about 400 bytes each, measured). */
#define VL_COST_CBLK_BYTES 400u
#define VL_COST_CBLK_WORK  16u

/* The cost of reading rectangle r of view level `level` (as vl_source_read
 * takes it) from top to bottom in reads of `rows` rows at `depth` (1 or 2
 * bytes per sample), into *cost. Pure: reads only what open found.
 * Errors: VL_EBADREQ (no such level, r outside it). */
int vl_source_cost(const vl_source_t *src, uint32_t level, const vl_rect_t *r,
                   uint32_t rows, int depth, vl_cost_t *cost, vl_err_t *err);

/* Raw bytes of stored tile (col, row) of `level` as a complete JPEG stream
 * (tables merged) when the level is JPEG-compressed; VL_EUNSUPP otherwise.
 * The bytes live in the pool, with VL_SOURCE_JPEG_HEADROOM writable bytes
 * of the same allocation before *data (a marker goes in front without
 * copying the tile). For the stored-tile fast path. */
#define VL_SOURCE_JPEG_HEADROOM 16
int vl_source_read_jpeg_tile(vl_source_t *src, vl_pool_t *pool,
                             uint32_t level, uint32_t col, uint32_t row,
                             unsigned char **data, size_t *len, vl_err_t *err);

/* Threads one JPEG 2000 decode may use (OpenJPEG's own pool), process-
 * wide; default 1. Workers set CPUs / workers, so that workers x decode
 * threads never exceed the CPUs: more only adds contention when every
 * worker is busy, and lowers latency when there are fewer workers than
 * CPUs. Set once, before any decode. */
void vl_source_set_decode_threads(int n);
int vl_source_decode_threads(void);

/* Prepare this process to be one of `workers` worker processes on this
 * machine (<= 0: one per CPU): JPEG 2000 decode threads = CPUs / workers
 * (at least 1), one malloc arena per process and large blocks kept in the
 * heap. Call once, before threads start. */
void vl_source_setup_worker(long workers);

/* A request that may need bytes at once (its estimated cost): from
 * VL_SOURCE_TRIM_BYTES up, the heap it leaves behind is given back to the
 * system by the next vl_source_release_memory() after its pool dies and
 * no other such request runs. The heap kept for reuse (setup_worker) is
 * right for the decodes of tiles, not for a 600 MB decode of a rare
 * request: it stayed with the worker, so RSS grew with each one. */
#define VL_SOURCE_TRIM_BYTES ((uint64_t) 256 << 20)
void vl_source_note_cost(vl_pool_t *pool, uint64_t bytes);

/* After a request's pool is destroyed (front/fcgi.c): malloc_trim when a
 * large request has ended and none runs. Cheap otherwise. 1 if it
 * trimmed. */
int vl_source_release_memory(void);

/* The JPEG 2000 decoder this binary was built with and its licence, one
 * line for `vellum --version` (jp2.c: OpenJPEG, with OpenJPH when built
 * with it; grok.c: Grok, which puts the binary under the AGPL-3.0). */
const char *vl_source_jp2_decoder(void);

/* `vellum info`: the image, its page and page count, its text fields,
 * one line per level. */
void vl_source_describe(const vl_source_t *src, FILE *out);

#endif /* VL_SOURCE_H */
