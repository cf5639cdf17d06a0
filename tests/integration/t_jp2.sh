#!/bin/bash
# SPDX-License-Identifier: MIT
# t_jp2: JPEG 2000 through a real nginx and the real vellum binary: info.json
# of a JP2, a tiled JP2 and a raw codestream (sizes, tiles, scale factors),
# the viewer tile walk info.json implies (200 with exact sizes, every tile),
# a pixel check at full resolution, and damaged files giving 415/500 with the
# worker still serving afterwards.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup jp2
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
PROBE=$VL_TOP_BUILDDIR/tests/tools/imgprobe
[ -x "$PROBE" ] || { echo "SKIP: tests/tools/imgprobe not built"; exit 77; }
[ -f "$VL_FIXTURES/rgb.jp2" ] || { echo "SKIP: no JPEG 2000 fixtures"; exit 77; }

vl_start_vellum --workers 1 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif

jv() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict))
      else v)' "$T/body" "$1" 2>/dev/null
}

st=$(vl_get "$U/3/rgb.jp2/info.json")
vl_eq "rgb.jp2 info.json: 200" 200 "$st"
vl_eq "rgb.jp2: size" "1001x737" "$(jv '"%dx%d" % (d["width"], d["height"])')"
vl_eq "rgb.jp2: tiles" '[{"width":512,"height":512,"scaleFactors":[1,2]}]' \
    "$(jv 'd["tiles"]')"
st=$(vl_get "$U/3/rgb-tiled.jp2/info.json")
vl_eq "rgb-tiled.jp2: tiles of the codestream" \
    '[{"width":256,"height":256,"scaleFactors":[1,2,4]}]' "$(jv 'd["tiles"]')"

walk() {    # ID SIZEFORM
    local n=0 bad=0 st got
    st=$(vl_get "$U/3/$1/info.json")
    vl_tile_urls "$T/body" wh > "$T/tiles"
    while read -r url w h; do
        n=$((n + 1))
        st=$(vl_get "$U/3/$1/$url")
        got=$("$PROBE" "$T/body" 2>/dev/null)
        if [ "$st" != 200 ] || [ "$got" != "jpeg $w $h $3" ]; then
            echo "# $1/$url: $st $got (want $w x $h)"
            bad=$((bad + 1))
        fi
    done < "$T/tiles"
    vl_check "tile walk $1: some tiles" [ "$n" -ge 3 ]
    vl_eq "tile walk $1: every tile 200 with its size" 0 "$bad"
}
walk rgb.jp2 wh 3
walk rgb-tiled.jp2 wh 3
walk rgb-prec.jp2 wh 3
walk grey.j2k wh 1
if [ -f "$VL_FIXTURES/rgb-ht.j2c" ]; then
    walk rgb-ht.j2c wh 3
    walk rgb-ht-big.j2c wh 3
    walk rgb-ht-tiled.j2c wh 3
    walk rgb-ht.jp2 wh 3

    # pixels through the server: lossless HTJ2K equals lossless JPEG 2000
    # of the same pattern (identical PNG bytes), at full resolution and,
    # for the same codestream raw and in a JP2, at a reduced level
    png() { vl_get "$U/3/$1/$2/0/default.png" > /dev/null; cp "$T/body" "$T/$3"; }
    png rgb.jp2 100,200,700,500/max ref.png
    for f in rgb-ht-big.j2c rgb-ht-tiled.j2c rgb-ht.jp2; do
        png "$f" 100,200,700,500/max ht.png
        vl_check "$f: full-resolution region equals rgb.jp2" cmp -s "$T/ref.png" "$T/ht.png"
    done
    png rgb-ht-big.j2c 1000,600,1100,1100/275, a.png
    png rgb-ht.jp2 1000,600,1100,1100/275, b.png
    vl_check "rgb-ht.jp2: reduced-level region equals the raw codestream" cmp -s "$T/a.png" "$T/b.png"
    vl_check "rgb-ht-big.j2c: reduced-level region is not flat" \
        [ "$(wc -c < "$T/a.png")" -gt 5000 ]

    # OpenJPH refuses a truncated codestream; OpenJPEG (a build without
    # OpenJPH) decodes what is there
    st=$(vl_get "$U/3/bad-ht-trunc.j2c/0,1200,512,500/max/0/default.jpg")
    if grep -q "define HAVE_GROK 1" "$VL_TOP_BUILDDIR/config.h"; then
        vl_check "rgb-ht-big.j2c: decoded by Grok" sh -c \
            "'$VL_TOP_BUILDDIR/src/vellum' info '$VL_FIXTURES/rgb-ht-big.j2c' | grep -q 'Grok region decode'"
        vl_eq "truncated HTJ2K (Grok): 500" 500 "$st"
        vl_check "truncated HTJ2K (Grok): a one-line reason" grep -q "JPEG 2000" "$T/body"
    elif grep -q "define HAVE_OPENJPH 1" "$VL_TOP_BUILDDIR/config.h"; then
        vl_check "rgb-ht-big.j2c: decoded by OpenJPH" sh -c \
            "'$VL_TOP_BUILDDIR/src/vellum' info '$VL_FIXTURES/rgb-ht-big.j2c' | grep -q OpenJPH"
        vl_eq "truncated HTJ2K: 500" 500 "$st"
        vl_check "truncated HTJ2K: a one-line reason" grep -q "HTJ2K" "$T/body"
        st=$(vl_get "$U/3/bad-ht-trunc.j2c/0,0,512,500/max/0/default.jpg")
        vl_eq "truncated HTJ2K, again: 500" 500 "$st"
    else
        vl_skip "truncated HTJ2K: 500" "built without OpenJPH"
    fi
    st=$(vl_get "$U/3/rgb-ht-big.j2c/0,0,512,512/max/0/default.jpg")
    vl_eq "after the truncated file: next request 200" 200 "$st"
else
    vl_skip "tile walk rgb-ht.j2c" "ojph_compress not installed"
fi

st=$(vl_get "$U/3/rgba.jp2/full/max/0/default.png")
vl_eq "rgba.jp2 as PNG: 200" 200 "$st"
vl_eq "rgba.jp2 as PNG: 4 bands" "png 300 200 4" "$("$PROBE" "$T/body" 2>/dev/null)"
st=$(vl_get "$U/3/wide.j2k/full/max/0/default.png")
vl_eq "100000x1: 200" 200 "$st"
st=$(vl_get "$U/3/bad-magic.jp2/full/max/0/default.jpg")
vl_eq "wrong magic: 415" 415 "$st"
st=$(vl_get "$U/3/bad-siz-huge.j2k/info.json")
vl_eq "absurd SIZ: 415" 415 "$st"
st=$(vl_get "$U/3/bad-zero-comps.j2k/info.json")
vl_eq "zero components: 500" 500 "$st"
st=$(vl_get "$U/3/bad-trunc-half.jp2/full/max/0/default.jpg")
vl_eq "truncated: 500" 500 "$st"
st=$(vl_get "$U/3/rgb.jp2/full/max/0/default.jpg")
vl_eq "the worker still serves" 200 "$st"
vl_check "no decoder text on stderr" sh -c "! grep -qi 'error' '$T/vellum.stderr'"
vl_check "nothing at all on stderr" [ ! -s "$T/vellum.stderr" ]

# the decoder and, for Grok, the licence of the binary, in --version
"$VL_TOP_BUILDDIR/src/vellum" --version > "$T/version"
if grep -q "define HAVE_GROK 1" "$VL_TOP_BUILDDIR/config.h"; then
    vl_check "--version: Grok and the AGPL-3.0" grep -q "^JPEG 2000 decoder: Grok .*covered by the AGPL-3.0" "$T/version"
else
    vl_check "--version: OpenJPEG" grep -q "^JPEG 2000 decoder: OpenJPEG" "$T/version"
    vl_check "--version: no AGPL" sh -c "! grep -q AGPL '$T/version'"
fi
vl_done
