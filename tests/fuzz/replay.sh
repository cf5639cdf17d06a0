#!/bin/sh
# SPDX-License-Identifier: MIT
# replay.sh: `make check` replays every fuzz corpus through its target's
# plain-main build (tests/fuzz/fuzz_TARGET, linked with replay.c, the
# sanitizers of the build): the committed seeds (corpus/TARGET), every
# input that once crashed (regress/TARGET), the seeds generated from the
# tests' inputs (lib.sh), and the fixture images for the source targets.
# No clang needed. Exit 0, or 1 when a target failed on an input.
set -u
: "${VL_TOP_SRCDIR:?VL_TOP_SRCDIR not set: run through make check}"
: "${VL_TOP_BUILDDIR:?VL_TOP_BUILDDIR not set: run through make check}"
. "$VL_TOP_SRCDIR/tests/fuzz/lib.sh"

seeds="$VL_TOP_BUILDDIR/tests/fuzz/seeds"
fuzz_seeds "$seeds"
rc=0
for t in $FUZZ_TARGETS; do
    bin="$VL_TOP_BUILDDIR/tests/fuzz/fuzz_$t"
    set -- "$seeds/$t"
    for d in "$FUZZ_SRC/corpus/$t" "$FUZZ_SRC/regress/$t"; do
        [ -d "$d" ] && set -- "$@" "$d"
    done
    case $t in
    tiff|jp2) set -- "$@" "$VL_FIXTURES" ;;
    flat) set -- "$@" "$VL_FIXTURES/flat" ;;
    esac
    if out=$("$bin" "$@" 2>&1); then
        echo "ok - $t: $(printf '%s\n' "$out" | tail -n 1)"
    else
        printf '%s\n' "$out" | tail -n 60
        echo "not ok - $t"
        rc=1
    fi
done
exit $rc
