/* SPDX-License-Identifier: MIT */
/*
 * discovery: the per-process index of the log (8 bytes per activity: its
 * offset), the page arithmetic, a page's records read back from the file
 * (their checksums checked again), and the JSON. The index only grows
 * while the file does: a log that shrank below what was read, was
 * replaced, or was damaged and has changed since is read again from the
 * start. Records at an offset below the end of the valid part never
 * change (the log is append-only), so a page that is not the last has the
 * same bytes, and the same tag, for ever.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/str.h"
#include "present/discovery.h"
#include "present/tree.h"

#define DISC_READ ((size_t) 65536)

static struct {
    pthread_mutex_t lock;
    char           *path; /* of the log indexed */
    dev_t           dev;
    ino_t           ino;
    long long       size, mtime_ns; /* of the file when last read */
    vl_cdlog_pos_t  pos;            /* where reading stopped */
    int             damaged;
    uint64_t        first; /* record 1's checksum: which log this is */
    uint64_t        tail_off, tail_check; /* the last record read */
    size_t          tail_len;
    uint64_t       *off;   /* of each activity */
    uint64_t        n, cap;
    char            last[VL_CDLOG_TIME_LEN + 1]; /* newest endTime */
} disc_ix = { .lock = PTHREAD_MUTEX_INITIALIZER };

uint64_t
vl_discovery_npages(uint64_t total, uint64_t size)
{
    return size == 0 ? 0 : total / size + (total % size != 0);
}

int
vl_discovery_span(uint64_t total, uint64_t size, uint64_t n, uint64_t *start,
                  uint64_t *count)
{
    uint64_t np = vl_discovery_npages(total, size);

    if (n == 0 || n > np) {
        return 0;
    }
    *start = (n - 1) * size;
    *count = total - *start < size ? total - *start : size;
    return 1;
}

/* ---------------------------------------------------------------- index */

static void
disc_forget(void)
{
    free(disc_ix.off);
    free(disc_ix.path);
    disc_ix.off = NULL;
    disc_ix.path = NULL;
    disc_ix.n = disc_ix.cap = 0;
    disc_ix.size = disc_ix.mtime_ns = -1;
    memset(&disc_ix.pos, 0, sizeof(disc_ix.pos));
    disc_ix.damaged = 0;
    disc_ix.first = 0;
    disc_ix.tail_off = disc_ix.tail_check = 0;
    disc_ix.tail_len = 0;
    disc_ix.last[0] = '\0';
}

void
vl_discovery_reset(void)
{
    pthread_mutex_lock(&disc_ix.lock);
    disc_forget();
    pthread_mutex_unlock(&disc_ix.lock);
}

static int
disc_add(void *arg, const vl_cdlog_rec_t *r, uint64_t off, size_t len)
{
    (void) arg;
    (void) len;
    if (r->seq == 1) {
        disc_ix.first = r->check;
    }
    disc_ix.tail_off = off;
    disc_ix.tail_len = len;
    disc_ix.tail_check = r->check;
    if (!vl_cdlog_is_activity(r)) {
        return VL_OK;
    }
    if (disc_ix.n == disc_ix.cap) {
        uint64_t  cap = disc_ix.cap ? disc_ix.cap * 2 : 4096;
        uint64_t *p = realloc(disc_ix.off, cap * sizeof(*p));

        if (p == NULL) {
            return VL_ENOMEM;
        }
        disc_ix.off = p;
        disc_ix.cap = cap;
    }
    disc_ix.off[disc_ix.n++] = off;
    memcpy(disc_ix.last, r->time, sizeof(disc_ix.last));
    return VL_OK;
}

/* 1 if the last record indexed is still in fd where it was read. */
static int
disc_tail_same(int fd)
{
    char           line[VL_CDLOG_LINE_MAX], id[VL_CDLOG_LINE_MAX];
    vl_cdlog_rec_t r;
    vl_err_t       err = { 0 };
    size_t         len = disc_ix.tail_len;

    if (len > sizeof(line)
        || pread(fd, line, len, (off_t) disc_ix.tail_off) != (ssize_t) len
        || line[len - 1] != '\n')
    {
        return 0;
    }
    return vl_cdlog_parse(line, len - 1, id, sizeof(id), &r, &err) == VL_OK
           && r.check == disc_ix.tail_check && r.seq == disc_ix.pos.seq;
}

/* Bring the index up to the file (lock held). */
static int
disc_refresh(const char *dir, vl_err_t *err)
{
    char              path[4096];
    struct stat       st;
    long long         mtime;
    vl_cdlog_result_t rd;
    int               fd, rc, changed;

    snprintf(path, sizeof(path), "%s/%s", dir, VL_CDLOG_FILE);
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return vl_err_set(err, VL_ENOTFOUND,
                              "no Change Discovery log "
                              "yet (vellum scan writes it)");
        }
        return vl_err_set(err, VL_EIO,
                          "cannot read the Change Discovery "
                          "log: %s",
                          strerror(errno));
    }
    mtime = (long long) st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
    changed = st.st_size != disc_ix.size || mtime != disc_ix.mtime_ns;
    /* appends only make it longer: written and not longer, it was edited
     * (or repaired) in place */
    if (disc_ix.path == NULL || strcmp(disc_ix.path, path) != 0
        || disc_ix.dev != st.st_dev || disc_ix.ino != st.st_ino
        || (uint64_t) st.st_size < disc_ix.pos.off
        || (changed && (disc_ix.damaged || st.st_size == disc_ix.size)))
    {
        disc_forget();
        if ((disc_ix.path = strdup(path)) == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        disc_ix.dev = st.st_dev;
        disc_ix.ino = st.st_ino;
    }
    if (st.st_size == disc_ix.size && mtime == disc_ix.mtime_ns) {
        return VL_OK;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return vl_err_set(err, VL_EIO,
                          "cannot read the Change Discovery "
                          "log: %s",
                          strerror(errno));
    }
    /* longer looks like an append, but a log cut and grown again in place
     * (a crash and the scanner's recovery between two requests) is longer
     * too: go on from where reading stopped only if the record before it
     * is still the one read */
    if (disc_ix.tail_len > 0 && !disc_tail_same(fd)) {
        disc_forget();
        if ((disc_ix.path = strdup(path)) == NULL) {
            close(fd);
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        disc_ix.dev = st.st_dev;
        disc_ix.ino = st.st_ino;
    }
    rc = vl_cdlog_read(fd, &disc_ix.pos, disc_add, NULL, &rd, err);
    close(fd);
    if (rc != VL_OK) {
        disc_forget();
        return rc == VL_ENOMEM ? vl_err_set(err, rc, "out of memory") : rc;
    }
    disc_ix.pos = rd.pos;
    disc_ix.size = st.st_size;
    disc_ix.mtime_ns = mtime;
    if (rd.end == VL_CDLOG_DAMAGED) {
        disc_ix.damaged = 1;
        vl_log(VL_LOG_ERROR, NULL,
               "the Change Discovery log is damaged at "
               "line %llu (byte %llu): %s; serving the %llu activities "
               "before it",
               (unsigned long long) rd.pos.seq + 1,
               (unsigned long long) rd.pos.off, rd.why,
               (unsigned long long) disc_ix.n);
    }
    return VL_OK;
}

/* Read count activities from the log from offset off (skipping Seen). */
static int
disc_read(vl_pool_t *pool, const char *dir, uint64_t off, size_t count,
          vl_cdlog_rec_t *items, vl_err_t *err)
{
    char   path[4096], *buf, *id;
    size_t got = 0, have = 0;
    int    fd, rc = VL_OK;

    snprintf(path, sizeof(path), "%s/%s", dir, VL_CDLOG_FILE);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        return vl_err_set(err, VL_EIO,
                          "cannot read the Change Discovery "
                          "log: %s",
                          strerror(errno));
    }
    buf = malloc(DISC_READ + VL_CDLOG_LINE_MAX);
    id = malloc(VL_CDLOG_LINE_MAX);
    if (buf == NULL || id == NULL) {
        rc = vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    while (rc == VL_OK && got < count) {
        size_t  p = 0;
        ssize_t r = pread(fd, buf + have, DISC_READ, (off_t) (off + have));

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            rc = vl_err_set(err, VL_EIO,
                            "the Change Discovery log changed "
                            "while it was read");
            break;
        }
        have += (size_t) r;
        for (;;) {
            char          *nl = memchr(buf + p, '\n', have - p);
            vl_cdlog_rec_t rec;
            vl_err_t       perr = { 0 };

            if (nl == NULL || got == count) {
                break;
            }
            if (vl_cdlog_parse(buf + p, (size_t) (nl - buf - p), id,
                               VL_CDLOG_LINE_MAX, &rec, &perr)
                != VL_OK)
            {
                rc = vl_err_set(err, VL_EIO,
                                "the Change Discovery log "
                                "changed while it was read");
                break;
            }
            p = (size_t) (nl - buf) + 1;
            if (!vl_cdlog_is_activity(&rec)) {
                continue;
            }
            if ((rec.id = vl_pool_strdup(pool, id)) == NULL) {
                rc = vl_err_set(err, VL_ENOMEM, "out of memory");
                break;
            }
            items[got++] = rec;
        }
        if (have - p > VL_CDLOG_LINE_MAX) {
            rc = vl_err_set(err, VL_EIO,
                            "the Change Discovery log changed "
                            "while it was read");
        }
        memmove(buf, buf + p, have - p);
        off += p;
        have -= p;
    }
    free(buf);
    free(id);
    close(fd);
    return rc;
}

int
vl_discovery_get(vl_pool_t *pool, const char *dir, uint64_t size, uint64_t page,
                 vl_discovery_page_t *out, vl_err_t *err)
{
    char      last[VL_CDLOG_TIME_LEN + 1];
    uint64_t  first, off0 = 0, off1 = 0, count = 0;
    vl_hash_t h;
    int       rc;

    memset(out, 0, sizeof(*out));
    if (size == 0) {
        return vl_err_set(err, VL_EINTERNAL, "a page size of 0");
    }
    pthread_mutex_lock(&disc_ix.lock);
    if ((rc = disc_refresh(dir, err)) != VL_OK) {
        pthread_mutex_unlock(&disc_ix.lock);
        return rc;
    }
    out->total = disc_ix.n;
    out->size = size;
    out->npages = vl_discovery_npages(out->total, size);
    out->page = page;
    first = disc_ix.first;
    memcpy(last, disc_ix.last, sizeof(last));
    if (page > 0
        && vl_discovery_span(out->total, size, page, &out->start, &count)) {
        off0 = disc_ix.off[out->start];
        off1 = disc_ix.off[out->start + count - 1];
    }
    pthread_mutex_unlock(&disc_ix.lock);

    /* Change Discovery 1.0: the collection MUST have last, a page holds
     * one activity at least; so no collection before the first activity */
    if (out->total == 0) {
        return vl_err_set(err, VL_ENOTFOUND, "no activity yet");
    }
    vl_hash_init(&h);
    vl_hash_str(&h, "vellum discovery 1");
    vl_hash_u64(&h, first);
    vl_hash_u64(&h, page);
    if (page == 0) {
        vl_hash_u64(&h, out->total);
        vl_hash_final(&h, out->tag);
        out->mtime = vl_cdlog_time_parse(last);
        return VL_OK;
    }
    if (count == 0) {
        return vl_err_set(err, VL_ENOTFOUND,
                          "no such page: the stream has "
                          "%llu pages",
                          (unsigned long long) out->npages);
    }
    out->items = vl_pool_calloc(pool, (size_t) count, sizeof(*out->items));
    if (out->items == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = disc_read(pool, dir, off0, (size_t) count, out->items, err))
        != VL_OK) {
        vl_discovery_reset();
        return rc;
    }
    out->n = (size_t) count;
    /* the records at these offsets never change; a page gets more of them
     * or a next page only while it is the last */
    vl_hash_u64(&h, off0);
    vl_hash_u64(&h, off1);
    vl_hash_u64(&h, count);
    vl_hash_u64(&h, page < out->npages);
    vl_hash_final(&h, out->tag);
    out->mtime = vl_cdlog_time_parse(out->items[count - 1].time);
    return VL_OK;
}

/* ----------------------------------------------------------------- JSON */

char *
vl_discovery_uri(vl_pool_t *pool, const char *base, uint64_t page)
{
    if (page == 0) {
        return vl_pool_printf(pool, "%scd/collection.json", base);
    }
    return vl_pool_printf(pool, "%scd/pages/%llu.json", base,
                          (unsigned long long) page);
}

static int
disc_has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* The SEE_ALSO template with every {id} replaced by the identifier,
 * percent-encoded as one path segment. */
static char *
disc_see_also(vl_pool_t *pool, const char *tmpl, const char *id)
{
    char       *enc = vl_percent_encode(pool, id, strlen(id));
    vl_str_t    parts[64];
    size_t      n = 0;
    const char *p = tmpl, *q;

    if (enc == NULL) {
        return NULL;
    }
    while ((q = strstr(p, "{id}")) != NULL && n + 2 < 64) {
        parts[n++] = (vl_str_t) { (size_t) (q - p), p };
        parts[n++] = vl_str_from(enc);
        p = q + 4;
    }
    parts[n++] = vl_str_from(p);
    return vl_str_cat(pool, parts, n);
}

/* {id, type} */
static json_t *
disc_ref(const char *id, const char *type)
{
    json_t *o = json_object();

    if (o != NULL) {
        json_object_set_new(o, "id", json_string(id));
        json_object_set_new(o, "type", json_string(type));
    }
    return o;
}

static json_t *
disc_activity(vl_pool_t *pool, const vl_discovery_opts_t *o,
              const vl_cdlog_rec_t *r)
{
    json_t *a = json_object(), *obj = json_object();
    char   *mid = vl_tree_uri(pool, o->base, r->id, "/manifest");

    if (a == NULL || obj == NULL || mid == NULL) {
        json_decref(a);
        json_decref(obj);
        return NULL;
    }
    json_object_set_new(a, "type", json_string(vl_cdlog_type_name(r->type)));
    json_object_set_new(obj, "id", json_string(mid));
    json_object_set_new(obj, "type", json_string("Manifest"));
    /* what is gone has no record to fetch */
    if (disc_has(o->see_also) && r->type != VL_CDLOG_DELETE) {
        json_t *arr = json_array(), *sa = json_object();
        char   *sid = disc_see_also(pool, o->see_also, r->id);

        if (arr == NULL || sa == NULL || sid == NULL) {
            json_decref(arr);
            json_decref(sa);
            json_decref(obj);
            json_decref(a);
            return NULL;
        }
        json_object_set_new(sa, "id", json_string(sid));
        json_object_set_new(sa, "type", json_string("Dataset"));
        if (disc_has(o->see_also_format)) {
            json_object_set_new(sa, "format", json_string(o->see_also_format));
        }
        if (disc_has(o->see_also_profile)) {
            json_object_set_new(sa, "profile",
                                json_string(o->see_also_profile));
        }
        json_array_append_new(arr, sa);
        json_object_set_new(obj, "seeAlso", arr);
    }
    json_object_set_new(a, "object", obj);
    json_object_set_new(a, "endTime", json_string(r->time));
    return a;
}

int
vl_discovery_json(vl_pool_t *pool, const vl_discovery_opts_t *o,
                  const vl_discovery_page_t *p, char **json, size_t *len,
                  vl_err_t *err)
{
    const char *ctype = "OrderedCollectionPage";
    json_t     *doc, *items = NULL;
    char       *text;
    int         bad;

    if (p->page == 0 && p->npages == 0) {
        return vl_err_set(err, VL_ENOTFOUND, "no activity yet");
    }
    bad = (doc = json_object()) == NULL;
    if (!bad) {
        json_object_set_new(doc, "@context", json_string(VL_DISCOVERY_CONTEXT));
        json_object_set_new(
            doc, "id", json_string(vl_discovery_uri(pool, o->base, p->page)));
    }
    if (!bad && p->page == 0) {
        json_object_set_new(doc, "type", json_string("OrderedCollection"));
        json_object_set_new(doc, "totalItems",
                            json_integer((json_int_t) p->total));
        json_object_set_new(
            doc, "first", disc_ref(vl_discovery_uri(pool, o->base, 1), ctype));
        json_object_set_new(
            doc, "last",
            disc_ref(vl_discovery_uri(pool, o->base, p->npages), ctype));
    } else if (!bad) {
        json_object_set_new(doc, "type", json_string(ctype));
        json_object_set_new(
            doc, "partOf",
            disc_ref(vl_discovery_uri(pool, o->base, 0), "OrderedCollection"));
        json_object_set_new(doc, "startIndex",
                            json_integer((json_int_t) p->start));
        if (p->page > 1) {
            json_object_set_new(
                doc, "prev",
                disc_ref(vl_discovery_uri(pool, o->base, p->page - 1), ctype));
        }
        if (p->page < p->npages) {
            json_object_set_new(
                doc, "next",
                disc_ref(vl_discovery_uri(pool, o->base, p->page + 1), ctype));
        }
        bad = (items = json_array()) == NULL;
        for (size_t i = 0; !bad && i < p->n; i++) {
            bad = json_array_append_new(items,
                                        disc_activity(pool, o, &p->items[i]))
                  != 0;
        }
        json_object_set_new(doc, "orderedItems", items);
    }
    text = bad ? NULL : json_dumps(doc, JSON_PRESERVE_ORDER | JSON_INDENT(2));
    json_decref(doc);
    if (text == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    *len = strlen(text);
    *json = vl_pool_strndup(pool, text, *len);
    free(text);
    if (*json == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    return VL_OK;
}
