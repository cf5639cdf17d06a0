# SPDX-License-Identifier: MIT
# lib.sh: what the fuzz scripts share (sourced by replay.sh, run.sh,
# t_fuzz.sh): the targets, and the seed inputs generated from the tests'
# own inputs. Needs VL_TOP_SRCDIR (and VL_FIXTURES for the image seeds).

FUZZ_TARGETS=${VL_FUZZ_TARGETS:-"iiif route plan fcgi_env jp2box tiff jp2 flat describe handler"}
FUZZ_SRC="$VL_TOP_SRCDIR/tests/fuzz"

# fuzz_put DIR NAME TEXT: one seed (printf %b escapes in TEXT)
fuzz_put() {
    printf '%b' "$3" >"$1/$2"
}

# The request paths the unit and integration tests send, one a line,
# without a leading "/iiif/" or "/": the IIIF grammar as the tests use it.
fuzz_test_paths() {
    cat "$VL_TOP_SRCDIR"/tests/unit/test_*.c \
        "$VL_TOP_SRCDIR"/tests/integration/*.sh \
        "$VL_TOP_SRCDIR"/tests/integration/*.py 2>/dev/null \
        | grep -oE '"[^" ]*(/info\.json|/manifest(\.json)?|/[a-z]+\.(jpg|png|webp|tif|gif|jp2|pdf))"' \
        | tr -d '"' | sed -e 's|^https\?://[^/]*||' -e 's|^/iiif/||' \
              -e 's|^/||' -e 's|^\$[A-Za-z_{}]*/||' \
        | grep -v '^$' | LC_ALL=C sort -u | head -n 400
}

# fuzz_seeds DIR: write the generated seeds of every target into
# DIR/TARGET/ (made afresh). The fixture images are not copied: the
# source targets take $VL_FIXTURES (and its flat/) as corpora directly.
fuzz_seeds() {
    local dir=$1 t i p f
    rm -rf "$dir"
    for t in $FUZZ_TARGETS; do
        mkdir -p "$dir/$t"
    done
    i=0
    fuzz_test_paths >"$dir/paths.txt"
    while IFS= read -r p; do
        i=$((i + 1))
        printf '3%s' "$p" >"$dir/iiif/t$i"
        printf '2%s' "$p" >"$dir/iiif/t$i-v2"
        printf '%s' "$p" >"$dir/route/t$i"
        # plan: a 1001x737 pyramid of 256 tiles, then the parameters
        f=$(printf '%s' "$p" | awk -F/ 'NF >= 4 { print $(NF-3) "/" $(NF-2) "/" $(NF-1) "/" $NF }')
        if [ -n "$f" ]; then
            printf '\000\000\003\351\000\000\002\341\001\000\000\010\023\210\023\210\377\377%s' \
                "$f" >"$dir/plan/t$i"
        fi
        printf '%s' "$p" >"$dir/handler/t$i"
    done <"$dir/paths.txt"
    rm -f "$dir/paths.txt"
    # handler: each fixture with the requests a viewer makes
    if [ -n "${VL_FIXTURES:-}" ] && [ -d "$VL_FIXTURES" ]; then
        i=0
        for f in "$VL_FIXTURES"/*; do
            [ -f "$f" ] || continue
            i=$((i + 1))
            f=${f##*/}
            printf '%s/info.json' "$f" >"$dir/handler/f$i-info"
            printf '%s/0,0,256,256/128,/0/default.jpg' "$f" >"$dir/handler/f$i-tile"
            printf '%s/full/64,/90/gray.png' "$f" >"$dir/handler/f$i-small"
        done
    fi
    # fcgi_env: the parameters the shipped web server configurations send
    fuzz_put "$dir/fcgi_env" nginx '127.0.0.1/8\nREQUEST_METHOD=GET\nREQUEST_URI=/iiif/a.tif/full/max/0/default.jpg\nQUERY_STRING=\nHTTP_HOST=example.org\nREMOTE_ADDR=127.0.0.1\nHTTP_X_FORWARDED_FOR=203.0.113.9, 10.0.0.1\nHTTPS=on'
    fuzz_put "$dir/fcgi_env" iiif-arg '\nREQUEST_METHOD=HEAD\nQUERY_STRING=x=1&IIIF=%2Fa%2Fb.tif/info.json\nREQUEST_URI=/fcgi-bin/vellum?IIIF=%2Fa%2Fb.tif/info.json\nSERVER_NAME=images.example.org\nHTTP_IF_NONE_MATCH="abc", W/"def"\nHTTP_IF_MODIFIED_SINCE=Sun, 06 Nov 1994 08:49:37 GMT\nIIIF_VERSION=2'
    fuzz_put "$dir/fcgi_env" fwd '10.0.0.0/8 ::1/128, fc00::/7\nREQUEST_METHOD=OPTIONS\nREQUEST_URI=/img/x/info.json?y\nHTTP_X_FORWARDED_PROTO=https\nHTTP_X_FORWARDED_HOST=a.example, b.example\nHTTP_X_FORWARDED_PREFIX=/p/\nHTTP_X_IIIF_ID=https://ex.org/id\nREMOTE_ADDR=::1\nHTTP_ACCEPT=application/ld+json;profile="http://iiif.io/api/image/3/context.json"\nREQUEST_SCHEME=https'
    # describe: identifiers a client may send, plain and hostile
    i=0
    for p in book.tif 'name%20with%20space.tif' 'a%22b%3Cc%3E' 'x%23y%3Fz' \
        '%C3%A9t%C3%A9' 'a b' 'q"<>' 'tab%09x' '%7Bid%7D' "it's"; do
        i=$((i + 1))
        for f in '\000' '\001' '\002' '\003' '\004' '\010' '\014' '\016'; do
            printf "$f%s" "$p" >"$dir/describe/i$i-$(printf '%s' "$f" | tr -d '\\')"
        done
    done
    # jp2box: the smallest JP2 (signature, ftyp, jp2h with ihdr and
    # colr, jp2c with SOC) and a raw codestream start
    fuzz_put "$dir/jp2box" min '\000\000\000\014jP  \r\n\207\n\000\000\000\024ftypjp2 \000\000\000\000jp2 \000\000\000\055jp2h\000\000\000\026ihdr\000\000\000\001\000\000\000\001\000\003\007\007\000\000\000\000\000\017colr\001\000\000\000\000\000\020\000\000\000\012jp2c\377\117'
    fuzz_put "$dir/jp2box" raw '\377\117\377\121\000\051'
}
