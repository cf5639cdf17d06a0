/* SPDX-License-Identifier: MIT */
/*
 * fcgi: the FastCGI serving loop of one worker process (the only libfcgi
 * user), started by front/worker.c. Idle kept-alive connections never pin
 * a thread: they wait in a poll set of the process.
 */
#ifndef VL_FCGI_H
#define VL_FCGI_H

#include "core/conf.h"
#include "serve/serve.h"

/* Serve requests on listen_fd (a listening socket, non-blocking) with app
 * and conf->threads threads until stop_rd becomes readable (the worker's
 * signal handlers write to stop_wr) or conf->max_requests requests have
 * been served (then this loop writes to stop_wr itself). In-flight
 * requests always finish. The calling thread keeps the process signals:
 * the serving threads block them. Returns 0 after a stop, 1 if it could
 * not start. */
int vl_fcgi_serve(int listen_fd, const vl_conf_t *conf, vl_app_t *app,
                  int stop_rd, int stop_wr);

#endif /* VL_FCGI_H */
