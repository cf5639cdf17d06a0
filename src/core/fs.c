/* SPDX-License-Identifier: MIT */
/*
 * fs: a component-by-component open under the root (fs.h). A path under
 * the image root is a few components deep, so the walk costs a few
 * openat calls on an open that the handle cache makes rare.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "core/fs.h"

#define FS_FLAGS (O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

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

int
vl_fs_open_under(const char *root, size_t rlen, const char *real, int flags)
{
    char        part[256];
    const char *p = real + rlen + 1, *slash;
    int         dfd, fd;

    if (rlen == 0 || strncmp(real, root, rlen) != 0
        || (real[rlen] != '/' && real[rlen] != '\0')) {
        errno = EXDEV;
        return -1;
    }
    /* the root is the administrator's: it may itself be reached through a
     * link; everything under it is walked without following any */
    if (real[rlen] == '\0' || real[rlen + 1] == '\0') {
        return open(root, flags | O_CLOEXEC | O_NONBLOCK);
    }
    if ((dfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        return -1;
    }
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
