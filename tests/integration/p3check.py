#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# p3check: checks a IIIF Presentation 3.0 Manifest or Collection served at
# a URL against the rules of the specification that viewers and
# harvesters rely on, and fetches what it points to:
#   p3check.py manifest URL PROBE [--id ID]   a Manifest; every body,
#       thumbnail and service URL is fetched, images are decoded with
#       PROBE (tests/tools/imgprobe) at their declared size, and each
#       service's info.json must carry the service's id and the canvas size
#   p3check.py collection URL PROBE [--deep]  a Collection; with --deep,
#       every referenced Manifest and Collection is checked too
# Prints one line per problem and exits 1 when there is one; prints a
# summary line ("manifest ok: 2 canvases") otherwise.
import json
import subprocess
import sys
import tempfile
import urllib.request

P3 = "http://iiif.io/api/presentation/3/context.json"
P3_MEDIA = 'application/ld+json;profile="http://iiif.io/api/presentation/3/context.json"'
LEFTOVERS = {"@id", "@type", "attribution", "license", "logo", "within",
             "description", "viewingHint", "related", "sequences"}
problems = []


def bad(what):
    problems.append(what)
    print("p3check: " + what)


def fetch(url, accept=None):
    req = urllib.request.Request(url)
    if accept:
        req.add_header("Accept", accept)
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, dict(r.headers), r.read()


def is_uri(v):
    return isinstance(v, str) and (v.startswith("http://")
                                   or v.startswith("https://"))


def langmap(v, where):
    if not isinstance(v, dict) or not v:
        bad("%s: not a language map: %r" % (where, v))
        return
    for k, vals in v.items():
        if not isinstance(k, str) or not k:
            bad("%s: bad language %r" % (where, k))
        if (not isinstance(vals, list) or not vals
                or not all(isinstance(x, str) for x in vals)):
            bad("%s[%s]: values must be an array of strings: %r"
                % (where, k, vals))


def pair(v, where):
    if not isinstance(v, dict) or set(v) != {"label", "value"}:
        bad("%s: not a label/value pair: %r" % (where, v))
        return
    langmap(v["label"], where + ".label")
    langmap(v["value"], where + ".value")


def context(doc, where):
    c = doc.get("@context")
    last = c[-1] if isinstance(c, list) and c else c
    if last != P3:
        bad("%s: @context must be (or end with) %s: %r" % (where, P3, c))
    if list(doc)[0] != "@context":
        bad("%s: @context is not the first key" % where)


def probe(tool, data):
    with tempfile.NamedTemporaryFile() as f:
        f.write(data)
        f.flush()
        out = subprocess.run([tool, f.name], capture_output=True, text=True)
    parts = out.stdout.split()
    if out.returncode != 0 or len(parts) < 3:
        return None
    return int(parts[1]), int(parts[2])


def image(img, where, tool, canvas=None):
    """A content resource of type Image: fetched, decoded at its size."""
    if not isinstance(img, dict):
        bad("%s: not an object" % where)
        return
    for k in ("id", "type", "format", "width", "height"):
        if k not in img:
            bad("%s: no %s" % (where, k))
            return
    if img["type"] != "Image" or not is_uri(img["id"]):
        bad("%s: type %r id %r" % (where, img["type"], img["id"]))
    st, hdr, body = fetch(img["id"])
    if st != 200 or not hdr.get("Content-Type", "").startswith(img["format"]):
        bad("%s: %s -> %s %s" % (where, img["id"], st,
                                  hdr.get("Content-Type")))
    size = probe(tool, body)
    if size != (img["width"], img["height"]):
        bad("%s: %s decodes at %r, declared %dx%d" % (
            where, img["id"], size, img["width"], img["height"]))
    services = img.get("service", [])
    if not isinstance(services, list):
        bad("%s: service is not an array" % where)
        return
    for i, svc in enumerate(services):
        w = "%s.service[%d]" % (where, i)
        if svc.get("type") == "ImageService3":
            sid, v3 = svc.get("id"), True
            if svc.get("profile") not in ("level0", "level1", "level2"):
                bad("%s: profile %r" % (w, svc.get("profile")))
        elif svc.get("@type") == "ImageService2":
            sid, v3 = svc.get("@id"), False
            if not str(svc.get("profile", "")).startswith(
                    "http://iiif.io/api/image/2/level"):
                bad("%s: profile %r" % (w, svc.get("profile")))
        else:
            bad("%s: neither ImageService3 nor ImageService2: %r" % (w, svc))
            continue
        if not is_uri(sid) or sid.endswith("/"):
            bad("%s: id %r" % (w, sid))
            continue
        if img["id"].startswith(sid + "/") is False and i == 0 and v3:
            bad("%s: the image %s is not of its service %s" % (
                where, img["id"], sid))
        st, _, body = fetch(sid + "/info.json")
        info = json.loads(body) if st == 200 else {}
        got = info.get("id" if v3 else "@id")
        if got != sid:
            bad("%s: info.json id %r, service id %r" % (w, got, sid))
        if canvas is not None and (info.get("width"), info.get("height")) \
                != (canvas["width"], canvas["height"]):
            bad("%s: info.json %sx%s, canvas %sx%s" % (
                w, info.get("width"), info.get("height"), canvas["width"],
                canvas["height"]))


def manifest(url, tool, want_id=None):
    st, hdr, body = fetch(url)
    if st != 200:
        bad("%s: status %s" % (url, st))
        return None
    if hdr.get("Content-Type") != P3_MEDIA:
        bad("%s: Content-Type %r" % (url, hdr.get("Content-Type")))
    if hdr.get("Access-Control-Allow-Origin") is None:
        bad("%s: no CORS" % url)
    doc = json.loads(body)
    context(doc, url)
    if doc.get("id") != (want_id or url):
        bad("%s: id %r" % (url, doc.get("id")))
    if doc.get("type") != "Manifest":
        bad("%s: type %r" % (url, doc.get("type")))
    for k in LEFTOVERS & set(doc):
        bad("%s: Presentation 2 leftover %r" % (url, k))
    langmap(doc.get("label"), "label")
    if "summary" in doc:
        langmap(doc["summary"], "summary")
    for i, m in enumerate(doc.get("metadata", [])):
        pair(m, "metadata[%d]" % i)
    if "requiredStatement" in doc:
        pair(doc["requiredStatement"], "requiredStatement")
    if "rights" in doc:
        r = doc["rights"]
        if not (r.startswith("http://creativecommons.org/")
                or r.startswith("http://rightsstatements.org/")):
            bad("rights %r is not a CC or RightsStatements.org URI in "
                "its http:// form" % r)
    for i, p in enumerate(doc.get("provider", [])):
        if p.get("type") != "Agent" or not is_uri(p.get("id")):
            bad("provider[%d]: %r" % (i, p))
        langmap(p.get("label"), "provider[%d].label" % i)
    for key, typ in (("homepage", None), ("seeAlso", None)):
        for i, h in enumerate(doc.get(key, [])):
            if not is_uri(h.get("id")) or "type" not in h:
                bad("%s[%d]: %r" % (key, i, h))
            if key == "homepage":
                langmap(h.get("label"), "homepage[%d].label" % i)
    for i, t in enumerate(doc.get("thumbnail", [])):
        image(t, "thumbnail[%d]" % i, tool)
    items = doc.get("items")
    if not isinstance(items, list) or not items:
        bad("items: no Canvas")
        return doc
    seen = set()
    for ci, c in enumerate(items):
        where = "items[%d]" % ci
        if c.get("type") != "Canvas" or not is_uri(c.get("id")) \
                or "#" in c["id"] or c["id"] in seen:
            bad("%s: type %r id %r" % (where, c.get("type"), c.get("id")))
        seen.add(c.get("id"))
        if not (isinstance(c.get("width"), int)
                and isinstance(c.get("height"), int)
                and c["width"] > 0 and c["height"] > 0):
            bad("%s: width/height %r %r" % (where, c.get("width"),
                                            c.get("height")))
        if "label" in c:
            langmap(c["label"], where + ".label")
        for ti, t in enumerate(c.get("thumbnail", [])):
            image(t, "%s.thumbnail[%d]" % (where, ti), tool)
        pages = c.get("items", [])
        if len(pages) != 1 or pages[0].get("type") != "AnnotationPage" \
                or not is_uri(pages[0].get("id")):
            bad("%s: one AnnotationPage expected: %r" % (where, pages))
            continue
        annos = pages[0].get("items", [])
        if len(annos) != 1:
            bad("%s: one Annotation expected" % where)
            continue
        a = annos[0]
        if a.get("type") != "Annotation" or a.get("motivation") != "painting" \
                or not is_uri(a.get("id")):
            bad("%s.annotation: %r" % (where, {k: a.get(k) for k in
                                               ("type", "motivation", "id")}))
        if a.get("target") != c.get("id"):
            bad("%s.annotation: target %r, canvas %r" % (
                where, a.get("target"), c.get("id")))
        body_ = a.get("body", {})
        image(body_, where + ".body", tool, canvas=c)
        if not body_.get("service"):
            bad("%s.body: no image service" % where)
        if body_.get("width", 0) > c["width"] or \
                body_.get("height", 0) > c["height"]:
            bad("%s.body: larger than its canvas" % where)
    return doc


def collection(url, tool, deep, seen=None):
    seen = set() if seen is None else seen
    if url in seen:
        return None
    seen.add(url)
    st, hdr, body = fetch(url)
    if st != 200:
        bad("%s: status %s" % (url, st))
        return None
    if hdr.get("Content-Type") != P3_MEDIA:
        bad("%s: Content-Type %r" % (url, hdr.get("Content-Type")))
    doc = json.loads(body)
    context(doc, url)
    if doc.get("id") != url or doc.get("type") != "Collection":
        bad("%s: id %r type %r" % (url, doc.get("id"), doc.get("type")))
    langmap(doc.get("label"), url + " label")
    items = doc.get("items")
    if not isinstance(items, list):
        bad("%s: items is not an array" % url)
        return doc
    for i, it in enumerate(items):
        where = "%s items[%d]" % (url, i)
        if it.get("type") not in ("Manifest", "Collection") \
                or not is_uri(it.get("id")):
            bad("%s: %r" % (where, it))
            continue
        langmap(it.get("label"), where + ".label")
        if "items" in it and it["type"] == "Manifest":
            bad("%s: a Manifest must be referenced, not embedded" % where)
        for ti, t in enumerate(it.get("thumbnail", [])):
            image(t, "%s.thumbnail[%d]" % (where, ti), tool)
        if deep:
            if it["type"] == "Manifest":
                m = manifest(it["id"], tool)
                if m is not None and m.get("label") != it.get("label"):
                    bad("%s: label %r, the manifest says %r" % (
                        where, it.get("label"), m.get("label")))
            else:
                collection(it["id"], tool, deep, seen)
    return doc


def main():
    kind, url, tool = sys.argv[1:4]
    rest = sys.argv[4:]
    if kind == "manifest":
        want = rest[rest.index("--id") + 1] if "--id" in rest else None
        doc = manifest(url, tool, want)
        n = len(doc.get("items", [])) if doc else 0
        summary = "manifest ok: %d canvas%s" % (n, "" if n == 1 else "es")
    else:
        doc = collection(url, tool, "--deep" in rest)
        n = len(doc.get("items", [])) if doc else 0
        summary = "collection ok: %d items" % n
    if problems:
        sys.exit(1)
    print(summary)


main()
