import { closeSync, openSync } from 'node:fs';
import type { Spec } from '../../spec/types.js';
import { TsrunError, errorMessage } from '../../errors.js';
import type { ContainerRecord } from '../state-store.js';
import { errnoText } from '../../sys/errno.js';
import type { Context } from './context.js';
import { createContainer, type CreateOptions } from './create.js';
import { startContainer } from './start.js';
import { deleteContainer } from './delete.js';
import { ConsoleServer, relayTerminal } from './console-relay.js';
import { because } from '../../explain/events.js';
import { mark } from '../../explain/timings.js';
import { exitStatusForwarding } from './foreground.js';

// run = create + start. In the foreground it forwards signals to the
// container and returns its exit code (128+n when killed by signal n), then
// deletes the container like `runc run` does.

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGCONT'];

export interface RunOptions extends CreateOptions {
  detach?: boolean;
  keep?: boolean;
}

function controllingTerminal(): void {
  try {
    closeSync(openSync('/dev/tty', 'r+'));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    throw new TsrunError('BAD_INPUT', `open /dev/tty: ${errnoText(code)}`, {
      jsonPath: 'process.terminal',
      hint: 'run it from a terminal, pass --console-socket, or set process.terminal to false',
    });
  }
}

/** delete runs the config's poststop hooks; the caller's in-process ones follow, as in create. */
async function removeContainer(ctx: Context, opts: RunOptions, record: ContainerRecord): Promise<void> {
  await deleteContainer(ctx, record.id, true, opts.inProcessHooks);
}

export async function runContainer(ctx: Context, opts: RunOptions): Promise<number> {
  // In the foreground tsrun is the console socket itself, made only once the
  // config says terminal: a plain run pays for no socket and leaves no temp dir.
  let server: ConsoleServer | undefined;
  const adjustSpec = async (spec: Spec): Promise<Spec> => {
    const s = opts.adjustSpec ? await opts.adjustSpec(spec) : spec;
    if (!opts.detach && !opts.consoleSocket && s.process?.terminal) {
      // Like runc: a terminal relayed by `run` itself needs a terminal to relay to.
      controllingTerminal();
      server = because('tsrun run in the foreground is its own console socket', () => new ConsoleServer(ctx.sys));
    }
    return s;
  };
  let created;
  try {
    // A getter: create reads the socket path after adjustSpec has made it.
    created = await createContainer(ctx, { ...opts, adjustSpec, get consoleSocket() { return opts.consoleSocket ?? server?.path; } });
  } catch (err) {
    server?.close();
    throw err;
  }
  const { record, child } = created;
  let relay: { stop(): Promise<void> } | undefined;
  try {
    if (server && record.spec.process?.terminal) relay = relayTerminal(ctx.sys, server.receiveMaster());
  } finally {
    server?.close();
  }
  if (opts.detach) {
    child.unref();
    try {
      await startContainer(ctx, record.id);
    } catch (err) {
      // Like runc: a run that failed leaves no container behind.
      await removeContainer(ctx, opts, record);
      throw err;
    }
    return 0;
  }
  const exit = exitStatusForwarding(child, record.pid, FORWARDED);
  try {
    try {
      await startContainer(ctx, record.id);
    } catch (err) {
      await removeContainer(ctx, opts, record);
      throw err;
    }
    const code = await exit;
    mark('container exited');
    if (!opts.keep) await removeContainer(ctx, opts, record);
    return code;
  } finally {
    await relay?.stop();
  }
}
