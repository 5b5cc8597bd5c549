import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { realSyscalls } from '../../sys/index.js';
import { decodeOutcome, RealPluginExec } from '../cni/exec.js';
import { pluginEnv } from '../cni/invoke.js';
import { inNetns } from '../rtnetlink/netns-switch.js';
import { SocketNetlinkOpener } from '../rtnetlink/socket.js';
import { ExecIptables } from './iptables.js';
import { isBuiltin } from './registry.js';
import { runBuiltin } from './run.js';
import type { PluginDeps, PluginRequest } from './skel.js';

// The real PluginDeps: koffi syscalls, rtnetlink sockets, /proc/sys writes,
// the iptables binary, and IPAM in-process when built in (exec otherwise).

export interface DepsOptions {
  /** run IPAM plugins as executables even when built in (differential tests) */
  forceExec?: boolean;
  timeoutMs?: number;
}

export async function realDeps(opts: DepsOptions = {}): Promise<PluginDeps> {
  const sys = await realSyscalls();
  const exec = new RealPluginExec();
  const deps: PluginDeps = {
    sys,
    netlink: new SocketNetlinkOpener(sys),
    sysctl(netns, key, value) {
      const write = (): void => writeFileSync(`/proc/sys/${key.replace(/\./g, '/')}`, value);
      if (netns) inNetns(sys, netns, write);
      else write();
    },
    iptables: new ExecIptables(),
    async ipam(type: string, req: PluginRequest): Promise<unknown> {
      if (isBuiltin(type) && !opts.forceExec) return runBuiltin(type, req.command, req, deps);
      const path = exec.findInPath(type, req.path);
      const env = pluginEnv(req.command, { containerId: req.containerId, netns: req.netns, ifName: req.ifName }, req.path);
      env.CNI_ARGS = req.args;
      const timeout = opts.timeoutMs ?? 60_000;
      return decodeOutcome(await exec.run(path, JSON.stringify(req.conf), env, timeout), timeout);
    },
    random: (n) => randomBytes(n),
  };
  return deps;
}
