import { existsSync, statSync } from 'node:fs';
import { TsrunError, errorMessage } from '../../errors.js';
import type { OciState } from '../../hooks/outcome.js';
import { readStat } from '../../runtime/proc.js';
import type { Syscalls } from '../../runtime/sys/syscalls.js';
import { CniClient } from '../cni/api.js';
import { loadConfList } from '../cni/conf.js';
import { invokePlugin } from '../cni/invoke.js';
import type { CniResult } from '../cni/result/types.js';
import { NetnsStore } from '../netns.js';
import { addressesOf, chooseDns, renderHosts, renderResolvConf, writeNetworkFiles } from './dns-files.js';
import { capabilityArgs, type HookOptions } from './options.js';
import { readRecord, removeRecord, writeRecord } from './record.js';
import { readBundle } from './state.js';

// The hook's first half (createRuntime/prestart): pin the container's netns at
// /run/netns/<id>, run the chain's ADD on it, write resolv.conf and hosts.
// Each step registers its undo as soon as it has done something; a failure
// runs them in reverse, so a failed hook leaves nothing behind. Run twice on
// the same container it does nothing new (the cached result is reused).

export interface HookDeps {
  sys: Syscalls;
  /** /run/netns unless a test says otherwise */
  netnsDir?: string;
  warn: (message: string) => void;
}

type Undo = () => unknown;

/** True when both paths name the same namespace (nsfs device and inode). */
export function sameNamespace(a: string, b: string): boolean {
  try {
    const x = statSync(a);
    const y = statSync(b);
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

function containerNetns(state: OciState): string {
  const pid = state.pid ?? 0;
  const path = `/proc/${pid}/ns/net`;
  if (pid <= 0 || !existsSync(path)) {
    throw new TsrunError('BAD_STATE', `hook cni: container "${state.id}" has no live process (pid ${pid}) whose network namespace could be joined`, {
      hint: 'run the hook as a createRuntime or prestart hook',
    });
  }
  return path;
}

export async function setupNetwork(deps: HookDeps, state: OciState, o: HookOptions): Promise<CniResult | undefined> {
  const nsPath = containerNetns(state);
  const client = new CniClient({ path: o.cniPath, cacheDir: o.cacheDir, warn: deps.warn });
  if (o.network === 'none') {
    // Loopback only: nothing to pin, cache or undo (the netns dies with the container).
    const conf = { cniVersion: '1.0.0', name: 'none', type: 'loopback' };
    await invokePlugin(client.ctx, 'loopback', 'ADD', conf, { containerId: state.id, netns: nsPath, ifName: 'lo' });
    return undefined;
  }
  const list = loadConfList(o.confDir, o.network);
  const bundle = readBundle(state.bundle);
  const store = new NetnsStore(deps.sys, deps.netnsDir);
  const handle = store.pathOf(state.id);
  const rt = { containerId: state.id, netns: handle, ifName: o.ifName, capabilityArgs: capabilityArgs(o) };
  const handleExists = existsSync(handle);
  if (handleExists && !sameNamespace(handle, nsPath)) {
    throw new TsrunError('EXISTS', `hook cni: ${handle} already exists and holds another network namespace`, {
      hint: `a container "${state.id}" was not torn down: tsrun hook cni --stage teardown, or tsrun net gc`,
    });
  }
  const cached = client.cached(list, rt);
  const undo: Undo[] = [];
  try {
    let result = handleExists ? cached.result : undefined;
    if (!result) {
      if (cached.entry) {
        throw new TsrunError('EXISTS', `hook cni: network "${list.name}" already has an attachment for container "${state.id}" (${o.ifName}) in ${o.cacheDir}`, {
          hint: 'a container with this id was not torn down: tsrun net gc, or tsrun hook cni --stage teardown',
        });
      }
      if (!readRecord(o.cacheDir, state.id)) {
        const pid = state.pid!;
        writeRecord(o.cacheDir, { containerId: state.id, netns: handle, cniPath: o.cniPath, pid, startTime: readStat(pid)?.startTime ?? '' });
        undo.push(() => removeRecord(o.cacheDir, state.id));
      }
      if (!handleExists) {
        store.attach(state.id, nsPath);
        undo.push(() => store.delete(state.id, { missingOk: true }));
      }
      result = await client.addNetworkList(list, rt);
      undo.push(() => client.delNetworkList(list, rt));
    }
    const dns = chooseDns(result);
    writeNetworkFiles(bundle.rootfs, { resolvConf: renderResolvConf(dns), hosts: renderHosts(bundle.hostname, addressesOf(result)) });
    return result;
  } catch (err) {
    for (const u of undo.reverse()) {
      try {
        await u();
      } catch (e) {
        deps.warn(`hook cni: undo after failed setup: ${errorMessage(e)}`);
      }
    }
    throw err;
  }
}
