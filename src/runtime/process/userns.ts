import { fileURLToPath } from 'node:url';
import type { IdMapping } from '../../spec/types.js';
import { TsrunError } from '../../errors.js';
import type { Syscalls } from '../../sys/syscalls.js';
import { because } from '../../explain/events.js';
import { writeProcFile } from '../proc-write.js';

// User namespaces. The kernel refuses unshare(CLONE_NEWUSER) and setns() into
// a user namespace to multi-threaded processes, and Node is multi-threaded
// before any script runs. A small single-threaded C stage (userns-stage.c,
// compiled by the build) makes or joins the namespace and execs the init.
// util-linux's unshare(1) cannot do it: without a uid map in place before its
// exec, the exec'd init loses every capability, and its range maps go through
// newuidmap, which needs /etc/subuid entries.

/** Next to this module in both layouts (dist/runtime/process/ and the bundle in dist/). */
export const STAGE_BINARY = fileURLToPath(new URL('./userns-stage', import.meta.url));

export interface StageArgs {
  newPid: boolean;
  joinUser?: string;
  joinPid?: string;
}

export function stageArgs(node: string, initScript: string, o: StageArgs): string[] {
  const mode = o.joinUser ? ['join', o.joinUser, ...(o.joinPid ? [o.joinPid] : [])] : ['new', ...(o.newPid ? ['pid'] : [])];
  return [...mode, '--', node, initScript];
}

const mapText = (maps: IdMapping[]): string => maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');

/** uid_map/gid_map of the new namespace. Unprivileged callers must deny setgroups first. */
export function writeIdMaps(sys: Syscalls, pid: number, uid: IdMapping[], gid: IdMapping[]): void {
  try {
    if (process.getuid?.() !== 0) because('an unprivileged caller may write gid_map only once setgroups is denied', () => writeProcFile(sys, `/proc/${pid}/setgroups`, 'deny'));
    because('linux.uidMappings', () => writeProcFile(sys, `/proc/${pid}/uid_map`, mapText(uid)));
    because('linux.gidMappings', () => writeProcFile(sys, `/proc/${pid}/gid_map`, mapText(gid)));
  } catch (err) {
    throw new TsrunError('SYSCALL', `writing the user namespace id maps of pid ${pid}: ${(err as Error).message}`, {
      jsonPath: 'linux.uidMappings',
      hint: 'as a non-root user, map only your own uid and gid (tsrun spec --rootless)',
    });
  }
}
