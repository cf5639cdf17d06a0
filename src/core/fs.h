/* SPDX-License-Identifier: MIT */
/*
 * fs: opening a file or folder under the image root so that nothing
 * outside it is ever read, races included. Callers resolve a path with
 * realpath (symbolic links inside the root are allowed) and check that the
 * result lies under the root; between that check and the open, any
 * directory on the way could be swapped for a link that leads out.
 * vl_fs_open_under opens the resolved path one component at a time from
 * the root, every component with O_NOFOLLOW, so a link met on the way
 * fails the open (ELOOP, or ENOTDIR where a folder was) instead of being
 * followed (with openat2 where the kernel has it: RESOLVE_BENEATH |
 * RESOLVE_NO_SYMLINKS from the root's descriptor, one call); and it opens with
 * O_NONBLOCK, so a FIFO or a device put in place of a file never blocks a
 * thread (callers fstat the result and keep regular files and folders
 * only). Thread-safe; no allocation.
 */
#ifndef VL_FS_H
#define VL_FS_H

#include <stddef.h>
#include <sys/stat.h>

/* Open real (an absolute path without symbolic links or "." / ".."
 * components, as realpath returns it) that lies under root (the first
 * rlen bytes of real are root, then '/'), with flags (O_RDONLY, maybe
 * O_DIRECTORY; O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK are added). real ==
 * root opens the root itself. Returns the descriptor, or -1 with errno
 * (ELOOP or ENOTDIR: a link met; EXDEV: real is not under root). */
int vl_fs_open_under(const char *root, size_t rlen, const char *real,
                     int flags);

/* stat of real as vl_fs_open_under reaches it (O_PATH): a link met on the
 * way fails (-1, errno), a link as the last component is reported as the
 * link (S_ISLNK), never followed. */
int vl_fs_stat_under(const char *root, size_t rlen, const char *real,
                     struct stat *st);

/* Tests: on, the component walk even where openat2 exists. */
void vl_fs_use_walk(int on);

/* The same for the entry name (one component) of the folder open as dfd;
 * name may not contain '/' and may not be "." or "..". */
int vl_fs_openat(int dfd, const char *name, int flags);

#endif /* VL_FS_H */
