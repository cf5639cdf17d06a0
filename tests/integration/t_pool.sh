#!/bin/bash
# SPDX-License-Identifier: MIT
# t_pool: the process front (issue 2) behind a real nginx: a request reaches
# a worker, --workers, respawn after kill -9, SIGHUP reload on the same
# socket, graceful SIGTERM with a request in flight, MAX_REQUESTS, keep-alive,
# the spawned mode (listening socket on fd 0), a unix socket, bad config.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
vl_setup t_pool

VELLUM=$VL_TOP_BUILDDIR/src/vellum

# worker pids of the running master, sorted, one line
workers() {
    pgrep -P "$VL_VELLUM_PID" | sort -n | tr '\n' ' ' | sed 's/ $//'
}

# wait_workers N [NOT]: wait (8 s) for N workers, none of them in NOT
wait_workers() {
    local i w p ok
    for i in $(seq 1 160); do
        w=$(workers)
        if [ "$(echo "$w" | wc -w)" = "$1" ]; then
            ok=1
            for p in $w; do
                case " $2 " in *" $p "*) ok=0 ;; esac
            done
            [ "$ok" = 1 ] && return 0
        fi
        sleep 0.05
    done
    return 1
}

# the inode of the socket listening on 127.0.0.1:PORT
listen_inode() {
    local hex
    hex=$(printf '0100007F:%04X' "$1")
    awk -v a="$hex" '$2 == a && $4 == "0A" { print $10 }' /proc/net/tcp
}

# pid of the worker that served the last request (X-Request-Id: pid36-n)
served_by() {
    local id
    id=$(vl_header X-Request-Id)
    echo $((36#${id%%-*}))
}

# N requests for an unknown identifier; prints how many were not a 404
miss_requests() {
    local i bad=0
    for i in $(seq 1 "$1"); do
        [ "$(vl_get "$VL_URL/iiif/no-such-image/info.json")" = 404 ] \
            || bad=$((bad + 1))
    done
    echo "$bad"
}

printf 'THREADS=4\n' > "$T/pool.conf"
vl_start_vellum --workers 2 --config "$T/pool.conf" || { vl_check "vellum starts" false; vl_done; }
vl_start_nginx || { vl_check "nginx starts" false; vl_done; }

# --------------------------------------------------------- a request
status=$(vl_get "$VL_URL/iiif/no-such-image/info.json")
vl_eq "unknown identifier through nginx is a 404" 404 "$status"
vl_eq "the 404 body is one line" 1 "$(wc -l < "$T/body")"
vl_eq "the 404 carries the CORS header" "*" \
    "$(vl_header Access-Control-Allow-Origin)"
vl_eq "Content-Length is exact" "$(wc -c < "$T/body")" \
    "$(vl_header Content-Length)"
vl_check "X-Request-Id names the worker" \
    kill -0 "$(served_by)"
vl_check "an access line is logged" \
    grep -q "GET no-such-image/info.json 404 " "$T/vellum.log"
len=$(wc -c < "$T/body")
vl_eq "HEAD: a 404 too" 404 "$(vl_get "$VL_URL/iiif/no-such-image/info.json" -I)"
vl_eq "HEAD: the Content-Length of the GET" "$len" "$(vl_header Content-Length)"

# --------------------------------------------------------- two workers
vl_check "--workers 2 gives two worker processes" wait_workers 2
vl_eq "the workers are the master's only children" 2 "$(workers | wc -w)"

# --------------------------------------------------------- keep-alive
slow=0
for i in $(seq 1 20); do
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 5 \
        "$VL_URL/iiif/no-such-image/$i/info.json")
    case "$t" in
        "404 "0.[01]*) ;;
        *) slow=$((slow + 1)); echo "# request $i: $t" ;;
    esac
done
vl_eq "keep-alive: 20 sequential requests, all 404 within 0.2 s" 0 "$slow"

# --------------------------------------------------------- kill -9
before=$(workers)
victim=${before%% *}
kill -9 "$victim"
vl_check "kill -9 of a worker: a new one replaces it" \
    wait_workers 2 "$victim"
vl_eq "requests keep succeeding after the kill" 0 "$(miss_requests 10)"
vl_check "the death is logged with pid and signal" \
    grep -q "worker $victim died (killed by signal 9" "$T/vellum.log"

# --------------------------------------------------------- SIGHUP
before=$(workers)
inode=$(listen_inode "$VL_FCGI_PORT")
miss_requests 60 > "$T/hup-misses" &
load=$!
sleep 0.2
kill -HUP "$VL_VELLUM_PID"
vl_check "SIGHUP: a new generation of workers" wait_workers 2 "$before"
wait "$load"
vl_eq "SIGHUP: requests during the reload all succeed" 0 \
    "$(cat "$T/hup-misses")"
vl_eq "SIGHUP: the listening socket is the same" "$inode" \
    "$(listen_inode "$VL_FCGI_PORT")"
vl_eq "SIGHUP: requests after the reload succeed" 0 "$(miss_requests 5)"
gone=1
for p in $before; do
    for i in $(seq 1 100); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$p" 2>/dev/null && gone=0
done
vl_check "SIGHUP: the old workers exit" [ "$gone" = 1 ]

# SIGHUP with a bad configuration keeps the running one
before=$(workers)
printf 'THREADS=4\nJPEG_QUALITY=500\n' > "$T/pool.conf"
kill -HUP "$VL_VELLUM_PID"
for i in $(seq 1 100); do
    grep -q "reload failed" "$T/vellum.log" && break
    sleep 0.05
done
vl_check "SIGHUP with a bad config: logged with the variable" \
    grep -q "reload failed.*JPEG_QUALITY" "$T/vellum.log"
vl_eq "SIGHUP with a bad config: the workers stay" "$before" "$(workers)"
vl_eq "SIGHUP with a bad config: requests succeed" 0 "$(miss_requests 5)"
printf 'THREADS=4\n' > "$T/pool.conf"

# --------------------------------------------------------- SIGTERM
# a slow request: the largest render vellum accepts of a fixture it serves
slow_url=
slow_time=0
for f in rgb-deflate.tif rgb-lzw.tif rgb-none.tif; do
    u="$VL_URL/iiif/3/$f/full/%5E5000,/0/default.png"
    t=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' --max-time 30 "$u")
    if [ "${t%% *}" = 200 ]; then
        slow_url=$u
        slow_time=${t#* }
        break
    fi
done
pids="$VL_VELLUM_PID $(workers)"
if [ -n "$slow_url" ] && awk -v t="$slow_time" 'BEGIN { exit !(t >= 0.4) }'; then
    curl -s -o "$T/slow.body" -D "$T/slow.headers" -w '%{http_code}' \
        --max-time 60 "$slow_url" > "$T/slow.status" &
    client=$!
    sleep "$(awk -v t="$slow_time" 'BEGIN { print t / 4 }')"
    vl_stop_vellum
    wait "$client"
    vl_eq "SIGTERM: the request in flight completes" 200 \
        "$(cat "$T/slow.status")"
    vl_eq "SIGTERM: ... with its whole body" \
        "$(tr -d '\r' < "$T/slow.headers" | awk -F': ' 'tolower($1) == "content-length" { print $2 }')" \
        "$(wc -c < "$T/slow.body")"
else
    vl_skip "SIGTERM: the request in flight completes" \
        "no request slow enough (${slow_time}s) to catch in flight"
    vl_stop_vellum
fi
vl_eq "SIGTERM: the master exits with status 0" 0 "$VL_VELLUM_STATUS"
alive=0
for p in $pids; do
    kill -0 "$p" 2>/dev/null && alive=$((alive + 1))
done
vl_eq "SIGTERM: all vellum processes are gone" 0 "$alive"

# --------------------------------------------------------- MAX_REQUESTS
MAX_REQUESTS=3 vl_start_vellum --workers 1
vl_check "MAX_REQUESTS=3: vellum starts" wait_workers 1
by=()
codes=
for i in 1 2 3 4 5; do
    codes="$codes$(vl_get "$VL_URL/iiif/no-such-image/info.json") "
    by+=("$(served_by)")
done
vl_eq "MAX_REQUESTS=3: every request succeeds" "404 404 404 404 404 " "$codes"
vl_check "MAX_REQUESTS=3: one worker serves the first three" \
    [ "${by[0]}" = "${by[1]}" -a "${by[1]}" = "${by[2]}" ]
vl_check "MAX_REQUESTS=3: another worker serves the fourth" \
    [ "${by[3]}" != "${by[2]}" ]
vl_check "MAX_REQUESTS=3: the worker's exit is not a crash" \
    bash -c "! grep -q 'worker ${by[0]} died' '$T/vellum.log'"
vl_stop_vellum
vl_eq "MAX_REQUESTS=3: clean stop" 0 "$VL_VELLUM_STATUS"

# --------------------------------------------------------- spawned mode
# the listening socket on fd 0, as mod_fcgid, spawn-fcgi and lighttpd do it
if command -v spawn-fcgi >/dev/null; then
    FILESYSTEM_PREFIX=$VL_FIXTURES LOGFILE=$T/spawned.log \
        spawn-fcgi -n -a 127.0.0.1 -p "$VL_FCGI_PORT" -- "$VELLUM" \
        > "$T/spawned.out" 2>&1 &
else
    FILESYSTEM_PREFIX=$VL_FIXTURES LOGFILE=$T/spawned.log python3 -c '
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
os.dup2(s.fileno(), 0)
os.execv(sys.argv[2], [sys.argv[2]])
' "$VL_FCGI_PORT" "$VELLUM" > "$T/spawned.out" 2>&1 &
fi
spawned=$!
vl_track "$spawned"
if vl_wait_port "$VL_FCGI_PORT" "$spawned"; then
    vl_eq "spawned on fd 0: serves a request" 404 \
        "$(vl_get "$VL_URL/iiif/no-such-image/info.json")"
    vl_eq "spawned on fd 0: the process itself serves it" "$spawned" \
        "$(served_by)"
    kill -TERM "$spawned"
    wait "$spawned"
    vl_eq "spawned on fd 0: SIGTERM, exit status 0" 0 "$?"
else
    vl_check "spawned on fd 0: starts" false
fi

# --------------------------------------------------------- unix socket
if command -v cgi-fcgi >/dev/null; then
    sock=$T/vellum.sock
    FILESYSTEM_PREFIX=$VL_FIXTURES LOGFILE=$T/unix.log URI_MAP='iiif=>IIIF' \
        "$VELLUM" --bind "$sock" --workers 1 2>>"$T/vellum.stderr" &
    upid=$!
    vl_track "$upid"
    for i in $(seq 1 100); do
        [ -S "$sock" ] && break
        sleep 0.05
    done
    vl_eq "unix socket: mode 0666" "srw-rw-rw-" "$(stat -c %A "$sock")"
    out=$(REQUEST_METHOD=GET QUERY_STRING=IIIF=no-such-image/info.json \
          REQUEST_URI=/iiif/no-such-image/info.json \
          cgi-fcgi -bind -connect "$sock" 2>/dev/null | head -n 1 | tr -d '\r')
    vl_eq "unix socket: serves a request" "Status: 404 Not Found" "$out"
    # URI_MAP: the IIIF path comes from REQUEST_URI, still encoded
    out=$(REQUEST_METHOD=GET QUERY_STRING= \
          REQUEST_URI='/iiif/no%2Fsuch/info.json?x=1' \
          cgi-fcgi -bind -connect "$sock" 2>/dev/null | head -n 1 | tr -d '\r')
    vl_eq "URI_MAP iiif=>IIIF: mapped request" "Status: 404 Not Found" "$out"
    vl_check "URI_MAP iiif=>IIIF: the IIIF path is the raw rest of the URI" \
        grep -q "GET no%2Fsuch/info.json 404 " "$T/unix.log"
    kill -TERM "$upid"
    wait "$upid"
    vl_eq "unix socket: SIGTERM, exit status 0" 0 "$?"
    vl_check "unix socket: removed at exit" [ ! -e "$sock" ]
else
    vl_skip "unix socket" "cgi-fcgi not installed"
fi

# --------------------------------------------------------- bad config
port=$(vl_free_port)
JPEG_QUALITY=500 FILESYSTEM_PREFIX=$VL_FIXTURES \
    "$VELLUM" --bind "127.0.0.1:$port" 2> "$T/bad1.err"
vl_eq "JPEG_QUALITY=500: exit status 2" 2 "$?"
vl_check "JPEG_QUALITY=500: stderr names the variable" \
    grep -q "JPEG_QUALITY" "$T/bad1.err"
env -u FILESYSTEM_PREFIX "$VELLUM" --bind "127.0.0.1:$port" 2> "$T/bad2.err"
vl_eq "FILESYSTEM_PREFIX unset: exit status 2" 2 "$?"
vl_check "FILESYSTEM_PREFIX unset: stderr names the variable" \
    grep -q "FILESYSTEM_PREFIX" "$T/bad2.err"
"$VELLUM" --no-such-option 2> "$T/bad3.err"
vl_eq "unknown option: exit status 2" 2 "$?"
vl_check "--version prints the version" \
    bash -c "'$VELLUM' --version | grep -q '^vellum [0-9]'"

vl_done
