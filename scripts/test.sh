#!/usr/bin/env bash
# The whole test suite: set-up, unit and integration tests (root, real kernel),
# then the OCI validation suite against the built tsrun (docs/conformance.md).
# With arguments (test files or vitest flags) only those tests run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

# The podman test once more with runc as podman's runtime: the control that shows
# a failure of the tsrun run is tsrun's. First, so the suite's own summary is last.
if [[ $# -eq 0 && -z ${TSRUN_SKIP_CONTROL:-} ]] && command -v podman >/dev/null && command -v runc >/dev/null; then
  echo "control: test/integration/podman.test.ts with runc as podman's runtime" >&2
  TSRUN_PODMAN_RUNTIME=runc npx vitest run test/integration/podman.test.ts
fi

mkdir -p .tmp
rm -f .tmp/vitest-results.json
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=.tmp/vitest-results.json "$@"
code=$?
set -e
node scripts/test-summary.mjs .tmp/vitest-results.json || code=1
if [[ $# -eq 0 ]]; then
  npm run --silent conformance || code=1
fi
exit "$code"
