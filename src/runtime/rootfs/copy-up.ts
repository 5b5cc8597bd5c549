import { chmodSync, chownSync, copyFileSync, lchownSync, lstatSync, statSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import type { Syscalls } from '../../sys/syscalls.js';
import { mkdirAllInRoot, openInRoot, procFd, withFd } from '../../common/in-root.js';

// `tmpcopyup` (a runc/crun mount option podman adds for --read-only and
// --tmpfs): the new tmpfs starts with a copy of the directory it covers. The
// directory is held by an fd found in the rootfs before the mount; afterwards
// /proc/self/fd/N of it still leads to the covered one, and the new tmpfs is
// found again through the rootfs fd. Files are copied by name only inside
// that fresh tmpfs, which nothing else can see yet. Synchronous only, as
// everything in the init.

export function withCopyUp(sys: Syscalls, rootFd: number, dest: string, mount: (target: string) => void): void {
  withFd(sys, mkdirAllInRoot(sys, rootFd, dest), (under) => {
    mount(procFd(under));
    withFd(sys, openInRoot(sys, rootFd, dest), (fresh) => copyTree(procFd(under), procFd(fresh), true));
  });
}

function copyTree(from: string, to: string, top: boolean): void {
  const st = top ? statSync(from) : lstatSync(from); // the top is /proc/self/fd/N: follow it
  if (st.isDirectory()) {
    if (!top) mkdirSync(to);
    for (const name of readdirSync(from)) copyTree(join(from, name), join(to, name), false);
  } else if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else if (st.isFile()) {
    copyFileSync(from, to);
  } else {
    return; // devices, fifos and sockets are not copied (as runc)
  }
  (top ? chownSync : lchownSync)(to, st.uid, st.gid); // the top is /proc/self/fd/N: follow it
  if (!st.isSymbolicLink()) {
    chmodSync(to, st.mode & 0o7777);
    utimesSync(to, st.atime, st.mtime);
  }
}
