/* SPDX-License-Identifier: MIT */
/*
 * master: a single-threaded supervisor. Signal handlers only set flags and
 * write to a self-pipe; the main loop polls the pipe, reaps children, keeps
 * one worker per slot of the current generation (respawning with backoff)
 * and retires old generations after a reload. The listening socket is opened
 * once and never closed while the master runs. With SCAN_INTERVAL > 0 it
 * also forks a Change Discovery scan (present/scan.h) every SCAN_INTERVAL
 * seconds, start to start, never two at once; a scan that fails is logged
 * and tried again at the next interval.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "core/log.h"
#include "core/metrics.h"
#include "core/ratelimit.h"
#include "front/worker.h"
#include "front/master.h"
#include "present/scan.h"

#define MASTER_BACKOFF_MAX   30.0   /* seconds */
#define MASTER_QUICK_DEATH   1.0    /* dying sooner than this backs off */
#define MASTER_STOP_GRACE    30.0   /* then SIGKILL */

typedef struct {
    pid_t     pid;
    int       slot;       /* index in slots, -1 once retired */
    double    started;
    unsigned  mslot;      /* its slot of the metrics gauges */
} master_child_t;

typedef struct {
    pid_t     pid;        /* 0 = empty */
    double    next_start;
    double    backoff;
} master_slot_t;

typedef struct {
    const vl_master_opts_t *opts;
    vl_conf_t              *conf;
    int                     listen_fd;
    int                     pipe_rd;
    int                     pipe_wr;
    pid_t                   self;
    master_slot_t          *slots;
    size_t                  nslots;
    master_child_t         *kids;
    size_t                  nkids;
    size_t                  capkids;
    int                     stopping;
    int                     killed;
    double                  deadline;
    pid_t                   scan_pid;   /* the running scan, or 0 */
    double                  next_scan;  /* when the next one starts */
} master_t;

static volatile sig_atomic_t master_got_term;
static volatile sig_atomic_t master_got_hup;
static volatile sig_atomic_t master_got_usr2;
static int                   master_pipe_wr = -1;


static void
master_on_signal(int sig)
{
    int saved = errno;

    if (sig == SIGHUP) {
        master_got_hup = 1;
    } else if (sig == SIGUSR2) {
        master_got_usr2 = 1;
    } else if (sig == SIGTERM || sig == SIGINT) {
        master_got_term = 1;
    }
    if (master_pipe_wr >= 0) {
        (void) !write(master_pipe_wr, "m", 1);
    }
    errno = saved;
}


static double
master_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}


/* ------------------------------------------------------------ socket */

static int
master_listen_unix(const char *path, int backlog, vl_err_t *err)
{
    struct sockaddr_un sun;
    struct stat        st;
    int                fd;

    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        vl_err_set(err, VL_EIO, "the unix socket path is too long "
                   "(at most %zu bytes)", sizeof(sun.sun_path) - 1);
        return -1;
    }
    memcpy(sun.sun_path, path, strlen(path) + 1);

    if (lstat(path, &st) == 0) {
        int probe;

        if (!S_ISSOCK(st.st_mode)) {
            vl_err_set(err, VL_EIO, "--bind names an existing file "
                       "that is not a socket");
            return -1;
        }
        probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (probe >= 0
            && connect(probe, (struct sockaddr *) &sun, sizeof(sun)) == 0)
        {
            close(probe);
            vl_err_set(err, VL_EIO, "another server is listening on "
                       "the unix socket");
            return -1;
        }
        if (probe >= 0) {
            close(probe);
        }
        unlink(path);           /* stale: its server is gone */
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        vl_err_set(err, VL_EIO, "socket: %s", strerror(errno));
        return -1;
    }
    if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) != 0) {
        vl_err_set(err, VL_EIO, "cannot bind the unix socket: %s",
                   strerror(errno));
        close(fd);
        return -1;
    }
    /* the web server usually runs as another user */
    if (chmod(path, 0666) != 0 || listen(fd, backlog) != 0) {
        vl_err_set(err, VL_EIO, "cannot listen on the unix socket: %s",
                   strerror(errno));
        close(fd);
        unlink(path);
        return -1;
    }
    return fd;
}


static int
master_listen_tcp(const char *bind_to, int backlog, vl_err_t *err)
{
    struct addrinfo  hints, *res = NULL, *ai;
    const char      *colon = strrchr(bind_to, ':');
    char             host[256];
    size_t           hlen;
    int              fd = -1, rc, one = 1, saved = 0;

    if (colon == NULL || colon[1] == '\0') {
        vl_err_set(err, VL_EIO, "--bind %s: expected HOST:PORT or a "
                   "socket path", bind_to);
        return -1;
    }
    hlen = (size_t) (colon - bind_to);
    if (hlen >= sizeof(host)) {
        vl_err_set(err, VL_EIO, "--bind: host name too long");
        return -1;
    }
    memcpy(host, bind_to, hlen);
    host[hlen] = '\0';
    if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
        memmove(host, host + 1, hlen - 2);
        host[hlen - 2] = '\0';
    }

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] == '\0' || strcmp(host, "*") == 0 ? NULL : host,
                     colon + 1, &hints, &res);
    if (rc != 0) {
        vl_err_set(err, VL_EIO, "--bind %s: %s", bind_to,
                   gai_strerror(rc));
        return -1;
    }
    for (ai = res; ai != NULL; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) {
            saved = errno;
            continue;
        }
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0
            && listen(fd, backlog) == 0)
        {
            break;
        }
        saved = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        vl_err_set(err, VL_EIO, "cannot listen on %s: %s", bind_to,
                   strerror(saved));
    }
    return fd;
}


static int
master_is_unix(const char *bind_to)
{
    return strchr(bind_to, '/') != NULL || strncmp(bind_to, "unix:", 5) == 0;
}


static const char *
master_unix_path(const char *bind_to)
{
    return strncmp(bind_to, "unix:", 5) == 0 ? bind_to + 5 : bind_to;
}


int
vl_master_listen(const char *bind_to, int backlog, int *is_unix,
                 vl_err_t *err)
{
    *is_unix = master_is_unix(bind_to);
    if (*is_unix) {
        return master_listen_unix(master_unix_path(bind_to), backlog, err);
    }
    return master_listen_tcp(bind_to, backlog, err);
}


/* ------------------------------------------------------------ children */

static size_t
master_nworkers(const vl_master_opts_t *opts, const vl_conf_t *conf)
{
    long n = opts->workers >= 0 ? opts->workers : conf->workers;

    if (n <= 0) {
        n = sysconf(_SC_NPROCESSORS_ONLN);
    }
    return n > 0 ? (size_t) n : 1;
}


/* A child's end: _exit skips the atexit leak check of sanitizer builds,
 * so it is run here (memory still reachable is not a leak). */
static void
master_child_exit(int status)
{
#ifdef __SANITIZE_ADDRESS__
    __lsan_do_leak_check();
#endif
    _exit(status);
}

/* In a child the master forks (a worker, a scan): the signals back to
 * their defaults, the master's pipe closed, and death with the master. */
static void
master_in_child(master_t *m)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = SIG_DFL;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    close(m->pipe_rd);
    close(m->pipe_wr);
    master_pipe_wr = -1;
#ifdef __linux__
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != m->self) {
        _exit(0);
    }
#endif
}

static void
master_spawn(master_t *m, size_t slot)
{
    static unsigned spawned;
    sigset_t        all, old, child;
    pid_t           pid;
    unsigned        mslot = 0;

    /* a gauge slot no live worker holds: the child zeroes it, and the
     * master zeroes it again when that child dies, so a slot shared with
     * a long-lived worker (after VL_MET_SLOTS - 1 spawns) would lose its
     * count. With more live workers than slots, the rest share slot 0,
     * never zeroed. */
    for (unsigned tries = 0; tries < VL_MET_SLOTS - 1 && mslot == 0;
         tries++) {
        unsigned cand = 1 + spawned++ % (VL_MET_SLOTS - 1);
        size_t   k;

        for (k = 0; k < m->nkids && m->kids[k].mslot != cand; k++) {
        }
        if (k == m->nkids) {
            mslot = cand;
        }
    }

    if (m->nkids == m->capkids) {
        size_t          cap = m->capkids ? m->capkids * 2 : 16;
        master_child_t *p = realloc(m->kids, cap * sizeof(*p));

        if (p == NULL) {
            m->slots[slot].next_start = master_now() + 1.0;
            return;
        }
        m->kids = p;
        m->capkids = cap;
    }

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0) {
        /* the worker: worker.c installs its handlers, then unblocks these */
        master_in_child(m);
        vl_metrics_slot(mslot);
        if (mslot != 0) {
            vl_metrics_slot_reset(mslot);
        }
        child = old;
        sigaddset(&child, SIGTERM);
        sigaddset(&child, SIGINT);
        sigaddset(&child, SIGUSR1);
        sigaddset(&child, SIGUSR2);
        sigaddset(&child, SIGHUP);
        sigprocmask(SIG_SETMASK, &child, NULL);
        master_child_exit(vl_worker_run(m->listen_fd, m->conf));
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        vl_log(VL_LOG_ERROR, NULL, "cannot start a worker: %s",
               strerror(errno));
        m->slots[slot].next_start = master_now() + 1.0;
        return;
    }
    m->slots[slot].pid = pid;
    m->kids[m->nkids++] = (master_child_t) { pid, (int) slot, master_now(),
                                             mslot };
    vl_metrics_add(VL_MET_WORKER_START, 1);
    vl_log(VL_LOG_INFO, NULL, "worker %ld started", (long) pid);
}


static void
master_describe(int status, char *buf, size_t len)
{
    if (WIFEXITED(status)) {
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, len, "killed by signal %d (%s)%s", WTERMSIG(status),
                 strsignal(WTERMSIG(status)),
                 WCOREDUMP(status) ? ", core dumped" : "");
    } else {
        snprintf(buf, len, "status 0x%x", (unsigned) status);
    }
}


static void
master_reap(master_t *m)
{
    pid_t pid;
    int   status;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        double          now = master_now();
        master_child_t  kid;
        master_slot_t  *slot;
        char            how[96];
        size_t          i;

        if (pid == m->scan_pid) {
            m->scan_pid = 0;
            master_describe(status, how, sizeof(how));
            if (m->stopping) {
                vl_log(VL_LOG_INFO, NULL, "scan %ld stopped (%s)", (long) pid,
                       how);
            } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                vl_log(VL_LOG_ERROR, NULL, "scan %ld failed (%s); the next "
                       "one in %ld s", (long) pid, how,
                       (long) m->conf->scan_interval);
            }
            continue;
        }
        for (i = 0; i < m->nkids && m->kids[i].pid != pid; i++) {
        }
        if (i == m->nkids) {
            continue;
        }
        kid = m->kids[i];
        m->kids[i] = m->kids[--m->nkids];
        master_describe(status, how, sizeof(how));
        if (kid.mslot != 0) {
            vl_metrics_slot_reset(kid.mslot);
        }

        if (kid.slot < 0 || m->stopping) {
            vl_log(VL_LOG_INFO, NULL, "worker %ld stopped (%s)", (long) pid,
                   how);
            if (kid.slot >= 0) {
                m->slots[kid.slot].pid = 0;
            }
            continue;
        }
        slot = &m->slots[kid.slot];
        slot->pid = 0;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
            /* MAX_REQUESTS reached: a normal end, replaced at once */
            vl_log(VL_LOG_INFO, NULL, "worker %ld finished its requests, "
                   "replacing it", (long) pid);
            slot->backoff = 0;
            slot->next_start = now;
        } else if (now - kid.started < MASTER_QUICK_DEATH) {
            slot->backoff = slot->backoff > 0 ? slot->backoff * 2 : 1.0;
            if (slot->backoff > MASTER_BACKOFF_MAX) {
                slot->backoff = MASTER_BACKOFF_MAX;
            }
            slot->next_start = now + slot->backoff;
            vl_metrics_add(VL_MET_WORKER_DEATH, 1);
            vl_log(VL_LOG_ERROR, NULL, "worker %ld died (%s) %.3f s after "
                   "its start; next one in %.0f s", (long) pid, how,
                   now - kid.started, slot->backoff);
        } else {
            slot->backoff = 0;
            slot->next_start = now;
            vl_metrics_add(VL_MET_WORKER_DEATH, 1);
            vl_log(VL_LOG_ERROR, NULL, "worker %ld died (%s); respawning",
                   (long) pid, how);
        }
    }
}


static void
master_signal_all(master_t *m, int sig)
{
    for (size_t i = 0; i < m->nkids; i++) {
        kill(m->kids[i].pid, sig);
    }
    if (m->scan_pid > 0) {
        kill(m->scan_pid, sig);
    }
}


/* ------------------------------------------------------------ scans */

static void
master_scan_note(void *arg, int level, const char *msg)
{
    (void) arg;
    vl_log((vl_log_level_t) level, NULL, "scan: %s", msg);
}


/* The child: the same scan as `vellum scan`, its summary in the log. */
static void
master_scan_child(master_t *m)
{
    vl_scan_opts_t   opts = { master_scan_note, NULL, 0 }; /* never forced */
    vl_scan_result_t res;
    vl_err_t         err = { 0 };
    char             line[256];

    if (vl_scan_run(m->conf, &opts, &res, &err) != VL_OK) {
        vl_log(VL_LOG_ERROR, NULL, "scan: %s", err.msg);
        master_child_exit(1);
    }
    vl_scan_summary(&res, line, sizeof(line));
    vl_log(VL_LOG_ACCESS, NULL, "scan: %s", line);
    master_child_exit(0);
}


static void
master_scan(master_t *m, double now)
{
    sigset_t all, old;
    pid_t    pid;

    m->next_scan = now + (double) m->conf->scan_interval;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    pid = fork();
    if (pid == 0) {
        master_in_child(m);
        close(m->listen_fd);
        /* SIGTERM stops a scan where it is: its log is left valid (at
         * worst a torn last record, which the next scan removes) */
        sigprocmask(SIG_SETMASK, &old, NULL);
        master_scan_child(m);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (pid < 0) {
        vl_log(VL_LOG_ERROR, NULL, "cannot start a scan: %s",
               strerror(errno));
        return;
    }
    m->scan_pid = pid;
    vl_log(VL_LOG_INFO, NULL, "scan %ld started", (long) pid);
}


static int
master_make_slots(master_t *m, size_t n)
{
    master_slot_t *s = calloc(n, sizeof(*s));

    if (s == NULL) {
        return -1;
    }
    free(m->slots);
    m->slots = s;
    m->nslots = n;
    return 0;
}


static void
master_reload(master_t *m)
{
    vl_err_t    err = { 0 };
    vl_conf_t  *nc;
    size_t      old_kids, nwarnings = 0;
    char       *warnings = NULL;
    FILE       *warn;

    vl_log(VL_LOG_INFO, NULL, "SIGHUP: reloading the configuration");
    warn = open_memstream(&warnings, &nwarnings);
    nc = vl_conf_load(m->opts->config_file, warn != NULL ? warn : stderr,
                      &err);
    if (warn != NULL) {
        fclose(warn);
    }
    vl_log_startup(warnings);
    free(warnings);
    if (nc == NULL || vl_conf_check_server(nc, &err) != VL_OK) {
        vl_log(VL_LOG_ERROR, NULL, "reload failed, keeping the running "
               "configuration: %s", err.msg);
        vl_conf_free(nc);
        return;
    }
    if (m->opts->workers >= 0) {
        nc->workers = m->opts->workers;
    }
    if (m->opts->backlog >= 0) {
        nc->backlog = m->opts->backlog;
    }
    if (vl_log_open(nc->logfile, (int) nc->verbosity) != 0) {
        vl_log(VL_LOG_ERROR, NULL, "reload: cannot open LOGFILE (%s); "
               "logging to stderr", strerror(errno));
    }
    if (listen(m->listen_fd, (int) nc->backlog) != 0) {
        vl_log(VL_LOG_WARN, NULL, "reload: cannot change the backlog: %s",
               strerror(errno));
    }
    if (master_make_slots(m, master_nworkers(m->opts, nc)) != 0) {
        vl_log(VL_LOG_ERROR, NULL, "reload: out of memory");
        vl_conf_free(nc);
        return;
    }
    vl_conf_free(m->conf);
    m->conf = nc;

    /* retire the old generation once the new one is forked */
    old_kids = m->nkids;
    for (size_t i = 0; i < m->nkids; i++) {
        m->kids[i].slot = -1;
    }
    for (size_t s = 0; s < m->nslots; s++) {
        master_spawn(m, s);
    }
    for (size_t i = 0; i < m->nkids; i++) {
        if (m->kids[i].slot < 0) {
            kill(m->kids[i].pid, SIGTERM);
        }
    }
    vl_log(VL_LOG_INFO, NULL, "reloaded: %zu workers, %zu retiring",
           m->nslots, old_kids);
}


static int
master_timeout_ms(const master_t *m, double now)
{
    double wait = -1;

    if (m->stopping) {
        wait = m->killed ? 1.0 : m->deadline - now;
    } else {
        for (size_t s = 0; s < m->nslots; s++) {
            if (m->slots[s].pid == 0) {
                double w = m->slots[s].next_start - now;

                if (wait < 0 || w < wait) {
                    wait = w;
                }
            }
        }
        if (m->conf->scan_interval > 0 && m->scan_pid == 0) {
            double w = m->next_scan - now;

            if (wait < 0 || w < wait) {
                wait = w > 0 ? w : 0;
            }
        }
    }
    if (wait < 0 && !m->stopping) {
        return -1;
    }
    if (wait < 0) {
        wait = 0;
    }
    return (int) (wait * 1000.0) + 1;
}


int
vl_master_run(const vl_master_opts_t *opts, vl_conf_t *conf)
{
    master_t          m;
    vl_err_t          err = { 0 };
    struct sigaction  sa;
    int               pfd[2], is_unix;

    memset(&m, 0, sizeof(m));
    m.opts = opts;
    m.conf = conf;
    m.self = getpid();
    if (opts->workers >= 0) {
        conf->workers = opts->workers;
    }
    if (opts->backlog >= 0) {
        conf->backlog = opts->backlog;
    }

    is_unix = 0;
    m.listen_fd = opts->listen_fd >= 0
                      ? opts->listen_fd
                      : vl_master_listen(opts->bind, (int) conf->backlog,
                                         &is_unix, &err);
    if (m.listen_fd < 0) {
        fprintf(stderr, "vellum: %s\n", err.msg);
        vl_log(VL_LOG_ERROR, NULL, "%s", err.msg);
        vl_conf_free(conf);
        return 2;
    }
    /* the counters of /metrics, shared with every worker forked */
    if (vl_metrics_share() != 0) {
        vl_log(VL_LOG_WARN, NULL, "metrics: no shared memory (%s): each "
               "worker counts its own", strerror(errno));
    }
    /* the RATE_LIMIT table too (mapped whether or not a limit is set:
     * a SIGHUP may set one) */
    if (vl_rate_share() != 0) {
        vl_log(VL_LOG_WARN, NULL, "rate limit: no shared memory (%s): "
               "each worker counts its own", strerror(errno));
    }
    if (pipe2(pfd, O_CLOEXEC | O_NONBLOCK) != 0
        || master_make_slots(&m, master_nworkers(opts, conf)) != 0)
    {
        fprintf(stderr, "vellum: cannot start: %s\n", strerror(errno));
        vl_conf_free(conf);
        return 1;
    }
    m.pipe_rd = pfd[0];
    m.pipe_wr = pfd[1];
    master_pipe_wr = pfd[1];

    memset(&sa, 0, sizeof(sa));
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = master_on_signal;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);

    vl_log(VL_LOG_INFO, NULL, "vellum %s listening on %s, %zu workers",
           PACKAGE_VERSION,
           opts->listen_fd >= 0 ? "the socket systemd passed"
           : is_unix            ? "a unix socket"
                                : opts->bind,
           m.nslots);

    for (;;) {
        struct pollfd p = { m.pipe_rd, POLLIN, 0 };
        double        now = master_now();
        char          buf[64];

        if (!m.stopping) {
            for (size_t s = 0; s < m.nslots; s++) {
                if (m.slots[s].pid == 0 && m.slots[s].next_start <= now) {
                    master_spawn(&m, s);
                }
            }
            if (m.conf->scan_interval > 0 && m.scan_pid == 0
                && m.next_scan <= now) {
                master_scan(&m, now);
            }
        } else if (m.nkids == 0 && m.scan_pid == 0) {
            break;
        } else if (!m.killed && now >= m.deadline) {
            vl_log(VL_LOG_ERROR, NULL, "%zu workers still busy after %.0f s: "
                   "killing them", m.nkids, MASTER_STOP_GRACE);
            master_signal_all(&m, SIGKILL);
            m.killed = 1;
        }

        if (poll(&p, 1, master_timeout_ms(&m, master_now())) > 0) {
            while (read(m.pipe_rd, buf, sizeof(buf)) > 0) {
            }
        }
        master_reap(&m);
        if (master_got_term && !m.stopping) {
            vl_log(VL_LOG_INFO, NULL, "stopping: waiting for %zu workers",
                   m.nkids);
            m.stopping = 1;
            m.deadline = master_now() + MASTER_STOP_GRACE;
            master_signal_all(&m, SIGTERM);
        }
        if (master_got_hup) {
            master_got_hup = 0;
            if (!m.stopping) {
                master_reload(&m);
            }
        }
        if (master_got_usr2) {
            /* logrotate moved LOGFILE: every process opens it again */
            master_got_usr2 = 0;
            vl_log_reopen();
            master_signal_all(&m, SIGUSR2);
            vl_log(VL_LOG_INFO, NULL, "SIGUSR2: LOGFILE opened again");
        }
    }

    close(m.listen_fd);
    if (is_unix) {
        unlink(master_unix_path(opts->bind));
    }
    master_pipe_wr = -1;
    close(m.pipe_rd);
    close(m.pipe_wr);
    vl_log(VL_LOG_INFO, NULL, "stopped");
    free(m.slots);
    free(m.kids);
    vl_conf_free(m.conf);
    return 0;
}
