import { readFileSync } from 'node:fs';
import { secureJoin } from '../common/secure-join.js';
import type { User } from '../spec/types.js';
import { imageError } from './errors.js';

// The image config's User ("1000", "1000:100", "app", "app:staff", "app:100")
// as process.user. Names are looked up in the rootfs's /etc/passwd and
// /etc/group, which are opened through secureJoin so a symlink in the image
// cannot make us read a host file. Like docker, a user's supplementary groups
// come from /etc/group.

interface PasswdLine {
  name: string;
  uid: number;
  gid: number;
}
interface GroupLine {
  name: string;
  gid: number;
  members: string[];
}

function readTable(rootfs: string, file: string): string[][] {
  try {
    return readFileSync(secureJoin(rootfs, file), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':'));
  } catch {
    return [];
  }
}

const isNum = (s: string): boolean => /^\d+$/.test(s);

function passwd(rootfs: string): PasswdLine[] {
  return readTable(rootfs, '/etc/passwd')
    .filter((f) => f.length >= 4 && isNum(f[2]!) && isNum(f[3]!))
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
}

function groups(rootfs: string): GroupLine[] {
  return readTable(rootfs, '/etc/group')
    .filter((f) => f.length >= 3 && isNum(f[2]!))
    .map((f) => ({ name: f[0]!, gid: Number(f[2]), members: (f[3] ?? '').split(',').filter(Boolean) }));
}

export function resolveUser(rootfs: string, spec: string | undefined): User {
  if (!spec) return { uid: 0, gid: 0 };
  const [userPart, groupPart] = spec.split(':', 2) as [string, string | undefined];
  const users = passwd(rootfs);
  const entry = isNum(userPart) ? users.find((u) => u.uid === Number(userPart)) : users.find((u) => u.name === userPart);
  if (!entry && !isNum(userPart)) {
    throw imageError(`image config User "${spec}": no user "${userPart}" in the image's /etc/passwd`);
  }
  const uid = entry?.uid ?? Number(userPart);
  let gid = entry?.gid ?? 0;
  const table = groups(rootfs);
  if (groupPart !== undefined && groupPart !== '') {
    if (isNum(groupPart)) gid = Number(groupPart);
    else {
      const g = table.find((x) => x.name === groupPart);
      if (!g) throw imageError(`image config User "${spec}": no group "${groupPart}" in the image's /etc/group`);
      gid = g.gid;
    }
  }
  const user: User = { uid, gid };
  if (entry && groupPart === undefined) {
    const extra = table.filter((g) => g.members.includes(entry.name) && g.gid !== gid).map((g) => g.gid);
    if (extra.length) user.additionalGids = [...new Set(extra)];
  }
  return user;
}
