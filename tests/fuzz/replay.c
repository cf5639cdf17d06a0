/* SPDX-License-Identifier: MIT */
/*
 * replay: a plain main for a fuzz target, so that `make check` (any
 * compiler, no libFuzzer) runs every input of its corpora through
 * LLVMFuzzerTestOneInput: each argument is a file or a directory whose
 * files (not recursive, sorted by name) are fed one at a time. A crash
 * fails the run under the sanitizers like any test; the exit status is
 * 1 when an argument cannot be read or when no input was found.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    return 0;
}

static int
replay_file(const char *path, size_t *count)
{
    FILE          *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t         n = 0, cap = 0, got;

    if (f == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (;;) {
        if (n == cap) {
            unsigned char *nb;

            cap = cap == 0 ? 65536 : cap * 2;
            if ((nb = realloc(buf, cap)) == NULL) {
                fprintf(stderr, "replay: out of memory\n");
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, f);
        if (got == 0) {
            break;
        }
        n += got;
    }
    if (ferror(f)) {
        fprintf(stderr, "replay: %s: read error\n", path);
        free(buf);
        fclose(f);
        return -1;
    }
    fclose(f);
    /* an exact-size copy, so that ASan sees a read past the input */
    {
        unsigned char *exact = malloc(n > 0 ? n : 1);

        if (exact == NULL) {
            free(buf);
            return -1;
        }
        if (n > 0) {
            memcpy(exact, buf, n);
        }
        free(buf);
        LLVMFuzzerTestOneInput(exact, n);
        free(exact);
    }
    (*count)++;
    return 0;
}

static int
replay_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

static int
replay_dir(const char *dir, size_t *count)
{
    DIR           *d = opendir(dir);
    struct dirent *e;
    char         **names = NULL;
    size_t         n = 0, cap = 0;
    int            rc = 0;

    if (d == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            continue;   /* ".", "..", and hidden files (.gitkeep) */
        }
        if (n == cap) {
            char **nn;

            cap = cap == 0 ? 64 : cap * 2;
            if ((nn = realloc(names, cap * sizeof(*names))) == NULL) {
                rc = -1;
                break;
            }
            names = nn;
        }
        if ((names[n] = strdup(e->d_name)) == NULL) {
            rc = -1;
            break;
        }
        n++;
    }
    closedir(d);
    if (n > 0) {
        qsort(names, n, sizeof(*names), replay_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        char        path[4096];
        struct stat st;

        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (rc == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)
            && replay_file(path, count) != 0) {
            rc = -1;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int
main(int argc, char **argv)
{
    size_t count = 0;
    int    rc = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            rc = 1;
        } else if (S_ISDIR(st.st_mode)) {
            rc |= replay_dir(argv[i], &count) != 0;
        } else {
            rc |= replay_file(argv[i], &count) != 0;
        }
    }
    printf("replay: %zu inputs\n", count);
    if (count == 0) {
        fprintf(stderr, "replay: no input found\n");
        rc = 1;
    }
    return rc;
}
