/* SPDX-License-Identifier: MIT */
/*
 * tree: one folder at a time, read with readdir and one fstatat per entry;
 * a file is an image when a source backend reads its first bytes (one
 * open and pread, not a decode). A symbolic link is followed only when its
 * target is under the root; the folder itself is resolved with realpath
 * and the root's prefix checked, so nothing outside the root is ever
 * listed.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"
#include "core/str.h"
#include "present/tree.h"
#include "proto/iiif.h"
#include "source/source.h"

/* Names that cannot be an identifier's segment ("..", "." and empty
 * segments are refused by the parser), or that are hidden. */
static int
tree_name_ok(const char *name)
{
    return name[0] != '.' && strstr(name, "..") == NULL;
}

/* errno e of a look at an entry says that it is not there (any more) or
 * not a thing of the tree (a link loop, a name too long, a special file),
 * rather than that it could not be read (EACCES, EIO, ...). */
static int
tree_absent(int e)
{
    return e == ENOENT || e == ENOTDIR || e == ELOOP || e == ENAMETOOLONG
           || e == EXDEV || e == ENXIO;
}

/* The real path of folder dir_id, checked to be the root or under it;
 * *direct (may be NULL): it is root/dir_id, reached without a link. */
static int
tree_resolve(const vl_conf_t *conf, const char *dir_id, char real[PATH_MAX],
             int *direct, vl_err_t *err)
{
    const char *root = conf->filesystem_prefix;
    char        path[PATH_MAX];
    size_t      rlen = root != NULL ? strlen(root) : 0;
    struct stat st;
    int         n, links;

    if (rlen == 0) {
        return vl_err_set(err, VL_ENOTFOUND,
                          "not found (no image root configured)");
    }
    if (dir_id[0] != '\0' && !vl_iiif_id_ok(dir_id)) {
        return vl_err_set(err, VL_ENOTFOUND, "folder not found");
    }
    n = snprintf(path, sizeof(path), "%s%s%s", root, dir_id[0] ? "/" : "",
                 dir_id);
    if (n < 0 || (size_t) n >= sizeof(path) || realpath(path, real) == NULL
        || strncmp(real, root, rlen) != 0
        || (real[rlen] != '\0' && real[rlen] != '/')
        || vl_fs_stat_under(root, rlen, real, &st) != 0
        || !S_ISDIR(st.st_mode))
    {
        return vl_err_set(err, VL_ENOTFOUND, "folder not found");
    }
    /* the folder links on the way, as listings follow them: one at most,
     * and not to the folder it is in or an ancestor (no endless tree) */
    links = 0;
    for (char *p = path + rlen + 1; dir_id[0] != '\0'; p++) {
        char        target[PATH_MAX], save = *p;
        struct stat lst;

        if (save != '/' && save != '\0') {
            continue;
        }
        *p = '\0';
        if (lstat(path, &lst) == 0 && S_ISLNK(lst.st_mode)) {
            char  *slash = strrchr(path, '/');
            size_t tlen;

            if (links++ > 0 || realpath(path, target) == NULL) {
                return vl_err_set(err, VL_ENOTFOUND, "folder not found");
            }
            tlen = strlen(target);
            *slash = '\0';             /* the folder the link is in */
            if (strncmp(path, target, tlen) == 0
                && (path[tlen] == '\0' || path[tlen] == '/')) {
                return vl_err_set(err, VL_ENOTFOUND, "folder not found");
            }
            *slash = '/';
        }
        *p = save;
        if (save == '\0') {
            break;
        }
    }
    if (direct != NULL) {
        *direct = strcmp(real, path) == 0;
    }
    return VL_OK;
}

int
vl_tree_folder(const vl_conf_t *conf, const char *dir_id, vl_file_id_t *out,
               vl_err_t *err)
{
    char        real[PATH_MAX];
    struct stat st;
    int         rc;

    if ((rc = tree_resolve(conf, dir_id, real, NULL, err)) != VL_OK) {
        return rc;
    }
    if (vl_fs_stat_under(conf->filesystem_prefix,
                         strlen(conf->filesystem_prefix), real, &st) != 0
        || !S_ISDIR(st.st_mode)) {
        return vl_err_set(err, VL_ENOTFOUND, "folder not found");
    }
    vl_file_id_of(&st, out);
    return VL_OK;
}

/* What name in folder dirfd (real path dir) is: 1 a file, 2 a folder, 0
 * neither, gone or outside the root, -1 it cannot be read (errno says
 * why); *st is its (or its target's) stat and target its real path when
 * it is a link. A link to a folder is followed
 * only when dir itself was reached without one (links_ok) and the target
 * is not dir or one of its ancestors, so the tree has no loop: a chain of
 * folder links is one link long. */
static int
tree_kind(const vl_conf_t *conf, int dirfd, const char *dir, int links_ok,
          const char *name, struct stat *st, char target[PATH_MAX])
{
    const char *root = conf->filesystem_prefix;
    size_t      rlen = strlen(root);
    char        path[PATH_MAX];

    target[0] = '\0';
    if (fstatat(dirfd, name, st, AT_SYMLINK_NOFOLLOW) != 0) {
        return tree_absent(errno) ? 0 : -1;
    }
    if (S_ISLNK(st->st_mode)) {
        int    n = snprintf(path, sizeof(path), "%s/%s", dir, name);
        size_t tlen;

        if (n < 0 || (size_t) n >= sizeof(path)) {
            return 0;
        }
        if (realpath(path, target) == NULL) {
            return tree_absent(errno) ? 0 : -1;
        }
        if (strncmp(target, root, rlen) != 0 || target[rlen] != '/') {
            return 0;
        }
        if (vl_fs_stat_under(root, rlen, target, st) != 0) {
            return tree_absent(errno) ? 0 : -1;
        }
        tlen = strlen(target);
        if (S_ISDIR(st->st_mode)
            && (!links_ok
                || (strncmp(dir, target, tlen) == 0
                    && (dir[tlen] == '\0' || dir[tlen] == '/')))) {
            return 0;
        }
    }
    return S_ISREG(st->st_mode) ? 1 : S_ISDIR(st->st_mode) ? 2 : 0;
}

/* 1 if fd (closed here; -1: the open failed, errno says why) is a regular
 * file a source backend reads, 0 if not or gone, -1 if it cannot be read
 * (errno says why). */
static int
tree_sniff_fd(int fd)
{
    struct stat st;
    int         yes, e;

    if (fd < 0) {
        return tree_absent(errno) ? 0 : -1;
    }
    if (fstat(fd, &st) != 0) {
        yes = -1;
    } else {
        yes = S_ISREG(st.st_mode) ? vl_source_sniff_fd(fd) : 0;
    }
    e = errno;
    close(fd);
    errno = e;
    return yes;
}

/* 1 if the regular file (name in dirfd, or the link target target under
 * the root) is an image a source backend reads; 0 and -1 as
 * tree_sniff_fd. */
static int
tree_is_image(const vl_conf_t *conf, int dirfd, const char *name,
              const char *target)
{
    const char *root = conf->filesystem_prefix;
    int         fd = target[0] != '\0'
                         ? vl_fs_open_under(root, strlen(root), target,
                                            O_RDONLY)
                         : vl_fs_openat(dirfd, name, O_RDONLY);

    return tree_sniff_fd(fd);
}

/* A strict listing's error when an entry cannot be read (errno). */
static int
tree_unreadable(vl_err_t *err)
{
    return vl_err_set(err, VL_EIO, "cannot read an entry: %s",
                      strerror(errno));
}

static int
tree_cmp(const void *a, const void *b)
{
    return strcmp(((const vl_tree_entry_t *) a)->name,
                  ((const vl_tree_entry_t *) b)->name);
}

static int
tree_cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static int
tree_ends(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);

    return n >= k && memcmp(s + n - k, suffix, k) == 0;
}

int
vl_tree_list(vl_pool_t *pool, const vl_conf_t *conf, const char *dir_id,
             unsigned flags, vl_tree_entry_t **out, size_t *nout,
             vl_err_t *err)
{
    const char      *suffix = conf->filesystem_suffix != NULL
                                  ? conf->filesystem_suffix : "";
    size_t           slen = strlen(suffix), n = 0, cap = 64, nj = 0, capj = 16;
    char             real[PATH_MAX], target[PATH_MAX];
    vl_tree_entry_t *e = NULL;
    const char     **json = NULL;
    struct dirent   *d;
    DIR             *dir;
    int              rc, dfd, direct, strict = (flags & VL_TREE_STRICT) != 0;
    const char      *real_copy;

    if ((rc = tree_resolve(conf, dir_id, real, &direct, err)) != VL_OK) {
        return rc;
    }
    /* opened without following a link: a folder on the way swapped for
     * one since realpath cannot lead out of the root */
    if ((real_copy = vl_pool_strdup(pool, real)) == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    dfd = vl_fs_open_under(conf->filesystem_prefix,
                           strlen(conf->filesystem_prefix), real,
                           O_RDONLY | O_DIRECTORY);
    if (dfd < 0 || (dir = fdopendir(dfd)) == NULL) {
        int why = errno;

        if (dfd >= 0) {
            close(dfd);
        }
        return vl_err_set(err, why == ENOENT || why == ELOOP
                                       || why == ENOTDIR
                                   ? VL_ENOTFOUND : VL_EIO,
                          "cannot read the folder");
    }
    e = malloc(cap * sizeof(*e));
    json = malloc(capj * sizeof(*json));
    if (e == NULL || json == NULL) {
        rc = vl_err_set(err, VL_ENOMEM, "out of memory listing a folder");
        goto done;
    }
    for (;;) {
        const char *name, *id;
        struct stat st;
        int         kind, img;

        errno = 0;
        if ((d = readdir(dir)) == NULL) {
            if (errno != 0 && strict) {
                rc = vl_err_set(err, VL_EIO, "cannot read the folder: %s",
                                strerror(errno));
                goto done;
            }
            break;
        }
        name = d->d_name;
        if (!tree_name_ok(name)) {
            continue;
        }
        kind = tree_kind(conf, dfd, real, direct, name, &st, target);
        if (kind < 0 && strict) {
            rc = tree_unreadable(err);
            goto done;
        }
        if (kind <= 0) {
            continue;
        }
        if (kind == 1 && tree_ends(name, VL_SIDECAR_SUFFIX)) {
            if (nj == capj) {
                const char **p = realloc(json, 2 * capj * sizeof(*json));

                if (p == NULL) {
                    rc = vl_err_set(err, VL_ENOMEM, "out of memory");
                    goto done;
                }
                json = p;
                capj *= 2;
            }
            if ((json[nj++] = vl_pool_strdup(pool, name)) == NULL) {
                rc = vl_err_set(err, VL_ENOMEM, "out of memory");
                goto done;
            }
            if (slen == 0 || !tree_ends(name, suffix)) {
                continue;           /* a sidecar, not an image */
            }
        }
        if (kind == 1 && (strlen(name) <= slen || !tree_ends(name, suffix))) {
            continue;
        }
        id = vl_pool_printf(pool, "%s%s%.*s", dir_id, dir_id[0] ? "/" : "",
                            (int) (strlen(name) - (kind == 1 ? slen : 0)),
                            name);
        if (id == NULL) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory");
            goto done;
        }
        /* an image whose identifier reads as a page of another ("scan;2")
         * cannot be reached: not listed */
        if (kind == 1 && vl_iiif_is_page(id, conf->iiif_delimiter)) {
            continue;
        }
        if (kind == 1 && (flags & VL_TREE_SNIFF)) {
            img = tree_is_image(conf, dfd, name, target);
            if (img < 0 && strict) {
                rc = tree_unreadable(err);
                goto done;
            }
            if (img <= 0) {
                continue;
            }
        }
        if (n == cap) {
            vl_tree_entry_t *p = realloc(e, 2 * cap * sizeof(*e));

            if (p == NULL) {
                rc = vl_err_set(err, VL_ENOMEM, "out of memory");
                goto done;
            }
            e = p;
            cap *= 2;
        }
        memset(&e[n], 0, sizeof(e[n]));
        e[n].kind = kind == 1 ? VL_TREE_IMAGE : VL_TREE_FOLDER;
        e[n].name = vl_pool_strdup(pool, name);
        e[n].id = id;
        if (e[n].name == NULL) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory");
            goto done;
        }
        vl_file_id_of(&st, &e[n].file);
        e[n].sniffed = kind == 1 && (flags & VL_TREE_SNIFF);
        e[n].dir_real = real_copy;
        if (kind == 1 && target[0] != '\0'
            && (e[n].target = vl_pool_strdup(pool, target)) == NULL) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory");
            goto done;
        }
        /* a reserved identifier is never served: not listed either */
        if (vl_iiif_reserved(e[n].id)) {
            continue;
        }
        n++;
    }
    qsort(e, n, sizeof(*e), tree_cmp);
    qsort(json, nj, sizeof(*json), tree_cmp_str);
    /* sidecars: name + ".json" beside the entry */
    for (size_t i = 0; i < n; i++) {
        char        key[NAME_MAX + 8];
        const char *k = key;
        struct stat st;
        int         kind;

        if (snprintf(key, sizeof(key), "%s%s", e[i].name, VL_SIDECAR_SUFFIX)
                >= (int) sizeof(key)
            || bsearch(&k, json, nj, sizeof(*json), tree_cmp_str) == NULL)
        {
            continue;
        }
        kind = tree_kind(conf, dfd, real, direct, key, &st, target);
        if (kind < 0 && strict) {
            rc = tree_unreadable(err);
            goto done;
        }
        if (kind == 1) {
            e[i].sidecar = 1;
            vl_file_id_of(&st, &e[i].sidecar_file);
        }
    }
    if (n > 0) {
        vl_tree_entry_t *copy = vl_pool_calloc(pool, n, sizeof(*copy));

        if (copy == NULL) {
            rc = vl_err_set(err, VL_ENOMEM, "out of memory");
            goto done;
        }
        memcpy(copy, e, n * sizeof(*copy));
        *out = copy;
    } else {
        *out = NULL;
    }
    *nout = n;
    rc = VL_OK;

done:
    free(e);
    free(json);
    closedir(dir);
    return rc;
}

int
vl_tree_sniff(const vl_conf_t *conf, const vl_tree_entry_t *e)
{
    const char *root = conf->filesystem_prefix;
    char        path[PATH_MAX];
    int         fd, n;

    if (e->kind != VL_TREE_IMAGE) {
        return 0;
    }
    if (e->sniffed) {
        return 1;
    }
    if (e->target != NULL) {
        fd = vl_fs_open_under(root, strlen(root), e->target, O_RDONLY);
    } else {
        n = snprintf(path, sizeof(path), "%s/%s", e->dir_real, e->name);
        if (n < 0 || (size_t) n >= sizeof(path)) {
            return 0;
        }
        fd = vl_fs_open_under(root, strlen(root), path, O_RDONLY);
    }
    return tree_sniff_fd(fd) > 0;
}

int
vl_tree_sidecar(vl_pool_t *pool, const vl_conf_t *conf, const char *id,
                int is_folder, size_t max, char **text, size_t *len,
                vl_file_id_t *file, vl_err_t *err)
{
    const char *root = conf->filesystem_prefix;
    const char *suffix = conf->filesystem_suffix != NULL
                             ? conf->filesystem_suffix : "";
    size_t      rlen = root != NULL ? strlen(root) : 0;
    char        path[PATH_MAX], real[PATH_MAX];
    struct stat st;
    size_t      got = 0;
    char       *buf;
    int         fd, n;

    if (rlen == 0 || !vl_iiif_id_ok(id)) {
        return vl_err_set(err, VL_ENOTFOUND, "no sidecar");
    }
    n = snprintf(path, sizeof(path), "%s/%s%s%s", root, id,
                 is_folder ? "" : suffix, VL_SIDECAR_SUFFIX);
    if (n < 0 || (size_t) n >= sizeof(path) || realpath(path, real) == NULL
        || strncmp(real, root, rlen) != 0 || real[rlen] != '/')
    {
        return vl_err_set(err, VL_ENOTFOUND, "no sidecar");
    }
    /* no link followed on the way, and a FIFO does not block */
    if ((fd = vl_fs_open_under(root, rlen, real, O_RDONLY)) < 0) {
        return vl_err_set(err, VL_ENOTFOUND, "no sidecar");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vl_err_set(err, VL_ENOTFOUND, "no sidecar");
    }
    if ((uint64_t) st.st_size > max) {
        close(fd);
        return vl_err_set(err, VL_ELIMIT, "the sidecar is larger than %zu "
                          "bytes", max);
    }
    if ((buf = vl_pool_alloc(pool, (size_t) st.st_size + 1)) == NULL) {
        close(fd);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    while (got < (size_t) st.st_size) {
        ssize_t r = pread(fd, buf + got, (size_t) st.st_size - got,
                          (off_t) got);

        if (r < 0 && errno == EINTR) {
            continue;
        }
        if (r <= 0) {
            break;
        }
        got += (size_t) r;
    }
    close(fd);
    if (got != (size_t) st.st_size) {
        return vl_err_set(err, VL_EIO, "cannot read the sidecar");
    }
    buf[got] = '\0';
    *text = buf;
    *len = got;
    vl_file_id_of(&st, file);
    return VL_OK;
}

int
vl_tree_open(const vl_conf_t *conf, const char *dir_id, const char *name,
             int *out, vl_err_t *err)
{
    const char *root = conf->filesystem_prefix;
    size_t      rlen = root != NULL ? strlen(root) : 0;
    char        path[PATH_MAX], real[PATH_MAX];
    struct stat st;
    int         fd, n;

    if (rlen == 0 || (dir_id[0] != '\0' && !vl_iiif_id_ok(dir_id))
        || !tree_name_ok(name) || strchr(name, '/') != NULL)
    {
        return vl_err_set(err, VL_ENOTFOUND, "file not found");
    }
    n = snprintf(path, sizeof(path), "%s%s%s/%s", root, dir_id[0] ? "/" : "",
                 dir_id, name);
    if (n < 0 || (size_t) n >= sizeof(path) || realpath(path, real) == NULL
        || strncmp(real, root, rlen) != 0 || real[rlen] != '/')
    {
        return vl_err_set(err, VL_ENOTFOUND, "file not found");
    }
    /* no link followed on the way, and a FIFO does not block */
    if ((fd = vl_fs_open_under(root, rlen, real, O_RDONLY)) < 0) {
        return vl_err_set(err, VL_ENOTFOUND, "file not found");
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return vl_err_set(err, VL_ENOTFOUND, "file not found");
    }
    *out = fd;
    return VL_OK;
}

char *
vl_tree_uri(vl_pool_t *pool, const char *base, const char *id,
            const char *tail)
{
    char *enc = vl_percent_encode(pool, id, strlen(id));

    return enc != NULL ? vl_pool_printf(pool, "%s%s%s", base, enc, tail)
                       : NULL;
}
