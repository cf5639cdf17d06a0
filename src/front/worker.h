/* SPDX-License-Identifier: MIT */
/*
 * worker: one worker process, forked by the master or spawned by a web
 * server with the listening socket on fd 0: what the process needs from
 * source/ (decode threads, malloc policy), its signals (SIGTERM, SIGINT,
 * SIGUSR1 stop it gracefully; SIGHUP and SIGPIPE are ignored), its
 * application state (serve/), then the FastCGI serving loop (fcgi.c).
 */
#ifndef VL_WORKER_H
#define VL_WORKER_H

#include "core/conf.h"

/* Run one worker on listen_fd until a stop signal or conf->max_requests.
 * The master forks workers with signals blocked; this unblocks them.
 * Returns the exit status of the process: 0 after a graceful stop, 1 if it
 * could not start. */
int vl_worker_run(int listen_fd, const vl_conf_t *conf);

#endif /* VL_WORKER_H */
