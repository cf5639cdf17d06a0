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
#include <strings.h>
#include <sys/stat.h>

#include "core/conf.h"
#include "core/hash.h"
#include "core/str.h"

extern char **environ;

#define OPT(n, t, d, lo, hi, f, fl, h) \
    { n, t, d, lo, hi, offsetof(vl_conf_t, f), fl, h }
#define IIP VL_OPT_IIPSRV
#define OUT VL_OPT_OUTPUT

const vl_opt_t vl_conf_options[] = {
    /* files */
    OPT("FILESYSTEM_PREFIX", VL_OPT_DIR, "", 0, 0, filesystem_prefix, IIP,
        "Directory holding the images; required. Nothing outside it is ever read"),
    OPT("FILESYSTEM_SUFFIX", VL_OPT_STRING, "", 0, 0, filesystem_suffix, IIP | OUT,
        "Appended to every identifier to make the file name (e.g. .tif)"),
    /* logging */
    OPT("LOGFILE", VL_OPT_STRING, "stderr", 0, 0, logfile, IIP,
        "Log destination: a file path, 'syslog' or 'stderr'"),
    OPT("VERBOSITY", VL_OPT_INT, "1", 0, 10, verbosity, IIP,
        "0 errors only, 1 + one access line per request, 2 + warnings, 3-5 more detail (6-10, valid for iipsrv, are 5)"),
    /* output */
    OPT("JPEG_QUALITY", VL_OPT_INT, "75", 1, 100, jpeg_quality, IIP | OUT,
        "JPEG output quality"),
    OPT("PNG_QUALITY", VL_OPT_INT, "1", 0, 9, png_quality, IIP | OUT,
        "PNG zlib compression level"),
    OPT("WEBP_QUALITY", VL_OPT_INT, "50", -1, 100, webp_quality, IIP | OUT,
        "WebP output quality (libwebp 0-100); -1 lossless"),
    OPT("TIFF_COMPRESSION", VL_OPT_STRING, "deflate", 0, 0, tiff_compression, IIP | OUT,
        "TIFF output compression: none, lzw, deflate, jpeg, webp or zstd (or iipsrv's 0-5 in that order)"),
    OPT("TIFF_QUALITY", VL_OPT_INT, "90", 1, 100, tiff_quality, IIP | OUT,
        "Quality of JPEG- and WebP-compressed TIFF output"),
    OPT("JP2_RATE", VL_OPT_INT, "0", 0, 1000, jp2_rate, OUT,
        "JPEG 2000 output: 0 lossless, N a compression ratio of N:1 (irreversible 9/7 wavelet)"),
    OPT("MAX_ICC", VL_OPT_INT, "65536", -1, 16777216, max_icc, IIP | OUT,
        "Largest ICC profile (bytes) embedded in output; -1 any size, 0 none"),
    OPT("ICC_TO_SRGB", VL_OPT_BOOL, "0", 0, 1, icc_to_srgb, OUT,
        "Convert RGB and grey images with an ICC profile to sRGB (lcms2) instead of embedding the profile"),
    OPT("BACKGROUND", VL_OPT_STRING, "ffffff", 0, 0, background, OUT,
        "Colour (hex RRGGBB) that transparency is flattened onto when the output has no alpha (JPEG, bitonal)"),
    OPT("INTERPOLATION", VL_OPT_INT, "2", 0, 2, interpolation, IIP | OUT,
        "Resampling: 0 nearest, 1 bilinear, 2 area average + Lanczos3 (vellum's default)"),
    OPT("OUTPUT_BITS", VL_OPT_INT, "16", 8, 16, output_bits, OUT,
        "Bits per sample of png and tif output from a 16-bit source: 16 keeps them (default/color/gray), 8 always 8-bit"),
    OPT("LEVEL_OVERSAMPLE", VL_OPT_FLOAT, "1.0", 1.0, 4.0, level_oversample, OUT,
        "Read the smallest pyramid level at least this many times the output size"),
    OPT("MAX_RESPONSE_SIZE", VL_OPT_INT, "64", 1, 2048, max_response_size, 0,
        "Largest encoded response body in MB; beyond it the request fails with 400"),
    /* limits */
    OPT("MAX_CVT", VL_OPT_INT, "5000", -1, 1000000, max_cvt, IIP | OUT,
        "Largest output width and height (IIIF maxWidth/maxHeight); -1 unlimited"),
    OPT("MAX_AREA", VL_OPT_INT, "25000000", -1, 1e12, max_area, OUT,
        "Largest output area in pixels (IIIF maxArea); -1 unlimited"),
    OPT("ALLOW_UPSCALING", VL_OPT_BOOL, "1", 0, 1, allow_upscaling, IIP | OUT,
        "Allow output larger than the region (IIIF 3 '^', IIIF 2 sizes above full)"),
    /* bounded cost per request */
    OPT("MAX_DECODE_PIXELS", VL_OPT_INT, "300000000", -1, 1e15, max_decode_pixels, 0,
        "Most pixels one request may decode (estimated before decoding, JPEG 2000 set-up included); beyond it a 400; -1 unlimited"),
    OPT("MAX_REQUEST_MEMORY", VL_OPT_INT, "1024", -1, 1048576, max_request_memory, 0,
        "Most memory in MB one request may need at once (decoder structures and buffers, estimated before decoding); beyond it a 400; -1 unlimited"),
    OPT("REQUEST_TIMEOUT", VL_OPT_INT, "30", 0, 86400, request_timeout, 0,
        "Seconds an image request may run; beyond it (or when the client has gone) it stops with 503 and Retry-After; 0 none"),
    OPT("HEAVY_THREADS", VL_OPT_INT, "0", 0, 64, heavy_threads, 0,
        "Threads of a worker that may run heavy requests at once (0: half of THREADS, at least 1); more get 503 with Retry-After"),
    OPT("HEAVY_PIXELS", VL_OPT_INT, "16777216", 0, 1e15, heavy_pixels, 0,
        "A request is heavy when it decodes and outputs more pixels than this, or needs over a quarter of MAX_REQUEST_MEMORY (estimated), or rotates by other than 90-degree steps"),
    /* HTTP / IIIF */
    OPT("CORS", VL_OPT_STRING, "*", 0, 0, cors, IIP | OUT,
        "Access-Control-Allow-Origin value on every response; empty turns CORS off"),
    OPT("BASE_URL", VL_OPT_STRING, "", 0, 0, base_url, IIP | OUT,
        "Public base URL of the IIIF service (e.g. https://example.org/iiif/); empty: from the request"),
    OPT("CACHE_CONTROL", VL_OPT_STRING, "max-age=86400", 0, 0, cache_control, IIP,
        "Cache-Control header on successful responses; empty: none"),
    OPT("URI_MAP", VL_OPT_STRING, "", 0, 0, uri_map, IIP,
        "Map request paths to IIIF without a rewrite: 'prefix=>IIIF' entries, separated by spaces or commas"),
    OPT("IIIF_VERSION", VL_OPT_INT, "3", 2, 3, iiif_version, IIP | OUT,
        "Default IIIF Image API version (2 or 3) when a request does not choose"),
    OPT("COPYRIGHT", VL_OPT_STRING, "", 0, 0, copyright, IIP | OUT,
        "Default rights URI for info.json when the image has no Copyright tag holding a URI"),
    /* IIIF Presentation and Change Discovery */
    OPT("IIIF_DELIMITER", VL_OPT_STRING, ";", 0, 0, iiif_delimiter, IIP | OUT,
        "Separates a page number from an identifier: 'book.tif;2' is page 2 of a multi-page TIFF; empty: no pages"),
    OPT("PROVIDER_LABEL", VL_OPT_STRING, "", 0, 0, provider_label, OUT,
        "Name of the institution given as provider of every manifest; empty: none"),
    OPT("PROVIDER_HOMEPAGE", VL_OPT_STRING, "", 0, 0, provider_homepage, OUT,
        "Homepage URL of the provider"),
    OPT("HOMEPAGE", VL_OPT_STRING, "", 0, 0, homepage, OUT,
        "Web page of each object, {id} standing for its identifier, e.g. https://example.org/objects/{id}"),
    OPT("SEE_ALSO", VL_OPT_STRING, "", 0, 0, see_also, OUT,
        "Machine-readable record of each object, with {id}, in manifests and Change Discovery; empty: none"),
    OPT("SEE_ALSO_FORMAT", VL_OPT_STRING, "", 0, 0, see_also_format, OUT,
        "Media type of SEE_ALSO, e.g. application/rdf+xml"),
    OPT("SEE_ALSO_PROFILE", VL_OPT_STRING, "", 0, 0, see_also_profile, OUT,
        "Profile URI of SEE_ALSO, e.g. http://www.europeana.eu/schemas/edm/"),
    OPT("THUMBNAIL_SIZE", VL_OPT_INT, "200", 16, 2048, thumbnail_size, OUT,
        "Longest side of manifest and collection thumbnails: the largest stored level within it, else the image scaled to it"),
    OPT("PRESENTATION_CACHE_CONTROL", VL_OPT_STRING, "max-age=300", 0, 0, presentation_cache_control, 0,
        "Cache-Control header of manifests, collections and Change Discovery, which follow sidecars and scans; empty: none"),
    OPT("COLLECTION_SIZE", VL_OPT_INT, "1000", 10, 100000, collection_size, OUT,
        "Entries of one Collection; a larger folder is split into sub-Collections of at most this many"),
    OPT("STATE_DIR", VL_OPT_STRING, "", 0, 0, state_dir, 0,
        "Directory of the Change Discovery log: vellum scan writes it, workers read it; empty: Change Discovery off"),
    OPT("SCAN_INTERVAL", VL_OPT_INT, "0", 0, 604800, scan_interval, 0,
        "Seconds between the scans the master runs (as vellum scan does); 0: only from cron or a timer"),
    OPT("DISCOVERY_PAGE_SIZE", VL_OPT_INT, "100", 1, 10000, discovery_page_size, OUT,
        "Activities per Change Discovery page"),
    /* caches */
    OPT("MAX_IMAGE_CACHE_SIZE", VL_OPT_FLOAT, "10", 0, 65536, max_image_cache_size, IIP,
        "Decoded tile cache per worker, MB; 0 off"),
    OPT("MAX_METADATA_CACHE_SIZE", VL_OPT_INT, "64", -1, 100000, max_metadata_cache_size, IIP,
        "Open image handles kept per worker; 0 off, -1 unlimited"),
    OPT("MEMCACHED_SERVERS", VL_OPT_STRING, "", 0, 0, memcached_servers, IIP,
        "memcached servers (libmemcached syntax, e.g. 'localhost:11211,cache2'); empty off"),
    OPT("MEMCACHED_TIMEOUT", VL_OPT_INT, "86400", 0, 2592000, memcached_timeout, IIP,
        "Expiry of memcached entries, seconds"),
    OPT("CODEC_PASSTHROUGH", VL_OPT_BOOL, "1", 0, 1, codec_passthrough, IIP | OUT,
        "Send stored JPEG tiles as they are when a request asks for exactly one"),
    OPT("EXIF_ORIENTATION", VL_OPT_BOOL, "1", 0, 1, exif_orientation, OUT,
        "Serve a flat JPEG upright as its EXIF Orientation tag says; 0: as stored"),
    OPT("MAX_LAYERS", VL_OPT_INT, "-1", -1, 65535, max_layers, IIP | OUT,
        "JPEG 2000 quality layers to decode: -1 or 0 all (iipsrv: 0 = half), N the first N"),
    /* process */
    OPT("WORKERS", VL_OPT_INT, "0", 0, 1024, workers, 0,
        "Worker processes with --bind (0: one per CPU); --workers overrides"),
    OPT("THREADS", VL_OPT_INT, "4", 1, 64, threads, 0,
        "Accepting threads per worker, each with its own connection and request"),
    OPT("MAX_REQUESTS", VL_OPT_INT, "0", 0, 1e15, max_requests, 0,
        "A worker exits (and is replaced) after this many requests; 0 never"),
    OPT("BACKLOG", VL_OPT_INT, "2048", 1, 65535, backlog, 0,
        "listen() backlog with --bind; --backlog overrides"),
    OPT("FCGI_READ_TIMEOUT", VL_OPT_INT, "5", 1, 3600, fcgi_read_timeout, 0,
        "Seconds a FastCGI connection has to send a whole request (from its accept or the request's first byte); then it is closed"),
    OPT("FCGI_MAX_IDLE", VL_OPT_INT, "256", 1, 65536, fcgi_max_idle, 0,
        "FastCGI connections a worker keeps parked (kept alive, or with part of a request); beyond it the oldest is closed"),
    /* operations */
    OPT("METRICS_ALLOW", VL_OPT_STRING, "127.0.0.1 ::1", 0, 0, metrics_allow, 0,
        "Client addresses (REMOTE_ADDR) that may read /metrics: addresses or IPv4 a.b.c.d/n, blank-separated; empty: nobody"),
    OPT("TRUSTED_PROXIES", VL_OPT_STRING, VL_TRUSTED_DEFAULT, 0, 0, trusted_proxies, 0,
        "Peers whose X-Forwarded-For names the client (log, rate limit): addresses or prefixes a.b.c.d/n, x::/n, blank-separated; empty: none"),
    OPT("RATE_LIMIT", VL_OPT_INT, "0", 0, 1e9, rate_limit, 0,
        "Requests one client may make per RATE_LIMIT_WINDOW (X-RateLimit-* headers, then 429); 0: off"),
    OPT("RATE_LIMIT_WINDOW", VL_OPT_INT, "60", 1, 86400, rate_limit_window, 0,
        "Seconds of a client's rate limit window, from its first request"),
};

#undef IIP
#undef OUT

const size_t vl_conf_noptions = sizeof(vl_conf_options) / sizeof(vl_conf_options[0]);

/* iipsrv names vellum accepts and ignores (warned), and aliases */
static const char *const conf_ignored[] = {
    "FILENAME_PATTERN", "WATERMARK", "WATERMARK_PROBABILITY",
    "WATERMARK_OPACITY", "IIIF_EXTRA_INFO",
    "IIIF_EXTENSIONS", "KAKADU_READMODE", "DECODER_MODULES",
    "AVIF_QUALITY", "AVIF_CODEC",
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

const char *
vl_conf_value(const vl_conf_t *conf, const vl_opt_t *opt, char *buf,
              size_t size)
{
    const char *field = (const char *) conf + opt->offset;

    switch (opt->type) {
    case VL_OPT_INT:
    case VL_OPT_BOOL:
        snprintf(buf, size, "%ld", *(const long *) field);
        return buf;
    case VL_OPT_FLOAT:
        snprintf(buf, size, "%.17g", *(const double *) field);
        return buf;
    case VL_OPT_STRING:
    case VL_OPT_DIR:
        return *(char *const *) field != NULL ? *(char *const *) field : "";
    }
    return "";
}

/* Protocols of iipsrv's URI_MAP that vellum does not serve: warned about
 * and left out, so an iipsrv configuration still starts. */
static const char *const conf_foreign_protocols[] = {
    "IIP", "Zoomify", "DeepZoom", NULL
};

static int
conf_uri_map_sep(char c)
{
    return c == ' ' || c == '\t' || c == ',';
}

static void
conf_uri_map_warn(FILE *warn, const char *what, int len, const char *tok,
                  const char *why)
{
    if (warn != NULL) {
        fprintf(warn, "vellum: warning: URI_MAP: %s '%.*s' %s; ignored\n",
                what, len, tok, why);
    }
}

/* One URI_MAP entry "prefix=>protocol" (blanks around "=>" already
 * dropped): added when the protocol is IIIF, else warned about. Never
 * fatal: iipsrv, too, only logs a map it cannot use. */
static int
conf_uri_map_entry(vl_conf_t *conf, const char *tok, size_t n, FILE *warn)
{
    const char *arrow = NULL, *a = tok, *e, *proto;
    size_t      plen;
    int         known = 0;

    for (size_t i = 0; i + 1 < n; i++) {
        if (tok[i] == '=' && tok[i + 1] == '>') {
            arrow = tok + i;
            break;
        }
    }
    proto = arrow != NULL ? arrow + 2 : NULL;
    if (arrow == NULL || proto == tok + n) {
        conf_uri_map_warn(warn, "entry", (int) n, tok,
                          "is not prefix=>IIIF");
        return VL_OK;
    }
    for (const char *q = proto; q < tok + n; q++) {
        if (!isalnum((unsigned char) *q)) {
            conf_uri_map_warn(warn, "entry", (int) n, tok,
                              "is not prefix=>IIIF");
            return VL_OK;
        }
    }
    if ((size_t) (tok + n - proto) != 4 || strncasecmp(proto, "IIIF", 4)) {
        for (size_t i = 0; conf_foreign_protocols[i] != NULL; i++) {
            known |= strlen(conf_foreign_protocols[i])
                         == (size_t) (tok + n - proto)
                     && strncasecmp(proto, conf_foreign_protocols[i],
                                    (size_t) (tok + n - proto)) == 0;
        }
        conf_uri_map_warn(warn, "entry", (int) n, tok,
                          known ? "maps to a protocol vellum does not serve "
                                  "(vellum serves IIIF)"
                                : "names an unknown protocol (vellum serves "
                                  "IIIF)");
        return VL_OK;
    }
    e = arrow;
    while (a < e && *a == '/') {
        a++;
    }
    while (e > a && e[-1] == '/') {
        e--;
    }
    plen = (size_t) (e - a);
    if (conf->nuri_maps == VL_URI_MAP_MAX) {
        conf_uri_map_warn(warn, "entry", (int) n, tok,
                          "is one entry too many (8 at most)");
        return VL_OK;
    }
    conf->uri_maps[conf->nuri_maps].prefix = strndup(a, plen);
    if (conf->uri_maps[conf->nuri_maps].prefix == NULL) {
        return vl_err_set(NULL, VL_ENOMEM, "out of memory");
    }
    conf->uri_maps[conf->nuri_maps].len = plen;
    conf->nuri_maps++;
    return VL_OK;
}

/* URI_MAP: "prefix=>IIIF" entries separated by blanks or commas; blanks
 * around "=>" are allowed, slashes around the prefix are dropped. */
static int
conf_uri_maps(vl_conf_t *conf, FILE *warn, vl_err_t *err)
{
    const char *s = conf->uri_map != NULL ? conf->uri_map : "";
    size_t      n = strlen(s), k = 0;
    char       *buf = malloc(n + 1);

    if (buf == NULL) {
        return vl_err_set(err, VL_ENOMEM, "out of memory");
    }
    /* drop the blanks around each "=>" */
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '=' && i + 1 < n && s[i + 1] == '>') {
            while (k > 0 && (buf[k - 1] == ' ' || buf[k - 1] == '\t')) {
                k--;
            }
            buf[k++] = '=';
            buf[k++] = '>';
            for (i += 2; i < n && (s[i] == ' ' || s[i] == '\t'); i++) {
            }
            i--;
            continue;
        }
        buf[k++] = s[i];
    }
    buf[k] = '\0';
    for (size_t i = 0; i < k;) {
        size_t j = i;

        while (j < k && !conf_uri_map_sep(buf[j])) {
            j++;
        }
        if (j > i && conf_uri_map_entry(conf, buf + i, j - i, warn) != VL_OK) {
            free(buf);
            return vl_err_set(err, VL_ENOMEM, "out of memory");
        }
        i = j + 1;
    }
    free(buf);
    return VL_OK;
}

/* What the build decodes with, when it can change pixels (untiled HTJ2K:
 * OpenJPH or OpenJPEG): part of the output fingerprint, so two hosts built
 * differently never share a cached response. */
#ifdef HAVE_OPENJPH
#define CONF_BUILD " openjph"
#else
#define CONF_BUILD ""
#endif

/* TIFF_COMPRESSION: a name, or iipsrv's number (0 none, 1 LZW, 2 Deflate,
 * 3 JPEG, 4 WebP, 5 Zstd), as that number; -1 for anything else. */
static int
conf_tiff_compression(const char *v)
{
    static const char *const names[] = { "none", "lzw", "deflate", "jpeg",
                                         "webp", "zstd" };

    for (int i = 0; i < 6; i++) {
        if (strcasecmp(v, names[i]) == 0
            || (v[0] == (char) ('0' + i) && v[1] == '\0')) {
            return i;
        }
    }
    return -1;
}

/* BACKGROUND: "RRGGBB" (an optional leading '#') into rgb. */
static int
conf_background(const char *s, unsigned char rgb[3])
{
    if (s == NULL) {
        return -1;
    }
    if (*s == '#') {
        s++;
    }
    if (strlen(s) != 6) {
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        unsigned v = 0;

        for (int k = 0; k < 2; k++) {
            char c = s[2 * i + k];

            v <<= 4;
            if (c >= '0' && c <= '9') {
                v |= (unsigned) (c - '0');
            } else if (c >= 'a' && c <= 'f') {
                v |= (unsigned) (c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                v |= (unsigned) (c - 'A' + 10);
            } else {
                return -1;
            }
        }
        rgb[i] = (unsigned char) v;
    }
    return 0;
}

/* Everything derived from the values, once per load. */
static int
conf_derive(vl_conf_t *conf, FILE *warn, vl_err_t *err)
{
    vl_limits_t *l = &conf->limits;
    vl_hash_t    h;
    char         buf[64];

    memset(l, 0, sizeof(*l));
    l->max_width = conf->max_cvt <= 0 ? 0 : (uint64_t) conf->max_cvt;
    l->max_height = l->max_width;
    l->max_area = conf->max_area <= 0 ? 0 : (uint64_t) conf->max_area;
    l->allow_upscaling = conf->allow_upscaling != 0;
    l->oversample = conf->level_oversample >= 1.0 ? conf->level_oversample
                                                  : 1.0;
    conf->output.jpeg_quality = (int) conf->jpeg_quality;
    conf->output.png_level = (int) conf->png_quality;
    conf->output.webp_quality = (int) conf->webp_quality;
    conf->output.tiff_quality = (int) conf->tiff_quality;
    conf->output.jp2_rate = (int) conf->jp2_rate;
    if ((conf->output.tiff_compression = conf_tiff_compression(
             conf->tiff_compression)) < 0) {
        return vl_err_set(err, VL_ECONF, "TIFF_COMPRESSION=%s is not a "
                          "compression: expected none, lzw, deflate, jpeg, "
                          "webp, zstd or 0 to 5", conf->tiff_compression);
    }
    conf->output.interpolation = (int) conf->interpolation;
    if (conf->output_bits != 8 && conf->output_bits != 16) {
        return vl_err_set(err, VL_ECONF,
                          "OUTPUT_BITS=%ld is out of range: expected 8 or 16",
                          conf->output_bits);
    }
    conf->output.output_bits = (int) conf->output_bits;
    conf->output.max_icc = conf->max_icc;
    conf->output.passthrough = conf->codec_passthrough != 0;
    conf->output.icc_to_srgb = conf->icc_to_srgb != 0;
    if (conf_background(conf->background, conf->output.background) != 0) {
        return vl_err_set(err, VL_ECONF,
                          "BACKGROUND=%s: expected a colour as 6 hex digits "
                          "RRGGBB (e.g. ffffff)", conf->background);
    }
    conf->max_response_bytes = (size_t) conf->max_response_size << 20;
    conf->budget.max_pixels = conf->max_decode_pixels <= 0
                                  ? 0 : (uint64_t) conf->max_decode_pixels;
    conf->budget.max_bytes = conf->max_request_memory <= 0
                                 ? 0 : (uint64_t) conf->max_request_memory << 20;
    conf->budget.timeout_s = (double) conf->request_timeout;
    conf->budget.heavy_threads = conf->heavy_threads > 0
                                     ? conf->heavy_threads
                                     : (conf->threads / 2 > 0
                                            ? conf->threads / 2 : 1);
    conf->budget.heavy_pixels = (uint64_t) conf->heavy_pixels;
    conf->tile_cache_bytes = (size_t) (conf->max_image_cache_size * 1048576);

    /* MAX_LAYERS 0 and -1 both mean every layer: one value, one
     * fingerprint */
    if (conf->max_layers == 0) {
        conf->max_layers = -1;
    }
    /* the output fingerprint: the program and the decoders it was built
     * with, then every option flagged as changing response bytes, by name
     * and value. A new such option only needs its flag in the table to
     * reach every ETag and cache key. */
    vl_hash_init(&h);
    vl_hash_str(&h, "vellum output " PACKAGE_VERSION CONF_BUILD);
    for (size_t i = 0; i < vl_conf_noptions; i++) {
        const vl_opt_t *opt = &vl_conf_options[i];

        if (opt->flags & VL_OPT_OUTPUT) {
            vl_hash_str(&h, opt->name);
            vl_hash_str(&h, vl_conf_value(conf, opt, buf, sizeof(buf)));
        }
    }
    vl_hash_final(&h, conf->fingerprint);
    return conf_uri_maps(conf, warn, err);
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
    if (conf_derive(conf, warn, err) != VL_OK) {
        vl_conf_free(conf);
        return NULL;
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
    for (size_t i = 0; i < conf->nuri_maps; i++) {
        free(conf->uri_maps[i].prefix);
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
