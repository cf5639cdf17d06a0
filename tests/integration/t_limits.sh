#!/bin/bash
# SPDX-License-Identifier: MIT
# t_limits: bounded cost per request (issue 14) behind a real nginx. The
# tiny JPEG 2000 bombs of tests/fixtures/mkbomb.c (82-187 bytes declaring
# 65535x65535 at 16 bits) are refused with 400 before anything is decoded
# (MAX_DECODE_PIXELS, MAX_REQUEST_MEMORY), quickly and without the worker
# growing; ordinary images are served. With the budget lifted, a bomb runs
# into REQUEST_TIMEOUT (503, Retry-After); a client that goes away stops its
# request at the next check; HEAVY_THREADS=1 of THREADS=4 answers a second
# heavy request with an immediate 503 while a tile request is served.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
vl_setup t_limits

for f in bomb.j2k bomb0.j2k bomb3.j2k bomb.jp2 bomb-cdef.jp2 rgb.jp2 rgb-deflate.tif \
         strip.tif; do
    [ -f "$VL_FIXTURES/$f" ] || { echo "SKIP: fixture $f missing"; exit 77; }
done
U=
# timed URL [curl args]: status and seconds of one GET, "STATUS SECONDS"
timed() {
    local url=$1
    shift
    curl -s --max-time 30 -o "$T/body" -D "$T/headers" \
        -w '%{http_code} %{time_total}' "$@" "$url"
}
# lt A B: A < B (decimals)
lt() {
    awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'
}
# the peak resident size of the (one) worker, MB
worker_hwm() {
    local w
    w=$(pgrep -P "$VL_VELLUM_PID" | head -n 1)
    awk '/^VmHWM:/ { print int($2 / 1024) }' "/proc/$w/status"
}
start() {
    vl_start_vellum --workers 1 "$@" || { vl_check "vellum starts" false; vl_done; }
}

# --- the default budget refuses the bombs, before decoding anything
start
vl_start_nginx || { vl_check "nginx starts" false; vl_done; }
U=$VL_URL/iiif
for req in bomb.j2k/full/max/0/default.jpg bomb3.j2k/full/max/0/default.jpg \
           bomb.jp2/full/max/0/default.jpg bomb0.j2k/full/256,/0/default.jpg \
           bomb0.j2k/full/max/0/default.png \
           bomb3.j2k/0,0,512,512/512,/0/default.jpg; do
    read -r code secs <<<"$(timed "$U/$req")"
    vl_eq "$req: 400" 400 "$code"
    vl_check "$req: the reason says so" \
        grep -q "request too large for this image" "$T/body"
    vl_check "$req: answered in under 2 s ($secs s)" lt "$secs" 2
done
vl_check "the reason gives the figures and the option" \
    grep -Eq "[0-9]+ (megapixels|MB).*(MAX_DECODE_PIXELS|MAX_REQUEST_MEMORY)" \
    "$T/body"
vl_check "no path in the body" bash -c "! grep -q '$VL_FIXTURES' '$T/body'"
vl_eq "a bomb's info.json is still described" 200 \
    "$(vl_get "$U/bomb.j2k/info.json")"
vl_check "... at its declared size" grep -Eq '"width": *65535' "$T/body"
read -r code secs <<<"$(timed "$U/bomb-cdef.jp2/info.json")"
vl_eq "a bomb whose JP2 header needs a decode at open: 400 for info.json" \
    400 "$code"
vl_check "... before decoding (${secs} s)" lt "$secs" 1
vl_check "... saying why" grep -q "reading its JPEG 2000 header" "$T/body"
vl_eq "an ordinary JP2 at full/max" 200 \
    "$(vl_get "$U/rgb.jp2/full/max/0/default.jpg")"
vl_eq "an ordinary TIFF thumbnail" 200 \
    "$(vl_get "$U/rgb-deflate.tif/full/256,/0/default.png")"
vl_eq "an arbitrary rotation of an ordinary image" 200 \
    "$(vl_get "$U/rgb.jp2/full/max/22.5/default.png")"
hwm=$(worker_hwm)
vl_check "the worker never grew past 300 MB (peak $hwm MB)" \
    test "${hwm:-9999}" -lt 300

# --- the budget lifted: REQUEST_TIMEOUT stops a bomb with 503
vl_stop_vellum
# (HEAVY_PIXELS=100000: a 512 viewer tile of strip.tif, 500x400, decodes
# and outputs more, and is still never refused for load)
MAX_DECODE_PIXELS=-1 MAX_REQUEST_MEMORY=-1 REQUEST_TIMEOUT=2 THREADS=4 \
    HEAVY_THREADS=1 HEAVY_PIXELS=100000 start
read -r code secs <<<"$(timed "$U/bomb0.j2k/full/256,/0/default.jpg")"
vl_eq "REQUEST_TIMEOUT=2: a bomb with no budget is a 503" 503 "$code"
# one OpenJPEG call of a bomb cannot be interrupted: seconds under ASan
vl_check "... soon after 2 s ($secs s)" lt "$secs" 20
vl_check "... saying it timed out" grep -q "timed out" "$T/body"
vl_check "... with Retry-After" test -n "$(vl_header Retry-After)"

# --- admission: HEAVY_THREADS=1, a second heavy request gets 503 at once,
# and a tile request is served meanwhile
# (full/600, reads level 6 of bomb0, 1024x1024, more than one viewer tile)
timed "$U/bomb0.j2k/full/600,/0/default.jpg" -o "$T/body-a" \
    -D "$T/headers-a" > "$T/first" &
first=$!
sleep 0.5
read -r code secs <<<"$(timed "$U/bomb0.j2k/full/700,/0/default.jpg")"
vl_eq "a second heavy request while one runs: 503" 503 "$code"
vl_check "... at once ($secs s)" lt "$secs" 1
vl_check "... saying the worker is busy" grep -q "HEAVY_THREADS" "$T/body"
vl_check "... with Retry-After" test -n "$(vl_header Retry-After)"
read -r code secs <<<"$(timed "$U/strip.tif/0,0,500,400/500,/0/default.jpg")"
vl_eq "a 512 viewer tile of a strip TIFF meanwhile (the tiles its info.json announces): 200" \
    200 "$code"
vl_check "... answered quickly ($secs s)" lt "$secs" 1
read -r code secs <<<"$(timed "$U/strip.tif/10,10,490,390/490,/0/default.jpg")"
vl_eq "... but a region off its grid, as many pixels: 503" 503 "$code"
read -r code secs <<<"$(timed "$U/rgb-deflate.tif/0,0,256,256/256,/0/default.jpg")"
vl_eq "a tile request meanwhile: 200" 200 "$code"
vl_check "... answered quickly ($secs s)" lt "$secs" 1
read -r code secs <<<"$(timed "$U/rgb.jp2/info.json")"
vl_eq "an info.json meanwhile: 200" 200 "$code"
vl_check "... answered quickly ($secs s)" lt "$secs" 1
read -r code secs <<<"$(timed "$U/bomb0.j2k/0,0,512,512/512,/0/default.jpg")"
vl_check "a viewer tile of the same image meanwhile is not refused for load ($code)" \
    bash -c "[ '$code' = 200 ] || ! grep -q HEAVY_THREADS '$T/body'"
wait "$first"
vl_eq "the first heavy request ran into its deadline" 503 \
    "$(cut -d' ' -f1 "$T/first")"
vl_eq "once it is done, a heavy request is admitted again" 503 \
    "$(vl_get "$U/bomb0.j2k/full/800,/0/default.jpg")"
vl_check "... and runs (to its deadline, not refused)" \
    grep -q "timed out" "$T/body"

# --- a client that goes away cancels its request (no deadline here): the
# only thread of the worker is free again at once
vl_stop_vellum
MAX_DECODE_PIXELS=-1 MAX_REQUEST_MEMORY=-1 REQUEST_TIMEOUT=0 THREADS=1 start
curl -s --max-time 1 -o /dev/null "$U/bomb0.j2k/full/256,/0/default.jpg"
read -r code secs <<<"$(timed "$U/rgb.jp2/info.json")"
vl_eq "after a client gave up on a bomb, the worker's one thread answers" \
    200 "$code"
vl_check "... within 15 s, not after the whole decode ($secs s)" lt "$secs" 15
ok=0
for i in $(seq 1 50); do
    grep -q "client went away" "$T/vellum.log" 2>/dev/null && { ok=1; break; }
    sleep 0.1
done
vl_eq "the log says the client went away" 1 "$ok"

# --- FCGI_ABORT_REQUEST on a kept connection cancels the request too
read -r code secs <<<"$(python3 "$(dirname "$0")/fcgi_abort.py" 127.0.0.1 \
    "$VL_FCGI_PORT" "IIIF=/bomb0.j2k/full/256,/0/default.jpg" 1 20)"
vl_eq "FCGI_ABORT_REQUEST: the request stops with a 503" 503 "$code"
vl_check "... within 15 s of the abort ($secs s)" lt "${secs:-99}" 15
vl_done
