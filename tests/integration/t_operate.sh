#!/bin/bash
# SPDX-License-Identifier: MIT
# t_operate: what an operator's tools read, through nginx/vellum.conf with
# two workers and a real memcached: /health (200 JSON, 503 when the image
# root goes away, no path in the body), /metrics in Prometheus text format
# parsed by a real parser (Debian's python3-prometheus-client), counters
# that move with traffic and are summed over the workers (requests by route
# and status, the latency histogram, bytes, memcached hits and misses,
# passthrough, open handles, worker restarts), METRICS_ALLOW, the client
# address in the access line (X-Forwarded-For behind the site's own proxy),
# and SIGUSR2 opening LOGFILE again after logrotate moved it.
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

MEMCACHED=$(command -v memcached || echo /usr/bin/memcached)
[ -x "$MEMCACHED" ] || { echo "SKIP: memcached not found"; exit 77; }
/usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null \
    || { echo "SKIP: python3-prometheus-client not installed"; exit 77; }
vl_setup operate
ROOT=$T/root
mkdir -p "$ROOT"
cp "$VL_FIXTURES/rgb-jpeg.tif" "$VL_FIXTURES/grey.tif" "$VL_FIXTURES/rgb-deflate.tif" "$ROOT/"
MC_PORT=$(vl_free_port)
MC_USER=
[ "$(id -u)" = 0 ] && MC_USER="-u root"
# shellcheck disable=SC2086
"$MEMCACHED" -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 16 $MC_USER >>"$T/memcached.log" 2>&1 &
vl_track $!
vl_wait_port "$MC_PORT" $! || { echo "# memcached did not start"; exit 1; }

start() {
    FILESYSTEM_PREFIX=$ROOT MEMCACHED_SERVERS=127.0.0.1:$MC_PORT VERBOSITY=1 \
        vl_start_vellum --workers 2 "$@"
}
start || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif

# scrape NAME: /metrics into $T/NAME.prom, checked by the parser; prints
# "ok" or the parser's complaint
scrape() {
    curl -s -o "$T/$1.prom" -D "$T/$1.h" "$U/metrics"
    /usr/bin/python3 - "$T/$1.prom" <<'EOP'
import sys
from prometheus_client.parser import text_string_to_metric_families
try:
    fams = list(text_string_to_metric_families(open(sys.argv[1]).read()))
    print("ok" if fams else "empty")
except Exception as e:
    print("unparsable: %s" % e)
EOP
}
# value FILE NAME LABELS: a sample's value (0 when absent), through the parser
value() {
    /usr/bin/python3 - "$@" <<'EOP'
import sys
from prometheus_client.parser import text_string_to_metric_families
want = dict(kv.split("=", 1) for kv in sys.argv[3].split(",") if kv)
v = 0
for f in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in f.samples:
        if s.name == sys.argv[2] and all(s.labels.get(k) == x for k, x in want.items()):
            v += s.value
print(int(v))
EOP
}

# ------------------------------------------------------------- health
st=$(vl_get "$U/health")
vl_eq "health: 200" 200 "$st"
vl_eq "health: JSON" ok "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$T/body")"
vl_eq "health: application/json" application/json "$(vl_header Content-Type)"
vl_eq "health: never cached" no-store "$(vl_header Cache-Control)"
vl_eq "health: HEAD 200" 200 "$(curl -s -o /dev/null -w '%{http_code}' -I "$U/health")"

# ------------------------------------------------------------ metrics
vl_eq "metrics: parsed by prometheus_client" ok "$(scrape a)"
vl_eq "metrics: the exposition format's type" "text/plain; version=0.0.4; charset=utf-8" \
    "$(tr -d '\r' < "$T/a.h" | sed -n 's/^Content-Type: //Ip')"
for i in 1 2 3 4 5; do vl_get "$U/3/grey.tif/info.json" >/dev/null; done
P=rgb-deflate.tif/0,0,300,200/150,/0/default.png
vl_get "$U/3/$P" >/dev/null
vl_get "$U/3/$P" >/dev/null
vl_get "$U/3/rgb-jpeg.tif/0,0,256,256/256,256/0/default.jpg" >/dev/null
vl_get "$U/3/no-such.tif/info.json" >/dev/null
sleep 0.3
vl_eq "metrics: parsed again" ok "$(scrape b)"
d() {    # d NAME LABELS: b - a
    echo $(( $(value "$T/b.prom" "$1" "$2") - $(value "$T/a.prom" "$1" "$2") ))
}
vl_eq "info.json 200s counted (both workers summed)" 5 "$(d vellum_requests_total route=info,status=200)"
vl_eq "image 200s counted" 3 "$(d vellum_requests_total route=image,status=200)"
vl_eq "a 404 counted" 1 "$(d vellum_requests_total route=info,status=404)"
vl_eq "latency histogram: count of info" 6 "$(d vellum_request_duration_seconds_count route=info)"
vl_eq "latency histogram: +Inf bucket of info" 6 "$(d vellum_request_duration_seconds_bucket route=info,le=+Inf)"
# info.json: built once, then 4 hits (whichever worker); the image: built
# once, then a hit; the stored tile is a passthrough, the 404 neither
vl_eq "memcached: the hits" 5 "$(d vellum_cache_requests_total tier=memcached,result=hit)"
vl_eq "memcached: the misses" 2 "$(d vellum_cache_requests_total tier=memcached,result=miss)"
vl_eq "passthrough: one" 1 "$(d vellum_passthrough_total '')"
vl_check "bytes out grew" test "$(d vellum_response_bytes_total '')" -gt 1000
vl_check "open handles: some" test "$(value "$T/b.prom" vellum_open_handles '')" -ge 1
vl_eq "workers started: 2" 2 "$(value "$T/b.prom" vellum_workers_started_total '')"

# a worker killed: counted as a restart once replaced
sleep 1.2
kill -9 "$(pgrep -P "$VL_VELLUM_PID" | head -1)"
sleep 1
scrape c >/dev/null
vl_eq "a killed worker: one restart" 1 "$(value "$T/c.prom" vellum_worker_restarts_total '')"
vl_eq "a killed worker: replaced" 3 "$(value "$T/c.prom" vellum_workers_started_total '')"

# ---------------------------------------------------- the access line
vl_check "access line: the client address" grep -q "\] 127.0.0.1 GET grey.tif/info.json 200" "$T/vellum.log"
vl_get "$U/3/grey.tif/info.json" -H "X-Forwarded-For: 6.6.6.6, 198.51.100.9" >/dev/null
sleep 0.2
vl_check "access line: behind a proxy, the hop it saw" grep -q "\] 198.51.100.9 GET grey.tif/info.json" "$T/vellum.log"

# ------------------------------------------------ SIGUSR2 and logrotate
mv "$T/vellum.log" "$T/vellum.log.1"
kill -USR2 "$VL_VELLUM_PID"
sleep 0.5
# (the access line has no query string: the moved file is checked by its
# line count, not by a marker)
moved_lines=$(wc -l < "$T/vellum.log.1")
for i in 1 2 3 4; do vl_get "$U/3/grey.tif/info.json?rotated" >/dev/null; done
sleep 0.3
vl_check "SIGUSR2: LOGFILE opened again by its name" test -s "$T/vellum.log"
vl_eq "SIGUSR2: the workers write to the new file" 4 "$(grep -c 'grey.tif/info.json 200' "$T/vellum.log")"
vl_eq "SIGUSR2: nothing more in the moved one" "$moved_lines" "$(wc -l < "$T/vellum.log.1")"
# LOGFILE's name taken by something vellum cannot open: said, not silent,
# and the lines keep going to the file it had
mv "$T/vellum.log" "$T/vellum.log.2"
mkdir "$T/vellum.log"
kill -USR2 "$VL_VELLUM_PID"
sleep 0.5
for i in 1 2; do vl_get "$U/3/grey.tif/info.json" >/dev/null; done
sleep 0.3
vl_check "SIGUSR2, LOGFILE not openable: an error line names it" \
    grep -q "error: cannot open LOGFILE $T/vellum.log again" "$T/vellum.log.2"
vl_check "SIGUSR2, LOGFILE not openable: on stderr too" \
    grep -q "error: cannot open LOGFILE $T/vellum.log again" "$T/vellum.stderr"
rmdir "$T/vellum.log"
mv "$T/vellum.log.2" "$T/vellum.log"
kill -USR2 "$VL_VELLUM_PID"
sleep 0.3

# ---------------------------------------------- health without its root
mv "$ROOT" "$ROOT.away"
st=$(vl_get "$U/health")
vl_eq "health, the root gone: 503" 503 "$st"
vl_check "health, the root gone: no path in the body" sh -c "! grep -q '$T' '$T/body'"
mv "$ROOT.away" "$ROOT"
vl_eq "health, the root back: 200" 200 "$(vl_get "$U/health")"

# ---------------------------------------------------- METRICS_ALLOW
vl_stop_vellum
METRICS_ALLOW="10.0.0.0/8 2001:db8::1" start || exit 1
vl_eq "METRICS_ALLOW without loopback: 403" 403 "$(vl_get "$U/metrics")"
vl_stop_vellum
METRICS_ALLOW="192.0.2.1, 127.0.0.0/8" start || exit 1
vl_eq "METRICS_ALLOW with 127.0.0.0/8: 200" 200 "$(vl_get "$U/metrics")"
vl_done
