/* SPDX-License-Identifier: MIT */
/*
 * cms: lcms2 transforms to sRGB, cached per profile and format (cms.h).
 * One process-wide cache of VL_CMS_SLOTS entries behind a mutex; an entry
 * is a transform, a verdict on a profile ("usable for grey/RGB/CMYK"), or
 * the memory that a profile is unusable. A transform handed out holds a
 * reference, so evicting it never frees it under a running request.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#ifdef HAVE_LCMS2
#include <lcms2.h>
#endif

#include "core/hash.h"
#include "core/log.h"
#include "source/cms.h"

#define VL_CMS_SLOTS 16

/* Profile checks share the cache, as kinds after the transforms. */
enum { CMS_CHECK_GRAY = VL_CMS_KINDS, CMS_CHECK_RGB, CMS_CHECK_CMYK };

struct vl_cms_xf_s {
    uint64_t  key[2];     /* hash of the profile bytes and the kind */
    int       kind;
    int       bad;        /* the profile is unusable for kind */
    void     *xf;         /* cmsHTRANSFORM, NULL for a verdict */
    unsigned  refs;       /* handed out, not released */
    int       cached;     /* still in the table */
    uint64_t  used;       /* LRU tick */
    int       in_bytes;   /* bytes of one input / output pixel */
    int       out_bytes;
};

static pthread_mutex_t cms_lock = PTHREAD_MUTEX_INITIALIZER;
static vl_cms_xf_t    *cms_slot[VL_CMS_SLOTS];
static uint64_t        cms_tick;
static unsigned long   cms_built, cms_hits;

int
vl_cms_available(void)
{
#ifdef HAVE_LCMS2
    return 1;
#else
    return 0;
#endif
}

vl_cms_kind_t
vl_cms_kind_for(int bands, int depth)
{
    static const vl_cms_kind_t k8[] = { VL_CMS_GRAY8, VL_CMS_GRAYA8,
                                        VL_CMS_RGB8, VL_CMS_RGBA8 };
    static const vl_cms_kind_t k16[] = { VL_CMS_GRAY16, VL_CMS_GRAYA16,
                                         VL_CMS_RGB16, VL_CMS_RGBA16 };

    if (bands < 1 || bands > 4) {
        bands = 3;
    }
    return depth == 2 ? k16[bands - 1] : k8[bands - 1];
}

static void
cms_key(const unsigned char *icc, size_t len, int kind, uint64_t key[2])
{
    vl_hash_t h;

    vl_hash_init(&h);
    vl_hash_u64(&h, (uint64_t) kind);
    vl_hash_u64(&h, (uint64_t) len);
    if (icc != NULL && len > 0) {
        vl_hash_bytes(&h, icc, len);
    }
    vl_hash_final(&h, key);
}

#ifdef HAVE_LCMS2

static void
cms_on_error(cmsContext ctx, cmsUInt32Number code, const char *text)
{
    (void) ctx;
    (void) code;
    if (vl_log_enabled(VL_LOG_DEBUG)) {
        vl_log(VL_LOG_DEBUG, NULL, "lcms2: %s", text);
    }
}

static pthread_once_t cms_once = PTHREAD_ONCE_INIT;

static void
cms_init(void)
{
    cmsSetLogErrorHandler(cms_on_error);
}

typedef struct {
    cmsUInt32Number       in, out;    /* lcms2 formats */
    cmsColorSpaceSignature space;     /* the source profile's */
    int                   in_bytes, out_bytes;
    int                   grey_out;   /* target: grey with sRGB's curve */
} cms_fmt_t;

static const cms_fmt_t cms_fmts[VL_CMS_KINDS] = {
    [VL_CMS_CMYK8] = { TYPE_CMYK_8, TYPE_RGB_8, cmsSigCmykData, 4, 3, 0 },
    [VL_CMS_CMYK16] = { TYPE_CMYK_16, TYPE_RGB_8, cmsSigCmykData, 8, 3, 0 },
    [VL_CMS_LAB] = { TYPE_Lab_DBL, TYPE_RGB_8, cmsSigLabData, 24, 3, 0 },
    [VL_CMS_RGB8] = { TYPE_RGB_8, TYPE_RGB_8, cmsSigRgbData, 3, 3, 0 },
    [VL_CMS_RGBA8] = { TYPE_RGBA_8, TYPE_RGBA_8, cmsSigRgbData, 4, 4, 0 },
    [VL_CMS_RGB16] = { TYPE_RGB_16, TYPE_RGB_16, cmsSigRgbData, 6, 6, 0 },
    [VL_CMS_RGBA16] = { TYPE_RGBA_16, TYPE_RGBA_16, cmsSigRgbData, 8, 8, 0 },
    [VL_CMS_GRAY8] = { TYPE_GRAY_8, TYPE_GRAY_8, cmsSigGrayData, 1, 1, 1 },
    [VL_CMS_GRAYA8] = { TYPE_GRAYA_8, TYPE_GRAYA_8, cmsSigGrayData, 2, 2, 1 },
    [VL_CMS_GRAY16] = { TYPE_GRAY_16, TYPE_GRAY_16, cmsSigGrayData, 2, 2, 1 },
    [VL_CMS_GRAYA16] = { TYPE_GRAYA_16, TYPE_GRAYA_16, cmsSigGrayData, 4, 4,
                         1 },
};

/* Grey with sRGB's tone curve and a D50 white: what grey pixels are
 * converted to (the grey of sRGB, one band kept). */
static cmsHPROFILE
cms_srgb_grey(void)
{
    static const cmsFloat64Number p[5] = { 2.4, 1.0 / 1.055, 0.055 / 1.055,
                                           1.0 / 12.92, 0.04045 };
    cmsToneCurve *curve = cmsBuildParametricToneCurve(NULL, 4, p);
    cmsHPROFILE   prof;

    if (curve == NULL) {
        return NULL;
    }
    prof = cmsCreateGrayProfile(cmsD50_xyY(), curve);
    cmsFreeToneCurve(curve);
    return prof;
}

static cmsColorSpaceSignature
cms_check_space(int kind)
{
    return kind == CMS_CHECK_GRAY ? cmsSigGrayData
           : kind == CMS_CHECK_RGB ? cmsSigRgbData
                                   : cmsSigCmykData;
}

/* Build the entry's transform or verdict (outside the lock). Returns a
 * reason when the profile is unusable, else NULL (e->xf set for a
 * transform; NULL xf with no reason: out of memory). */
static const char *
cms_build(vl_cms_xf_t *e, const unsigned char *icc, size_t len)
{
    cmsHPROFILE in = NULL, out = NULL;
    const char *why = NULL;

    pthread_once(&cms_once, cms_init);
    if (e->kind == VL_CMS_LAB) {
        in = cmsCreateLab4Profile(NULL);
    } else if (icc == NULL || len < 132 || len > 0xffffffffu) {
        return "not an ICC profile";
    } else {
        in = cmsOpenProfileFromMem(icc, (cmsUInt32Number) len);
        if (in == NULL) {
            return "lcms2 cannot read it";
        }
    }
    if (in == NULL) {
        return NULL;
    }
    if (e->kind >= VL_CMS_KINDS) {
        if (cmsGetColorSpace(in) != cms_check_space(e->kind)) {
            why = "its colour space is not the image's";
        }
        cmsCloseProfile(in);
        return why;
    }
    if (cmsGetColorSpace(in) != cms_fmts[e->kind].space) {
        cmsCloseProfile(in);
        return "its colour space is not the image's";
    }
    out = cms_fmts[e->kind].grey_out ? cms_srgb_grey()
                                     : cmsCreate_sRGBProfile();
    if (out != NULL) {
        /* NOCACHE: one transform runs in many threads at once */
        cmsUInt32Number flags = cmsFLAGS_BLACKPOINTCOMPENSATION
                                | cmsFLAGS_NOCACHE;

        if (T_EXTRA(cms_fmts[e->kind].in) != 0) {
            flags |= cmsFLAGS_COPY_ALPHA;
        }
        e->xf = cmsCreateTransform(in, cms_fmts[e->kind].in, out,
                                   cms_fmts[e->kind].out,
                                   INTENT_RELATIVE_COLORIMETRIC, flags);
        if (e->xf == NULL) {
            why = "lcms2 cannot build a transform from it";
        }
        cmsCloseProfile(out);
    }
    cmsCloseProfile(in);
    e->in_bytes = cms_fmts[e->kind].in_bytes;
    e->out_bytes = cms_fmts[e->kind].out_bytes;
    return why;
}

static void
cms_free_entry(vl_cms_xf_t *e)
{
    if (e->xf != NULL) {
        cmsDeleteTransform(e->xf);
    }
    free(e);
}

#else /* !HAVE_LCMS2 */

static const char *
cms_build(vl_cms_xf_t *e, const unsigned char *icc, size_t len)
{
    (void) e;
    (void) icc;
    (void) len;
    return NULL;
}

static void
cms_free_entry(vl_cms_xf_t *e)
{
    free(e);
}

#endif

/* Under the lock: the entry of key, or NULL. */
static vl_cms_xf_t *
cms_find(const uint64_t key[2], int kind)
{
    for (int i = 0; i < VL_CMS_SLOTS; i++) {
        vl_cms_xf_t *e = cms_slot[i];

        if (e != NULL && e->kind == kind && e->key[0] == key[0]
            && e->key[1] == key[1]) {
            e->used = ++cms_tick;
            return e;
        }
    }
    return NULL;
}

/* Under the lock: put e into the table, evicting the least recently used
 * entry (freed now when nobody holds it, else by its last release). */
static void
cms_insert(vl_cms_xf_t *e)
{
    int victim = 0;

    for (int i = 0; i < VL_CMS_SLOTS; i++) {
        if (cms_slot[i] == NULL) {
            victim = i;
            break;
        }
        if (cms_slot[i]->used < cms_slot[victim]->used) {
            victim = i;
        }
    }
    if (cms_slot[victim] != NULL) {
        vl_cms_xf_t *old = cms_slot[victim];

        old->cached = 0;
        if (old->refs == 0) {
            cms_free_entry(old);
        }
    }
    e->cached = 1;
    e->used = ++cms_tick;
    cms_slot[victim] = e;
}

/* The identifier `who` (may be NULL) fit for a log line: printable ASCII,
 * at most size - 1 bytes, quoted. */
static void
cms_name(const char *who, char *out, size_t size)
{
    size_t n = 0;

    out[0] = '\0';
    if (who == NULL || *who == '\0' || size < 8) {
        return;
    }
    out[n++] = '"';
    for (; *who != '\0' && n + 5 < size; who++) {
        unsigned char c = (unsigned char) *who;

        out[n++] = c >= 0x20 && c < 0x7f && c != '"' ? (char) c : '?';
    }
    if (*who != '\0') {
        out[n++] = '.';
        out[n++] = '.';
    }
    out[n++] = '"';
    out[n] = '\0';
}

/* The entry of (icc, kind), built on a miss; *e holds a reference when it
 * is a transform. Returns VL_OK, VL_EFORMAT (unusable), VL_ENOMEM. */
static int
cms_lookup(const unsigned char *icc, size_t len, int kind, int hold,
           const char *who, vl_cms_xf_t **out)
{
    uint64_t     key[2];
    vl_cms_xf_t *e, *found;
    const char  *why;

    cms_key(icc, len, kind, key);
    pthread_mutex_lock(&cms_lock);
    if ((e = cms_find(key, kind)) != NULL) {
        cms_hits++;
        if (hold && !e->bad) {
            e->refs++;
        }
        pthread_mutex_unlock(&cms_lock);
        *out = e;
        return e->bad ? VL_EFORMAT : VL_OK;
    }
    pthread_mutex_unlock(&cms_lock);

    /* build without the lock: another thread may build the same */
    if ((e = calloc(1, sizeof(*e))) == NULL) {
        return VL_ENOMEM;
    }
    memcpy(e->key, key, sizeof(e->key));
    e->kind = kind;
    why = cms_build(e, icc, len);
    if (why == NULL && e->xf == NULL && kind < VL_CMS_KINDS) {
        free(e);
        return VL_ENOMEM;
    }
    e->bad = why != NULL;

    pthread_mutex_lock(&cms_lock);
    if ((found = cms_find(key, kind)) != NULL) {
        /* lost the race: use the one in the table */
        cms_free_entry(e);
        e = found;
    } else {
        if (why != NULL) {
            char name[128];

            cms_name(who, name, sizeof(name));
            vl_log(VL_LOG_WARN, NULL,
                   "ICC profile dropped (%zu bytes%s%s): %s; the image is "
                   "served as if it had none", len, name[0] ? ", " : "",
                   name, why);
        }
        if (!e->bad) {
            cms_built++;
        }
        cms_insert(e);
    }
    if (hold && !e->bad) {
        e->refs++;
    }
    pthread_mutex_unlock(&cms_lock);
    *out = e;
    return e->bad ? VL_EFORMAT : VL_OK;
}

int
vl_cms_get(const unsigned char *icc, size_t len, vl_cms_kind_t kind,
           vl_cms_xf_t **xf, vl_err_t *err)
{
    vl_cms_xf_t *e = NULL;
    int          rc;

    *xf = NULL;
    if (!vl_cms_available()) {
        return vl_err_set(err, VL_EUNSUPP,
                          "colour management needs lcms2, not built in");
    }
    if ((int) kind < 0 || kind >= VL_CMS_KINDS) {
        return vl_err_set(err, VL_EINTERNAL, "no such colour transform");
    }
    rc = cms_lookup(kind == VL_CMS_LAB ? NULL : icc,
                    kind == VL_CMS_LAB ? 0 : len, (int) kind, 1, NULL, &e);
    if (rc == VL_ENOMEM) {
        return vl_err_set(err, VL_ENOMEM, "out of memory building a colour "
                                          "transform");
    }
    if (rc != VL_OK) {
        return vl_err_set(err, VL_EFORMAT, "unusable ICC profile");
    }
    *xf = e;
    return VL_OK;
}

void
vl_cms_release(vl_cms_xf_t *xf)
{
    if (xf == NULL) {
        return;
    }
    pthread_mutex_lock(&cms_lock);
    VL_ASSERT(xf->refs > 0);
    if (--xf->refs == 0 && !xf->cached) {
        cms_free_entry(xf);
    }
    pthread_mutex_unlock(&cms_lock);
}

void
vl_cms_run(const vl_cms_xf_t *xf, const void *in, void *out, uint32_t n)
{
#ifdef HAVE_LCMS2
    cmsDoTransform(xf->xf, in, out, n);
#else
    (void) xf;
    (void) in;
    (void) out;
    (void) n;
#endif
}

void
vl_cms_run_image(const vl_cms_xf_t *xf, vl_image_t *img, uint32_t w,
                 uint32_t h)
{
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *row = VL_IMAGE_ROW(img, y);

        vl_cms_run(xf, row, row, w);
    }
}

int
vl_cms_profile_ok(const unsigned char *icc, size_t len, int bands,
                  const char *who)
{
    vl_cms_xf_t *e = NULL;
    int          kind = bands == 0   ? CMS_CHECK_CMYK
                        : bands <= 2 ? CMS_CHECK_GRAY
                                     : CMS_CHECK_RGB;

    if (!vl_cms_available()) {
        return 1;
    }
    /* out of memory: not the profile's fault, keep it */
    return cms_lookup(icc, len, kind, 0, who, &e) != VL_EFORMAT;
}

void
vl_cms_flush(void)
{
    pthread_mutex_lock(&cms_lock);
    for (int i = 0; i < VL_CMS_SLOTS; i++) {
        vl_cms_xf_t *e = cms_slot[i];

        if (e != NULL) {
            e->cached = 0;
            if (e->refs == 0) {
                cms_free_entry(e);
            }
            cms_slot[i] = NULL;
        }
    }
    cms_built = cms_hits = 0;
    pthread_mutex_unlock(&cms_lock);
}

void
vl_cms_stats(unsigned long *built, unsigned long *hits)
{
    pthread_mutex_lock(&cms_lock);
    *built = cms_built;
    *hits = cms_hits;
    pthread_mutex_unlock(&cms_lock);
}

/* ------------------------------------------------ a source's profile */

struct vl_cms_src_s {
    const unsigned char *icc;     /* the backend's bytes (live as long as
                                   * the handle) */
    size_t               len;
    int                  bands;
    int                  failed[2];  /* per depth: no transform */
    vl_cms_xf_t         *xf[2];      /* per depth (1, 2), built lazily */
};

vl_cms_src_t *
vl_cms_source_open(vl_source_info_t *info, int to_srgb, const char *who)
{
    vl_cms_src_t *s;
    int           bands = info->geom.bands;

    if (info->icc == NULL || info->icc_len == 0) {
        return NULL;
    }
    if (!vl_cms_profile_ok(info->icc, info->icc_len, bands, who)) {
        info->icc = NULL;
        info->icc_len = 0;
        return NULL;
    }
    if (!to_srgb || !vl_cms_available()
        || (s = calloc(1, sizeof(*s))) == NULL) {
        return NULL;
    }
    s->icc = info->icc;
    s->len = info->icc_len;
    s->bands = bands;
    info->icc = NULL;
    info->icc_len = 0;
    return s;
}

void
vl_cms_source_apply(vl_cms_src_t *s, vl_image_t *img, uint32_t w,
                    uint32_t h)
{
    int d = img->depth == 2 ? 1 : 0;

    if (s == NULL || s->failed[d]) {
        return;
    }
    if (s->xf[d] == NULL
        && vl_cms_get(s->icc, s->len, vl_cms_kind_for(s->bands, d + 1),
                      &s->xf[d], NULL) != VL_OK) {
        s->failed[d] = 1;
        return;
    }
    vl_cms_run_image(s->xf[d], img, w, h);
}

void
vl_cms_source_close(vl_cms_src_t *s)
{
    if (s == NULL) {
        return;
    }
    vl_cms_release(s->xf[0]);
    vl_cms_release(s->xf[1]);
    free(s);
}
