#!/bin/bash
# SPDX-License-Identifier: MIT
# t_lighttpd: Debian's lighttpd 1.4 with Debian's own request parsing
# options (server.http-parseopts of its lighttpd.conf: %2F decoded), from
# lighttpd/vellum.conf as shipped (lighttpd starts vellum: bin-path) and
# lighttpd/vellum-socket.conf (vellum --bind on a unix socket), with only
# the documented substitutions (the binary's and socket's paths,
# FILESYSTEM_PREFIX, FILESYSTEM_SUFFIX, LOGFILE): the request suite of
# suite.sh, info.json ids included.
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/suite.sh"

LIGHTTPD=$(command -v lighttpd || echo /usr/sbin/lighttpd)
[ -x "$LIGHTTPD" ] || { echo "SKIP: lighttpd not found"; exit 77; }
vl_setup lighttpd
L_PID=

lighttpd_start() {    # lighttpd_start INCLUDED_CONF
    local user=""
    mkdir -p "$T/lighttpd"
    if [ "$(id -u)" = 0 ]; then
        user='server.username = "www-data"
server.groupname = "www-data"'
        chown www-data:www-data "$T/lighttpd"
        chmod o+rx "$T"
    fi
    cat > "$T/lighttpd.conf" <<EOC
server.document-root = "$T/lighttpd"
server.errorlog = "$T/lighttpd/error.log"
server.pid-file = "$T/lighttpd.pid"
server.bind = "127.0.0.1"
server.port = $VL_HTTP_PORT
$user
# Debian 12's lighttpd.conf, as shipped
server.http-parseopts = (
  "header-strict"           => "enable",
  "host-strict"             => "enable",
  "host-normalize"          => "enable",
  "url-normalize-unreserved"=> "enable",
  "url-normalize-required"  => "enable",
  "url-ctrls-reject"        => "enable",
  "url-path-2f-decode"      => "enable",
  "url-path-dotseg-remove"  => "enable",
)
include "$1"
EOC
    if ! "$LIGHTTPD" -tt -f "$T/lighttpd.conf" >"$T/lighttpd-t.out" 2>&1; then
        echo "# lighttpd -tt refused the configuration:"
        sed 's/^/#   /' "$T/lighttpd-t.out" | tail -5
        return 1
    fi
    "$LIGHTTPD" -D -f "$T/lighttpd.conf" >>"$T/lighttpd.stderr" 2>&1 &
    L_PID=$!
    vl_track "$L_PID"
    vl_wait_port "$VL_HTTP_PORT" "$L_PID"
}

lighttpd_stop() {
    vl_stop_server "$L_PID"
    L_PID=
}

# ------------------------------------------------ bin-path (spawned)
mkdir -p "$T/run" "$T/log"
[ "$(id -u)" = 0 ] && chown www-data:www-data "$T/run" "$T/log"
sed -e "s|\"/usr/local/bin/vellum\"|\"$VL_TOP_BUILDDIR/src/vellum\"|" \
    -e "s|\"/run/lighttpd/vellum.sock\"|\"$T/run/spawned.sock\"|" \
    -e "s|\"FILESYSTEM_PREFIX\" => \"/srv/images\"|\"FILESYSTEM_PREFIX\" => \"$VL_FIXTURES\"|" \
    -e "s|\"FILESYSTEM_SUFFIX\" => \".tif\"|\"FILESYSTEM_SUFFIX\" => \"\"|" \
    -e "s|\"/var/log/lighttpd/vellum.log\"|\"$T/log/vellum.log\"|" \
    "$VL_TOP_SRCDIR/lighttpd/vellum.conf" > "$T/vellum.conf"
vl_check "bin-path: the substitutions all applied" \
    sh -c "grep -q '$VL_TOP_BUILDDIR/src/vellum' '$T/vellum.conf' && grep -q '$T/run/spawned.sock' '$T/vellum.conf' && grep -q '\"FILESYSTEM_PREFIX\" => \"$VL_FIXTURES\"' '$T/vellum.conf' && grep -q '$T/log/vellum.log' '$T/vellum.conf'"
if lighttpd_start "$T/vellum.conf"; then
    vl_front_suite "http://127.0.0.1:$VL_HTTP_PORT/iiif" "lighttpd bin-path"
    vl_check "bin-path: vellum logs to its LOGFILE" grep -q "info.json 200" "$T/log/vellum.log"
else
    vl_check "lighttpd (bin-path) starts" false
fi
lighttpd_stop

# ------------------------------------------- socket (vellum --bind)
sock=$T/run/vellum.sock
FILESYSTEM_PREFIX=$VL_FIXTURES LOGFILE=$T/vellum.log \
    "$VL_TOP_BUILDDIR/src/vellum" --bind "$sock" --workers 2 2>>"$T/vellum.stderr" &
VL_VELLUM_PID=$!
for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
chmod 666 "$sock"
sed -e "s|\"/run/vellum/vellum.sock\"|\"$sock\"|" \
    "$VL_TOP_SRCDIR/lighttpd/vellum-socket.conf" > "$T/vellum-socket.conf"
if lighttpd_start "$T/vellum-socket.conf"; then
    vl_front_suite "http://127.0.0.1:$VL_HTTP_PORT/iiif" "lighttpd socket"
else
    vl_check "lighttpd (socket) starts" false
fi
lighttpd_stop
vl_stop_vellum
vl_done
