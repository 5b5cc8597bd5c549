#!/usr/bin/env bash
# Builds everything, then runs the busybox bundle on a CNI network of its own:
# bundles/net.d/10-tsrun-demo.conflist (bridge tsrun-demo0 + host-local on the
# private 10.199.77.0/24), read through --conf-dir (nothing is written into
# /etc/cni/net.d). The container prints its address and pings its gateway (the
# bridge); when it exits tsrun has removed its veth, address, netns handle and
# cache entry, and this script removes the demo's bridge and IPAM directory.
# QUICKSTART_SKIP_SETUP=1 skips the build; TSRUN_ROOT sets tsrun's --root.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -n ${QUICKSTART_SKIP_SETUP:-} ]] || bash scripts/setup.sh
status=0
node dist/tsrun.js ${TSRUN_ROOT:+--root "$TSRUN_ROOT"} run --net tsrun-demo --conf-dir bundles/net.d bundles/busybox-net || status=$?
ip link del tsrun-demo0 2>/dev/null || true
ipam=/var/lib/cni/networks/tsrun-demo
if [[ -d $ipam ]] && ! ls "$ipam" | grep -q '^[0-9]'; then rm -rf "$ipam"; fi
exit "$status"
