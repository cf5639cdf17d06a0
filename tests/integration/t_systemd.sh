#!/bin/bash
# SPDX-License-Identifier: MIT
# t_systemd: the shipped units (systemd/vellum.service, vellum.socket)
# pass `systemd-analyze verify`, and vellum started the way vellum.socket
# starts it (socket activation: LISTEN_FDS, fd 3, no --bind; with
# systemd-socket-activate, which sets them as systemd does) runs its master
# and workers on that socket: the request suite through nginx, a reload
# (SIGHUP) that keeps serving, and SIGTERM that ends it with status 0.
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/suite.sh"

vl_setup systemd
SRC=$VL_TOP_SRCDIR/systemd
sed -e "s|@bindir@|$VL_TOP_BUILDDIR/src|" "$SRC/vellum.service.in" > "$T/vellum.service"
cp "$SRC/vellum.socket" "$T/vellum.socket"
vl_check "vellum.service runs the binary with no --bind (the socket's)" \
    grep -q "^ExecStart=$VL_TOP_BUILDDIR/src/vellum\$" "$T/vellum.service"
vl_check "vellum.service reloads with SIGHUP" \
    grep -q '^ExecReload=/bin/kill -HUP \$MAINPID$' "$T/vellum.service"
vl_check "vellum.service reads /etc/default/vellum, if there" \
    grep -q '^EnvironmentFile=-/etc/default/vellum$' "$T/vellum.service"
vl_check "vellum.socket: a unix socket under /run for the web server's group" \
    sh -c "grep -q '^ListenStream=/run/vellum/vellum.sock$' '$T/vellum.socket' && grep -q '^SocketGroup=www-data$' '$T/vellum.socket'"
if command -v systemd-analyze >/dev/null; then
    out=$(systemd-analyze verify --man=no "$T/vellum.service" "$T/vellum.socket" 2>&1)
    vl_eq "systemd-analyze verify: no complaint" "" "$out"
else
    vl_skip "systemd-analyze verify" "systemd-analyze not installed"
fi

ACT=$(command -v systemd-socket-activate || true)
if [ -z "$ACT" ]; then
    vl_skip "socket activation" "systemd-socket-activate not installed"
    vl_done
fi
"$ACT" -l "127.0.0.1:$VL_FCGI_PORT" -E "FILESYSTEM_PREFIX=$VL_FIXTURES" \
    -E "LOGFILE=$T/vellum.log" -E VERBOSITY=3 -E WORKERS=2 \
    "$VL_TOP_BUILDDIR/src/vellum" 2>>"$T/vellum.stderr" &
VL_VELLUM_PID=$!
vl_wait_port "$VL_FCGI_PORT" "$VL_VELLUM_PID" || { echo "# not listening"; exit 1; }
vl_start_nginx || exit 1
vl_front_suite "$VL_URL/iiif" "socket-activated"
vl_check "the master says it took systemd's socket" \
    grep -q "listening on the socket systemd passed, 2 workers" "$T/vellum.log"
n=$(pgrep -P "$VL_VELLUM_PID" | wc -l)
vl_eq "two workers forked on it" 2 "$n"
kill -HUP "$VL_VELLUM_PID"
sleep 1
vl_eq "after a reload: 200" 200 "$(vl_get "$VL_URL/iiif/3/grey.tif/info.json")"
vl_stop_vellum
vl_eq "SIGTERM: exit 0" 0 "$VL_VELLUM_STATUS"
vl_done
