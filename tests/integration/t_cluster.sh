#!/bin/bash
# SPDX-License-Identifier: MIT
# t_cluster: two vellum "hosts" (each its own copy of the images, made with
# cp -p, and its own log) sharing two memcached servers, behind one nginx
# with a server block per host. What a cluster needs of the cache: a
# response rendered on A is a hit on B, copies give the same ETag and the
# same Last-Modified on both, and with one of the two memcached stopped
# every request is still 200 and only that server's share of the keys
# misses: the other's keep hitting, and the outage is logged once per
# worker, not once per request, with no "back" while it lasts. Then
# nginx/cluster.conf as shipped over the two hosts: the request suite, and
# a hung host (SIGSTOP) costs one request the read timeout, no more.
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/suite.sh"

MEMCACHED=$(command -v memcached || echo /usr/bin/memcached)
[ -x "$MEMCACHED" ] || { echo "SKIP: memcached not found"; exit 77; }
grep -q '^#define HAVE_MEMCACHED 1' "$VL_TOP_BUILDDIR/config.h" 2>/dev/null \
    || { echo "SKIP: built without memcached"; exit 77; }

vl_setup cluster
VELLUM=$VL_TOP_BUILDDIR/src/vellum
MC_USER=
[ "$(id -u)" = 0 ] && MC_USER="-u root"

ports=()
while [ "${#ports[@]}" -lt 5 ]; do
    p=$(vl_free_port)
    case " ${ports[*]} $VL_FCGI_PORT $VL_HTTP_PORT " in
    *" $p "*) ;;
    *) ports+=("$p") ;;
    esac
done
MC1=${ports[0]} MC2=${ports[1]} FB=${ports[2]} HA=$VL_HTTP_PORT HB=${ports[3]}
FA=$VL_FCGI_PORT

mc_start() {    # mc_start PORT: prints the pid
    # shellcheck disable=SC2086
    "$MEMCACHED" -l 127.0.0.1 -p "$1" -U 0 -m 16 $MC_USER \
        >>"$T/memcached-$1.log" 2>&1 &
    echo $!
}
MC1_PID=$(mc_start "$MC1"); vl_track "$MC1_PID"
MC2_PID=$(mc_start "$MC2"); vl_track "$MC2_PID"
vl_wait_port "$MC1" "$MC1_PID" && vl_wait_port "$MC2" "$MC2_PID" \
    || { echo "# memcached did not start"; exit 1; }

# each host its own copy, times kept
for h in a b; do
    mkdir -p "$T/root-$h"
    cp -p "$VL_FIXTURES/rgb-deflate.tif" "$VL_FIXTURES/grey.tif" \
        "$VL_FIXTURES/truncated.tif" "$T/root-$h/"
    mkdir -p "$T/root-$h/sub/dir"
    cp -p "$VL_FIXTURES/sub/dir/nested.tif" "$T/root-$h/sub/dir/"
    for i in $(seq 10 69); do
        cp -p "$VL_FIXTURES/tiny.tif" "$T/root-$h/t$i.tif"
    done
done
vl_check "the copies are other files (inodes differ)" \
    test "$(stat -c %i "$T/root-a/grey.tif")" != "$(stat -c %i "$T/root-b/grey.tif")"

export MEMCACHED_SERVERS=127.0.0.1:$MC1,127.0.0.1:$MC2
FILESYSTEM_PREFIX=$T/root-a LOGFILE=$T/vellum-a.log VERBOSITY=2 \
    vl_start_vellum --workers 2 || exit 1
FILESYSTEM_PREFIX=$T/root-b LOGFILE=$T/vellum-b.log VERBOSITY=2 \
    "$VELLUM" --bind "127.0.0.1:$FB" --workers 2 2>>"$T/vellum-b.stderr" &
VB_PID=$!
vl_track "$VB_PID"
vl_wait_port "$FB" "$VB_PID" || { echo "# vellum B did not start"; exit 1; }

# one server block per host, the same public name (a load balancer's)
server_block() {    # server_block LISTEN FCGI
    cat <<EOC
server {
    listen 127.0.0.1:$1;
    location /iiif/ {
        if (\$request_uri ~ "^/iiif/(?<p>[^?]*)") { }
        fastcgi_param QUERY_STRING IIIF=\$p;
        fastcgi_param REQUEST_METHOD \$request_method;
        fastcgi_param REQUEST_URI \$request_uri;
        fastcgi_param HTTP_HOST images.example.org;
        fastcgi_param HTTP_IF_NONE_MATCH \$http_if_none_match;
        fastcgi_pass 127.0.0.1:$2;
    }
}
EOC
}
{ server_block "$HA" "$FA"; server_block "$HB" "$FB"; } > "$T/cluster.conf"
user_line=""
[ "$(id -u)" = 0 ] && user_line="user root;"
mkdir -p "$T/nginx-tmp"
sed -e "s|@T@|$T|g" -e "s|@USER_LINE@|$user_line|" \
    "$VL_TOP_SRCDIR/tests/integration/nginx.conf.in" \
    | sed "s|include $T/vellum.conf;|include $T/cluster.conf;|" > "$T/nginx.conf"
"$VL_NGINX" -p "$T" -c "$T/nginx.conf" -e "$T/nginx-error.log" 2>>"$T/nginx.stderr" &
VL_NGINX_PID=$!
vl_wait_port "$HA" "$VL_NGINX_PID" && vl_wait_port "$HB" "$VL_NGINX_PID" \
    || { echo "# nginx did not start"; sed 's/^/#   /' "$T/nginx.stderr" | tail -5; exit 1; }


P=rgb-deflate.tif/10,20,300,200/150,/0/default.png
vl_eq "A: 200" 200 "$(vl_get "http://127.0.0.1:$HA/iiif/$P")"
etag_a=$(vl_header ETag)
lm_a=$(vl_header Last-Modified)
cp "$T/body" "$T/a.body"
vl_eq "A: miss" miss "$(vl_cache_of "$T/vellum-a.log" "$P" 1)"
vl_eq "B: 200" 200 "$(vl_get "http://127.0.0.1:$HB/iiif/$P")"
vl_eq "B: a hit of what A rendered" hit "$(vl_cache_of "$T/vellum-b.log" "$P" 1)"
vl_eq "B: the same ETag as A" "$etag_a" "$(vl_header ETag)"
vl_eq "B: the same Last-Modified as A" "$lm_a" "$(vl_header Last-Modified)"
vl_check "B: the same bytes as A" cmp -s "$T/body" "$T/a.body"
vl_eq "B: 304 for A's ETag" 304 \
    "$(vl_get "http://127.0.0.1:$HB/iiif/$P" -H "If-None-Match: $etag_a")"
I=grey.tif/info.json
vl_get "http://127.0.0.1:$HA/iiif/$I" >/dev/null
e1=$(vl_header ETag)
vl_get "http://127.0.0.1:$HB/iiif/$I" >/dev/null
vl_eq "info.json: the same ETag on both hosts" "$e1" "$(vl_header ETag)"

# 120 responses of 60 identifiers (two each) cached through A: the
# identifiers spread over both servers, each with all its responses
urls=()
for i in $(seq 10 69); do
    urls+=("t$i.tif/full/max/0/default.png" "t$i.tif/full/max/0/gray.png")
done
for u in "${urls[@]}"; do vl_get "http://127.0.0.1:$HA/iiif/$u" >/dev/null; done
for u in "${urls[@]}"; do
    [ "$(vl_cache_of "$T/vellum-a.log" "$u" 1)" = miss ] || echo "first $u"
done > "$T/first.txt"
vl_eq "120 responses rendered and stored" 0 "$(wc -l < "$T/first.txt")"
items() {    # items PORT: the items memcached holds
    python3 - "$1" <<'EOP'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"stats\r\n")
buf = b""
while not buf.endswith(b"END\r\n"):
    buf += s.recv(65536)
for line in buf.decode().splitlines():
    if line.startswith("STAT curr_items "):
        print(line.split()[2])
EOP
}
i1=$(items "$MC1") i2=$(items "$MC2")
echo "# items: $i1 on the first memcached, $i2 on the second"
vl_check "both servers hold keys ($i1, $i2)" test "$i1" -gt 0 -a "$i2" -gt 0

# stop the second memcached
# (not this shell's child: wait until it is gone and its port closed, or
# the first requests race its shutdown)
kill "$MC2_PID"
for i in $(seq 1 100); do
    kill -0 "$MC2_PID" 2>/dev/null || break
    sleep 0.05
done
for i in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$MC2") 2>/dev/null || break
    sleep 0.05
done
vl_check "the second memcached is gone" sh -c "! kill -0 $MC2_PID 2>/dev/null"
bad=0
for u in "${urls[@]}"; do
    st=$(vl_get "http://127.0.0.1:$HA/iiif/$u")
    [ "$st" = 200 ] || bad=$((bad + 1))
done
vl_eq "one memcached down: every request 200" 0 "$bad"
hits=0 misses=0 split=0
for i in $(seq 10 69); do
    a=$(vl_cache_of "$T/vellum-a.log" "t$i.tif/full/max/0/default.png" 2)
    b=$(vl_cache_of "$T/vellum-a.log" "t$i.tif/full/max/0/gray.png" 2)
    for o in "$a" "$b"; do
        case $o in
        hit) hits=$((hits + 1)) ;;
        miss) misses=$((misses + 1)) ;;
        esac
    done
    [ "$a" = "$b" ] || split=$((split + 1))
done
# an identifier's responses live on its generation's server: those of the
# live server's identifiers all hit, the dead one's all miss (its share,
# no more: about half of the 120 for an even split)
echo "# one memcached down: $hits hits, $misses misses of 120"
vl_eq "one memcached down: each identifier hits or misses whole" 0 "$split"
vl_check "one memcached down: the live server's identifiers hit ($hits of 120)" test "$hits" -ge 20
vl_check "one memcached down: the dead server's identifiers miss ($misses of 120)" test "$misses" -ge 20
vl_eq "one memcached down: 120 answered" 120 "$((hits + misses))"
n=$(grep -c "memcached 127.0.0.1:$MC2 unavailable" "$T/vellum-a.log")
vl_check "the outage is logged once per worker, naming the server ($n)" \
    test "$n" -ge 1 -a "$n" -le 2
vl_eq "no 'back' while it is down" 0 "$(grep -c 'is back' "$T/vellum-a.log")"
vl_eq "the live server is never called unavailable" 0 \
    "$(grep -c "memcached 127.0.0.1:$MC1 unavailable" "$T/vellum-a.log")"

# ---------------------------------------------------- nginx/cluster.conf
# as shipped, its two upstream hosts (127.0.0.1:9000 and :9001) being A, B
kill "$VL_NGINX_PID"
wait "$VL_NGINX_PID" 2>/dev/null
VL_NGINX_PID=
VL_NGINX_CONF=cluster.conf VL_NGINX_SED="s/127\.0\.0\.1:9001/127.0.0.1:$FB/" \
    vl_start_nginx || exit 1
vl_check "cluster.conf: both hosts in the upstream" \
    sh -c "grep -q 'server 127.0.0.1:$FA ' '$T/vellum.conf' && grep -q 'server 127.0.0.1:$FB ' '$T/vellum.conf'"
vl_front_suite "$VL_URL/iiif" "nginx/cluster.conf"

# a hung host (vellum A's master and workers stopped): nginx gives up on it
# after fastcgi_read_timeout (15 s) once, retries on B, then leaves A out
stop_a() {    # stop_a STOP|CONT
    kill "-$1" "$VL_VELLUM_PID" $(pgrep -P "$VL_VELLUM_PID") 2>/dev/null
}
stop_a STOP
bad=0 slow=0 worst=0
for i in $(seq 1 12); do
    out=$(curl -s -o /dev/null --max-time 40 -w '%{http_code} %{time_total}' \
        "$VL_URL/iiif/3/t$((10 + i)).tif/full/max/0/default.jpg")
    st=${out%% *} t=${out#* }
    [ "$st" = 200 ] || bad=$((bad + 1))
    ms=$(python3 -c "print(int(float('$t') * 1000))")
    [ "$ms" -gt 1000 ] && slow=$((slow + 1))
    [ "$ms" -gt "$worst" ] && worst=$ms
done
stop_a CONT
echo "# one host hung: $slow of 12 requests over 1 s, the slowest $worst ms"
vl_eq "one host hung: every request 200" 0 "$bad"
vl_check "one host hung: at most one request waits for the timeout ($slow)" test "$slow" -le 1
vl_check "one host hung: no request waits more than 20 s ($worst ms)" test "$worst" -le 20000
vl_eq "the host back: 200" 200 "$(vl_get "$VL_URL/iiif/3/grey.tif/info.json")"
vl_done
