#!/bin/bash
# SPDX-License-Identifier: MIT
# t_convert: `vellum convert` end to end. Fixtures (a strip TIFF, a JP2, an
# RGBA and a 16-bit grey TIFF, a tagged TIFF, a profiled strip TIFF made
# here with Pillow) are converted; tiffinfo shows the pyramid (levels
# ceil(w/2^k) x ceil(h/2^k) as IFDs, tiles, compression), `vellum info`
# reads it as one image of those levels, `vellum render` and a real nginx +
# FastCGI worker serve pixels equal to the source's (lossless codecs:
# identical at level 0, level 1 the exact 2:1 area average; JPEG/WebP:
# PSNR > 35 dB), the JP2 decodes with opj_decompress to the source's pixels
# (lossless: identical) and has TLM and PLT; ICC bytes, text tags and alpha
# are carried; errors are one line with status 1 or 2 and leave no file.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup convert
PY=/usr/bin/python3
$PY -c 'import PIL' 2>/dev/null || { echo "SKIP: Pillow not found"; exit 77; }
for t in tiffinfo opj_decompress; do
    command -v $t >/dev/null || { echo "SKIP: $t not found"; exit 77; }
done
[ -f "$VL_FIXTURES/strip.tif" ] || { echo "SKIP: no fixtures"; exit 77; }
V=$VL_TOP_BUILDDIR/src/vellum
CK="$PY $VL_TOP_SRCDIR/tests/integration/convcheck.py"
FX=$VL_FIXTURES
S=$T/srv
mkdir -p "$S"

conv() {    # NAME ARGS...: vellum convert ARGS, status 0 and a quiet stderr
    local name=$1
    shift
    "$V" convert "$@" 2> "$T/conv.err"
    local st=$?
    vl_eq "$name: exit 0" 0 "$st"
    vl_eq "$name: nothing on stderr (not a terminal)" "" "$(cat "$T/conv.err")"
}
render() {  # FILE REQUEST OUT
    "$V" render "$1" "$2" -o "$3" 2>> "$T/render.err"
}
levels() {  # NAME FILE W H TILE COMP
    tiffinfo "$2" > "$T/tiffinfo" 2>&1
    vl_check "$1: pyramid IFDs ceil(w/2^k), tiles $5, $6" \
        $CK levels "$T/tiffinfo" "$3" "$4" "$5" "$6"
}

# --- strip TIFF (500x400, LZW strips) to deflate: lossless, so level 0 is
# the source's pixels and level 1 their 2:1 area average, exactly
conv "strip deflate" "$FX/strip.tif" "$S/strip-d.tif" --tile 128 \
    --compression deflate
levels "strip deflate" "$S/strip-d.tif" 500 400 128 "AdobeDeflate"
vl_check "strip deflate: predictor 2" grep -q "Predictor: horizontal" "$T/tiffinfo"
"$V" info "$S/strip-d.tif" > "$T/info"
vl_check "strip deflate: vellum info reads one 500x400 image" \
    grep -q "^tiff 500x400, .*3 bands" "$T/info"
vl_check "strip deflate: vellum info lists the stored levels" \
    grep -q "level 2: 125x100, tiles 128x128, deflate" "$T/info"
render "$FX/strip.tif" full/max/0/default.png "$T/src.png"
render "$S/strip-d.tif" full/max/0/default.png "$T/d0.png"
vl_check "strip deflate: level 0 identical to the source" $CK same "$T/src.png" "$T/d0.png"
render "$S/strip-d.tif" full/250,/0/default.png "$T/d1.png"
vl_check "strip deflate: level 1 is the 2:1 area average" $CK box "$T/src.png" "$T/d1.png"
render "$S/strip-d.tif" full/125,/0/default.png "$T/d2.png"
render "$S/strip-d.tif" full/250,/0/default.png "$T/d1b.png"
vl_check "strip deflate: level 2 is the 2:1 area average of level 1" \
    $CK box "$T/d1.png" "$T/d2.png"

# --- the same to JPEG (the default) and to the other codecs libtiff has
conv "strip jpeg" "$FX/strip.tif" "$S/strip-j.tif"
levels "strip jpeg" "$S/strip-j.tif" 500 400 256 "JPEG"
vl_check "strip jpeg: YCbCr" grep -q "Photometric Interpretation: YCbCr" "$T/tiffinfo"
vl_check "strip jpeg: subsampled 2x2" grep -q "YCbCr Subsampling: 2, 2" "$T/tiffinfo"
render "$S/strip-j.tif" full/max/0/default.png "$T/j0.png"
vl_check "strip jpeg: level 0 PSNR > 35 dB" $CK psnr "$T/j0.png" "$T/src.png" 35
render "$S/strip-j.tif" full/250,/0/default.png "$T/j1.png"
# (the fixture's fine pattern is hard for 4:2:0 JPEG at half size)
vl_check "strip jpeg: level 1 PSNR > 30 dB against the area average" \
    $CK psnr "$T/j1.png" "$T/d1.png" 30
conv "strip jpeg 4:4:4" "$FX/strip.tif" "$S/strip-444.tif" --subsample off
tiffinfo "$S/strip-444.tif" > "$T/tiffinfo" 2>&1
vl_check "strip jpeg --subsample off: RGB components" \
    grep -q "Photometric Interpretation: RGB color" "$T/tiffinfo"
render "$S/strip-444.tif" full/max/0/default.png "$T/j444.png"
vl_check "strip jpeg --subsample off: PSNR above 4:2:0's" \
    [ "$($CK psnr "$T/j444.png" "$T/src.png" 35 | tr -dc 0-9)" -gt \
      "$($CK psnr "$T/j0.png" "$T/src.png" 35 | tr -dc 0-9)" ]
"$V" convert "$FX/strip.tif" "$S/strip-q20.tif" --quality 20 2>/dev/null
vl_check "strip jpeg: --quality 20 is smaller than 90" \
    [ "$(stat -c %s "$S/strip-q20.tif")" -lt "$(stat -c %s "$S/strip-j.tif")" ]
for c in lzw:LZW zstd:ZSTD none:None webp:WEBP; do
    name=${c%%:*}
    "$V" convert "$FX/strip.tif" "$S/strip-$name.tif" --compression "$name" \
        --tile 128 2> "$T/conv.err"
    st=$?
    if [ $st -ne 0 ] && grep -q "built without" "$T/conv.err"; then
        vl_skip "strip $name" "libtiff without $name"
        continue
    fi
    vl_eq "strip $name: exit 0" 0 "$st"
    levels "strip $name" "$S/strip-$name.tif" 500 400 128 "${c#*:}"
    render "$S/strip-$name.tif" full/max/0/default.png "$T/c0.png"
    if [ "$name" = webp ]; then
        vl_check "strip webp: level 0 PSNR > 35 dB" $CK psnr "$T/c0.png" "$T/src.png" 35
    else
        vl_check "strip $name: level 0 identical" $CK same "$T/src.png" "$T/c0.png"
    fi
done

if [ -f "$S/strip-webp.tif" ]; then
    conv "strip webp lossless" "$FX/strip.tif" "$S/strip-wl.tif" \
        --compression webp --lossless
    render "$S/strip-wl.tif" full/max/0/default.png "$T/wl.png"
    vl_check "strip webp --lossless: level 0 identical" $CK same "$T/src.png" "$T/wl.png"
fi

# --- a JP2 source (rgb.jp2, 1001x737) to a JPEG pyramid
conv "jp2 source" "$FX/rgb.jp2" "$S/from-jp2.tif"
levels "jp2 source" "$S/from-jp2.tif" 1001 737 256 "JPEG"
render "$FX/rgb.jp2" full/max/0/default.png "$T/jsrc.png"
render "$S/from-jp2.tif" full/max/0/default.png "$T/jout.png"
vl_check "jp2 source: PSNR > 35 dB" $CK psnr "$T/jout.png" "$T/jsrc.png" 35

# --- RGBA: alpha kept (ExtraSamples), pixels identical with deflate; JPEG
# keeps it as a fourth component
conv "rgba deflate" "$FX/rgba.tif" "$S/rgba-d.tif" --compression deflate --tile 64
levels "rgba deflate" "$S/rgba-d.tif" 300 200 64 "AdobeDeflate"
vl_check "rgba deflate: unassociated alpha" grep -q "Extra Samples: 1<unassoc-alpha>" "$T/tiffinfo"
render "$FX/rgba.tif" full/max/0/default.png "$T/asrc.png"
render "$S/rgba-d.tif" full/max/0/default.png "$T/aout.png"
vl_check "rgba deflate: RGBA identical" $CK same "$T/asrc.png" "$T/aout.png"
conv "rgba jpeg" "$FX/rgba.tif" "$S/rgba-j.tif"
render "$S/rgba-j.tif" full/max/0/default.png "$T/ajout.png"
vl_check "rgba jpeg: RGBA PSNR > 35 dB" $CK psnr "$T/ajout.png" "$T/asrc.png" 35

# --- 16-bit grey: written as 8-bit, round(v / 257)
conv "grey16" "$FX/grey16.tif" "$S/grey16.tif" --compression deflate --tile 64
vl_check "grey16: 8 bits per sample" grep -q "Bits/Sample: 8" <(tiffinfo "$S/grey16.tif" 2>&1)
render "$FX/grey16.tif" full/max/0/default.png "$T/g16.png"
render "$S/grey16.tif" full/max/0/default.png "$T/g8.png"
vl_check "grey16: samples are the source's at 8 bits" $CK depth8 "$T/g16.png" "$T/g8.png"

# --- text tags carried
conv "tags" "$FX/tags.tif" "$S/tags.tif"
tiffinfo "$S/tags.tif" > "$T/tiffinfo" 2>&1
vl_check "tags: DocumentName" grep -q "DocumentName: Map of the river" "$T/tiffinfo"
vl_check "tags: Artist" grep -q "Artist: Cartographer" "$T/tiffinfo"
vl_check "tags: Copyright" grep -q "Copyright: Public domain" "$T/tiffinfo"
vl_check "tags: DateTime" grep -q "DateTime: 2020:05:06 07:08:09" "$T/tiffinfo"
vl_check "tags: ImageDescription" grep -q "ImageDescription: A survey map" "$T/tiffinfo"
conv "tags jp2" "$FX/tags.tif" "$S/tags.jp2"
"$V" info "$S/tags.jp2" > "$T/info"
for f in "title: Map of the river" "description: A survey map" \
    "creator: Cartographer" "copyright: Public domain" \
    "date: 2020:05:06 07:08:09"; do
    vl_check "tags jp2: ${f%%:*} in its XML box" grep -q "^  $f$" "$T/info"
done

# --- an ICC profile (a strip TIFF with sRGB made by Pillow) into both
# outputs at once (--jp2 with OUT.tif: one read of the source)
$PY - "$FX/strip.tif" "$T/icc.tif" <<'PYEOF'
import sys
from PIL import Image, ImageCms
prof = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
Image.open(sys.argv[1]).convert("RGB").save(sys.argv[2], icc_profile=prof,
                                            tiffinfo={270: "fish & <chips>"})
PYEOF
want=$($CK icc "$T/icc.tif")
vl_check "icc: the source has a profile" [ "$want" != none ]
conv "icc both" "$T/icc.tif" "$S/icc.tif" --jp2 "$S/icc.jp2"
vl_eq "icc: the TIFF carries the profile bytes" "$want" "$($CK icc "$S/icc.tif")"
vl_eq "icc: the JP2 carries the profile bytes" "$want" "$($CK icc "$S/icc.jp2")"
vl_check "text: the JP2's XML box carries the description, escaped" \
    grep -q "^  description: fish & <chips>$" <("$V" info "$S/icc.jp2")

# --- JPEG 2000 output: lossless decodes to the source's pixels; TLM, PLT
conv "jp2 lossless" "$FX/strip.tif" "$S/strip-l.jp2" --lossless --jp2-tile 256
opj_decompress -i "$S/strip-l.jp2" -o "$T/opj.png" > /dev/null 2>&1
vl_check "jp2 lossless: opj_decompress gives the source's pixels" \
    $CK same "$T/src.png" "$T/opj.png"
vl_check "jp2 lossless: TLM and PLT in every tile-part" $CK jp2 "$S/strip-l.jp2"
"$V" info "$S/strip-l.jp2" > "$T/info"
vl_check "jp2 lossless: vellum reads it" grep -q "^jp2 500x400, .*3 bands" "$T/info"
conv "jp2 lossy" "$FX/rgb.jp2" "$S/rgb-y.jp2"
opj_decompress -i "$S/rgb-y.jp2" -o "$T/opjy.png" > /dev/null 2>&1
vl_check "jp2 lossy: PSNR > 35 dB" $CK psnr "$T/opjy.png" "$T/jsrc.png" 35
vl_check "jp2 lossy: TLM and PLT" $CK jp2 "$S/rgb-y.jp2"
opj_dump -i "$S/rgb-y.jp2" > "$T/dump" 2>/dev/null
vl_check "jp2 lossy: 4 layers" grep -q "numlayers=4" "$T/dump"
vl_check "jp2 lossy: RPCL" grep -q "prg=0x2" "$T/dump"
vl_check "jp2 lossy: 3 resolutions, precincts 256 at the top two, 128 below" \
    grep -q "preccintsize (w,h)=(7,7) (8,8) (8,8) *$" "$T/dump"
conv "jp2 rgba" "$FX/rgba.tif" "$S/rgba.jp2" --lossless
opj_decompress -i "$S/rgba.jp2" -o "$T/opja.png" > /dev/null 2>&1
vl_check "jp2 rgba: alpha kept, identical" $CK same "$T/asrc.png" "$T/opja.png"

# --- served through nginx and a FastCGI worker: info.json, a tile walk,
# pixels of a region against the source's
FILESYSTEM_PREFIX=$S vl_start_vellum --workers 1 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif/3
st=$(vl_get "$U/strip-j.tif/info.json")
vl_eq "served: info.json 200" 200 "$st"
vl_eq "served: tiles 256 at scales 1 and 2" \
    '[{"width":256,"height":256,"scaleFactors":[1,2]}]' \
    "$(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["tiles"], separators=(",",":")))' "$T/body")"
vl_tile_urls "$T/body" wh > "$T/tiles"
n=0 bad=0
while read -r url w h; do
    n=$((n + 1))
    st=$(vl_get "$U/strip-j.tif/$url")
    [ "$st" = 200 ] || bad=$((bad + 1))
done < "$T/tiles"
vl_check "served: tile walk has tiles" [ "$n" -ge 4 ]
vl_eq "served: every tile 200" 0 "$bad"
# every tile of the walk, at every level, is one stored JPEG tile sent as is
vl_eq "served: every tile a stored-tile passthrough" "$n" \
    "$(grep -c 'GET strip-j.tif/.* 200 .* passthrough$' "$T/vellum.log")"
vl_get "$U/strip-d.tif/100,50,300,200/max/0/default.png" > /dev/null
cp "$T/body" "$T/srv.png"
render "$FX/strip.tif" 100,50,300,200/max/0/default.png "$T/srvref.png"
vl_check "served: a region of the deflate pyramid equals the source's" \
    $CK same "$T/srvref.png" "$T/srv.png"

# --- errors: one line, status 1 (failure) or 2 (usage), no file left
"$V" convert "$T/missing.tif" "$T/e1.tif" 2> "$T/err"
vl_eq "missing input: status 1" 1 $?
vl_eq "missing input: one line" 1 "$(wc -l < "$T/err")"
vl_check "missing input: no path in the message" sh -c "! grep -q '$T' '$T/err'"
"$V" convert "$FX/strip.tif" "$T/e2.tif" --compression gif 2> "$T/err"
vl_eq "unknown compression: status 2" 2 $?
"$V" convert "$FX/strip.tif" "$T/e3.tif" --tile 100 2> "$T/err"
vl_eq "tile not a multiple of 16: status 2" 2 $?
"$V" convert "$FX/strip.tif" "$T/e4.tif" --compression jpeg --lossless 2> "$T/err"
vl_eq "jpeg --lossless: status 1" 1 $?
vl_eq "jpeg --lossless: one line" 1 "$(wc -l < "$T/err")"
"$V" convert "$FX/grey.tif" "$T/e5.tif" --compression webp 2> "$T/err"
vl_eq "webp of grey: status 1" 1 $?
"$V" convert "$FX/not-an-image.tif" "$T/e6.tif" 2> "$T/err"
vl_eq "not an image: status 1" 1 $?
"$V" convert "$FX/strip.tif" "$T/nodir/e7.tif" 2> "$T/err"
vl_eq "unwritable output: status 1" 1 $?
"$V" convert "$FX/truncated.tif" "$T/e8.tif" --jp2 "$T/e8.jp2" 2> "$T/err"
vl_eq "truncated input: status 1" 1 $?
vl_eq "failures leave no file, no temporary" "" \
    "$(ls -A "$T" | grep -E '^(\.)?e[0-9]' | tr '\n' ' ')"
"$V" convert 2> "$T/err"
vl_eq "no arguments: status 2" 2 $?
"$V" convert --help > "$T/out"
vl_check "--help: usage on stdout" grep -q "^usage: vellum convert" "$T/out"

# --- interrupted: SIGTERM while writing removes the temporary outputs (not
# SIGINT: a background job of a script ignores it)
$PY -c 'import sys
from PIL import Image
Image.merge("RGB", [Image.effect_noise((4000, 3000), 60 + 10 * i) for i in range(3)]).save(sys.argv[1])' "$T/noise.tif"
mkdir -p "$T/int"
"$V" convert "$T/noise.tif" "$T/int/out.tif" --compression deflate \
    --jp2 "$T/int/out.jp2" 2> /dev/null &
pid=$!
for _ in $(seq 1 200); do
    [ -n "$(ls -A "$T/int")" ] && break
    sleep 0.05
done
kill -TERM $pid 2> /dev/null
wait $pid
st=$?
if [ $st -eq 0 ]; then
    vl_skip "interrupted: no file left" "finished before the signal"
else
    vl_eq "interrupted: killed by SIGTERM" 143 "$st"
    vl_eq "interrupted: no file left, no temporary" "" "$(ls -A "$T/int")"
fi

# --- the progress bar, on a terminal only
if command -v script >/dev/null 2>&1; then
    script -qec "'$V' convert '$FX/strip.tif' '$T/p.tif'" /dev/null > "$T/tty" 2>&1
    vl_check "progress bar on a terminal" grep -q "converting \[#*.*100%" "$T/tty"
else
    vl_skip "progress bar on a terminal" "no script(1)"
fi

vl_done
