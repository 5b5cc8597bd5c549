import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DnsFileView } from './model.js';

// Where a container's /etc/resolv.conf and /etc/hosts are found. The live
// answer is what the container itself sees (/proc/<pid>/root/etc/…), wherever
// the runtime put the file; without a live process, the files the runtime
// wrote: per-container files in its state dir (where bind-mounted ones live)
// or the rootfs's etc/ (where `tsrun hook cni` writes them today). Kept as one
// small function so a change of where the files live is a change here.

export interface DnsPlaces {
  /** a process in the container's mount namespace */
  pid?: number;
  /** <root>/<id> */
  stateDir?: string;
  rootfs?: string;
}

export function dnsFileCandidates(p: DnsPlaces, name: 'resolv.conf' | 'hosts'): string[] {
  const out: string[] = [];
  if (p.pid) out.push(`/proc/${p.pid}/root/etc/${name}`);
  if (p.stateDir) out.push(join(p.stateDir, name));
  if (p.rootfs) out.push(join(p.rootfs, 'etc', name));
  return out;
}

export function readDnsFiles(p: DnsPlaces): DnsFileView[] {
  return (['resolv.conf', 'hosts'] as const).map((name) => {
    const view: DnsFileView = { name: `/etc/${name}` };
    for (const path of dnsFileCandidates(p, name)) {
      try {
        view.text = readFileSync(path, 'utf8');
        view.path = path;
        break;
      } catch {
        // not there: the next place
      }
    }
    return view;
  });
}

/** The nameservers a resolv.conf names. */
export const nameserversOf = (text: string): string[] =>
  text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((w) => w[0] === 'nameserver' && w[1])
    .map((w) => w[1]!);
