import { execaSync } from 'execa';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

// Helpers for network integration tests: run iproute2/iptables to observe and
// clean up. Only names the calling test created are ever passed in.

export const isRoot = process.getuid?.() === 0;

/** Runs a command; returns stdout, or throws with its stderr. */
export function sh(cmd: string, args: string[]): string {
  return execaSync(cmd, args).stdout;
}

/** Runs a command and reports whether it succeeded (for probes like ping). */
export function ok(cmd: string, args: string[]): boolean {
  return execaSync(cmd, args, { reject: false }).exitCode === 0;
}

export function inNetns(netns: string, cmd: string[]): string {
  return sh('ip', ['netns', 'exec', netns, ...cmd]);
}

export function netnsExists(name: string): boolean {
  return sh('ip', ['netns', 'list']).split('\n').some((l) => l.split(' ')[0] === name);
}

export function linkExists(name: string, netns?: string): boolean {
  return ok('ip', [...(netns ? ['-n', netns] : []), 'link', 'show', 'dev', name]);
}

/** Best-effort cleanup of netns and links this test made; never fails the test. */
export function cleanup(o: { netns?: string[]; links?: string[] }): void {
  for (const l of o.links ?? []) if (linkExists(l)) ok('ip', ['link', 'del', l]);
  for (const n of o.netns ?? []) if (netnsExists(n)) ok('ip', ['netns', 'del', n]);
}

/** Writes `<dir>/<file>` holding the conflist JSON; returns the dir. */
export function writeConf(dir: string, file: string, conf: unknown): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, file), JSON.stringify(conf, null, 2));
  return dir;
}

/**
 * An executable CNI plugin `type` in `dir` that fails every ADD with code 11
 * and "<type> says no", answers VERSION, and succeeds at anything else (DEL):
 * the failing step of a chain in the rollback tests.
 */
export function writeFailingPlugin(dir: string, type: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, type),
    `#!/bin/sh
cat >/dev/null
if [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","code":11,"msg":"${type} says no"}'; exit 1; fi
if [ "$CNI_COMMAND" = VERSION ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}'; fi
exit 0
`,
    { mode: 0o755 },
  );
}

/**
 * An executable CNI plugin `type` in `dir` that appends "<command> <network> <ifname>"
 * to `log` for every call but VERSION, and answers ADD with an empty result:
 * the order tests read the log to see which network was added and deleted when.
 */
export function writeLoggingPlugin(dir: string, type: string, log: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, type),
    `#!/bin/sh
conf=$(cat)
if [ "$CNI_COMMAND" = VERSION ]; then echo '{"cniVersion":"1.0.0","supportedVersions":["1.0.0"]}'; exit 0; fi
name=$(printf '%s' "$conf" | grep -o '"name": *"[^"]*"' | head -n1 | sed 's/.*"\\([^"]*\\)"$/\\1/')
echo "$CNI_COMMAND $name $CNI_IFNAME" >>'${log}'
if [ "$CNI_COMMAND" = ADD ]; then echo '{"cniVersion":"1.0.0","interfaces":[],"ips":[]}'; fi
exit 0
`,
    { mode: 0o755 },
  );
}

/** iptables rules (as `iptables -S` prints them) in a table, for leak checks. */
export function iptablesRules(table: 'nat' | 'filter'): string {
  return sh('iptables', ['-t', table, '-S']);
}

/** Ping from inside a netns, retrying briefly: a fresh bridge port can take a moment to forward.
 * busybox's ping: this machine has no iputils. */
export function ping(netns: string, address: string, tries = 5): boolean {
  for (let i = 0; i < tries; i++) if (ok('ip', ['netns', 'exec', netns, 'busybox', 'ping', '-c1', '-W1', address])) return true;
  return false;
}

/**
 * Safety net after a failed test: removes iptables rules whose CNI comment names
 * `network` (only this test's network), then the per-container chains they jumped to.
 */
export function sweepIptables(network: string): void {
  for (const table of ['nat', 'filter'] as const) {
    const rules = iptablesRules(table).split('\n').filter((l) => l.startsWith('-A ') && l.includes(`name: \\"${network}\\"`));
    const chains = new Set<string>();
    for (const rule of rules) {
      const jump = /-j (CNI-[A-Za-z0-9-]+)/.exec(rule)?.[1];
      if (jump && /^CNI-(DN-)?[0-9a-f]{20,}$/.test(jump)) chains.add(jump);
      ok('sh', ['-c', `iptables -t ${table} ${rule.replace(/^-A /, '-D ')}`]);
    }
    for (const c of chains) {
      ok('iptables', ['-t', table, '-F', c]);
      ok('iptables', ['-t', table, '-X', c]);
    }
  }
}
