/* SPDX-License-Identifier: MIT */
/*
 * fuzz_iiif: the IIIF request grammar (proto/iiif.c). Input: one byte
 * choosing the API version ('2': 2, anything else: 3), then the request
 * path. The
 * parser must accept or refuse without reading outside the path, and an
 * accepted request must be one the grammar allows: a decoded identifier
 * that vl_iiif_id_ok takes, values in their ranges.
 */
#include "config.h"

#include "core/pool.h"
#include "proto/iiif.h"
#include "fuzz.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_in_t     in = { data, size };
    int           version = fuzz_u8(&in) == '2' ? 2 : 3;
    vl_pool_t    *pool = vl_pool_create(4096);
    vl_iiif_req_t req;
    vl_err_t      err = { 0 };
    vl_str_t      path = { in.n, (const char *) in.p };
    vl_str_t      id, params[4];
    int           rc;

    if (pool == NULL) {
        return 0;
    }
    memset(&req, 0, sizeof(req));
    rc = vl_iiif_parse(pool, path, version, &req, &err);
    if (rc == VL_OK) {
        FUZZ_CHECK(req.id != NULL && strlen(req.id) == req.id_len,
                   "identifier with a NUL");
        FUZZ_CHECK(vl_iiif_id_ok(req.id), "bad identifier '%s' accepted",
                   req.id);
        if (req.kind == VL_IIIF_IMAGE) {
            FUZZ_CHECK(req.rotation.degrees >= 0.0
                           && req.rotation.degrees <= 360.0,
                       "rotation %g", req.rotation.degrees);
            if (req.region.kind == VL_REGION_PCT) {
                FUZZ_CHECK(req.region.px >= 0.0 && req.region.py >= 0.0
                               && req.region.pw >= 0.0
                               && req.region.ph >= 0.0,
                           "negative pct region");
            }
            if (req.size.kind == VL_SIZE_PCT) {
                FUZZ_CHECK(req.size.pct >= 0.0, "pct %g", req.size.pct);
            }
        }
    } else {
        FUZZ_CHECK((int) err.code == rc && err.msg[0] != '\0',
                   "refused without a reason (%d)", rc);
    }
    if (vl_iiif_split(path, &id, params)) {
        FUZZ_CHECK(id.data >= path.data
                       && id.data + id.len <= path.data + path.len,
                   "identifier outside the path");
        for (int k = 0; k < 4; k++) {
            FUZZ_CHECK(params[k].data >= path.data
                           && params[k].data + params[k].len
                                  <= path.data + path.len,
                       "parameter %d outside the path", k);
        }
    }
    vl_pool_destroy(pool);
    return 0;
}
