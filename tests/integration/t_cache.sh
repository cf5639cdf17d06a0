#!/bin/bash
# SPDX-License-Identifier: MIT
# t_cache: the shared memcached cache and the stored-tile passthrough through
# a real nginx, two vellum workers and a real memcached on a random loopback
# port: miss then hit (identical bodies and headers), a touched or replaced
# file misses, `vellum purge` makes an identifier miss, a killed memcached
# costs no request more than ~0.5 s, a restarted one gives hits again, and a
# stored tile is answered as "passthrough". The access log tells the cache.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

MEMCACHED=$(command -v memcached || echo /usr/bin/memcached)
[ -x "$MEMCACHED" ] || { echo "SKIP: memcached not found"; exit 77; }
grep -q '^#define HAVE_MEMCACHED 1' "$VL_TOP_BUILDDIR/config.h" 2>/dev/null \
    || { echo "SKIP: built without memcached"; exit 77; }

vl_setup cache
VELLUM=$VL_TOP_BUILDDIR/src/vellum
ROOT=$T/root
mkdir -p "$ROOT"
for f in rgb-deflate.tif rgb-jpeg.tif single.tif rgb-lzw.tif; do
    cp "$VL_FIXTURES/$f" "$ROOT/$f"
done
cp "$VL_FIXTURES/rgb-deflate.tif" "$ROOT/swap.tif"

MC_PORT=$(vl_free_port)
while [ "$MC_PORT" = "$VL_FCGI_PORT" ] || [ "$MC_PORT" = "$VL_HTTP_PORT" ]; do
    MC_PORT=$(vl_free_port)
done
MC_USER=
[ "$(id -u)" = 0 ] && MC_USER="-u root"
MC_PID=

mc_start() {
    # shellcheck disable=SC2086
    "$MEMCACHED" -l 127.0.0.1 -p "$MC_PORT" -U 0 -m 16 $MC_USER \
        >>"$T/memcached.log" 2>&1 &
    MC_PID=$!
    vl_track "$MC_PID"
    vl_wait_port "$MC_PORT" "$MC_PID"
}

mc_start || { echo "# memcached did not start"; exit 1; }
echo "MEMCACHED_SERVERS=127.0.0.1:$MC_PORT" > "$T/mc.conf"

MEMCACHED_SERVERS=127.0.0.1:$MC_PORT VERBOSITY=2 FILESYSTEM_PREFIX=$ROOT \
    vl_start_vellum --workers 2 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif
LOG=$T/vellum.log

# cache_of PATH N: the cache field of the N-th access line for PATH
cache_of() {
    vl_cache_of "$LOG" "$1" "$2"
}

# fetch NAME PATH: GET, keep body and headers as $T/NAME.{body,headers};
# prints the status.
fetch() {
    local st
    st=$(vl_get "$U/$2")
    cp "$T/body" "$T/$1.body"
    cp "$T/headers" "$T/$1.headers"
    echo "$st"
}

# n_of PATH: access lines so far for PATH.
n_of() {
    grep -cF " GET $1 " "$LOG" 2>/dev/null
}

hdr() {
    tr -d '\r' < "$T/$1.headers" | grep -i "^$2:" | tail -n 1 \
        | sed 's/^[^:]*:[[:space:]]*//'
}

# ------------------------------------------------------------ miss, hit
P=rgb-deflate.tif/full/200,/0/default.jpg
vl_eq "image 1st: 200" 200 "$(fetch a "$P")"
vl_eq "image 1st: miss" miss "$(cache_of "$P" 1)"
vl_eq "image 2nd: 200" 200 "$(fetch b "$P")"
vl_eq "image 2nd: hit" hit "$(cache_of "$P" 2)"
vl_check "image: hit body = miss body" cmp -s "$T/a.body" "$T/b.body"
for h in Content-Type ETag Last-Modified Link Cache-Control \
         Access-Control-Allow-Origin Content-Disposition; do
    vl_eq "image: hit $h as on a miss" "$(hdr a $h)" "$(hdr b $h)"
done
vl_eq "image: Content-Type" image/jpeg "$(hdr b Content-Type)"
vl_eq "image: Content-Disposition on a hit" \
    'inline; filename="rgb-deflate.tif-full-200_147-0-default.jpg"' \
    "$(hdr b Content-Disposition)"

P2=rgb-deflate.tif/10,20,300,200/150,/0/gray.png
vl_eq "png 1st: 200" 200 "$(fetch a "$P2")"
vl_eq "png 2nd: 200" 200 "$(fetch b "$P2")"
vl_eq "png: miss then hit" "miss hit" \
    "$(cache_of "$P2" 1) $(cache_of "$P2" 2)"
vl_check "png: identical bodies" cmp -s "$T/a.body" "$T/b.body"
vl_eq "png: Content-Type from the cache" image/png "$(hdr b Content-Type)"

I=single.tif/info.json
vl_eq "info 1st: 200" 200 "$(fetch a "$I")"
vl_eq "info 2nd: 200" 200 "$(fetch b "$I")"
vl_eq "info: miss then hit" "miss hit" "$(cache_of "$I" 1) $(cache_of "$I" 2)"
vl_check "info: identical bodies" cmp -s "$T/a.body" "$T/b.body"
vl_eq "info: Content-Type kept" "$(hdr a Content-Type)" "$(hdr b Content-Type)"
# another Accept is another body and another key
st=$(vl_get "$U/$I" -H 'Accept: application/json')
vl_eq "info as application/json: miss" miss "$(cache_of "$I" 3)"
vl_eq "info as application/json: its type" application/json \
    "$(vl_header Content-Type)"

# ------------------------------------------------- touched, replaced file
touch -d '2021-03-04 05:06:07' "$ROOT/rgb-deflate.tif"
vl_eq "touched: 200" 200 "$(fetch c "$P")"
vl_eq "touched: miss" miss "$(cache_of "$P" 3)"
vl_check "touched: new ETag" test "$(hdr c ETag)" != "$(hdr a ETag)"
fetch d "$P" >/dev/null
vl_eq "touched: then hit" hit "$(cache_of "$P" 4)"

S=swap.tif/full/100,/0/default.jpg
fetch a "$S" >/dev/null
fetch b "$S" >/dev/null
vl_eq "swap: miss then hit" "miss hit" "$(cache_of "$S" 1) $(cache_of "$S" 2)"
# same size class and the same mtime, but another inode and content
cp "$VL_FIXTURES/rgb-lzw.tif" "$ROOT/swap.new"
touch -r "$ROOT/swap.tif" "$ROOT/swap.new"
mv "$ROOT/swap.new" "$ROOT/swap.tif"
vl_eq "replaced: 200" 200 "$(fetch c "$S")"
vl_eq "replaced: miss" miss "$(cache_of "$S" 3)"

# ------------------------------------------------------------------ purge
fetch a "$P" >/dev/null
vl_eq "before purge: hit" hit "$(cache_of "$P" 5)"
fetch a "$I" >/dev/null
vl_eq "other id before purge: hit" hit "$(cache_of "$I" 4)"
out=$("$VELLUM" purge rgb-deflate.tif --config "$T/mc.conf" 2>&1)
vl_eq "purge: exit 0" 0 "$?"
vl_check "purge: says what it did" sh -c "echo '$out' | grep -q '^purged rgb-deflate.tif: generation [0-9][0-9]*'"
fetch a "$P" >/dev/null
vl_eq "after purge: miss" miss "$(cache_of "$P" 6)"
fetch a "$P2" >/dev/null
vl_eq "after purge: another request of the id misses" miss \
    "$(cache_of "$P2" 3)"
fetch a "$P" >/dev/null
vl_eq "after purge: hit again" hit "$(cache_of "$P" 7)"
fetch a "$I" >/dev/null
vl_eq "after purge: other identifiers still hit" hit "$(cache_of "$I" 5)"
env -u MEMCACHED_SERVERS "$VELLUM" purge rgb-deflate.tif \
    >/dev/null 2>"$T/purge.err"
vl_eq "purge without MEMCACHED_SERVERS: exit 1" 1 "$?"
vl_check "purge without MEMCACHED_SERVERS: says so" \
    grep -q 'not configured' "$T/purge.err"
"$VELLUM" purge >/dev/null 2>&1
vl_eq "purge without ID: exit 2" 2 "$?"

# ------------------------------------------------------------ passthrough
PT=rgb-jpeg.tif/256,256,256,256/max/0/default.jpg
vl_eq "stored tile: 200" 200 "$(fetch a "$PT")"
vl_eq "stored tile: passthrough" passthrough "$(cache_of "$PT" 1)"
vl_eq "stored tile: image/jpeg" image/jpeg "$(hdr a Content-Type)"
vl_check "stored tile: a JPEG" sh -c "head -c 2 '$T/a.body' | od -An -tx1 | grep -q 'ff d8'"
PE=rgb-jpeg.tif/768,512,233,225/max/0/default.jpg
vl_eq "edge tile: 200" 200 "$(fetch a "$PE")"
vl_eq "edge tile: passthrough" passthrough "$(cache_of "$PE" 1)"
PR=rgb-jpeg.tif/256,256,256,256/max/90/default.jpg
vl_eq "rotated tile: 200" 200 "$(fetch a "$PR")"
vl_eq "rotated tile: rendered" miss "$(cache_of "$PR" 1)"

# ------------------------------------------------------ memcached killed
{ kill -KILL "$MC_PID"; wait "$MC_PID"; } 2>/dev/null
slow=0
bad=0
for i in 1 2 3 4 5 6; do
    r=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}' \
        "$U/rgb-deflate.tif/full/$((100 + i)),/0/default.jpg")
    [ "${r% *}" = 200 ] || bad=$((bad + 1))
    awk -v t="${r#* }" 'BEGIN { exit !(t < 0.5) }' || slow=$((slow + 1))
done
vl_eq "memcached down: every request 200" 0 "$bad"
vl_eq "memcached down: every request under 0.5 s" 0 "$slow"
fetch a "$P" >/dev/null
vl_eq "memcached down: miss" miss "$(cache_of "$P" 8)"
n=$(grep -c 'memcached unavailable' "$LOG")
vl_check "memcached down: logged once per worker ($n)" \
    test "$n" -ge 1 -a "$n" -le 2
"$VELLUM" purge rgb-deflate.tif --config "$T/mc.conf" >/dev/null 2>&1
vl_eq "purge with memcached down: exit 1" 1 "$?"

# --------------------------------------------------- memcached restarted
mc_start || { echo "# memcached did not restart"; exit 1; }
sleep 5.2
got=
for i in 1 2 3 4 5 6; do
    fetch a "$P" >/dev/null
    n=$(n_of "$P")
    got=$(cache_of "$P" "$n")
    [ "$got" = hit ] && break
    sleep 0.3
done
vl_eq "memcached back: hits again" hit "$got"
vl_check "memcached back: logged" grep -q 'memcached is back' "$LOG"

# ------------------------------------------------------ memcached hung
kill -STOP "$MC_PID"
r=$(curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}' \
    "$U/rgb-deflate.tif/full/99,/0/default.jpg")
kill -CONT "$MC_PID"
vl_eq "memcached hung: 200" 200 "${r% *}"
vl_check "memcached hung: under 0.5 s (${r#* } s)" \
    awk -v t="${r#* }" 'BEGIN { exit !(t < 0.5) }'

vl_done
