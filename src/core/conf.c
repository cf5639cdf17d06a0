/* SPDX-License-Identifier: MIT */
/*
 * conf: declarative option table (nginx-style rows: name, type, default,
 * range, offsetof, help). Defaults -> file -> environment.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/conf.h"
#include "core/str.h"

extern char **environ;

#define OPT(n, t, d, lo, hi, f, h, i) \
    { n, t, d, lo, hi, offsetof(vl_conf_t, f), h, i }

const vl_opt_t vl_conf_options[] = {
    /* files */
    OPT("FILESYSTEM_PREFIX", VL_OPT_DIR, "", 0, 0, filesystem_prefix,
        "Directory holding the images; required. Nothing outside it is ever read", 1),
    OPT("FILESYSTEM_SUFFIX", VL_OPT_STRING, "", 0, 0, filesystem_suffix,
        "Appended to every identifier to make the file name (e.g. .tif)", 1),
    /* logging */
    OPT("LOGFILE", VL_OPT_STRING, "stderr", 0, 0, logfile,
        "Log destination: a file path, 'syslog' or 'stderr'", 1),
    OPT("VERBOSITY", VL_OPT_INT, "1", 0, 5, verbosity,
        "0 errors only, 1 + one access line per request, 2 + warnings, 3-5 more detail", 1),
    /* output */
    OPT("JPEG_QUALITY", VL_OPT_INT, "75", 1, 100, jpeg_quality,
        "JPEG output quality", 1),
    OPT("PNG_QUALITY", VL_OPT_INT, "1", 0, 9, png_quality,
        "PNG zlib compression level", 1),
    OPT("MAX_ICC", VL_OPT_INT, "65536", -1, 16777216, max_icc,
        "Largest ICC profile (bytes) embedded in output; -1 any size, 0 none", 1),
    OPT("INTERPOLATION", VL_OPT_INT, "2", 0, 2, interpolation,
        "Resampling: 0 nearest, 1 bilinear, 2 area average + Lanczos3 (vellum's default)", 1),
    OPT("LEVEL_OVERSAMPLE", VL_OPT_FLOAT, "1.0", 1.0, 4.0, level_oversample,
        "Read the smallest pyramid level at least this many times the output size", 0),
    OPT("MAX_RESPONSE_SIZE", VL_OPT_INT, "64", 1, 2048, max_response_size,
        "Largest encoded response body in MB; beyond it the request fails with 400", 0),
    /* limits */
    OPT("MAX_CVT", VL_OPT_INT, "5000", -1, 1000000, max_cvt,
        "Largest output width and height (IIIF maxWidth/maxHeight); -1 unlimited", 1),
    OPT("MAX_AREA", VL_OPT_INT, "25000000", -1, 1e12, max_area,
        "Largest output area in pixels (IIIF maxArea); -1 unlimited", 0),
    OPT("ALLOW_UPSCALING", VL_OPT_BOOL, "1", 0, 1, allow_upscaling,
        "Allow output larger than the region (IIIF 3 '^', IIIF 2 sizes above full)", 1),
    /* HTTP / IIIF */
    OPT("CORS", VL_OPT_STRING, "*", 0, 0, cors,
        "Access-Control-Allow-Origin value on every response; empty turns CORS off", 1),
    OPT("BASE_URL", VL_OPT_STRING, "", 0, 0, base_url,
        "Public base URL of the IIIF service (e.g. https://example.org/iiif/); empty: from the request", 1),
    OPT("CACHE_CONTROL", VL_OPT_STRING, "max-age=86400", 0, 0, cache_control,
        "Cache-Control header on successful responses; empty: none", 1),
    OPT("URI_MAP", VL_OPT_STRING, "", 0, 0, uri_map,
        "Map request paths to a protocol without a rewrite, e.g. 'iiif=>IIIF'", 1),
    OPT("IIIF_VERSION", VL_OPT_INT, "3", 2, 3, iiif_version,
        "Default IIIF Image API version (2 or 3) when a request does not choose", 1),
    OPT("COPYRIGHT", VL_OPT_STRING, "", 0, 0, copyright,
        "Default rights URI for info.json when the image has no Copyright tag holding a URI", 1),
    /* caches */
    OPT("MAX_IMAGE_CACHE_SIZE", VL_OPT_FLOAT, "10", 0, 65536, max_image_cache_size,
        "Decoded tile cache per worker, MB; 0 off", 1),
    OPT("MAX_METADATA_CACHE_SIZE", VL_OPT_INT, "64", -1, 100000, max_metadata_cache_size,
        "Open image handles kept per worker; 0 off, -1 unlimited", 1),
    OPT("MEMCACHED_SERVERS", VL_OPT_STRING, "", 0, 0, memcached_servers,
        "memcached servers (libmemcached syntax, e.g. 'localhost:11211,cache2'); empty off", 1),
    OPT("MEMCACHED_TIMEOUT", VL_OPT_INT, "86400", 0, 2592000, memcached_timeout,
        "Expiry of memcached entries, seconds", 1),
    OPT("CODEC_PASSTHROUGH", VL_OPT_BOOL, "1", 0, 1, codec_passthrough,
        "Send stored JPEG tiles as they are when a request asks for exactly one", 1),
    OPT("MAX_LAYERS", VL_OPT_INT, "-1", -1, 65535, max_layers,
        "JPEG 2000 quality layers to decode: -1 or 0 all (iipsrv: 0 = half), N the first N", 1),
    /* process */
    OPT("WORKERS", VL_OPT_INT, "0", 0, 1024, workers,
        "Worker processes with --bind (0: one per CPU); --workers overrides", 0),
    OPT("THREADS", VL_OPT_INT, "4", 1, 64, threads,
        "Accepting threads per worker, each with its own connection and request", 0),
    OPT("MAX_REQUESTS", VL_OPT_INT, "0", 0, 1e15, max_requests,
        "A worker exits (and is replaced) after this many requests; 0 never", 0),
    OPT("BACKLOG", VL_OPT_INT, "2048", 1, 65535, backlog,
        "listen() backlog with --bind; --backlog overrides", 0),
};

const size_t vl_conf_noptions = sizeof(vl_conf_options) / sizeof(vl_conf_options[0]);

/* iipsrv names vellum accepts and ignores (warned), and aliases */
static const char *const conf_ignored[] = {
    "FILENAME_PATTERN", "WATERMARK", "WATERMARK_PROBABILITY",
    "WATERMARK_OPACITY", "IIIF_DELIMITER", "IIIF_EXTRA_INFO",
    "IIIF_EXTENSIONS", "KAKADU_READMODE", "DECODER_MODULES", "WEBP_QUALITY",
    "AVIF_QUALITY", "AVIF_CODEC", "TIFF_COMPRESSION", "TIFF_QUALITY",
    "EMBED_ICC", "MAX_EXIF", NULL
};

static const struct {
    const char *alias, *name;
} conf_aliases[] = {
    { "MAX_IMAGE_METADATA_CACHE_SIZE", "MAX_METADATA_CACHE_SIZE" },
};

static const vl_opt_t *
conf_find(const char *name, size_t len)
{
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        if (strlen(vl_conf_options[i].name) == len
            && memcmp(vl_conf_options[i].name, name, len) == 0)
        {
            return &vl_conf_options[i];
        }
    }
    for (size_t i = 0; i < sizeof(conf_aliases) / sizeof(conf_aliases[0]); i++) {
        if (strlen(conf_aliases[i].alias) == len
            && memcmp(conf_aliases[i].alias, name, len) == 0)
        {
            return conf_find(conf_aliases[i].name, strlen(conf_aliases[i].name));
        }
    }
    return NULL;
}

static int
conf_is_ignored(const char *name, size_t len)
{
    for (size_t i = 0; conf_ignored[i] != NULL; i++) {
        if (strlen(conf_ignored[i]) == len && memcmp(conf_ignored[i], name, len) == 0) {
            return 1;
        }
    }
    return 0;
}

static int
conf_parse_bool(const char *v, long *out)
{
    static const char *const yes[] = { "1", "true", "yes", "on", NULL };
    static const char *const no[] = { "0", "false", "no", "off", NULL };

    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
    }
    for (size_t i = 0; no[i]; i++) {
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int
conf_set(vl_conf_t *conf, const vl_opt_t *opt, const char *value,
         const char *origin, vl_err_t *err)
{
    char *field = (char *) conf + opt->offset;

    switch (opt->type) {
    case VL_OPT_INT: {
        char *end;
        double d;
        long  v;

        errno = 0;
        v = strtol(value, &end, 10);
        /* accept "10.0"-free integers only; ranges are doubles so 1e15 fits */
        if (*value == '\0' || *end != '\0' || errno != 0 || isspace((unsigned char) *value)) {
            return vl_err_set(err, VL_ECONF,
                              "%s=%s%s is not an integer: expected %.0f to %.0f",
                              opt->name, value, origin, opt->min, opt->max);
        }
        d = (double) v;
        if (d < opt->min || d > opt->max) {
            return vl_err_set(err, VL_ECONF,
                              "%s=%s%s is out of range: expected %.0f to %.0f",
                              opt->name, value, origin, opt->min, opt->max);
        }
        *(long *) field = v;
        return VL_OK;
    }
    case VL_OPT_FLOAT: {
        char  *end;
        double v;

        errno = 0;
        v = strtod(value, &end);
        if (*value == '\0' || *end != '\0' || errno != 0 || !isfinite(v)
            || isspace((unsigned char) *value))
        {
            return vl_err_set(err, VL_ECONF,
                              "%s=%s%s is not a number: expected %g to %g",
                              opt->name, value, origin, opt->min, opt->max);
        }
        if (v < opt->min || v > opt->max) {
            return vl_err_set(err, VL_ECONF,
                              "%s=%s%s is out of range: expected %g to %g",
                              opt->name, value, origin, opt->min, opt->max);
        }
        *(double *) field = v;
        return VL_OK;
    }
    case VL_OPT_BOOL: {
        long v;

        if (conf_parse_bool(value, &v) != 0) {
            return vl_err_set(err, VL_ECONF,
                              "%s=%s%s is not a boolean: expected 0 or 1 (true/false, yes/no, on/off)",
                              opt->name, value, origin);
        }
        *(long *) field = v;
        return VL_OK;
    }
    case VL_OPT_DIR: {
        char **dst = (char **) field;
        char  *real;
        struct stat st;

        if (*value == '\0') {
            free(*dst);
            *dst = strdup("");
            return *dst ? VL_OK : vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        real = realpath(value, NULL);
        if (real == NULL || stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
            free(real);
            return vl_err_set(err, VL_ECONF,
                              "%s=%s%s is not an existing directory",
                              opt->name, value, origin);
        }
        /* no trailing slash, except the root itself */
        free(*dst);
        *dst = real;
        return VL_OK;
    }
    case VL_OPT_STRING: {
        char **dst = (char **) field;
        char  *copy = strdup(value);

        if (copy == NULL) {
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        free(*dst);
        *dst = copy;
        return VL_OK;
    }
    }
    return vl_err_set(err, VL_EINTERNAL, "bad option type");
}

static char *
conf_trim(char *s)
{
    char *e;

    while (isspace((unsigned char) *s)) {
        s++;
    }
    e = s + strlen(s);
    while (e > s && isspace((unsigned char) e[-1])) {
        *--e = '\0';
    }
    return s;
}

static int
conf_read_file(vl_conf_t *conf, const char *file, FILE *warn, vl_err_t *err)
{
    FILE *f = fopen(file, "r");
    char  line[4096];
    char  origin[64];
    int   lineno = 0;

    if (f == NULL) {
        return vl_err_set(err, VL_ECONF, "cannot read configuration file %s: %s",
                          file, strerror(errno));
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        char *s, *eq, *name, *value;
        const vl_opt_t *opt;

        lineno++;
        s = conf_trim(line);
        if (*s == '\0' || *s == '#') {
            continue;
        }
        if (strncmp(s, "export ", 7) == 0) {
            s = conf_trim(s + 7);
        }
        eq = strchr(s, '=');
        if (eq == NULL) {
            fclose(f);
            return vl_err_set(err, VL_ECONF, "%s:%d: expected NAME=value",
                              file, lineno);
        }
        *eq = '\0';
        name = conf_trim(s);
        value = conf_trim(eq + 1);
        if (strlen(value) >= 2
            && ((value[0] == '"' && value[strlen(value) - 1] == '"')
                || (value[0] == '\'' && value[strlen(value) - 1] == '\'')))
        {
            value[strlen(value) - 1] = '\0';
            value++;
        }
        opt = conf_find(name, strlen(name));
        if (opt == NULL) {
            if (warn != NULL) {
                fprintf(warn, "vellum: warning: %s:%d: %s %s\n", file, lineno, name,
                        conf_is_ignored(name, strlen(name))
                            ? "is an iipsrv option vellum does not implement; ignored"
                            : "is not a vellum option; ignored");
            }
            continue;
        }
        snprintf(origin, sizeof(origin), " (%s:%d)", file, lineno);
        if (conf_set(conf, opt, value, origin, err) != VL_OK) {
            fclose(f);
            return err ? err->code : VL_ECONF;
        }
    }
    fclose(f);
    return VL_OK;
}

vl_conf_t *
vl_conf_load_env(const char *file, char *const *envp, FILE *warn, vl_err_t *err)
{
    vl_conf_t *conf = calloc(1, sizeof(*conf));

    if (conf == NULL) {
        vl_err_set(err, VL_ENOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        if (conf_set(conf, &vl_conf_options[i], vl_conf_options[i].def, " (default)",
                     err) != VL_OK)
        {
            vl_conf_free(conf);
            return NULL;
        }
    }
    if (file != NULL && conf_read_file(conf, file, warn, err) != VL_OK) {
        vl_conf_free(conf);
        return NULL;
    }
    for (size_t e = 0; envp != NULL && envp[e] != NULL; e++) {
        const char     *kv = envp[e];
        const char     *eq = strchr(kv, '=');
        const vl_opt_t *opt;
        size_t          nlen;

        if (eq == NULL) {
            continue;
        }
        nlen = (size_t) (eq - kv);
        opt = conf_find(kv, nlen);
        if (opt != NULL) {
            if (conf_set(conf, opt, eq + 1, "", err) != VL_OK) {
                vl_conf_free(conf);
                return NULL;
            }
        } else if (warn != NULL) {
            if (conf_is_ignored(kv, nlen)) {
                fprintf(warn, "vellum: warning: %.*s is an iipsrv option vellum "
                        "does not implement; ignored\n", (int) nlen, kv);
            } else if (nlen > 7 && strncmp(kv, "VELLUM_", 7) == 0) {
                fprintf(warn, "vellum: warning: %.*s is not a vellum option; "
                        "ignored (options have no VELLUM_ prefix)\n", (int) nlen, kv);
            }
        }
    }
    return conf;
}

vl_conf_t *
vl_conf_load(const char *file, FILE *warn, vl_err_t *err)
{
    return vl_conf_load_env(file, environ, warn, err);
}

int
vl_conf_check_server(const vl_conf_t *conf, vl_err_t *err)
{
    if (conf->filesystem_prefix == NULL || conf->filesystem_prefix[0] == '\0') {
        return vl_err_set(err, VL_ECONF,
                          "FILESYSTEM_PREFIX is not set: set it to the directory "
                          "holding your images (vellum never serves the whole filesystem)");
    }
    if (strcmp(conf->filesystem_prefix, "/") == 0) {
        return vl_err_set(err, VL_ECONF,
                          "FILESYSTEM_PREFIX=/ would serve the whole filesystem: "
                          "set it to the directory holding your images");
    }
    return VL_OK;
}

void
vl_conf_free(vl_conf_t *conf)
{
    if (conf == NULL) {
        return;
    }
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        const vl_opt_t *opt = &vl_conf_options[i];

        if (opt->type == VL_OPT_STRING || opt->type == VL_OPT_DIR) {
            free(*(char **) ((char *) conf + opt->offset));
        }
    }
    free(conf);
}

void
vl_conf_print_help(FILE *out)
{
    fprintf(out, "Configuration (environment, or NAME=value lines in --config FILE; "
            "the environment wins):\n");
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        const vl_opt_t *opt = &vl_conf_options[i];
        char range[64] = "";

        if (opt->type == VL_OPT_INT) {
            snprintf(range, sizeof(range), " [%.0f..%.0f]", opt->min, opt->max);
        } else if (opt->type == VL_OPT_FLOAT) {
            snprintf(range, sizeof(range), " [%g..%g]", opt->min, opt->max);
        } else if (opt->type == VL_OPT_BOOL) {
            snprintf(range, sizeof(range), " [0|1]");
        }
        fprintf(out, "  %-24s default '%s'%s\n      %s\n", opt->name, opt->def,
                range, opt->help);
    }
}

unsigned long
vl_conf_max_width(const vl_conf_t *conf)
{
    return conf->max_cvt <= 0 ? 0 : (unsigned long) conf->max_cvt;
}

unsigned long
vl_conf_max_area(const vl_conf_t *conf)
{
    return conf->max_area <= 0 ? 0 : (unsigned long) conf->max_area;
}
