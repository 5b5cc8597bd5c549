import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from '../command.js';
import { str, bool, list, int, type FlagSpec } from '../args.js';
import { makeContext } from '../context.js';
import { execInContainer } from '../../runtime/container/exec.js';
import { execProcessFrom } from '../../runtime/container/exec-process.js';
import { inspect } from '../../runtime/container/inspect.js';
import { TsrunError } from '../../errors.js';
import { preservedFdCount } from '../preserve-fds.js';

const flags: FlagSpec[] = [
  { name: 'process', short: 'p', value: 'FILE', help: 'a runtime-spec process object (JSON) to run instead of COMMAND' },
  { name: 'detach', short: 'd', help: 'return once the process runs' },
  { name: 'pid-file', value: 'FILE', help: "write the process's host pid here" },
  { name: 'console-socket', value: 'SOCKET', help: 'unix socket that receives the pty master (with --tty)' },
  { name: 'tty', short: 't', help: 'give the process a pseudo-terminal' },
  { name: 'env', short: 'e', value: 'KEY=VALUE', repeat: true, help: "add to (or replace in) the container's environment" },
  { name: 'cwd', value: 'DIR', help: 'working directory in the container' },
  { name: 'user', short: 'u', value: 'UID[:GID]', help: 'user and group ids' },
  { name: 'additional-gids', short: 'g', value: 'GID', repeat: true, help: 'supplementary group ids' },
  { name: 'cap', short: 'c', value: 'CAP', repeat: true, help: 'add a capability (CAP_NET_ADMIN or NET_ADMIN)' },
  { name: 'no-new-privs', help: 'set no_new_privs for the process' },
  { name: 'apparmor', value: 'PROFILE', help: 'process.apparmorProfile (accepted; tsrun loads no AppArmor profile)' },
  { name: 'process-label', value: 'LABEL', help: 'process.selinuxLabel (accepted; tsrun sets no SELinux label)' },
  { name: 'preserve-fds', value: 'N', help: 'pass fds 3 … 3+N-1 of tsrun on to the process' },
  { name: 'cgroup', value: '[CONTROLLER:]PATH', repeat: true, help: "run in an existing sub-cgroup of the container's (all controllers, or one)" },
  { name: 'ignore-paused', help: 'exec even when the container is paused (the process starts frozen)' },
];

export const command: Command = {
  args: 'ID COMMAND [ARGS…] | --process FILE ID',
  flags,
  // The container's command line is its own: `exec ID df -h /` runs df -h /.
  flagsEndAtPositional: true,
  // Like runc: the process's own exit codes pass through, tsrun's failures are 255.
  failureCode: 255,
  notes: ['Exits with the exit code of the process (128+n when killed by signal n), or 255 when tsrun fails.'],
  async run(p, g, usage) {
    const [id, ...args] = p.positionals;
    if (!id) throw new TsrunError('BAD_INPUT', 'expected a container ID', { hint: `usage: ${usage}` });
    const file = str(p, 'process');
    const preserveFds = preservedFdCount(int(p, 'preserve-fds'));
    const pidFile = str(p, 'pid-file');
    // Checked before the process starts: a process that runs but cannot be reported would be lost.
    if (pidFile !== undefined && !existsSync(dirname(resolve(pidFile)))) {
      throw new TsrunError('NOT_FOUND', `--pid-file ${pidFile}: ${dirname(resolve(pidFile))}: no such file or directory`);
    }
    const base = inspect(g.root, id).record.spec.process;
    const proc = await execProcessFrom(base, {
      processJson: file ? { file, text: readFileSync(file, 'utf8') } : undefined,
      args,
      env: list(p, 'env'),
      cwd: str(p, 'cwd'),
      user: str(p, 'user'),
      additionalGids: list(p, 'additional-gids'),
      caps: list(p, 'cap'),
      tty: bool(p, 'tty'),
      noNewPrivs: bool(p, 'no-new-privs'),
      apparmorProfile: str(p, 'apparmor'),
      selinuxLabel: str(p, 'process-label'),
    });
    return execInContainer(await makeContext(g), {
      id,
      process: proc,
      detach: bool(p, 'detach'),
      pidFile,
      consoleSocket: str(p, 'console-socket'),
      preserveFds,
      cgroups: list(p, 'cgroup'),
      ignorePaused: bool(p, 'ignore-paused'),
    });
  },
};
