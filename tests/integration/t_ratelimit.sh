#!/bin/bash
# SPDX-License-Identifier: MIT
# t_ratelimit: RATE_LIMIT (issue 14) behind a real nginx, two workers: the
# exact X-RateLimit-* values over a sequence of requests shared by both
# workers, 429 with Retry-After past the limit, a client of its own per
# X-Forwarded-For address from a trusted proxy, a new window after
# RATE_LIMIT_WINDOW, a spoofed X-Forwarded-For from an untrusted peer not
# honoured; off by default.
[ -n "$BASH_VERSION" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"
vl_setup t_ratelimit

PY=/usr/bin/python3
HOSTILE=$VL_TOP_SRCDIR/tests/integration/hostile.py
LIMIT=30
WINDOW=8
INFO=/iiif/3/bg.tif/info.json

# off by default
vl_start_vellum --workers 1 || { vl_check "vellum starts" false; vl_done; }
VL_NGINX_KEEPALIVE=off vl_start_nginx || { vl_check "nginx starts" false; vl_done; }
vl_eq "off by default: 200" 200 "$(vl_get "$VL_URL$INFO")"
vl_eq "off by default: no X-RateLimit-Limit" "" "$(vl_header X-RateLimit-Limit)"
vl_stop_vellum

printf 'RATE_LIMIT=%s\nRATE_LIMIT_WINDOW=%s\nTHREADS=2\n' "$LIMIT" "$WINDOW" \
    > "$T/rate.conf"
vl_start_vellum --workers 2 --config "$T/rate.conf" \
    || { vl_check "vellum starts" false; vl_done; }

# LIMIT requests of one client (nginx on 127.0.0.1 is a trusted proxy, so
# X-Forwarded-For names the client): remaining counts down by one whatever
# worker answers, one reset for all
seq_ok=1
reset=
pids=
for i in $(seq 1 "$LIMIT"); do
    code=$(vl_get "$VL_URL$INFO" -H "X-Forwarded-For: 192.0.2.10")
    rem=$(vl_header X-RateLimit-Remaining)
    lim=$(vl_header X-RateLimit-Limit)
    r=$(vl_header X-RateLimit-Reset)
    [ -z "$reset" ] && reset=$r
    if [ "$code" != 200 ] || [ "$rem" != $((LIMIT - i)) ] \
        || [ "$lim" != "$LIMIT" ] || [ "$r" != "$reset" ]; then
        echo "# request $i: $code limit $lim remaining $rem reset $r"
        seq_ok=0
    fi
    id=$(vl_header X-Request-Id)
    pids="$pids ${id%%-*}"
done
vl_check "$LIMIT requests: 200, Limit $LIMIT, Remaining $((LIMIT - 1))..0, one Reset" \
    test "$seq_ok" = 1
now=$(date +%s)
vl_check "Reset is the Unix time the window ends (now..now+$WINDOW)" \
    test "$reset" -ge "$((now - 1))" -a "$reset" -le "$((now + WINDOW))"
nworkers=$(echo "$pids" | tr ' ' '\n' | sort -u | grep -c .)
vl_check "the sequence was served by both workers ($nworkers)" \
    test "$nworkers" = 2

code=$(vl_get "$VL_URL$INFO" -H "X-Forwarded-For: 192.0.2.10")
vl_eq "request $((LIMIT + 1)): 429" 429 "$code"
vl_eq "429: Remaining 0" 0 "$(vl_header X-RateLimit-Remaining)"
vl_eq "429: Limit" "$LIMIT" "$(vl_header X-RateLimit-Limit)"
vl_eq "429: the same Reset" "$reset" "$(vl_header X-RateLimit-Reset)"
ra=$(vl_header Retry-After)
vl_check "429: Retry-After 1..$WINDOW ($ra)" \
    test "$ra" -ge 1 -a "$ra" -le "$WINDOW"
vl_eq "429: a one-line reason" "rate limit exceeded" "$(cat "$T/body")"
vl_eq "429: CORS, so a viewer's script sees it" "*" \
    "$(vl_header Access-Control-Allow-Origin)"
vl_eq "429: the headers exposed to scripts" \
    "X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After" \
    "$(vl_header Access-Control-Expose-Headers)"
vl_eq "another client: its own count" "$((LIMIT - 1))" \
    "$(vl_get "$VL_URL$INFO" -H "X-Forwarded-For: 192.0.2.11" >/dev/null;
       vl_header X-RateLimit-Remaining)"

# a spoofed X-Forwarded-For from a peer that is no trusted proxy: the
# peer is the client, whatever the header says
for x in 198.51.100.1 198.51.100.2 198.51.100.3; do
    "$PY" "$HOSTILE" fcgi 127.0.0.1 "$VL_FCGI_PORT" 203.0.113.9 "$x" \
        /bg.tif/info.json > "$T/raw.$x"
done
vl_eq "untrusted peer: 200 straight from the socket" "Status: 200 OK" \
    "$(head -1 "$T/raw.198.51.100.3" | tr -d '\r')"
vl_eq "untrusted peer: X-Forwarded-For not honoured (one count)" \
    "X-RateLimit-Remaining: $((LIMIT - 3))" \
    "$(grep -i '^X-RateLimit-Remaining' "$T/raw.198.51.100.3" | tr -d '\r')"

# after the window: a new one
while [ "$(date +%s)" -lt "$((reset))" ]; do
    sleep 0.2
done
code=$(vl_get "$VL_URL$INFO" -H "X-Forwarded-For: 192.0.2.10")
vl_eq "after the window: 200" 200 "$code"
vl_eq "after the window: Remaining $((LIMIT - 1))" "$((LIMIT - 1))" \
    "$(vl_header X-RateLimit-Remaining)"
vl_check "after the window: a later Reset" \
    test "$(vl_header X-RateLimit-Reset)" -gt "$reset"

# TRUSTED_PROXIES without nginx's address: the header is not honoured
vl_stop_vellum
printf 'TRUSTED_PROXIES=10.0.0.1\n' >> "$T/rate.conf"
vl_start_vellum --workers 2 --config "$T/rate.conf" \
    || { vl_check "vellum starts again" false; vl_done; }
vl_get "$VL_URL$INFO" -H "X-Forwarded-For: 192.0.2.20" >/dev/null
vl_get "$VL_URL$INFO" -H "X-Forwarded-For: 192.0.2.21" >/dev/null
vl_eq "TRUSTED_PROXIES=10.0.0.1: nginx's X-Forwarded-For not honoured" \
    "$((LIMIT - 2))" "$(vl_header X-RateLimit-Remaining)"

vl_done
