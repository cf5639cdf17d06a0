#!/bin/bash
# SPDX-License-Identifier: MIT
# t_pages: the pages of a multi-page TIFF (tests/fixtures/book.h) through a
# real nginx and the real vellum binary: info.json of "book.tif;N" with that
# page's size and an id ending in the identifier asked, tiles of each page
# decoding to that page's pattern (imgprobe) from one worker's warm caches,
# ETags per page, 404 with a one-line body for a page that is not there,
# and `vellum info` on the file.

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup pages
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
PROBE=$VL_TOP_BUILDDIR/tests/tools/imgprobe
[ -x "$PROBE" ] || { echo "SKIP: tests/tools/imgprobe not built"; exit 77; }
[ -f "$VL_FIXTURES/book.tif" ] || { echo "SKIP: no book.tif fixture"; exit 77; }

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

# The fixture.h pattern at (x, y) of pattern level L: "R G B" or "grey".
rgb() { echo "$((($1 + 17 * $3) & 255)) $((($2 + 31 * $3) & 255)) $((($1 ^ $2 ^ ($3 << 5)) & 255))"; }
grey() { echo "$((($1 + 2 * $2 + 40 * $3) & 255))"; }

# one worker: every request below meets the same handle and tile caches
vl_start_vellum --workers 1 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif

# ---------------------------------------------------------------- info.json
check_info() {     # ID SIZE SIZES (the page's stored levels)
    local st
    st=$(vl_get "$U/3/$1/info.json")
    vl_eq "$1 info.json: 200" 200 "$st"
    vl_eq "$1: size" "$2" "$(jv '"%dx%d" % (d["width"], d["height"])')"
    vl_eq "$1: id" "$U/3/$1" "$(jv 'd["id"]')"
    vl_eq "$1: sizes" "$3" \
        "$(jv '[[s["width"], s["height"]] for s in d.get("sizes", [])]')"
}
check_info "book.tif" 640x480 '[[160,120],[320,240]]'
check_info "book.tif;1" 640x480 '[[160,120],[320,240]]'
check_info "book.tif;2" 480x640 '[[120,160],[240,320]]'
check_info "book.tif;3" 256x256 '[]'
ETAG2=$(vl_get "$U/3/book.tif;2/info.json" >/dev/null; vl_header ETag)
ETAG1=$(vl_get "$U/3/book.tif;1/info.json" >/dev/null; vl_header ETag)
vl_check "ETags differ per page" test -n "$ETAG1" -a "$ETAG1" != "$ETAG2"
st=$(vl_get "$U/2/book.tif;2/info.json")
vl_eq "v2 book.tif;2: 200" 200 "$st"
vl_eq "v2 book.tif;2: @id" "$U/2/book.tif;2" "$(jv 'd["@id"]')"
vl_eq "v2 book.tif;2: width" 480 "$(jv 'd["width"]')"
# the delimiter percent-encoded is the same identifier once decoded
st=$(vl_get "$U/3/book.tif%3B3/info.json")
vl_eq "book.tif%3B3: page 3" "200 256x256" \
    "$st $(jv '"%dx%d" % (d["width"], d["height"])')"

# ---------------------------------------------------------------- pixels
# A tile of each page, lossless PNG: pattern level 4 (p - 1) + L. Page 2
# and page 1 read the same level and block of a warm tile cache: each gets
# its own pixels.
tile() {    # DESC ID REQUEST X Y WANT
    local st
    st=$(vl_get "$U/3/$2/$3")
    vl_eq "$1: 200" 200 "$st"
    vl_eq "$1: pixel $4,$5" "$6" "$(probe "$4" "$5")"
}
for round in 1 2; do
    tile "page 3 tile (round $round)" "book.tif;3" \
        128,128,128,128/128,128/0/default.png 10 20 "$(grey 138 148 8)"
    tile "page 2 tile (round $round)" "book.tif;2" \
        0,0,128,128/128,128/0/default.png 5 7 "$(rgb 5 7 4)"
    tile "page 1 tile (round $round)" "book.tif" \
        0,0,128,128/128,128/0/default.png 5 7 "$(rgb 5 7 0)"
    tile "page 2 level 1 (round $round)" "book.tif;2" \
        0,0,256,256/128,128/0/default.png 3 9 "$(rgb 3 9 5)"
    tile "page 1 level 1 (round $round)" "book.tif;1" \
        0,0,256,256/128,128/0/default.png 3 9 "$(rgb 3 9 1)"
done
st=$(vl_get "$U/3/book.tif;3/full/max/0/default.png")
vl_eq "page 3 full: a grey 256x256 PNG" "200 png 256 256 1" "$st $(probe)"

# ---------------------------------------------------------------- errors
not_found() {   # ID [REQUEST]
    local st lines
    st=$(vl_get "$U/3/$1/${2:-info.json}")
    vl_eq "$1/${2:-info.json}: 404" 404 "$st"
    lines=$(wc -l < "$T/body" | tr -d ' ')
    vl_eq "$1: one-line body" 1 "$lines"
    vl_eq "$1: text/plain" "text/plain; charset=utf-8" \
        "$(vl_header Content-Type)"
}
not_found "book.tif;9"
vl_eq "book.tif;9: reason" "no such page" "$(cat "$T/body")"
not_found "book.tif;9" full/max/0/default.jpg
not_found "book.tif;0"
not_found "book.tif;02"
not_found "book.tif;x"
not_found "single.tif;2"
# the worker still serves the pages after those
st=$(vl_get "$U/3/book.tif;2/info.json")
vl_eq "book.tif;2 after the 404s: 200" 200 "$st"

# ---------------------------------------------------------------- vellum info
"$VL_TOP_BUILDDIR/src/vellum" info "$VL_FIXTURES/book.tif" > "$T/info.txt" \
    2>&1
vl_check "vellum info: the page count" grep -q '^  page 1 of 3$' "$T/info.txt"
vl_check "vellum info: the title" \
    grep -q '^  title: Book of Hours$' "$T/info.txt"

vl_done
