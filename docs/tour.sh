#!/usr/bin/env bash
# Runs the guided tour: every ```sh block of docs/tour.md, in order, in one bash
# (variables carry from block to block), stopping at the first failing command.
# Each block's output follows a "── tour block N ──" line. As root, from anywhere:
#   bash docs/tour.sh              (scratch dir /tmp/tour; TOUR=/other/dir to change it)
set -euo pipefail
cd "$(dirname "$0")/.."
script=$(awk '
  /^```sh$/ { inside = 1; n++; printf "echo \"── tour block %d ──\"\n", n; next }
  /^```/    { inside = 0; next }
  inside    { print }
' docs/tour.md)
exec bash -euo pipefail -c "$script"
