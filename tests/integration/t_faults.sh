#!/bin/bash
# SPDX-License-Identifier: MIT
# t_faults: the short form of bench/faults (issue 14) in make check: the
# fixtures behind the real nginx, 2 vellum workers and a real memcached,
# wrk -c12 on a mixed workload (tiles, regions, info.json, 5 % malformed
# requests, 1 % damaged copies of fixtures made at run time, light bombs
# besides), 12 s a phase: under load (no unexpected 5xx, no worker death),
# a worker killed by SIGKILL every 2 s (at most 1 % failed), memcached
# stopped and started again (no failure), SIGHUP every 3 s (no failure,
# every reload logged), files replaced by rename (never a stale or torn
# answer after the rename). Bounds are loose for a shared 2-core machine:
# it catches a crash or a failed request, not a slow one.

: "${VL_TOP_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${VL_TOP_BUILDDIR:=$VL_TOP_SRCDIR}"
command -v wrk >/dev/null || { echo "SKIP: wrk not found"; exit 77; }
command -v memcached >/dev/null || { echo "SKIP: memcached not found"; exit 77; }
grep -q '^#define HAVE_MEMCACHED 1' "$VL_TOP_BUILDDIR/config.h" 2>/dev/null \
    || { echo "SKIP: built without memcached"; exit 77; }
[ -f "$VL_FIXTURES/rgb-deflate.tif" ] || { echo "no fixtures in $VL_FIXTURES"; exit 99; }
rss=25
# ASan's quarantine holds freed memory for a while: RSS is not flat
grep -q 'fsanitize=address' "$VL_TOP_BUILDDIR/Makefile" 2>/dev/null && rss=200
exec "$VL_TOP_SRCDIR/bench/faults" --ci --rss-growth "$rss"
