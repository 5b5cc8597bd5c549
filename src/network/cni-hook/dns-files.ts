import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TsrunError } from '../../errors.js';
import type { CniResult, Dns } from '../cni/result/types.js';

// /etc/resolv.conf and /etc/hosts for a container, from its CNI results.
// Rendering is pure; the files are written into the container's own directory
// and bind-mounted over the image's (etc-mounts.ts): the bundle is never written.

export const HOST_RESOLV_CONF = '/etc/resolv.conf';

/** The container's addresses (without prefix length), from any result version. */
export function addressesOf(result: CniResult): string[] {
  if ('ips' in result && result.ips) return result.ips.map((ip) => ip.address.split('/')[0]!);
  const r = result as { ip4?: { ip: string }; ip6?: { ip: string } };
  return [r.ip4?.ip, r.ip6?.ip].filter((a): a is string => !!a).map((a) => a.split('/')[0]!);
}

const isLoopback = (ns: string): boolean => ns.startsWith('127.') || ns === '::1' || ns === '0:0:0:0:0:0:0:1';

/** The host's resolv.conf without loopback nameservers (a host stub resolver is unreachable from a netns). */
export function hostDns(text: string): Dns {
  const dns: { nameservers: string[]; search: string[]; options: string[]; domain?: string } = { nameservers: [], search: [], options: [] };
  for (const line of text.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'nameserver' && rest[0] && !isLoopback(rest[0])) dns.nameservers.push(rest[0]);
    else if (key === 'search') dns.search = rest;
    else if (key === 'domain' && rest[0]) dns.domain = rest[0];
    else if (key === 'options') dns.options.push(...rest);
  }
  return dns;
}

/** The DNS of the first result that names nameservers (as podman picks); the host's (minus loopback) otherwise. */
export function chooseDns(results: CniResult[], readHost: () => string = () => readFileSync(HOST_RESOLV_CONF, 'utf8')): Dns {
  const first = results.find((r) => r.dns?.nameservers?.length);
  if (first?.dns) return first.dns;
  let text = '';
  try {
    text = readHost();
  } catch {
    // no host resolv.conf: the container gets none either
  }
  return hostDns(text);
}

export function renderResolvConf(dns: Dns): string {
  const lines = ['# written by tsrun hook cni'];
  for (const ns of dns.nameservers ?? []) lines.push(`nameserver ${ns}`);
  const search = [...(dns.domain ? [dns.domain] : []), ...(dns.search ?? [])].filter((s, i, a) => a.indexOf(s) === i);
  if (search.length) lines.push(`search ${search.join(' ')}`);
  if (dns.options?.length) lines.push(`options ${dns.options.join(' ')}`);
  return lines.join('\n') + '\n';
}

/** localhost, then each address of the container with its names (hostname, then id). */
export function renderHosts(names: (string | undefined)[], addresses: string[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback'];
  const own = names.filter((n, i): n is string => !!n && names.indexOf(n) === i);
  if (own.length) for (const a of addresses) lines.push(`${a}\t${own.join(' ')}`);
  return lines.join('\n') + '\n';
}

/**
 * Writes resolv.conf and hosts into `dir` (the container's own directory, never
 * the rootfs): temp files first, then both renames, so a failure leaves no half.
 */
export function writeNetworkFiles(dir: string, files: { resolvConf: string; hosts: string }): void {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const plan = [
    { name: 'resolv.conf', text: files.resolvConf },
    { name: 'hosts', text: files.hosts },
  ].map((f) => ({ ...f, final: join(dir, f.name), tmp: join(dir, `.${f.name}.tsrun-${process.pid}`) }));
  try {
    for (const f of plan) writeFileSync(f.tmp, f.text, { mode: 0o644, flag: 'w' });
    for (const f of plan) renameSync(f.tmp, f.final);
  } catch (err) {
    for (const f of plan) rmSync(f.tmp, { force: true });
    throw new TsrunError('SYSCALL', `write ${dir}/resolv.conf and hosts: ${(err as Error).message}`, { errno: (err as NodeJS.ErrnoException).code, cause: err });
  }
}
