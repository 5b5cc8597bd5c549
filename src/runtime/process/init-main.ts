import { closeSync } from 'node:fs';
import { KoffiSyscalls } from '../sys/koffi.js';
import { InitChannel } from './init-channel.js';
import { execProcess, prepare, waitForStart } from './init.js';
import { PR } from '../sys/constants.js';
import { TsrunError } from '../../errors.js';
import { runHooksSync } from '../../hooks/run-sync.js';
import type { OciState } from '../../hooks/outcome.js';

// Entry point of the container's init process (PID 1 of its pid namespace).
// Spawned by `tsrun create` with the sync socket on fd 3.

const sys = new KoffiSyscalls();
const ch = new InitChannel(3);
const cfg = ch.expect('config');

let binary: string;
let fifoFd: number;
let state: OciState;
try {
  ({ binary, fifoFd, state } = prepare(sys, ch, cfg));
  ch.send({ type: 'ready' });
  ch.expect('release');
  sys.prctl(PR.SET_PDEATHSIG, 0);
  closeSync(3);
} catch (err) {
  const e = err instanceof TsrunError ? err : undefined;
  try {
    ch.send({ type: 'error', code: e?.code ?? 'INIT', message: err instanceof Error ? err.message : String(err), errno: e?.errno });
  } catch {
    // the runtime is gone; nobody to tell
  }
  process.exit(1);
}

try {
  waitForStart(sys, fifoFd);
  // After pivot_root: the path resolves inside the container.
  runHooksSync('startContainer', cfg.spec.hooks?.startContainer, state);
  execProcess(sys, cfg, binary, (m) => process.stderr.write(`tsrun: warning: ${m}\n`));
} catch (err) {
  process.stderr.write(`tsrun: ${err instanceof Error ? err.message : String(err)}\n`);
  const errno = err instanceof TsrunError ? err.errno : undefined;
  process.exit(errno === 'ENOENT' ? 127 : errno === 'EACCES' ? 126 : 1);
}
