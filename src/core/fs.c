/* SPDX-License-Identifier: MIT */
/*
 * fs: an open under the root that follows no link (fs.h). Where the
 * kernel has openat2 (Linux 5.6), one call with RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS resolves the whole path
 * from the root's descriptor, the kernel checking every step; elsewhere
 * (ENOSYS, remembered) a walk of openat calls, one per component, each
 * with O_NOFOLLOW. A path under the image root is a few components deep,
 * and the handle cache makes opens rare.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__linux__) && defined(__has_include)
#if __has_include(<linux/openat2.h>) && __has_include(<sys/syscall.h>)
#include <linux/openat2.h>
#include <sys/syscall.h>
#if defined(SYS_openat2)
#define FS_HAVE_OPENAT2 1
#endif
#endif
#endif

#include "core/fs.h"

#define FS_FLAGS (O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

/* 1 once openat2 said ENOSYS (an older kernel, or a sandbox that
 * refuses it): the walk from then on. Also set by tests. */
static atomic_int fs_no_openat2;

void
vl_fs_use_walk(int on)
{
    atomic_store(&fs_no_openat2, on != 0);
}

int
vl_fs_openat(int dfd, const char *name, int flags)
{
    if (name[0] == '\0' || strchr(name, '/') != NULL
        || strcmp(name, ".") == 0 || strcmp(name, "..") == 0) {
        errno = EINVAL;
        return -1;
    }
    return openat(dfd, name, flags | FS_FLAGS);
}

/* Close dfd and give back rc, keeping errno. */
static int
fs_close_keep(int dfd, int rc)
{
    int e = errno;

    close(dfd);
    errno = e;
    return rc;
}

/* 0 if rel (relative, under the root) has only proper components, as
 * the walk takes them: none empty, "." or "..", none longer than a name
 * (a trailing '/' allowed). */
static int
fs_rel_ok(const char *rel)
{
    for (const char *p = rel;;) {
        const char *slash = strchr(p, '/');
        size_t      n = slash != NULL ? (size_t) (slash - p) : strlen(p);

        if (n == 0 || (n == 1 && p[0] == '.')
            || (n == 2 && p[0] == '.' && p[1] == '.')) {
            errno = EINVAL;
            return -1;
        }
        if (n >= 256) {
            errno = ENAMETOOLONG;
            return -1;
        }
        if (slash == NULL || slash[1] == '\0') {
            return 0;
        }
        p = slash + 1;
    }
}

/* The walk: one openat per component, none followed. */
static int
fs_walk(int dfd, const char *p, int flags)
{
    char        part[256];
    const char *slash;
    int         fd;

    for (;;) {
        size_t n;
        int    last;

        slash = strchr(p, '/');
        last = slash == NULL || slash[1] == '\0';
        n = slash != NULL ? (size_t) (slash - p) : strlen(p);
        if (n == 0 || n >= sizeof(part)) {
            errno = n == 0 ? EINVAL : ENAMETOOLONG;
            return fs_close_keep(dfd, -1);
        }
        memcpy(part, p, n);
        part[n] = '\0';
        fd = vl_fs_openat(dfd, part, last ? flags : O_RDONLY | O_DIRECTORY);
        fs_close_keep(dfd, 0);
        if (fd < 0 || last) {
            return fd;
        }
        dfd = fd;
        p = slash + 1;
    }
}

int
vl_fs_open_under(const char *root, size_t rlen, const char *real, int flags)
{
    const char *rel = real + rlen + 1;
    int         dfd;

    if (rlen == 0 || strncmp(real, root, rlen) != 0
        || (real[rlen] != '/' && real[rlen] != '\0')) {
        errno = EXDEV;
        return -1;
    }
    /* the root is the administrator's: it may itself be reached through a
     * link; everything under it is resolved without following any */
    if (real[rlen] == '\0' || real[rlen + 1] == '\0') {
        return open(root, flags | O_CLOEXEC | O_NONBLOCK);
    }
    if (fs_rel_ok(rel) != 0) {
        return -1;
    }
    if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        return -1;
    }
#ifdef FS_HAVE_OPENAT2
    if (!atomic_load(&fs_no_openat2)) {
        struct open_how how;
        long            fd;

        memset(&how, 0, sizeof(how));
        /* openat2 refuses O_NONBLOCK beside O_PATH (open ignores it) */
        how.flags = (unsigned long long) (flags | FS_FLAGS);
        if ((flags & O_PATH) != 0) {
            how.flags &= ~(unsigned long long) O_NONBLOCK;
        }
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS
                      | RESOLVE_NO_MAGICLINKS;
        fd = syscall(SYS_openat2, dfd, rel, &how, sizeof(how));
        if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) {
            return fs_close_keep(dfd, (int) fd);
        }
        /* ENOSYS: no openat2; EPERM: a seccomp filter refusing it */
        atomic_store(&fs_no_openat2, 1);
    }
#endif
    return fs_walk(dfd, rel, flags);
}

int
vl_fs_stat_under(const char *root, size_t rlen, const char *real,
                 struct stat *st)
{
    int fd = vl_fs_open_under(root, rlen, real, O_PATH);
    int rc;

    if (fd < 0) {
        return -1;
    }
    rc = fstat(fd, st);
    return fs_close_keep(fd, rc);
}
