/* SPDX-License-Identifier: MIT */
/*
 * cdlog: records <-> lines, the checked read of a log (where it is valid,
 * torn or damaged), and the fold of its records into one entry per
 * identifier (an open-addressing table over an array in first-seen
 * order). Reading holds one buffer of VL_CDLOG_READ bytes, whatever the
 * size of the log.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/str.h"
#include "present/cdlog.h"
#include "proto/iiif.h"

#define CDLOG_SEED    0x7663643173636e31ULL /* the checksum's seed */
#define CDLOG_READ    ((size_t) 1 << 20)    /* bytes per pread */
#define CDLOG_NFIELDS 9

static const char *const cdlog_types[] = {
    [VL_CDLOG_CREATE] = "Create",
    [VL_CDLOG_UPDATE] = "Update",
    [VL_CDLOG_DELETE] = "Delete",
    [VL_CDLOG_SEEN] = "Seen",
};

int
vl_cdlog_is_activity(const vl_cdlog_rec_t *r)
{
    return r->type == VL_CDLOG_CREATE || r->type == VL_CDLOG_UPDATE
           || r->type == VL_CDLOG_DELETE;
}

const char *
vl_cdlog_type_name(vl_cdlog_type_t type)
{
    return (unsigned) type <= VL_CDLOG_SEEN ? cdlog_types[type] : "?";
}

/* ---------------------------------------------------------------- time */

void
vl_cdlog_time(long long t, char *buf)
{
    time_t    tt = (time_t) t;
    struct tm tm;

    gmtime_r(&tt, &tm);
    strftime(buf, VL_CDLOG_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int
cdlog_digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return -1;
        }
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

long long
vl_cdlog_time_parse(const char *s)
{
    struct tm tm, back;
    time_t    t;
    int       y, mo, d, h, mi, se;

    if (strlen(s) != VL_CDLOG_TIME_LEN || s[4] != '-' || s[7] != '-'
        || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z')
    {
        return -1;
    }
    y = cdlog_digits(s, 4);
    mo = cdlog_digits(s + 5, 2);
    d = cdlog_digits(s + 8, 2);
    h = cdlog_digits(s + 11, 2);
    mi = cdlog_digits(s + 14, 2);
    se = cdlog_digits(s + 17, 2);
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23
        || mi < 0 || mi > 59 || se < 0 || se > 59)
    {
        return -1;
    }
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = se;
    t = timegm(&tm);
    /* 2024-02-30 normalises to another day: not a date */
    if (t == (time_t) -1 || gmtime_r(&t, &back) == NULL || back.tm_mday != d
        || back.tm_mon != mo - 1)
    {
        return -1;
    }
    return (long long) t;
}

/* -------------------------------------------------------------- format */

uint64_t
vl_cdlog_checksum(const char *body, size_t len)
{
    return vl_hash64(body, len, CDLOG_SEED);
}

int
vl_cdlog_format(vl_pool_t *pool, vl_cdlog_rec_t *r, char **line, size_t *len,
                vl_err_t *err)
{
    char  *enc, *body, *out;
    size_t blen;

    if ((unsigned) r->type > VL_CDLOG_SEEN
        || (r->kind != VL_CDLOG_IMAGE && r->kind != VL_CDLOG_FOLDER))
    {
        return vl_err_set(err, VL_EBADREQ, "not a record type or kind");
    }
    if (vl_cdlog_time_parse(r->time) < 0) {
        return vl_err_set(err, VL_EBADREQ, "not a record time");
    }
    if (r->id == NULL || !vl_iiif_id_ok(r->id)) {
        return vl_err_set(err, VL_EBADREQ, "not an identifier");
    }
    if ((enc = vl_percent_encode(pool, r->id, strlen(r->id))) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    body = vl_pool_printf(
        pool, "%s %llu %s %s %c %s %016llx %016llx%016llx", VL_CDLOG_TAG,
        (unsigned long long) r->seq, r->time, cdlog_types[r->type], r->kind,
        enc, (unsigned long long) r->stat, (unsigned long long) r->sig[0],
        (unsigned long long) r->sig[1]);
    if (body == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    blen = strlen(body);
    if (blen + 18 > VL_CDLOG_LINE_MAX) {
        return vl_err_set(err, VL_EBADREQ,
                          "the identifier is too long for "
                          "a log record");
    }
    r->check = vl_cdlog_checksum(body, blen);
    out = vl_pool_printf(pool, "%s %016llx\n", body,
                         (unsigned long long) r->check);
    if (out == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    *line = out;
    *len = blen + 18;
    return VL_OK;
}

/* --------------------------------------------------------------- parse */

static int
cdlog_hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* Exactly 16 lowercase hex digits. */
static int
cdlog_hex64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n != 16) {
        return -1;
    }
    for (size_t i = 0; i < 16; i++) {
        int d = cdlog_hexval(s[i]);

        if (d < 0) {
            return -1;
        }
        v = v << 4 | (uint64_t) d;
    }
    *out = v;
    return 0;
}

static int
cdlog_unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')
           || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
           || c == '~';
}

static int
cdlog_upper_hex(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The identifier as vl_percent_encode writes it (one spelling only: an
 * unreserved byte is never escaped, escapes are upper case), decoded. */
static int
cdlog_decode(const char *s, size_t n, char *id, size_t idsize)
{
    size_t k = 0;

    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char) s[i];

        if (k + 1 >= idsize) {
            return -1;
        }
        if (c == '%') {
            int hi, lo;

            if (i + 2 >= n || (hi = cdlog_upper_hex(s[i + 1])) < 0
                || (lo = cdlog_upper_hex(s[i + 2])) < 0)
            {
                return -1;
            }
            c = (unsigned char) (hi << 4 | lo);
            if (c == 0 || cdlog_unreserved(c)) {
                return -1;
            }
            i += 2;
        } else if (!cdlog_unreserved(c)) {
            return -1;
        }
        id[k++] = (char) c;
    }
    id[k] = '\0';
    return vl_iiif_id_ok(id) ? 0 : -1;
}

static int
cdlog_bad(vl_err_t *err, const char *why)
{
    return vl_err_set(err, VL_EFORMAT, "%s", why);
}

int
vl_cdlog_parse(const char *line, size_t len, char *id, size_t idsize,
               vl_cdlog_rec_t *out, vl_err_t *err)
{
    const char    *f[CDLOG_NFIELDS];
    size_t         fl[CDLOG_NFIELDS], nf = 0, start = 0, blen;
    uint64_t       check, seq = 0;
    vl_cdlog_rec_t r;
    int            t;

    memset(&r, 0, sizeof(r));
    if (len + 1 > VL_CDLOG_LINE_MAX) {
        return cdlog_bad(err, "the line is too long");
    }
    /* the checksum first: any damaged byte shows as a bad checksum */
    if (len < 18 || line[len - 17] != ' '
        || cdlog_hex64(line + len - 16, 16, &check) != 0)
    {
        return cdlog_bad(err, "no checksum at the end of the line");
    }
    blen = len - 17;
    if (vl_cdlog_checksum(line, blen) != check) {
        return cdlog_bad(err, "bad checksum");
    }
    for (size_t i = 0; i <= blen; i++) {
        if (i < blen
            && ((unsigned char) line[i] < 0x21
                || (unsigned char) line[i] > 0x7e)
            && line[i] != ' ')
        {
            return cdlog_bad(err, "a byte that is not printable ASCII");
        }
        if (i == blen || line[i] == ' ') {
            if (nf == CDLOG_NFIELDS - 1 || i == start) {
                return cdlog_bad(err, "not the fields of a record");
            }
            f[nf] = line + start;
            fl[nf++] = i - start;
            start = i + 1;
        }
    }
    f[nf] = line + len - 16;
    fl[nf++] = 16;
    if (nf != CDLOG_NFIELDS) {
        return cdlog_bad(err, "not the fields of a record");
    }
    if (fl[0] != strlen(VL_CDLOG_TAG) || memcmp(f[0], VL_CDLOG_TAG, fl[0]) != 0)
    {
        return cdlog_bad(err, "not a cd1 record");
    }
    if (fl[1] > 19 || f[1][0] == '0') {
        return cdlog_bad(err, "bad sequence number");
    }
    for (size_t i = 0; i < fl[1]; i++) {
        if (f[1][i] < '0' || f[1][i] > '9') {
            return cdlog_bad(err, "bad sequence number");
        }
        seq = seq * 10 + (uint64_t) (f[1][i] - '0');
    }
    if (fl[2] != VL_CDLOG_TIME_LEN) {
        return cdlog_bad(err, "bad time");
    }
    memcpy(r.time, f[2], VL_CDLOG_TIME_LEN);
    r.time[VL_CDLOG_TIME_LEN] = '\0';
    if (vl_cdlog_time_parse(r.time) < 0) {
        return cdlog_bad(err, "bad time");
    }
    for (t = 0; t <= VL_CDLOG_SEEN; t++) {
        if (fl[3] == strlen(cdlog_types[t])
            && memcmp(f[3], cdlog_types[t], fl[3]) == 0) {
            break;
        }
    }
    if (t > VL_CDLOG_SEEN) {
        return cdlog_bad(err, "unknown record type");
    }
    if (fl[4] != 1 || (f[4][0] != VL_CDLOG_IMAGE && f[4][0] != VL_CDLOG_FOLDER))
    {
        return cdlog_bad(err, "unknown kind");
    }
    if (cdlog_decode(f[5], fl[5], id, idsize) != 0) {
        return cdlog_bad(err, "bad identifier");
    }
    if (cdlog_hex64(f[6], fl[6], &r.stat) != 0 || fl[7] != 32
        || cdlog_hex64(f[7], 16, &r.sig[0]) != 0
        || cdlog_hex64(f[7] + 16, 16, &r.sig[1]) != 0)
    {
        return cdlog_bad(err, "bad stat or signature");
    }
    if (t == VL_CDLOG_DELETE && (r.stat != 0 || r.sig[0] != 0 || r.sig[1] != 0))
    {
        return cdlog_bad(err, "a Delete with a signature");
    }
    r.seq = seq;
    r.type = (vl_cdlog_type_t) t;
    r.kind = f[4][0];
    r.id = id;
    r.check = check;
    *out = r;
    return VL_OK;
}

/* ---------------------------------------------------------------- read */

/* Fill buf with up to n bytes at off; *got what came (short at EOF). */
static int
cdlog_pread(int fd, char *buf, size_t n, uint64_t off, size_t *got,
            vl_err_t *err)
{
    size_t have = 0;

    while (have < n) {
        ssize_t r = pread(fd, buf + have, n - have, (off_t) (off + have));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            return vl_err_set(err, VL_EIO,
                              "cannot read the Change "
                              "Discovery log: %s",
                              strerror(errno));
        }
        if (r == 0) {
            break;
        }
        have += (size_t) r;
    }
    *got = have;
    return VL_OK;
}

/* Is there a '\n' in [off, size)? */
static int
cdlog_newline_after(int fd, char *buf, uint64_t off, uint64_t size, int *found,
                    vl_err_t *err)
{
    *found = 0;
    while (off < size) {
        size_t n = size - off > CDLOG_READ ? CDLOG_READ : (size_t) (size - off),
               got;
        int rc;

        if ((rc = cdlog_pread(fd, buf, n, off, &got, err)) != VL_OK) {
            return rc;
        }
        if (got == 0) {
            break;
        }
        if (memchr(buf, '\n', got) != NULL) {
            *found = 1;
            break;
        }
        off += got;
    }
    return VL_OK;
}

static void
cdlog_damaged(vl_cdlog_result_t *out, size_t linelen, const char *why)
{
    size_t n = strlen(why);

    out->end = VL_CDLOG_DAMAGED;
    out->tail = linelen;

    if (n >= sizeof(out->why)) {
        n = sizeof(out->why) - 1;
    }
    memcpy(out->why, why, n);
    out->why[n] = '\0';
}

int
vl_cdlog_read(int fd, const vl_cdlog_pos_t *from, vl_cdlog_fn fn, void *arg,
              vl_cdlog_result_t *out, vl_err_t *err)
{
    static const vl_cdlog_pos_t zero;
    struct stat                 st;
    char                       *buf, *id;
    uint64_t                    size, cur;
    int                         rc = VL_OK;

    memset(out, 0, sizeof(*out));
    out->pos = from != NULL ? *from : zero;
    if (fstat(fd, &st) != 0) {
        return vl_err_set(err, VL_EIO,
                          "cannot read the Change Discovery "
                          "log: %s",
                          strerror(errno));
    }
    size = (uint64_t) st.st_size;
    if (size < out->pos.off) {
        return vl_err_set(err, VL_EIO,
                          "the Change Discovery log is "
                          "shorter than what was read of it before");
    }
    buf = malloc(CDLOG_READ);
    id = malloc(VL_CDLOG_LINE_MAX);
    if (buf == NULL || id == NULL) {
        free(buf);
        free(id);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    cur = out->pos.off;
    while (cur < size && out->end == VL_CDLOG_CLEAN) {
        size_t n = size - cur > CDLOG_READ ? CDLOG_READ : (size_t) (size - cur);
        size_t got, p = 0;

        if ((rc = cdlog_pread(fd, buf, n, cur, &got, err)) != VL_OK) {
            break;
        }
        if (got < n) {
            size = cur + got; /* cut since the fstat: read what is left */
        }
        if (got == 0) {
            break;
        }
        for (;;) {
            char          *nl = memchr(buf + p, '\n', got - p);
            size_t         linelen;
            vl_cdlog_rec_t r;
            vl_err_t       perr = { 0 };

            if (nl == NULL) {
                break;
            }
            linelen = (size_t) (nl - (buf + p));
            if (vl_cdlog_parse(buf + p, linelen, id, VL_CDLOG_LINE_MAX, &r,
                               &perr)
                != VL_OK) {
                cdlog_damaged(out, linelen + 1, perr.msg);
                break;
            }
            if (r.seq != out->pos.seq + 1) {
                cdlog_damaged(out, linelen + 1, "out of sequence");
                break;
            }
            if (strcmp(r.time, out->pos.time) < 0) {
                cdlog_damaged(out, linelen + 1,
                              "earlier than the record "
                              "before it");
                break;
            }
            if (fn != NULL
                && (rc = fn(arg, &r, out->pos.off, linelen + 1)) != VL_OK) {
                break;
            }
            out->pos.off += linelen + 1;
            out->pos.seq = r.seq;
            memcpy(out->pos.time, r.time, sizeof(r.time));
            out->nrec++;
            p += linelen + 1;
        }
        if (rc != VL_OK || out->end != VL_CDLOG_CLEAN) {
            break;
        }
        if (p == 0) {
            /* no '\n' in a whole buffer (longer than any record), or in
             * what is left: a torn last line, unless a '\n' comes later */
            int found = 0;

            if (got == CDLOG_READ
                && (rc = cdlog_newline_after(fd, buf, cur + got, size, &found,
                                             err))
                       != VL_OK)
            {
                break;
            }
            if (found) {
                cdlog_damaged(out, 0, "the line is too long");
            } else {
                out->end = VL_CDLOG_TORN;
                out->tail = size - cur;
            }
            break;
        }
        cur += p;
    }
    free(buf);
    free(id);
    return rc;
}

/* ------------------------------------------------------------ the fold */

struct vl_cdlog_state_s {
    vl_pool_t      *pool; /* identifiers */
    vl_cdlog_obj_t *obj;
    size_t          n, cap;
    uint32_t       *slot;   /* index + 1 into obj; 0 empty */
    size_t          nslots; /* a power of two, > 2 n */
    size_t          live;
};

vl_cdlog_state_t *
vl_cdlog_state_new(void)
{
    vl_cdlog_state_t *s = calloc(1, sizeof(*s));

    if (s == NULL || (s->pool = vl_pool_create(65536)) == NULL) {
        free(s);
        return NULL;
    }
    return s;
}

void
vl_cdlog_state_free(vl_cdlog_state_t *s)
{
    if (s == NULL) {
        return;
    }
    vl_pool_destroy(s->pool);
    free(s->obj);
    free(s->slot);
    free(s);
}

static size_t
cdlog_find(const vl_cdlog_state_t *s, const char *id, size_t *slot)
{
    size_t mask = s->nslots - 1;
    size_t i = (size_t) vl_hash64(id, strlen(id), 0) & mask;

    while (s->slot[i] != 0) {
        if (strcmp(s->obj[s->slot[i] - 1].id, id) == 0) {
            *slot = i;
            return s->slot[i];
        }
        i = (i + 1) & mask;
    }
    *slot = i;
    return 0;
}

static int
cdlog_grow(vl_cdlog_state_t *s)
{
    size_t    ns = s->nslots ? s->nslots * 2 : 1024;
    uint32_t *slot = calloc(ns, sizeof(*slot));

    if (slot == NULL || s->n >= UINT32_MAX - 1) {
        free(slot);
        return -1;
    }
    free(s->slot);
    s->slot = slot;
    s->nslots = ns;
    for (size_t k = 0; k < s->n; k++) {
        size_t i;

        (void) cdlog_find(s, s->obj[k].id, &i);
        s->slot[i] = (uint32_t) (k + 1);
    }
    return 0;
}

vl_cdlog_obj_t *
vl_cdlog_state_get(vl_cdlog_state_t *s, const char *id)
{
    size_t slot, k;

    if (s->nslots == 0) {
        return NULL;
    }
    k = cdlog_find(s, id, &slot);
    return k != 0 ? &s->obj[k - 1] : NULL;
}

int
vl_cdlog_state_apply(vl_cdlog_state_t *s, const vl_cdlog_rec_t *r,
                     vl_err_t *err)
{
    vl_cdlog_obj_t *o = vl_cdlog_state_get(s, r->id);

    if (o == NULL) {
        size_t slot;

        if (r->type == VL_CDLOG_DELETE) {
            return VL_OK; /* nothing to fold it into */
        }
        if ((s->n + 1) * 2 > s->nslots && cdlog_grow(s) != 0) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        if (s->n == s->cap) {
            size_t          cap = s->cap ? s->cap * 2 : 1024;
            vl_cdlog_obj_t *p = realloc(s->obj, cap * sizeof(*p));

            if (p == NULL) {
                return vl_err_set(err, VL_ENOMEM, "out of memory");
            }
            s->obj = p;
            s->cap = cap;
        }
        o = &s->obj[s->n];
        memset(o, 0, sizeof(*o));
        if ((o->id = vl_pool_strdup(s->pool, r->id)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        (void) cdlog_find(s, r->id, &slot);
        s->slot[slot] = (uint32_t) (++s->n);
    }
    if (r->type == VL_CDLOG_DELETE) {
        if (o->live) {
            s->live--;
        }
        o->live = 0;
        o->stat = 0;
        o->sig[0] = o->sig[1] = 0;
        return VL_OK;
    }
    if (!o->live) {
        s->live++;
    }
    o->live = 1;
    o->kind = r->kind;
    o->stat = r->stat;
    o->sig[0] = r->sig[0];
    o->sig[1] = r->sig[1];
    return VL_OK;
}

size_t
vl_cdlog_state_count(const vl_cdlog_state_t *s)
{
    return s->n;
}

vl_cdlog_obj_t *
vl_cdlog_state_at(vl_cdlog_state_t *s, size_t i)
{
    return i < s->n ? &s->obj[i] : NULL;
}

size_t
vl_cdlog_state_live(const vl_cdlog_state_t *s)
{
    return s->live;
}
