/* SPDX-License-Identifier: MIT */
/*
 * scan: lock, read and fold the log (removing a torn last record), walk
 * the tree folder by folder (one pool per listing), decide each object,
 * then append every record of the scan and fsync. The order of a scan's
 * records: Deletes (by identifier), then Create, Update and Seen in the
 * order of the walk (a folder's entries by name, then its sub-folders).
 *
 * An object's files are stat'ed by the listing before they are read, so a
 * change while the scan runs is seen by this scan or the next, never lost.
 * A file modified less than SCAN_RACY_NS before the scan started may
 * change again within the same timestamp tick: its object is recorded
 * with STAT 0, which the next scan never takes as unchanged.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/hash.h"
#include "core/log.h"
#include "core/pool.h"
#include "present/cdlog.h"
#include "present/scan.h"
#include "present/sidecar.h"
#include "present/tree.h"

#define SCAN_BLOCK   ((size_t) 1 << 20) /* bytes per pread */
#define SCAN_RACY_NS (2LL * 1000000000LL)
#define SCAN_OUT     ((size_t) 1 << 20) /* bytes per write */

typedef struct {
    vl_cdlog_type_t type;
    int             kind;
    const char     *id; /* the state's copy */
    uint64_t        stat, sig[2];
} scan_rec_t;

typedef struct {
    const vl_conf_t      *conf;
    const vl_scan_opts_t *opts;
    vl_scan_result_t     *res;
    vl_cdlog_state_t     *state;
    unsigned char        *buf;      /* SCAN_BLOCK */
    long long             start_ns; /* CLOCK_REALTIME */
    scan_rec_t           *recs;
    size_t                nrec, caprec;
    char                **protect; /* "dir/": kept, not deleted */
    size_t                nprotect, capprotect;
    char                **stack; /* folders to list */
    size_t                nstack, capstack;
    size_t                root_entries; /* listed in the image root */
} scan_t;

/* One file of an object and its sidecar, as listed. */
typedef struct {
    const char         *name;
    const vl_file_id_t *file;
    int                 has_sidecar;
    const vl_file_id_t *sidecar;
} scan_file_t;

static void scan_note(scan_t *sc, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
scan_note(scan_t *sc, int level, const char *fmt, ...)
{
    char    msg[512];
    va_list ap;

    if (sc->opts == NULL || sc->opts->note == NULL) {
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sc->opts->note(sc->opts->arg, level, msg);
}

static int
scan_push(void ***arr, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        void **p = realloc(*arr, nc * sizeof(*p));

        if (p == NULL) {
            return -1;
        }
        *arr = p;
        *cap = nc;
    }
    (*arr)[(*n)++] = item;
    return 0;
}

/* ------------------------------------------------------------ state dir */

/* mkdir -p; the new directories are fsync'ed into their parents. */
static int
scan_mkdirs(const char *dir, vl_err_t *err)
{
    char   path[4096];
    size_t n = strlen(dir);

    if (n == 0 || n >= sizeof(path)) {
        return vl_err_set(err, VL_ECONF, "STATE_DIR is too long");
    }
    memcpy(path, dir, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (path[i] != '/' && path[i] != '\0') {
            continue;
        }
        path[i] = '\0';
        if (mkdir(path, 0755) == 0) {
            char *slash = strrchr(path, '/');
            int   fd;

            /* the new entry in its parent survives a crash */
            if (slash != NULL) {
                *slash = '\0';
                fd = open(slash == path ? "/" : path,
                          O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                if (fd >= 0) {
                    (void) fsync(fd);
                    close(fd);
                }
                *slash = '/';
            }
        } else if (errno != EEXIST) {
            return vl_err_set(err, VL_EIO, "cannot create STATE_DIR: %s",
                              strerror(errno));
        }
        path[i] = i < n ? '/' : '\0';
    }
    return VL_OK;
}

static int
scan_fsync_dir(const char *dir, vl_err_t *err)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;

        if (fd >= 0) {
            close(fd);
        }
        return vl_err_set(err, VL_EIO, "cannot sync STATE_DIR: %s",
                          strerror(e));
    }
    close(fd);
    return VL_OK;
}

/* The lock of STATE_DIR, held until *fd is closed. */
static int
scan_lock(const char *dir, int *out, vl_err_t *err)
{
    char path[4096];
    int  fd;

    snprintf(path, sizeof(path), "%s/%s", dir, VL_CDLOG_LOCK);
    if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0) {
        return vl_err_set(err, VL_EIO,
                          "cannot open the scan lock in "
                          "STATE_DIR: %s",
                          strerror(errno));
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;

        close(fd);
        if (e == EWOULDBLOCK) {
            return vl_err_set(err, VL_EBUSY,
                              "another scan is running on "
                              "this STATE_DIR");
        }
        return vl_err_set(err, VL_EIO, "cannot lock the scan lock: %s",
                          strerror(e));
    }
    *out = fd;
    return VL_OK;
}

/* Open the log for appending, creating it (and syncing the directory)
 * when it is missing. */
static int
scan_open_log(const char *dir, int *out, vl_err_t *err)
{
    char path[4096];
    int  fd;

    snprintf(path, sizeof(path), "%s/%s", dir, VL_CDLOG_FILE);
    fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
        int rc = scan_fsync_dir(dir, err);

        if (rc != VL_OK) {
            close(fd);
            return rc;
        }
    } else if (errno == EEXIST) {
        fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
    }
    if (fd < 0) {
        return vl_err_set(err, VL_EIO,
                          "cannot open the Change Discovery "
                          "log: %s",
                          strerror(errno));
    }
    *out = fd;
    return VL_OK;
}

static int
scan_fold(void *arg, const vl_cdlog_rec_t *r, uint64_t off, size_t len)
{
    vl_err_t err = { 0 };

    (void) off;
    (void) len;
    return vl_cdlog_state_apply(arg, r, &err);
}

/* Read and fold the log; remove a torn last record; refuse damage. */
static int
scan_load(scan_t *sc, int fd, vl_cdlog_pos_t *pos, vl_err_t *err)
{
    vl_cdlog_result_t rd;
    int               rc;

    if ((rc = vl_cdlog_read(fd, NULL, scan_fold, sc->state, &rd, err)) != VL_OK)
    {
        return rc == VL_ENOMEM ? vl_err_set(err, VL_ENOMEM, "out of memory")
                               : rc;
    }
    if (rd.end == VL_CDLOG_DAMAGED) {
        return vl_err_set(err, VL_EFORMAT,
                          "the Change Discovery log is "
                          "damaged at line %llu (byte %llu): %s; it is valid "
                          "up to byte %llu; nothing was written",
                          (unsigned long long) rd.pos.seq + 1,
                          (unsigned long long) rd.pos.off, rd.why,
                          (unsigned long long) rd.pos.off);
    }
    if (rd.end == VL_CDLOG_TORN) {
        if (ftruncate(fd, (off_t) rd.pos.off) != 0 || fsync(fd) != 0) {
            return vl_err_set(err, VL_EIO,
                              "cannot remove the incomplete "
                              "last record of the log: %s",
                              strerror(errno));
        }
        sc->res->torn_bytes = rd.tail;
        scan_note(sc, VL_LOG_ERROR,
                  "removed an incomplete last record "
                  "(%llu bytes after record %llu): a scan stopped while "
                  "appending it; its changes are found again by this scan",
                  (unsigned long long) rd.tail,
                  (unsigned long long) rd.pos.seq);
    }
    *pos = rd.pos;
    return VL_OK;
}

/* ---------------------------------------------------------- the objects */

static int
scan_racy(const scan_t *sc, const vl_file_id_t *f)
{
    return f->mtime_ns > sc->start_ns - SCAN_RACY_NS;
}

static void
scan_hash_id(vl_hash_t *h, const vl_file_id_t *f)
{
    vl_hash_u64(h, (uint64_t) f->ino);
    vl_hash_u64(h, (uint64_t) f->size);
    vl_hash_u64(h, (uint64_t) f->mtime_ns);
}

/* The STAT of an object's files: 0 when one of them is racy. */
static uint64_t
scan_stat(const scan_t *sc, int kind, const vl_file_id_t *sidecar,
          const scan_file_t *files, size_t n)
{
    vl_hash_t h;
    uint64_t  v[2];
    int       racy = 0;

    vl_hash_init(&h);
    vl_hash_str(&h, kind == VL_CDLOG_IMAGE ? "vellum stat image"
                                           : "vellum stat folder");
    if (sidecar != NULL) {
        scan_hash_id(&h, sidecar);
        racy |= scan_racy(sc, sidecar);
    }
    vl_hash_u64(&h, n);
    for (size_t i = 0; i < n; i++) {
        vl_hash_str(&h, files[i].name);
        scan_hash_id(&h, files[i].file);
        racy |= scan_racy(sc, files[i].file);
        vl_hash_u64(&h, (uint64_t) files[i].has_sidecar);
        if (files[i].has_sidecar) {
            scan_hash_id(&h, files[i].sidecar);
            racy |= scan_racy(sc, files[i].sidecar);
        }
    }
    vl_hash_final(&h, v);
    return racy ? 0 : v[0] != 0 ? v[0] : 1;
}

/* The length and the XXH64 of entry name of folder dir, into h. */
static int
scan_hash_file(scan_t *sc, const char *dir, const char *name, vl_hash_t *h,
               vl_err_t *err)
{
    vl_hash64_t x;
    uint64_t    off = 0;
    int         fd, rc;

    if ((rc = vl_tree_open(sc->conf, dir, name, &fd, err)) != VL_OK) {
        return rc;
    }
#ifdef POSIX_FADV_SEQUENTIAL
    (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    vl_hash64_init(&x, 0);
    for (;;) {
        ssize_t r = pread(fd, sc->buf, SCAN_BLOCK, (off_t) off);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r < 0) {
            int e = errno;

            close(fd);
            return vl_err_set(err, VL_EIO, "cannot read it: %s", strerror(e));
        }
        if (r == 0) {
            break;
        }
        vl_hash64_update(&x, sc->buf, (size_t) r);
        off += (uint64_t) r;
    }
    close(fd);
    sc->res->files_hashed++;
    sc->res->bytes_hashed += off;
    vl_hash_u64(h, off);
    vl_hash_u64(h, vl_hash64_final(&x));
    return VL_OK;
}

/* The content signature: the sidecar of a folder object (its text), then
 * each file and its sidecar by name, size and XXH64. */
static int
scan_sig(scan_t *sc, int kind, const char *dir, const char *text, size_t tlen,
         const scan_file_t *files, size_t n, uint64_t sig[2], vl_err_t *err)
{
    char      name[1024];
    vl_hash_t h;
    int       rc;

    vl_hash_init(&h);
    vl_hash_str(&h, kind == VL_CDLOG_IMAGE ? "vellum image" : "vellum folder");
    if (text != NULL) {
        vl_hash_u64(&h, tlen);
        vl_hash_u64(&h, vl_hash64(text, tlen, 0));
    }
    vl_hash_u64(&h, n);
    for (size_t i = 0; i < n; i++) {
        vl_hash_str(&h, files[i].name);
        if ((rc = scan_hash_file(sc, dir, files[i].name, &h, err)) != VL_OK) {
            return rc;
        }
        vl_hash_u64(&h, (uint64_t) files[i].has_sidecar);
        if (files[i].has_sidecar) {
            snprintf(name, sizeof(name), "%s%s", files[i].name,
                     VL_SIDECAR_SUFFIX);
            if ((rc = scan_hash_file(sc, dir, name, &h, err)) != VL_OK) {
                return rc;
            }
        }
    }
    vl_hash_final(&h, sig);
    return VL_OK;
}

/* Note r and fold it into the state at once: the state is then the log
 * as it will be, and a second object of the same identifier is seen. */
static int
scan_add(scan_t *sc, vl_cdlog_type_t type, int kind, const char *id,
         uint64_t stat, const uint64_t sig[2], vl_err_t *err)
{
    vl_cdlog_rec_t  r;
    vl_cdlog_obj_t *o;
    int             rc;

    memset(&r, 0, sizeof(r));
    r.type = type;
    r.kind = kind;
    r.id = id;
    r.stat = stat;
    if (sig != NULL) {
        r.sig[0] = sig[0];
        r.sig[1] = sig[1];
    }
    if ((rc = vl_cdlog_state_apply(sc->state, &r, err)) != VL_OK) {
        return rc;
    }
    o = vl_cdlog_state_get(sc->state, id);
    if (sc->nrec == sc->caprec) {
        size_t      cap = sc->caprec ? sc->caprec * 2 : 256;
        scan_rec_t *p = realloc(sc->recs, cap * sizeof(*p));

        if (p == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        sc->recs = p;
        sc->caprec = cap;
    }
    sc->recs[sc->nrec++] =
        (scan_rec_t) { type, kind, o->id, r.stat, { r.sig[0], r.sig[1] } };
    switch (type) {
    case VL_CDLOG_CREATE:
        sc->res->creates++;
        break;
    case VL_CDLOG_UPDATE:
        sc->res->updates++;
        break;
    case VL_CDLOG_DELETE:
        sc->res->deletes++;
        break;
    case VL_CDLOG_SEEN:
        sc->res->seen++;
        break;
    }
    return VL_OK;
}

/* Decide one object found in the tree: unchanged (by its STAT), or read
 * and compared by content. text: a folder object's sidecar. */
static int
scan_object(scan_t *sc, int kind, const char *id, const char *dir,
            const vl_file_id_t *sidecar, const char *text, size_t tlen,
            const scan_file_t *files, size_t n, vl_err_t *err)
{
    vl_cdlog_obj_t *o = vl_cdlog_state_get(sc->state, id);
    uint64_t        stat, sig[2];
    vl_err_t        rerr = { 0 };
    int             rc;

    if (o != NULL && o->mark) {
        scan_note(sc, VL_LOG_WARN,
                  "%s: found twice in the tree; the first "
                  "is listed",
                  id);
        return VL_OK;
    }
    if (kind == VL_CDLOG_IMAGE) {
        sc->res->images++;
    } else {
        sc->res->objects++;
    }
    stat = scan_stat(sc, kind, sidecar, files, n);
    if (o != NULL && o->live && o->kind == kind && stat != 0 && o->stat == stat)
    {
        o->mark = 1;
        return VL_OK;
    }
    rc = scan_sig(sc, kind, dir, text, tlen, files, n, sig, &rerr);
    if (rc == VL_ENOMEM) {
        return vl_err_set(err, rc, "%s", rerr.msg);
    }
    if (rc != VL_OK) {
        /* gone or unreadable since the listing: as it was, for now */
        scan_note(sc, VL_LOG_WARN, "%s: %s; left as it was", id, rerr.msg);
        if (o != NULL) {
            o->mark = 1;
        }
        return VL_OK;
    }
    if (o == NULL || !o->live) {
        rc = scan_add(sc, VL_CDLOG_CREATE, kind, id, stat, sig, err);
    } else if (o->kind != kind || o->sig[0] != sig[0] || o->sig[1] != sig[1]) {
        rc = scan_add(sc, VL_CDLOG_UPDATE, kind, id, stat, sig, err);
    } else if (o->stat != stat) {
        rc = scan_add(sc, VL_CDLOG_SEEN, kind, id, stat, sig, err);
    }
    if (rc == VL_OK && (o = vl_cdlog_state_get(sc->state, id)) != NULL) {
        o->mark = 1;
    }
    return rc;
}

static int
scan_protect(scan_t *sc, const char *dir, vl_err_t *err)
{
    char *p = malloc(strlen(dir) + 2);

    if (p == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    sprintf(p, "%s/", dir);
    if (scan_push((void ***) &sc->protect, &sc->nprotect, &sc->capprotect, p)
        != 0) {
        free(p);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    return VL_OK;
}

static int
scan_protected(const scan_t *sc, const char *id)
{
    for (size_t i = 0; i < sc->nprotect; i++) {
        if (strncmp(id, sc->protect[i], strlen(sc->protect[i])) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
scan_entry_cmp(const void *key, const void *e)
{
    return strcmp((const char *) key, ((const vl_tree_entry_t *) e)->name);
}

/* 1 if name is an image entry of the listing e (n entries, by name). */
static int
scan_has_image(const vl_tree_entry_t *e, size_t n, const char *name)
{
    const vl_tree_entry_t *f =
        n > 0 ? bsearch(name, e, n, sizeof(*e), scan_entry_cmp) : NULL;

    return f != NULL && f->kind == VL_TREE_IMAGE;
}

/* Folder id onto *subs: walked as any folder, after this one. */
static int
scan_push_sub(const char *id, char ***subs, size_t *nsubs, size_t *capsubs,
              vl_err_t *err)
{
    char *copy = strdup(id);

    if (copy == NULL || scan_push((void ***) subs, nsubs, capsubs, copy) != 0) {
        free(copy);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    return VL_OK;
}

/* Folder e, whose sidecar sd (text) has items: an object when one of the
 * items is an image entry of it, as the server decides (else its manifest
 * is a 404): its images are then its files and its sub-folders are walked
 * as any folder; otherwise a plain folder, walked. */
static int
scan_folder_object(scan_t *sc, vl_pool_t *pool, const vl_tree_entry_t *e,
                   const vl_sidecar_t *sd, const char *text, size_t tlen,
                   char ***subs, size_t *nsubs, size_t *capsubs, vl_err_t *err)
{
    vl_tree_entry_t *m;
    scan_file_t     *files;
    vl_err_t         lerr = { 0 };
    size_t           nm, nf = 0, k;
    int              rc;

    rc = vl_tree_list(pool, sc->conf, e->id, VL_TREE_SNIFF | VL_TREE_STRICT, &m,
                      &nm, &lerr);
    if (rc == VL_ENOTFOUND) {
        return VL_OK; /* gone since the listing */
    }
    if (rc != VL_OK) {
        vl_cdlog_obj_t *o = vl_cdlog_state_get(sc->state, e->id);

        scan_note(sc, VL_LOG_WARN, "%s: %s; left as it was", e->id, lerr.msg);
        if (o != NULL) {
            o->mark = 1;
        }
        return rc == VL_ENOMEM ? vl_err_set(err, rc, "out of memory")
                               : scan_protect(sc, e->id, err);
    }
    for (k = 0; k < sd->nitems && !scan_has_image(m, nm, sd->items[k]); k++) {
    }
    if (k == sd->nitems) {
        scan_note(sc, VL_LOG_WARN,
                  "%s%s: not used: its items name no image "
                  "of the folder",
                  e->id, VL_SIDECAR_SUFFIX);
        return scan_push_sub(e->id, subs, nsubs, capsubs, err);
    }
    if ((files = vl_pool_calloc(pool, nm + 1, sizeof(*files))) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < nm; i++) {
        if (m[i].kind == VL_TREE_FOLDER) {
            if ((rc = scan_push_sub(m[i].id, subs, nsubs, capsubs, err))
                != VL_OK) {
                return rc;
            }
            continue;
        }
        files[nf].name = m[i].name;
        files[nf].file = &m[i].file;
        files[nf].has_sidecar = m[i].sidecar;
        files[nf].sidecar = &m[i].sidecar_file;
        nf++;
    }
    return scan_object(sc, VL_CDLOG_FOLDER, e->id, e->id, &e->sidecar_file,
                       text, tlen, files, nf, err);
}

/* May folder e be a folder object? Its sidecar is read and valid, with
 * items: *sd parsed from *text. */
static int
scan_is_object(scan_t *sc, vl_pool_t *pool, const vl_tree_entry_t *e,
               vl_sidecar_t *sd, char **text, size_t *tlen)
{
    vl_file_id_t fid;
    vl_err_t     err = { 0 };

    if (!e->sidecar
        || vl_tree_sidecar(pool, sc->conf, e->id, 1, VL_SIDECAR_MAX, text, tlen,
                           &fid, &err)
               != VL_OK)
    {
        if (err.code != VL_OK && err.code != VL_ENOTFOUND) {
            scan_note(sc, VL_LOG_WARN, "%s%s: not used: %s", e->id,
                      VL_SIDECAR_SUFFIX, err.msg);
        }
        return 0;
    }
    if (vl_sidecar_parse(pool, *text, *tlen, 1, sd, &err) != VL_OK) {
        scan_note(sc, VL_LOG_WARN, "%s%s: not used: %s", e->id,
                  VL_SIDECAR_SUFFIX, err.msg);
        return 0;
    }
    return sd->nitems > 0;
}

/* 1 if folder entry f of the listing e (n entries) has an image beside it
 * with the same identifier (f's name + FILESYSTEM_SUFFIX). */
static int
scan_has_twin(scan_t *sc, vl_pool_t *pool, const vl_tree_entry_t *e, size_t n,
              const vl_tree_entry_t *f)
{
    const char *suffix = sc->conf->filesystem_suffix;
    char       *name;

    if (suffix == NULL || suffix[0] == '\0') {
        return 0; /* the same name: not both in one folder */
    }
    name = vl_pool_printf(pool, "%s%s", f->name, suffix);
    return name != NULL && scan_has_image(e, n, name);
}

/* List folder dir: its images and folder objects are decided, its other
 * folders go onto the stack (in order). */
static int
scan_folder(scan_t *sc, const char *dir, vl_err_t *err)
{
    vl_pool_t       *pool = vl_pool_create(65536);
    vl_tree_entry_t *e;
    vl_err_t         lerr = { 0 };
    char           **subs = NULL;
    size_t           n, nsubs = 0, capsubs = 0;
    int              rc;

    if (pool == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    /* strict: an entry that cannot be read fails the listing, so that it
     * is kept rather than taken for deleted */
    rc = vl_tree_list(pool, sc->conf, dir, VL_TREE_SNIFF | VL_TREE_STRICT, &e,
                      &n, &lerr);
    if (rc != VL_OK) {
        vl_pool_destroy(pool);
        if (dir[0] == '\0') {
            /* never "everything was deleted" from an unreadable root */
            return vl_err_set(err, rc == VL_ENOMEM ? VL_ENOMEM : VL_EIO,
                              "cannot list the image root: %s", lerr.msg);
        }
        if (rc == VL_ENOTFOUND) {
            return VL_OK; /* gone since its parent's listing */
        }
        scan_note(sc, VL_LOG_WARN,
                  "%s: %s; what was found under it "
                  "before is kept",
                  dir, lerr.msg);
        return rc == VL_ENOMEM ? vl_err_set(err, rc, "out of memory")
                               : scan_protect(sc, dir, err);
    }
    if (dir[0] == '\0') {
        sc->root_entries = n;
    }
    for (size_t i = 0; i < n && rc == VL_OK; i++) {
        vl_sidecar_t sd;
        char        *text = NULL;
        size_t       tlen = 0;

        if (e[i].kind == VL_TREE_IMAGE) {
            scan_file_t f = { e[i].name, &e[i].file, e[i].sidecar,
                              &e[i].sidecar_file };

            rc = scan_object(sc, VL_CDLOG_IMAGE, e[i].id, dir, NULL, NULL, 0,
                             &f, 1, err);
        } else if (!scan_is_object(sc, pool, &e[i], &sd, &text, &tlen)) {
            rc = scan_push_sub(e[i].id, &subs, &nsubs, &capsubs, err);
        } else if (scan_has_twin(sc, pool, e, n, &e[i])) {
            /* the server answers {id}/manifest with the image */
            scan_note(sc, VL_LOG_WARN,
                      "%s: an image and a folder object have "
                      "this identifier; the image is listed, the folder is "
                      "a plain folder",
                      e[i].id);
            rc = scan_push_sub(e[i].id, &subs, &nsubs, &capsubs, err);
        } else {
            rc = scan_folder_object(sc, pool, &e[i], &sd, text, tlen, &subs,
                                    &nsubs, &capsubs, err);
        }
    }
    /* pushed in reverse: popped, they come in name order */
    for (size_t i = nsubs; i > 0; i--) {
        if (rc == VL_OK
            && scan_push((void ***) &sc->stack, &sc->nstack, &sc->capstack,
                         subs[i - 1])
                   == 0)
        {
            continue;
        }
        if (rc == VL_OK) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        free(subs[i - 1]);
    }
    free(subs);
    vl_pool_destroy(pool);
    return rc;
}

static int
scan_walk(scan_t *sc, vl_err_t *err)
{
    char *root = strdup("");
    int   rc = VL_OK;

    if (root == NULL
        || scan_push((void ***) &sc->stack, &sc->nstack, &sc->capstack, root)
               != 0)
    {
        free(root);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    while (sc->nstack > 0) {
        char *dir = sc->stack[--sc->nstack];

        if (rc == VL_OK) {
            rc = scan_folder(sc, dir, err);
        }
        free(dir);
    }
    return rc;
}

static int
scan_cmp_rec(const void *a, const void *b)
{
    return strcmp(((const scan_rec_t *) a)->id, ((const scan_rec_t *) b)->id);
}

/* What was in the log and is not in the tree any more. */
static int
scan_deletes(scan_t *sc, vl_err_t *err)
{
    size_t first = sc->nrec, count = vl_cdlog_state_count(sc->state);
    int    rc;

    for (size_t i = 0; i < count; i++) {
        vl_cdlog_obj_t *o = vl_cdlog_state_at(sc->state, i);

        if (o->live && !o->mark && !scan_protected(sc, o->id)
            && (rc =
                    scan_add(sc, VL_CDLOG_DELETE, o->kind, o->id, 0, NULL, err))
                   != VL_OK)
        {
            return rc;
        }
    }
    if (sc->nrec > first) {
        qsort(sc->recs + first, sc->nrec - first, sizeof(*sc->recs),
              scan_cmp_rec);
    }
    return VL_OK;
}

/* A scan that would delete every manifest of the log (live of them before
 * it) most likely looked at an unmounted or emptied disk: refused unless
 * forced. */
static int
scan_guard(const scan_t *sc, size_t live, vl_err_t *err)
{
    if (live == 0 || sc->res->deletes < live
        || (sc->opts != NULL && sc->opts->force))
    {
        return VL_OK;
    }
    if (sc->root_entries == 0) {
        return vl_err_set(err, VL_EIO,
                          "the image root is empty but the log has %zu "
                          "manifests (not mounted?); nothing was written; "
                          "--force records them as deleted",
                          live);
    }
    return vl_err_set(err, VL_EIO,
                      "the scan would delete all %zu manifests of the log; "
                      "nothing was written; --force records the Deletes",
                      live);
}

/* ------------------------------------------------------------ appending */

static int
scan_write(int fd, const char *buf, size_t len, vl_err_t *err)
{
    while (len > 0) {
        ssize_t w = write(fd, buf, len);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            return vl_err_set(err, VL_EIO,
                              "cannot append to the Change "
                              "Discovery log: %s; the next scan completes "
                              "it",
                              w < 0 ? strerror(errno) : "no space");
        }
        buf += w;
        len -= (size_t) w;
    }
    return VL_OK;
}

/* Record i of the append order: the Deletes (at the end of recs) first. */
static const scan_rec_t *
scan_order(const scan_t *sc, size_t ndel, size_t i)
{
    size_t nother = sc->nrec - ndel;

    return i < ndel ? &sc->recs[nother + i] : &sc->recs[i - ndel];
}

static int
scan_append(scan_t *sc, int fd, const vl_cdlog_pos_t *pos, vl_err_t *err)
{
    char       now[VL_CDLOG_TIME_LEN + 1], *out;
    size_t     ndel = sc->res->deletes, nout = 0;
    uint64_t   seq = pos->seq;
    vl_pool_t *pool = NULL;
    int        rc = VL_OK;

    if (sc->nrec == 0) {
        return VL_OK;
    }
    /* one time for the scan: when it finished looking, never earlier
     * than the last record */
    vl_cdlog_time((long long) time(NULL), now);
    if (strcmp(now, pos->time) < 0) {
        memcpy(now, pos->time, sizeof(now));
    }
    if ((out = malloc(SCAN_OUT + VL_CDLOG_LINE_MAX)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < sc->nrec && rc == VL_OK; i++) {
        const scan_rec_t *s = scan_order(sc, ndel, i);
        vl_cdlog_rec_t    r;
        char             *line;
        size_t            len;

        if (pool == NULL && (pool = vl_pool_create(65536)) == NULL) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory");
            break;
        }
        memset(&r, 0, sizeof(r));
        r.seq = ++seq;
        memcpy(r.time, now, sizeof(now));
        r.type = s->type;
        r.kind = s->kind;
        r.id = s->id;
        r.stat = s->stat;
        r.sig[0] = s->sig[0];
        r.sig[1] = s->sig[1];
        if ((rc = vl_cdlog_format(pool, &r, &line, &len, err)) != VL_OK) {
            break;
        }
        memcpy(out + nout, line, len);
        nout += len;
        if (nout >= SCAN_OUT) {
            rc = scan_write(fd, out, nout, err);
            nout = 0;
            vl_pool_destroy(pool);
            pool = NULL;
        }
    }
    if (rc == VL_OK && nout > 0) {
        rc = scan_write(fd, out, nout, err);
    }
    if (rc == VL_OK && fsync(fd) != 0) {
        rc = vl_err_set(err, VL_EIO,
                        "cannot sync the Change Discovery "
                        "log: %s",
                        strerror(errno));
    }
    vl_pool_destroy(pool);
    free(out);
    sc->res->records = seq;
    return rc;
}

/* ---------------------------------------------------------------- run */

static double
scan_clock(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

int
vl_scan_run(const vl_conf_t *conf, const vl_scan_opts_t *opts,
            vl_scan_result_t *res, vl_err_t *err)
{
    const char     *dir = conf->state_dir;
    scan_t          sc;
    vl_cdlog_pos_t  pos;
    struct timespec ts;
    double          t0 = scan_clock();
    size_t          live;
    int             lock = -1, fd = -1, rc;

    memset(res, 0, sizeof(*res));
    memset(&sc, 0, sizeof(sc));
    if (dir == NULL || dir[0] == '\0') {
        return vl_err_set(err, VL_ECONF, "STATE_DIR is not set");
    }
    if (conf->filesystem_prefix == NULL || conf->filesystem_prefix[0] == '\0') {
        return vl_err_set(err, VL_ECONF, "FILESYSTEM_PREFIX is not set");
    }
    sc.conf = conf;
    sc.opts = opts;
    sc.res = res;
    clock_gettime(CLOCK_REALTIME, &ts);
    sc.start_ns = (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
    if ((rc = scan_mkdirs(dir, err)) != VL_OK
        || (rc = scan_lock(dir, &lock, err)) != VL_OK
        || (rc = scan_open_log(dir, &fd, err)) != VL_OK)
    {
        goto done;
    }
    sc.state = vl_cdlog_state_new();
    sc.buf = malloc(SCAN_BLOCK);
    if (sc.state == NULL || sc.buf == NULL) {
        rc = vl_err_set(err, VL_ENOMEM, "out of memory");
        goto done;
    }
    if ((rc = scan_load(&sc, fd, &pos, err)) != VL_OK) {
        goto done;
    }
    live = vl_cdlog_state_live(sc.state);
    if ((rc = scan_walk(&sc, err)) != VL_OK
        || (rc = scan_deletes(&sc, err)) != VL_OK
        || (rc = scan_guard(&sc, live, err)) != VL_OK)
    {
        goto done;
    }
    res->records = pos.seq;
    rc = scan_append(&sc, fd, &pos, err);

done:
    if (fd >= 0) {
        close(fd);
    }
    if (lock >= 0) {
        close(lock); /* the lock goes with it */
    }
    for (size_t i = 0; i < sc.nstack; i++) {
        free(sc.stack[i]);
    }
    for (size_t i = 0; i < sc.nprotect; i++) {
        free(sc.protect[i]);
    }
    free(sc.stack);
    free(sc.protect);
    free(sc.recs);
    free(sc.buf);
    vl_cdlog_state_free(sc.state);
    res->seconds = scan_clock() - t0;
    return rc;
}

static void
scan_bytes(uint64_t b, char *buf, size_t size)
{
    if (b >= 1000000000ULL) {
        snprintf(buf, size, "%.1f GB", (double) b / 1e9);
    } else if (b >= 1000000ULL) {
        snprintf(buf, size, "%.1f MB", (double) b / 1e6);
    } else {
        snprintf(buf, size, "%.1f kB", (double) b / 1e3);
    }
}

void
vl_scan_summary(const vl_scan_result_t *res, char *buf, size_t size)
{
    char bytes[32];

    scan_bytes(res->bytes_hashed, bytes, sizeof(bytes));
    snprintf(buf, size,
             "scanned %zu images, %zu objects in %.2f s: "
             "%zu Create, %zu Update, %zu Delete; %zu files hashed (%s), "
             "%zu touched only",
             res->images, res->objects, res->seconds, res->creates,
             res->updates, res->deletes, res->files_hashed, bytes, res->seen);
}
