/* SPDX-License-Identifier: MIT */
/*
 * tree: the image tree under FILESYSTEM_PREFIX as IIIF Presentation sees
 * it. A folder lists its images (regular files named with
 * FILESYSTEM_SUFFIX whose magic bytes a source backend reads) and its
 * sub-folders, sorted by name; hidden entries (a leading '.'), sidecars,
 * symbolic links that lead out of the root and files vellum cannot read
 * are left out. Identifiers are those of the Image API: the path under the
 * root, '/'-separated, without FILESYSTEM_SUFFIX (a folder's is its path).
 * Used by collections (one folder per request) and by the scanner (the
 * whole tree). Reads the file system only; memory in the caller's pool.
 */
#ifndef VL_TREE_H
#define VL_TREE_H

#include <stddef.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/types.h"

#define VL_SIDECAR_SUFFIX ".json"

typedef enum {
    VL_TREE_IMAGE,
    VL_TREE_FOLDER
} vl_tree_kind_t;

typedef struct {
    vl_tree_kind_t kind;
    const char    *name;        /* in its folder, as stored */
    const char    *id;          /* identifier (decoded) */
    vl_file_id_t   file;        /* the image, or the folder */
    int            sidecar;     /* name + ".json" is beside it */
    vl_file_id_t   sidecar_file;
    int            sniffed;     /* an image: its magic bytes were read */
    const char    *dir_real;    /* the folder's real path (vl_tree_sniff) */
    const char    *target;      /* a link's real target, or NULL */
} vl_tree_entry_t;

/* vl_tree_list flags */
#define VL_TREE_SNIFF  1u       /* read each file's first bytes */
#define VL_TREE_STRICT 2u       /* an entry that cannot be read fails the
                                   listing, instead of being left out */

/* The entries of the folder with identifier dir_id ("" for the root),
 * sorted by name (bytewise), in pool. Without VL_TREE_SNIFF a file is
 * listed as an image on its name and kind alone (readdir and one fstatat
 * per entry: cheap enough for an ETag); vl_tree_sniff then tells the
 * images among those a response shows. Folder links are followed only
 * one deep and never to the folder or an ancestor: the tree is finite.
 * An image whose identifier reads as a page (vl_iiif_is_page with
 * IIIF_DELIMITER: "scan;2") is never reached by its name: not listed.
 * An entry that is gone, a link loop or a special file is left out; one
 * that cannot be read (stat, a link's target, the sniffing open or read
 * fail with EACCES, EIO, ...) is left out too, unless VL_TREE_STRICT:
 * then the listing fails (VL_EIO "cannot read an entry"), as it does when
 * readdir fails, so that a caller keeping state (the scanner) does not
 * take it for a removal.
 * Errors: VL_ENOTFOUND (no such folder under the root: nothing listed),
 * VL_EIO, VL_ENOMEM. Messages never contain a path. */
int vl_tree_list(vl_pool_t *pool, const vl_conf_t *conf, const char *dir_id,
                 unsigned flags, vl_tree_entry_t **out, size_t *n,
                 vl_err_t *err);

/* 1 if image entry e (of vl_tree_list) is a file a source backend reads
 * (its magic bytes; opened without following a link, never blocking). */
int vl_tree_sniff(const vl_conf_t *conf, const vl_tree_entry_t *e);

/* The identity of the folder dir_id itself (its directory).
 * Errors as vl_tree_list. */
int vl_tree_folder(const vl_conf_t *conf, const char *dir_id,
                   vl_file_id_t *out, vl_err_t *err);

/* Read the sidecar of identifier id (an image's: its file name +
 * ".json"; a folder's: its path + ".json") into a NUL-terminated pool
 * buffer, at most max bytes, with its identity. Returns VL_ENOTFOUND when
 * there is none (or it leads out of the root), VL_ELIMIT when it is larger
 * than max. is_folder: id names a folder, not an image. */
int vl_tree_sidecar(vl_pool_t *pool, const vl_conf_t *conf, const char *id,
                    int is_folder, size_t max, char **text, size_t *len,
                    vl_file_id_t *file, vl_err_t *err);

/* Open the entry name of folder dir_id ("" for the root), as vl_tree_list
 * listed it (an image or a sidecar), for reading: its real path checked to
 * be under the root, opened without following a link (core/fs.h), a
 * regular file. *fd is the caller's to close. Errors: VL_ENOTFOUND (gone, not a file, or leading
 * out of the root). */
int vl_tree_open(const vl_conf_t *conf, const char *dir_id, const char *name,
                 int *fd, vl_err_t *err);

/* base + the identifier percent-encoded as one path segment ('/' as %2F)
 * + tail: the URI of an identifier's resource, e.g. its manifest
 * (tail "/manifest"). NULL on ENOMEM. */
char *vl_tree_uri(vl_pool_t *pool, const char *base, const char *id,
                  const char *tail);

#endif /* VL_TREE_H */
