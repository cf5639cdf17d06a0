#!/bin/bash
# SPDX-License-Identifier: MIT
# t_flat: flat (non-pyramid) JPEG and PNG sources. Pixels through `vellum
# render` against the samples mkflat.py wrote and Pillow's decode
# (flat_check.py: every PNG colour type and depth, tRNS, interlaced, ICC,
# JPEG baseline/progressive/grey/CMYK, DCT levels, all 8 EXIF
# orientations, the area-averaged levels); then through a real nginx:
# info.json of a flat JPEG and PNG (sizes, tiles, scale factors), the
# viewer tile walk it implies, thumbnails, the status of damaged and
# oversized files with the worker still serving, and EXIF_ORIENTATION=0.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup flat
PY=/usr/bin/python3
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
$PY -c 'import PIL' 2>/dev/null || { echo "SKIP: no Pillow for $PY"; exit 77; }
PROBE=$VL_TOP_BUILDDIR/tests/tools/imgprobe
[ -x "$PROBE" ] || { echo "SKIP: tests/tools/imgprobe not built"; exit 77; }
[ -f "$VL_FIXTURES/flat/rgb.jpg" ] || { echo "SKIP: no flat fixtures"; exit 77; }

# pixels, one TAP line each
$PY "$VL_TOP_SRCDIR/tests/integration/flat_check.py" \
    "$VL_TOP_BUILDDIR/src/vellum" "$VL_FIXTURES/flat" "$T" > "$T/pixels"
cat "$T/pixels"
VL_PASS=$((VL_PASS + $(grep -c '^ok' "$T/pixels")))
VL_FAIL=$((VL_FAIL + $(grep -c '^not ok' "$T/pixels")))
vl_check "pixel checks ran" [ "$(grep -c '^ok' "$T/pixels")" -ge 120 ]

FILESYSTEM_PREFIX=$VL_FIXTURES/flat vl_start_vellum --workers 1 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif

jv() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict))
      else v)' "$T/body" "$1" 2>/dev/null
}

st=$(vl_get "$U/3/big.jpg/info.json")
vl_eq "big.jpg info.json: 200" 200 "$st"
vl_eq "big.jpg: size" "1500x1100" "$(jv '"%dx%d" % (d["width"], d["height"])')"
vl_eq "big.jpg: tiles 256, DCT and averaged scale factors" \
    '[{"width":256,"height":256,"scaleFactors":[1,2,4,8]}]' "$(jv 'd["tiles"]')"
vl_eq "big.jpg: sizes" \
    '[[188,138],[375,275],[750,550]]' \
    "$(jv '[[s["width"], s["height"]] for s in d["sizes"]]')"
st=$(vl_get "$U/3/big.png/info.json")
vl_eq "big.png: tiles 256, averaged scale factors" \
    '[{"width":256,"height":256,"scaleFactors":[1,2,4,8]}]' "$(jv 'd["tiles"]')"
vl_eq "big.png: sizes" '[[188,138],[375,275],[750,550]]' \
    "$(jv '[[s["width"], s["height"]] for s in d["sizes"]]')"
st=$(vl_get "$U/3/orient-6.jpg/info.json")
vl_eq "orient-6.jpg: the upright size" "300x200" \
    "$(jv '"%dx%d" % (d["width"], d["height"])')"

walk() {    # ID BANDS
    local n=0 bad=0 st got
    st=$(vl_get "$U/3/$1/info.json")
    vl_tile_urls "$T/body" wh > "$T/tiles"
    while read -r url w h; do
        n=$((n + 1))
        st=$(vl_get "$U/3/$1/$url")
        got=$("$PROBE" "$T/body" 2>/dev/null)
        if [ "$st" != 200 ] || [ "$got" != "jpeg $w $h $2" ]; then
            echo "# $1/$url: $st $got (want $w x $h)"
            bad=$((bad + 1))
        fi
    done < "$T/tiles"
    vl_check "tile walk $1: some tiles" [ "$n" -ge 8 ]
    vl_eq "tile walk $1: every tile 200 with its size" 0 "$bad"
}
walk big.jpg 3
walk big.png 3
walk grey.jpg 1

for id in big.jpg big.png prog.jpg cmyk.jpg; do
    st=$(vl_get "$U/3/$id/full/256,/0/default.jpg")
    vl_eq "$id thumbnail: 200, 256 wide" "200 256" \
        "$st $("$PROBE" "$T/body" | cut -d' ' -f2)"
done

# damaged and oversized files: a status and a reason, the worker lives
for c in "trunc-rgb.jpg 500" "trunc-big.png 500" "huge.png 400" \
         "huge-prog.jpg 400" "huge-interlaced.png 415"; do
    set -- $c
    st=$(vl_get "$U/3/$1/full/max/0/default.jpg")
    case $1 in trunc-*) st=$(vl_get "$U/3/$1/full/max/0/default.jpg") ;; esac
    vl_eq "$1: $2" "$2" "$st"
done
st=$(vl_get "$U/3/trunc-rgb.jpg/0,0,64,64/max/0/default.jpg")
vl_eq "trunc-rgb.jpg: its intact top still serves (a new handle)" 200 "$st"
st=$(vl_get "$U/3/huge.png/info.json")
vl_eq "huge.png info.json: 400 before any pixel" 400 "$st"
vl_check "huge.png: a one-line reason" grep -q "beyond the limits" "$T/body"
st=$(vl_get "$U/3/big.jpg/full/64,/0/default.jpg")
vl_eq "the worker still serves after bad files" 200 "$st"

# EXIF_ORIENTATION=0: as stored
vl_stop_vellum
FILESYSTEM_PREFIX=$VL_FIXTURES/flat EXIF_ORIENTATION=0 \
    vl_start_vellum --workers 1 || exit 1
st=$(vl_get "$U/3/orient-6.jpg/info.json")
vl_eq "EXIF_ORIENTATION=0: orient-6.jpg as stored" "200x300" \
    "$(jv '"%dx%d" % (d["width"], d["height"])')"

vl_done
