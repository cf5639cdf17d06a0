/* SPDX-License-Identifier: MIT */
/*
 * test_fs: vl_fs_open_under opens what realpath resolved under the root
 * and nothing else: a folder swapped for a link after realpath (the race
 * the component walk closes) fails with ELOOP, a FIFO does not block, a
 * path not under the root is refused, and the root itself opens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/fs.h"

static char root[256], out[256];

static void
put(const char *rel, const char *text)
{
    char  path[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int
setup(void **state)
{
    char path[600];

    (void) state;
    snprintf(root, sizeof(root), "%s/fs-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    snprintf(out, sizeof(out), "%s/fs-out-XXXXXX",
             getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
    if (mkdtemp(root) == NULL || mkdtemp(out) == NULL) {
        return -1;
    }
    snprintf(path, sizeof(path), "%s/a", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/a/b", root);
    mkdir(path, 0755);
    put("a/b/in.txt", "inside");
    snprintf(path, sizeof(path), "%s/secret.txt", out);
    {
        FILE *f = fopen(path, "w");

        fputs("outside", f);
        fclose(f);
    }
    snprintf(path, sizeof(path), "%s/fifo", root);
    return mkfifo(path, 0644);
}

static int
teardown(void **state)
{
    char cmd[600];

    (void) state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s' '%s'", root, out);
    return system(cmd) == 0 ? 0 : -1;
}

static void
read_all(int fd, char *buf, size_t size)
{
    ssize_t n = read(fd, buf, size - 1);

    assert_true(n >= 0);
    buf[n] = '\0';
    close(fd);
}

static void
test_open_under(void **state)
{
    size_t rlen = strlen(root);
    char   path[600], buf[64];
    int    fd;

    (void) state;
    snprintf(path, sizeof(path), "%s/a/b/in.txt", root);
    fd = vl_fs_open_under(root, rlen, path, O_RDONLY);
    assert_true(fd >= 0);
    read_all(fd, buf, sizeof(buf));
    assert_string_equal(buf, "inside");

    /* the root itself, and a folder */
    fd = vl_fs_open_under(root, rlen, root, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    close(fd);
    snprintf(path, sizeof(path), "%s/a/b", root);
    fd = vl_fs_open_under(root, rlen, path, O_RDONLY | O_DIRECTORY);
    assert_true(fd >= 0);
    close(fd);

    /* not under the root (a sibling with the root's name as prefix) */
    snprintf(path, sizeof(path), "%s-x/in.txt", root);
    errno = 0;
    assert_int_equal(vl_fs_open_under(root, rlen, path, O_RDONLY), -1);
    assert_int_equal(errno, EXDEV);
    assert_int_equal(vl_fs_open_under(root, rlen, out, O_RDONLY), -1);

    /* ".." in what should have been a resolved path */
    snprintf(path, sizeof(path), "%s/a/../a/b/in.txt", root);
    assert_int_equal(vl_fs_open_under(root, rlen, path, O_RDONLY), -1);

    /* a FIFO opens at once (O_NONBLOCK): the caller's fstat refuses it */
    snprintf(path, sizeof(path), "%s/fifo", root);
    fd = vl_fs_open_under(root, rlen, path, O_RDONLY);
    assert_true(fd >= 0);
    {
        struct stat st;

        assert_int_equal(fstat(fd, &st), 0);
        assert_true(S_ISFIFO(st.st_mode));
    }
    close(fd);
}

/* The race: realpath said root/a/b/in.txt; then a/b became a link to a
 * folder outside holding in.txt. Opened by that path, the outside file
 * would be read; the walk meets the link and refuses. (The test passes a
 * plain open of the same path below: it fails on the old code, which
 * opened the resolved path with O_NOFOLLOW on its last component only.) */
static void
test_swapped_folder(void **state)
{
    size_t rlen = strlen(root);
    char   path[600], moved[600], link[600], target[600];

    (void) state;
    snprintf(path, sizeof(path), "%s/a/b", root);
    snprintf(moved, sizeof(moved), "%s/a/b-was", root);
    assert_int_equal(rename(path, moved), 0);
    snprintf(target, sizeof(target), "%s/in.txt", out);
    {
        FILE *f = fopen(target, "w");

        fputs("outside", f);
        fclose(f);
    }
    snprintf(link, sizeof(link), "%s/a/b", root);
    assert_int_equal(symlink(out, link), 0);

    snprintf(path, sizeof(path), "%s/a/b/in.txt", root);
    errno = 0;
    assert_int_equal(vl_fs_open_under(root, rlen, path, O_RDONLY), -1);
    /* a link met where a folder was: ENOTDIR (O_DIRECTORY | O_NOFOLLOW) */
    assert_true(errno == ENOTDIR || errno == ELOOP);
    /* and the last component a link: refused as well */
    snprintf(path, sizeof(path), "%s/a/b", root);
    assert_int_equal(vl_fs_open_under(root, rlen, path, O_RDONLY), -1);
    /* a plain open of the same path would have read it */
    {
        int fd = open(link, O_RDONLY | O_DIRECTORY);

        assert_true(fd >= 0);
        close(fd);
    }
    unlink(link);
    assert_int_equal(rename(moved, link), 0);
}

/* The same checks through the openat walk (kernels without openat2). */
static void
test_open_under_walk(void **state)
{
    vl_fs_use_walk(1);
    test_open_under(state);
    vl_fs_use_walk(0);
}

static void
test_swapped_folder_walk(void **state)
{
    vl_fs_use_walk(1);
    test_swapped_folder(state);
    vl_fs_use_walk(0);
}

/* vl_fs_stat_under: the file's stat; through a swapped folder, none; a
 * link as the last component, the link itself. */
static void
test_stat_under(void **state)
{
    size_t      rlen = strlen(root);
    char        path[600], moved[600], link[600];
    struct stat st;

    (void) state;
    snprintf(path, sizeof(path), "%s/a/b/in.txt", root);
    assert_int_equal(vl_fs_stat_under(root, rlen, path, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_size, 6);
    snprintf(moved, sizeof(moved), "%s/a/b-was", root);
    snprintf(link, sizeof(link), "%s/a/b", root);
    assert_int_equal(rename(link, moved), 0);
    assert_int_equal(symlink(out, link), 0);
    assert_int_equal(vl_fs_stat_under(root, rlen, path, &st), -1);
    assert_int_equal(vl_fs_stat_under(root, rlen, link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    unlink(link);
    assert_int_equal(rename(moved, link), 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_open_under),
        cmocka_unit_test(test_swapped_folder),
        cmocka_unit_test(test_open_under_walk),
        cmocka_unit_test(test_swapped_folder_walk),
        cmocka_unit_test(test_stat_under),
    };

    return cmocka_run_group_tests(tests, setup, teardown);
}
