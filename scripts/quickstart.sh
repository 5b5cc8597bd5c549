#!/usr/bin/env bash
# Builds everything and runs the example bundle with tsrun.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec node dist/tsrun.js run bundles/busybox
