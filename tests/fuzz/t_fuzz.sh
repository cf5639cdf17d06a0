#!/bin/sh
# SPDX-License-Identifier: MIT
# t_fuzz.sh: the CI form of the fuzzing: every target of tests/fuzz/ run
# with libFuzzer under ASan and UBSan for VL_FUZZ_SECONDS (default 10)
# each, through run.sh (the clang tree in $VL_TOP_BUILDDIR/fuzz, built
# once and then only rebuilt for what changed). Fails on any crash, leak,
# timeout or sanitizer report (saved under $VL_TOP_BUILDDIR/fuzz/out/).
# Without clang and its libFuzzer runtime (Debian: clang,
# libclang-rt-14-dev) it is a SKIP, which ./quickstart test counts as a
# failure; VL_FUZZ_CI=0 (./quickstart: QUICKSTART_FUZZ=0) skips it on
# purpose.
set -u
: "${VL_TOP_SRCDIR:?VL_TOP_SRCDIR not set: run through make check}"
: "${VL_TOP_BUILDDIR:?VL_TOP_BUILDDIR not set: run through make check}"

if [ "${VL_FUZZ_CI:-1}" = 0 ]; then
    echo "SKIP: VL_FUZZ_CI=0"
    exit 77
fi
if ! command -v clang >/dev/null 2>&1; then
    echo "SKIP: clang not found (apt-get install clang libclang-rt-14-dev)"
    exit 77
fi
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n)\n{ (void) d; (void) n; return 0; }\n' >"$probe/p.c"
if ! clang -fsanitize=fuzzer,address,undefined -o "$probe/p" "$probe/p.c" \
    >"$probe/log" 2>&1; then
    cat "$probe/log"
    echo "SKIP: clang cannot link libFuzzer (apt-get install libclang-rt-14-dev)"
    exit 77
fi

start=$(date +%s)
FUZZ_BUILD="$VL_TOP_BUILDDIR/fuzz" \
    sh "$VL_TOP_SRCDIR/tests/fuzz/run.sh" all "${VL_FUZZ_SECONDS:-10}"
rc=$?
echo "t_fuzz: $(($(date +%s) - start)) s"
exit $rc
