#!/bin/bash
# SPDX-License-Identifier: MIT
# t_formats: every output format through a real nginx and the real vellum
# binary, each body decoded by an independent decoder (Pillow, vips,
# opj_decompress, pdftoppm) and compared with the PNG of the same request:
# exact size, identical pixels for the lossless formats (TIFF, JP2, WebP
# at WEBP_QUALITY=-1), within the codec's tolerance for the lossy ones (JPEG,
# WebP at its default, GIF's palette, PDF's JPEG); Content-Type as the Image API
# lists it; Content-Disposition on every image response (built or passed
# through), never on info.json; alpha kept in PNG, WebP, TIFF and GIF;
# info.json advertising exactly the formats built; a stored JPEG tile
# wrapped into a PDF byte for byte; each TIFF_COMPRESSION read back by
# Pillow and named by tiffinfo; WebP's 16383-pixel limit; MAX_RESPONSE_SIZE
# -> 400 and no body.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup formats
PY=/usr/bin/python3     # Pillow is installed for the system Python only
$PY -c 'import PIL' 2>/dev/null || { echo "SKIP: Pillow not found"; exit 77; }
[ -f "$VL_FIXTURES/rgb-deflate.tif" ] || { echo "SKIP: no fixtures"; exit 77; }
have() { command -v "$1" >/dev/null; }

# the images under their own root: one with a '/' in its identifier
mkdir -p "$T/root/dir"
cp "$VL_FIXTURES/rgb-deflate.tif" "$T/root/rgb.tif"
cp "$VL_FIXTURES/rgba.tif" "$T/root/rgba.tif"
cp "$VL_FIXTURES/grey.tif" "$T/root/grey.tif"
cp "$VL_FIXTURES/rgb-jpeg.tif" "$T/root/dir/jpeg.tif"

FILESYSTEM_PREFIX=$T/root WEBP_QUALITY=-1 vl_start_vellum --workers 1 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif/3

# which formats this build writes (HAVE_WEBP, HAVE_GIF)
built="jpg png tif"
grep -q '^#define HAVE_GIF 1' "$VL_TOP_BUILDDIR/config.h" && built="$built gif"
built="$built jp2 pdf"
grep -q '^#define HAVE_WEBP 1' "$VL_TOP_BUILDDIR/config.h" && built="$built webp"

# compare A B MODE TOL: A decoded (a file Pillow reads) against the PNG B;
# MODE rgb (colour), rgba (colour where opaque, alpha exact), gifa (alpha
# thresholded at 128); TOL the largest mean absolute difference (0: equal)
compare() {
    $PY - "$@" <<'EOF'
import sys
from PIL import Image
a, b, mode, tol = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
A, B = Image.open(a), Image.open(b)
if A.size != B.size:
    print("# size %s, want %s" % (A.size, B.size)); sys.exit(1)
if mode == "rgb":
    pa, pb = list(A.convert("RGB").getdata()), list(B.convert("RGB").getdata())
    d = sum(abs(x - y) for p, q in zip(pa, pb) for x, y in zip(p, q))
    mean = d / (3.0 * len(pa))
    if (tol == 0 and d != 0) or mean > tol:
        print("# mean abs diff %.3f > %g" % (mean, tol)); sys.exit(1)
    sys.exit(0)
pa, pb = list(A.convert("RGBA").getdata()), list(B.convert("RGBA").getdata())
d = n = bad = 0
for p, q in zip(pa, pb):
    want = q[3] if mode == "rgba" else (0 if q[3] < 128 else 255)
    got = p[3] if mode == "rgba" else (0 if p[3] < 128 else 255)
    if got != want:
        bad += 1
    if q[3] == 255:
        d += sum(abs(x - y) for x, y in zip(p[:3], q[:3])); n += 3
if bad:
    print("# %d pixels with the wrong alpha" % bad); sys.exit(1)
if n and d / float(n) > tol:
    print("# mean abs diff %.3f > %g" % (d / float(n), tol)); sys.exit(1)
EOF
}

mime() {
    case $1 in
    jpg) echo image/jpeg ;; png) echo image/png ;; tif) echo image/tiff ;;
    gif) echo image/gif ;; jp2) echo image/jp2 ;; pdf) echo application/pdf ;;
    webp) echo image/webp ;;
    esac
}

# decode FMT FILE OUT.png: the body as a PNG, by a decoder other than vellum
decode() {
    case $1 in
    jp2) opj_decompress -i "$2" -o "$3" >/dev/null 2>&1 ;;
    pdf) pdftoppm -r 72 -png -singlefile "$2" "${3%.png}" >/dev/null 2>&1 ;;
    *) $PY -c 'import sys
from PIL import Image
Image.open(sys.argv[1]).save(sys.argv[2])' "$2" "$3" ;;
    esac
}

# the tolerance of each format against PNG, on the colour fixture
tol() {
    case $1 in
    png|tif|jp2|webp) echo 0 ;;    # lossless (WEBP_QUALITY=-1 here)
    jpg) echo 4 ;; gif) echo 6 ;; pdf) echo 5 ;;
    esac
}

# --- info.json: exactly the formats built
st=$(vl_get "$U/rgb.tif/info.json")
vl_eq "info.json: 200" 200 "$st"
got=$($PY -c 'import json, sys
d = json.load(open(sys.argv[1]))
print(" ".join(["jpg"] + d.get("extraFormats", [])))' "$T/body")
vl_eq "info.json: jpg and extraFormats are the built formats" \
    "$(echo $built | tr ' ' '\n' | sort | tr '\n' ' ')" \
    "$(echo $got | tr ' ' '\n' | sort | tr '\n' ' ')"
vl_eq "info.json: no Content-Disposition" "" "$(vl_header Content-Disposition)"

# --- every format: two requests, sizes, headers, pixels
for req in "full/200,/0/default" "100,50,300,200/max/0/default"; do
    vl_get "$U/rgb.tif/$req.png" > /dev/null
    cp "$T/body" "$T/ref.png"
    name=$(echo "$req" | tr '/,' '-_')
    for f in $built; do
        st=$(vl_get "$U/rgb.tif/$req.$f")
        vl_eq "$req.$f: 200" 200 "$st"
        vl_eq "$req.$f: Content-Type" "$(mime $f)" "$(vl_header Content-Type)"
        cd_want="inline; filename=\"rgb.tif-$(echo "$req" | sed 's|full/200,|full/200,147|' | tr '/,' '-_').$f\""
        vl_eq "$req.$f: Content-Disposition" "$cd_want" \
            "$(vl_header Content-Disposition)"
        cp "$T/body" "$T/out.$f"
        case $f in
        jp2) have opj_decompress || { vl_skip "$req.$f decoded" "no opj_decompress"; continue; } ;;
        pdf) have pdftoppm || { vl_skip "$req.$f decoded" "no pdftoppm"; continue; } ;;
        esac
        rm -f "$T/dec.png"
        decode "$f" "$T/out.$f" "$T/dec.png"
        vl_check "$req.$f: decodes (independent decoder) to the PNG's size and pixels (tolerance $(tol $f))" \
            compare "$T/dec.png" "$T/ref.png" rgb "$(tol $f)"
    done
done
unset name

# vips, a second opinion on the sizes
if have vipsheader; then
    for f in tif gif webp jp2; do
        case " $built " in *" $f "*) ;; *) continue ;; esac
        vl_get "$U/rgb.tif/full/200,/0/default.$f" > /dev/null
        cp "$T/body" "$T/v.$f"
        got=$(vipsheader -f width "$T/v.$f" 2>/dev/null)x$(vipsheader -f height "$T/v.$f" 2>/dev/null)
        if [ "$got" = x ]; then
            vl_skip "vips reads .$f" "this vips has no $f loader"
        else
            vl_eq "vips: .$f is 200x147" 200x147 "$got"
        fi
    done
fi

# --- grey: a grey body in every format that has grey
vl_get "$U/grey.tif/full/160,/0/default.png" > /dev/null
cp "$T/body" "$T/grey.png"
for f in $built; do
    [ "$f" = png ] && continue
    vl_get "$U/grey.tif/full/160,/0/default.$f" > /dev/null
    cp "$T/body" "$T/grey.$f"
    case $f in
    jp2) have opj_decompress || continue ;; pdf) have pdftoppm || continue ;;
    esac
    rm -f "$T/dec.png"
    decode "$f" "$T/grey.$f" "$T/dec.png"
    vl_check "grey .$f: pixels of the PNG (tolerance $(tol $f))" \
        compare "$T/dec.png" "$T/grey.png" rgb "$(tol $f)"
done

# --- alpha: transparent pixels survive in PNG, WebP, TIFF and GIF
vl_get "$U/rgba.tif/full/max/0/default.png" > /dev/null
cp "$T/body" "$T/rgba.png"
vl_check "rgba.png: has transparent pixels" $PY -c 'import sys
from PIL import Image
a = Image.open(sys.argv[1]).getchannel("A")
sys.exit(0 if min(a.getdata()) == 0 and max(a.getdata()) == 255 else 1)' "$T/rgba.png"
for f in tif webp gif; do
    case " $built " in *" $f "*) ;; *) continue ;; esac
    vl_get "$U/rgba.tif/full/max/0/default.$f" > /dev/null
    cp "$T/body" "$T/rgba.$f"
    if [ "$f" = gif ]; then
        vl_check "rgba.gif: transparent where alpha < 128, colours close" \
            compare "$T/rgba.$f" "$T/rgba.png" gifa 8
    else
        vl_check "rgba.$f: alpha and colour identical to the PNG" \
            compare "$T/rgba.$f" "$T/rgba.png" rgba 0
    fi
done

# --- a stored JPEG tile as a PDF: the stored bytes, not re-encoded
st=$(vl_get "$U/dir%2Fjpeg.tif/0,0,256,256/256,256/0/default.jpg")
vl_eq "stored tile .jpg: 200" 200 "$st"
cp "$T/body" "$T/tile.jpg"
vl_eq "stored tile .jpg: Content-Disposition, '/' of the identifier as '_'" \
    'inline; filename="dir_jpeg.tif-0_0_256_256-max-0-default.jpg"' \
    "$(vl_header Content-Disposition)"
st=$(vl_get "$U/dir%2Fjpeg.tif/0,0,256,256/256,256/0/default.pdf")
vl_eq "stored tile .pdf: 200" 200 "$st"
vl_eq "stored tile .pdf: application/pdf" application/pdf "$(vl_header Content-Type)"
# (the .jpg and the PDF's JPEG would also be equal if both were encoded
# again, at the same JPEG_QUALITY: the access line tells a passthrough)
pt=""
for i in $(seq 1 100); do
    pt=$(grep -F "0,0,256,256/256,256/0/default.pdf " "$T/vellum.log" \
             2>/dev/null | tail -n 1)
    [ -n "$pt" ] && break
    sleep 0.02
done
vl_check "stored tile .pdf: the access line says passthrough" \
    sh -c "echo '$pt' | grep -q 'ms passthrough'"
vl_check "stored tile .pdf: the JPEG stream is the stored tile, byte for byte" \
    $PY -c 'import sys
pdf, jpg = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
i = pdf.find(b"/DCTDecode")
j = pdf.find(b"stream\n", i) + 7
n = int(pdf[pdf.find(b"/Length ", i) + 8:].split()[0])
sys.exit(0 if pdf[j:j + n] == jpg else 1)' "$T/body" "$T/tile.jpg"
if have pdftoppm; then
    cp "$T/body" "$T/tile.pdf"
    rm -f "$T/dec.png"
    decode pdf "$T/tile.pdf" "$T/dec.png"
    vl_check "stored tile .pdf: pdftoppm renders the tile" \
        compare "$T/dec.png" "$T/tile.jpg" rgb 2
fi

# --- the file name from the canonical parameters, sanitised
vl_get "$U/rgb.tif/pct:10,10,50,50/!200,200/!90/gray.png" > /dev/null
canon=$(vl_header Link | sed -n 's|.*<[^>]*/rgb.tif/\([^>]*\)>;rel="canonical".*|\1|p')
vl_eq "Content-Disposition: the canonical request of the Link header, sanitised" \
    "inline; filename=\"rgb.tif-$(echo "$canon" | tr '/,!:' '-___')\"" \
    "$(vl_header Content-Disposition)"
vl_eq "Content-Disposition: '!' and ',' as '_'" \
    'inline; filename="rgb.tif-100_74_501_368-200_147-_90-gray.png"' \
    "$(vl_header Content-Disposition)"

# --- a format vellum does not write: 400
st=$(vl_get "$U/rgb.tif/full/200,/0/default.bmp")
vl_eq "unknown format .bmp: 400" 400 "$st"

# --- TIFF_COMPRESSION: each compression libtiff has, read back by Pillow
vl_get "$U/rgb.tif/full/200,/0/default.png" > /dev/null
cp "$T/body" "$T/ref200.png"
for c in lzw:0:LZW jpeg:4:JPEG webp:4:WebP zstd:0:ZSTD 1:0:LZW; do
    name=${c%%:*} t=${c#*:}
    t=${t%%:*} scheme=${c##*:}
    vl_stop_vellum
    FILESYSTEM_PREFIX=$T/root TIFF_COMPRESSION=$name vl_start_vellum \
        --workers 1 || exit 1
    st=$(vl_get "$U/rgb.tif/full/200,/0/default.tif")
    if [ "$st" = 501 ]; then
        vl_skip "TIFF_COMPRESSION=$name" "libtiff without $scheme"
        continue
    fi
    vl_eq "TIFF_COMPRESSION=$name: 200" 200 "$st"
    cp "$T/body" "$T/c.tif"
    if have tiffinfo; then
        vl_check "TIFF_COMPRESSION=$name: tiffinfo says $scheme" \
            sh -c "tiffinfo '$T/c.tif' 2>/dev/null | grep -i 'Compression Scheme' | grep -qi '$scheme'"
    fi
    vl_check "TIFF_COMPRESSION=$name: Pillow reads the PNG's pixels (tolerance $t)" \
        compare "$T/c.tif" "$T/ref200.png" rgb "$t"
done
# this server has the default WEBP_QUALITY (50): lossy WebP
case " $built " in
*" webp "*)
    vl_get "$U/rgb.tif/full/200,/0/default.webp" > /dev/null
    cp "$T/body" "$T/lossy.webp"
    vl_check "WEBP_QUALITY=50: a lossy (VP8) bitstream" \
        $PY -c 'import sys; sys.exit(0 if open(sys.argv[1], "rb").read()[12:16] == b"VP8 " else 1)' "$T/lossy.webp"
    vl_check "WEBP_QUALITY=50: Pillow reads the PNG's pixels within 6" \
        compare "$T/lossy.webp" "$T/ref200.png" rgb 6
    ;;
esac

# --- MAX_RESPONSE_SIZE: a body over it is a 400 with an error, never a
# partial body
vl_stop_vellum
FILESYSTEM_PREFIX=$T/root MAX_RESPONSE_SIZE=1 TIFF_COMPRESSION=none \
    MAX_CVT=-1 MAX_AREA=-1 vl_start_vellum --workers 1 || exit 1
st=$(vl_get "$U/rgb.tif/full/max/0/default.tif")
vl_eq "uncompressed TIFF of 2.2 MB over MAX_RESPONSE_SIZE=1: 400" 400 "$st"
vl_check "  ... and the body is the error, not a partial image" \
    grep -q "too large" "$T/body"
vl_eq "  ... no image Content-Type" 0 \
    "$(vl_header Content-Type | grep -c image/tiff)"
st=$(vl_get "$U/rgb.tif/full/200,/0/default.tif")
vl_eq "a small TIFF under the same cap: 200" 200 "$st"
# a stored JPEG tile over the cap is not passed through as it is (5 MB of
# noise at Q100 in one 1024x1024 tile): re-encoded under the cap, or a 400
if have vips; then
    vips gaussnoise "$T/n.v" 1024 1024 --mean 128 --sigma 90 \
        && vips bandjoin "$T/n.v $T/n.v $T/n.v" "$T/j.v" \
        && vips cast "$T/j.v" "$T/c.v" uchar \
        && vips tiffsave "$T/c.v" "$T/root/bigtile.tif" --tile \
               --tile-width 1024 --tile-height 1024 --compression jpeg --Q 100
    for f in jpg pdf; do
        st=$(vl_get "$U/bigtile.tif/full/max/0/default.$f")
        n=$(wc -c < "$T/body")
        ok=no
        [ "$n" -le 1048576 ] && { [ "$st" = 200 ] || [ "$st" = 400 ]; } \
            && ok=yes
        vl_eq "stored tile of 5 MB as .$f, MAX_RESPONSE_SIZE=1: no body over 1 MB ($st, $n bytes)" \
            yes "$ok"
    done
fi

# --- WebP's 16383 pixels a side: a 400 with its reason, before any pixel
case " $built " in
*" webp "*)
    st=$(vl_get "$U/rgb.tif/full/^16384,8/0/default.webp")
    vl_eq "webp 16384x8 (no MAX_CVT): 400" 400 "$st"
    vl_check "  ... the reason names the limit" grep -q "16383" "$T/body"
    st=$(vl_get "$U/rgb.tif/full/^16383,8/0/default.webp")
    vl_eq "webp 16383x8: 200" 200 "$st"
    vl_eq "  ... 16383 wide for Pillow" 16383 \
        "$($PY -c 'import sys
from PIL import Image
Image.MAX_IMAGE_PIXELS = None   # the header only: no pixels are decoded
print(Image.open(sys.argv[1]).size[0])' "$T/body")"
    ;;
esac

vl_done
