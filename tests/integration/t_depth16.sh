#!/bin/bash
# SPDX-License-Identifier: MIT
# t_depth16: 16-bit sources through a real nginx and the real vellum binary.
# PNG of a 16-bit TIFF (grey, RGB, RGBA, MINISWHITE, associated alpha) and
# of a 16-bit and a 12-bit JPEG 2000 is 16-bit with the exact samples of the
# lossless fixture (tests/fixtures/depth16.h; decoded by png16.py, which is
# not libpng); a downscale gives the exact 2x2 averages, gray the 16-bit
# luma, mirror and rotation move 16-bit pixels; bitonal and JPEG stay 8-bit;
# with OUTPUT_BITS=8 PNG is 8-bit (rounded) under another ETag.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup depth16
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
PROBE=$VL_TOP_BUILDDIR/tests/tools/imgprobe
[ -x "$PROBE" ] || { echo "SKIP: tests/tools/imgprobe not built"; exit 77; }
[ -f "$VL_FIXTURES/d16-rgb.tif" ] || { echo "SKIP: no 16-bit fixtures"; exit 77; }
P16="python3 $VL_TOP_SRCDIR/tests/integration/png16.py"

# the pattern of depth16.h
V='(0x1234 + 0x0203 * x + 0x0305 * y + 0x2345 * b) & 0xffff'
A='0xfedc - 0x0101 * y'

vl_start_vellum --workers 1 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif/3

png() {     # ID REQUEST: fetch into $T/out.png, print the status
    local st
    st=$(vl_get "$U/$1/$2")
    cp "$T/body" "$T/out.png"
    echo "$st"
}

# full size, every sample exact
for f in d16-grey.tif d16-white.tif d16-rgb.tif d16-rgb.jp2; do
    st=$(png "$f" full/max/0/default.png)
    vl_eq "$f default.png: 200" 200 "$st"
    case $f in *grey*|*white*) nb=1 ;; *) nb=3 ;; esac
    vl_eq "$f: 16-bit, $nb bands" "16 $nb 32 24" "$($P16 "$T/out.png" info)"
    vl_eq "$f: every sample the fixture's" 0 "$($P16 "$T/out.png" cmp "$V")"
done
vl_eq "d16-rgb.tif: pixel (0,0)" "4660 13689 22718" \
    "$($P16 "$T/out.png" px 0 0)"
st=$(png d16-rgba.tif full/max/0/default.png)
vl_eq "d16-rgba.tif: 16-bit RGBA" "16 4 32 24" "$($P16 "$T/out.png" info)"
vl_eq "d16-rgba.tif: colour and alpha exact" 0 \
    "$($P16 "$T/out.png" cmp "($A) if b == 3 else $V")"
st=$(png d16-assoc.tif full/max/0/default.png)
vl_eq "d16-assoc.tif: 16-bit grey+alpha" "16 2 32 24" \
    "$($P16 "$T/out.png" info)"
vl_eq "d16-assoc.tif: un-premultiplied at 16 bits (within 1)" 0 \
    "$($P16 "$T/out.png" cmp "($A) if b == 1 else $V" 1)"
# 12-bit JPEG 2000: u << 4 | u >> 8 for u = v >> 4
st=$(png d16-grey12.j2k full/max/0/default.png)
vl_eq "d16-grey12.j2k: 16-bit" "16 1 32 24" "$($P16 "$T/out.png" info)"
vl_eq "d16-grey12.j2k: 12-bit samples scaled exactly" 0 \
    "$($P16 "$T/out.png" cmp "((($V) >> 4) << 4) | ((($V) >> 4) >> 8)")"

# half size: the pattern is linear, so away from the edges any symmetric
# filter gives the 2x2 average, the value at the centre of the block
st=$(png d16-rgb.tif full/16,/0/default.png)
vl_eq "d16-rgb.tif full/16,: 16-bit 16x12" "16 3 16 12" \
    "$($P16 "$T/out.png" info)"
vl_eq "d16-rgb.tif full/16,: 2x2 averages" 0 "$($P16 "$T/out.png" cmp \
    "(0x1234 + 0x0203 * (2 * x + 0.5) + 0x0305 * (2 * y + 0.5) + 0x2345 * b)" \
    0 3 3 13 9)"
# the JPEG 2000's second resolution, read at 16 bits: the 5/3 low-pass of
# a linear ramp is its even samples
st=$(png d16-rgb.jp2 full/16,/0/default.png)
vl_eq "d16-rgb.jp2 full/16,: 16-bit 16x12" "16 3 16 12" \
    "$($P16 "$T/out.png" info)"
vl_eq "d16-rgb.jp2 full/16,: the reduced resolution's 16-bit samples" 0 \
    "$($P16 "$T/out.png" cmp \
    "(0x1234 + 0x0203 * 2 * x + 0x0305 * 2 * y + 0x2345 * b)" 0 1 1 15 11)"
st=$(png d16-grey.tif 8,4,16,16/8,/0/default.png)
vl_eq "d16-grey.tif region at 1/2: 16-bit 8x8" "16 1 8 8" \
    "$($P16 "$T/out.png" info)"
vl_eq "d16-grey.tif region at 1/2: averages inside" 0 "$($P16 "$T/out.png" cmp \
    "0x1234 + 0x0203 * (8 + 2 * x + 0.5) + 0x0305 * (4 + 2 * y + 0.5)" \
    0 3 3 5 5)"

# gray of RGB16: Rec. 709 luma of the 16-bit values, rounded
L='(13933 * ((0x1234 + 0x0203 * x + 0x0305 * y) & 0xffff) + 46871 * ((0x1234 + 0x0203 * x + 0x0305 * y + 0x2345) & 0xffff) + 4732 * ((0x1234 + 0x0203 * x + 0x0305 * y + 2 * 0x2345) & 0xffff) + 32768) >> 16'
st=$(png d16-rgb.tif full/max/0/gray.png)
vl_eq "d16-rgb.tif gray.png: 16-bit grey" "16 1 32 24" \
    "$($P16 "$T/out.png" info)"
vl_eq "d16-rgb.tif gray.png: 16-bit luma" 0 "$($P16 "$T/out.png" cmp "$L")"
st=$(png d16-grey.tif full/max/0/color.png)
vl_eq "d16-grey.tif color.png: 16-bit RGB, grey replicated" 0 \
    "$($P16 "$T/out.png" cmp "(0x1234 + 0x0203 * x + 0x0305 * y)")"
# mirror and rotations move 16-bit pixels
st=$(png d16-rgb.tif full/max/!0/default.png)
vl_eq "d16-rgb.tif mirrored: exact" 0 \
    "$($P16 "$T/out.png" cmp "(0x1234 + 0x0203 * (31 - x) + 0x0305 * y + 0x2345 * b)")"
st=$(png d16-grey.tif full/max/90/default.png)
vl_eq "d16-grey.tif 90: 16-bit 24x32" "16 1 24 32" "$($P16 "$T/out.png" info)"
vl_eq "d16-grey.tif 90: (x, y) from (y, 23 - x)" 0 \
    "$($P16 "$T/out.png" cmp "0x1234 + 0x0203 * y + 0x0305 * (23 - x)")"
st=$(png d16-grey.tif full/max/180/default.png)
vl_eq "d16-grey.tif 180: exact" 0 \
    "$($P16 "$T/out.png" cmp "0x1234 + 0x0203 * (31 - x) + 0x0305 * (23 - y)")"
st=$(png d16-grey.tif full/max/30/default.png)
vl_eq "d16-grey.tif 30: 200" 200 "$st"
vl_eq "d16-grey.tif 30: 16-bit grey+alpha" "16 2" \
    "$($P16 "$T/out.png" info | cut -d' ' -f1,2)"
vl_eq "d16-grey.tif 30: the centre pixel opaque" 65535 \
    "$($P16 "$T/out.png" px 20 16 | cut -d' ' -f2)"

# 16-bit TIFF output, where vellum is built with the tif encoder (the
# format table's tif row decides; 400 "unsupported format" otherwise)
st=$(vl_get "$U/d16-rgb.tif/full/max/0/default.tif")
if [ "$st" = 200 ] && command -v tiffinfo >/dev/null && command -v vips >/dev/null
then
    cp "$T/body" "$T/out.tif"
    vl_check "d16-rgb.tif default.tif: 16 bits per sample" \
        grep -q "Bits/Sample: 16" <(tiffinfo "$T/out.tif" 2>/dev/null)
    vl_eq "d16-rgb.tif default.tif: pixel (5,7) exact" "12646 21675 30704" \
        "$(vips getpoint "$T/out.tif" 5 7 2>/dev/null | xargs)"
else
    vl_skip "16-bit tif output" "tif not built here ($st) or no tiffinfo/vips"
fi

# 8-bit outputs of a 16-bit source
st=$(png d16-rgb.tif full/max/0/bitonal.png)
vl_eq "d16-rgb.tif bitonal.png: 8-bit" "8 1 32 24" "$($P16 "$T/out.png" info)"
st=$(png d16-rgb.tif full/max/0/default.jpg)
vl_eq "d16-rgb.tif default.jpg: 200" 200 "$st"
vl_eq "d16-rgb.tif default.jpg: 8-bit RGB" "jpeg 32 24 3" \
    "$("$PROBE" "$T/out.png")"
vl_check "d16-rgb.tif default.jpg: pixel near (18, 53, 88)" python3 -c '
import sys
v = [int(s) for s in sys.argv[1].split()]
sys.exit(0 if all(abs(a - b) <= 4 for a, b in zip(v, (18, 53, 88))) else 1)
' "$("$PROBE" "$T/out.png" 0 0)"
vl_get "$U/d16-rgb.tif/full/max/0/default.png" >/dev/null
etag16=$(vl_header ETag)

# OUTPUT_BITS=8: the 8-bit path, another ETag
vl_stop_vellum
OUTPUT_BITS=8 vl_start_vellum --workers 1 || exit 1
st=$(png d16-rgb.tif full/max/0/default.png)
vl_eq "OUTPUT_BITS=8 d16-rgb.tif default.png: 8-bit" "8 3 32 24" \
    "$($P16 "$T/out.png" info)"
vl_eq "OUTPUT_BITS=8 d16-rgb.tif: samples within 1 of v / 257" 0 \
    "$($P16 "$T/out.png" cmp "(($V) * 255 + 32767) // 65535" 1)"
etag8=$(vl_header ETag)
vl_check "OUTPUT_BITS=8: another ETag" [ -n "$etag8" ] && [ "$etag8" != "$etag16" ]
st=$(png d16-rgb.jp2 full/max/0/default.png)
vl_eq "OUTPUT_BITS=8 d16-rgb.jp2: 8-bit rounded to nearest" 0 \
    "$($P16 "$T/out.png" cmp "(($V) * 255 + 32767) // 65535")"

vl_done
