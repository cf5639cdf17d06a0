/* SPDX-License-Identifier: MIT */
/*
 * fcgi: the FastCGI accept loop of one worker process (the only libfcgi
 * user). Shared by workers forked by the master and by a process spawned by
 * a web server with the listening socket on fd 0. Idle kept-alive
 * connections never pin a thread: they wait in a poll set of the process.
 */
#ifndef VL_FCGI_H
#define VL_FCGI_H

#include "core/conf.h"
#include "core/pool.h"
#include "serve/http.h"

/* Serve requests on listen_fd (a listening socket; made non-blocking here)
 * with conf->threads threads, until SIGTERM, SIGINT or SIGUSR1, or until
 * conf->max_requests requests have been served. In-flight requests always
 * finish. Installs its own signal handlers and unblocks SIGTERM, SIGINT,
 * SIGUSR1 (the master forks workers with signals blocked). Returns the exit
 * status of the process: 0 after a graceful stop, 1 if it could not start. */
int vl_fcgi_run(int listen_fd, const vl_conf_t *conf);

/* Fill req from a FastCGI/CGI environment (NULL-terminated NAME=value
 * array): method, IIIF path (IIIF= query argument, else URI_MAP), request
 * URI, scheme, host, headers, IIIF_VERSION hint. Strings point into envp or
 * pool. reqid is stored as given. Returns 0, or -1 on ENOMEM. */
int vl_fcgi_req_from_env(char **envp, const vl_conf_t *conf, vl_pool_t *pool,
                         const char *reqid, vl_http_req_t *req);

/* Reason phrase of an HTTP status ("Not Found"); "Unknown" if unknown. */
const char *vl_fcgi_reason(int status);

#endif /* VL_FCGI_H */
