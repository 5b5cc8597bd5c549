#!/usr/bin/env bash
# npm run bench [-- --quick | --n N | --only startup,syscalls,cni,plugins,netrun]
# Makes sure what the benchmarks need exists (runc, busybox-static, the reference
# CNI plugins, dist/ and the example bundle: scripts/setup.sh), then runs them.
# Prints tables of tsrun against runc, `node -e 0` and the reference plugins,
# measured in the same run; writes bench/results/latest.json. No time assertions.
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ $(id -u) -ne 0 ]]; then
  echo "bench: run as root (it creates containers, network namespaces and a bridge in a private netns)" >&2
  exit 1
fi
bash scripts/setup.sh >&2
# peak RSS is read with GNU time (Debian package `time`), which setup.sh does not install
if [[ ! -x /usr/bin/time ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends time >/dev/null
fi
for tool in runc ip iptables /usr/bin/time /usr/lib/cni/bridge /usr/lib/cni/host-local /usr/lib/cni/portmap; do
  command -v "$tool" >/dev/null || { echo "bench: $tool not found after setup" >&2; exit 1; }
done
node bench/plugin-exec.mjs "$@"  # one CNI plugin exec: tsrun installed vs reference
exec node bench/main.mjs "$@"
