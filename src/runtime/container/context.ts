import { writeErr } from '../../output.js';
import type { Syscalls } from '../../sys/syscalls.js';

// What every container operation needs: where state lives, the kernel seam,
// and somewhere to say warnings.
export interface Logger {
  warn(msg: string): void;
  debug(msg: string): void;
}

export interface Context {
  root: string;
  sys: Syscalls;
  log: Logger;
  /** set with --explain: the init explains its calls too */
  explain?: 'text' | 'json';
}

export function stderrLogger(debug: boolean): Logger {
  return {
    warn: (m) => writeErr(`tsrun: warning: ${m}\n`),
    debug: (m) => {
      if (debug) writeErr(`tsrun: debug: ${m}\n`);
    },
  };
}
