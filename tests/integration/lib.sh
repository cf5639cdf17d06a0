# SPDX-License-Identifier: MIT
# lib.sh: sourced (bash) by every tests/integration/t_*.sh. Runs the real
# vellum binary behind a real nginx on 127.0.0.1, on free ports, with every
# file in one tmpdir ($T), and kills everything it started on exit.
# Output: "ok - DESC" / "not ok - DESC (...)" lines, then "N passed, M failed";
# exit 0, 1 (a check failed) or 77 (skipped: nginx missing).

VL_TOP_BUILDDIR=${VL_TOP_BUILDDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VL_TOP_SRCDIR=${VL_TOP_SRCDIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
VL_FIXTURES=${VL_FIXTURES:-$VL_TOP_BUILDDIR/tests/fixtures/out}
VL_PASS=0
VL_FAIL=0
VL_VELLUM_PID=
VL_NGINX_PID=
VL_EXTRA_PIDS=()

vl_nginx_bin() {
    command -v nginx 2>/dev/null && return 0
    for n in /usr/sbin/nginx /usr/local/sbin/nginx /usr/local/nginx/sbin/nginx; do
        if [ -x "$n" ]; then
            echo "$n"
            return 0
        fi
    done
    return 1
}

# vl_setup NAME: tmpdir, ports, cleanup trap; exit 77 without nginx.
vl_setup() {
    VL_NGINX=$(vl_nginx_bin) || { echo "SKIP: nginx not found"; exit 77; }
    command -v curl >/dev/null || { echo "SKIP: curl not found"; exit 77; }
    T=$VL_TOP_BUILDDIR/tests/integration/tmp/$1.$$
    rm -rf "$T"
    mkdir -p "$T"
    trap vl_cleanup EXIT
    VL_FCGI_PORT=$(vl_free_port)
    VL_HTTP_PORT=$(vl_free_port)
    while [ "$VL_HTTP_PORT" = "$VL_FCGI_PORT" ]; do
        VL_HTTP_PORT=$(vl_free_port)
    done
}

# vl_free_port: a TCP port of 127.0.0.1 that nothing listens on.
vl_free_port() {
    if command -v python3 >/dev/null; then
        python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
        return
    fi
    local p
    while :; do
        p=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

# vl_wait_port PORT PID: wait (10 s at most) until PORT accepts; fails if
# PID dies first.
vl_wait_port() {
    local i
    for i in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        if [ -n "$2" ] && ! kill -0 "$2" 2>/dev/null; then
            return 1
        fi
        sleep 0.05
    done
    return 1
}

# vl_kill_wait PID: SIGTERM, then SIGKILL after 10 s.
vl_kill_wait() {
    local i
    kill -TERM "$1" 2>/dev/null || return 0
    for i in $(seq 1 200); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.05
    done
    kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# What must never appear in a server's log, whatever the test did to it
# (as nginx's test suite fails on an [alert] or a sanitizer line).
VL_LOG_BAD='ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: [A-Za-z]*Sanitizer|runtime error:|assertion failed'

# vl_scan_logs DIR: print the sanitizer reports, "runtime error:" lines and
# failed assertions in the server logs under DIR (every *.log and *.stderr
# but nginx's, npm's and the browser's); status 1 when there is one.
vl_scan_logs() {
    local f found=0
    while IFS= read -r f; do
        if grep -Eq "$VL_LOG_BAD" "$f"; then
            echo "# in $f:"
            grep -E -m 5 "$VL_LOG_BAD" "$f" | sed 's/^/#   /'
            found=1
        fi
    done < <(find "$1" -type f \( -name '*.log' -o -name '*.stderr' \) \
                 ! -name 'nginx-*' ! -name npm.log ! -name chrome.log \
                 ! -name page.log 2>/dev/null)
    return "$found"
}

vl_cleanup() {
    local p status=$?
    for p in "${VL_EXTRA_PIDS[@]}"; do
        vl_kill_wait "$p"
    done
    if [ -n "$VL_NGINX_PID" ]; then
        vl_kill_wait "$VL_NGINX_PID"
    fi
    if [ -n "$VL_VELLUM_PID" ]; then
        vl_kill_wait "$VL_VELLUM_PID"
    fi
    # after every server stopped: leak reports come at exit
    if [ -n "$T" ] && [ -d "$T" ] && ! vl_scan_logs "$T"; then
        echo "not ok - the server logs hold a sanitizer report, a runtime" \
             "error or a failed assertion"
        VL_FAIL=$((VL_FAIL + 1))
        status=1
    fi
    if [ "$VL_FAIL" = 0 ] && [ -z "$VL_KEEP_TMP" ] && [ -n "$T" ]; then
        rm -rf "$T"
    elif [ -n "$T" ]; then
        echo "# files kept in $T"
    fi
    exit "$status"
}

# vl_stop_server PID: SIGTERM a web server this test started, wait for it,
# then until nothing listens on $VL_HTTP_PORT (the next one takes it).
vl_stop_server() {
    [ -n "$1" ] || return 0
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    for i in $(seq 1 50); do
        (exec 3<>"/dev/tcp/127.0.0.1/$VL_HTTP_PORT") 2>/dev/null || break
        sleep 0.1
    done
}

# vl_cache_of LOG PATH N: the cache field (hit, miss, passthrough, -) of the
# N-th access line of LOG for PATH; the line is written after the response,
# so wait for it ("(no log line)" after 2 s).
vl_cache_of() {
    local i line
    for i in $(seq 1 100); do
        line=$(grep -F " GET $2 " "$1" 2>/dev/null | sed -n "$3p")
        if [ -n "$line" ]; then
            echo "$line" | sed -E 's/.* [0-9.]+ms ([a-z-]+).*/\1/'
            return
        fi
        sleep 0.02
    done
    echo "(no log line)"
}

# vl_track PID: kill PID at exit too.
vl_track() {
    VL_EXTRA_PIDS+=("$1")
}

# vl_start_vellum [ARGS...]: vellum --bind 127.0.0.1:$VL_FCGI_PORT ARGS.
vl_start_vellum() {
    FILESYSTEM_PREFIX=${FILESYSTEM_PREFIX-$VL_FIXTURES} \
    LOGFILE=${LOGFILE-$T/vellum.log} \
        "$VL_TOP_BUILDDIR/src/vellum" --bind "127.0.0.1:$VL_FCGI_PORT" "$@" \
        2>>"$T/vellum.stderr" &
    VL_VELLUM_PID=$!
    if ! vl_wait_port "$VL_FCGI_PORT" "$VL_VELLUM_PID"; then
        echo "# vellum did not start:"
        sed 's/^/#   /' "$T/vellum.stderr" 2>/dev/null | tail -5
        return 1
    fi
}

# vl_stop_vellum: SIGTERM, wait; VL_VELLUM_STATUS = its exit status.
vl_stop_vellum() {
    VL_VELLUM_STATUS=
    [ -n "$VL_VELLUM_PID" ] || return 0
    kill -TERM "$VL_VELLUM_PID" 2>/dev/null
    wait "$VL_VELLUM_PID"
    VL_VELLUM_STATUS=$?
    VL_VELLUM_PID=
}

# vl_start_nginx: nginx in front of $VL_FCGI_PORT on $VL_HTTP_PORT, from
# nginx/vellum.conf (or nginx/$VL_NGINX_CONF), with only its listen
# address (127.0.0.1:8080 or :8081) and vellum's (127.0.0.1:9000) replaced
# (and VL_NGINX_SED, one more sed expression, applied).
# VL_NGINX_KEEPALIVE=off turns fastcgi keep-alive off.
vl_start_nginx() {
    local user_line=""
    [ "$(id -u)" = 0 ] && user_line="user root;"
    mkdir -p "$T/nginx-tmp"
    sed -e "s/listen 127\.0\.0\.1:808[01];/listen 127.0.0.1:$VL_HTTP_PORT;/" \
        -e "s/127\.0\.0\.1:9000/127.0.0.1:$VL_FCGI_PORT/g" \
        -e "${VL_NGINX_SED:-s/^\$//}" \
        "$VL_TOP_SRCDIR/nginx/${VL_NGINX_CONF:-vellum.conf}" > "$T/vellum.conf"
    if [ "$VL_NGINX_KEEPALIVE" = off ]; then
        sed -i -e 's/fastcgi_keep_conn on;/fastcgi_keep_conn off;/' \
            "$T/vellum.conf"
    fi
    # the shipped files may include nginx's own fastcgi_params, which
    # nginx -p $T looks for beside the configuration
    if [ -f /etc/nginx/fastcgi_params ]; then
        cp /etc/nginx/fastcgi_params "$T/fastcgi_params"
    fi
    sed -e "s|@T@|$T|g" -e "s|@USER_LINE@|$user_line|" \
        "$VL_TOP_SRCDIR/tests/integration/nginx.conf.in" > "$T/nginx.conf"
    "$VL_NGINX" -p "$T" -c "$T/nginx.conf" -e "$T/nginx-error.log" \
        2>>"$T/nginx.stderr" &
    VL_NGINX_PID=$!
    VL_URL=http://127.0.0.1:$VL_HTTP_PORT
    if ! vl_wait_port "$VL_HTTP_PORT" "$VL_NGINX_PID"; then
        echo "# nginx did not start:"
        sed 's/^/#   /' "$T/nginx.stderr" "$T/nginx-error.log" 2>/dev/null | tail -5
        return 1
    fi
}

# vl_get URL [curl args]: body in $T/body, headers in $T/headers; prints
# the status code (000 when there was no answer).
vl_get() {
    local url=$1
    shift
    curl -s --max-time 30 -o "$T/body" -D "$T/headers" -w '%{http_code}' \
        "$@" "$url"
}

# vl_header NAME: the value of response header NAME (last response).
vl_header() {
    tr -d '\r' < "$T/headers" | grep -i "^$1:" | tail -n 1 \
        | sed 's/^[^:]*:[[:space:]]*//'
}

# vl_tile_urls INFO_JSON SIZEFORM: every tile a viewer derives from an
# info.json file (tiles x scaleFactors), one line each:
# "x,y,w,h/SIZE/0/default.jpg W H", SIZE being "w,h" (SIZEFORM wh, the IIIF 3
# canonical form) or "w," (IIIF 2), W x H the size the tile must have.
vl_tile_urls() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
W, H = d["width"], d["height"]
for t in d["tiles"]:
    tw, th = t["width"], t.get("height", t["width"])
    for s in t["scaleFactors"]:
        for y in range(0, H, th * s):
            for x in range(0, W, tw * s):
                w, h = min(tw * s, W - x), min(th * s, H - y)
                ow, oh = -(-w // s), -(-h // s)
                size = "%d,%d" % (ow, oh) if sys.argv[2] == "wh" else "%d," % ow
                print("%d,%d,%d,%d/%s/0/default.jpg %d %d" % (x, y, w, h, size, ow, oh))
' "$1" "$2"
}

# vl_check DESC COMMAND...: passes if COMMAND succeeds.
vl_check() {
    local desc=$1
    shift
    if "$@"; then
        echo "ok - $desc"
        VL_PASS=$((VL_PASS + 1))
    else
        echo "not ok - $desc"
        VL_FAIL=$((VL_FAIL + 1))
    fi
}

# vl_eq DESC EXPECTED ACTUAL
vl_eq() {
    if [ "$2" = "$3" ]; then
        echo "ok - $1"
        VL_PASS=$((VL_PASS + 1))
    else
        echo "not ok - $1 (expected '$2', got '$3')"
        VL_FAIL=$((VL_FAIL + 1))
    fi
}

# vl_skip DESC REASON: a sub-check that cannot run here (not counted).
vl_skip() {
    echo "ok - $1 # SKIP $2"
}

# vl_done: the summary line; exit 1 if anything failed.
vl_done() {
    echo "$VL_PASS passed, $VL_FAIL failed"
    if [ "$VL_FAIL" -gt 0 ]; then
        exit 1
    fi
    exit 0
}
