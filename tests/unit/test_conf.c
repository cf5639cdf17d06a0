/* SPDX-License-Identifier: MIT */
/*
 * test_conf: the option table. Defaults of every option, values from an
 * explicit environment and from a NAME=value file (environment wins), range
 * and syntax errors that name the variable, the value and the range, the
 * server start-up checks, aliases, and warnings for unknown names.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/conf.h"
#include "conftest.h"

/* a scratch directory, made in the group setup */
static char scratch[] = "/tmp/vl-test-conf-XXXXXX";

static int
group_setup(void **state)
{
    (void) state;
    return mkdtemp(scratch) == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
    char path[PATH_MAX];

    (void) state;
    snprintf(path, sizeof(path), "%s/conf.env", scratch);
    unlink(path);
    snprintf(path, sizeof(path), "%s/plainfile", scratch);
    unlink(path);
    return rmdir(scratch);
}

/* write text to the scratch file and return its path (static buffer) */
static const char *
write_file(const char *text)
{
    static char path[PATH_MAX];
    FILE       *f;

    snprintf(path, sizeof(path), "%s/conf.env", scratch);
    f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    return path;
}

/* everything written to a tmpfile, as a string (caller frees) */
static char *
slurp(FILE *f)
{
    long  n;
    char *buf;

    assert_int_equal(fflush(f), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    buf = calloc(1, (size_t) n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t) n, f), (size_t) n);
    return buf;
}

/* load with a one-variable environment; returns conf or NULL with err set */
static vl_conf_t *
load1(const char *kv, vl_err_t *err)
{
    char *envp[2] = { (char *) kv, NULL };

    vl_err_clear(err);
    return vl_conf_load_env(NULL, envp, NULL, err);
}

/* The output options of the new encoders: defaults, iipsrv's TIFF
 * compression numbers and vellum's names, a bad name refused at load. */
static void
test_encoder_options(void **state)
{
    static const struct { const char *kv; int want; } comp[] = {
        { "TIFF_COMPRESSION=none", 0 }, { "TIFF_COMPRESSION=LZW", 1 },
        { "TIFF_COMPRESSION=deflate", 2 }, { "TIFF_COMPRESSION=3", 3 },
        { "TIFF_COMPRESSION=webp", 4 }, { "TIFF_COMPRESSION=5", 5 },
        { "TIFF_COMPRESSION=0", 0 },
    };
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c = vl_conf_load_env(NULL, NULL, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->output.webp_quality, 50);
    assert_int_equal(c->output.tiff_compression, 2);
    assert_int_equal(c->output.tiff_quality, 90);
    assert_int_equal(c->output.jp2_rate, 0);
    vl_conf_free(c);
    for (size_t i = 0; i < sizeof(comp) / sizeof(comp[0]); i++) {
        c = load1(comp[i].kv, &err);
        assert_non_null(c);
        assert_int_equal(c->output.tiff_compression, comp[i].want);
        vl_conf_free(c);
    }
    c = load1("WEBP_QUALITY=-1", &err);
    assert_non_null(c);
    assert_int_equal(c->output.webp_quality, -1);
    vl_conf_free(c);
    assert_null(load1("WEBP_QUALITY=-2", &err));
    assert_int_equal(err.code, VL_ECONF);
    assert_null(load1("TIFF_COMPRESSION=6", &err));
    assert_int_equal(err.code, VL_ECONF);
    assert_null(load1("TIFF_COMPRESSION=jbig", &err));
    assert_int_equal(err.code, VL_ECONF);
    assert_non_null(strstr(err.msg, "TIFF_COMPRESSION=jbig"));
    assert_null(load1("JP2_RATE=-1", &err));
    assert_int_equal(err.code, VL_ECONF);
}

static void
test_defaults(void **state)
{
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c = vl_conf_load_env(NULL, NULL, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(err.code, VL_OK);
    assert_string_equal(c->filesystem_prefix, "");
    assert_string_equal(c->filesystem_suffix, "");
    assert_string_equal(c->logfile, "stderr");
    assert_int_equal(c->verbosity, 1);
    assert_int_equal(c->jpeg_quality, 75);
    assert_int_equal(c->png_quality, 1);
    assert_int_equal(c->max_icc, 65536);
    assert_int_equal(c->interpolation, 2);
    assert_int_equal(c->output_bits, 16);
    assert_int_equal(c->output.output_bits, 16);
    assert_true(c->level_oversample == 1.0);
    assert_int_equal(c->max_response_size, 64);
    assert_int_equal(c->max_cvt, 5000);
    assert_int_equal(c->max_area, 25000000);
    assert_int_equal(c->allow_upscaling, 1);
    assert_int_equal(c->max_decode_pixels, 300000000);
    assert_int_equal(c->max_request_memory, 1024);
    assert_int_equal(c->request_timeout, 30);
    assert_int_equal(c->heavy_threads, 0);
    assert_int_equal(c->heavy_pixels, 16777216);
    assert_string_equal(c->cors, "*");
    assert_string_equal(c->base_url, "");
    assert_string_equal(c->cache_control, "max-age=86400");
    assert_string_equal(c->uri_map, "");
    assert_int_equal(c->iiif_version, 3);
    assert_string_equal(c->copyright, "");
    assert_string_equal(c->iiif_delimiter, ";");
    assert_string_equal(c->provider_label, "");
    assert_string_equal(c->provider_homepage, "");
    assert_string_equal(c->homepage, "");
    assert_string_equal(c->see_also, "");
    assert_string_equal(c->see_also_format, "");
    assert_string_equal(c->see_also_profile, "");
    assert_int_equal(c->thumbnail_size, 200);
    assert_int_equal(c->collection_size, 1000);
    assert_string_equal(c->state_dir, "");
    assert_int_equal(c->scan_interval, 0);
    assert_int_equal(c->discovery_page_size, 100);
    assert_true(c->max_image_cache_size == 10.0);
    assert_int_equal(c->max_metadata_cache_size, 64);
    assert_string_equal(c->memcached_servers, "");
    assert_int_equal(c->memcached_timeout, 86400);
    assert_int_equal(c->codec_passthrough, 1);
    assert_int_equal(c->exif_orientation, 1);
    assert_int_equal(c->max_layers, -1);
    assert_int_equal(c->workers, 0);
    assert_int_equal(c->threads, 4);
    assert_int_equal(c->max_requests, 0);
    assert_int_equal(c->backlog, 2048);
    assert_int_equal(c->fcgi_read_timeout, 5);
    assert_int_equal(c->fcgi_max_idle, 256);
    assert_string_equal(c->trusted_proxies, VL_TRUSTED_DEFAULT);
    assert_int_equal(c->rate_limit, 0);
    assert_int_equal(c->rate_limit_window, 60);
    assert_string_equal(c->metrics_allow, "127.0.0.1 ::1");
    assert_int_equal(c->limits.max_width, 5000);
    assert_int_equal(c->limits.max_area, 25000000);
    assert_int_equal(c->webp_quality, 50);
    assert_string_equal(c->tiff_compression, "deflate");
    assert_int_equal(c->tiff_quality, 90);
    assert_int_equal(c->jp2_rate, 0);
    vl_conf_free(c);
}

static void
test_table_well_formed(void **state)
{
    vl_err_t err = { VL_OK, "" };

    (void) state;
    /* a new option needs its default checked in test_defaults too */
    assert_int_equal(vl_conf_noptions, 61);
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        const vl_opt_t *o = &vl_conf_options[i];

        assert_non_null(o->name);
        assert_non_null(o->def);
        assert_non_null(o->help);
        assert_true(strlen(o->help) > 10);
        assert_null(strchr(o->help, '\n'));
        for (size_t j = 0; j < i; j++) {
            assert_string_not_equal(vl_conf_options[j].name, o->name);
        }
        if (o->type == VL_OPT_INT || o->type == VL_OPT_FLOAT) {
            assert_true(o->min <= o->max);
        }
        /* each default, given explicitly, is accepted */
        if (o->type != VL_OPT_DIR) {
            char       kv[256];
            vl_conf_t *c;

            snprintf(kv, sizeof(kv), "%s=%s", o->name, o->def);
            c = load1(kv, &err);
            assert_non_null(c);
            vl_conf_free(c);
        }
    }
}

static void
test_env_values(void **state)
{
    char *envp[] = {
        "FILESYSTEM_SUFFIX=.tif", "LOGFILE=syslog", "VERBOSITY=5",
        "JPEG_QUALITY=90", "PNG_QUALITY=9", "MAX_ICC=-1", "INTERPOLATION=0",
        "LEVEL_OVERSAMPLE=1.5", "MAX_RESPONSE_SIZE=2048", "MAX_CVT=-1",
        "MAX_AREA=1000000000000", "ALLOW_UPSCALING=0", "CORS=",
        "BASE_URL=https://example.org/iiif/", "CACHE_CONTROL=no-store",
        "URI_MAP=iiif=>IIIF", "IIIF_VERSION=2",
        "COPYRIGHT=http://rightsstatements.org/vocab/InC/1.0/",
        "MAX_IMAGE_CACHE_SIZE=0.5", "MAX_METADATA_CACHE_SIZE=-1",
        "MEMCACHED_SERVERS=127.0.0.1:11211,cache2",
        "MEMCACHED_TIMEOUT=2592000", "CODEC_PASSTHROUGH=off", "MAX_LAYERS=3",
        "WORKERS=1024", "THREADS=1", "MAX_REQUESTS=1000000000000000",
        "BACKLOG=1", "PATH=/usr/bin", "NOEQUALS", NULL
    };
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c = vl_conf_load_env(NULL, envp, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_string_equal(c->filesystem_suffix, ".tif");
    assert_string_equal(c->logfile, "syslog");
    assert_int_equal(c->verbosity, 5);
    assert_int_equal(c->jpeg_quality, 90);
    assert_int_equal(c->png_quality, 9);
    assert_int_equal(c->max_icc, -1);
    assert_int_equal(c->interpolation, 0);
    assert_true(c->level_oversample == 1.5);
    assert_int_equal(c->max_response_size, 2048);
    assert_int_equal(c->max_cvt, -1);
    assert_true(c->max_area == 1000000000000L);
    assert_int_equal(c->allow_upscaling, 0);
    assert_string_equal(c->cors, "");
    assert_string_equal(c->base_url, "https://example.org/iiif/");
    assert_string_equal(c->cache_control, "no-store");
    /* only the first '=' separates name and value */
    assert_string_equal(c->uri_map, "iiif=>IIIF");
    assert_int_equal(c->iiif_version, 2);
    assert_string_equal(c->copyright,
                        "http://rightsstatements.org/vocab/InC/1.0/");
    assert_true(c->max_image_cache_size == 0.5);
    assert_int_equal(c->max_metadata_cache_size, -1);
    assert_string_equal(c->memcached_servers, "127.0.0.1:11211,cache2");
    assert_int_equal(c->memcached_timeout, 2592000);
    assert_int_equal(c->codec_passthrough, 0);
    assert_int_equal(c->max_layers, 3);
    assert_int_equal(c->workers, 1024);
    assert_int_equal(c->threads, 1);
    assert_true(c->max_requests == 1000000000000000L);
    assert_int_equal(c->backlog, 1);
    /* -1 means unlimited: 0 for the IIIF limits */
    assert_int_equal(c->limits.max_width, 0);
    assert_true(c->limits.max_area == 1000000000000UL);
    vl_conf_free(c);
}

static void
test_last_env_value_wins(void **state)
{
    char      *envp[] = { "JPEG_QUALITY=10", "JPEG_QUALITY=20", NULL };
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c = vl_conf_load_env(NULL, envp, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->jpeg_quality, 20);
    vl_conf_free(c);
}

/* out of range or malformed: name, value and range in one message */
static const struct {
    const char *kv;
    const char *expect[3];
} bad_cases[] = {
    { "JPEG_QUALITY=0", { "JPEG_QUALITY=0", "out of range", "1 to 100" } },
    { "OUTPUT_BITS=12", { "OUTPUT_BITS=12", "out of range", "8 or 16" } },
    { "OUTPUT_BITS=4", { "OUTPUT_BITS=4", "out of range", "8 to 16" } },
    { "JPEG_QUALITY=101", { "JPEG_QUALITY=101", "out of range", "1 to 100" } },
    { "JPEG_QUALITY=500", { "JPEG_QUALITY=500", "out of range", "1 to 100" } },
    { "JPEG_QUALITY=-5", { "JPEG_QUALITY=-5", "out of range", "1 to 100" } },
    { "JPEG_QUALITY=abc", { "JPEG_QUALITY=abc", "not an integer", "1 to 100" } },
    { "JPEG_QUALITY=1x", { "JPEG_QUALITY=1x", "not an integer", "1 to 100" } },
    { "JPEG_QUALITY=", { "JPEG_QUALITY=", "not an integer", "1 to 100" } },
    { "JPEG_QUALITY= 5", { "JPEG_QUALITY= 5", "not an integer", "1 to 100" } },
    { "JPEG_QUALITY=5 ", { "JPEG_QUALITY=5 ", "not an integer", "1 to 100" } },
    { "JPEG_QUALITY=7.5", { "JPEG_QUALITY=7.5", "not an integer", "1 to 100" } },
    { "JPEG_QUALITY=99999999999999999999",
      { "JPEG_QUALITY=99999999999999999999", "not an integer", "1 to 100" } },
    { "VERBOSITY=11", { "VERBOSITY=11", "out of range", "0 to 10" } },
    { "PNG_QUALITY=10", { "PNG_QUALITY=10", "out of range", "0 to 9" } },
    { "IIIF_VERSION=1", { "IIIF_VERSION=1", "out of range", "2 to 3" } },
    { "MAX_CVT=-2", { "MAX_CVT=-2", "out of range", "-1 to 1000000" } },
    { "MAX_AREA=1000000000001",
      { "MAX_AREA=1000000000001", "out of range", "-1 to 1000000000000" } },
    { "WORKERS=1025", { "WORKERS=1025", "out of range", "0 to 1024" } },
    { "THREADS=0", { "THREADS=0", "out of range", "1 to 64" } },
    { "BACKLOG=0", { "BACKLOG=0", "out of range", "1 to 65535" } },
    { "LEVEL_OVERSAMPLE=0.5",
      { "LEVEL_OVERSAMPLE=0.5", "out of range", "1 to 4" } },
    { "LEVEL_OVERSAMPLE=4.01",
      { "LEVEL_OVERSAMPLE=4.01", "out of range", "1 to 4" } },
    { "LEVEL_OVERSAMPLE=abc",
      { "LEVEL_OVERSAMPLE=abc", "not a number", "1 to 4" } },
    { "LEVEL_OVERSAMPLE=nan", { "LEVEL_OVERSAMPLE=nan", "not a number", "" } },
    { "LEVEL_OVERSAMPLE=inf", { "LEVEL_OVERSAMPLE=inf", "not a number", "" } },
    { "LEVEL_OVERSAMPLE=", { "LEVEL_OVERSAMPLE=", "not a number", "" } },
    { "LEVEL_OVERSAMPLE= 2", { "LEVEL_OVERSAMPLE= 2", "not a number", "" } },
    { "LEVEL_OVERSAMPLE=2x", { "LEVEL_OVERSAMPLE=2x", "not a number", "" } },
    { "MAX_IMAGE_CACHE_SIZE=-0.5",
      { "MAX_IMAGE_CACHE_SIZE=-0.5", "out of range", "0 to 65536" } },
    { "MAX_IMAGE_CACHE_SIZE=65537",
      { "MAX_IMAGE_CACHE_SIZE=65537", "out of range", "0 to 65536" } },
    { "ALLOW_UPSCALING=2", { "ALLOW_UPSCALING=2", "not a boolean", "0 or 1" } },
    { "ALLOW_UPSCALING=", { "ALLOW_UPSCALING=", "not a boolean", "0 or 1" } },
    { "ALLOW_UPSCALING=maybe",
      { "ALLOW_UPSCALING=maybe", "not a boolean", "0 or 1" } },
    { "CODEC_PASSTHROUGH=-1",
      { "CODEC_PASSTHROUGH=-1", "not a boolean", "0 or 1" } },
};

static void
test_bad_values(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        vl_err_t   err = { VL_OK, "" };
        vl_conf_t *c = load1(bad_cases[i].kv, &err);

        print_message("'%s' -> %s\n", bad_cases[i].kv, err.msg);
        assert_null(c);
        assert_int_equal(err.code, VL_ECONF);
        for (size_t k = 0; k < 3; k++) {
            assert_non_null(strstr(err.msg, bad_cases[i].expect[k]));
        }
        assert_null(strchr(err.msg, '\n'));
    }
}

static const struct {
    const char *v;
    long        val;
} bool_cases[] = {
    { "1", 1 }, { "0", 0 }, { "true", 1 }, { "false", 0 }, { "yes", 1 },
    { "no", 0 }, { "on", 1 }, { "off", 0 }, { "TRUE", 1 }, { "Off", 0 },
};

static void
test_booleans(void **state)
{
    (void) state;
    for (size_t i = 0; i < sizeof(bool_cases) / sizeof(bool_cases[0]); i++) {
        char       kv[64];
        vl_err_t   err = { VL_OK, "" };
        vl_conf_t *c;

        snprintf(kv, sizeof(kv), "CODEC_PASSTHROUGH=%s", bool_cases[i].v);
        c = load1(kv, &err);
        assert_non_null(c);
        assert_int_equal(c->codec_passthrough, bool_cases[i].val);
        vl_conf_free(c);
        snprintf(kv, sizeof(kv), "ALLOW_UPSCALING=%s", bool_cases[i].v);
        c = load1(kv, &err);
        assert_non_null(c);
        assert_int_equal(c->allow_upscaling, bool_cases[i].val);
        vl_conf_free(c);
    }
}

static void
test_floats(void **state)
{
    static const struct {
        const char *kv;
        double      val;
        int         oversample;
    } cases[] = {
        { "LEVEL_OVERSAMPLE=1", 1.0, 1 },
        { "LEVEL_OVERSAMPLE=4", 4.0, 1 },
        { "LEVEL_OVERSAMPLE=2.25", 2.25, 1 },
        { "LEVEL_OVERSAMPLE=1e0", 1.0, 1 },
        { "MAX_IMAGE_CACHE_SIZE=0", 0.0, 0 },
        { "MAX_IMAGE_CACHE_SIZE=65536", 65536.0, 0 },
        { "MAX_IMAGE_CACHE_SIZE=12.5", 12.5, 0 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_err_t   err = { VL_OK, "" };
        vl_conf_t *c = load1(cases[i].kv, &err);

        assert_non_null(c);
        if (cases[i].oversample) {
            assert_true(c->level_oversample == cases[i].val);
        } else {
            assert_true(c->max_image_cache_size == cases[i].val);
        }
        vl_conf_free(c);
    }
}

static void
test_int_bounds(void **state)
{
    static const struct {
        const char *kv;
        size_t      offset;
        long        val;
    } cases[] = {
        { "JPEG_QUALITY=1", offsetof(vl_conf_t, jpeg_quality), 1 },
        { "JPEG_QUALITY=100", offsetof(vl_conf_t, jpeg_quality), 100 },
        { "VERBOSITY=0", offsetof(vl_conf_t, verbosity), 0 },
        { "MAX_CVT=1000000", offsetof(vl_conf_t, max_cvt), 1000000 },
        { "MAX_LAYERS=-1", offsetof(vl_conf_t, max_layers), -1 },
        { "MAX_LAYERS=65535", offsetof(vl_conf_t, max_layers), 65535 },
        { "MAX_ICC=16777216", offsetof(vl_conf_t, max_icc), 16777216 },
        { "BACKLOG=65535", offsetof(vl_conf_t, backlog), 65535 },
        { "THREADS=64", offsetof(vl_conf_t, threads), 64 },
        { "MAX_METADATA_CACHE_SIZE=100000",
          offsetof(vl_conf_t, max_metadata_cache_size), 100000 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        vl_err_t   err = { VL_OK, "" };
        vl_conf_t *c = load1(cases[i].kv, &err);

        print_message("'%s'\n", cases[i].kv);
        assert_non_null(c);
        assert_int_equal(*(long *) ((char *) c + cases[i].offset),
                         cases[i].val);
        vl_conf_free(c);
    }
}

static void
test_file_values(void **state)
{
    const char *path = write_file(
        "# vellum configuration\n"
        "\n"
        "   # indented comment\n"
        "JPEG_QUALITY=50\n"
        "export PNG_QUALITY=7\n"
        "  VERBOSITY = 3  \n"
        "CACHE_CONTROL=\"public, max-age=60\"\n"
        "BASE_URL='https://example.org/iiif/'\n"
        "CORS=\"\"\n"
        "FILESYSTEM_SUFFIX=.tif\n"
        "\t\n"
        "MAX_IMAGE_METADATA_CACHE_SIZE=9\n"
        "ALLOW_UPSCALING=no\n");
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c = vl_conf_load_env(path, NULL, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->jpeg_quality, 50);
    assert_int_equal(c->png_quality, 7);
    assert_int_equal(c->verbosity, 3);
    assert_string_equal(c->cache_control, "public, max-age=60");
    assert_string_equal(c->base_url, "https://example.org/iiif/");
    assert_string_equal(c->cors, "");
    assert_string_equal(c->filesystem_suffix, ".tif");
    assert_int_equal(c->max_metadata_cache_size, 9);
    assert_int_equal(c->allow_upscaling, 0);
    /* untouched options keep their defaults */
    assert_int_equal(c->max_cvt, 5000);
    vl_conf_free(c);
}

static void
test_env_wins_over_file(void **state)
{
    const char *path = write_file("JPEG_QUALITY=50\nPNG_QUALITY=3\n");
    char       *envp[] = { "JPEG_QUALITY=90", NULL };
    vl_err_t    err = { VL_OK, "" };
    vl_conf_t  *c = vl_conf_load_env(path, envp, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->jpeg_quality, 90);
    assert_int_equal(c->png_quality, 3);
    vl_conf_free(c);

    /* a bad value in the file is an error even if the env overrides it */
    path = write_file("# first line\nJPEG_QUALITY=500\n");
    c = vl_conf_load_env(path, envp, NULL, &err);
    assert_null(c);
    assert_int_equal(err.code, VL_ECONF);
    assert_non_null(strstr(err.msg, "JPEG_QUALITY=500"));
    assert_non_null(strstr(err.msg, ":2)"));
    assert_non_null(strstr(err.msg, "1 to 100"));
}

static void
test_file_errors(void **state)
{
    vl_err_t    err = { VL_OK, "" };
    vl_conf_t  *c;
    char        missing[PATH_MAX];
    const char *path;

    (void) state;
    path = write_file("JPEG_QUALITY=50\nthis line has no equals sign\n");
    c = vl_conf_load_env(path, NULL, NULL, &err);
    assert_null(c);
    assert_int_equal(err.code, VL_ECONF);
    assert_non_null(strstr(err.msg, ":2: expected NAME=value"));

    vl_err_clear(&err);
    snprintf(missing, sizeof(missing), "%s/does-not-exist.env", scratch);
    c = vl_conf_load_env(missing, NULL, NULL, &err);
    assert_null(c);
    assert_int_equal(err.code, VL_ECONF);
    assert_non_null(strstr(err.msg, "cannot read configuration file"));
}

static void
test_filesystem_prefix(void **state)
{
    char       kv[PATH_MAX + 32], real[PATH_MAX], file[PATH_MAX];
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c;
    FILE      *f;

    (void) state;
    assert_non_null(realpath(scratch, real));

    /* an existing directory is stored as its realpath, without '/.' */
    snprintf(kv, sizeof(kv), "FILESYSTEM_PREFIX=%s/.", scratch);
    c = load1(kv, &err);
    assert_non_null(c);
    assert_string_equal(c->filesystem_prefix, real);
    assert_int_equal(vl_conf_check_server(c, &err), VL_OK);
    assert_int_equal(err.code, VL_OK);
    vl_conf_free(c);

    /* missing directory */
    snprintf(kv, sizeof(kv), "FILESYSTEM_PREFIX=%s/nope", scratch);
    c = load1(kv, &err);
    assert_null(c);
    assert_int_equal(err.code, VL_ECONF);
    assert_non_null(strstr(err.msg, "FILESYSTEM_PREFIX="));
    assert_non_null(strstr(err.msg, "/nope"));
    assert_non_null(strstr(err.msg, "not an existing directory"));

    /* a plain file is not a directory */
    snprintf(file, sizeof(file), "%s/plainfile", scratch);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    snprintf(kv, sizeof(kv), "FILESYSTEM_PREFIX=%s", file);
    c = load1(kv, &err);
    assert_null(c);
    assert_int_equal(err.code, VL_ECONF);
    assert_non_null(strstr(err.msg, "FILESYSTEM_PREFIX="));
    assert_non_null(strstr(err.msg, "not an existing directory"));
}

static void
test_check_server(void **state)
{
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c;

    (void) state;
    /* no prefix: the server refuses to start, the CLI does not care */
    c = load1("JPEG_QUALITY=80", &err);
    assert_non_null(c);
    assert_int_equal(vl_conf_check_server(c, &err), VL_ECONF);
    assert_int_equal(err.code, VL_ECONF);
    assert_non_null(strstr(err.msg, "FILESYSTEM_PREFIX is not set"));
    vl_conf_free(c);

    /* an explicitly empty prefix is the same */
    c = load1("FILESYSTEM_PREFIX=", &err);
    assert_non_null(c);
    assert_int_equal(vl_conf_check_server(c, &err), VL_ECONF);
    vl_conf_free(c);

    /* the root directory, however spelled, is refused */
    c = load1("FILESYSTEM_PREFIX=/", &err);
    assert_non_null(c);
    assert_string_equal(c->filesystem_prefix, "/");
    assert_int_equal(vl_conf_check_server(c, &err), VL_ECONF);
    assert_non_null(strstr(err.msg, "FILESYSTEM_PREFIX=/"));
    vl_conf_free(c);

    c = load1("FILESYSTEM_PREFIX=/tmp/..", &err);
    assert_non_null(c);
    assert_int_equal(vl_conf_check_server(c, &err), VL_ECONF);
    vl_conf_free(c);
}

static void
test_alias(void **state)
{
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c = load1("MAX_IMAGE_METADATA_CACHE_SIZE=12", &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->max_metadata_cache_size, 12);
    vl_conf_free(c);

    /* the alias is range-checked under the option's name */
    c = load1("MAX_IMAGE_METADATA_CACHE_SIZE=-2", &err);
    assert_null(c);
    assert_non_null(strstr(err.msg, "MAX_METADATA_CACHE_SIZE=-2"));
}

static void
test_unknown_env_warns(void **state)
{
    char      *envp[] = { "VELLUM_FOO=1", "WATERMARK=/img/wm.tif",
                          "HOME=/root", "JPEG_QUALITY=60", NULL };
    vl_err_t   err = { VL_OK, "" };
    FILE      *warn = tmpfile();
    vl_conf_t *c;
    char      *text;

    (void) state;
    assert_non_null(warn);
    c = vl_conf_load_env(NULL, envp, warn, &err);
    assert_non_null(c);
    assert_int_equal(c->jpeg_quality, 60);
    text = slurp(warn);
    assert_non_null(strstr(text, "warning: VELLUM_FOO is not a vellum option"));
    assert_non_null(strstr(text, "warning: WATERMARK is an iipsrv option"));
    /* ordinary environment variables are not warned about */
    assert_null(strstr(text, "HOME"));
    /* exactly two lines */
    {
        int lines = 0;

        for (const char *p = text; *p; p++) {
            lines += *p == '\n';
        }
        assert_int_equal(lines, 2);
    }
    free(text);
    fclose(warn);
    vl_conf_free(c);

    /* with warn == NULL nothing is printed and loading still succeeds */
    c = vl_conf_load_env(NULL, envp, NULL, &err);
    assert_non_null(c);
    vl_conf_free(c);
}

static void
test_unknown_file_name_warns(void **state)
{
    const char *path = write_file("JPEG_QUALITY=55\nSOME_OPTION=1\n"
                                  "WATERMARK=x.tif\n");
    vl_err_t    err = { VL_OK, "" };
    FILE       *warn = tmpfile();
    vl_conf_t  *c;
    char       *text;

    (void) state;
    assert_non_null(warn);
    c = vl_conf_load_env(path, NULL, warn, &err);
    assert_non_null(c);
    assert_int_equal(c->jpeg_quality, 55);
    text = slurp(warn);
    assert_non_null(strstr(text, ":2: SOME_OPTION is not a vellum option"));
    assert_non_null(strstr(text, ":3: WATERMARK is an iipsrv option"));
    free(text);
    fclose(warn);
    vl_conf_free(c);
}

static void
test_load_from_environ(void **state)
{
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c;

    (void) state;
    assert_int_equal(setenv("JPEG_QUALITY", "42", 1), 0);
    c = vl_conf_load(NULL, NULL, &err);
    assert_non_null(c);
    assert_int_equal(c->jpeg_quality, 42);
    vl_conf_free(c);
    assert_int_equal(setenv("JPEG_QUALITY", "0", 1), 0);
    c = vl_conf_load(NULL, NULL, &err);
    assert_null(c);
    assert_int_equal(err.code, VL_ECONF);
    unsetenv("JPEG_QUALITY");
}

static void
test_print_help(void **state)
{
    FILE *out = tmpfile();
    char *text;

    (void) state;
    assert_non_null(out);
    vl_conf_print_help(out);
    text = slurp(out);
    assert_non_null(strstr(text, "Configuration"));
    /* every option is listed as "  NAME" at the start of a line, in order */
    {
        const char *prev = text;

        for (size_t i = 0; i < vl_conf_noptions; i++) {
            char        needle[64];
            const char *at;

            snprintf(needle, sizeof(needle), "\n  %s ",
                     vl_conf_options[i].name);
            at = strstr(text, needle);
            assert_non_null(at);
            assert_true(at > prev || i == 0);
            prev = at;
        }
    }
    assert_non_null(strstr(text, "default '75' [1..100]"));
    assert_non_null(strstr(text, "default '1.0' [1..4]"));
    free(text);
    fclose(out);
}

/* The values the request path reads are derived once, at load. */
static void
test_derived(void **state)
{
    char      *envp[] = { "MAX_CVT=-1", "MAX_AREA=1000", "ALLOW_UPSCALING=0",
                          "LEVEL_OVERSAMPLE=2.5", "JPEG_QUALITY=90",
                          "PNG_QUALITY=6", "INTERPOLATION=1", "MAX_ICC=0",
                          "CODEC_PASSTHROUGH=0", "MAX_RESPONSE_SIZE=3",
                          "MAX_IMAGE_CACHE_SIZE=1.5", "OUTPUT_BITS=8",
                          NULL };
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c = vl_conf_load_env(NULL, envp, NULL, &err);

    (void) state;
    assert_non_null(c);
    assert_int_equal(c->limits.max_width, 0);
    assert_int_equal(c->limits.max_height, 0);
    assert_int_equal(c->limits.max_area, 1000);
    assert_int_equal(c->limits.allow_upscaling, 0);
    assert_true(c->limits.oversample == 2.5);
    assert_int_equal(c->output.jpeg_quality, 90);
    assert_int_equal(c->output.png_level, 6);
    assert_int_equal(c->output.interpolation, 1);
    assert_int_equal(c->output.output_bits, 8);
    assert_int_equal(c->output.max_icc, 0);
    assert_int_equal(c->output.passthrough, 0);
    assert_int_equal(c->max_response_bytes, 3u << 20);
    assert_int_equal(c->tile_cache_bytes, 1572864);
    vl_conf_free(c);
    c = load1("MAX_CVT=300", &err);
    assert_non_null(c);
    assert_int_equal(c->limits.max_width, 300);
    assert_int_equal(c->limits.max_height, 300);
    assert_int_equal(c->output.passthrough, 1);
    vl_conf_free(c);
}

/* BACKGROUND: RRGGBB with or without '#', white by default; anything
 * else refused naming the variable. ICC_TO_SRGB off by default. */
static void
test_background(void **state)
{
    static const char *bad[] = { "BACKGROUND=fff", "BACKGROUND=gg0000",
                                 "BACKGROUND=", "BACKGROUND=#1234567" };
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *c;

    (void) state;
    c = load1("HOME=/", &err);
    assert_non_null(c);
    assert_int_equal(c->output.background[0], 255);
    assert_int_equal(c->output.background[1], 255);
    assert_int_equal(c->output.background[2], 255);
    assert_int_equal(c->output.icc_to_srgb, 0);
    vl_conf_free(c);
    c = load1("BACKGROUND=#33669A", &err);
    assert_non_null(c);
    assert_int_equal(c->output.background[0], 0x33);
    assert_int_equal(c->output.background[1], 0x66);
    assert_int_equal(c->output.background[2], 0x9a);
    vl_conf_free(c);
    c = load1("ICC_TO_SRGB=yes", &err);
    assert_non_null(c);
    assert_int_equal(c->output.icc_to_srgb, 1);
    vl_conf_free(c);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        vl_err_clear(&err);
        c = load1(bad[i], &err);
        assert_null(c);
        assert_int_equal(err.code, VL_ECONF);
        assert_non_null(strstr(err.msg, "BACKGROUND"));
    }
}

/* Every option flagged VL_OPT_OUTPUT changes the fingerprint; no other
 * option does. */
static void
test_fingerprint(void **state)
{
    vl_err_t   err = { VL_OK, "" };
    vl_conf_t *base = load1("HOME=/", &err), *c;
    size_t     flagged = 0;

    (void) state;
    assert_non_null(base);
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        const vl_opt_t *o = &vl_conf_options[i];
        char            kv[256];
        int             same;

        c = load1(vl_test_flip(o, kv, sizeof(kv)), &err);
        if (c == NULL) {
            fail_msg("%s: %s", kv, err.msg);
        }
        same = memcmp(c->fingerprint, base->fingerprint,
                      sizeof(base->fingerprint)) == 0;
        if ((o->flags & VL_OPT_OUTPUT) ? same : !same) {
            fail_msg("%s %s the fingerprint", kv,
                     same ? "does not change" : "changes");
        }
        flagged += (o->flags & VL_OPT_OUTPUT) != 0;
        vl_conf_free(c);
    }
    /* the options that change bytes today; a new one is flagged too */
    assert_int_equal(flagged, 33);
    /* the same configuration, the same fingerprint */
    c = load1("HOME=/", &err);
    assert_non_null(c);
    assert_memory_equal(c->fingerprint, base->fingerprint,
                        sizeof(base->fingerprint));
    vl_conf_free(c);
    vl_conf_free(base);
}

static void
test_uri_map(void **state)
{
    static const struct {
        const char *value;
        size_t      n;
        const char *prefix[3];
        int         warnings;
    } cases[] = {
        { "URI_MAP=", 0, { NULL }, 0 },
        { "URI_MAP=iiif=>IIIF", 1, { "iiif" }, 0 },
        { "URI_MAP=/iiif/=>iiif", 1, { "iiif" }, 0 },
        { "URI_MAP=iiif => IIIF", 1, { "iiif" }, 0 },
        { "URI_MAP=iiif=>IIIF images/iiif=>IIIF", 2,
          { "iiif", "images/iiif" }, 0 },
        { "URI_MAP=a=>IIIF,b=>IIIF, c=>IIIF", 3, { "a", "b", "c" }, 0 },
        { "URI_MAP==>IIIF", 1, { "" }, 0 },
        /* iipsrv's other protocols: warned about, left out */
        { "URI_MAP=fif=>IIP iiif=>IIIF zoomify=>Zoomify", 1, { "iiif" }, 2 },
        /* what iipsrv too would not use: warned about, never fatal */
        { "URI_MAP=iiif=>IIIF extra", 1, { "iiif" }, 1 },
        { "URI_MAP=iiif", 0, { NULL }, 1 },
        { "URI_MAP=iiif=>", 0, { NULL }, 1 },
        { "URI_MAP=iiif=>IIIF3", 0, { NULL }, 1 },
        { "URI_MAP=iiif=>FOO", 0, { NULL }, 1 },
        { "URI_MAP=iiif=>IIIF/", 0, { NULL }, 1 },
        { "URI_MAP=a;b=>IIIF", 1, { "a;b" }, 0 },
        { "URI_MAP=a=>IIIF b=>IIIF c=>IIIF d=>IIIF e=>IIIF f=>IIIF g=>IIIF "
          "h=>IIIF i=>IIIF", 8, { "a", "b", "c" }, 1 },
    };

    (void) state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char      *envp[] = { (char *) cases[i].value, NULL };
        vl_err_t   err = { VL_OK, "" };
        FILE      *warn = tmpfile();
        vl_conf_t *c;
        char      *text;
        int        lines = 0;

        assert_non_null(warn);
        c = vl_conf_load_env(NULL, envp, warn, &err);
        if (c == NULL) {
            fail_msg("%s: %s", cases[i].value, err.msg);
        }
        assert_int_equal(c->nuri_maps, cases[i].n);
        for (size_t k = 0; k < cases[i].n && k < 3; k++) {
            if (cases[i].prefix[k] == NULL) {
                break;
            }
            assert_string_equal(c->uri_maps[k].prefix, cases[i].prefix[k]);
            assert_int_equal(c->uri_maps[k].len, strlen(cases[i].prefix[k]));
        }
        text = slurp(warn);
        for (const char *p = text; *p; p++) {
            lines += *p == '\n';
        }
        if (lines != cases[i].warnings) {
            fail_msg("%s: %d warnings, want %d:\n%s", cases[i].value, lines,
                     cases[i].warnings, text);
        }
        free(text);
        fclose(warn);
        vl_conf_free(c);
    }
    /* the warning names the entry left out and why */
    {
        char      *envp[] = { "URI_MAP=fif=>IIP", NULL };
        vl_err_t   err = { VL_OK, "" };
        FILE      *warn = tmpfile();
        vl_conf_t *c;
        char      *text;

        assert_non_null(warn);
        c = vl_conf_load_env(NULL, envp, warn, &err);
        assert_non_null(c);
        text = slurp(warn);
        assert_non_null(strstr(text, "URI_MAP: entry 'fif=>IIP' maps to a "
                                     "protocol vellum does not serve"));
        free(text);
        fclose(warn);
        vl_conf_free(c);
    }
}

static void
test_free_null(void **state)
{
    (void) state;
    vl_conf_free(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_encoder_options),
        cmocka_unit_test(test_table_well_formed),
        cmocka_unit_test(test_env_values),
        cmocka_unit_test(test_last_env_value_wins),
        cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_booleans),
        cmocka_unit_test(test_floats),
        cmocka_unit_test(test_int_bounds),
        cmocka_unit_test(test_file_values),
        cmocka_unit_test(test_env_wins_over_file),
        cmocka_unit_test(test_file_errors),
        cmocka_unit_test(test_filesystem_prefix),
        cmocka_unit_test(test_check_server),
        cmocka_unit_test(test_alias),
        cmocka_unit_test(test_unknown_env_warns),
        cmocka_unit_test(test_unknown_file_name_warns),
        cmocka_unit_test(test_load_from_environ),
        cmocka_unit_test(test_print_help),
        cmocka_unit_test(test_derived),
        cmocka_unit_test(test_fingerprint),
        cmocka_unit_test(test_background),
        cmocka_unit_test(test_uri_map),
        cmocka_unit_test(test_free_null),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
