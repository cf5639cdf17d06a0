#!/bin/sh
# SPDX-License-Identifier: MIT
# run.sh TARGET|all SECONDS: run fuzz targets with libFuzzer (clang's
# -fsanitize=fuzzer, ASan and UBSan), one after the other, each for
# SECONDS, one process at a time at nice 10.
#
# It builds a clang tree in $FUZZ_BUILD (default build/fuzz under the
# source tree: configure with CC=clang and -fsanitize=fuzzer-no-link,
# `make fuzz-engine`) and the fixtures there, generates the seeds
# (lib.sh), then runs each target on its corpora: a working corpus in
# $FUZZ_BUILD/out/TARGET/corpus (new inputs go there), the committed
# seeds (corpus/TARGET), regress/TARGET, the generated seeds and, for the
# source targets, the fixture images; with iiif.dict for the request
# targets. A crash, leak, timeout or sanitizer report is saved under
# $FUZZ_BUILD/out/TARGET/crashes/ and makes the exit status 1.
#   tests/fuzz/run.sh plan 3600     the planner for an hour
#   tests/fuzz/run.sh all 60        every target for a minute
# Environment: FUZZ_BUILD, FUZZ_ARGS (more libFuzzer options),
# FUZZ_CONFIGURE (more configure arguments), FUZZ_MERGE=1 (after each
# run, minimise the committed seeds and the working corpus with -merge=1
# into tests/fuzz/corpus/TARGET, the seed set kept in git).
set -eu

here=$(cd "$(dirname "$0")" && pwd)
VL_TOP_SRCDIR=$(cd "$here/../.." && pwd)
export VL_TOP_SRCDIR
. "$here/lib.sh"

usage() {
    echo "usage: tests/fuzz/run.sh TARGET|all SECONDS (targets: $FUZZ_TARGETS)" >&2
    exit 2
}
[ $# -eq 2 ] || usage
want=$1 secs=$2
case $secs in ''|*[!0-9]*) usage ;; esac
if [ "$want" = all ]; then
    want=$FUZZ_TARGETS
else
    for t in $want; do
        case " $FUZZ_TARGETS " in *" $t "*) ;; *) usage ;; esac
    done
fi
command -v clang >/dev/null 2>&1 || {
    echo "run.sh: clang not found (Debian: apt-get install clang libclang-rt-14-dev)" >&2
    exit 2
}

fb=${FUZZ_BUILD:-$VL_TOP_SRCDIR/build/fuzz}
mkdir -p "$fb"
fb=$(cd "$fb" && pwd)
# vptr: its C++ runtime is not linked by the C driver (ojph.cc)
san="-fsanitize=address,undefined -fno-sanitize=vptr -fno-sanitize-recover=undefined"
flags="-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link $san"
# configure once (again when this script's flags change)
stamp="$fb/.run-configure"
if [ ! -f "$fb/Makefile" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$flags ${FUZZ_CONFIGURE:-}" ]; then
    [ -x "$VL_TOP_SRCDIR/configure" ] || (cd "$VL_TOP_SRCDIR" && autoreconf -fi)
    echo "run.sh: configure the clang tree in $fb"
    # shellcheck disable=SC2086
    (cd "$fb" && "$VL_TOP_SRCDIR/configure" -q CC=clang CXX=clang++ \
        CFLAGS="$flags" CXXFLAGS="$flags" LDFLAGS="$san" \
        --with-openjph ${FUZZ_CONFIGURE:-}) >"$fb/configure.out" 2>&1 || {
        tail -n 30 "$fb/configure.out" >&2
        exit 1
    }
    # objects of other flags go: make would not rebuild them
    make -s -C "$fb" clean >/dev/null 2>&1 || true
    printf '%s' "$flags ${FUZZ_CONFIGURE:-}" >"$stamp"
fi
jobs=${FUZZ_MAKE_JOBS:-2}
echo "run.sh: build the targets (make -j$jobs fuzz-engine)"
nice -n 10 make -s -C "$fb" -j"$jobs" fuzz-engine >"$fb/make.out" 2>&1 || {
    tail -n 40 "$fb/make.out" >&2
    exit 1
}
# the fixture tree (describe, handler; the source targets' seeds)
VL_FIXTURES=${VL_FIXTURES:-$fb/tests/fixtures/out}
export VL_FIXTURES
if [ ! -f "$VL_FIXTURES/tiny.tif" ]; then
    echo "run.sh: make the fixtures in $VL_FIXTURES"
    nice -n 10 make -s -C "$fb" -j"$jobs" tests/fixtures/mkfixtures \
        tests/fixtures/mkjp2 tests/fixtures/mkdepth16 tests/fixtures/mkbomb \
        tests/fixtures/mkkinds >>"$fb/make.out" 2>&1
    VL_TOP_BUILDDIR=$fb sh "$VL_TOP_SRCDIR/tests/fixtures/run-mkfixtures.sh" \
        >"$fb/fixtures.out" 2>&1 || { tail -n 20 "$fb/fixtures.out" >&2; exit 1; }
fi
fuzz_seeds "$fb/tests/fuzz/seeds"

# ASan/UBSan: a leak or any UB report is a finding
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export ASAN_OPTIONS UBSAN_OPTIONS

rc=0
for t in $want; do
    out="$fb/out/$t"
    mkdir -p "$out/corpus" "$out/crashes"
    set -- "$out/corpus" "$fb/tests/fuzz/seeds/$t"
    for d in "$FUZZ_SRC/corpus/$t" "$FUZZ_SRC/regress/$t"; do
        [ -d "$d" ] && set -- "$@" "$d"
    done
    case $t in
    tiff|jp2) set -- "$@" "$VL_FIXTURES"; len=262144 ;;
    flat) set -- "$@" "$VL_FIXTURES/flat"; len=262144 ;;
    jp2box) len=8192 ;;
    handler|fcgi_env) set -- -dict="$FUZZ_SRC/iiif.dict" "$@"; len=2048 ;;
    *) set -- -dict="$FUZZ_SRC/iiif.dict" "$@"; len=1024 ;;
    esac
    before=$(ls "$out/crashes" | wc -l)
    echo "run.sh: $t for ${secs}s"
    # shellcheck disable=SC2086
    nice -n 10 "$fb/tests/fuzz/libfuzzer_$t" -max_total_time="$secs" \
        -max_len="$len" -timeout=20 -rss_limit_mb=2560 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/" ${FUZZ_ARGS:-} "$@" \
        >"$out/log" 2>&1 || true
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+ +DONE)' "$out/log" \
        | sed "s|^|run.sh: $t: |" || true
    if [ "${FUZZ_MERGE:-0}" = 1 ]; then
        keep="$FUZZ_SRC/corpus/$t"
        rm -rf "$out/merged"
        mkdir -p "$out/merged" "$keep"
        # the seeds in git stay small: inputs of at most 16 KB (64 KB for
        # the decoders)
        case $t in tiff|jp2|flat) mlen=65536 ;; *) mlen=16384 ;; esac
        if nice -n 10 "$fb/tests/fuzz/libfuzzer_$t" -merge=1 -max_len="$mlen" \
            "$out/merged" "$keep" "$out/corpus" >"$out/merge.log" 2>&1; then
            rm -f "$keep"/*
            cp "$out/merged"/* "$keep"/ 2>/dev/null || true
            echo "run.sh: $t: $(ls "$keep" | wc -l) seeds, $(du -sk "$keep" | cut -f1) KB in corpus/$t"
        else
            echo "run.sh: $t: merge failed, see $out/merge.log" >&2
            rc=1
        fi
    fi
    after=$(ls "$out/crashes" | wc -l)
    if [ "$after" -gt "$before" ] || grep -qE '^(==[0-9]+==ERROR|SUMMARY: |.*runtime error:)' "$out/log"; then
        echo "run.sh: $t: FOUND something: $out/crashes/, log $out/log" >&2
        grep -E 'ERROR|runtime error|check failed|SUMMARY' "$out/log" | head -n 5 >&2
        rc=1
    fi
done
exit $rc
