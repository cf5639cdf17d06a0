#!/bin/bash
# SPDX-License-Identifier: MIT
# t_kinds: TIFF pixel kinds and colour through a real nginx and vellum:
# CMYK, Lab, float and YCbCr served (200, info.json, bands, a pixel), a
# CMYK profile never embedded in the RGB output, an RGB profile embedded
# byte for byte in PNG and JPEG, a malformed profile dropped with one
# warning, the refused kinds as 415 with a one-line reason; then
# ICC_TO_SRGB (no profile, converted pixels) and BACKGROUND (what JPEG
# flattens transparency onto).

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup kinds
PY=/usr/bin/python3
$PY -c 'import PIL' 2>/dev/null || { echo "SKIP: Pillow not installed"; exit 77; }
[ -f "$VL_FIXTURES/cmyk8.tif" ] || { echo "SKIP: no kind fixtures"; exit 77; }
# built with lcms2? (Lab, profiles, ICC_TO_SRGB need it)
LCMS=0
grep -q '^#define HAVE_LCMS2 1' "$VL_TOP_BUILDDIR/config.h" 2>/dev/null && LCMS=1

VERBOSITY=2 vl_start_vellum --workers 1 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif/3

# pix X Y: the pixel (x, y) of the last body, as "r,g,b[,a]" (or "v")
pix() {
    $PY -c 'import sys
from PIL import Image
p = Image.open(sys.argv[1]).getpixel((int(sys.argv[2]), int(sys.argv[3])))
print(",".join(str(v) for v in p) if isinstance(p, tuple) else p)' \
        "$T/body" "$1" "$2"
}
# mode: the PIL mode of the last body
mode() { $PY -c 'import sys; from PIL import Image; print(Image.open(sys.argv[1]).mode)' "$T/body"; }
# icc FILE: sha256 of the ICC profile PIL finds in FILE, or "none"
icc() {
    $PY -c 'import sys, hashlib
from PIL import Image
p = Image.open(sys.argv[1]).info.get("icc_profile")
print(hashlib.sha256(p).hexdigest() if p else "none")' "$1"
}

# --- served kinds: 200, info.json, bands, a pixel
kinds="cmyk8.tif cmyk16a.tif float.tif float-rgb.tif ycbcr22.tif ycbcr21t.tif"
[ "$LCMS" = 1 ] && kinds="$kinds cmyk8-icc.tif lab8.tif icclab8a.tif lab16.tif"
for f in $kinds; do
    st=$(vl_get "$U/$f/info.json")
    vl_eq "$f: info.json 200" 200 "$st"
    vl_check "$f: info.json 40x30" grep -q '"width": *40' "$T/body"
    st=$(vl_get "$U/$f/full/max/0/default.png")
    vl_eq "$f: full PNG 200" 200 "$st"
done
vl_get "$U/cmyk8.tif/full/max/0/default.png" > /dev/null
vl_eq "cmyk8: RGB" RGB "$(mode)"
# (10, 5): C 85, M 135, Y 185, K 235: (255-C)(255-K)/255 rounded
vl_eq "cmyk8: naive pixel" "13,9,5" "$(pix 10 5)"
vl_get "$U/cmyk16a.tif/full/max/0/default.png" > /dev/null
vl_eq "cmyk16a: RGBA" RGBA "$(mode)"
if [ "$LCMS" = 1 ]; then
vl_get "$U/cmyk8-icc.tif/full/max/0/default.png" > /dev/null
vl_eq "cmyk8-icc: no CMYK profile in the RGB output" none "$(icc "$T/body")"
vl_get "$U/cmyk8-icc.tif/full/max/0/default.jpg" > /dev/null
vl_eq "cmyk8-icc: no CMYK profile in the JPEG" none "$(icc "$T/body")"
vl_get "$U/lab8.tif/full/max/0/default.png" > /dev/null
vl_eq "lab8: L* 0 is black" "0,0,0" "$(pix 0 0)"
else
    st=$(vl_get "$U/lab8.tif/info.json")
    vl_eq "lab8 without lcms2: 415" 415 "$st"
fi
vl_get "$U/float.tif/full/max/0/default.png" > /dev/null
vl_eq "float: grey" L "$(mode)"
vl_eq "float: NaN is 0" 0 "$(pix 0 0)"
vl_eq "float: 2.0 clamps to 255" 255 "$(pix 2 0)"
vl_eq "float: 1.0 is 255" 255 "$(pix 39 29)"

# --- profiles: embedded byte for byte; malformed dropped, one warning
if [ "$LCMS" = 1 ]; then
want=$(icc "$VL_FIXTURES/rgb-adobe.tif")
vl_check "rgb-adobe.tif has a profile" [ "$want" != none ]
vl_get "$U/rgb-adobe.tif/full/max/0/default.png" > /dev/null
vl_eq "rgb-adobe: PNG embeds the same profile" "$want" "$(icc "$T/body")"
vl_eq "rgb-adobe: PNG pixels as stored" "85,135,185" "$(pix 10 5)"
vl_get "$U/rgb-adobe.tif/full/max/0/default.jpg" > /dev/null
vl_eq "rgb-adobe: JPEG embeds the same profile" "$want" "$(icc "$T/body")"
# a grey profile is no colour rendering's: color.* of grey-g18.tif is
# served (libpng refused it: a 500) without it
for f in png jpg tif; do
    st=$(vl_get "$U/grey-g18.tif/full/max/0/color.$f")
    vl_eq "grey-g18: color.$f served" 200 "$st"
    vl_eq "grey-g18: color.$f without the grey profile" none \
        "$(icc "$T/body")"
done
# ... and on grey output the grey profile is embedded, byte for byte
wantg=$(icc "$VL_FIXTURES/grey-g18.tif")
vl_check "grey-g18.tif has a profile" [ "$wantg" != none ]
for f in png jpg tif; do
    vl_get "$U/grey-g18.tif/full/max/0/default.$f" > /dev/null
    vl_eq "grey-g18: default.$f embeds the grey profile" "$wantg" \
        "$(icc "$T/body")"
done
# ... and an RGB profile is not put on gray output
vl_get "$U/rgb-adobe.tif/full/max/0/gray.png" > /dev/null
vl_eq "rgb-adobe: gray.png without the RGB profile" none "$(icc "$T/body")"
for s in max 20,; do
    st=$(vl_get "$U/rgb-badicc.tif/full/$s/0/default.png")
    vl_eq "rgb-badicc ($s): served" 200 "$st"
    vl_eq "rgb-badicc ($s): no profile" none "$(icc "$T/body")"
done
vl_eq "rgb-badicc: one warning, naming the identifier" 1 \
    "$(grep -c 'ICC profile dropped (300 bytes, "rgb-badicc.tif")' "$T/vellum.log")"
fi

# --- refused kinds: 415, one line naming what
refuse() {  # FILE REASON
    local st
    st=$(vl_get "$U/$1/full/max/0/default.jpg")
    vl_eq "$1: 415" 415 "$st"
    vl_check "$1: the reason ($2)" grep -q "$2" "$T/body"
    vl_check "$1: no path in the body" sh -c "! grep -q '$VL_FIXTURES' '$T/body'"
    vl_check "$1: one line" [ "$(wc -l < "$T/body")" -le 1 ]
    st=$(vl_get "$U/$1/info.json")
    vl_eq "$1: info.json 415" 415 "$st"
}
refuse bad-int16.tif "signed integer samples"
refuse bad-float64.tif "must have 32 bits"
refuse bad-bits12.tif "12, 24, 32-bit integers"
refuse bad-inks.tif "other inks than CMYK"
refuse bad-ycbcr14.tif "YCbCr subsampling"

# --- background: white by default
vl_get "$U/bg.tif/full/max/0/default.jpg" > /dev/null
near() {    # WANT GOT: each band within 3
    $PY -c 'import sys
w = [int(v) for v in sys.argv[1].split(",")]
g = [int(v) for v in sys.argv[2].split(",")]
sys.exit(0 if len(w) == len(g) and all(abs(a - b) <= 3 for a, b in zip(w, g)) else 1)' "$1" "$2"
}
got=$(pix 5 5)
vl_check "bg.tif JPEG: transparent on white ($got)" near 255,255,255 "$got"
vl_get "$U/bg.tif/full/max/0/default.png" > /dev/null
vl_eq "bg.tif PNG keeps alpha" "200,10,10,0" "$(pix 5 5)"

# --- ICC_TO_SRGB and BACKGROUND
vl_stop_vellum
ICC_TO_SRGB=1 BACKGROUND=336699 VERBOSITY=2 vl_start_vellum --workers 1 || exit 1
if [ "$LCMS" = 1 ]; then
    vl_get "$U/rgb-adobe.tif/full/max/0/default.png" > /dev/null
    vl_eq "ICC_TO_SRGB: no profile embedded" none "$(icc "$T/body")"
    got=$(pix 10 5)
    vl_check "ICC_TO_SRGB: pixels converted ($got)" [ "$got" != "85,135,185" ]
    vl_get "$U/rgb-srgb.tif/full/max/0/default.png" > /dev/null
    got=$(pix 10 5)
    vl_check "ICC_TO_SRGB: an sRGB source stays within 1 ($got)" \
        near 85,135,185 "$got"
fi
vl_get "$U/bg.tif/full/max/0/default.jpg" > /dev/null
got=$(pix 5 5)
vl_check "BACKGROUND=336699: transparent JPEG pixels ($got)" near 51,102,153 "$got"
got=$(pix 5 50)
# half transparent: (200 * 128 + 51 * 127) / 255 ...
vl_check "BACKGROUND=336699: half-transparent ($got)" near 126,56,81 "$got"

vl_done
