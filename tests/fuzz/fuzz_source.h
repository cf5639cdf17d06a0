/* SPDX-License-Identifier: MIT */
/*
 * fuzz_source: the driver the source targets share (fuzz_tiff, fuzz_jp2,
 * fuzz_flat): the input's bytes go into a memfd, which is opened through
 * the normal source API (vl_source_open_path on /proc/self/fd/N: sniff,
 * the backend's open, the levels below it), described, and read: a few
 * small rectangles of every level (a corner, the far corner, the middle),
 * and the first stored JPEG tile. A read whose estimated cost
 * (vl_source_cost, the request budget's estimate) is over a small budget
 * is not made, as a request over MAX_DECODE_PIXELS would not be, so one
 * run stays fast; the estimate itself is then what is exercised.
 */
#ifndef VL_FUZZ_SOURCE_H
#define VL_FUZZ_SOURCE_H

#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/pool.h"
#include "pixel/image.h"
#include "source/source.h"
#include "fuzz.h"

#define FUZZ_SOURCE_PIXELS (4u << 20)    /* decoded pixels per read */
#define FUZZ_SOURCE_BYTES  (64u << 20)   /* memory per read */
#define FUZZ_SOURCE_SIDE   48u           /* each rectangle at most */

static FILE *fuzz_source_null;

static void
fuzz_source_rect(vl_source_t *src, vl_pool_t *pool, uint32_t level,
                 uint32_t x, uint32_t y, uint32_t w, uint32_t h)
{
    const vl_source_info_t *info = vl_source_info(src);
    vl_rect_t               r = VL_RECT(x, y, w, h);
    vl_cost_t               cost;
    vl_image_t              img;
    vl_err_t                err = { 0 };
    int                     depth = info->reads16 ? 2 : 1;

    if (vl_source_cost(src, level, &r, h, depth, &cost, &err) != VL_OK
        || cost.pixels > FUZZ_SOURCE_PIXELS
        || cost.bytes > FUZZ_SOURCE_BYTES) {
        return;
    }
    if (vl_image_new_depth(pool, w, h, info->geom.bands, depth, &img, &err)
        != VL_OK) {
        return;
    }
    memset(&err, 0, sizeof(err));
    if (vl_source_read(src, level, &r, &img, &err) != VL_OK) {
        FUZZ_CHECK(err.code != VL_OK && err.msg[0] != '\0',
                   "read failed without a reason");
        FUZZ_CHECK(err.code != VL_EINTERNAL, "internal error: %s", err.msg);
    }
}

/* Open data[0, size) as an image file and read what a few requests would.
 * Returns 0. */
static int
fuzz_source_run(const uint8_t *data, size_t size)
{
    int                     fd = memfd_create("fuzz", MFD_CLOEXEC);
    char                    path[64];
    vl_source_t            *src;
    vl_err_t                err = { 0 };
    const vl_source_info_t *info;
    vl_pool_t              *pool;
    uint32_t                npages;

    if (fd < 0) {
        perror("memfd_create");
        abort();
    }
    if (size > 0 && write(fd, data, size) != (ssize_t) size) {
        perror("write");
        abort();
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    src = vl_source_open_path(path, &err);
    close(fd);
    if (src == NULL) {
        FUZZ_CHECK(err.code != VL_OK && err.msg[0] != '\0',
                   "open failed without a reason");
        return 0;
    }
    info = vl_source_info(src);
    FUZZ_CHECK(info->geom.nlevels >= 1
                   && info->geom.nlevels <= VL_MAX_LEVELS,
               "%u levels", info->geom.nlevels);
    FUZZ_CHECK(info->geom.width >= 1 && info->geom.height >= 1
                   && info->geom.levels[0].width == info->geom.width
                   && info->geom.levels[0].height == info->geom.height,
               "geometry");
    FUZZ_CHECK(info->geom.bands >= 1 && info->geom.bands <= 4, "%d bands",
               info->geom.bands);
    if (fuzz_source_null == NULL) {
        fuzz_source_null = fopen("/dev/null", "w");
    }
    if (fuzz_source_null != NULL) {
        vl_source_describe(src, fuzz_source_null);
    }
    (void) vl_source_page_sizes(src, &npages);
    if ((pool = vl_pool_create(65536)) == NULL) {
        abort();
    }
    for (uint32_t l = 0; l < info->geom.nlevels && l < 8; l++) {
        const vl_level_t *lv = &info->geom.levels[l];
        uint32_t          w = lv->width < FUZZ_SOURCE_SIDE
                                  ? lv->width : FUZZ_SOURCE_SIDE;
        uint32_t          h = lv->height < FUZZ_SOURCE_SIDE
                                  ? lv->height : FUZZ_SOURCE_SIDE;

        if (w == 0 || h == 0) {
            continue;
        }
        fuzz_source_rect(src, pool, l, 0, 0, w, h);
        fuzz_source_rect(src, pool, l, lv->width - w, lv->height - h, w, h);
        fuzz_source_rect(src, pool, l, (lv->width - w) / 2,
                         (lv->height - h) / 2, w, h);
    }
    {
        unsigned char *tile;
        size_t         len;
        vl_err_t       terr = { 0 };

        (void) vl_source_read_jpeg_tile(src, pool, 0, 0, 0, &tile, &len,
                                        &terr);
    }
    (void) vl_source_changed(src);
    vl_pool_destroy(pool);
    vl_source_put(NULL, src);
    return 0;
}

#endif /* VL_FUZZ_SOURCE_H */
