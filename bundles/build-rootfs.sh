#!/usr/bin/env bash
# Builds bundles/busybox/rootfs from Debian's busybox-static: one static
# binary plus a symlink per applet, and the few files a shell expects.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
rootfs="$here/busybox/rootfs"
bb=/bin/busybox
[[ -x $bb ]] || { echo "build-rootfs: $bb not found (apt-get install busybox-static)" >&2; exit 1; }

if [[ -x $rootfs/bin/busybox && $rootfs/bin/busybox -nt $bb ]]; then exit 0; fi
tmp="$(mktemp -d "$here/busybox/.rootfs.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,home,var/www,run}
chmod 1777 "$tmp/tmp"
cp "$bb" "$tmp/bin/busybox"
for applet in $("$bb" --list); do
  [[ $applet == busybox ]] || ln -sf busybox "$tmp/bin/$applet"
done
cat >"$tmp/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
user:x:1000:1000:user:/home:/bin/sh
P
cat >"$tmp/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
user:x:1000:
G
echo '<h1>hello from tsrun</h1>' >"$tmp/var/www/index.html"
touch "$tmp/etc/hosts" "$tmp/etc/resolv.conf" "$tmp/etc/hostname"
rm -rf "$rootfs"
mv "$tmp" "$rootfs"
trap - EXIT
echo "build-rootfs: $rootfs ready" >&2
