#!/bin/bash
# SPDX-License-Identifier: MIT
# t_apache: Debian's Apache httpd 2.4 with mod_fcgid starting vellum itself,
# from apache/vellum.conf as shipped, with only the substitutions its README
# documents (the binary's path, FILESYSTEM_PREFIX and FILESYSTEM_SUFFIX), in
# a <VirtualHost> on a loopback port: the request suite of suite.sh. Then
# Apache with mod_proxy_fcgi in front of `vellum --bind` from
# apache/vellum-proxy.conf, over TCP and over a unix socket.
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/suite.sh"

APACHE=$(command -v apache2 || echo /usr/sbin/apache2)
MODS=/usr/lib/apache2/modules
[ -x "$APACHE" ] || { echo "SKIP: apache2 not found (apache2-bin)"; exit 77; }
vl_setup apache
A_PID=

# apache_start CONF_BODY_FILE MODULES...: an httpd.conf of its own in $T
apache_start() {
    local body=$1 m user=""
    shift
    mkdir -p "$T/apache/fcgid" "$T/apache/logs"
    if [ "$(id -u)" = 0 ]; then
        # Apache will not serve as root: its processes run as www-data,
        # which must read the tree and write its own run files
        user="User www-data
Group www-data"
        chown -R www-data:www-data "$T/apache"
        chmod o+rx "$T"
    fi
    {
        echo "ServerRoot $T/apache"
        echo "ServerName localhost"
        echo "Listen 127.0.0.1:$VL_HTTP_PORT"
        echo "PidFile $T/apache/httpd.pid"
        echo "ErrorLog $T/apache-error.log"
        echo "LogLevel warn"
        echo "$user"
        echo "LoadModule mpm_event_module $MODS/mod_mpm_event.so"
        echo "LoadModule authz_core_module $MODS/mod_authz_core.so"
        for m in "$@"; do
            echo "LoadModule ${m}_module $MODS/mod_$m.so"
        done
        echo "<IfModule mod_mime.c>"
        echo "    TypesConfig /dev/null"
        echo "</IfModule>"
        echo "<IfModule mod_fcgid.c>"
        echo "    FcgidIPCDir $T/apache/fcgid"
        echo "    FcgidProcessTableFile $T/apache/fcgid/shm"
        echo "</IfModule>"
        echo "<VirtualHost 127.0.0.1:$VL_HTTP_PORT>"
        echo "    Include $body"
        echo "</VirtualHost>"
    } > "$T/httpd.conf"
    if ! "$APACHE" -t -f "$T/httpd.conf" >"$T/apache-t.out" 2>&1; then
        echo "# apache2 -t refused the configuration:"
        sed 's/^/#   /' "$T/apache-t.out" | tail -5
        return 1
    fi
    "$APACHE" -f "$T/httpd.conf" -DFOREGROUND >>"$T/apache.stderr" 2>&1 &
    A_PID=$!
    vl_track "$A_PID"
    vl_wait_port "$VL_HTTP_PORT" "$A_PID"
}

apache_stop() {
    vl_stop_server "$A_PID"
    A_PID=
}

# ------------------------------------------------------- mod_fcgid
# the documented substitutions: where the binary is, the images, no suffix
sed -e "s|FcgidWrapper /usr/local/bin/vellum virtual|FcgidWrapper $VL_TOP_BUILDDIR/src/vellum virtual|" \
    -e "s|FcgidInitialEnv FILESYSTEM_PREFIX /srv/images|FcgidInitialEnv FILESYSTEM_PREFIX $VL_FIXTURES|" \
    -e "s|FcgidInitialEnv FILESYSTEM_SUFFIX .tif|FcgidInitialEnv FILESYSTEM_SUFFIX \"\"|" \
    "$VL_TOP_SRCDIR/apache/vellum.conf" > "$T/vellum-fcgid.conf"
vl_check "the fcgid substitutions all applied" \
    sh -c "grep -q '$VL_TOP_BUILDDIR/src/vellum' '$T/vellum-fcgid.conf' && grep -q 'FILESYSTEM_PREFIX $VL_FIXTURES' '$T/vellum-fcgid.conf' && ! grep -q 'SUFFIX .tif' '$T/vellum-fcgid.conf'"
if apache_start "$T/vellum-fcgid.conf" fcgid rewrite; then
    vl_front_suite "http://127.0.0.1:$VL_HTTP_PORT/iiif" "apache mod_fcgid"
    # vellum's log is Apache's error log under mod_fcgid
    vl_get "http://127.0.0.1:$VL_HTTP_PORT/iiif/3/truncated.tif/full/max/0/default.png" >/dev/null
    sleep 0.5
    vl_check "apache mod_fcgid: vellum's access lines reach Apache's error log" \
        grep -q "truncated.tif/full/max/0/default.png 500" "$T/apache-error.log"
else
    vl_check "apache mod_fcgid starts" false
fi
apache_stop

# ------------------------------------------- iipsrv's layout (mod_fcgid)
mkdir -p "$T/iipsrv-bin"
ln -s "$VL_TOP_BUILDDIR/src/vellum" "$T/iipsrv-bin/iipsrv.fcgi"
sed -e "s|/usr/lib/iipimage-server/|$T/iipsrv-bin/|" \
    -e "s|FILESYSTEM_PREFIX \"/srv/images/\"|FILESYSTEM_PREFIX \"$VL_FIXTURES/\"|" \
    -e "s|LOGFILE \"/var/log/iipsrv.log\"|LOGFILE \"$T/no-such-dir/iipsrv.log\"|" \
    "$VL_TOP_SRCDIR/apache/iipsrv-compat.conf" > "$T/iipsrv.conf"
if apache_start "$T/iipsrv.conf" fcgid rewrite alias mime; then
    B=http://127.0.0.1:$VL_HTTP_PORT
    st=$(vl_get "$B/iipsrv/iipsrv.fcgi?IIIF=sub/dir/nested.tif/info.json")
    vl_eq "iipsrv layout: /iipsrv/iipsrv.fcgi?IIIF=...: 200" 200 "$st"
    vl_eq "iipsrv layout: id" "$B/iipsrv/iipsrv.fcgi?IIIF=sub/dir/nested.tif" "$(vl_json id)"
    st=$(vl_get "$(vl_json id)/0,0,64,64/32,/0/default.jpg")
    vl_eq "iipsrv layout: an image from the id: 200" 200 "$st"
    vl_eq "iipsrv layout: an image from the id: 32x32" 32x32 "$(vl_img_size)"
    for id in sub%2Fdir%2Fnested.tif sub/dir/nested.tif; do
        st=$(vl_get "$B/iiif/$id/info.json")
        vl_eq "iipsrv layout: /iiif/$id: 200" 200 "$st"
        vl_eq "iipsrv layout: /iiif/$id: id" "$B/iiif/$id" "$(vl_json id)"
    done
    sleep 0.3
    vl_check "iipsrv layout: an unwritable LOGFILE is said, naming it, in Apache's error log" \
        grep -q "cannot open LOGFILE $T/no-such-dir/iipsrv.log" "$T/apache-error.log"
else
    vl_check "apache with iipsrv's layout starts" false
fi
apache_stop

# ------------------------------------------------- mod_proxy_fcgi
for how in tcp unix; do
    if [ $how = tcp ]; then
        backend="fcgi://127.0.0.1:$VL_FCGI_PORT"
        vl_start_vellum --workers 2 || exit 1
    else
        sock=$T/run/vellum.sock
        mkdir -p "$T/run"
        chmod 777 "$T/run"
        backend="unix:$sock|fcgi://localhost"
        FILESYSTEM_PREFIX=$VL_FIXTURES LOGFILE=$T/vellum-unix.log \
            "$VL_TOP_BUILDDIR/src/vellum" --bind "$sock" --workers 2 \
            2>>"$T/vellum-unix.stderr" &
        VL_VELLUM_PID=$!
        for i in $(seq 1 100); do [ -S "$sock" ] && break; sleep 0.05; done
        chmod 666 "$sock"
    fi
    sed -e "s/^Define VELLUM_BACKEND \"fcgi:\/\/127.0.0.1:9000\"/Define VELLUM_BACKEND \"$(printf '%s' "$backend" | sed 's/[\/&|]/\\&/g')\"/" \
        "$VL_TOP_SRCDIR/apache/vellum-proxy.conf" > "$T/vellum-proxy.conf"
    vl_check "proxy_fcgi ($how): the backend substituted" grep -q "^Define VELLUM_BACKEND \"$backend\"" "$T/vellum-proxy.conf"
    if apache_start "$T/vellum-proxy.conf" proxy proxy_fcgi rewrite; then
        vl_front_suite "http://127.0.0.1:$VL_HTTP_PORT/iiif" "apache proxy_fcgi $how"
    else
        vl_check "apache proxy_fcgi ($how) starts" false
    fi
    apache_stop
    vl_stop_vellum
done
vl_done
