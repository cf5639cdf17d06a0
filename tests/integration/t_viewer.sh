#!/bin/bash
# SPDX-License-Identifier: MIT
# t_viewer.sh: real viewers against the real stack, in headless Chromium on
# pages served from another origin (so CORS is exercised), through nginx +
# vellum. OpenSeadragon (from the npm registry) opens a fixture's info.json
# (pyramid TIFF, JPEG 2000, HTJ2K), zooms in, and must load tiles of several
# levels with none failing. Mirador 3 (from the npm registry) opens a
# manifest vellum generates and must load it and the tiles of its canvas.
# Skips (77) when chromium or npm/the viewers are not available.
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup viewer

CHROMIUM=$(command -v chromium || command -v chromium-browser || true)
[ -n "$CHROMIUM" ] || { echo "SKIP: chromium not installed"; exit 77; }

# OpenSeadragon and playwright-core (which drives Debian's chromium; it
# downloads no browser) from the npm registry, cached in the build tree
NPMDIR=$VL_TOP_BUILDDIR/tests/osd
export VL_NODE_MODULES=$NPMDIR/node_modules
OSDJS=$VL_NODE_MODULES/openseadragon/build/openseadragon/openseadragon.min.js
MIRADORJS=$VL_NODE_MODULES/mirador/dist/mirador.min.js
if [ ! -s "$OSDJS" ] || [ ! -s "$MIRADORJS" ] \
    || [ ! -d "$VL_NODE_MODULES/playwright-core" ]; then
    command -v npm >/dev/null || { echo "SKIP: npm not installed"; exit 77; }
    mkdir -p "$NPMDIR"
    if ! PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 npm install \
        --prefix "$NPMDIR" --no-audit --no-fund openseadragon@4 mirador@3 \
        playwright-core@1 > "$T/npm.log" 2>&1; then
        echo "SKIP: npm install failed:"
        tail -3 "$T/npm.log"
        exit 77
    fi
fi
command -v node >/dev/null || { echo "SKIP: node not installed"; exit 77; }
export CHROMIUM

vl_start_vellum --workers 2 || { vl_check "vellum starts" false; vl_done; }
vl_start_nginx || { vl_check "nginx starts" false; vl_done; }

# the page, from a second origin
mkdir -p "$T/www"
cp "$VL_TOP_SRCDIR/tests/integration/viewer.html" "$T/www/index.html"
cp "$VL_TOP_SRCDIR/tests/integration/mirador.html" "$T/www/mirador.html"
cp "$OSDJS" "$MIRADORJS" "$T/www/"
PAGE_PORT=$(vl_free_port)
python3 -m http.server "$PAGE_PORT" --bind 127.0.0.1 --directory "$T/www" \
    > "$T/page.log" 2>&1 &
vl_track $!
vl_wait_port "$PAGE_PORT" $! || { vl_check "page server starts" false; vl_done; }

run_viewer() {   # info.json URL [page] -> the #result text
    local url="http://127.0.0.1:$PAGE_PORT/${2:-index.html?info=}$1"
    timeout 120 node "$VL_TOP_SRCDIR/tests/integration/viewer.cjs" "$url" \
        2>>"$T/chrome.log"
}

field() {   # NAME RESULT -> value
    echo "$2" | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# the pyramid TIFF in both API versions, and in IIIF 3 the 2100x1700
# untiled HTJ2K fixture (OpenJPH); the JPEG 2000 fixtures decoded by
# OpenJPEG are too small for several scale factors or, tiled HTJ2K under
# ASan, too slow for the page's timing (t_jp2.sh walks them all)
views="3:rgb-jpeg.tif 2:rgb-jpeg.tif"
if [ -f "$VL_FIXTURES/rgb-ht-big.j2c" ]; then
    views="$views 3:rgb-ht-big.j2c"
else
    vl_skip "viewer on JPEG 2000" "ojph_compress not installed: no HTJ2K fixtures"
fi
for view in $views; do
    v=${view%%:*} id=${view#*:}
    : > "$T/nginx-access.log"
    r=$(run_viewer "$VL_URL/iiif/$v/$id/info.json")
    echo "# v$v $id viewer: $r"
    vl_eq "v$v $id: viewer opened the info.json" true "$(field opened "$r")"
    vl_eq "v$v $id: no tile failed to load" 0 "$(field failed "$r")"
    loaded=$(field loaded "$r")
    vl_check "v$v $id: tiles loaded (got ${loaded:-none})" test "${loaded:-0}" -ge 3
    # what the browser asked nginx for: every IIIF request answered 200,
    # tiles of more than one scale (sizes) requested
    reqs=$(grep -c " /iiif/$v/$id/" "$T/nginx-access.log")
    # (499: the viewer dropped a request it no longer needed after zooming,
    # before the answer came; not an answer of vellum's)
    bad=$(grep " /iiif/$v/$id/" "$T/nginx-access.log" \
        | awk '$9 != 200 && $9 != 499' | wc -l)
    vl_check "v$v $id: the browser made IIIF requests ($reqs)" test "$reqs" -ge 4
    vl_eq "v$v $id: every IIIF request answered 200" 0 "$bad"
    # the scale of each tile request = region width / output width
    scales=$(grep -o " /iiif/$v/$id/[0-9,]*/[0-9,]*/" \
        "$T/nginx-access.log" \
        | awk -F/ '{ split($5, r, ","); split($6, s, ",");
                     if (s[1] > 0) printf "%d\n", r[3] / s[1] + 0.5 }' \
        | sort -u | wc -l)
    vl_check "v$v $id: tiles of several scale factors requested ($scales)" \
        test "$scales" -ge 2
done

# Mirador on a manifest vellum makes: of an image, and of a folder its
# sidecar makes one object (two canvases)
mkdir -p "$T/root/book"
cp "$VL_FIXTURES/rgb-jpeg.tif" "$T/root/map.tif"
cp "$VL_FIXTURES/single.tif" "$T/root/book/p1.tif"
cp "$VL_FIXTURES/grey.tif" "$T/root/book/p2.tif"
cp "$VL_FIXTURES/book.tif" "$T/root/pages.tif"
printf '{"label": {"en": ["A book"]}, "items": ["p1.tif", "p2.tif"]}\n' \
    > "$T/root/book.json"
vl_stop_vellum
FILESYSTEM_PREFIX=$T/root vl_start_vellum --workers 2 \
    || { vl_check "vellum starts on the tree" false; vl_done; }
for m in "map.tif:1" "book:2" "pages.tif:3"; do
    id=${m%%:*} n=${m#*:}
    : > "$T/nginx-access.log"
    r=$(run_viewer "$VL_URL/iiif/3/$id/manifest" "mirador.html?manifest=")
    echo "# Mirador $id: $r"
    vl_eq "Mirador $id: the manifest loaded" true "$(field loaded "$r")"
    vl_eq "Mirador $id: a Manifest" Manifest "$(field type "$r")"
    vl_eq "Mirador $id: its canvases" "$n" "$(field canvases "$r")"
    vl_eq "Mirador $id: no error" "" "$(field err "$r")"
    # Mirador read the image service and painted tiles of the canvas
    first=$id
    [ "$id" = book ] && first=book%2Fp1.tif
    [ "$id" = pages.tif ] && first=pages.tif%3B1
    vl_check "Mirador $id: info.json of the canvas's service read" \
        grep -q " /iiif/3/$first/info.json HTTP/1.1\" 200 " \
        "$T/nginx-access.log"
    tiles=$(grep -c " /iiif/3/$first/[0-9full]*[,/][^ ]*default.jpg HTTP/1.1\" 200 " \
        "$T/nginx-access.log")
    vl_check "Mirador $id: image requests of the canvas answered ($tiles)" \
        test "$tiles" -ge 1
    bad=$(grep " /iiif/3/" "$T/nginx-access.log" \
        | awk '$9 != 200 && $9 != 499 && $9 != 304' | wc -l)
    vl_eq "Mirador $id: every IIIF request answered 200" 0 "$bad"
done
# and the root collection: a Collection of the tree's three objects
# (Mirador lists it; a manifest opens when one is chosen)
r=$(run_viewer "$VL_URL/iiif/3/collection.json" "mirador.html?manifest=")
echo "# Mirador collection.json: $r"
vl_eq "Mirador collection.json: loaded" true "$(field loaded "$r")"
vl_eq "Mirador collection.json: a Collection" Collection "$(field type "$r")"
vl_eq "Mirador collection.json: its items" 3 "$(field canvases "$r")"
vl_eq "Mirador collection.json: no error" "" "$(field err "$r")"

vl_done
