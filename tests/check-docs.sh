#!/bin/sh
# SPDX-License-Identifier: MIT
#
# check-docs: the documentation keeps up with the binary. Every configuration
# variable and every command-line flag that `vellum --help` prints must be in
# README.md and man/vellum.8 (variables in table order in both), and the
# README's quick start shows the two quickstart commands. Run by make check
# with VL_TOP_SRCDIR and VL_TOP_BUILDDIR set; prints "N passed, M failed".
set -eu

top_src=${VL_TOP_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
top_build=${VL_TOP_BUILDDIR:-$top_src}
vellum="$top_build/src/vellum"
readme="$top_src/README.md"
man="$top_src/man/vellum.8"

pass=0
fail=0

ok() {
    pass=$((pass + 1))
}

bad() {
    fail=$((fail + 1))
    printf 'FAIL: %s\n' "$*"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -x "$vellum" ]; then
    echo "check-docs: $vellum not built"
    exit 99
fi
"$vellum" --help >"$tmp/help" 2>&1 || true

# Option names: the first word of the lines indented by exactly two spaces
# in the "Configuration" section of --help (vl_conf_print_help).
awk '
    /^Configuration/ { inconf = 1; next }
    inconf && /^[^ ]/ { inconf = 0 }
    inconf && /^  [A-Z][A-Z0-9_]*/ { print $1 }
' "$tmp/help" >"$tmp/options"
if [ -s "$tmp/options" ]; then
    ok
else
    bad "vellum --help shows no Configuration section with options"
fi

# the ENVIRONMENT section of the man page, and README's configuration table
awk '/^\.SH "?ENVIRONMENT/ { on = 1; next } /^\.SH/ { on = 0 } on' "$man" \
    >"$tmp/man-env"
awk '/^## Configuration reference/ { on = 1; next } /^## / { on = 0 } on' \
    "$readme" >"$tmp/readme-conf"

# An option is defined by ".B NAME" in the man page's ENVIRONMENT section and
# by a "| `NAME` |" row in README's table; each must come after the previous.
man_pos=0
readme_pos=0
first_line() {
    grep -n -E -- "$1" "$2" | head -n 1 | cut -d: -f1
}

while IFS= read -r name; do
    if grep -q -w -- "$name" "$readme"; then ok; else
        bad "$name (from vellum --help) is not in README.md"
    fi
    if grep -q -w -- "$name" "$man"; then ok; else
        bad "$name (from vellum --help) is not in man/vellum.8"
    fi
    line=$(first_line "^\\.B $name\$" "$tmp/man-env")
    if [ -n "$line" ] && [ "$line" -gt "$man_pos" ]; then
        man_pos=$line
        ok
    else
        bad "$name is missing from the man page's ENVIRONMENT section or out of table order"
    fi
    line=$(first_line "^\\| \`$name\` \\|" "$tmp/readme-conf")
    if [ -n "$line" ] && [ "$line" -gt "$readme_pos" ]; then
        readme_pos=$line
        ok
    else
        bad "$name is missing from README's Configuration reference or out of table order"
    fi
done <"$tmp/options"

# command-line flags that --help mentions
grep -o -- '--[a-z][a-z-]*' "$tmp/help" | sort -u >"$tmp/flags" || true
while IFS= read -r flag; do
    if grep -q -- "$flag" "$readme"; then ok; else
        bad "$flag (from vellum --help) is not in README.md"
    fi
    # roff may escape the dashes: \-\-bind
    esc=$(printf '%s' "$flag" | sed 's/-/\\-/g')
    if grep -q -F -e "$flag" -e "$esc" "$man"; then ok; else
        bad "$flag (from vellum --help) is not in man/vellum.8"
    fi
done <"$tmp/flags"

# the quick start at the top of the README shows the two commands
awk '/^## Quick start/ { on = 1; next } /^## / { on = 0 } on' "$readme" \
    >"$tmp/quick"
for cmd in "./quickstart demo" "./quickstart test"; do
    if grep -q -F -- "$cmd" "$tmp/quick"; then ok; else
        bad "README's Quick start does not show '$cmd'"
    fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
