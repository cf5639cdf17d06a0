/* SPDX-License-Identifier: MIT */
/*
 * fuzz_jp2: the JPEG 2000 source (source/jp2.c, OpenJPEG; htj2k.c for
 * untiled HTJ2K) through the source API (fuzz_source.h). Inputs that are
 * neither a JP2 signature box nor a raw codestream (SOC) are skipped.
 */
#include "config.h"

#include "fuzz_source.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t sig[] = { 0, 0, 0, 12, 'j', 'P', ' ', ' ' };

    if (size < 4 || !(memcmp(data, sig, size < 8 ? size : 8) == 0
                      || (data[0] == 0xff && data[1] == 0x4f))) {
        return 0;
    }
    return fuzz_source_run(data, size);
}
