import { chmodSync, closeSync, copyFileSync, lchownSync, lstatSync, statSync, mkdirSync, openSync, readdirSync, readlinkSync, symlinkSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

// `tmpcopyup` (a runc/crun mount option podman adds for --read-only and
// --tmpfs): the new tmpfs starts with a copy of the directory it covers. The
// directory is opened before the mount; afterwards /proc/self/fd/N still
// leads to the covered one. Synchronous only, as everything in the init.

export function withCopyUp(dest: string, mount: () => void): void {
  const fd = openSync(dest, 'r');
  try {
    mount();
    copyTree(`/proc/self/fd/${fd}`, dest, true);
  } finally {
    closeSync(fd);
  }
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
  lchownSync(to, st.uid, st.gid);
  if (!st.isSymbolicLink()) {
    chmodSync(to, st.mode & 0o7777);
    utimesSync(to, st.atime, st.mtime);
  }
}
