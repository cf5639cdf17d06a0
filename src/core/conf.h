/* SPDX-License-Identifier: MIT */
/*
 * conf: the one table of configuration options (name, type, default, range,
 * flags, help), read from an optional NAME=value file and then the
 * environment (environment wins). iipsrv's names are kept wherever iipsrv
 * has one. Loading also derives, once, everything the request path needs
 * in its own shape: the output limits, the render/encode options, byte
 * sizes, the parsed URI_MAP and the output fingerprint (a hash of every
 * option flagged as changing response bytes, walked from the table). A
 * vl_conf_t is built at start-up (and on SIGHUP), then read-only: safe to
 * share between threads.
 */
#ifndef VL_CONF_H
#define VL_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/types.h"

typedef enum {
    VL_OPT_INT,      /* long, range checked */
    VL_OPT_FLOAT,    /* double, range checked */
    VL_OPT_BOOL,     /* 0/1, also true/false/yes/no/on/off */
    VL_OPT_STRING,   /* free text */
    VL_OPT_DIR       /* existing directory (realpath stored) */
} vl_opt_type_t;

/* Option flags. */
#define VL_OPT_IIPSRV  1u    /* the name comes from iipsrv */
#define VL_OPT_OUTPUT  2u    /* another value may change the bytes of a
                              * response (an image or a JSON document): the
                              * option is part of the output fingerprint,
                              * hence of every ETag and memcached key */

/* TRUSTED_PROXIES by default: loopback, private and link-local peers */
#define VL_TRUSTED_DEFAULT                                              \
    "127.0.0.0/8 ::1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 "          \
    "169.254.0.0/16 fc00::/7 fe80::/10"

typedef struct {
    const char    *name;     /* environment / file name, e.g. "JPEG_QUALITY" */
    vl_opt_type_t  type;
    const char    *def;      /* default as text ("" = empty / unset) */
    double         min, max; /* accepted range for INT/FLOAT */
    size_t         offset;   /* offsetof(vl_conf_t, field) */
    unsigned       flags;    /* VL_OPT_* */
    const char    *help;     /* one line */
} vl_opt_t;

/* What the encoders and the pixel pipeline are told (derived per load). */
typedef struct {
    int  jpeg_quality;       /* JPEG_QUALITY, 1..100 */
    int  png_level;          /* PNG_QUALITY, zlib 0..9 */
    int  webp_quality;       /* WEBP_QUALITY, 0..100, -1 lossless */
    int  tiff_compression;   /* TIFF_COMPRESSION, iipsrv's 0..5 */
    int  tiff_quality;       /* TIFF_QUALITY, 1..100 */
    int  jp2_rate;           /* JP2_RATE, 0 lossless, N:1 */
    int  interpolation;      /* 0 nearest, 1 bilinear, 2 area + Lanczos3 */
    int  output_bits;        /* OUTPUT_BITS: 16 (16-bit png/tif from a
                              * 16-bit source) or 8 (always 8-bit) */
    long max_icc;            /* MAX_ICC: -1 any size, 0 none, N bytes */
    int  passthrough;        /* CODEC_PASSTHROUGH */
    int  icc_to_srgb;        /* ICC_TO_SRGB: convert, do not embed */
    unsigned char background[3]; /* BACKGROUND: RGB alpha is flattened on */
} vl_output_t;

/* What one request may cost (derived per load). */
typedef struct {
    uint64_t max_pixels;     /* decoded pixels, 0 = unlimited */
    uint64_t max_bytes;      /* memory at once, 0 = unlimited */
    double   timeout_s;      /* REQUEST_TIMEOUT, 0 = none */
    long     heavy_threads;  /* heavy requests at once per worker */
    uint64_t heavy_pixels;   /* decoded + output pixels of a heavy one */
} vl_budget_t;

/* One URI_MAP entry "prefix=>IIIF": a request path "/prefix/REST" is the
 * IIIF request REST. The prefix is stored without slashes around it; ""
 * maps every path. */
#define VL_URI_MAP_MAX 8

typedef struct {
    char   *prefix;
    size_t  len;
} vl_uri_map_t;

typedef struct {
    /* files */
    char   *filesystem_prefix;     /* realpath of the image root, no trailing / */
    char   *filesystem_suffix;
    /* logging */
    char   *logfile;               /* path, "syslog" or "stderr" */
    long    verbosity;             /* 0..5 */
    /* output */
    long    jpeg_quality;          /* 1..100 */
    long    png_quality;           /* zlib level 0..9 */
    long    webp_quality;          /* 0..100, -1 lossless */
    char   *tiff_compression;      /* name or iipsrv's 0..5 */
    long    tiff_quality;          /* 1..100 (TIFF JPEG, WebP) */
    long    jp2_rate;              /* 0 lossless, N:1 */
    long    max_icc;               /* bytes of ICC to embed, -1 all, 0 none */
    long    icc_to_srgb;           /* bool: convert profiled images to sRGB */
    char   *background;            /* "RRGGBB": what alpha is flattened on */
    long    interpolation;         /* 0 nearest, 1 bilinear, 2 lanczos3 */
    long    output_bits;           /* 16 or 8 */
    double  level_oversample;      /* pick level >= output * this */
    long    max_response_size;     /* MB, cap on an encoded body */
    /* limits */
    long    max_cvt;               /* maxWidth/maxHeight, -1 = unlimited */
    long    max_area;              /* maxArea in pixels, -1 = unlimited */
    long    allow_upscaling;       /* bool */
    /* bounded cost per request */
    long    max_decode_pixels;     /* -1/0 = unlimited */
    long    max_request_memory;    /* MB, -1/0 = unlimited */
    long    request_timeout;       /* seconds, 0 = none */
    long    heavy_threads;         /* 0 = threads / 2 */
    long    heavy_pixels;          /* what makes a request heavy */
    /* HTTP / IIIF */
    char   *cors;                  /* Access-Control-Allow-Origin; "" = off */
    char   *base_url;              /* e.g. https://example.org/iiif/ ; "" = from request */
    char   *cache_control;
    char   *presentation_cache_control;
    char   *uri_map;               /* "iiif=>IIIF" */
    long    iiif_version;          /* 2 or 3 */
    char   *copyright;             /* default rights URI */
    /* IIIF Presentation and Change Discovery */
    char   *iiif_delimiter;        /* ";": "id;2" is page 2; "" none */
    char   *provider_label;
    char   *provider_homepage;
    char   *homepage;              /* template with {id} */
    char   *see_also;              /* template with {id} */
    char   *see_also_format;
    char   *see_also_profile;
    long    thumbnail_size;        /* longest side of thumbnails */
    long    collection_size;       /* entries before a split */
    char   *state_dir;             /* Change Discovery log; "" off */
    long    scan_interval;         /* seconds, 0 = master never scans */
    long    discovery_page_size;   /* activities per page */
    /* caches */
    double  max_image_cache_size;  /* MB of decoded tiles per worker */
    long    max_metadata_cache_size; /* open image handles per worker */
    char   *memcached_servers;     /* "" = off */
    long    memcached_timeout;     /* expiry, seconds */
    long    codec_passthrough;     /* bool */
    long    exif_orientation;      /* bool: flat JPEG served upright */
    long    max_layers;            /* JPEG 2000 layers, -1/0 = all */
    /* process */
    long    workers;               /* 0 = number of CPUs */
    long    threads;               /* accepting threads per worker */
    long    max_requests;          /* per worker, 0 = unlimited */
    long    backlog;
    long    fcgi_read_timeout;     /* seconds for a whole request */
    long    fcgi_max_idle;         /* parked connections per worker */
    /* operations */
    char   *metrics_allow;         /* who may read /metrics */
    char   *trusted_proxies;       /* whose X-Forwarded-For counts */
    long    rate_limit;            /* requests per window, 0 = off */
    long    rate_limit_window;     /* seconds */

    /* derived once per load from the values above; read-only */
    vl_limits_t  limits;           /* MAX_CVT, MAX_AREA, ALLOW_UPSCALING,
                                      LEVEL_OVERSAMPLE */
    vl_output_t  output;
    size_t       max_response_bytes;   /* MAX_RESPONSE_SIZE in bytes */
    vl_budget_t  budget;           /* MAX_DECODE_PIXELS, MAX_REQUEST_MEMORY,
                                      REQUEST_TIMEOUT, HEAVY_* */
    size_t       tile_cache_bytes;     /* MAX_IMAGE_CACHE_SIZE in bytes */
    vl_uri_map_t uri_maps[VL_URI_MAP_MAX];  /* URI_MAP, in order */
    size_t       nuri_maps;
    uint64_t     fingerprint[2];   /* the version of vellum and every
                                      VL_OPT_OUTPUT option */
} vl_conf_t;

/* The table, in the order --help and the man page show it. */
extern const vl_opt_t vl_conf_options[];
extern const size_t   vl_conf_noptions;

/* Build a configuration: defaults, then `file` (may be NULL), then the
 * environment, then the derived values. Unknown names that look like
 * vellum's, and URI_MAP protocols vellum does not serve, are warned about
 * on `warn` (may be NULL). The strings live until vl_conf_free.
 * Errors: VL_ECONF with a message naming the variable, the value and the
 * accepted range (or form). Returns NULL on error. */
vl_conf_t *vl_conf_load(const char *file, FILE *warn, vl_err_t *err);

/* Same, from an explicit environment array (tests); envp may be NULL. */
vl_conf_t *vl_conf_load_env(const char *file, char *const *envp, FILE *warn,
                            vl_err_t *err);

/* Check the start-up requirements of a server (FILESYSTEM_PREFIX set, etc.).
 * `vellum render/info` do not need them. */
int vl_conf_check_server(const vl_conf_t *conf, vl_err_t *err);

void vl_conf_free(vl_conf_t *conf);

/* Print every option with default and help (for --help). */
void vl_conf_print_help(FILE *out);

/* The value of option `opt` in conf as text ("%ld", "%.17g", "0"/"1",
 * the string): what the fingerprint hashes. Returns buf or the string
 * itself. */
const char *vl_conf_value(const vl_conf_t *conf, const vl_opt_t *opt,
                          char *buf, size_t size);

#endif /* VL_CONF_H */
