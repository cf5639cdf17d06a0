#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# t_fronts: vellum in iipsrv.fcgi's place behind the rewrite rules iipsrv
# documents for nginx (nginx/iipsrv-rules.conf, as shipped, with only its
# two addresses replaced), and what an operator moving from iipsrv meets
# first: iipsrv's VERBOSITY values, the configuration's warnings in
# LOGFILE, server errors logged at VERBOSITY=0, ".." answered 404; then
# the shipped nginx/vellum.conf through the request suite of suite.sh.
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/suite.sh"

vl_setup t_fronts
[ -f /etc/nginx/fastcgi_params ] || { echo "SKIP: no /etc/nginx/fastcgi_params"; exit 77; }

# VERBOSITY=6 is valid for iipsrv; an unknown option is a warning that must
# reach LOGFILE, not only stderr
printf 'VERBOSITY=6\nIIPSRV_ONLY_OPTION=1\n' > "$T/vellum.env"
vl_check "vellum starts with VERBOSITY=6" vl_start_vellum --workers 1 --config "$T/vellum.env"
VL_NGINX_CONF=iipsrv-rules.conf vl_start_nginx || exit 1
vl_check "the configuration's warning is in LOGFILE" \
    grep -q "warn .*IIPSRV_ONLY_OPTION is not a vellum option" "$T/vellum.log"

for p in iiif images; do
    for id in 'sub%2Fdir%2Fnested.tif' 'sub/dir/nested.tif'; do
        st=$(vl_get "$VL_URL/$p/$id/info.json")
        vl_eq "/$p/ $id info.json: 200" 200 "$st"
        got=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body" 2>/dev/null)
        vl_eq "/$p/ $id info.json: id is the URL asked for" "$VL_URL/$p/$id" "$got"
        st=$(vl_get "$VL_URL/$p/$id/0,0,64,64/32,/0/default.jpg")
        vl_eq "/$p/ $id region: 200" 200 "$st"
        vl_eq "/$p/ $id region: image/jpeg" image/jpeg "$(vl_header Content-Type)"
        st=$(vl_get "$VL_URL/$p/$id")
        vl_eq "/$p/ $id base URI: 303" 303 "$st"
        vl_eq "/$p/ $id base URI: Location" "$VL_URL/$p/$id/info.json" "$(vl_header Location)"
    done
    # the tile URLs a viewer derives from that id: every one 200 (a broken
    # id, as before, gave info.json back for tiles)
    vl_get "$VL_URL/$p/sub%2Fdir%2Fnested.tif/info.json" >/dev/null
    base=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$T/body")
    st=$(vl_get "$base/full/max/0/default.png")
    vl_eq "/$p/ full/max from the id: 200" 200 "$st"
    vl_eq "/$p/ full/max from the id: image/png" image/png "$(vl_header Content-Type)"
    st=$(vl_get "$VL_URL/$p/..%2Fmkfixtures/info.json")
    vl_eq "/$p/ ..%2F: 404" 404 "$st"
    st=$(vl_get "$VL_URL/$p/sub/../../etc/info.json")
    vl_check "/$p/ sub/../..: 4xx, never served" test "${st:0:1}" = 4
done

# VERBOSITY=0 (errors only): a server error is logged
vl_stop_vellum
: > "$T/vellum.log"
VERBOSITY=0 vl_check "vellum starts with VERBOSITY=0" vl_start_vellum --workers 1
st=$(vl_get "$VL_URL/iiif/truncated.tif/full/max/0/default.png")
vl_eq "a damaged image: 500" 500 "$st"
st=$(vl_get "$VL_URL/iiif/grey.tif/info.json")
vl_eq "a good image: 200" 200 "$st"
sleep 0.2
vl_check "VERBOSITY=0 logs the 500" grep -q "error .*truncated.tif/full/max/0/default.png 500" "$T/vellum.log"
vl_check "VERBOSITY=0 logs no access line of a 200" \
    sh -c "! grep -q 'grey.tif/info.json 200' '$T/vellum.log'"

# the shipped nginx/vellum.conf through the suite every front passes
kill "$VL_NGINX_PID"
wait "$VL_NGINX_PID" 2>/dev/null
VL_NGINX_PID=
vl_start_nginx || exit 1
vl_front_suite "$VL_URL/iiif" "nginx/vellum.conf"
vl_done
