/* SPDX-License-Identifier: MIT */
/*
 * fuzz_tiff: the TIFF source (source/tiff.c) through the source API
 * (fuzz_source.h). Inputs that do not start as a TIFF or BigTIFF are
 * skipped, so the run stays on this backend.
 */
#include "config.h"

#include "fuzz_source.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4 || !(memcmp(data, "II", 2) == 0 || memcmp(data, "MM", 2) == 0)) {
        return 0;
    }
    return fuzz_source_run(data, size);
}
