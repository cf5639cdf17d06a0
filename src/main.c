/* SPDX-License-Identifier: MIT */
/*
 * main: argv, configuration and dispatch, nothing else. `--bind` runs the
 * master (front/master.c); a listening socket on fd 0 (mod_fcgid,
 * spawn-fcgi, lighttpd bin-path) makes this process one worker
 * (front/worker.c); `info`, `render`, `purge`, `scan` and `convert` are the
 * command-line tools.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/log.h"
#include "core/str.h"
#include "front/cli.h"
#include "front/master.h"
#include "front/worker.h"
#include "source/source.h"

int main(int argc, char **argv);


static void
main_usage(FILE *out)
{
    fprintf(out,
        "usage: vellum --bind HOST:PORT|/path/to.sock [--workers N] "
        "[--backlog N] [--config FILE]\n"
        "       vellum [--config FILE]    (spawned with a listening socket "
        "on fd 0)\n"
        "       vellum info FILE\n"
        "       vellum render FILE 'region/size/rotation/quality.format' "
        "-o OUT\n"
        "       vellum purge ID [--config FILE]\n"
        "       vellum scan [--config FILE] [--force]\n"
        "       vellum convert IN OUT.tif|OUT.jp2 [--tile N] "
        "[--compression C] [--quality Q]\n"
        "                      [--lossless] [--jp2 OUT.jp2] (convert --help)\n"
        "       vellum --version | --help\n");
}


static void
main_help(void)
{
    printf("vellum %s: a FastCGI IIIF image server\n\n", PACKAGE_VERSION);
    main_usage(stdout);
    printf("\n"
        "Server options:\n"
        "  --bind ADDR     listen on HOST:PORT ([::1]:PORT for IPv6, *:PORT "
        "for all)\n"
        "                  or on a unix socket path; runs a master and a pool "
        "of workers.\n"
        "                  SIGTERM/SIGINT stop gracefully, SIGHUP reloads "
        "the configuration.\n"
        "  --workers N     worker processes (0: one per CPU); overrides "
        "WORKERS\n"
        "  --backlog N     listen() backlog; overrides BACKLOG\n"
        "  --config FILE   NAME=value lines; the environment wins\n"
        "Without --bind, fd 0 must be a listening FastCGI socket (mod_fcgid, "
        "spawn-fcgi,\nlighttpd bin-path): the process serves it as one "
        "worker.\n\n"
        "Commands:\n"
        "  info FILE       print the pyramid structure of an image\n"
        "  render FILE REQUEST -o OUT\n"
        "                  run one IIIF image request without a server\n"
        "  purge ID [--config FILE]\n"
        "                  make every memcached response of identifier ID "
        "miss\n"
        "  scan [--config FILE] [--force]\n"
        "                  compare the image tree with the Change Discovery "
        "log in\n"
        "                  STATE_DIR and append its Create, Update and Delete "
        "activities\n"
        "                  (from cron or a timer; or SCAN_INTERVAL); a scan "
        "that would\n"
        "                  delete every manifest is refused without "
        "--force\n"
        "  convert IN OUT.tif|OUT.jp2 [options]\n"
        "                  write a tiled pyramid TIFF (levels as IFDs, made "
        "by vellum's\n"
        "                  2:1 area average; --compression "
        "jpeg|deflate|webp|zstd|lzw|none)\n"
        "                  or a tiled JPEG 2000 with precincts, PLT and TLM "
        "(--jp2 FILE\n"
        "                  for both), streaming in bounded memory; "
        "`vellum convert --help`\n"
        "  --version       print the version\n"
        "  --help          this text\n\n");
    vl_conf_print_help(stdout);
}


static int
main_fd0_listening(void)
{
    int       v = 0;
    socklen_t len = sizeof(v);

    return getsockopt(0, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v != 0;
}


/* systemd's socket activation (sd_listen_fds(3), without libsystemd):
 * LISTEN_PID is this process and LISTEN_FDS is 1: fd 3, a listening
 * socket, for the master to fork its workers on. -1 otherwise. The
 * variables are removed, so that nothing started later takes them as its
 * own. */
static int
main_systemd_socket(void)
{
    const char *pid = getenv("LISTEN_PID"), *fds = getenv("LISTEN_FDS");
    int         v = 0;
    socklen_t   len = sizeof(v);

    if (pid == NULL || fds == NULL || atol(pid) != (long) getpid()
        || strcmp(fds, "1") != 0) {
        return -1;
    }
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    if (getsockopt(3, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) != 0 || v == 0) {
        return -1;
    }
    fcntl(3, F_SETFD, FD_CLOEXEC);
    return 3;
}


/* "--name VALUE" or "--name=VALUE"; advances *i past what it used. */
static int
main_opt(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);

    if (strncmp(argv[*i], name, n) != 0) {
        return 0;
    }
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0') {
        return 0;
    }
    if (*i + 1 >= argc) {
        *val = NULL;
        return 1;
    }
    *val = argv[++*i];
    return 1;
}


static int
main_fail(const char *msg)
{
    fprintf(stderr, "vellum: %s\n", msg);
    return 2;
}


int
main(int argc, char **argv)
{
    const char       *bind_to = NULL, *config = NULL, *v;
    const char       *workers_s = NULL, *backlog_s = NULL;
    long              workers = -1, backlog = -1;
    vl_err_t          err = { 0 };
    char             *warnings = NULL;
    size_t            nwarnings = 0;
    FILE             *warn;
    int               listen_fd;
    vl_conf_t        *conf;

    if (argc > 1 && strcmp(argv[1], "info") == 0) {
        return vl_cli_info(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "render") == 0) {
        return vl_cli_render(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "purge") == 0) {
        return vl_cli_purge(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "scan") == 0) {
        return vl_cli_scan(argc - 1, argv + 1);
    }
    if (argc > 1 && strcmp(argv[1], "convert") == 0) {
        return vl_cli_convert(argc - 1, argv + 1);
    }

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("vellum %s\nJPEG 2000 decoder: %s\n", PACKAGE_VERSION,
                   vl_source_jp2_decoder());
            return 0;
        }
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            main_help();
            return 0;
        }
        if (main_opt(argc, argv, &i, "--bind", &v)) {
            bind_to = v;
        } else if (main_opt(argc, argv, &i, "--config", &v)) {
            config = v;
        } else if (main_opt(argc, argv, &i, "--workers", &v)) {
            workers_s = v;
        } else if (main_opt(argc, argv, &i, "--backlog", &v)) {
            backlog_s = v;
        } else {
            fprintf(stderr, "vellum: unknown argument '%s'\n", argv[i]);
            main_usage(stderr);
            return 2;
        }
        if (v == NULL || *v == '\0') {
            fprintf(stderr, "vellum: %s needs a value\n", argv[i]);
            main_usage(stderr);
            return 2;
        }
    }
    if (workers_s != NULL && vl_parse_long(workers_s, 0, 1024, &workers) != 0) {
        return main_fail("--workers: expected a number from 0 to 1024");
    }
    if (backlog_s != NULL
        && vl_parse_long(backlog_s, 1, 65535, &backlog) != 0)
    {
        return main_fail("--backlog: expected a number from 1 to 65535");
    }
    listen_fd = bind_to == NULL ? main_systemd_socket() : -1;
    if (bind_to == NULL && listen_fd < 0 && !main_fd0_listening()) {
        fprintf(stderr, "vellum: give --bind ADDR, or start vellum with a "
                "listening socket on fd 0 (or from a systemd socket)\n");
        main_usage(stderr);
        return 2;
    }

    /* the configuration's warnings are kept until the log is open, so
     * that they reach LOGFILE too */
    warn = open_memstream(&warnings, &nwarnings);
    conf = vl_conf_load(config, warn != NULL ? warn : stderr, &err);
    if (warn != NULL) {
        fclose(warn);
    }
    if (conf == NULL || vl_conf_check_server(conf, &err) != VL_OK) {
        vl_conf_free(conf);
        if (warnings != NULL) {
            fputs(warnings, stderr);
        }
        free(warnings);
        return main_fail(err.msg);
    }
    if (vl_log_open(conf->logfile, (int) conf->verbosity) != 0) {
        /* serving and saying so beats refusing every request (a web
         * server that spawns vellum shows its stderr in its error log):
         * the path is the operator's own setting, named in the log only */
        vl_log(VL_LOG_ERROR, NULL, "cannot open LOGFILE %s for appending "
               "(%s): logging to stderr instead", conf->logfile,
               strerror(errno));
    }
    vl_log_startup(warnings);
    free(warnings);

    if (bind_to != NULL || listen_fd >= 0) {
        vl_master_opts_t opts = { bind_to, config, workers, backlog,
                                  listen_fd };

        return vl_master_run(&opts, conf);
    }

    /* spawned: this process is one worker on fd 0 */
    {
        int rc = vl_worker_run(0, conf);

        vl_conf_free(conf);
        vl_log_close();
        return rc;
    }
}
