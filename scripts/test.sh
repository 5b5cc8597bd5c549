#!/usr/bin/env bash
# The whole test suite: set-up, then unit and integration tests (root, real kernel).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec npx vitest run "$@"
