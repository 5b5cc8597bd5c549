import { spawnSync } from 'node:child_process';
import { SocketNetlinkOpener } from '../rtnetlink/socket.js';
import type { Syscalls } from '../../sys/syscalls.js';
import type { ShowDeps } from './collect.js';

export { collect } from './collect.js';
export { renderText } from './text.js';
export { renderMermaid } from './mermaid.js';
export type { NetView } from './model.js';

/** iptables-save of one family (the nat and filter tables), or undefined when that family has no iptables. */
export function iptablesSave(family: 4 | 6): string | undefined {
  const r = spawnSync(family === 4 ? 'iptables-save' : 'ip6tables-save', [], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout : undefined;
}

/** The real kernel: rtnetlink sockets through Syscalls, iptables-save. */
export const realShowDeps = (sys: Syscalls): ShowDeps => ({ netlink: new SocketNetlinkOpener(sys), iptablesSave });
