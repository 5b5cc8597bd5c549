import { existsSync, statSync } from 'node:fs';
import { TsrunError, errorMessage } from '../../errors.js';
import type { OciState } from '../../spec/state.js';
import { readStat } from '../../sys/proc.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { CniClient } from '../cni/api.js';
import { loadConfList } from '../cni/conf.js';
import { invokePlugin } from '../cni/invoke.js';
import type { CniResult } from '../cni/result/types.js';
import { NetnsStore } from '../netns.js';
import { addressesOf, chooseDns, renderHosts, renderResolvConf, writeNetworkFiles } from './dns-files.js';
import { mountIntoContainer, prepareTargets, removeCreated } from './etc-mounts.js';
import { capabilityArgs, type HookOptions } from './options.js';
import { readRecord, removeRecord, writeRecord, type HookRecord } from './record.js';
import { readBundle } from './state.js';
import { removeFiles } from './teardown.js';

// The first half (createRuntime/prestart, or `tsrun run --net` in-process):
// pin the container's netns at /run/netns/<id>, run each network's ADD on it
// in order (eth0, eth1, …), write resolv.conf and hosts into the container's
// own directory and put them over the image's. Each step registers its undo
// as soon as it has done something; a failure (on any network) runs them in
// reverse, so nothing is left. Run twice on the same container it does
// nothing new (the cached results are reused).

export interface HookDeps {
  sys: Syscalls;
  /** /run/netns unless a test says otherwise */
  netnsDir?: string;
  warn: (message: string) => void;
}

/** Where the container's resolv.conf and hosts go, and who mounts them. */
export interface FilesPlan {
  dir: string;
  /**
   * "hook": mount them into the container's mount namespace now (runc and crun
   * have made their mounts when createRuntime runs); "spec": the runtime mounts
   * them from the config's mounts, so only the mount targets are prepared.
   */
  mount: 'hook' | 'spec';
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

export async function setupNetwork(deps: HookDeps, state: OciState, o: HookOptions, files: FilesPlan): Promise<CniResult[]> {
  const nsPath = containerNetns(state);
  const client = new CniClient({ path: o.cniPath, cacheDir: o.cacheDir, warn: deps.warn });
  if (o.networks.length === 1 && o.networks[0]!.name === 'none') {
    // Loopback only: nothing to pin, cache or undo (the netns dies with the container).
    const conf = { cniVersion: '1.0.0', name: 'none', type: 'loopback' };
    await invokePlugin(client.ctx, 'loopback', 'ADD', conf, { containerId: state.id, netns: nsPath, ifName: 'lo' });
    return [];
  }
  // Every conflist is read before anything is done: a missing one changes nothing.
  const lists = o.networks.map((n) => ({ ref: n, list: loadConfList(o.confDir, n.name) }));
  const bundle = readBundle(state.bundle);
  const store = new NetnsStore(deps.sys, deps.netnsDir);
  const handle = store.pathOf(state.id);
  const rt = (ifName: string, i: number) => ({ containerId: state.id, netns: handle, ifName, capabilityArgs: i === 0 ? capabilityArgs(o) : {} });
  const handleExists = existsSync(handle);
  if (handleExists && !sameNamespace(handle, nsPath)) {
    throw new TsrunError('EXISTS', `hook cni: ${handle} already exists and holds another network namespace`, {
      hint: `a container "${state.id}" was not torn down: tsrun hook cni --stage teardown, or tsrun net gc`,
    });
  }
  const cached = lists.map(({ ref, list }, i) => client.cached(list, rt(ref.ifName, i)));
  if (handleExists && cached.every((c) => c.result)) return cached.map((c) => c.result!);
  const undo: Undo[] = [];
  try {
    lists.forEach(({ ref, list }, i) => {
      if (cached[i]!.entry) {
        throw new TsrunError('EXISTS', `hook cni: network "${list.name}" already has an attachment for container "${state.id}" (${ref.ifName}) in ${o.cacheDir}`, {
          hint: 'a container with this id was not torn down: tsrun net gc, or tsrun hook cni --stage teardown',
        });
      }
    });
    const pid = state.pid!;
    const record: HookRecord = {
      containerId: state.id, netns: handle, cniPath: o.cniPath, pid, startTime: readStat(pid)?.startTime ?? '',
      networks: o.networks, filesDir: files.dir,
    };
    if (!readRecord(o.cacheDir, state.id)) {
      writeRecord(o.cacheDir, record);
      undo.push(() => removeRecord(o.cacheDir, state.id));
    }
    if (!handleExists) {
      store.attach(state.id, nsPath);
      undo.push(() => store.delete(state.id, { missingOk: true }));
    }
    const results: CniResult[] = [];
    for (const [i, { ref, list }] of lists.entries()) {
      // (addNetworkList rolls back its own plugins when one of them fails.)
      results.push(await client.addNetworkList(list, rt(ref.ifName, i)));
      undo.push(() => client.delNetworkList(list, rt(ref.ifName, i)));
    }
    const addresses = results.flatMap(addressesOf);
    writeNetworkFiles(files.dir, { resolvConf: renderResolvConf(chooseDns(results)), hosts: renderHosts([bundle.hostname, state.id], addresses) });
    undo.push(() => removeFiles(files.dir));
    record.created = files.mount === 'hook' ? mountIntoContainer(deps.sys, pid, bundle.rootfs, files.dir) : prepareTargets(deps.sys, bundle.rootfs);
    undo.push(() => removeCreated(deps.sys, record.created, deps.warn));
    writeRecord(o.cacheDir, record);
    return results;
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
