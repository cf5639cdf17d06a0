#!/bin/bash
# SPDX-License-Identifier: MIT
# t_hostile: findings of issue 14 behind a real nginx: malformed regions
# and an empty identifier are 400s; a folder swapped for a link to one
# outside the root, back and forth, never serves the outside file; a file
# rewritten in place never gives a torn image; half-sent FastCGI requests
# on the worker's socket do not hold every thread.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
vl_setup t_hostile

PY=/usr/bin/python3
HOSTILE=$VL_TOP_SRCDIR/tests/integration/hostile.py
SECONDS_SWAP=${VL_SWAP_SECONDS:-6}
SECONDS_TORN=${VL_TORN_SECONDS:-6}

mkdir -p "$T/root/sub" "$T/outside"
cp "$VL_FIXTURES/grey.tif" "$T/root/sub/img.tif"        # 640x480
cp "$VL_FIXTURES/bg.tif" "$T/root/bg.tif"
cp "$VL_FIXTURES/rgb-big.tif" "$T/outside/img.tif"      # 1001x737
cp "$VL_FIXTURES/rgb-big.tif" "$T/outside/secret-outside.tif"
"$PY" "$HOSTILE" colours "$T" || { vl_check "colour files" false; vl_done; }
cp "$T/red.tif" "$T/root/torn.tif"

printf 'THREADS=4\nFCGI_READ_TIMEOUT=2\n' > "$T/vellum.conf"
FILESYSTEM_PREFIX=$T/root vl_start_vellum --workers 1 \
    --config "$T/vellum.conf" || { vl_check "vellum starts" false; vl_done; }
vl_start_nginx || { vl_check "nginx starts" false; vl_done; }

# --- malformed regions and an empty identifier: 400 with one line
for v in 2 3; do
    for r in '-1,0,10,10' '%201,0,10,10' '1,0,10,10%20' '+1,0,10,10' \
             '%2B1,0,10,10' '1.5,0,10,10' 'pct:-1,0,10,10' '1,0,10' \
             '1,0,10,10,1'; do
        code=$(vl_get "$VL_URL/iiif/$v/bg.tif/$r/max/0/default.jpg")
        vl_eq "v$v region '$r': 400" 400 "$code"
        vl_check "v$v region '$r': one line, no Location" \
            test "$(wc -l < "$T/body")" -le 1 -a -z "$(vl_header Location)"
        vl_check "v$v region '$r': the reason says region" \
            grep -q "region" "$T/body"
    done
    for u in "/iiif/$v//info.json" "/iiif/$v/" \
             "/iiif/$v//full/max/0/default.jpg"; do
        vl_eq "$u: 400" 400 "$(vl_get "$VL_URL$u")"
        vl_check "$u: 'empty identifier', no redirect" \
            test "$(cat "$T/body")" = "empty identifier" \
                 -a -z "$(vl_header Location)"
    done
done
# a literal space in the path never reaches vellum: nginx refuses the line
code=$("$PY" - "$VL_HTTP_PORT" <<'EOF'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /iiif/3/bg.tif/ 1,0,10,10/max/0/default.jpg HTTP/1.1\r\n"
          b"Host: x\r\nConnection: close\r\n\r\n")
print(s.recv(100).split(b" ")[1].decode())
EOF
)
vl_eq "a literal space in the region: 400 (nginx)" 400 "$code"

# --- a folder swapped for a link to one outside, back and forth
out=$("$PY" "$HOSTILE" swap "$T/root" "$T/outside" "$VL_HTTP_PORT" \
      "$SECONDS_SWAP")
echo "$out" | sed 's/^/# /'
vl_eq "directory swap: never the outside file" "leaks=0 []" \
    "$(echo "$out" | grep '^leaks=')"
# the race ran: answers from the inside folder and refusals while the
# link was in place, for each kind of request
for k in info image manifest collection; do
    vl_check "directory swap: $k answered 200 and 404" \
        "$PY" -c "import sys
c = [int(x) for x in '$(echo "$out" | tr ' ' '\n' | grep "^$k=" \
        | cut -d= -f2)'.split('/')]
sys.exit(0 if c[0] > 0 and c[1] > 0 and c[2] == 0 else 1)"
done
vl_check "directory swap: the folder swapped thousands of times" \
    test "$(echo "$out" | sed -n 's/^swaps=//p')" -gt 1000
vl_eq "after the swaps: the inside image" 200 \
    "$(vl_get "$VL_URL/iiif/3/sub%2Fimg.tif/info.json")"
vl_check "after the swaps: its width" grep -q '"width": *640' "$T/body"

# --- a file rewritten in place while it is read
out=$("$PY" "$HOSTILE" torn "$T/root/torn.tif" "$T/red.tif" "$T/blue.tif" \
      "$VL_HTTP_PORT" torn.tif "$SECONDS_TORN")
echo "# rewritten in place: $out"
vl_check "rewritten in place: no torn image" \
    test "$(echo "$out" | sed -E 's/.*torn=([0-9]+).*/\1/')" = 0
vl_check "rewritten in place: nothing but 200 and 503 Retry-After: 1" \
    test "$(echo "$out" | sed -E 's/.*other=([0-9]+).*/\1/')" = 0
vl_check "rewritten in place: whole versions were served" \
    test "$(echo "$out" | sed -E 's/^ok=([0-9]+).*/\1/')" -gt 0
vl_check "rewritten in place: changes were seen during reads" \
    test "$(echo "$out" | sed -E 's/.*changed=([0-9]+).*/\1/')" -gt 0
vl_check "rewritten in place: logged as a change" \
    grep -q "the image file changed while it was read" "$T/vellum.log"

# --- half-sent requests on the FastCGI socket (4 threads, 12 peers)
out=$("$PY" "$HOSTILE" slow 127.0.0.1 "$VL_FCGI_PORT" 12)
echo "# 12 stalled connections: a whole request answered in ${out%%
*} s; $(echo "$out" | tail -1)"
took=${out%%
*}
vl_check "12 half requests: a whole one answers within 1 s" \
    "$PY" -c "import sys; sys.exit(0 if '$took' != 'none' and float('$took') < 1.0 else 1)"
vl_eq "12 half requests: every one closed after FCGI_READ_TIMEOUT" \
    "closed=12" "$(echo "$out" | tail -1)"
vl_check "12 half requests: the closes are logged" \
    grep -q "FastCGI request not complete after 2 s" "$T/vellum.log"
vl_eq "12 half requests: nginx still served" 200 \
    "$(vl_get "$VL_URL/iiif/3/bg.tif/info.json")"

# FCGI_MAX_IDLE=4: of 12 half requests, the 8 parked longest are closed at
# once, not after FCGI_READ_TIMEOUT (60 s here)
vl_stop_vellum
printf 'THREADS=4\nFCGI_READ_TIMEOUT=60\nFCGI_MAX_IDLE=4\nVERBOSITY=2\n' \
    > "$T/vellum.conf"
FILESYSTEM_PREFIX=$T/root vl_start_vellum --workers 1 \
    --config "$T/vellum.conf" || { vl_check "vellum starts again" false; vl_done; }
out=$("$PY" "$HOSTILE" slow 127.0.0.1 "$VL_FCGI_PORT" 12 3)
echo "# FCGI_MAX_IDLE=4: $(echo "$out" | tr '\n' ' ')"
took=${out%%
*}
vl_check "FCGI_MAX_IDLE=4: a whole request answers within 1 s" \
    "$PY" -c "import sys; sys.exit(0 if '$took' != 'none' and float('$took') < 1.0 else 1)"
# 8, or 9 when the worker accepted the whole request's connection before
# its bytes came: parked for a moment, it pushed out one more stalled peer
closed=$(echo "$out" | tail -1)
vl_check "FCGI_MAX_IDLE=4: the 8 oldest closed within 3 s ($closed)" \
    test "$closed" = closed=8 -o "$closed" = closed=9
vl_check "FCGI_MAX_IDLE=4: said in the log" \
    grep -q "FastCGI connections parked (FCGI_MAX_IDLE): the oldest closed" \
    "$T/vellum.log"

# a graceful stop answers what nginx already sent on a kept connection:
# THREADS=1, the worker held (SIGSTOP) while a new connection and the kept
# one send a whole request each and SIGTERM comes; both are answered
vl_stop_vellum
printf 'THREADS=1\nVERBOSITY=2\n' > "$T/vellum.conf"
FILESYSTEM_PREFIX=$T/root vl_start_vellum --workers 1 \
    --config "$T/vellum.conf" || { vl_check "vellum starts again" false; vl_done; }
# (three times, with the worker the master starts again each time: which
# request a worker takes first varies)
prev= bad=0
for i in 1 2 3; do
    worker=
    for _ in $(seq 1 100); do
        worker=$(pgrep -P "$VL_VELLUM_PID" | head -1)
        [ -n "$worker" ] && [ "$worker" != "$prev" ] && break
        sleep 0.1
    done
    out=$("$PY" "$HOSTILE" stopdrain 127.0.0.1 "$VL_FCGI_PORT" "$worker" \
          /bg.tif/info.json)
    echo "# graceful stop $i, a request waiting on a kept connection: $out"
    [ "$out" = "first=200 kept=200 new=200" ] || bad=$((bad + 1))
    prev=$worker
done
vl_eq "graceful stop: the kept connection's waiting request answered (3 stops)" \
    0 "$bad"

vl_done
