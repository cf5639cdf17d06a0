/* SPDX-License-Identifier: MIT */
/*
 * worker: process setup around the serving loop. The signal handlers only
 * write to a stop pipe the serving loop polls; they are installed before
 * libfcgi initialises, since libfcgi installs its own (SIGPIPE, and a
 * SIGUSR1 that would make every later read fail) only over SIG_DFL.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "front/fcgi.h"
#include "front/worker.h"
#include "serve/serve.h"
#include "source/source.h"

/* the stop pipe's write end, for the signal handler */
static int worker_stop_wr = -1;

static void
worker_on_stop(int sig)
{
    int saved = errno;

    (void) sig;
    if (worker_stop_wr >= 0) {
        (void) !write(worker_stop_wr, "s", 1);
    }
    errno = saved;
}

static void
worker_on_usr2(int sig)
{
    (void) sig;
    vl_log_reopen();
}

static void
worker_signals(void (*stop)(int))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = stop;
    sa.sa_flags = stop == SIG_DFL ? 0 : SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    /* SIGUSR2: open LOGFILE again (the master passes logrotate's on) */
    sa.sa_handler = stop == SIG_DFL ? SIG_DFL : worker_on_usr2;
    sigaction(SIGUSR2, &sa, NULL);
}

int
vl_worker_run(int listen_fd, const vl_conf_t *conf)
{
    struct sigaction sa;
    sigset_t         set;
    vl_app_t        *app;
    vl_err_t         err = { 0 };
    int              stop[2], fl, rc;

    /* what the decoders want of this process (threads, malloc arenas) */
    vl_source_setup_worker(conf->workers);

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    if (pipe2(stop, O_CLOEXEC | O_NONBLOCK) != 0) {
        vl_log(VL_LOG_ERROR, NULL, "worker: pipe: %s", strerror(errno));
        return 1;
    }
    worker_stop_wr = stop[1];
    worker_signals(worker_on_stop);
    /* the master forks with these blocked */
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_UNBLOCK, &set, NULL);

    fl = fcntl(listen_fd, F_GETFL);
    if (fl < 0 || fcntl(listen_fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        vl_log(VL_LOG_ERROR, NULL,
               "worker: the listening socket is not "
               "usable: %s",
               strerror(errno));
        rc = 1;
    } else if ((app = vl_app_new(conf, &err)) == NULL) {
        vl_log(VL_LOG_ERROR, NULL, "worker: %s", err.msg);
        rc = 1;
    } else {
        rc = vl_fcgi_serve(listen_fd, conf, app, stop[0], stop[1]);
        vl_app_free(app);
    }
    worker_signals(SIG_DFL);
    worker_stop_wr = -1;
    close(stop[0]);
    close(stop[1]);
    return rc;
}
