// SPDX-License-Identifier: MIT
//
// ojph: the C interface of ojph.h over OpenJPH's codestream reader. The
// only C++ in vellum: every call catches everything, so no exception
// reaches C code, and OpenJPH's messages go to a buffer, never to stderr.
//
// Debian's OpenJPH 0.9 is built with its assert()s on, and a damaged
// codestream can fail one (a packet header asking for more than 32 bits,
// a QCD that does not match the wavelet: found by tests/fuzz), which
// would abort the worker. vellum defines __assert_fail, which the
// library's calls reach (the executable's definition comes first): inside
// a call of this file it jumps back to the call, whose reader is then
// broken and left unfreed (OpenJPH's state is not to be trusted: its
// memory is lost until the worker restarts; htj2k.c never gives that file
// to OpenJPH again); anywhere else it does what glibc's does.
#include <cassert>
#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <new>
#include <pthread.h>

#include <openjph/ojph_arch.h>
#include <openjph/ojph_codestream.h>
#include <openjph/ojph_file.h>
#include <openjph/ojph_mem.h>
#include <openjph/ojph_message.h>
#include <openjph/ojph_params.h>

#include "source/ojph.h"

namespace {

// The assert trap (above): where a failed check jumps to, in this thread,
// while a call of this file runs OpenJPH; its text; how many so far; the
// readers lost so, kept reachable (they are not leaks by mistake).
thread_local std::jmp_buf *vl_ojph_guard;
thread_local char           vl_ojph_assert_text[160];
unsigned long               vl_ojph_nfailed; // under the caller's lock
void                      **vl_ojph_lost; // grows; under the caller's lock
size_t                      vl_ojph_nlost, vl_ojph_caplost;

// OpenJPH 0.9's configure_error() is a no-op, so its own handler always
// runs: it prints "ojph error 0x... at FILE:LINE: MESSAGE" to the error
// stream and throws std::runtime_error("ojph error"). The streams are
// pointed at a memory buffer (errors) and /dev/null (warnings, info);
// the message is taken from the buffer after the throw.
char           vl_ojph_errbuf[512];
FILE          *vl_ojph_errf;
FILE          *vl_ojph_null;
pthread_once_t vl_ojph_once = PTHREAD_ONCE_INIT;

void
vl_ojph_setup(void)
{
    vl_ojph_null = fopen("/dev/null", "we");
    vl_ojph_errf = fmemopen(vl_ojph_errbuf, sizeof(vl_ojph_errbuf) - 1, "w");
    if (vl_ojph_null == nullptr) {
        vl_ojph_null = fmemopen(nullptr, 4096, "w");
    }
    if (vl_ojph_errf != nullptr) {
        ojph::set_error_stream(vl_ojph_errf);
    } else if (vl_ojph_null != nullptr) {
        ojph::set_error_stream(vl_ojph_null);
    }
    if (vl_ojph_null != nullptr) {
        ojph::set_warning_stream(vl_ojph_null);
        ojph::set_info_stream(vl_ojph_null);
    }
}

// The message OpenJPH printed last, without its prefix, or `fallback`.
void
vl_ojph_msg(char *msg, size_t size, const char *what, const char *fallback)
{
    const char *why = fallback;
    char        line[sizeof(vl_ojph_errbuf)];

    line[0] = '\0';
    if (vl_ojph_errf != nullptr) {
        long n;

        fflush(vl_ojph_errf);
        n = ftell(vl_ojph_errf);
        if (n > 0 && (size_t) n < sizeof(vl_ojph_errbuf)) {
            const char *at, *colon;

            vl_ojph_errbuf[n] = '\0';
            at = strstr(vl_ojph_errbuf, " at ");
            colon = at != nullptr ? strstr(at, ": ") : nullptr;
            snprintf(line, sizeof(line), "%s",
                     colon != nullptr ? colon + 2 : vl_ojph_errbuf);
            line[strcspn(line, "\r\n")] = '\0';
            if (line[0] != '\0') {
                why = line;
            }
        }
        rewind(vl_ojph_errf);
    }
    if (msg != nullptr && size > 0) {
        snprintf(msg, size, "%s: %s", what,
                 why != nullptr && why[0] != '\0' ? why : "unknown error");
    }
}

} // namespace

extern "C" void
__assert_fail(const char *assertion, const char *file, unsigned int line,
              const char *function) noexcept
{
    if (vl_ojph_guard != nullptr) {
        std::jmp_buf *to = vl_ojph_guard;

        vl_ojph_guard = nullptr;
        snprintf(vl_ojph_assert_text, sizeof(vl_ojph_assert_text),
                 "OpenJPH failed its check '%s'", assertion);
        std::longjmp(*to, 1);
    }
    fprintf(stderr, "%s:%u: %s: Assertion `%s' failed.\n", file, line,
            function != nullptr ? function : "?", assertion);
    fflush(stderr);
    abort();
}

static void
vl_ojph_keep_lost(void *r)
{
    if (r == nullptr) {
        return;
    }
    if (vl_ojph_nlost == vl_ojph_caplost) {
        size_t cap = vl_ojph_caplost != 0 ? vl_ojph_caplost * 2 : 16;
        void **p = static_cast<void **>(
            realloc(vl_ojph_lost, cap * sizeof(*p)));

        if (p == nullptr) {
            return;
        }
        vl_ojph_lost = p;
        vl_ojph_caplost = cap;
    }
    vl_ojph_lost[vl_ojph_nlost++] = r;
}

extern "C" unsigned long
vl_ojph_failed_checks(void)
{
    return vl_ojph_nfailed;
}

namespace {

struct vl_ojph_failure : std::exception {
    const char *why;
    explicit vl_ojph_failure(const char *w) : why(w) {}
    const char *what() const noexcept override { return why; }
};

} // namespace

struct vl_ojph_s {
    ojph::codestream cs;
    ojph::mem_infile file;
    uint32_t         ncomps;
    uint32_t         w[VL_OJPH_MAX_COMPS], h[VL_OJPH_MAX_COMPS];
    uint32_t         line;
    bool             broken;
    bool             lost; // OpenJPH failed a check: never touched again
};

extern "C" vl_ojph_t *
vl_ojph_open(const unsigned char *data, size_t len, uint32_t level,
             char *msg, size_t msg_size)
{
    vl_ojph_t *volatile r = nullptr;
    std::jmp_buf        jb;

    pthread_once(&vl_ojph_once, vl_ojph_setup);
    if (setjmp(jb) != 0) {
        vl_ojph_nfailed++;
        vl_ojph_keep_lost(r);
        vl_ojph_msg(msg, msg_size, "cannot read the HTJ2K header",
                    vl_ojph_assert_text);
        return nullptr; // r and what OpenJPH holds: lost
    }
    vl_ojph_guard = &jb;
    try {
        r = new vl_ojph_t();
        r->file.open(data, len);
        r->cs.read_headers(&r->file);

        ojph::param_siz siz = r->cs.access_siz();
        ojph::param_cod cod = r->cs.access_cod();

        r->ncomps = siz.get_num_components();
        if (r->ncomps == 0 || r->ncomps > VL_OJPH_MAX_COMPS) {
            throw vl_ojph_failure("unsupported number of components");
        }
        if (level > cod.get_num_decompositions()) {
            throw vl_ojph_failure("no such resolution level");
        }
        for (uint32_t c = 0; c < r->ncomps; c++) {
            ojph::point ds = siz.get_downsampling(c);

            if (ds.x != 1 || ds.y != 1) {
                throw vl_ojph_failure("sub-sampled components");
            }
        }
        r->cs.restrict_input_resolution(level, level);
        r->cs.set_planar(false);
        r->cs.create();
        siz = r->cs.access_siz();
        for (uint32_t c = 0; c < r->ncomps; c++) {
            r->w[c] = siz.get_recon_width(c);
            r->h[c] = siz.get_recon_height(c);
        }
        vl_ojph_guard = nullptr;
        return r;
    } catch (const std::bad_alloc &) {
        vl_ojph_msg(msg, msg_size, "cannot read the HTJ2K header",
                    "out of memory");
    } catch (const vl_ojph_failure &e) {
        vl_ojph_msg(msg, msg_size, "cannot read the HTJ2K header", e.what());
    } catch (const std::exception &e) {
        vl_ojph_msg(msg, msg_size, "cannot read the HTJ2K header", nullptr);
    } catch (...) {
        vl_ojph_msg(msg, msg_size, "cannot read the HTJ2K header", nullptr);
    }
    vl_ojph_guard = nullptr;
    vl_ojph_close(r);
    return nullptr;
}

extern "C" uint32_t
vl_ojph_comps(const vl_ojph_t *r)
{
    return r->ncomps;
}

extern "C" uint32_t
vl_ojph_width(const vl_ojph_t *r, uint32_t comp)
{
    return comp < r->ncomps ? r->w[comp] : 0;
}

extern "C" uint32_t
vl_ojph_height(const vl_ojph_t *r, uint32_t comp)
{
    return comp < r->ncomps ? r->h[comp] : 0;
}

extern "C" uint32_t
vl_ojph_line(const vl_ojph_t *r)
{
    return r->line;
}

extern "C" int
vl_ojph_pull(vl_ojph_t *r, int32_t *const *rows, char *msg, size_t msg_size)
{
    std::jmp_buf jb;

    if (r->broken || r->line >= r->h[0]) {
        vl_ojph_msg(msg, msg_size, "cannot decode HTJ2K",
                    r->broken ? "the decoder failed earlier"
                              : "read past the last line");
        return -1;
    }
    if (setjmp(jb) != 0) {
        vl_ojph_nfailed++;
        vl_ojph_keep_lost(r);
        r->broken = r->lost = true;
        vl_ojph_msg(msg, msg_size, "cannot decode HTJ2K",
                    vl_ojph_assert_text);
        return -1;
    }
    vl_ojph_guard = &jb;
    try {
        for (uint32_t i = 0; i < r->ncomps; i++) {
            ojph::ui32      c = 0;
            ojph::line_buf *lb = r->cs.pull(c);

            if (lb == nullptr || c >= r->ncomps || lb->size < r->w[c]) {
                throw vl_ojph_failure("unexpected line from the decoder");
            }
            memcpy(rows[c], lb->i32, (size_t) r->w[c] * sizeof(int32_t));
        }
        vl_ojph_guard = nullptr;
        r->line++;
        return 0;
    } catch (const std::bad_alloc &) {
        vl_ojph_msg(msg, msg_size, "cannot decode HTJ2K", "out of memory");
    } catch (const vl_ojph_failure &e) {
        vl_ojph_msg(msg, msg_size, "cannot decode HTJ2K", e.what());
    } catch (const std::exception &e) {
        vl_ojph_msg(msg, msg_size, "cannot decode HTJ2K", nullptr);
    } catch (...) {
        vl_ojph_msg(msg, msg_size, "cannot decode HTJ2K", nullptr);
    }
    vl_ojph_guard = nullptr;
    r->broken = true;
    return -1;
}

extern "C" void
vl_ojph_close(vl_ojph_t *r)
{
    std::jmp_buf jb;

    if (r == nullptr || r->lost) {
        return; // a reader OpenJPH failed a check in is never touched
    }
    if (setjmp(jb) != 0) {
        vl_ojph_nfailed++;
        vl_ojph_keep_lost(r);
        return; // lost too
    }
    vl_ojph_guard = &jb;
    try {
        r->cs.close();
    } catch (...) {
    }
    vl_ojph_guard = nullptr;
    delete r;
}
