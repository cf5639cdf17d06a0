#!/bin/bash
# SPDX-License-Identifier: MIT
# t_present: IIIF Presentation 3 through a real nginx and the real vellum:
# manifests of images and of a folder object, collections of folders (and
# a folder split into parts), all checked against the Presentation 3 rules
# by p3check.py, which fetches every body, thumbnail and service URL and
# decodes each image at its declared size; sidecars (valid, invalid,
# changed), rights, the provider, the manifest.json alias, conditional
# requests, and what a listing leaves out (hidden files, links out of the
# root, files vellum cannot read).

. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"

vl_setup present
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }
PROBE=$VL_TOP_BUILDDIR/tests/tools/imgprobe
CHECK=$VL_TOP_SRCDIR/tests/integration/p3check.py
[ -x "$PROBE" ] || { echo "SKIP: tests/tools/imgprobe not built"; exit 77; }

# the tree: an image with a sidecar, a folder of two, a folder object (a
# book of two files), a folder of 25 (more than COLLECTION_SIZE=10), and
# what must not be listed
ROOT=$T/root
mkdir -p "$ROOT/maps" "$ROOT/books/b1" "$ROOT/many" "$T/outside"
cp "$VL_FIXTURES/rgb-jpeg.tif" "$ROOT/map.tif"
cp "$VL_FIXTURES/single.tif" "$ROOT/maps/a.tif"
cp "$VL_FIXTURES/grey.tif" "$ROOT/maps/b.tif"
cp "$VL_FIXTURES/single.tif" "$ROOT/books/b1/p1.tif"
cp "$VL_FIXTURES/rgb-deflate.tif" "$ROOT/books/b1/p2.tif"
cp "$VL_FIXTURES/single.tif" "$ROOT/bad.tif"
cp "$VL_FIXTURES/single.tif" "$ROOT/other.tif"
for i in $(seq -w 1 25); do
    cp "$VL_FIXTURES/single.tif" "$ROOT/many/img$i.tif"
done
cp "$VL_FIXTURES/single.tif" "$ROOT/.hidden.tif"
cp "$VL_FIXTURES/not-an-image.tif" "$ROOT/not-an-image.tif"
cp "$VL_FIXTURES/single.tif" "$T/outside/secret.tif"
ln -s ../outside/secret.tif "$ROOT/escape.tif"
ln -s ../outside "$ROOT/away"
cat > "$ROOT/map.tif.json" <<'EOF'
{
  "label": {"en": ["World map, 1689"]},
  "summary": "Gerard van Schagen's map",
  "metadata": [{"label": {"en": ["Author"]}, "value": "Gerard van Schagen"}],
  "rights": "https://creativecommons.org/publicdomain/mark/1.0/",
  "navDate": "1689-01-01T00:00:00Z",
  "seeAlso": {"id": "https://example.org/records/map.xml", "format": "application/xml"}
}
EOF
printf '{"label": "Bad", "colour": "blue"}\n' > "$ROOT/bad.tif.json"
printf '{"rights": "https://example.org/our-terms"}\n' > "$ROOT/other.tif.json"
cat > "$ROOT/books/b1.json" <<'EOF'
{"label": {"en": ["A book"]}, "items": ["p1.tif", "p2.tif"],
 "behavior": "paged", "canvases": ["front", "back"]}
EOF
# an object whose first items are not there, and one with none there
mkdir -p "$ROOT/books/b2" "$ROOT/books/b3"
cp "$VL_FIXTURES/single.tif" "$ROOT/books/b2/p2.tif"
cp "$VL_FIXTURES/grey.tif" "$ROOT/books/b2/p3.tif"
printf 'not an image\n' > "$ROOT/books/b2/notes.tif"
cat > "$ROOT/books/b2.json" <<'EOF'
{"items": ["gone.tif", "p2.tif", "notes.tif", "p3.tif"],
 "canvases": ["one", "two", "three", "four"],
 "homepage": "https://example.org/objects/b2"}
EOF
printf '{"items": ["gone.tif"]}\n' > "$ROOT/books/b3.json"
# an object of a book and a leaf, after a missing file
mkdir -p "$ROOT/books/b4"
cp "$VL_FIXTURES/book.tif" "$ROOT/books/b4/book.tif"
cp "$VL_FIXTURES/single.tif" "$ROOT/books/b4/leaf.tif"
printf '{"items": ["gone.tif", "book.tif", "leaf.tif"]}\n' > "$ROOT/books/b4.json"
# what must not hang, fail or loop: a FIFO as a sidecar, a Latin-1 file
# name, a link to an ancestor folder (a loop) and one to a sibling
cp "$VL_FIXTURES/book.tif" "$VL_FIXTURES/tags.tif" "$ROOT/maps/"
cp "$VL_FIXTURES/single.tif" "$ROOT/fifo.tif"
mkfifo "$ROOT/fifo.tif.json"
cp "$VL_FIXTURES/single.tif" "$ROOT/maps/caf$(printf '\351').tif"
ln -s .. "$ROOT/maps/up"
ln -s ../maps "$ROOT/books/maplink"

PROVIDER_LABEL="Test Library" PROVIDER_HOMEPAGE=https://library.example.org/ \
COLLECTION_SIZE=10 FILESYSTEM_PREFIX=$ROOT \
    vl_start_vellum --workers 2 || { vl_check "vellum starts" false; vl_done; }
vl_start_nginx || { vl_check "nginx starts" false; vl_done; }
U=$VL_URL/iiif/3

# jv EXPR: a Python expression over d = the JSON body of the last response
jv() {
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
v = eval(sys.argv[2])
print(json.dumps(v, separators=(",", ":")) if isinstance(v, (list, dict))
      else v)' "$T/body" "$1" 2>/dev/null
}

check() {   # DESC KIND URL [args]: p3check passes
    local desc=$1
    shift
    if python3 "$CHECK" "$1" "$2" "$PROBE" "${@:3}" > "$T/check.out" 2>&1
    then
        vl_check "$desc ($(tail -n 1 "$T/check.out"))" true
    else
        sed 's/^/#   /' "$T/check.out"
        vl_check "$desc" false
    fi
}

# ------------------------------------------------------------ manifests
check "manifest of an image: Presentation 3, every URL fetched" \
    manifest "$U/map.tif/manifest"
check "manifest through /iiif/2/ too" manifest "$VL_URL/iiif/2/map.tif/manifest"
check "manifest of a folder object" manifest "$U/books%2Fb1/manifest"
check "manifest of an image in a folder" manifest "$U/maps%2Fa.tif/manifest"
check "manifest.json: its id is the canonical manifest" \
    manifest "$U/map.tif/manifest.json" --id "$U/map.tif/manifest"

vl_get "$U/map.tif/manifest" > /dev/null
vl_eq "label from the sidecar" '{"en":["World map, 1689"]}' "$(jv 'd["label"]')"
vl_eq "summary from the sidecar" '{"none":["Gerard van Schagen'"'"'s map"]}' \
    "$(jv 'd["summary"]')"
vl_eq "metadata from the sidecar" \
    '[{"label":{"en":["Author"]},"value":{"none":["Gerard van Schagen"]}}]' \
    "$(jv 'd["metadata"]')"
vl_eq "rights in their canonical http:// form" \
    "http://creativecommons.org/publicdomain/mark/1.0/" "$(jv 'd["rights"]')"
vl_eq "navDate" "1689-01-01T00:00:00Z" "$(jv 'd["navDate"]')"
vl_eq "seeAlso from the sidecar" \
    '[{"id":"https://example.org/records/map.xml","type":"Dataset","format":"application/xml"}]' \
    "$(jv 'd["seeAlso"]')"
vl_eq "provider from the configuration" "Test Library|https://library.example.org/" \
    "$(jv 'd["provider"][0]["label"]["none"][0] + "|" + d["provider"][0]["homepage"][0]["id"]')"
vl_eq "one canvas of the image's size" "1001x737" \
    "$(jv '"%dx%d" % (d["items"][0]["width"], d["items"][0]["height"])')"
vl_eq "ImageService3 and ImageService2 of the body" \
    "$U/map.tif $VL_URL/iiif/2/map.tif" \
    "$(jv '" ".join(s.get("id", s.get("@id")) for s in d["items"][0]["items"][0]["items"][0]["body"]["service"])')"
vl_eq "thumbnail within THUMBNAIL_SIZE" "True" \
    "$(jv 'max(d["thumbnail"][0]["width"], d["thumbnail"][0]["height"]) <= 200')"
vl_eq "Content-Type" \
    'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"' \
    "$(vl_header Content-Type)"
vl_eq "CORS" "*" "$(vl_header Access-Control-Allow-Origin)"

# conditional requests, and the sidecar in the ETag
ETAG=$(vl_header ETag)
vl_eq "manifest 304" 304 "$(vl_get "$U/map.tif/manifest" -H "If-None-Match: $ETAG")"
sed -i 's/World map, 1689/Wereldkaart, 1689/' "$ROOT/map.tif.json"
touch -d '+2 seconds' "$ROOT/map.tif.json"
vl_eq "changed sidecar: 200" 200 "$(vl_get "$U/map.tif/manifest" -H "If-None-Match: $ETAG")"
vl_eq "changed sidecar: the new label" '{"en":["Wereldkaart, 1689"]}' "$(jv 'd["label"]')"
vl_check "changed sidecar: a new ETag" test "$(vl_header ETag)" != "$ETAG"

vl_get "$U/books%2Fb1/manifest" > /dev/null
vl_eq "object: label" '{"en":["A book"]}' "$(jv 'd["label"]')"
vl_eq "object: behavior" '["paged"]' "$(jv 'd["behavior"]')"
vl_eq "object: one canvas per file, in order" \
    "$U/books%2Fb1%2Fp1.tif $U/books%2Fb1%2Fp2.tif" \
    "$(jv '" ".join(c["items"][0]["items"][0]["body"]["service"][0]["id"] for c in d["items"])')"
vl_eq "object: canvas labels from the sidecar" '[["front"],["back"]]' \
    "$(jv '[c["label"]["none"] for c in d["items"]]')"
vl_eq "object: canvas sizes" "[[333,222],[1001,737]]" \
    "$(jv '[[c["width"], c["height"]] for c in d["items"]]')"

# an invalid sidecar: served without it, one log line naming the file
vl_eq "invalid sidecar: the manifest is served" 200 "$(vl_get "$U/bad.tif/manifest")"
vl_eq "invalid sidecar: the file name is the label" '{"none":["bad.tif"]}' \
    "$(jv 'd["label"]')"
vl_check "invalid sidecar: logged with the file and the problem" \
    grep -q "sidecar bad.tif.json: colour: is not a field of a vellum sidecar" \
    "$T/vellum.log"
# rights that are not CC or RightsStatements.org: a requiredStatement
vl_get "$U/other.tif/manifest" > /dev/null
vl_eq "other rights: no rights property" "False" "$(jv '"rights" in d')"
vl_eq "other rights: in requiredStatement" "https://example.org/our-terms" \
    "$(jv 'd["requiredStatement"]["value"]["none"][0]')"

# errors
for p in "missing.tif/manifest" "maps%2Fmissing.tif/manifest" \
         "escape.tif/manifest" "maps/manifest" "not-an-image.tif/manifest"; do
    st=$(vl_get "$U/$p")
    case $p in
    not-an-image*) want=415 ;;
    *) want=404 ;;
    esac
    vl_eq "$p: $want" "$want" "$st"
done

# a multi-page TIFF: a canvas per page, each page its own service; what
# the file's tags say
check "a multi-page TIFF" manifest "$U/maps%2Fbook.tif/manifest"
vl_get "$U/maps%2Fbook.tif/manifest" > /dev/null
vl_eq "pages: a canvas each, of its size" "640x480 480x640 256x256" \
    "$(jv '" ".join("%dx%d" % (c["width"], c["height"]) for c in d["items"])')"
vl_eq "pages: each page its own image service" \
    "$U/maps%2Fbook.tif%3B1 $U/maps%2Fbook.tif%3B2 $U/maps%2Fbook.tif%3B3" \
    "$(jv '" ".join(c["items"][0]["items"][0]["body"]["service"][0]["id"] for c in d["items"])')"
vl_eq "pages: labelled by number" '[["p. 1"],["p. 2"],["p. 3"]]' \
    "$(jv '[c["label"]["none"] for c in d["items"]]')"
vl_eq "tags: the title is the label" '{"none":["Book of Hours"]}' "$(jv 'd["label"]')"
vl_eq "tags: description, creator, date" \
    '{"none":["Folio 1r: gilt initials"]}|Creator=Anon.|Date=2024:01:02 03:04:05|Description=Folio 1r: gilt initials' \
    "$(jv 'json.dumps(d["summary"], separators=(",", ":")) + "|" + "|".join(m["label"]["none"][0] + "=" + m["value"]["none"][0] for m in d["metadata"])')"
vl_eq "tags: a RightsStatements.org Copyright is the rights" \
    "http://rightsstatements.org/vocab/NoC-US/1.0/" "$(jv 'd["rights"]')"
vl_get "$U/maps%2Fbook.tif%3B2/manifest" > /dev/null
vl_eq "a page's own manifest: that page" "1 480x640 $U/maps%2Fbook.tif%3B2" \
    "$(jv '"%d %dx%d %s" % (len(d["items"]), d["items"][0]["width"], d["items"][0]["height"], d["items"][0]["items"][0]["items"][0]["body"]["service"][0]["id"])')"
# a page's manifest says what the file's sidecar says
printf '{"label": "Hours", "rights": "https://creativecommons.org/licenses/by-nc/4.0/"}\n' \
    > "$ROOT/maps/book.tif.json"
vl_get "$U/maps%2Fbook.tif%3B2/manifest" > /dev/null
vl_eq "a page's manifest: the file's sidecar" \
    '{"none":["Hours"]} http://creativecommons.org/licenses/by-nc/4.0/' \
    "$(jv 'json.dumps(d["label"], separators=(",", ":")) + " " + d["rights"]')"
rm "$ROOT/maps/book.tif.json"
# an object's canvases keep the place of their file in items; a book's
# pages are canvases of their own
check "an object of a book and a leaf" manifest "$U/books%2Fb4/manifest"
vl_get "$U/books%2Fb4/manifest" > /dev/null
vl_eq "its canvases, keyed by their place in items" \
    "2-1 2-2 2-3 3" "$(jv '" ".join(c["id"].rsplit("/", 1)[1] for c in d["items"])')"
vl_eq "their labels" '[["book.tif, p. 1"],["book.tif, p. 2"],["book.tif, p. 3"],["leaf.tif"]]' \
    "$(jv '[c["label"]["none"] for c in d["items"]]')"
vl_eq "the pages' services" "$U/books%2Fb4%2Fbook.tif%3B2" \
    "$(jv 'd["items"][1]["items"][0]["items"][0]["body"]["service"][0]["id"]')"
vl_get "$U/maps%2Ftags.tif/manifest" > /dev/null
vl_eq "tags: a Copyright in words is an attribution" \
    "Attribution=Public domain False" \
    "$(jv 'd["requiredStatement"]["label"]["none"][0] + "=" + d["requiredStatement"]["value"]["none"][0] + " " + str("rights" in d)')"

# what the review found
vl_eq "a FIFO sidecar: the manifest, not a hang" 200 \
    "$(vl_get "$U/fifo.tif/manifest" -m 10)"
vl_eq "a FIFO sidecar: the worker still serves" 200 \
    "$(vl_get "$U/fifo.tif/info.json" -m 10)"
vl_eq "a Latin-1 name: its manifest" 200 "$(vl_get "$U/maps%2Fcaf%E9.tif/manifest")"
vl_eq "a Latin-1 name: read as Latin-1" '{"none":["caf\u00e9.tif"]}' \
    "$(jv 'd["label"]')"
check "a Latin-1 name in a collection" collection "$U/maps/collection.json"
vl_get "$U/maps/collection.json" > /dev/null
vl_eq "a link to an ancestor is not listed (no endless tree)" \
    '["a.tif","b.tif","Book of Hours","caf\u00e9.tif","Map of the river"]' \
    "$(jv '[i["label"]["none"][0] for i in d["items"]]')"
vl_eq "nor served as a folder" 404 "$(vl_get "$U/maps%2Fup/collection.json")"
vl_get "$U/books/collection.json" > /dev/null
vl_eq "a link to a sibling folder is" \
    "b1:Manifest b2:Manifest b3:Collection b4:Manifest maplink:Collection" \
    "$(jv '" ".join(i["id"].rsplit("/", 2)[-2].rsplit("%2F", 1)[-1] + ":" + i["type"] for i in d["items"])')"
vl_get "$U/books%2Fmaplink/collection.json" > /dev/null
vl_eq "but not its links in turn" '["a.tif","b.tif","Book of Hours","caf\u00e9.tif","Map of the river"]' \
    "$(jv '[i["label"]["none"][0] for i in d["items"]]')"
vl_get "$U/books/collection.json" > /dev/null
vl_eq "an object's thumbnail: the first of its items there" \
    "$U/books%2Fb2%2Fp2.tif/full/167,111/0/default.jpg" \
    "$(jv 'd["items"][1]["thumbnail"][0]["id"]')"
check "an object with items missing" manifest "$U/books%2Fb2/manifest"
vl_get "$U/books%2Fb2/manifest" > /dev/null
vl_eq "its canvases: the images, labelled by their place in items" \
    "two four" "$(jv '" ".join(c["label"]["none"][0] for c in d["items"])')"
vl_eq "a homepage without a label gets the object's" \
    '[{"id":"https://example.org/objects/b2","type":"Text","label":{"none":["b2"]},"format":"text/html"}]' \
    "$(jv 'd["homepage"]')"
LEFT='sidecar books/b2.json: items: 2 of 4 are not images of the folder (the first: gone.tif): left out'
n0=$(grep -c "$LEFT" "$T/vellum.log")
vl_get "$U/books%2Fb2/manifest" > /dev/null
vl_eq "what is left out: one log line a request" 1 \
    "$(( $(grep -c "$LEFT" "$T/vellum.log") - n0 ))"
vl_eq "an object of no image there: no manifest" 404 "$(vl_get "$U/books%2Fb3/manifest")"
vl_get "$U/maps%2Fa.tif/manifest" > /dev/null
# a single-level image has the averaged levels source.c adds: the thumbnail
# is the largest of them within 200
vl_eq "a thumbnail of a single-level image: its averaged level" \
    "167x111 $U/maps%2Fa.tif/full/167,111/0/default.jpg" \
    "$(jv '"%dx%d %s" % (d["thumbnail"][0]["width"], d["thumbnail"][0]["height"], d["thumbnail"][0]["id"])')"
vl_eq "the provider is an Agent of its own URI" \
    "https://library.example.org/#provider" "$(jv 'd["provider"][0]["id"]')"
vl_eq "manifests: PRESENTATION_CACHE_CONTROL" "max-age=300" "$(vl_header Cache-Control)"
vl_eq "manifests: no Last-Modified (it can go back)" "" "$(vl_header Last-Modified)"
vl_eq "If-Modified-Since alone: the document" 200 \
    "$(vl_get "$U/maps%2Fa.tif/manifest" -H "If-Modified-Since: $(date -u -d '+1 day' '+%a, %d %b %Y %H:%M:%S GMT')")"

# ---------------------------------------------------------- collections
check "root collection, every manifest and sub-collection checked" \
    collection "$U/collection.json" --deep
vl_get "$U/collection.json" > /dev/null
vl_eq "root: entries by name, what cannot be served left out" \
    "bad.tif:Manifest books:Collection fifo.tif:Manifest many:Collection map.tif:Manifest maps:Collection other.tif:Manifest" \
    "$(jv '" ".join(i["id"].rsplit("/", 2)[-2] + ":" + i["type"] for i in d["items"])')"
vl_eq "root: labelled by the provider" '{"none":["Test Library"]}' "$(jv 'd["label"]')"
vl_get "$U/books/collection.json" > /dev/null
vl_eq "a folder object is a Manifest of its folder's collection" \
    "$U/books%2Fb1/manifest Manifest A book" \
    "$(jv 'd["items"][0]["id"] + " " + d["items"][0]["type"] + " " + d["items"][0]["label"]["en"][0]')"
# a folder of 25 with COLLECTION_SIZE=10: three parts
vl_get "$U/many/collection.json" > /dev/null
vl_eq "25 entries: three parts" \
    "$U/many/collection/1.json $U/many/collection/2.json $U/many/collection/3.json" \
    "$(jv '" ".join(i["id"] for i in d["items"])')"
vl_eq "parts are Collections named by their range" "Collection img01.tif to img10.tif" \
    "$(jv 'd["items"][0]["type"] + " " + d["items"][0]["label"]["none"][0]')"
check "a part" collection "$U/many/collection/3.json"
vl_get "$U/many/collection/3.json" > /dev/null
vl_eq "the last part: the rest" "img21.tif img25.tif 5" \
    "$(jv 'd["items"][0]["label"]["none"][0] + " " + d["items"][-1]["label"]["none"][0] + " " + str(len(d["items"]))')"
for p in "many/collection/4.json" "many/collection/0.json" \
         "many/collection/01.json" "maps/collection/1.json" \
         "missing/collection.json" "away/collection.json" \
         "map.tif/collection.json"; do
    vl_eq "$p: 404" 404 "$(vl_get "$U/$p")"
done
ETAG=$(vl_get "$U/maps/collection.json" > /dev/null; vl_header ETag)
vl_eq "collection 304" 304 "$(vl_get "$U/maps/collection.json" -H "If-None-Match: $ETAG")"
cp "$VL_FIXTURES/single.tif" "$ROOT/maps/c.tif"
vl_eq "a file added: 200" 200 "$(vl_get "$U/maps/collection.json" -H "If-None-Match: $ETAG")"
vl_eq "a file added: listed" 6 "$(jv 'len(d["items"])')"
# a folder's label is in its own sidecar, beside it in its parent
vl_get "$U/books%2Fb1/collection.json" > /dev/null
vl_eq "a folder labelled by its sidecar" '{"en":["A book"]}' "$(jv 'd["label"]')"
ETAG=$(vl_header ETag)
sed -i 's/A book/Ein Buch/' "$ROOT/books/b1.json"
touch -d '+2 seconds' "$ROOT/books/b1.json"
vl_eq "its sidecar changed: 200" 200 \
    "$(vl_get "$U/books%2Fb1/collection.json" -H "If-None-Match: $ETAG")"
vl_eq "its sidecar changed: the new label" '{"en":["Ein Buch"]}' "$(jv 'd["label"]')"
# an object's thumbnail image replaced: a new ETag
vl_get "$U/books/collection.json" > /dev/null
ETAG=$(vl_header ETag)
cp "$VL_FIXTURES/rgb-deflate.tif" "$ROOT/books/b2/p2.tif"
vl_eq "an object's thumbnail image replaced: 200" 200 \
    "$(vl_get "$U/books/collection.json" -H "If-None-Match: $ETAG")"
vl_eq "an object's thumbnail image replaced: its new size" "200x147" \
    "$(jv '"%dx%d" % (d["items"][1]["thumbnail"][0]["width"], d["items"][1]["thumbnail"][0]["height"])')"

# collections are the same bytes whatever the Image API version asked
E1=$(vl_get "$U/maps/collection.json" > /dev/null; vl_header ETag)
E2=$(vl_get "$U/maps/collection.json" -H 'Accept: application/ld+json;profile="http://iiif.io/api/image/2/context.json"' > /dev/null; vl_header ETag)
vl_eq "a collection's ETag does not follow Accept" "$E1" "$E2"

# with FILESYSTEM_SUFFIX: an image and a folder object of one identifier
# (book.tif and book/ with book.json): book/manifest is the image's, the
# folder only a Collection
vl_stop_vellum
R2=$T/root2
mkdir -p "$R2/book"
cp "$VL_FIXTURES/single.tif" "$R2/book.tif"
cp "$VL_FIXTURES/grey.tif" "$R2/book/p1.tif"
printf '{"items": ["p1.tif"]}\n' > "$R2/book.json"
FILESYSTEM_PREFIX=$R2 FILESYSTEM_SUFFIX=.tif vl_start_vellum --workers 1 \
    || { vl_check "vellum starts with a suffix" false; vl_done; }
vl_get "$U/collection.json" > /dev/null
vl_eq "a folder of an image's identifier is a Collection" \
    "$U/book/collection.json:Collection $U/book/manifest:Manifest" \
    "$(jv '" ".join(sorted(i["id"] + ":" + i["type"] for i in d["items"]))')"
vl_get "$U/book/manifest" > /dev/null
vl_eq "and book/manifest is the image's" "333x222" \
    "$(jv '"%dx%d" % (d["items"][0]["width"], d["items"][0]["height"])')"

vl_done
