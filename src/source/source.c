/* SPDX-License-Identifier: MIT */
/*
 * source: identifier -> page and real path under FILESYSTEM_PREFIX
 * (realpath and a prefix check, so nothing outside the root is ever
 * opened), magic-byte sniffing, and the per-worker cache of open handles,
 * one per file and page, revalidated by (device, inode, size, mtime) with
 * one stat per request; a handle also remembers the path that led to it,
 * so a repeated identifier costs that one stat and no realpath. Handles
 * are checked out exclusively and returned with vl_source_put.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/str.h"
#include "source/cms.h"
#include "source/source.h"
#include "source/source_p.h"

struct vl_source_cache_s {
    pthread_mutex_t lock;
    long            max;        /* idle handles kept; -1 unlimited */
    long            nidle;
    vl_source_t    *head;       /* most recently returned */
    vl_source_t    *tail;
    vl_tile_cache_t *tiles;     /* given to every handle checked out */
};

static void
source_close(vl_source_t *src)
{
    if (src == NULL) {
        return;
    }
    if (src->ops != NULL && src->ops->close != NULL) {
        src->ops->close(src);
    }
    if (src->counted) {
        vl_metrics_handles(-1);
    }
    if (src->id_fd >= 0) {
        close(src->id_fd);
    }
    vl_cms_source_close(src->cms);
    vl_tiles_free(src->own_tiles);
    free(src->page_sizes);
    free(src->path);
    free(src->asked);
    free(src);
}

static int source_threads = 1;

void
vl_source_set_decode_threads(int n)
{
    source_threads = n < 1 ? 1 : n > 64 ? 64 : n;
}

int
vl_source_decode_threads(void)
{
    return source_threads;
}

void
vl_source_setup_worker(long workers)
{
    long cpus;

#ifdef M_ARENA_MAX
    /* One malloc arena for all of this worker's threads, set before they
     * start. With an arena per thread, each thread keeps the heap of the
     * largest decode it ever ran (OpenJPEG: ~114 MB for a tile of an untiled
     * JP2), and a 4-thread worker reached 436 MB. With one arena and the
     * JPEG 2000 decode lock (jp2.c) a worker holds one decode's memory at
     * most (126 MB), and JP2 tiles got faster (17.9 -> 24.7 req/s); stored
     * tiles lost ~6 % (8700 -> 8200 req/s), measured in bench/run. */
    mallopt(M_ARENA_MAX, 1);
#endif
#if defined(M_MMAP_THRESHOLD) && defined(M_TRIM_THRESHOLD)
    /* Keep large blocks in the heap instead of a fresh mmap per malloc.
     * OpenJPEG allocates and frees tens of MB per decode (the tile-part
     * buffer, code-block arrays); as mmaps each decode page-faulted and
     * zeroed them again. One JPEG 2000 tile read went from 51 to 27 ms
     * (big-tiled.jp2) and 141 to 115 ms (big.jp2) with the same peak RSS.
     * The cost: a worker keeps up to 128 MB of freed heap. */
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 128 * 1024 * 1024);
#endif
    /* JPEG 2000 decode threads: the CPUs this worker's share leaves */
    cpus = sysconf(_SC_NPROCESSORS_ONLN);
    workers = workers > 0 ? workers : cpus;
    vl_source_set_decode_threads(cpus > 0 && workers > 0
                                     ? (int) (cpus / workers) : 1);
}

static long large_running; /* requests over VL_SOURCE_TRIM_BYTES running */
static int  large_ended;   /* one ended since the last trim */

static void
source_large_done(void *unused)
{
    (void) unused;
    __atomic_store_n(&large_ended, 1, __ATOMIC_RELEASE);
    __atomic_sub_fetch(&large_running, 1, __ATOMIC_ACQ_REL);
}

void
vl_source_note_cost(vl_pool_t *pool, uint64_t bytes)
{
    if (bytes < VL_SOURCE_TRIM_BYTES) {
        return;
    }
    __atomic_add_fetch(&large_running, 1, __ATOMIC_ACQ_REL);
    if (vl_pool_cleanup_add(pool, source_large_done, NULL) != 0) {
        /* no cleanup: count it as ended now, the trim comes later */
        source_large_done(NULL);
    }
}

int
vl_source_release_memory(void)
{
    if (!__atomic_load_n(&large_ended, __ATOMIC_ACQUIRE)
        || __atomic_load_n(&large_running, __ATOMIC_ACQUIRE) != 0
        || !__atomic_exchange_n(&large_ended, 0, __ATOMIC_ACQ_REL))
    {
        return 0;
    }
    malloc_trim(0);
    return 1;
}

/* The sniff table: the first backend whose is_a takes the file's first
 * bytes opens it. A new source is one row here plus its file. */
static const struct {
    vl_source_is_a_fn      is_a;
    const vl_source_ops_t *ops;
} source_formats[] = {
    { vl_tiff_is_a, &vl_source_tiff_ops },
    { vl_jp2_is_a, &vl_source_jp2_ops },
    { vl_flat_jpeg_is_a, &vl_source_flat_jpeg_ops },
    { vl_flat_png_is_a, &vl_source_flat_png_ops },
};

static const vl_source_ops_t *
source_sniff(const unsigned char *magic, size_t n)
{
    for (size_t i = 0; i < sizeof(source_formats) / sizeof(source_formats[0]);
         i++) {
        if (source_formats[i].is_a(magic, n)) {
            return source_formats[i].ops;
        }
    }
    return NULL;
}

int
vl_source_sniff_fd(int fd)
{
    unsigned char magic[VL_SOURCE_MAGIC] = { 0 };
    ssize_t       n;

    do {
        n = pread(fd, magic, sizeof(magic), 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return -1;
    }
    return n > 0 && source_sniff(magic, (size_t) n) != NULL;
}

/*
 * The public view of a freshly opened handle. Below the backend's smallest
 * level, levels of half the size each (ceil) are added until the long
 * side is at most VL_SOURCE_SHRINK_MIN: a flat image or a single-level
 * TIFF gets a pyramid that info.json advertises, each such level made by
 * area-averaging the smallest stored one (source_read_shrunk). Then the
 * EXIF orientation, when honoured: 5..8 swap each level's sides.
 */
static void
source_view(vl_source_t *src, int honour_orientation)
{
    vl_geom_t        *g = &src->geo;
    const vl_level_t *b;

    src->nstored = src->info.geom.nlevels;
    *g = src->info.geom;
    b = &g->levels[src->nstored - 1];
    while (g->nlevels < VL_MAX_LEVELS) {
        const vl_level_t *last = &g->levels[g->nlevels - 1];
        uint32_t          f = 1u << (g->nlevels - src->nstored + 1);
        vl_level_t       *lv = &g->levels[g->nlevels];

        if ((last->width <= VL_SOURCE_SHRINK_MIN
             && last->height <= VL_SOURCE_SHRINK_MIN)
            || (last->width == 1 && last->height == 1) || f == 0
            || g->nlevels - src->nstored >= 20) {
            break;
        }
        memset(lv, 0, sizeof(*lv));
        lv->width = (uint32_t) (((uint64_t) b->width + f - 1) / f);
        lv->height = (uint32_t) (((uint64_t) b->height + f - 1) / f);
        lv->tile_w = b->tile_w;     /* the grid a viewer keeps */
        lv->tile_h = b->tile_h;
        lv->base = src->nstored - 1;
        lv->shrink = f;
        g->nlevels++;
    }
    src->orient = honour_orientation && src->orientation >= 2
                          && src->orientation <= 8
                      ? src->orientation : 1;
    src->view = src->info;
    src->view.geom = *g;
    if (src->orient >= 5) {
        vl_geom_t *v = &src->view.geom;

        v->width = g->height;
        v->height = g->width;
        for (uint32_t i = 0; i < v->nlevels; i++) {
            v->levels[i].width = g->levels[i].height;
            v->levels[i].height = g->levels[i].width;
            v->levels[i].tile_w = g->levels[i].tile_h;
            v->levels[i].tile_h = g->levels[i].tile_w;
        }
    }
}

/* Open page `page` of fd (owned from here on): sniff it and hand it to a
 * backend. */
static vl_source_t *
source_open_fd(int fd, const struct stat *st, const char *real, long max_layers,
               uint64_t max_bytes, int orientation, uint32_t page,
               int to_srgb, const char *who, vl_err_t *err)
{
    unsigned char          magic[VL_SOURCE_MAGIC] = { 0 };
    const vl_source_ops_t *ops = NULL;
    ssize_t                n;
    vl_source_t           *src;
    int                    rc;

    n = pread(fd, magic, sizeof(magic), 0);
    if (n < 0) {
        close(fd);
        vl_err_set(err, VL_EIO, "cannot read the image file");
        return NULL;
    }
    if ((ops = source_sniff(magic, (size_t) n)) == NULL) {
        close(fd);
        vl_err_set(err, VL_EFORMAT, "unsupported image format");
        return NULL;
    }

    src = calloc(1, sizeof(*src));
    if (src == NULL || (real != NULL && (src->path = strdup(real)) == NULL)) {
        free(src);
        close(fd);
        vl_err_set(err, VL_ENOMEM, "out of memory opening an image");
        return NULL;
    }
    src->ops = ops;
    src->info.format = ops->name;
    src->info.pages = 1;
    src->info.page = page;
    src->max_layers = max_layers;
    src->max_bytes = max_bytes;
    vl_file_id_of(st, &src->info.file);
    src->ctime_ns = (long long) st->st_ctim.tv_sec * 1000000000LL
                    + (long long) st->st_ctim.tv_nsec;
    src->id_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    rc = src->ops->open(src, fd, err);
    if (rc == VL_OK && src->info.page > src->info.pages) {
        rc = vl_err_set(err, VL_ENOTFOUND, "no such page");
    }
    if (rc != VL_OK) {
        source_close(src);
        return NULL;
    }
    VL_ASSERT(src->info.geom.nlevels >= 1 && src->info.pages >= 1);
    src->counted = 1;
    vl_metrics_add(VL_MET_HANDLE_OPEN, 1);
    vl_metrics_handles(1);
    /* an unusable ICC profile dropped; ICC_TO_SRGB: reads converted */
    src->cms = vl_cms_source_open(&src->info, to_srgb, who);
    /* what vl_source_info shows: after the profile's fate is known */
    source_view(src, orientation);
    return src;
}

/*
 * The page an identifier asks for. With a delimiter (IIIF_DELIMITER, say
 * ";"), an identifier whose last delimiter is followed by digits only asks
 * for a page: "book.tif;2" is page 2 of "book.tif". Returns 1 and sets
 * *flen (the length of the file's identifier) and *page for a page number
 * (1.., no leading zero); 0 when the identifier asks for no page (no
 * delimiter, none configured, or something else than digits after it:
 * the identifier is taken whole, page 1); -1 for digits that are no page
 * number ("0", "02", too large). A file whose name ends in the delimiter
 * and digits is therefore never reached by its name.
 */
static int
source_page_split(const char *id, size_t len, const char *delim,
                  size_t *flen, uint32_t *page)
{
    const char *end = id + len, *digits = end, *q;
    size_t      dlen;
    uint64_t    v = 0;

    *flen = len;
    *page = 1;
    /* the digits at the end: none in most identifiers, one look */
    while (digits > id && digits[-1] >= '0' && digits[-1] <= '9') {
        digits--;
    }
    if (digits == end || delim == NULL || (dlen = strlen(delim)) == 0) {
        return 0;
    }
    /* the last delimiter that only digits follow ends at q */
    for (q = end - 1;; q--) {
        if ((size_t) (q - id) >= dlen
            && memcmp(q - dlen, delim, dlen) == 0) {
            break;
        }
        if (q == digits) {
            return 0;
        }
    }
    for (const char *p = q; p < end; p++) {
        v = v > UINT32_MAX ? v : v * 10 + (uint64_t) (*p - '0');
    }
    if (*q == '0' || v > UINT32_MAX) {
        return -1;
    }
    *flen = (size_t) (q - dlen - id);
    *page = (uint32_t) v;
    return 1;
}

/* prefix[0, plen) "/" id[0, idlen) suffix into path (cap bytes): 0, or -1
 * when it does not fit. */
static int
source_join(char *path, size_t cap, const char *prefix, size_t plen,
            const char *id, size_t idlen, const char *suffix)
{
    size_t slen = suffix != NULL ? strlen(suffix) : 0;

    if (plen >= cap || idlen >= cap - plen - 1
        || slen >= cap - plen - 1 - idlen) {
        return -1;
    }
    memcpy(path, prefix, plen);
    path[plen] = '/';
    memcpy(path + plen + 1, id, idlen);
    memcpy(path + plen + 1 + idlen, suffix != NULL ? suffix : "", slen);
    path[plen + 1 + idlen + slen] = '\0';
    return 0;
}

/* Whether the identifier id[0, idlen) may name a file under the root. */
static int
source_id_ok(const char *id, size_t idlen)
{
    const char *p = id, *stop = id + idlen;

    if (idlen == 0 || id[0] == '/') {
        return 0;
    }
    while (p < stop) {
        const char *end = memchr(p, '/', (size_t) (stop - p));
        size_t len = end != NULL ? (size_t) (end - p) : (size_t) (stop - p);

        /* "..", and "." (another name of the same file: a second cache key,
         * and a way around the reserved names) */
        if ((len == 2 && p[0] == '.' && p[1] == '.')
            || (len == 1 && p[0] == '.')) {
            return 0;
        }
        if (end == NULL) {
            break;
        }
        p = end + 1;
    }
    return 1;
}

vl_source_cache_t *
vl_source_cache_new(long max_handles)
{
    vl_source_cache_t *cache = calloc(1, sizeof(*cache));

    if (cache == NULL) {
        return NULL;
    }
    if (pthread_mutex_init(&cache->lock, NULL) != 0) {
        free(cache);
        return NULL;
    }
    cache->max = max_handles < 0 ? -1 : max_handles;
    return cache;
}

void
vl_source_cache_set_tiles(vl_source_cache_t *cache, vl_tile_cache_t *tiles)
{
    cache->tiles = tiles;
}

void
vl_source_cache_free(vl_source_cache_t *cache)
{
    vl_source_t *src, *next;

    if (cache == NULL) {
        return;
    }
    for (src = cache->head; src != NULL; src = next) {
        next = src->next;
        source_close(src);
    }
    pthread_mutex_destroy(&cache->lock);
    free(cache);
}

static void
source_unlink(vl_source_cache_t *cache, vl_source_t *src)
{
    if (src->prev != NULL) {
        src->prev->next = src->next;
    } else {
        cache->head = src->next;
    }
    if (src->next != NULL) {
        src->next->prev = src->prev;
    } else {
        cache->tail = src->prev;
    }
    src->prev = src->next = NULL;
    cache->nidle--;
}

/* Take an idle handle of page `page` of `real` whose identity is `id`;
 * stale handles of the same path (any page) are moved to *stale for
 * closing outside the lock. *pages: the page count an idle handle of the
 * same file (another page) knows, else 0. */
static vl_source_t *
source_cache_take(vl_source_cache_t *cache, const char *real,
                  const vl_file_id_t *id, uint32_t page, uint32_t *pages,
                  vl_source_t **stale)
{
    vl_source_t *src, *next, *found = NULL;

    *pages = 0;
    pthread_mutex_lock(&cache->lock);
    for (src = cache->head; src != NULL; src = next) {
        next = src->next;
        if (strcmp(src->path, real) != 0) {
            continue;
        }
        if (vl_file_id_eq(&src->info.file, id)) {
            if (src->info.page != page) {
                *pages = src->info.pages;
                continue;
            }
            source_unlink(cache, src);
            found = src;
            break;
        }
        source_unlink(cache, src);
        src->next = *stale;
        *stale = src;
    }
    pthread_mutex_unlock(&cache->lock);
    return found;
}

/*
 * The resolved-path cache: an idle handle remembers the unresolved path
 * that led to it. If stat(path) (one syscall, symlinks followed) now finds
 * the very file the handle holds open (device, inode, size, mtime), the
 * path still names that file, which was under the root when it was opened
 * by its real path, and the inode cannot have been reused while the handle
 * keeps it open: realpath is skipped. Anything else (file replaced, a
 * symlink pointing elsewhere, gone) forgets the shortcut, and the path is
 * resolved and checked again.
 */
static vl_source_t *
source_cache_asked(vl_source_cache_t *cache, const char *path, uint32_t page,
                   struct stat *st)
{
    vl_source_t *src;
    vl_file_id_t fid;

    pthread_mutex_lock(&cache->lock);
    for (src = cache->head; src != NULL; src = src->next) {
        if (src->asked != NULL && src->info.page == page
            && strcmp(src->asked, path) == 0)
        {
            source_unlink(cache, src);
            break;
        }
    }
    pthread_mutex_unlock(&cache->lock);
    if (src == NULL) {
        return NULL;
    }
    if (stat(path, st) == 0) {
        vl_file_id_of(st, &fid);
        if (S_ISREG(st->st_mode)
            && vl_file_id_eq(&src->info.file, &fid)) {
            return src;
        }
    }
    free(src->asked);
    src->asked = NULL;
    vl_source_put(cache, src);
    return NULL;
}

/* Remember path as the way to src (best effort). */
static void
source_remember(vl_source_t *src, const char *path)
{
    if (src->asked != NULL && strcmp(src->asked, path) == 0) {
        return;
    }
    free(src->asked);
    src->asked = strdup(path);
}

/* File times come from the kernel's coarse clock (a tick, 1 to 10 ms), so
 * writes within one tick of the last change leave size, mtime and ctime
 * as they were: a file rewritten in place can be read half old, half new
 * with its times unchanged from open to end. Only a file last written
 * longer than a tick before the request began is known to be whole: any
 * write during the request then moves its times. A file written within
 * SETTLE_NS before the request began (a writer may still be at it) is
 * therefore taken as changed: 503, asked again a second later. mtime, not
 * ctime, so that a file written elsewhere and renamed into place (which
 * sets its ctime only) is served at once. An mtime far in the future
 * (another host's clock, over NFS) cannot be judged this way and is left
 * to the identity check. */
#define SETTLE_NS  (50LL * 1000000LL)
#define FUTURE_NS  (1000LL * 1000000LL)

static long long
source_now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
        return 0;
    }
    return (long long) ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A file written within SETTLE_NS: wait until it is that old (at most
 * SETTLE_NS) before reading it, so a file just written or renamed into
 * place is served, not refused; returns the time the request may count
 * from. A writer still at it moves the mtime again: vl_source_changed. */
static long long
source_settle(const struct stat *st, long long now)
{
    long long mt = (long long) st->st_mtim.tv_sec * 1000000000LL
                   + (long long) st->st_mtim.tv_nsec;
    long long wait = mt + SETTLE_NS - now;

    if (now != 0 && wait > 0 && wait <= SETTLE_NS) {
        struct timespec ts = { 0, (long) wait };

        nanosleep(&ts, NULL);
        now = source_now_ns();
    }
    return now;
}

static int
source_unsettled(long long got_ns, long long mtime_ns)
{
    return got_ns != 0 && mtime_ns > got_ns - SETTLE_NS
           && mtime_ns < got_ns + FUTURE_NS;
}

vl_source_t *
vl_source_get(vl_source_cache_t *cache, const vl_conf_t *conf,
              const char *id, vl_err_t *err)
{
    char         path[PATH_MAX], real[PATH_MAX];
    const char  *prefix = conf != NULL ? conf->filesystem_prefix : NULL;
    const char  *suffix = conf != NULL ? conf->filesystem_suffix : NULL;
    const char  *delim = conf != NULL ? conf->iiif_delimiter : NULL;
    size_t       plen, flen = 0;
    uint32_t     page = 1, pages = 0;
    int          fd;
    struct stat  st;
    vl_file_id_t fid;
    vl_source_t *src, *stale = NULL;
    long long    got = source_now_ns();

    if (id != NULL
        && source_page_split(id, strlen(id), delim, &flen, &page) < 0) {
        vl_err_set(err, VL_ENOTFOUND, "no such page");
        return NULL;
    }
    if (id == NULL || !source_id_ok(id, flen)) {
        vl_err_set(err, VL_ENOTFOUND, "identifier not found");
        return NULL;
    }
    if (prefix == NULL || prefix[0] == '\0') {
        vl_err_set(err, VL_ENOTFOUND,
                   "identifier not found (no image root configured)");
        return NULL;
    }
    plen = strlen(prefix);
    while (plen > 1 && prefix[plen - 1] == '/') {
        plen--;
    }
    if (source_join(path, sizeof(path), prefix, plen, id, flen, suffix)
        != 0) {
        vl_err_set(err, VL_ENOTFOUND, "identifier not found");
        return NULL;
    }
    if (cache != NULL) {
        src = source_cache_asked(cache, path, page, &st);
        if (src != NULL) {
            src->tiles = cache->tiles;
            src->got_ns = source_settle(&st, got);
            return src;
        }
    }
    if (realpath(path, real) == NULL) {
        if (errno == EIO) {
            vl_err_set(err, VL_EIO, "cannot resolve the identifier");
        } else {
            vl_err_set(err, VL_ENOTFOUND, "identifier not found");
        }
        return NULL;
    }
    if (strncmp(real, prefix, plen) != 0 || real[plen] != '/') {
        vl_err_set(err, VL_ENOTFOUND, "identifier not found");
        return NULL;
    }
    /* no link followed here either: a folder swapped since realpath
     * cannot lend the identity of a file outside */
    if (vl_fs_stat_under(prefix, plen, real, &st) != 0
        || !S_ISREG(st.st_mode)) {
        vl_err_set(err, VL_ENOTFOUND, "identifier not found");
        return NULL;
    }
    vl_file_id_of(&st, &fid);
    got = source_settle(&st, got);

    src = NULL;
    if (cache != NULL) {
        src = source_cache_take(cache, real, &fid, page, &pages, &stale);
        while (stale != NULL) {
            vl_source_t *next = stale->next;

            source_close(stale);
            stale = next;
        }
    }
    if (src != NULL) {
        src->tiles = cache->tiles;
        src->got_ns = got;
        source_remember(src, path);
        vl_metrics_add(VL_MET_HANDLE_HIT, 1);
        return src;
    }
    /* another page of this very file is open: no need to open it again
     * to know that the page does not exist */
    if (pages != 0 && page > pages) {
        vl_err_set(err, VL_ENOTFOUND, "no such page");
        return NULL;
    }

    /* real has no links left: opened component by component without
     * following any, a folder swapped for a link since cannot lead out;
     * a FIFO swapped in for the file does not block */
    fd = vl_fs_open_under(prefix, plen, real, O_RDONLY);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP || errno == EACCES
            || errno == ENOTDIR || errno == EXDEV) {
            vl_err_set(err, VL_ENOTFOUND, "identifier not found");
        } else {
            vl_err_set(err, VL_EIO, "cannot open the image file");
        }
        return NULL;
    }
    /* the identity of what was really opened */
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        vl_err_set(err, VL_ENOTFOUND, "identifier not found");
        return NULL;
    }
    src = source_open_fd(fd, &st, real, conf != NULL ? conf->max_layers : -1,
                         conf != NULL ? conf->budget.max_bytes : 0,
                         conf == NULL || conf->exif_orientation != 0, page,
                         conf != NULL && conf->output.icc_to_srgb, id,
                         err);
    if (src != NULL) {
        src->got_ns = got;
    }
    if (src != NULL && cache != NULL) {
        src->tiles = cache->tiles;
        source_remember(src, path);
    }
    return src;
}

vl_source_t *
vl_source_open_path(const char *path, vl_err_t *err)
{
    struct stat  st;
    int          fd;
    vl_source_t *src;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vl_err_set(err, errno == ENOENT ? VL_ENOTFOUND : VL_EIO,
                   errno == ENOENT ? "no such file" : "cannot open the file");
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        vl_err_set(err, VL_ENOTFOUND, "not a regular file");
        return NULL;
    }
    /* no handle cache, hence no worker tile cache: a private one, so that
     * consecutive strips do not decode the same blocks again */
    src = source_open_fd(fd, &st, path, -1, 0, 1, 1, 0, NULL, err);
    if (src != NULL) {
        src->own_tiles = vl_tiles_new(VL_TILES_PRIVATE_BYTES);
        src->tiles = src->own_tiles;
    }
    return src;
}

void
vl_source_put(vl_source_cache_t *cache, vl_source_t *src)
{
    vl_source_t *evict = NULL;

    if (src == NULL) {
        return;
    }
    if (cache == NULL || src->broken || cache->max == 0) {
        source_close(src);
        return;
    }
    pthread_mutex_lock(&cache->lock);
    src->prev = NULL;
    src->next = cache->head;
    if (cache->head != NULL) {
        cache->head->prev = src;
    } else {
        cache->tail = src;
    }
    cache->head = src;
    cache->nidle++;
    if (cache->max > 0 && cache->nidle > cache->max) {
        evict = cache->tail;
        source_unlink(cache, evict);
    }
    pthread_mutex_unlock(&cache->lock);
    source_close(evict);
}

void
vl_source_set_srgb(vl_source_t *src)
{
    if (src->cms == NULL) {
        src->cms = vl_cms_source_open(&src->info, 1, NULL);
    }
}

const vl_source_info_t *
vl_source_info(const vl_source_t *src)
{
    return &src->view;
}

int
vl_source_changed(vl_source_t *src)
{
    struct stat  st;
    vl_file_id_t now;
    long long    ctime_ns;

    if (src == NULL || src->id_fd < 0) {
        return 0;
    }
    if (fstat(src->id_fd, &st) != 0) {
        src->broken = 1;
        return 1;
    }
    vl_file_id_of(&st, &now);
    ctime_ns = (long long) st.st_ctim.tv_sec * 1000000000LL
               + (long long) st.st_ctim.tv_nsec;
    if (vl_file_id_eq(&now, &src->info.file) && ctime_ns == src->ctime_ns
        && !source_unsettled(src->got_ns, now.mtime_ns)) {
        return 0;
    }
    /* blocks decoded from it under the identity of the open may be torn:
     * none is served again (no later open has that identity, but another
     * handle of the same open could still ask) */
    vl_tiles_forget(src->tiles, (uint64_t) src->info.file.dev,
                    (uint64_t) src->info.file.ino, src->info.file.size,
                    src->info.file.mtime_ns);
    src->broken = 1;
    return 1;
}

const vl_page_size_t *
vl_source_page_sizes(const vl_source_t *src, uint32_t *n)
{
    *n = src->page_sizes != NULL ? src->npage_sizes : 0;
    return src->page_sizes;
}

static int
source_broken(vl_source_t *src, vl_err_t *err)
{
    return vl_err_set(err, src->broken_err.code, "%s", src->broken_err.msg);
}

/* A codec or I/O failure makes the handle sticky-broken: it repeats the
 * error and is never returned to the cache. */
static int
source_note_failure(vl_source_t *src, int rc, const vl_err_t *err)
{
    if ((rc == VL_ECODEC || rc == VL_EIO) && !src->broken) {
        src->broken = 1;
        src->broken_err.code = (vl_status_t) rc;
        snprintf(src->broken_err.msg, sizeof(src->broken_err.msg), "%s",
                 err != NULL && (int) err->code == rc ? err->msg
                                                : "the image file is damaged");
    }
    return rc;
}

/* Bytes per pixel of out. */
static size_t
source_px(const vl_image_t *img)
{
    return (size_t) img->bands * (size_t) (img->depth == 2 ? 2 : 1);
}

/* A scratch image of w x h like out (malloc: the caller frees data). */
static int
source_scratch(const vl_image_t *like, uint32_t w, uint32_t h,
               vl_image_t *img, vl_err_t *err)
{
    size_t bytes;

    img->w = w;
    img->h = h;
    img->bands = like->bands;
    img->depth = like->depth == 2 ? 2 : 1;
    if (vl_size_mul(w, source_px(like), &img->stride) != 0
        || vl_size_mul(img->stride, h, &bytes) != 0
        || bytes > 4 * VL_SOURCE_MAX_BLOCK) {
        return vl_err_set(err, VL_ELIMIT, "a read of %ux%u pixels is too "
                          "large", w, h);
    }
    if ((img->data = malloc(bytes > 0 ? bytes : 1)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory reading an image");
    }
    return VL_OK;
}

/*
 * Rectangle r of box-shrunk level `level` (>= nstored): the mean of the
 * f x f pixels of the smallest stored level b each pixel covers (fewer at
 * the right and bottom edges), f = 2^(level - b). The stored level is
 * read in strips of S rows (S a power of two: 256, or f when larger, and
 * halved while one strip of the region's width is over
 * VL_SOURCE_MAX_BLOCK; strips of more than f rows are aligned to
 * multiples of S, so that the grid's blocks of a flat image are decoded
 * once and in order): memory is one strip and one row of sums per output
 * row of a strip, whatever the image.
 */
static int
source_read_shrunk(vl_source_t *src, uint32_t level, const vl_rect_t *r,
                   vl_image_t *out, vl_err_t *err)
{
    uint32_t          b = src->nstored - 1;
    uint32_t          f = src->geo.levels[level].shrink;
    const vl_level_t *bl = &src->geo.levels[b];
    uint64_t          bx0 = (uint64_t) r->x * f;
    uint64_t          bx1 = (uint64_t) (r->x + r->w) * f;
    uint64_t          strip = f >= 256 ? f : 256, group;
    int               bands = out->bands, wide = out->depth == 2;
    size_t            rowsum, need;
    uint64_t         *sum = NULL;
    vl_image_t        tmp = { 0 };
    int               rc = VL_OK;

    bx1 = bx1 < bl->width ? bx1 : bl->width;
    while (strip > 1 && (bx1 - bx0) * strip * source_px(out)
                            > VL_SOURCE_MAX_BLOCK) {
        strip /= 2;
    }
    group = strip >= f ? strip / f : 1;
    if (vl_size_mul4((size_t) r->w, (size_t) bands, sizeof(*sum), 1,
                     &rowsum) != 0
        || vl_size_mul(rowsum, (size_t) group, &need) != 0
        || (sum = malloc(need)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory shrinking a level");
    }
    if ((rc = source_scratch(out, (uint32_t) (bx1 - bx0), (uint32_t) strip,
                             &tmp, err)) != VL_OK) {
        free(sum);
        return rc;
    }
    for (uint32_t oy = r->y; oy < r->y + r->h && rc == VL_OK;) {
        uint64_t y0 = (uint64_t) oy * f, end;
        uint32_t oend;

        if (strip >= f) {
            end = (y0 / strip + 1) * strip;
            end = end < bl->height ? end : bl->height;
            oend = (uint32_t) ((end + f - 1) / f);
        } else {
            oend = oy + 1;
        }
        oend = oend < r->y + r->h ? oend : r->y + r->h;
        end = (uint64_t) oend * f < bl->height ? (uint64_t) oend * f
                                               : bl->height;
        memset(sum, 0, rowsum * (oend - oy));
        for (uint64_t cy = y0; cy < end && rc == VL_OK;) {
            uint64_t  n = end - cy < strip ? end - cy : strip;
            vl_rect_t br = VL_RECT((uint32_t) bx0, (uint32_t) cy,
                                   (uint32_t) (bx1 - bx0), (uint32_t) n);

            tmp.h = br.h;
            if ((rc = src->ops->read(src, b, &br, &tmp, err)) != VL_OK) {
                break;
            }
            for (uint64_t k = 0; k < n; k++) {
                const unsigned char *row = VL_IMAGE_ROW(&tmp, k);
                uint64_t *srow = sum + (size_t) ((cy + k) / f - oy)
                                           * r->w * bands;

                for (uint32_t i = 0; i < r->w; i++) {
                    uint64_t  cx0 = (uint64_t) i * f;
                    uint64_t  cx1 = cx0 + f < br.w ? cx0 + f : br.w;
                    uint64_t *sp = &srow[(size_t) i * bands];

                    for (uint64_t xx = cx0; xx < cx1; xx++) {
                        for (int c = 0; c < bands; c++) {
                            sp[c] += wide ? ((const uint16_t *) row)
                                                [xx * bands + c]
                                          : row[xx * bands + c];
                        }
                    }
                }
            }
            cy += n;
        }
        for (uint32_t oyy = oy; rc == VL_OK && oyy < oend; oyy++) {
            uint64_t       ry0 = (uint64_t) oyy * f;
            uint64_t       rows = ry0 + f < bl->height ? f
                                                       : bl->height - ry0;
            const uint64_t *srow = sum + (size_t) (oyy - oy) * r->w * bands;
            unsigned char  *dst = VL_IMAGE_ROW(out, oyy - r->y);

            for (uint32_t i = 0; i < r->w; i++) {
                uint64_t cx0 = (uint64_t) i * f;
                uint64_t cx1 = cx0 + f < bx1 - bx0 ? cx0 + f : bx1 - bx0;
                uint64_t cnt = (cx1 - cx0) * rows;

                for (int c = 0; c < bands; c++) {
                    uint64_t v = (srow[(size_t) i * bands + c] + cnt / 2)
                                 / cnt;

                    if (wide) {
                        ((uint16_t *) dst)[(size_t) i * bands + c] =
                            (uint16_t) v;
                    } else {
                        dst[(size_t) i * bands + c] = (unsigned char) v;
                    }
                }
            }
        }
        oy = oend;
    }
    free(tmp.data);
    free(sum);
    return rc;
}

/* Rectangle r of `level` in the stored orientation. */
static int
source_read_geo(vl_source_t *src, uint32_t level, const vl_rect_t *r,
                vl_image_t *out, vl_err_t *err)
{
    if (level < src->nstored) {
        return src->ops->read(src, level, r, out, err);
    }
    return source_read_shrunk(src, level, r, out, err);
}

/* Where pixel (x, y) of the upright image of a W x H stored level is
 * stored, for EXIF orientation o. */
static void
source_orient_map(int o, uint32_t W, uint32_t H, uint32_t x, uint32_t y,
                  uint32_t *sx, uint32_t *sy)
{
    switch (o) {
    case 2: *sx = W - 1 - x; *sy = y; break;
    case 3: *sx = W - 1 - x; *sy = H - 1 - y; break;
    case 4: *sx = x; *sy = H - 1 - y; break;
    case 5: *sx = y; *sy = x; break;
    case 6: *sx = y; *sy = H - 1 - x; break;
    case 7: *sx = W - 1 - y; *sy = H - 1 - x; break;
    case 8: *sx = W - 1 - y; *sy = x; break;
    default: *sx = x; *sy = y; break;
    }
}

/* Rectangle r of the upright `level`: the stored rectangle it comes from
 * is read into a scratch image of r's size and turned into out. */
static int
source_read_oriented(vl_source_t *src, uint32_t level, const vl_rect_t *r,
                     vl_image_t *out, vl_err_t *err)
{
    const vl_level_t *lv = &src->geo.levels[level];
    uint32_t          ax, ay, bx, by;
    vl_rect_t         sr;
    vl_image_t        tmp;
    size_t            px = source_px(out);
    int               rc;

    source_orient_map(src->orient, lv->width, lv->height, r->x, r->y, &ax,
                      &ay);
    source_orient_map(src->orient, lv->width, lv->height, r->x + r->w - 1,
                      r->y + r->h - 1, &bx, &by);
    sr = VL_RECT(ax < bx ? ax : bx, ay < by ? ay : by,
                 (ax < bx ? bx - ax : ax - bx) + 1,
                 (ay < by ? by - ay : ay - by) + 1);
    if ((rc = source_scratch(out, sr.w, sr.h, &tmp, err)) != VL_OK) {
        return rc;
    }
    rc = source_read_geo(src, level, &sr, &tmp, err);
    for (uint32_t j = 0; rc == VL_OK && j < r->h; j++) {
        unsigned char *dst = VL_IMAGE_ROW(out, j);

        for (uint32_t i = 0; i < r->w; i++) {
            uint32_t sx, sy;

            source_orient_map(src->orient, lv->width, lv->height, r->x + i,
                              r->y + j, &sx, &sy);
            memcpy(dst + (size_t) i * px,
                   VL_IMAGE_ROW(&tmp, sy - sr.y) + (size_t) (sx - sr.x) * px,
                   px);
        }
    }
    free(tmp.data);
    return rc;
}

int
vl_source_read(vl_source_t *src, uint32_t level, const vl_rect_t *r,
               vl_image_t *out, vl_err_t *err)
{
    const vl_level_t *lv;
    uint32_t          x = r->x, y = r->y, w = r->w, h = r->h;
    size_t            row;
    int               rc;

    if (src->broken) {
        return source_broken(src, err);
    }
    if (level >= src->view.geom.nlevels) {
        return vl_err_set(err, VL_EBADREQ, "no pyramid level %u", level);
    }
    lv = &src->view.geom.levels[level];
    if (w == 0 || h == 0 || (uint64_t) x + w > lv->width
        || (uint64_t) y + h > lv->height) {
        return vl_err_set(err, VL_EBADREQ,
                          "rectangle %u,%u,%u,%u outside level %u (%ux%u)",
                          x, y, w, h, level, lv->width, lv->height);
    }
    if (out == NULL || out->data == NULL
        || out->bands != src->view.geom.bands || out->w < w || out->h < h
        || (out->depth == 2 && !src->view.reads16)
        || vl_size_mul(w, source_px(out), &row) != 0
        || out->stride < row) {
        return vl_err_set(err, VL_EINTERNAL,
                          "read buffer does not match the image");
    }
    rc = src->orient > 1 ? source_read_oriented(src, level, r, out, err)
                         : source_read_geo(src, level, r, out, err);
    if (rc == VL_OK && src->cms != NULL) {
        vl_cms_source_apply(src->cms, out, w, h);
    }
    return rc == VL_OK ? VL_OK : source_note_failure(src, rc, err);
}

int
vl_source_read_jpeg_tile(vl_source_t *src, vl_pool_t *pool, uint32_t level,
                         uint32_t col, uint32_t row, unsigned char **data,
                         size_t *len, vl_err_t *err)
{
    const vl_level_t *lv;
    int               rc;

    if (src->broken) {
        return source_broken(src, err);
    }
    if (level >= src->view.geom.nlevels) {
        return vl_err_set(err, VL_EBADREQ, "no pyramid level %u", level);
    }
    lv = &src->view.geom.levels[level];
    if (lv->tile_w == 0 || src->ops->read_jpeg_tile == NULL
        || level >= src->nstored || src->orient > 1
        || src->cms != NULL) {      /* ICC_TO_SRGB: stored bytes unconverted */
        return vl_err_set(err, VL_EUNSUPP, "level %u is not tiled JPEG",
                          level);
    }
    if ((uint64_t) col * lv->tile_w >= lv->width
        || (uint64_t) row * lv->tile_h >= lv->height) {
        return vl_err_set(err, VL_EBADREQ, "no tile %u,%u in level %u", col,
                          row, level);
    }
    rc = src->ops->read_jpeg_tile(src, pool, level, col, row, data, len, err);
    return rc == VL_OK ? VL_OK : source_note_failure(src, rc, err);
}

void
vl_source_describe(const vl_source_t *src, FILE *out)
{
    static const char *band_names[] = { "?", "grey", "grey+alpha", "RGB",
                                        "RGBA" };
    const vl_source_info_t *in = &src->view;
    int                     b = in->geom.bands;

    fprintf(out,
            "%s %ux%u, %u level%s, %d band%s (%s), %d bits, photometric %s, "
            "ICC %zu bytes, rights %s\n",
            in->format, in->geom.width, in->geom.height, in->geom.nlevels,
            in->geom.nlevels == 1 ? "" : "s", b, b == 1 ? "" : "s",
            band_names[b >= 1 && b <= 4 ? b : 0], in->bits,
            src->photometric != NULL ? src->photometric : "-", in->icc_len,
            in->rights != NULL ? in->rights : "-");
    fprintf(out, "  page %u of %u\n", in->page, in->pages);
    if (in->compression != NULL && strcmp(in->compression, "jpeg2000") == 0) {
        fprintf(out, "  decoder: %s\n", vl_source_jp2_decoder());
    }
    if (src->orientation > 1) {
        fprintf(out, "  EXIF orientation %d (%s)\n", src->orientation,
                src->orient > 1 ? "applied" : "ignored");
    }
    {
        const char *names[] = { "title", "description", "creator", "copyright",
                                "date" };
        const char *text[] = { in->title, in->description, in->creator,
                               in->copyright, in->date };

        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
            if (text[i] != NULL) {
                fprintf(out, "  %s: %s\n", names[i], text[i]);
            }
        }
    }
    for (uint32_t l = 0; l < in->geom.nlevels; l++) {
        const vl_level_t *lv = &in->geom.levels[l];

        fprintf(out, "  level %u: %ux%u, ", l, lv->width, lv->height);
        if (l >= src->nstored) {
            fprintf(out, "area average 1/%u of level %u\n", lv->shrink,
                    lv->base);
            continue;
        }
        if (lv->tile_w != 0) {
            fprintf(out, "tiles %ux%u", lv->tile_w, lv->tile_h);
        } else {
            fprintf(out, "strips of %u rows", src->notes[l].rows_per_strip);
        }
        fprintf(out, ", %s",
                src->notes[l].compression != NULL ? src->notes[l].compression
                                                  : "-");
        if (lv->shrink > 1) {
            fprintf(out, " (DCT 1/%u of level %u)", lv->shrink, lv->base);
        }
        fputc('\n', out);
    }
}

/* ------------------------------------------------------------------ cost */

static uint64_t
source_sat_add(uint64_t a, uint64_t b)
{
    return a + b < a ? UINT64_MAX : a + b;
}

static uint64_t
source_sat_mul(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* Without a backend estimate: the stored tiles r touches (or strips of the
 * full width, or the whole level), each decoded once; memory is the
 * largest of them twice (decoded and converted) plus a strip's rows. */
static void
source_cost_stored(const vl_source_t *src, uint32_t level, const vl_rect_t *r,
                   int depth, vl_cost_t *cost)
{
    const vl_level_t *lv = &src->info.geom.levels[level];
    uint64_t          px = (uint64_t) src->info.geom.bands * (uint64_t) depth;
    uint64_t          bw = lv->tile_w, bh = lv->tile_h, n;

    if (bw == 0 || bh == 0) {
        bw = lv->width;
        bh = src->notes[level].rows_per_strip != 0
                 ? src->notes[level].rows_per_strip : lv->height;
        bh = bh > lv->height ? lv->height : bh;
    }
    n = ((vl_rect_right(r) + bw - 1) / bw - r->x / bw)
        * ((vl_rect_bottom(r) + bh - 1) / bh - r->y / bh);
    cost->pixels = source_sat_add(cost->pixels,
                                  source_sat_mul(n, bw * bh));
    n = source_sat_mul(bw * bh, px * 2);
    cost->bytes = n > cost->bytes ? n : cost->bytes;
}

static void
source_cost_backend(const vl_source_t *src, uint32_t level,
                    const vl_rect_t *r, uint32_t rows, int depth,
                    vl_cost_t *cost)
{
    if (src->ops->cost != NULL) {
        src->ops->cost(src, level, r, rows, depth, cost);
    } else {
        source_cost_stored(src, level, r, depth, cost);
    }
}

/* r of geometry level `level` (stored orientation), as source_read_geo
 * reads it: a box-shrunk level reads the smallest stored one in strips. */
static void
source_cost_geo(const vl_source_t *src, uint32_t level, const vl_rect_t *r,
                uint32_t rows, int depth, vl_cost_t *cost)
{
    const vl_level_t *bl;
    uint64_t          f, bx0, bx1, by0, by1, strip, px, mem;

    if (level < src->nstored) {
        source_cost_backend(src, level, r, rows, depth, cost);
        return;
    }
    bl = &src->geo.levels[src->nstored - 1];
    f = src->geo.levels[level].shrink;
    px = (uint64_t) src->info.geom.bands * (uint64_t) depth;
    bx0 = (uint64_t) r->x * f;
    bx1 = vl_rect_right(r) * f;
    by0 = (uint64_t) r->y * f;
    by1 = vl_rect_bottom(r) * f;
    bx1 = bx1 < bl->width ? bx1 : bl->width;
    by1 = by1 < bl->height ? by1 : bl->height;
    strip = f >= 256 ? f : 256;
    while (strip > 1 && (bx1 - bx0) * strip * px > VL_SOURCE_MAX_BLOCK) {
        strip /= 2;
    }
    if (bx1 > bx0 && by1 > by0) {
        vl_rect_t br = VL_RECT((uint32_t) bx0, (uint32_t) by0,
                               (uint32_t) (bx1 - bx0), (uint32_t) (by1 - by0));

        source_cost_backend(src, src->nstored - 1, &br, (uint32_t) strip,
                            depth, cost);
    }
    /* the strip and the row sums, beside the decode */
    mem = (bx1 - bx0) * strip * px
          + (uint64_t) r->w * src->info.geom.bands * 8
                * (strip >= f ? strip / f : 1);
    cost->bytes = source_sat_add(cost->bytes, mem);
}

int
vl_source_cost(const vl_source_t *src, uint32_t level, const vl_rect_t *r,
               uint32_t rows, int depth, vl_cost_t *cost, vl_err_t *err)
{
    const vl_level_t *lv;

    memset(cost, 0, sizeof(*cost));
    depth = depth == 2 ? 2 : 1;
    rows = rows == 0 ? 256 : rows;
    if (level >= src->view.geom.nlevels) {
        return vl_err_set(err, VL_EBADREQ, "no pyramid level %u", level);
    }
    lv = &src->view.geom.levels[level];
    if (r->w == 0 || r->h == 0 || vl_rect_right(r) > lv->width
        || vl_rect_bottom(r) > lv->height) {
        return vl_err_set(err, VL_EBADREQ, "rectangle outside level %u",
                          level);
    }
    if (src->orient <= 2) {
        source_cost_geo(src, level, r, rows, depth, cost);
        return VL_OK;
    }
    /* turned: each read of `rows` upright rows is a stored rectangle of
     * its own (read into a scratch image), decoded anew */
    for (uint64_t y = r->y; y < vl_rect_bottom(r); y += rows) {
        const vl_level_t *gl = &src->geo.levels[level];
        uint32_t          n = (uint32_t) (vl_rect_bottom(r) - y < rows
                                              ? vl_rect_bottom(r) - y : rows);
        uint32_t          ax, ay, bx, by;
        vl_rect_t         sr;
        vl_cost_t         one = { 0, 0 };

        source_orient_map(src->orient, gl->width, gl->height, r->x,
                          (uint32_t) y, &ax, &ay);
        source_orient_map(src->orient, gl->width, gl->height,
                          r->x + r->w - 1, (uint32_t) y + n - 1, &bx, &by);
        sr = VL_RECT(ax < bx ? ax : bx, ay < by ? ay : by,
                     (ax < bx ? bx - ax : ax - bx) + 1,
                     (ay < by ? by - ay : ay - by) + 1);
        source_cost_geo(src, level, &sr, sr.h, depth, &one);
        cost->pixels = source_sat_add(cost->pixels, one.pixels);
        one.bytes = source_sat_add(one.bytes,
                                   (uint64_t) sr.w * sr.h
                                       * src->info.geom.bands * depth);
        cost->bytes = one.bytes > cost->bytes ? one.bytes : cost->bytes;
    }
    return VL_OK;
}
