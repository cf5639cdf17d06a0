/* SPDX-License-Identifier: MIT */
/*
 * cdlog: the Change Discovery log, STATE_DIR/activities.log, the single
 * source of truth of the stream and of the scanner's state. Append-only,
 * one self-checking record per line:
 *
 *   cd1 SEQ TIME TYPE KIND ID STAT SIGNATURE CHECK
 *   cd1 7 2024-05-01T12:00:00Z Update i books%2Fa.tif 1f0c... 9a4e... 5d2b...
 *
 * SEQ counts from 1 without gaps, TIME (UTC, to the second) never goes
 * back, TYPE is Create, Update, Delete (the activities a harvester sees) or
 * Seen (files touched without a content change: the scanner's note of
 * their new sizes and times, never shown), KIND i (an image) or f (a
 * folder object), ID the identifier percent-encoded, STAT and SIGNATURE
 * what the scanner compares (64 and 128 bits, hex; zeros for a Delete),
 * CHECK the XXH64 of everything before it. Pure functions plus reading a
 * file descriptor; the fold of the records is a vl_cdlog_state_t.
 */
#ifndef VL_CDLOG_H
#define VL_CDLOG_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/pool.h"

#define VL_CDLOG_FILE     "activities.log"
#define VL_CDLOG_LOCK     "scan.lock"
#define VL_CDLOG_TAG      "cd1"
#define VL_CDLOG_LINE_MAX 16384 /* longest record, '\n' included */
#define VL_CDLOG_TIME_LEN 20    /* "2024-05-01T12:00:00Z" */

typedef enum {
    VL_CDLOG_CREATE,
    VL_CDLOG_UPDATE,
    VL_CDLOG_DELETE,
    VL_CDLOG_SEEN
} vl_cdlog_type_t;

/* What an identifier names: an image, or a folder object (a folder whose
 * sidecar has items). */
#define VL_CDLOG_IMAGE  'i'
#define VL_CDLOG_FOLDER 'f'

typedef struct {
    uint64_t        seq;
    char            time[VL_CDLOG_TIME_LEN + 1];
    vl_cdlog_type_t type;
    int             kind; /* VL_CDLOG_IMAGE or VL_CDLOG_FOLDER */
    const char     *id;   /* decoded identifier */
    uint64_t        stat; /* sizes, times and inodes of the files; 0:
                           * to be read again by the next scan */
    uint64_t sig[2];      /* content signature */
    uint64_t check;       /* the line's checksum (parsed or formatted) */
} vl_cdlog_rec_t;

/* 1 for Create, Update and Delete: the records the stream shows. */
int vl_cdlog_is_activity(const vl_cdlog_rec_t *r);

/* "Create", "Update", "Delete", "Seen". */
const char *vl_cdlog_type_name(vl_cdlog_type_t type);

/* The line of r, '\n' included, into pool memory; r->check is set.
 * Errors: VL_EBADREQ (a field out of its form: time, kind, identifier, or
 * a line longer than VL_CDLOG_LINE_MAX), VL_ENOMEM. */
int vl_cdlog_format(vl_pool_t *pool, vl_cdlog_rec_t *r, char **line,
                    size_t *len, vl_err_t *err);

/* The CHECK of a line whose text before " CHECK" is body[len]. */
uint64_t vl_cdlog_checksum(const char *body, size_t len);

/* Parse one line of len bytes (its '\n' left out) into *out; the decoded
 * identifier goes into id[idsize] and out->id points at it. Checks
 * everything a line alone can show (the checksum first), not the order of
 * lines. Errors: VL_EFORMAT with the reason ("bad checksum"). */
int vl_cdlog_parse(const char *line, size_t len, char *id, size_t idsize,
                   vl_cdlog_rec_t *out, vl_err_t *err);

/* The UTC time t as a record's TIME into buf[VL_CDLOG_TIME_LEN + 1];
 * seconds since the epoch of a valid TIME (-1 if it is not one). */
void      vl_cdlog_time(long long t, char *buf);
long long vl_cdlog_time_parse(const char *time);

/* ------------------------------------------------------------ reading */

/* Where reading stopped: after the last valid record. Zeros: the start. */
typedef struct {
    uint64_t off;                         /* bytes */
    uint64_t seq;                         /* of that record, 0: none */
    char     time[VL_CDLOG_TIME_LEN + 1]; /* of that record, "": none */
} vl_cdlog_pos_t;

typedef enum {
    VL_CDLOG_CLEAN,  /* every byte belongs to a valid record */
    VL_CDLOG_TORN,   /* an incomplete last line (no '\n'): an append
                      * that stopped half-way */
    VL_CDLOG_DAMAGED /* a complete line that is not a valid record
                      * (checksum, syntax, sequence, time order) */
} vl_cdlog_end_t;

typedef struct {
    vl_cdlog_pos_t pos;  /* after the last valid record */
    uint64_t       nrec; /* valid records read by this call */
    vl_cdlog_end_t end;
    uint64_t       tail; /* TORN: bytes after pos.off; DAMAGED: the
                          * length of the bad line */
    char why[96];        /* DAMAGED: what is wrong with it */
} vl_cdlog_result_t;

/* Called for each valid record at byte offset off, len bytes with its
 * '\n'; r->id lives until the call returns. A status other than VL_OK
 * stops the read and is returned. */
typedef int (*vl_cdlog_fn)(void *arg, const vl_cdlog_rec_t *r, uint64_t off,
                           size_t len);

/* Read fd (pread: the file offset is left alone) from *from (zeros: the
 * start) to its end, calling fn for every valid record; *out tells where
 * and why reading stopped. Torn and damaged logs are not errors: *out says
 * which. Errors: VL_EIO, VL_ENOMEM, or what fn returned. */
int vl_cdlog_read(int fd, const vl_cdlog_pos_t *from, vl_cdlog_fn fn, void *arg,
                  vl_cdlog_result_t *out, vl_err_t *err);

/* ------------------------------------------------------------ the fold */

/* An identifier as the log leaves it. */
typedef struct {
    const char *id;
    int         kind;
    int         live; /* last record not a Delete */
    uint64_t    stat;
    uint64_t    sig[2];
    unsigned    mark; /* the caller's (the scanner marks what it
                       * found) */
} vl_cdlog_obj_t;

typedef struct vl_cdlog_state_s vl_cdlog_state_t;

vl_cdlog_state_t *vl_cdlog_state_new(void);
void              vl_cdlog_state_free(vl_cdlog_state_t *s);

/* Fold one record in: Create, Update and Seen make the identifier live
 * with the record's kind, stat and signature, Delete makes it dead.
 * Errors: VL_ENOMEM. */
int vl_cdlog_state_apply(vl_cdlog_state_t *s, const vl_cdlog_rec_t *r,
                         vl_err_t *err);

/* The identifier's entry, or NULL if the log never named it. */
vl_cdlog_obj_t *vl_cdlog_state_get(vl_cdlog_state_t *s, const char *id);

/* Every identifier the log named (live or dead), i < vl_cdlog_state_count,
 * in the order of their first record; and how many are live. */
size_t          vl_cdlog_state_count(const vl_cdlog_state_t *s);
vl_cdlog_obj_t *vl_cdlog_state_at(vl_cdlog_state_t *s, size_t i);
size_t          vl_cdlog_state_live(const vl_cdlog_state_t *s);

#endif /* VL_CDLOG_H */
