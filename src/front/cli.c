/* SPDX-License-Identifier: MIT */
/*
 * cli: `vellum info FILE` and `vellum render FILE REQUEST [-o OUT]`, the
 * request path (parser, planner, kernels, encoders) without FastCGI,
 * `vellum purge ID`, which bumps an identifier's memcached generation, and
 * `vellum scan [--force]`, which appends the tree's changes to the Change
 * Discovery log, and `vellum convert IN OUT`, which writes a tiled pyramid
 * TIFF or JPEG 2000 (convert/). One request per process: the pool and the
 * source die before returning. Errors go to stderr as "vellum: <message>"
 * with exit status 1 (2 for a usage error).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "cache/cache.h"
#include "convert/convert.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/pool.h"
#include "core/str.h"
#include "encode/encode.h"
#include "front/cli.h"
#include "present/scan.h"
#include "serve/render.h"
#include "proto/iiif.h"
#include "proto/plan.h"
#include "source/source.h"

/* argv may start with the program name, the subcommand or both. */
static int
cli_first_arg(int argc, char **argv, const char *cmd)
{
    int i = argc > 0 ? 1 : 0;

    if (argc > 0 && strcmp(argv[0], cmd) != 0 && i < argc
        && strcmp(argv[i], cmd) == 0)
    {
        i++;
    }
    return i;
}

int
vl_cli_info(int argc, char **argv)
{
    vl_err_t     err = { 0 };
    vl_source_t *src;
    int          i = cli_first_arg(argc, argv, "info");

    if (argc - i != 1) {
        fprintf(stderr, "usage: vellum info FILE\n");
        return 2;
    }
    src = vl_source_open_path(argv[i], &err);
    if (src == NULL) {
        fprintf(stderr, "vellum: %s\n", err.msg);
        return 1;
    }
    vl_source_describe(src, stdout);
    vl_source_put(NULL, src);
    return fflush(stdout) == 0 ? 0 : 1;
}

static void
cli_put_source(void *data)
{
    vl_source_put(NULL, data);
}

static int
cli_write(const char *out, const vl_sink_t *sink, vl_err_t *err)
{
    FILE *f = out == NULL || strcmp(out, "-") == 0 ? stdout
                                                   : fopen(out, "wb");
    int   bad;

    if (f == NULL) {
        return vl_err_set(err, VL_EIO, "cannot create the output file");
    }
    bad = fwrite(sink->data, 1, sink->len, f) != sink->len;
    bad |= (f == stdout ? fflush(f) : fclose(f)) != 0;
    if (bad) {
        return vl_err_set(err, VL_EIO, "cannot write the output");
    }
    return VL_OK;
}

static int
cli_render(vl_pool_t *pool, const vl_conf_t *conf, const char *file,
           const char *request, int version, const char *out, int cost_only,
           vl_err_t *err)
{
    vl_iiif_req_t    ir;
    vl_plan_t        plan;
    vl_sink_t       *sink = vl_pool_alloc(pool, sizeof(*sink));
    vl_source_t     *src;
    char            *path = vl_pool_printf(pool, "x/%s", request);
    int              rc;

    /* one request in one process: JPEG 2000 decodes may use every CPU */
    vl_source_set_decode_threads((int) sysconf(_SC_NPROCESSORS_ONLN));
    if (path == NULL || sink == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = vl_iiif_parse(pool, vl_str_from(path), version, &ir, err))
        != VL_OK)
    {
        return rc;
    }
    if (ir.kind != VL_IIIF_IMAGE) {
        return vl_err_set(err, VL_EBADREQ,
                          "expected region/size/rotation/quality.format");
    }
    if ((src = vl_source_open_path(file, err)) == NULL) {
        return err->code;
    }
    if (conf->output.icc_to_srgb) {
        vl_source_set_srgb(src);
    }
    if (vl_pool_cleanup_add(pool, cli_put_source, src) != 0) {
        vl_source_put(NULL, src);
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    if ((rc = vl_plan_build(pool, &ir, &vl_source_info(src)->geom,
                            &conf->limits, &plan, err)) != VL_OK)
    {
        return rc;
    }
    if (cost_only) {
        /* what the server's request budget would count (serve/image.c) */
        vl_cost_t cost;

        if ((rc = vl_render_cost(src, &plan, &conf->output, &cost, err))
            != VL_OK) {
            return rc;
        }
        printf("level %u: %llu pixels, %llu bytes\n", plan.level,
               (unsigned long long) cost.pixels,
               (unsigned long long) cost.bytes);
        return VL_OK;
    }
    if ((rc = vl_sink_init(sink, pool, conf->max_response_bytes, err))
            != VL_OK
        || (rc = vl_render(pool, src, &plan, &conf->output, sink, err))
               != VL_OK)
    {
        return rc;
    }
    return cli_write(out, sink, err);
}

int
vl_cli_render(int argc, char **argv)
{
    const char *file = NULL, *request = NULL, *out = NULL;
    vl_err_t    err = { 0 };
    vl_conf_t  *conf;
    vl_pool_t  *pool;
    long        version = 0;
    int         rc, cost_only = 0;

    for (int i = cli_first_arg(argc, argv, "render"); i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--cost") == 0) {
            cost_only = 1;
        } else if (strcmp(argv[i], "--version") == 0 && i + 1 < argc) {
            if (vl_parse_long(argv[++i], 2, 3, &version) != 0) {
                fprintf(stderr, "vellum: --version must be 2 or 3\n");
                return 2;
            }
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            file = request = NULL;
            break;
        } else if (file == NULL) {
            file = argv[i];
        } else if (request == NULL) {
            request = argv[i];
        } else {
            file = request = NULL;
            break;
        }
    }
    if (file == NULL || request == NULL) {
        fprintf(stderr, "usage: vellum render FILE "
                "'region/size/rotation/quality.format' [-o OUT] "
                "[--version 2|3] [--cost]\n");
        return 2;
    }
    if ((conf = vl_conf_load(NULL, stderr, &err)) == NULL) {
        fprintf(stderr, "vellum: %s\n", err.msg);
        return 1;
    }
    if ((pool = vl_pool_create(16384)) == NULL) {
        vl_conf_free(conf);
        fprintf(stderr, "vellum: out of memory\n");
        return 1;
    }
    rc = cli_render(pool, conf, file, request,
                    version != 0 ? (int) version : (int) conf->iiif_version,
                    out, cost_only, &err);
    vl_pool_destroy(pool);
    vl_conf_free(conf);
    if (rc != VL_OK) {
        fprintf(stderr, "vellum: %s\n", err.msg);
        return 1;
    }
    return 0;
}

int
vl_cli_purge(int argc, char **argv)
{
    const char *id = NULL, *config = NULL;
    vl_err_t    err = { 0 };
    vl_conf_t  *conf;
    vl_pool_t  *pool;
    vl_cache_t *cache;
    char       *decoded;
    size_t      dlen;
    uint64_t    gen = 0;
    int         rc;

    for (int i = cli_first_arg(argc, argv, "purge"); i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config = argv[i] + 9;
        } else if (id == NULL && argv[i][0] != '\0'
                   && !(argv[i][0] == '-' && argv[i][1] != '\0')) {
            id = argv[i];
        } else {
            id = NULL;
            break;
        }
    }
    if (id == NULL) {
        fprintf(stderr, "usage: vellum purge ID [--config FILE]\n"
                "  ID as it appears in the URL (percent-decoded once, as "
                "the server does)\n");
        return 2;
    }
    if ((conf = vl_conf_load(config, stderr, &err)) == NULL) {
        fprintf(stderr, "vellum: %s\n", err.msg);
        return 1;
    }
    if ((pool = vl_pool_create(4096)) == NULL) {
        vl_conf_free(conf);
        fprintf(stderr, "vellum: out of memory\n");
        return 1;
    }
    rc = VL_OK;
    if (vl_percent_decode(pool, vl_str_from(id), &decoded, &dlen) != 0
        || strlen(decoded) != dlen) {
        rc = vl_err_set(&err, VL_EBADREQ, "malformed identifier");
    } else if ((cache = vl_cache_new(conf, &err)) == NULL) {
        rc = err.code;
    } else {
        rc = vl_cache_purge(cache, decoded, &gen, &err);
        vl_cache_free(cache);
    }
    if (rc == VL_OK) {
        printf("purged %s: generation %llu; every cached response of it "
               "misses from now on\n", decoded, (unsigned long long) gen);
    }
    vl_pool_destroy(pool);
    vl_conf_free(conf);
    if (rc != VL_OK) {
        fprintf(stderr, "vellum: purge: %s\n", err.msg);
        return 1;
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

static void
cli_scan_note(void *arg, int level, const char *msg)
{
    (void) arg;
    (void) level;
    fprintf(stderr, "vellum: scan: %s\n", msg);
}

int
vl_cli_scan(int argc, char **argv)
{
    const char      *config = NULL;
    vl_err_t         err = { 0 };
    vl_conf_t       *conf;
    vl_scan_opts_t   opts = { cli_scan_note, NULL, 0 };
    vl_scan_result_t res;
    char             line[256];
    int              rc;

    for (int i = cli_first_arg(argc, argv, "scan"); i < argc; i++) {
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config = argv[++i];
        } else if (strncmp(argv[i], "--config=", 9) == 0) {
            config = argv[i] + 9;
        } else if (strcmp(argv[i], "--force") == 0) {
            opts.force = 1;
        } else {
            fprintf(stderr, "usage: vellum scan [--config FILE] [--force]\n"
                    "  --force  record the Deletes even when they are every "
                    "manifest of the log\n");
            return 2;
        }
    }
    if ((conf = vl_conf_load(config, stderr, &err)) == NULL) {
        fprintf(stderr, "vellum: %s\n", err.msg);
        return 1;
    }
    rc = vl_scan_run(conf, &opts, &res, &err);
    vl_conf_free(conf);
    if (rc != VL_OK) {
        fprintf(stderr, "vellum: scan: %s\n", err.msg);
        return 1;
    }
    vl_scan_summary(&res, line, sizeof(line));
    printf("%s\n", line);
    return fflush(stdout) == 0 ? 0 : 1;
}

static void
cli_progress(void *arg, uint64_t done, uint64_t total)
{
    int *last = arg;
    int  pct = total > 0 ? (int) (done * 100 / total) : 100;
    int  bar = pct * 40 / 100;

    if (pct == *last) {
        return;
    }
    *last = pct;
    fprintf(stderr, "\rconverting [%.*s%*s] %3d%%", bar,
            "########################################", 40 - bar, "", pct);
    if (done >= total) {
        fputc('\n', stderr);
    }
    fflush(stderr);
}

/* Does name end in ".jp2" (any case)? */
static int
cli_is_jp2(const char *name)
{
    size_t n = strlen(name);

    return n >= 4 && strcasecmp(name + n - 4, ".jp2") == 0;
}

static int
cli_convert_usage(FILE *f)
{
    fprintf(f,
        "usage: vellum convert IN OUT.tif [--tile N] "
        "[--compression jpeg|deflate|webp|zstd|lzw|none]\n"
        "                      [--quality Q] [--subsample on|off] [--lossless]"
        "\n                      [--jp2 OUT.jp2] [--jp2-tile N]\n"
        "       vellum convert IN OUT.jp2 [--quality Q] [--lossless] "
        "[--jp2-tile N]\n"
        "  IN             any image vellum serves (pyramid or strip TIFF, "
        "JPEG 2000, ...)\n"
        "  OUT.tif        a tiled pyramid TIFF: levels as successive IFDs,\n"
        "                 level k ceil(w/2^k) x ceil(h/2^k), down to one "
        "tile\n"
        "  OUT.jp2        (an OUT ending .jp2, or --jp2 FILE as well as "
        "OUT.tif,\n"
        "                 both from one read of IN) a tiled JPEG 2000 with "
        "precincts,\n"
        "                 PLT and TLM markers\n"
        "  --tile N       TIFF tile side, a multiple of 16 (default 256)\n"
        "  --compression  of the TIFF (default jpeg, YCbCr 4:2:0)\n"
        "  --quality Q    1-100 (default 90): JPEG and WebP quality; the "
        "JP2 rate\n"
        "                 (compression ratio 10 * 2^((90 - Q) / 20))\n"
        "  --subsample on|off\n"
        "                 TIFF JPEG of RGB as YCbCr 4:2:0 (on, the default) or "
        "as RGB\n"
        "                 components, 4:4:4 (off: larger, as vips 8.14 "
        "writes)\n"
        "  --lossless     JP2 reversible 5/3; WebP lossless\n"
        "  --jp2-tile N   JPEG 2000 codestream tile side (default 1024)\n");
    return 2;
}

int
vl_cli_convert(int argc, char **argv)
{
    vl_convert_opts_t o;
    const char       *in = NULL, *out = NULL, *jp2 = NULL;
    vl_err_t          err = { 0 };
    long              v;
    int               last = -1, rc;

    memset(&o, 0, sizeof(o));
    o.tile = 256;
    o.compression = VL_CONVERT_JPEG;
    o.quality = 90;
    o.jp2_tile = 1024;
    for (int i = cli_first_arg(argc, argv, "convert"); i < argc; i++) {
        const char *a = argv[i];
        int         more = i + 1 < argc;

        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            cli_convert_usage(stdout);
            return 0;
        } else if (strcmp(a, "--tile") == 0 && more) {
            if (vl_parse_long(argv[++i], 16, 4096, &v) != 0 || v % 16 != 0) {
                fprintf(stderr, "vellum: --tile must be a multiple of 16 "
                        "from 16 to 4096\n");
                return 2;
            }
            o.tile = (uint32_t) v;
        } else if (strcmp(a, "--jp2-tile") == 0 && more) {
            if (vl_parse_long(argv[++i], 256, 8192, &v) != 0) {
                fprintf(stderr, "vellum: --jp2-tile must be 256 to 8192\n");
                return 2;
            }
            o.jp2_tile = (uint32_t) v;
        } else if (strcmp(a, "--quality") == 0 && more) {
            if (vl_parse_long(argv[++i], 1, 100, &v) != 0) {
                fprintf(stderr, "vellum: --quality must be 1 to 100\n");
                return 2;
            }
            o.quality = (int) v;
        } else if (strcmp(a, "--compression") == 0 && more) {
            if (vl_convert_comp_parse(argv[++i], &o.compression) != 0) {
                fprintf(stderr, "vellum: --compression must be jpeg, "
                        "deflate, webp, zstd, lzw or none\n");
                return 2;
            }
        } else if (strcmp(a, "--subsample") == 0 && more) {
            const char *m = argv[++i];

            if (strcmp(m, "on") != 0 && strcmp(m, "off") != 0) {
                fprintf(stderr, "vellum: --subsample must be on or off\n");
                return 2;
            }
            o.rgb_jpeg = strcmp(m, "off") == 0;
        } else if (strcmp(a, "--lossless") == 0) {
            o.lossless = 1;
        } else if (strcmp(a, "--jp2") == 0 && more) {
            jp2 = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            return cli_convert_usage(stderr);
        } else if (in == NULL) {
            in = a;
        } else if (out == NULL) {
            out = a;
        } else {
            return cli_convert_usage(stderr);
        }
    }
    if (in == NULL || (out == NULL && jp2 == NULL)) {
        return cli_convert_usage(stderr);
    }
    if (out != NULL && cli_is_jp2(out)) {
        if (jp2 != NULL) {
            fprintf(stderr, "vellum: two JPEG 2000 outputs: OUT ends .jp2 "
                    "and --jp2 is given\n");
            return 2;
        }
        jp2 = out;
        out = NULL;
    }
    o.in = in;
    o.out_tif = out;
    o.out_jp2 = jp2;
    if (isatty(STDERR_FILENO)) {
        o.progress = cli_progress;
        o.progress_arg = &last;
    }
    rc = vl_convert_run(&o, &err);
    if (rc != VL_OK) {
        if (last >= 0 && last < 100) {
            fputc('\n', stderr);
        }
        fprintf(stderr, "vellum: convert: %s\n", err.msg);
        return err.code == VL_EBADREQ ? 2 : 1;
    }
    return 0;
}
