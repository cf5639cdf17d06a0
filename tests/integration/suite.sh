# SPDX-License-Identifier: MIT
# suite.sh: sourced after lib.sh. vl_front_suite BASE: the one request suite
# every shipped web server configuration must pass (t_fronts, t_apache,
# t_lighttpd), BASE being the /iiif prefix of the front, e.g.
# http://127.0.0.1:8080/iiif. The fixtures must be FILESYSTEM_PREFIX.

vl_json() {    # vl_json KEY: a top-level field of $T/body
    python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get(sys.argv[2], ""))' "$T/body" "$1" 2>/dev/null
}

vl_img_size() {    # the WxH of the image in $T/body
    python3 - "$T/body" <<'EOP' 2>/dev/null
import struct, sys
d = open(sys.argv[1], "rb").read()
if d[:8] == b"\x89PNG\r\n\x1a\n":
    print("%dx%d" % struct.unpack(">II", d[16:24]))
elif d[:2] == b"\xff\xd8":
    i = 2
    while i < len(d):
        m = d[i + 1]
        n = struct.unpack(">H", d[i + 2:i + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            h, w = struct.unpack(">HH", d[i + 5:i + 9])
            print("%dx%d" % (w, h))
            break
        i += 2 + n
EOP
}

vl_front_suite() {
    local B=$1 L=${2:-front} st id etag
    id=sub%2Fdir%2Fnested.tif

    st=$(vl_get "$B/3/$id/info.json")
    vl_eq "$L: v3 info.json of a %2F identifier: 200" 200 "$st"
    vl_eq "$L: v3 info.json: id" "$B/3/$id" "$(vl_json id)"
    vl_eq "$L: v3 info.json: @context" http://iiif.io/api/image/3/context.json "$(vl_json @context)"
    vl_eq "$L: v3 info.json: width" 333 "$(vl_json width)"
    etag=$(vl_header ETag)
    st=$(vl_get "$B/3/$id/info.json" -H "If-None-Match: $etag")
    vl_eq "$L: If-None-Match: 304" 304 "$st"

    st=$(vl_get "$B/2/$id/info.json")
    vl_eq "$L: v2 info.json: 200" 200 "$st"
    vl_eq "$L: v2 info.json: @id" "$B/2/$id" "$(vl_json @id)"
    vl_eq "$L: v2 info.json: @context" http://iiif.io/api/image/2/context.json "$(vl_json @context)"

    st=$(vl_get "$B/3/rgb-deflate.tif/0,0,256,256/256,/0/default.jpg")
    vl_eq "$L: a tile: 200" 200 "$st"
    vl_eq "$L: a tile: image/jpeg" image/jpeg "$(vl_header Content-Type)"
    vl_eq "$L: a tile: 256x256" 256x256 "$(vl_img_size)"
    st=$(vl_get "$B/3/$id/10,20,100,50/max/0/default.png")
    vl_eq "$L: a region: 200" 200 "$st"
    vl_eq "$L: a region: image/png" image/png "$(vl_header Content-Type)"
    vl_eq "$L: a region: 100x50" 100x50 "$(vl_img_size)"

    st=$(vl_get "$B/3/no-such-image.tif/info.json")
    vl_eq "$L: missing: 404" 404 "$st"
    vl_eq "$L: missing: CORS" "*" "$(vl_header Access-Control-Allow-Origin)"

    # HEAD: the headers of the GET (its Content-Length) and no body
    st=$(python3 - "$B/3/$id/info.json" <<'EOP'
import http.client, sys, urllib.parse
u = urllib.parse.urlsplit(sys.argv[1])
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
c.request("HEAD", u.path)
r = c.getresponse()
body = r.read()
print(r.status, r.getheader("Content-Length"), len(body))
EOP
)
    vl_get "$B/3/$id/info.json" >/dev/null
    # a Content-Length, when the front passes it on (Apache's proxy_fcgi
    # drops it from HEAD answers, which HTTP allows), is the GET's
    case $st in
    "200 None 0") vl_eq "$L: HEAD: 200, no body" "200 None 0" "$st" ;;
    *) vl_eq "$L: HEAD: 200, the GET's length, no body" "200 $(wc -c < "$T/body") 0" "$st" ;;
    esac

    st=$(vl_get "$B/3/$id/info.json" -X OPTIONS -H "Origin: https://viewer.example.org" \
        -H "Access-Control-Request-Method: GET")
    vl_eq "$L: OPTIONS preflight: 204" 204 "$st"
    vl_check "$L: OPTIONS preflight: allows GET" sh -c "echo '$(vl_header Access-Control-Allow-Methods)' | grep -q GET"

    st=$(vl_get "$B/3/$id")
    vl_eq "$L: base URI: 303" 303 "$st"
    vl_eq "$L: base URI: Location" "$B/3/$id/info.json" "$(vl_header Location)"
}
