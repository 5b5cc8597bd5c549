#!/usr/bin/env bash
# Installs what tsrun needs on Debian 12 (as root), installs npm packages,
# compiles to dist/ and builds the example bundle's rootfs.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pkg in busybox-static runc containernetworking-plugins iptables iproute2 strace util-linux procps gcc libc6-dev libseccomp2 podman tmux crun containerd golang-go; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || need+=("$pkg")
done
if ((${#need[@]})); then
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing Debian packages: ${need[*]} (run as root to install them)" >&2
    exit 1
  fi
  echo "setup: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# A system user for the rootless tests (tsrun run by a non-root user).
if [[ $(id -u) -eq 0 ]] && ! id tsrun-rootless >/dev/null 2>&1; then
  useradd --system --no-create-home --shell /usr/sbin/nologin tsrun-rootless
fi

if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build
bash bundles/build-rootfs.sh
