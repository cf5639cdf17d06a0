/* SPDX-License-Identifier: MIT */
/*
 * log: one line per event to a file, syslog or stderr. Each line goes out in
 * one write(2), so lines from threads and worker processes never interleave.
 * Thread-safe. Before vl_log_open, lines go to stderr at verbosity 1.
 */
#ifndef VL_LOG_H
#define VL_LOG_H

typedef enum {
    VL_LOG_ERROR = 0,   /* always */
    VL_LOG_ACCESS = 1,  /* one access line per request */
    VL_LOG_WARN = 2,
    VL_LOG_INFO = 3,
    VL_LOG_DEBUG = 4,
    VL_LOG_TRACE = 5
} vl_log_level_t;

/* dest: path, "syslog" or "stderr". Returns 0, or -1 (errno) if the file
 * cannot be opened (stderr is kept then). Re-opening replaces the target. */
int vl_log_open(const char *dest, int verbosity);
void vl_log_close(void);

/* Is a message of this level written at the current verbosity? */
int vl_log_enabled(vl_log_level_t level);

/* reqid may be NULL (process-level messages). */
void vl_log(vl_log_level_t level, const char *reqid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The warnings of loading a configuration (lines of text, each
 * "vellum: warning: ..."): written to the log at level warn whatever
 * VERBOSITY says (they are few and explain a setting being ignored), and
 * to stderr too when the log is elsewhere (a terminal, the journal). */
void vl_log_startup(const char *text);

#endif /* VL_LOG_H */
