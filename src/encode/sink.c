/* SPDX-License-Identifier: MIT */
/*
 * sink: the capped memory buffer every encoder writes into. The buffer is
 * malloc'ed, grows by doubling up to its limit and is freed by a cleanup
 * on the request pool. One request, one thread.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "encode/encode_p.h"

/* The cleanup holds a pool cell with the current buffer pointer, not the
 * sink itself, so a sink may live anywhere (stack, pool, struct) and still
 * be freed exactly once when the pool dies. */
static void
sink_release(void *data)
{
    unsigned char **cell = data;

    free(*cell);
    *cell = NULL;
}

int
vl_sink_init(vl_sink_t *sink, vl_pool_t *pool, size_t limit, vl_err_t *err)
{
    unsigned char **cell;

    memset(sink, 0, sizeof(*sink));
    sink->limit = limit;
    cell = vl_pool_alloc(pool, sizeof(*cell));
    if (cell == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    *cell = NULL;
    if (vl_pool_cleanup_add(pool, sink_release, cell) != 0) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    sink->owner = (void **) cell;
    return VL_OK;
}

int
vl_sink_write(vl_sink_t *sink, const void *data, size_t len, vl_err_t *err)
{
    size_t need, cap;

    if (len == 0) {
        return VL_OK;
    }
    need = sink->len + len;
    if (need < sink->len || (sink->limit != 0 && need > sink->limit)) {
        return vl_err_set(err, VL_ELIMIT, "response too large");
    }
    if (need > sink->cap) {
        unsigned char *p;

        cap = sink->cap != 0 ? sink->cap : 16384;
        while (cap < need) {
            cap = cap * 2 > cap ? cap * 2 : need;
        }
        if (sink->limit != 0 && cap > sink->limit) {
            cap = sink->limit;
        }
        if ((p = realloc(sink->data, cap)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory for response");
        }
        sink->data = p;
        sink->cap = cap;
        if (sink->owner != NULL) {
            *sink->owner = p;
        }
    }
    memcpy(sink->data + sink->len, data, len);
    sink->len = need;
    return VL_OK;
}

int
vl_sink_write_at(vl_sink_t *sink, size_t off, const void *data, size_t len,
                 vl_err_t *err)
{
    static const unsigned char zeros[4096];
    size_t end;
    int    rc;

    if (len == 0) {
        return VL_OK;
    }
    end = off + len;
    if (end < off) {
        return vl_err_set(err, VL_ELIMIT, "response too large");
    }
    /* a gap past the end (a seek forward) is zeros */
    while (sink->len < off) {
        size_t n = off - sink->len;

        n = n > sizeof(zeros) ? sizeof(zeros) : n;
        if ((rc = vl_sink_write(sink, zeros, n, err)) != VL_OK) {
            return rc;
        }
    }
    if (off < sink->len) {
        size_t over = sink->len - off;

        over = over > len ? len : over;
        memcpy(sink->data + off, data, over);
        data = (const unsigned char *) data + over;
        len -= over;
    }
    return vl_sink_write(sink, data, len, err);
}
