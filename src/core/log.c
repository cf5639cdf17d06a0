/* SPDX-License-Identifier: MIT */
/*
 * log: format into a stack buffer, then one write(2) (O_APPEND) or syslog(3).
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

static int log_fd = 2;           /* -1 = syslog */
static int log_verbosity = 1;
static char log_path[4096];      /* the file's name, "" for stderr/syslog */
static volatile sig_atomic_t log_reopen_asked;
static pthread_mutex_t log_reopen_lock = PTHREAD_MUTEX_INITIALIZER;

void
vl_log_reopen(void)
{
    log_reopen_asked = 1;
}

static void
log_reopen_now(void)
{
    pthread_mutex_lock(&log_reopen_lock);
    if (log_reopen_asked) {
        log_reopen_asked = 0;
        if (log_path[0] != '\0' && log_fd > 2) {
            int fd = open(log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
                          0644);

            if (fd >= 0) {
                dup2(fd, log_fd);       /* keeps O_CLOEXEC off: fine, */
                fcntl(log_fd, F_SETFD, FD_CLOEXEC);  /* set it again */
                close(fd);
            } else {
                /* said where the lines still go (the moved file), and on
                 * stderr (the journal, the web server's log): a file
                 * created meanwhile by another user (logrotate's
                 * "create") is not writable to vellum */
                char msg[4200];
                int  e = errno, r;

                r = snprintf(msg, sizeof(msg), "vellum[%ld] error: cannot "
                             "open LOGFILE %s again (%s): still writing to "
                             "the file it was\n", (long) getpid(), log_path,
                             strerror(e));
                if (r > 0) {
                    size_t len = (size_t) r < sizeof(msg) ? (size_t) r
                                                           : sizeof(msg) - 1;

                    (void) !write(log_fd, msg, len);
                    (void) !write(2, msg, len);
                }
            }
        }
    }
    pthread_mutex_unlock(&log_reopen_lock);
}

int
vl_log_open(const char *dest, int verbosity)
{
    log_verbosity = verbosity > VL_LOG_TRACE ? VL_LOG_TRACE : verbosity;
    if (dest == NULL || *dest == '\0' || strcmp(dest, "stderr") == 0) {
        vl_log_close();
        log_fd = 2;
        return 0;
    }
    if (strcmp(dest, "syslog") == 0) {
        vl_log_close();
        openlog("vellum", LOG_PID | LOG_NDELAY, LOG_DAEMON);
        log_fd = -1;
        return 0;
    }
    int fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        return -1;
    }
    vl_log_close();
    log_fd = fd;
    snprintf(log_path, sizeof(log_path), "%s", dest);
    return 0;
}

void
vl_log_close(void)
{
    log_path[0] = '\0';
    if (log_fd > 2) {
        close(log_fd);
    } else if (log_fd == -1) {
        closelog();
    }
    log_fd = 2;
}

int
vl_log_enabled(vl_log_level_t level)
{
    return (int) level <= log_verbosity;
}

static const char *const log_names[] = {
    "error", "access", "warn", "info", "debug", "trace"
};

static void
log_write(vl_log_level_t level, const char *reqid, const char *fmt,
          va_list ap)
{
    char       buf[2048];
    size_t     n = 0;
    int        r;

    if (log_reopen_asked) {
        log_reopen_now();
    }

    if (log_fd >= 0) {
        struct timespec ts;
        struct tm       tm;

        clock_gettime(CLOCK_REALTIME, &ts);
        gmtime_r(&ts.tv_sec, &tm);
        n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
        r = snprintf(buf + n, sizeof(buf) - n, ".%03ldZ vellum[%ld] %s ",
                     ts.tv_nsec / 1000000, (long) getpid(), log_names[level]);
        n += r > 0 ? (size_t) r : 0;
    } else {
        r = snprintf(buf, sizeof(buf), "%s ", log_names[level]);
        n = r > 0 ? (size_t) r : 0;
    }
    if (reqid != NULL && n < sizeof(buf)) {
        r = snprintf(buf + n, sizeof(buf) - n, "[%s] ", reqid);
        n += r > 0 ? (size_t) r : 0;
    }
    if (n < sizeof(buf)) {
        r = vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
        n += r > 0 ? (size_t) r : 0;
    }
    if (n > sizeof(buf) - 2) {
        n = sizeof(buf) - 2;
    }
    /* one line: newlines inside a message would break log parsers */
    for (size_t i = 0; i < n; i++) {
        if (buf[i] == '\n' || buf[i] == '\r') {
            buf[i] = ' ';
        }
    }
    if (log_fd < 0) {
        buf[n] = '\0';
        syslog(level == VL_LOG_ERROR ? LOG_ERR
               : level == VL_LOG_WARN ? LOG_WARNING
               : level >= VL_LOG_DEBUG ? LOG_DEBUG : LOG_INFO, "%s", buf);
        return;
    }
    buf[n++] = '\n';
    while (write(log_fd, buf, n) < 0 && errno == EINTR) {
    }
}

void
vl_log(vl_log_level_t level, const char *reqid, const char *fmt, ...)
{
    va_list ap;

    if (!vl_log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    log_write(level, reqid, fmt, ap);
    va_end(ap);
}

static void
log_forced(vl_log_level_t level, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    log_write(level, NULL, fmt, ap);
    va_end(ap);
}

void
vl_log_startup(const char *text)
{
    static const char prefix[] = "vellum: warning: ";

    if (text == NULL || *text == '\0') {
        return;
    }
    if (log_fd != 2) {
        (void) !write(2, text, strlen(text));
    }
    while (*text != '\0') {
        size_t n = strcspn(text, "\n");

        if (n >= sizeof(prefix) - 1
            && strncmp(text, prefix, sizeof(prefix) - 1) == 0) {
            log_forced(VL_LOG_WARN, "%.*s", (int) (n - (sizeof(prefix) - 1)),
                       text + sizeof(prefix) - 1);
        } else if (n > 0) {
            log_forced(VL_LOG_WARN, "%.*s", (int) n, text);
        }
        text += n;
        text += *text == '\n';
    }
}
