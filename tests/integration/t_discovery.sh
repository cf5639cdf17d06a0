#!/bin/bash
# SPDX-License-Identifier: MIT
# t_discovery: IIIF Change Discovery through a real nginx and vellum. A tree
# of fixture copies changes between `vellum scan` runs (create, modify,
# touch only, rename, delete, a changed sidecar, a folder becoming one
# object, a folder object added and changed) and after each scan the stream
# holds exactly the expected activities, in order, in pages of 3 (split at
# exactly the page size); every page is checked against the specification's
# shapes; a harvester walking back from `last` finds the tree's manifests;
# pages before the last are byte-identical and keep their ETag while the
# log grows; the 404s; a second scan is refused while one holds the lock;
# crash safety: the log cut at every byte of its last records is completed
# by the next scan with exactly the expected activities, a flipped byte in
# the middle makes the scanner refuse (log unchanged) while the stream
# serves the valid prefix; STATE_DIR unset; the master's SCAN_INTERVAL;
# the same ETag whatever the Accept header (which picks the Image API
# version on the unversioned path); an empty log is a 404 (the collection
# MUST have last); entries that cannot be read (as nobody: a folder not
# enterable, an image mode 000) are kept, not deleted. What the scanner
# records is what the server answers: every live manifest of the stream is
# a 200 (a folder whose sidecar names none of its images is a plain folder,
# a file named as a page is not listed); a scan that would delete every
# manifest (an empty root) is refused unless --force.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "${VL_TOP_SRCDIR:-$(dirname "$0")/../..}/tests/integration/lib.sh"
command -v python3 >/dev/null || { echo "SKIP: python3 not found"; exit 77; }

vl_setup discovery
VELLUM=$VL_TOP_BUILDDIR/src/vellum
FX=$VL_FIXTURES
ROOT=$T/root
STATE=$T/state
LOGF=$STATE/activities.log
PAGE=3
mkdir -p "$ROOT"

# ------------------------------------------------------------ helpers
cat > "$T/cd.py" <<'EOF'
# cd.py: the Change Discovery stream as a harvester sees it.
#   walk URL SIZE     every activity, oldest first ("Type id"), checking
#                     every page against the specification's shapes
#   harvest URL       from last back via prev: the live manifests
#   urls URL          the manifest URLs of those
#   tree ROOT         the manifests of a tree of fixture copies
#   log FILE          the activities of a log file ("Type id"), checking
#                     its syntax, sequence and (with libxxhash) checksums
#   logs WANT FILE... the log files whose activities are not WANT's
import json, os, re, sys, urllib.parse, urllib.request

CTX = "http://iiif.io/api/discovery/1/context.json"
MEDIA = 'application/ld+json;profile="%s"' % CTX

def die(msg):
    print("cd.py: " + msg, file=sys.stderr)
    sys.exit(1)

def get(url):
    with urllib.request.urlopen(url, timeout=30) as r:
        if r.headers.get("Content-Type") != MEDIA:
            die("%s: Content-Type %s" % (url, r.headers.get("Content-Type")))
        if r.headers.get("Access-Control-Allow-Origin") is None:
            die("%s: no CORS header" % url)
        return json.loads(r.read())

def ident(base, obj):
    if obj.get("type") != "Manifest":
        die("object type %r" % obj.get("type"))
    mid = obj["id"]
    if not mid.startswith(base) or not mid.endswith("/manifest"):
        die("manifest id %s" % mid)
    enc = mid[len(base):-len("/manifest")]
    if "/" in enc:
        die("identifier not one segment: %s" % mid)
    return urllib.parse.unquote(enc)

def ref(doc, key, want_id, want_type):
    v = doc.get(key)
    if not isinstance(v, dict) or v.get("id") != want_id \
            or v.get("type") != want_type or len(v) != 2:
        die("%s of %s is %r, not {id: %s, type: %s}"
            % (key, doc.get("id"), v, want_id, want_type))

def walk(url, size):
    coll = get(url)
    base = url[:-len("cd/collection.json")]
    page = lambda n: base + "cd/pages/%d.json" % n
    if coll.get("@context") != CTX or coll.get("type") != "OrderedCollection" \
            or coll.get("id") != url:
        die("collection: %r" % coll)
    total = coll.get("totalItems")
    if not isinstance(total, int):
        die("totalItems %r" % total)
    npages = (total + size - 1) // size
    if total == 0:
        if "first" in coll or "last" in coll:
            die("an empty stream with first or last")
        return []
    ref(coll, "first", page(1), "OrderedCollectionPage")
    ref(coll, "last", page(npages), "OrderedCollectionPage")
    out, last_time, n, nxt = [], "", 0, coll["first"]["id"]
    while nxt is not None:
        n += 1
        p = get(nxt)
        if p.get("@context") != CTX or p.get("id") != page(n) \
                or p.get("type") != "OrderedCollectionPage":
            die("page %d: %r" % (n, {k: p.get(k) for k in ("@context", "id",
                                                           "type")}))
        ref(p, "partOf", url, "OrderedCollection")
        if p.get("startIndex") != len(out):
            die("page %d: startIndex %r, not %d"
                % (n, p.get("startIndex"), len(out)))
        if n > 1:
            ref(p, "prev", page(n - 1), "OrderedCollectionPage")
        elif "prev" in p:
            die("page 1 has prev")
        items = p.get("orderedItems")
        if not isinstance(items, list) or not items:
            die("page %d: orderedItems %r" % (n, items))
        if n < npages and len(items) != size:
            die("page %d of %d: %d items" % (n, npages, len(items)))
        for a in items:
            if set(a) != {"type", "object", "endTime"}:
                die("activity %r" % a)
            if a["type"] not in ("Create", "Update", "Delete"):
                die("activity type %r" % a["type"])
            if not re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ",
                                a["endTime"]) or a["endTime"] < last_time:
                die("endTime %s after %s" % (a["endTime"], last_time))
            last_time = a["endTime"]
            out.append("%s %s" % (a["type"], ident(base, a["object"])))
        if n < npages:
            ref(p, "next", page(n + 1), "OrderedCollectionPage")
            nxt = p["next"]["id"]
        else:
            if "next" in p:
                die("the last page has next")
            nxt = None
    if n != npages or len(out) != total:
        die("%d pages, %d activities; the collection says %d, %d"
            % (n, len(out), npages, total))
    return out

def urls(url):
    base = url[:-len("cd/collection.json")]
    return [base + urllib.parse.quote(i, safe="") + "/manifest"
            for i in harvest(url)]

def harvest(url):
    coll = get(url)
    base = url[:-len("cd/collection.json")]
    seen, live = set(), set()
    nxt = coll.get("last", {}).get("id")
    while nxt is not None:
        p = get(nxt)
        for a in reversed(p["orderedItems"]):
            i = ident(base, a["object"])
            if i in seen:
                continue
            seen.add(i)
            if a["type"] != "Delete":
                live.add(i)
        nxt = p.get("prev", {}).get("id")
    return sorted(live)

def tree(root):
    out = []
    for d, subs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        rel = "" if rel == "." else rel + "/"
        side = os.path.join(os.path.dirname(d), os.path.basename(d) + ".json")
        images = [f for f in files if f.endswith(".tif")
                  and not f.startswith(".")
                  and open(os.path.join(d, f), "rb").read(4)
                  in (b"II*\0", b"MM\0*", b"II+\0", b"MM\0+")]
        # an object when its sidecar's items name one of its images
        items = json.load(open(side)).get("items") \
            if rel and os.path.isfile(side) else None
        if isinstance(items, list) and set(items) & set(images):
            out.append(rel[:-1])
            continue
        out += [rel + f for f in images]
        subs[:] = [s for s in subs if not s.startswith(".")]
    return sorted(out)

def log(path):
    try:
        import ctypes
        xx = ctypes.CDLL("libxxhash.so.0")
        xx.XXH64.restype = ctypes.c_uint64
        xx.XXH64.argtypes = [ctypes.c_char_p, ctypes.c_size_t,
                             ctypes.c_uint64]
    except OSError:
        xx = None
    data = open(path, "rb").read()
    if data and not data.endswith(b"\n"):
        die("the log does not end with a newline")
    out = []
    for n, line in enumerate(data.split(b"\n")[:-1], 1):
        f = line.decode("ascii").split(" ")
        if len(f) != 9 or f[0] != "cd1" or f[1] != str(n):
            die("line %d: %s" % (n, line))
        if xx is not None:
            body = line[:-17]
            if "%016x" % xx.XXH64(body, len(body), 0x7663643173636e31) != f[8]:
                die("line %d: bad checksum" % n)
        if f[3] != "Seen":
            out.append("%s %s" % (f[3], urllib.parse.unquote(f[5])))
    return out

def logs(want, files):
    want = open(want).read().split("\n")[:-1]
    bad = []
    for f in files:
        try:
            if log(f) != want:
                bad.append(f)
        except SystemExit:
            bad.append(f)
    return bad

cmd = sys.argv[1]
out = (walk(sys.argv[2], int(sys.argv[3])) if cmd == "walk"
       else harvest(sys.argv[2]) if cmd == "harvest"
       else urls(sys.argv[2]) if cmd == "urls"
       else tree(sys.argv[2]) if cmd == "tree"
       else logs(sys.argv[2], sys.argv[3:]) if cmd == "logs"
       else log(sys.argv[2]))
for line in out:
    print(line)
EOF

cdpy() {
    python3 "$T/cd.py" "$@"
}

# scan: vellum scan on the test tree; output in $T/scan.out, $T/scan.err;
# prints the exit status.
scan() {
    FILESYSTEM_PREFIX=$ROOT STATE_DIR=$STATE "$VELLUM" scan \
        >"$T/scan.out" 2>"$T/scan.err"
    echo $?
}

U=
COLL=
SEEN=0      # activities in the stream so far

# expect DESC "Type id" ...: scan, then the stream holds exactly these
# activities after the ones it had (and every page passes the checks).
expect() {
    local desc=$1 st want got
    shift
    st=$(scan)
    vl_eq "$desc: scan exits 0" 0 "$st"
    [ "$st" = 0 ] || sed 's/^/#   /' "$T/scan.err"
    vl_check "$desc: scan says what it did" grep -Eq \
        '^scanned [0-9]+ images, [0-9]+ objects in [0-9.]+ s: [0-9]+ Create, [0-9]+ Update, [0-9]+ Delete' \
        "$T/scan.out"
    want=$(printf '%s\n' "$@" | sed '/^$/d')
    if ! cdpy walk "$COLL" "$PAGE" >"$T/walk" 2>"$T/walk.err"; then
        vl_check "$desc: the stream passes the checks ($(cat "$T/walk.err"))" false
        return
    fi
    got=$(tail -n +$((SEEN + 1)) "$T/walk")
    vl_eq "$desc: the new activities" "$want" "$got"
    SEEN=$(wc -l < "$T/walk")
}

# pages N: the number of pages of the stream now
pages() {
    echo $(( (SEEN + PAGE - 1) / PAGE ))
}

# ------------------------------------------------------------ start
FILESYSTEM_PREFIX=$ROOT STATE_DIR=$STATE DISCOVERY_PAGE_SIZE=$PAGE \
    vl_start_vellum --workers 2 || exit 1
vl_start_nginx || exit 1
U=$VL_URL/iiif
COLL=$U/cd/collection.json

# ------------------------------------------------------------ no log yet
vl_eq "no log yet: 404" 404 "$(vl_get "$COLL")"
vl_check "no log yet: says so" grep -q "no Change Discovery log yet" "$T/body"
vl_eq "no log yet: a page 404" 404 "$(vl_get "$U/cd/pages/1.json")"

# ------------------------------------------------------------ empty tree
vl_eq "empty tree: scan exits 0" 0 "$(scan)"
vl_check "empty tree: STATE_DIR and the log created" test -f "$LOGF"
vl_eq "empty tree: the log is empty" 0 "$(stat -c %s "$LOGF")"
# Change Discovery 1.0: the collection MUST have last (and a page holds an
# activity at least): none until the first activity
vl_eq "empty log: the collection 404" 404 "$(vl_get "$COLL")"
vl_check "empty log: says so" grep -q "no activity yet" "$T/body"
vl_eq "empty log: no page 1" 404 "$(vl_get "$U/cd/pages/1.json")"
vl_check "empty log: a page says so" grep -q "no activity yet" "$T/body"

# ------------------------------------------------------------ create
mkdir -p "$ROOT/sub"
cp "$FX/single.tif" "$ROOT/a.tif"
cp "$FX/grey.tif" "$ROOT/b.tif"
cp "$FX/rgb-jpeg.tif" "$ROOT/sub/c.tif"
cp "$FX/single.tif" "$ROOT/name with space.tif"
cp "$FX/not-an-image.tif" "$ROOT/junk.tif"
echo hidden > "$ROOT/.hidden.tif"
expect "create" "Create a.tif" "Create b.tif" "Create name with space.tif" \
    "Create sub/c.tif"
vl_eq "create: two pages of $PAGE" 2 "$(pages)"

# ------------------------------------------------------------ no change
expect "no change"
vl_get "$U/cd/pages/1.json" >/dev/null
cp "$T/body" "$T/page1.a"
ETAG1=$(vl_header ETag)

# ------------------------------------------------------------ modify
# the same size, one byte different (mtime moves)
python3 - "$ROOT/b.tif" <<'EOF'
import sys
f = open(sys.argv[1], "r+b"); f.seek(5000); b = f.read(1); f.seek(5000)
f.write(bytes([b[0] ^ 0xff])); f.close()
EOF
expect "modify content (same size)" "Update b.tif"
printf 'x' >> "$ROOT/a.tif"
expect "modify content (longer)" "Update a.tif"

# ------------------------------------------------------------ touch only
touch "$ROOT/a.tif"
touch -d '2020-01-01 00:00:00' "$ROOT/b.tif"
cp -p "$ROOT/sub/c.tif" "$ROOT/sub/c.new" && mv "$ROOT/sub/c.new" "$ROOT/sub/c.tif"
expect "touch only: no activity"
expect "touch only, scanned again: no activity"

# ------------------------------------------------------------ rename
mv "$ROOT/sub/c.tif" "$ROOT/sub/d.tif"
expect "rename" "Delete sub/c.tif" "Create sub/d.tif"

# ------------------------------------------------------------ delete
rm "$ROOT/name with space.tif"
expect "delete" "Delete name with space.tif"

# ------------------------------------------------------------ sidecars
echo '{"label": "Bee"}' > "$ROOT/b.tif.json"
expect "a sidecar added" "Update b.tif"
echo '{"label": "Bee", "summary": "a grey one"}' > "$ROOT/b.tif.json"
expect "a sidecar changed" "Update b.tif"
touch "$ROOT/b.tif.json"
expect "a sidecar touched only"
rm "$ROOT/b.tif.json"
expect "a sidecar removed" "Update b.tif"

# ------------------------------------------------------------ folder objects
mkdir -p "$ROOT/book"
cp "$FX/single.tif" "$ROOT/book/p1.tif"
cp "$FX/grey.tif" "$ROOT/book/p2.tif"
expect "a plain folder: its images" "Create book/p1.tif" "Create book/p2.tif"
echo '{"label": "A book", "items": ["p1.tif", "p2.tif"]}' > "$ROOT/book.json"
expect "the folder becomes one object" "Delete book/p1.tif" \
    "Delete book/p2.tif" "Create book"
mkdir -p "$ROOT/atlas"
cp "$FX/rgb-lzw.tif" "$ROOT/atlas/01.tif"
cp "$FX/grey.tif" "$ROOT/atlas/02.tif"
echo '{"items": ["01.tif", "02.tif"]}' > "$ROOT/atlas.json"
expect "a folder object added" "Create atlas"
printf 'x' >> "$ROOT/book/p2.tif"
expect "a page of the object changed" "Update book"
echo '{"label": "The book", "items": ["p2.tif", "p1.tif"]}' > "$ROOT/book.json"
expect "the object's sidecar changed" "Update book"
cp "$FX/single.tif" "$ROOT/book/p3.tif"
expect "a page added to the object" "Update book"
echo '{"label": "The book", "items": 3}' > "$ROOT/book.json"
expect "an invalid sidecar: the images again" "Delete book" \
    "Create book/p1.tif" "Create book/p2.tif" "Create book/p3.tif"
vl_check "an invalid sidecar: the scan says so" grep -q \
    "book.json: not used: items" "$T/scan.err"
echo '{"label": "The book", "items": ["p1.tif"]}' > "$ROOT/book.json"
expect "valid again: one object" "Delete book/p1.tif" "Delete book/p2.tif" \
    "Delete book/p3.tif" "Create book"

# ------------------------------------------------------------ not objects
# a sidecar whose items name none of the folder's images: its manifest is
# a 404, so it is a plain folder and its images are manifests; a file
# named as a page ("scan;2": page 2 of "scan") cannot be reached
mkdir -p "$ROOT/ghost"
cp "$FX/single.tif" "$ROOT/ghost/g1.tif"
echo '{"label": "Nothing", "items": ["nope.tif"]}' > "$ROOT/ghost.json"
cp "$FX/single.tif" "$ROOT/scan;2"
expect "a sidecar naming no image of its folder; a page's name" \
    "Create ghost/g1.tif"
vl_check "a sidecar naming no image: the scan says so" grep -q \
    "ghost.json: not used: its items name no image of the folder" \
    "$T/scan.err"
vl_eq "the folder's manifest: 404, as the scan says" 404 \
    "$(vl_get "$U/ghost/manifest")"
echo '{"label": "Nothing", "items": ["nope.tif", "g1.tif"]}' \
    > "$ROOT/ghost.json"
expect "the sidecar names one of its images: an object" \
    "Delete ghost/g1.tif" "Create ghost"

# ------------------------------------------------------------ the pages
NP=$(pages)
vl_check "the stream spans several pages ($NP)" test "$NP" -ge 5
vl_get "$U/cd/pages/1.json" >/dev/null
vl_check "page 1: byte-identical to before the log grew" \
    cmp -s "$T/page1.a" "$T/body"
vl_eq "page 1: the same ETag as before the log grew" "$ETAG1" \
    "$(vl_header ETag)"
vl_eq "page 1: 304 on its ETag" 304 \
    "$(vl_get "$U/cd/pages/1.json" -H "If-None-Match: $ETAG1")"
bad=0
for n in $(seq 1 $((NP - 1))); do
    vl_get "$U/cd/pages/$n.json" >/dev/null
    cp "$T/body" "$T/p.a"
    vl_get "$U/cd/pages/$n.json" >/dev/null
    cmp -s "$T/p.a" "$T/body" || bad=$((bad + 1))
    cp "$T/body" "$T/keep.$n"
    vl_header ETag > "$T/keep.$n.etag"
done
vl_eq "pages before the last: byte-identical on every request" 0 "$bad"
vl_eq "a page by HEAD: 200" 200 "$(vl_get "$U/cd/pages/1.json" -I)"
vl_eq "media type" \
    'application/ld+json;profile="http://iiif.io/api/discovery/1/context.json"' \
    "$(vl_header Content-Type)"
vl_eq "CORS" "*" "$(vl_header Access-Control-Allow-Origin)"

# split at exactly the page size: fill the last page, then one more
while [ $((SEEN % PAGE)) != 0 ]; do
    i=$((SEEN + 1))
    cp "$FX/tiny.tif" "$ROOT/fill-$i.tif"
    expect "filling the last page ($i)" "Create fill-$i.tif"
done
NP=$(pages)
vl_get "$U/cd/pages/$NP.json" >/dev/null
vl_eq "a full last page: $PAGE items, no next" "$PAGE False" \
    "$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(len(d["orderedItems"]), "next" in d)' "$T/body")"
vl_eq "no page after it" 404 "$(vl_get "$U/cd/pages/$((NP + 1)).json")"
cp "$FX/tiny.tif" "$ROOT/fill-more.tif"
expect "one more activity" "Create fill-more.tif"
vl_eq "the next page has it alone" "1 $((NP * PAGE))" \
    "$(curl -s "$U/cd/pages/$((NP + 1)).json" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["orderedItems"]), d["startIndex"])')"
bad=0
for f in "$T"/keep.[0-9]*; do
    case $f in *.etag) continue ;; esac
    n=${f##*.}
    vl_get "$U/cd/pages/$n.json" >/dev/null
    cmp -s "$f" "$T/body" || bad=$((bad + 1))
    [ "$(vl_header ETag)" = "$(cat "$f.etag")" ] || bad=$((bad + 1))
done
vl_eq "earlier pages: same bytes and ETags after the log grew" 0 "$bad"

# ------------------------------------------------------------ harvester
vl_eq "a harvester walking back from last finds the tree" \
    "$(cdpy tree "$ROOT")" "$(cdpy harvest "$COLL")"
vl_eq "the log's activities are the stream's" "$(cat "$T/walk")" \
    "$(cdpy log "$LOGF")"
bad=0 n=0
for url in $(cdpy urls "$COLL"); do
    n=$((n + 1))
    st=$(vl_get "$url")
    [ "$st" = 200 ] || { bad=$((bad + 1)); echo "# $url: $st"; }
done
vl_eq "every live manifest of the stream ($n) answers 200" 0 "$bad"

# ------------------------------------------------------------ ETags
# an unversioned path: the API version follows the Accept profile, the
# stream does not
A2='Accept: application/ld+json;profile="http://iiif.io/api/image/2/context.json"'
A3='Accept: application/ld+json;profile="http://iiif.io/api/image/3/context.json"'
for p in cd/collection.json cd/pages/1.json; do
    vl_get "$U/$p" -H "$A2" >/dev/null
    e2=$(vl_header ETag)
    cp "$T/body" "$T/body.2"
    vl_get "$U/$p" -H "$A3" >/dev/null
    vl_eq "/$p: the same ETag whatever the Accept header" "$e2" \
        "$(vl_header ETag)"
    vl_check "/$p: the same bytes" cmp -s "$T/body.2" "$T/body"
    vl_eq "/$p: 304 on the ETag of the other Accept" 304 \
        "$(vl_get "$U/$p" -H "$A3" -H "If-None-Match: $e2")"
done

# ------------------------------------------------------------ 404s
for p in cd/pages/0.json cd/pages/00.json cd/pages/01.json cd/pages/x.json \
         cd/pages/1.json.x cd/pages/1.jsonx cd/pages/1 cd/pages/ \
         "cd/pages/-1.json" "cd/pages/1%2Ejson" cd/pages/1/2.json \
         "cd/pages/99999999999999999999.json" \
         "cd/pages/$((NP + 2)).json" cd/other.json cd/; do
    vl_eq "/$p: 404" 404 "$(vl_get "$U/$p")"
done
vl_eq "POST: 405" 405 "$(vl_get "$COLL" -X POST)"

# ------------------------------------------------------------ the lock
python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(30)' "$STATE/scan.lock" > "$T/locker.out" &
LOCKER=$!
vl_track "$LOCKER"
for i in $(seq 1 100); do
    grep -q locked "$T/locker.out" 2>/dev/null && break
    sleep 0.05
done
vl_eq "a second scan while one holds the lock: exit 1" 1 "$(scan)"
vl_check "a second scan: says why" grep -q "another scan is running" \
    "$T/scan.err"
kill "$LOCKER" 2>/dev/null
wait "$LOCKER" 2>/dev/null
vl_eq "the lock released: a scan runs" 0 "$(scan)"

# ------------------------------------------------------------ crash safety
# A: the log before a scan; B: after it, with records R. Cut B at every
# byte from the end of A to its end: the next scan completes it, and the
# log then holds exactly A's activities and R's, once each.
cp "$LOGF" "$T/log.A"
A_LEN=$(stat -c %s "$T/log.A")
rm "$ROOT/fill-more.tif"
printf 'y' >> "$ROOT/atlas/02.tif"
cp "$FX/single.tif" "$ROOT/sub/e.tif"
[ "$(scan)" = 0 ] || echo "# the scan of B failed"
cp "$LOGF" "$T/log.B"
B_LEN=$(stat -c %s "$T/log.B")
cdpy log "$T/log.B" > "$T/want.B"
vl_eq "B: the scan's activities" \
    "$(printf '%s\n' "Delete fill-more.tif" "Update atlas" "Create sub/e.tif")" \
    "$(tail -n 3 "$T/want.B")"
# the ends of B's lines after A: a cut there is not inside a record
ENDS=" $(python3 -c 'import sys
d = open(sys.argv[1], "rb").read()
print(" ".join(str(i + 1) for i, c in enumerate(d) if c == 10))' "$T/log.B") "
bad=0 badmsg=0 badlog=0 badstream=0 n=0
mkdir -p "$T/cuts"
for cut in $(seq "$A_LEN" "$B_LEN"); do
    n=$((n + 1))
    head -c "$cut" "$T/log.B" > "$LOGF"
    st=$(scan)
    if [ "$st" != 0 ]; then
        bad=$((bad + 1))
        continue
    fi
    case $ENDS in
        *" $cut "*) ;;
        *) grep -q "removed an incomplete last record" "$T/scan.err" \
               || badmsg=$((badmsg + 1)) ;;
    esac
    cp "$LOGF" "$T/cuts/$cut.log"
    # and nothing is left to do (every 4th cut: the test's time)
    if [ $((n % 4)) = 1 ]; then
        st=$(scan)
        grep -q ': 0 Create, 0 Update, 0 Delete' "$T/scan.out" \
            || bad=$((bad + 1))
    fi
    # the stream, every 16th cut
    if [ $((n % 16)) = 1 ]; then
        cdpy walk "$COLL" "$PAGE" > "$T/walk.c" 2>/dev/null \
            && cmp -s "$T/want.B" "$T/walk.c" || badstream=$((badstream + 1))
    fi
done
# every log left by a recovery: exactly the activities of B, once each
badlog=$(cdpy logs "$T/want.B" "$T"/cuts/*.log | wc -l)
rm -rf "$T/cuts"
vl_eq "crash at each of $n offsets: the next scan succeeds and finishes" 0 "$bad"
vl_eq "crash inside a record: the scan says it removed it" 0 "$badmsg"
vl_eq "crash: exactly A's and B's activities, no duplicate, no loss" 0 "$badlog"
vl_eq "crash: the stream shows them" 0 "$badstream"

# a flipped byte in the middle: the scanner refuses and writes nothing;
# the stream serves the valid prefix
cp "$T/log.B" "$LOGF"
python3 - "$LOGF" <<'EOF'
import sys
data = bytearray(open(sys.argv[1], "rb").read())
start = data.index(b"\n", data.index(b"\n", data.index(b"\n") + 1) + 1) + 1
data[start + 12] ^= 0x01        # in line 4's time
open(sys.argv[1], "wb").write(data)
EOF
cp "$LOGF" "$T/log.flipped"
vl_eq "a flipped byte: the scan exits 1" 1 "$(scan)"
vl_check "a flipped byte: says where" grep -q "damaged at line 4" "$T/scan.err"
vl_check "a flipped byte: the log unchanged" cmp -s "$T/log.flipped" "$LOGF"
PREFIX=$(head -n 3 "$T/log.B" > "$T/log.3"; cdpy log "$T/log.3")
vl_eq "a flipped byte: the stream is the valid prefix" "$PREFIX" \
    "$(cdpy walk "$COLL" "$PAGE")"
vl_check "a flipped byte: the worker logs it" grep -q \
    "Change Discovery log is damaged at line 4" "$T/vellum.log"
cp "$T/log.B" "$LOGF"
vl_eq "repaired: the stream is whole again" "$(cat "$T/want.B")" \
    "$(cdpy walk "$COLL" "$PAGE")"

# ------------------------------------------------------------ scan errors
env -u STATE_DIR FILESYSTEM_PREFIX=$ROOT "$VELLUM" scan >/dev/null \
    2>"$T/scan.err"
vl_eq "scan without STATE_DIR: exit 1" 1 "$?"
vl_check "scan without STATE_DIR: says so" grep -q "STATE_DIR is not set" \
    "$T/scan.err"
"$VELLUM" scan --bogus >/dev/null 2>&1
vl_eq "scan with an unknown argument: exit 2" 2 "$?"

# ------------------------------------------------------------ unreadable
# What cannot be read is kept, never taken for deleted: run as nobody (as
# root everything is readable), else as the user running the test.
NR=$T/nobody/root
NS=$T/nobody/state
mkdir -p "$NR/shut" "$NR/open" "$NS"
cp "$FX/single.tif" "$NR/a.tif"
cp "$FX/single.tif" "$NR/shut/b.tif"
cp "$FX/grey.tif" "$NR/shut/c.tif"
cp "$FX/single.tif" "$NR/open/d.tif"
cp "$FX/grey.tif" "$NR/open/e.tif"
AS=
if [ "$(id -u)" != 0 ]; then
    AS=env
elif command -v setpriv >/dev/null \
        && setpriv --reuid=65534 --regid=65534 --clear-groups true 2>/dev/null
then
    AS="setpriv --reuid=65534 --regid=65534 --clear-groups"
elif command -v runuser >/dev/null && runuser -u nobody -- true 2>/dev/null
then
    AS="runuser -u nobody --"
fi
# nscan [ARGS]: vellum scan of the tree NR into NS (as AS); prints the exit
# status
nscan() {
    ${AS:-env} env FILESYSTEM_PREFIX=$NR STATE_DIR=$NS "$VELLUM" scan "$@" \
        >"$T/scan.out" 2>"$T/scan.err"
    echo $?
}
nlog() {
    cdpy log "$NS/activities.log" | tr '\n' ' ' | sed 's/ $//'
}
if [ -n "$AS" ] && [ "$(id -u)" = 0 ]; then
    chown 65534 "$NS"
    $AS test -r "$VELLUM" -a -x "$NR" -a -w "$NS" || AS=
fi
if [ -z "$AS" ]; then
    vl_skip "unreadable entries are kept" \
        "no way to run as an unprivileged user (setpriv, runuser)"
else
    vl_eq "unreadable: the first scan" 0 "$(nscan)"
    vl_eq "unreadable: five Creates" \
        "Create a.tif Create open/d.tif Create open/e.tif Create shut/b.tif Create shut/c.tif" \
        "$(nlog)"
    chmod 0644 "$NR/shut"
    vl_eq "a folder not enterable: the scan exits 0" 0 "$(nscan)"
    vl_check "a folder not enterable: no Delete" grep -q \
        ': 0 Create, 0 Update, 0 Delete' "$T/scan.out"
    vl_check "a folder not enterable: the scan says why" grep -q \
        "shut: cannot read an entry: Permission denied; what was found under it before is kept" \
        "$T/scan.err"
    vl_check "a folder not enterable: no path in the message" \
        sh -c "! grep -q '$T' '$T/scan.err'"
    chmod 0755 "$NR/shut"
    chmod 0 "$NR/open/e.tif"
    vl_eq "an image mode 000: the scan exits 0" 0 "$(nscan)"
    vl_check "an image mode 000: no Delete" grep -q \
        ': 0 Create, 0 Update, 0 Delete' "$T/scan.out"
    vl_check "an image mode 000: its folder is kept" grep -q \
        "open: cannot read an entry: Permission denied" "$T/scan.err"
    chmod 0644 "$NR/open/e.tif"
    chmod 0 "$NR/a.tif"
    cp "$NS/activities.log" "$T/nlog.before"
    vl_eq "an image mode 000 in the root: the scan exits 1" 1 "$(nscan)"
    vl_check "an image mode 000 in the root: says why" grep -q \
        "cannot list the image root: cannot read an entry" "$T/scan.err"
    vl_check "an image mode 000 in the root: the log unchanged" \
        cmp -s "$T/nlog.before" "$NS/activities.log"
    chmod 0644 "$NR/a.tif"
    vl_eq "readable again: the scan exits 0" 0 "$(nscan)"
    vl_eq "readable again: nothing happened" \
        "Create a.tif Create open/d.tif Create open/e.tif Create shut/b.tif Create shut/c.tif" \
        "$(nlog)"
fi

# ------------------------------------------------------------ mass deletion
[ -f "$NS/activities.log" ] || [ "$(nscan)" = 0 ] || echo "# the scan failed"
cp "$NS/activities.log" "$T/nlog.before"
mv "$NR" "$NR.away"
mkdir "$NR"
vl_eq "an empty root (not mounted): the scan exits 1" 1 "$(nscan)"
vl_check "an empty root: says why, in one line" grep -Eqx \
    "vellum: scan: the image root is empty but the log has 5 manifests \(not mounted\?\); nothing was written; --force records them as deleted" \
    "$T/scan.err"
vl_check "an empty root: the log unchanged" \
    cmp -s "$T/nlog.before" "$NS/activities.log"
mkdir "$NR/new"
cp "$FX/single.tif" "$NR/new/f.tif"
vl_eq "every manifest gone: the scan exits 1" 1 "$(nscan)"
vl_check "every manifest gone: says why" grep -q \
    "the scan would delete all 5 manifests of the log; nothing was written" \
    "$T/scan.err"
vl_eq "--force: the scan exits 0" 0 "$(nscan --force)"
vl_check "--force: the Deletes recorded" grep -q \
    ': 1 Create, 0 Update, 5 Delete' "$T/scan.out"
rm -rf "$NR"
mv "$NR.away" "$NR"
# the only manifest of the log (new/f.tif) would go: every manifest again
vl_eq "the disk back, new/f.tif gone: every manifest of the log, refused" 1 \
    "$(nscan)"
vl_eq "the disk back, forced" 0 "$(nscan --force)"
vl_check "the disk back: its manifests created again" grep -q \
    ': 5 Create, 0 Update, 1 Delete' "$T/scan.out"

# ------------------------------------------------------------ STATE_DIR off
vl_stop_vellum
FILESYSTEM_PREFIX=$ROOT vl_start_vellum --workers 1 || exit 1
vl_eq "STATE_DIR not set: 404" 404 "$(vl_get "$COLL")"
vl_check "STATE_DIR not set: says so" grep -q "STATE_DIR is not set" \
    "$T/body"
vl_eq "STATE_DIR not set: pages 404" 404 "$(vl_get "$U/cd/pages/1.json")"
vl_stop_vellum

# ------------------------------------------------------------ SCAN_INTERVAL
STATE=$T/state2
LOGF=$STATE/activities.log
FILESYSTEM_PREFIX=$ROOT STATE_DIR=$STATE SCAN_INTERVAL=1 \
    DISCOVERY_PAGE_SIZE=$PAGE vl_start_vellum --workers 1 || exit 1
got=
for i in $(seq 1 100); do
    if [ -s "$LOGF" ]; then
        got=$(cdpy walk "$COLL" "$PAGE" 2>/dev/null | wc -l)
        [ "$got" -gt 0 ] && break
    fi
    sleep 0.1
done
vl_eq "SCAN_INTERVAL: the master's scan lists the tree" \
    "$(cdpy tree "$ROOT" | wc -l)" "$got"
cp "$FX/single.tif" "$ROOT/late.tif"
got=
for i in $(seq 1 60); do
    got=$(cdpy walk "$COLL" "$PAGE" 2>/dev/null | tail -n 1)
    [ "$got" = "Create late.tif" ] && break
    sleep 0.1
done
vl_eq "SCAN_INTERVAL: a new file within seconds" "Create late.tif" "$got"
vl_check "SCAN_INTERVAL: the scans are logged" grep -q "scan: scanned" \
    "$T/vellum.log"
vl_stop_vellum
vl_eq "SCAN_INTERVAL: SIGTERM stops the master (exit 0)" 0 \
    "$VL_VELLUM_STATUS"
vl_eq "SCAN_INTERVAL: no scan left running" "" \
    "$(pgrep -f "vellum.*--bind 127.0.0.1:$VL_FCGI_PORT" || true)"

vl_done
