#!/bin/bash
# SPDX-License-Identifier: MIT
# t_iiif: the IIIF Image API through a real nginx (nginx/vellum.conf) and the
# real vellum binary: every route, status and header, HEAD, OPTIONS, 303,
# 304, encoded and raw-slash identifiers, traversal and symlinks out of the
# root, /iiif/2/ and /iiif/3/, output sizes and pixels (imgprobe), and a
# viewer-style tile walk over the tiles info.json implies.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup iiif
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
PROBE=$VL_TOP_BUILDDIR/tests/tools/imgprobe
[ -x "$PROBE" ] || { echo "SKIP: tests/tools/imgprobe not built"; exit 77; }

CTX2=http://iiif.io/api/image/2/context.json
CTX3=http://iiif.io/api/image/3/context.json

# An image root of our own, with things just outside it: a readable image,
# and a FIFO (opening it would hang the request, so a 404 in time proves
# nothing outside the root was opened).
ROOT=$T/root
mkdir -p "$ROOT/sub/dir"
for f in rgb-deflate.tif rgb-jpeg.tif single.tif grey.tif not-an-image.tif \
         truncated.tif 'a%2Fb.tif' 'name with space.tif'; do
    cp "$VL_FIXTURES/$f" "$ROOT/$f"
done
cp "$VL_FIXTURES/sub/dir/nested.tif" "$ROOT/sub/dir/nested.tif"
cp "$VL_FIXTURES/single.tif" "$T/secret.tif"
mkfifo "$T/fifo.tif"
ln -s ../secret.tif "$ROOT/escape.tif"
ln -s ../fifo.tif "$ROOT/fifo.tif"
ln -s .. "$ROOT/up"
ln -s single.tif "$ROOT/inside.tif"

# The harness fails a test whose server logs hold a sanitizer report, a
# "runtime error:" or a failed assertion (lib.sh, vl_scan_logs): it finds
# each kind, and nothing in a clean log.
scan_finds() { ! vl_scan_logs "$1" > /dev/null; }
mkdir -p "$T/scan"
echo "worker ready, 4 threads" > "$T/scan/vellum.log"
vl_check "log scan: a clean log passes" vl_scan_logs "$T/scan"
for bad in "==12==ERROR: AddressSanitizer: heap-use-after-free" \
           "src/x.c:10:5: runtime error: signed integer overflow" \
           "assertion failed: n > 0 at src/x.c:3" \
           "==12==ERROR: LeakSanitizer: detected memory leaks"; do
    echo "$bad" > "$T/scan/vellum.stderr"
    vl_check "log scan finds: ${bad#*: }" scan_finds "$T/scan"
done
rm -rf "$T/scan"

# jv EXPR: a Python expression over d = the JSON body of the last response.
jv() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict))
      else v)' "$T/body" "$1" 2>/dev/null
}

probe() {
    "$PROBE" "$T/body" "$@" 2>/dev/null
}

body_size() {
    wc -c < "$T/body" | tr -d ' '
}

# one line of text that names no file of the test
check_error_body() {
    local lines
    lines=$(wc -l < "$T/body" | tr -d ' ')
    vl_eq "$1: one-line body" 1 "$lines"
    vl_check "$1: body names no path" sh -c "! grep -q -e '$T' -e '\.\./' \
        '$T/body'"
    vl_eq "$1: text/plain" "text/plain; charset=utf-8" \
        "$(vl_header Content-Type)"
    vl_eq "$1: CORS on errors" "*" "$(vl_header Access-Control-Allow-Origin)"
    vl_eq "$1: no Cache-Control" "" "$(vl_header Cache-Control)"
}

FILESYSTEM_PREFIX=$ROOT vl_start_vellum --workers 2 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif

# ---------------------------------------------------------------- info.json
st=$(vl_get "$U/rgb-deflate.tif/info.json")
vl_eq "info v3: 200" 200 "$st"
vl_eq "info v3: Content-Type" \
    "application/ld+json;profile=\"$CTX3\"" "$(vl_header Content-Type)"
vl_eq "info v3: CORS" "*" "$(vl_header Access-Control-Allow-Origin)"
vl_check "info v3: Link profile" \
    grep -qi '^Link: .*<http://iiif.io/api/image/3/level2.json>;rel="profile"' \
    "$T/headers"
vl_eq "info v3: Vary" "Accept" "$(vl_header Vary)"
vl_eq "info v3: Cache-Control" "max-age=86400" "$(vl_header Cache-Control)"
vl_check "info v3: strong ETag" \
    sh -c "echo '$(vl_header ETag)' | grep -Eq '^\"[0-9a-f]{16}\"$'"
vl_eq "info v3: Last-Modified" \
    "$(TZ=GMT LC_ALL=C date -u -r "$ROOT/rgb-deflate.tif" \
        '+%a, %d %b %Y %H:%M:%S GMT')" "$(vl_header Last-Modified)"
vl_eq "info v3: Content-Length" "$(body_size)" "$(vl_header Content-Length)"
vl_eq "info v3: @context first" "@context" "$(jv 'list(d)[0]')"
vl_eq "info v3: @context" "$CTX3" "$(jv 'd["@context"]')"
vl_eq "info v3: id" "$U/rgb-deflate.tif" "$(jv 'd["id"]')"
vl_eq "info v3: type" "ImageService3" "$(jv 'd["type"]')"
vl_eq "info v3: protocol" "http://iiif.io/api/image" "$(jv 'd["protocol"]')"
vl_eq "info v3: profile" "level2" "$(jv 'd["profile"]')"
vl_eq "info v3: size" "1001x737" "$(jv '"%dx%d" % (d["width"], d["height"])')"
vl_eq "info v3: limits" "5000 5000 25000000" \
    "$(jv '"%d %d %d" % (d["maxWidth"], d["maxHeight"], d["maxArea"])')"
vl_eq "info v3: sizes" '[[251,185],[501,369]]' \
    "$(jv '[[s["width"], s["height"]] for s in d["sizes"]]')"
vl_eq "info v3: tiles" '[[256,256,[1,2,4]]]' \
    "$(jv '[[t["width"], t["height"], t["scaleFactors"]] for t in d["tiles"]]')"
# every format the build writes (webp and gif only with their libraries)
xf='["png","tif",'
grep -q '^#define HAVE_GIF 1' "$VL_TOP_BUILDDIR/config.h" && xf="$xf\"gif\","
xf="$xf\"jp2\",\"pdf\""
grep -q '^#define HAVE_WEBP 1' "$VL_TOP_BUILDDIR/config.h" && xf="$xf,\"webp\""
vl_eq "info v3: extraFormats" "$xf]" "$(jv 'd["extraFormats"]')"
vl_eq "info v3: extraQualities" '["color","gray","bitonal"]' \
    "$(jv 'd["extraQualities"]')"
vl_eq "info v3: extraFeatures" \
    '["regionByPct","regionByPx","regionSquare","sizeByW","sizeByH","sizeByPct","sizeByWh","sizeByConfinedWh","sizeUpscaling","rotationBy90s","rotationArbitrary","mirroring","baseUriRedirect","cors","jsonldMediaType","profileLinkHeader","canonicalLinkHeader"]' \
    "$(jv 'd["extraFeatures"]')"

st=$(vl_get "$U/3/rgb-deflate.tif/info.json")
vl_eq "/iiif/3/: 200" 200 "$st"
vl_eq "/iiif/3/: v3 document" "$CTX3 $U/3/rgb-deflate.tif" \
    "$(jv 'd["@context"] + " " + d["id"]')"

st=$(vl_get "$U/2/rgb-deflate.tif/info.json")
vl_eq "/iiif/2/: 200" 200 "$st"
vl_eq "/iiif/2/: Content-Type" "application/json" "$(vl_header Content-Type)"
vl_check "/iiif/2/: Link profile v2" \
    grep -qi '^Link: .*<http://iiif.io/api/image/2/level2.json>;rel="profile"' \
    "$T/headers"
vl_eq "/iiif/2/: v2 document" "$CTX2 $U/2/rgb-deflate.tif" \
    "$(jv 'd["@context"] + " " + d["@id"]')"
vl_eq "/iiif/2/: profile" \
    "http://iiif.io/api/image/2/level2.json [\"jpg\",${xf#[}] True" \
    "$(jv 'd["profile"][0] + " " + json.dumps(d["profile"][1]["formats"], separators=(",", ":")) + " " + str("sizeAboveFull" in d["profile"][1]["supports"])')"

st=$(vl_get "$U/rgb-deflate.tif/info.json" \
    -H "Accept: application/ld+json;profile=\"$CTX2\"")
vl_eq "Accept v2 profile: v2 document" "$CTX2" "$(jv 'd["@context"]')"
vl_eq "Accept v2 profile: ld+json" "application/ld+json;profile=\"$CTX2\"" \
    "$(vl_header Content-Type)"
st=$(vl_get "$U/rgb-deflate.tif/info.json" -H "Accept: application/json")
vl_eq "Accept application/json: v3 as application/json" \
    "application/json $CTX3" "$(vl_header Content-Type) $(jv 'd["@context"]')"

# identifiers: %2F kept encoded in the id, literal %2F in a name, raw
# slashes, spaces, a symlink inside the root
for c in 'sub%2Fdir%2Fnested.tif' 'a%252Fb.tif' 'sub/dir/nested.tif' \
         'name%20with%20space.tif' 'inside.tif'; do
    st=$(vl_get "$U/$c/info.json")
    vl_eq "id $c: 200" 200 "$st"
    vl_eq "id $c: id and size" "$U/$c 333x222" \
        "$(jv 'd["id"] + " %dx%d" % (d["width"], d["height"])')"
done
st=$(vl_get "$U/sub/dir/nested.tif/full/max/0/default.jpg")
vl_eq "raw slashes: image" "200 jpeg 333 222 3" "$st $(probe)"
st=$(vl_get "$U/sub%2Fdir%2Fnested.tif/full/max/0/default.png")
vl_eq "%2F: image" "200 png 333 222 3" "$st $(probe)"

# ids from forwarded headers and X-IIIF-ID
st=$(vl_get "$U/single.tif/info.json" -H "X-Forwarded-Proto: https" \
    -H "X-Forwarded-Host: pub.example.org" -H "X-Forwarded-Prefix: /images")
vl_eq "forwarded headers: id" "https://pub.example.org/images/iiif/single.tif" \
    "$(jv 'd["id"]')"
st=$(vl_get "$U/single.tif/info.json" \
    -H "X-IIIF-ID: https://ex.org/iiif/abc/")
vl_eq "X-IIIF-ID: id" "https://ex.org/iiif/abc" "$(jv 'd["id"]')"

# ---------------------------------------------------------------- base URI
st=$(vl_get "$U/rgb-deflate.tif")
vl_eq "base URI: 303" 303 "$st"
vl_eq "base URI: Location" "$U/rgb-deflate.tif/info.json" \
    "$(vl_header Location)"
st=$(vl_get "$U/2/sub%2Fdir%2Fnested.tif")
vl_eq "base URI v2 %2F: Location" \
    "303 $U/2/sub%2Fdir%2Fnested.tif/info.json" "$st $(vl_header Location)"

# ---------------------------------------------------------------- images
st=$(vl_get "$U/rgb-deflate.tif/10,20,100,50/max/0/default.png")
vl_eq "crop png: 200" 200 "$st"
vl_eq "crop png: Content-Type" "image/png" "$(vl_header Content-Type)"
vl_eq "crop png: size" "png 100 50 3" "$(probe)"
vl_eq "crop png: pixel 0,0" "10 20 30" "$(probe 0 0)"
vl_eq "crop png: pixel 99,49" "109 69 40" "$(probe 99 49)"
vl_eq "crop png: Content-Length" "$(body_size)" "$(vl_header Content-Length)"
vl_eq "crop png: CORS" "*" "$(vl_header Access-Control-Allow-Origin)"
vl_eq "crop png: Cache-Control" "max-age=86400" "$(vl_header Cache-Control)"
vl_check "crop png: Link canonical" \
    grep -qi "^Link: .*<$U/rgb-deflate.tif/10,20,100,50/[^>]*/0/default.png>;rel=\"canonical\"" \
    "$T/headers"
vl_check "crop png: Link profile" \
    grep -qi '^Link: .*<http://iiif.io/api/image/3/level2.json>;rel="profile"' \
    "$T/headers"
vl_eq "crop png: no Vary" "" "$(vl_header Vary)"
ETAG=$(vl_header ETag)
LASTMOD=$(vl_header Last-Modified)
LEN=$(vl_header Content-Length)
vl_check "crop png: ETag" sh -c "echo '$ETAG' | grep -Eq '^\"[0-9a-f]{16}\"$'"

# mirrored: pixel (0,0) is source (109, 20)
st=$(vl_get "$U/rgb-deflate.tif/10,20,100,50/max/!0/default.png")
vl_eq "mirror: 200 size" "200 png 100 50 3" "$st $(probe)"
vl_eq "mirror: pixel 0,0" "109 20 $((109 ^ 20))" "$(probe 0 0)"
# 90 degrees clockwise: out(x, y) = in(10 + y, 20 + 49 - x)
st=$(vl_get "$U/rgb-deflate.tif/10,20,100,50/max/90/default.png")
vl_eq "rotate 90: 200 size" "200 png 50 100 3" "$st $(probe)"
vl_eq "rotate 90: pixel 0,0" "10 69 $((10 ^ 69))" "$(probe 0 0)"
vl_eq "rotate 90: pixel 49,99" "109 20 $((109 ^ 20))" "$(probe 49 99)"
st=$(vl_get "$U/rgb-deflate.tif/full/200,/0/default.jpg")
vl_eq "jpg 200,: size" "200 jpeg 200 147 3" "$st $(probe)"
st=$(vl_get "$U/rgb-deflate.tif/full/max/0/gray.jpg")
vl_eq "gray: one band" "200 jpeg 1001 737 1" "$st $(probe)"
st=$(vl_get "$U/rgb-deflate.tif/square/100,100/0/bitonal.png")
vl_eq "square bitonal" "200 png 100 100 1" "$st $(probe)"
st=$(vl_get "$U/grey.tif/pct:10,10,50,50/!300,300/0/color.png")
vl_eq "pct region, !w,h, color of grey" "200 png 300 225 3" "$st $(probe)"
st=$(vl_get "$U/rgb-deflate.tif/full/^1200,/0/default.jpg")
vl_eq "^ upscale" "200 jpeg 1200 884 3" "$st $(probe)"
st=$(vl_get "$U/rgb-deflate.tif/full/max/45/default.png")
vl_eq "arbitrary rotation: 200 png" "200 png" "$st $(probe | cut -d' ' -f1)"
st=$(vl_get "$U/2/rgb-deflate.tif/full/full/0/native.jpg")
vl_eq "v2 full/native" "200 jpeg 1001 737 3" "$st $(probe)"
st=$(vl_get "$U/2/rgb-deflate.tif/full/150,/0/default.jpg")
vl_eq "v2 w,: Link profile v2" "200 1" \
    "$st $(grep -ci '^Link: .*image/2/level2.json' "$T/headers")"

# ---------------------------------------------------------------- HEAD
# (curl -I writes the headers, and nothing else, to the -o file too)
st=$(vl_get "$U/rgb-deflate.tif/10,20,100,50/max/0/default.png" -I)
vl_eq "HEAD: 200" 200 "$st"
vl_check "HEAD: no body" cmp -s "$T/body" "$T/headers"
vl_eq "HEAD: same Content-Length" "$LEN" "$(vl_header Content-Length)"
vl_eq "HEAD: same ETag" "$ETAG" "$(vl_header ETag)"
vl_eq "HEAD: Content-Type" "image/png" "$(vl_header Content-Type)"
st=$(vl_get "$U/rgb-deflate.tif/info.json" -I)
vl_check "HEAD info.json: 200, length > 0" \
    test "$st" = 200 -a "$(vl_header Content-Length)" -gt 0

# ---------------------------------------------------------------- OPTIONS, 405
st=$(vl_get "$U/rgb-deflate.tif/info.json" -X OPTIONS \
    -H "Origin: http://viewer.example" \
    -H "Access-Control-Request-Method: GET")
vl_eq "OPTIONS: 204" 204 "$st"
vl_eq "OPTIONS: Allow-Origin" "*" "$(vl_header Access-Control-Allow-Origin)"
vl_eq "OPTIONS: Allow-Methods" "GET, HEAD, OPTIONS" \
    "$(vl_header Access-Control-Allow-Methods)"
vl_eq "OPTIONS: Allow-Headers" "Accept, If-None-Match, If-Modified-Since" \
    "$(vl_header Access-Control-Allow-Headers)"
vl_check "OPTIONS: Max-Age" test -n "$(vl_header Access-Control-Max-Age)"
for m in PUT DELETE POST; do
    st=$(vl_get "$U/rgb-deflate.tif/info.json" -X $m)
    vl_eq "$m: 405 + Allow" "405 GET, HEAD, OPTIONS" "$st $(vl_header Allow)"
done

# ---------------------------------------------------------------- 304
IMG=$U/rgb-deflate.tif/10,20,100,50/max/0/default.png
rm -f "$T/body"
st=$(vl_get "$IMG" -H "If-None-Match: $ETAG")
vl_eq "If-None-Match: 304" 304 "$st"
vl_eq "304: no body" 0 "$(cat "$T/body" 2>/dev/null | wc -c | tr -d ' ')"
vl_eq "304: ETag" "$ETAG" "$(vl_header ETag)"
st=$(vl_get "$IMG" -H "If-None-Match: \"x\", W/$ETAG")
vl_eq "If-None-Match list with W/: 304" 304 "$st"
st=$(vl_get "$IMG" -H 'If-None-Match: "0000000000000000"')
vl_eq "If-None-Match other: 200" 200 "$st"
st=$(vl_get "$IMG" -H "If-Modified-Since: $LASTMOD")
vl_eq "If-Modified-Since: 304" 304 "$st"
st=$(vl_get "$IMG" -H "If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT")
vl_eq "If-Modified-Since old: 200" 200 "$st"
st=$(vl_get "$U/rgb-deflate.tif/info.json")
IETAG=$(vl_header ETag)
st=$(vl_get "$U/rgb-deflate.tif/info.json" -H "If-None-Match: $IETAG")
vl_eq "info.json If-None-Match: 304" 304 "$st"

# ---------------------------------------------------------------- errors
err_case() {    # DESC WANT PATH [curl args]
    local desc=$1 want=$2 path=$3
    shift 3
    st=$(vl_get "$U/$path" "$@")
    vl_eq "$desc: $want" "$want" "$st"
    check_error_body "$desc"
}
err_case "missing file" 404 missing.tif/info.json
err_case "missing file image" 404 missing.tif/full/max/0/default.jpg
err_case "not an image" 415 not-an-image.tif/info.json
err_case "truncated" 500 truncated.tif/full/max/0/default.png
err_case "bmp" 400 rgb-deflate.tif/full/max/0/default.bmp
vl_eq "bmp: reason" "unsupported format 'bmp'" "$(cat "$T/body")"
# the kind of a request is its shape: a bad region is a 400, not a 404
err_case "bad region" 400 'rgb-deflate.tif/McoDV%5E/max/0/default.jpg'
vl_eq "bad region: reason" "invalid region 'McoDV^'" "$(cat "$T/body")"
# reserved routes: 404, never a 303 to {id}/manifest/info.json
err_case "manifest of a missing file" 404 missing.tif/manifest
vl_eq "manifest: no redirect" "" "$(vl_header Location)"
err_case "reserved name" 404 cd/nothing
err_case "v3 full" 400 rgb-deflate.tif/full/full/0/default.jpg
err_case "larger without ^" 400 rgb-deflate.tif/full/2000,/0/default.jpg
err_case "over maxWidth" 400 rgb-deflate.tif/full/^6000,/0/default.jpg
err_case "region outside" 400 rgb-deflate.tif/2000,2000,10,10/max/0/default.jpg
err_case "zero region" 400 rgb-deflate.tif/0,0,0,10/max/0/default.jpg
err_case "bad rotation" 400 rgb-deflate.tif/full/max/0abc/default.jpg
err_case "bad quality" 400 rgb-deflate.tif/full/max/0/fancy.jpg
st=$(vl_get "$VL_URL/iiif/")
vl_check "empty IIIF path: 4xx" test "${st:0:1}" = 4

# ---------------------------------------------------------------- traversal
# Raw and encoded "..", absolute paths, symlinks out of the root: 404 or
# 400, fast (the FIFO outside would hang an open), never the file.
for p in '../secret.tif' '..%2Fsecret.tif' '%2e%2e%2fsecret.tif' \
         '%2E%2E%2Fsecret.tif' 'sub/../../secret.tif' \
         'sub%2F..%2F..%2Fsecret.tif' '%252e%252e%252fsecret.tif' \
         "$(echo "$T" | sed 's|/|%2F|g')%2Fsecret.tif" 'escape.tif' 'up%2Fsecret.tif' \
         'up/secret.tif' 'fifo.tif' '..%2Ffifo.tif' 'up%2Ffifo.tif'; do
    for r in info.json full/max/0/default.jpg; do
        st=$(vl_get "$U/$p/$r" --path-as-is --max-time 5)
        vl_check "traversal $p/$r: 404 or 400 (got $st)" \
            test "$st" = 404 -o "$st" = 400
        vl_check "traversal $p/$r: no image bytes" \
            sh -c "! grep -q '^Content-Type: image' '$T/headers'"
    done
done

# ---------------------------------------------------------------- tile walk
# Every tile a viewer derives from info.json (tiles x scaleFactors), v3
# canonical "x,y,w,h/w,h" and v2 "x,y,w,h/w,": 200 with exact dimensions.
walk() {    # PREFIX SIZEFORM
    local url w h n=0 bad=0 st got
    st=$(vl_get "$1/rgb-jpeg.tif/info.json")
    vl_tile_urls "$T/body" "$2" > "$T/tiles"
    while read -r url w h; do
        n=$((n + 1))
        st=$(vl_get "$1/rgb-jpeg.tif/$url")
        got=$(probe)
        if [ "$st" != 200 ] || [ "$got" != "jpeg $w $h 3" ]; then
            echo "# $1/rgb-jpeg.tif/$url: $st $got (want $w x $h)"
            bad=$((bad + 1))
        fi
    done < "$T/tiles"
    vl_eq "tile walk $3: tiles" 17 "$n"
    vl_eq "tile walk $3: every tile 200 with its size" 0 "$bad"
}
walk "$U/3" wh v3
walk "$U/2" w v2

# ---------------------------------------------------------------- settings
# No upscaling, no CORS, BASE_URL: 501 for ^, advertised features follow.
vl_stop_vellum
export ALLOW_UPSCALING=0 CORS= BASE_URL=https://img.example.org/iiif/
FILESYSTEM_PREFIX=$ROOT vl_start_vellum --workers 1 || exit 1
unset ALLOW_UPSCALING CORS BASE_URL
st=$(vl_get "$U/rgb-deflate.tif/full/^1200,/0/default.jpg")
vl_eq "^ without upscaling: 501" 501 "$st"
vl_eq "CORS off: no Allow-Origin on errors" "" \
    "$(vl_header Access-Control-Allow-Origin)"
st=$(vl_get "$U/sub%2Fdir%2Fnested.tif/info.json")
vl_eq "BASE_URL: id" "https://img.example.org/iiif/sub%2Fdir%2Fnested.tif" \
    "$(jv 'd["id"]')"
vl_eq "CORS off: no Allow-Origin" "" "$(vl_header Access-Control-Allow-Origin)"
vl_eq "no upscaling, no CORS: features" "False False" \
    "$(jv 'str("sizeUpscaling" in d["extraFeatures"]) + " " + str("cors" in d["extraFeatures"])')"
st=$(vl_get "$U/sub%2Fdir%2Fnested.tif")
vl_eq "BASE_URL: 303 Location" \
    "303 https://img.example.org/iiif/sub%2Fdir%2Fnested.tif/info.json" \
    "$st $(vl_header Location)"

vl_done
