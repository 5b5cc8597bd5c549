import { appendFileSync } from 'node:fs';
import type { Logger } from '../runtime/container/context.js';
import type { GlobalOptions } from './command.js';

// Where the CLI's warnings and --debug lines go: stderr, or the --log file in
// --log-format (text, or runc's JSON lines that conmon reads).

function line(g: GlobalOptions, level: string, msg: string): string {
  const time = new Date().toISOString();
  return g.logFormat === 'json' ? JSON.stringify({ level, msg, time }) : `${time} ${level}: ${msg}`;
}

function toLog(g: GlobalOptions, level: string, msg: string): void {
  try {
    appendFileSync(g.log!, line(g, level, msg) + '\n');
  } catch {
    process.stderr.write(`tsrun: ${level}: ${msg}\n`);
  }
}

export function cliLogger(g: GlobalOptions): Logger {
  return {
    // Warnings always reach stderr (a person is usually watching); the log gets a copy.
    warn: (m) => {
      process.stderr.write(`tsrun: warning: ${m}\n`);
      if (g.log) toLog(g, 'warning', m);
    },
    debug: (m) => {
      if (!g.debug) return;
      if (g.log) toLog(g, 'debug', m);
      else process.stderr.write(`tsrun: debug: ${m}\n`);
    },
  };
}
