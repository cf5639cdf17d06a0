/* SPDX-License-Identifier: MIT */
/*
 * master: the prefork pool behind `vellum --bind`. Opens the listening
 * socket, forks the workers (front/fcgi.c), respawns the ones that die (with
 * backoff when they die at once), stops gracefully on SIGTERM/SIGINT and
 * reloads the configuration with a new generation of workers on SIGHUP.
 */
#ifndef VL_MASTER_H
#define VL_MASTER_H

#include "core/conf.h"
#include "core/err.h"

typedef struct {
    const char *bind;         /* "HOST:PORT", "[v6]:PORT" or a socket path */
    const char *config_file;  /* re-read on SIGHUP; may be NULL */
    long        workers;      /* --workers, or -1: WORKERS from conf */
    long        backlog;      /* --backlog, or -1: BACKLOG from conf */
    int         listen_fd;    /* a listening socket to use instead of
                               * bind (systemd's socket activation), or
                               * -1 */
} vl_master_opts_t;

/* Open the listening socket for bind (TCP: SO_REUSEADDR; a path: a unix
 * socket, a stale one replaced, mode 0666). Returns the fd, or -1 with err
 * set (VL_EIO). *is_unix tells whether bind named a unix socket. */
int vl_master_listen(const char *bind, int backlog, int *is_unix,
                     vl_err_t *err);

/* Run the pool until SIGTERM/SIGINT. Takes ownership of conf (replaced on
 * SIGHUP, freed at the end). Returns the exit status of the process (0 after
 * a graceful stop, 2 if the socket cannot be opened). */
int vl_master_run(const vl_master_opts_t *opts, vl_conf_t *conf);

#endif /* VL_MASTER_H */
