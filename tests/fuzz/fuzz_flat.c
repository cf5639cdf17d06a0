/* SPDX-License-Identifier: MIT */
/*
 * fuzz_flat: the flat JPEG and PNG sources (source/flat.c with jpegdec.c
 * and pngdec.c: EXIF orientation, ICC, the levels made below the image)
 * through the source API (fuzz_source.h). Inputs that start as neither a
 * JPEG (SOI) nor a PNG signature are skipped.
 */
#include "config.h"

#include "fuzz_source.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t png[] = { 0x89, 'P', 'N', 'G' };

    if (size < 4 || !((data[0] == 0xff && data[1] == 0xd8)
                      || memcmp(data, png, 4) == 0)) {
        return 0;
    }
    return fuzz_source_run(data, size);
}
