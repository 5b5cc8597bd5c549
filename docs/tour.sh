#!/usr/bin/env bash
# Runs the guided tour: every ```sh block of docs/tour.md, in order, in one bash
# (variables carry from block to block), stopping at the first failing command.
# Each block's output follows a "── tour block N ──" line. As root, from anywhere:
#   bash docs/tour.sh              (scratch dir /tmp/tour; TOUR=/other/dir to change it)
#   bash docs/tour.sh --check      (only check the page's fences; TOUR_MD=FILE to check another page)
# Only a fence that is exactly ```sh runs. So that no command block is ever
# skipped in silence, the page is refused when it has a fence in another shell
# language (```bash, ```shell, ```console…), a ```sh fence that is indented or
# has more after "sh", or a fence with no language (output is ```text).
set -euo pipefail
cd "$(dirname "$0")/.."
page=${TOUR_MD:-docs/tour.md}
script=$(awk -v page="$page" '
  /^[ \t]*(```|~~~)/ {
    if (open) { open = 0; inside = 0; next }
    open = 1
    if ($0 == "```sh") { inside = 1; n++; printf "echo \"── tour block %d ──\"\n", n; next }
    lang = $0; sub(/^[ \t]*(```|~~~)[ \t]*/, "", lang); sub(/[ \t{,].*/, "", lang); lang = tolower(lang)
    if (lang == "") bad = bad sprintf("%s:%d: a fence without a language (label output ```text, commands ```sh)\n", page, NR)
    else if (lang ~ /^(sh|bash|shell|console|zsh|ksh|dash|fish|terminal|shellsession|shell-session|sh-session|bash-session)$/)
      bad = bad sprintf("%s:%d: %s would not run: the tour runs only blocks fenced exactly ```sh\n", page, NR, $0)
    next
  }
  inside { print }
  END { if (bad != "") { printf "%s", bad > "/dev/stderr"; exit 1 } }
' "$page")
if [ "${1:-}" = --check ]; then exit 0; fi
exec bash -euo pipefail -c "$script"
