#!/usr/bin/env node
import { appendFileSync } from 'node:fs';
import { parseFlags, str, bool, type FlagSpec } from './args.js';
import type { GlobalOptions } from './command.js';
import { commands } from './commands/index.js';
import { TsrunError, renderJsonLog, renderText } from '../errors.js';
import { mark, startTimings } from '../explain/timings.js';
import { writeErr, writeOut } from '../output.js';

const globalFlags: FlagSpec[] = [
  { name: 'root', value: true, help: 'state directory (default /run/tsrun; $XDG_RUNTIME_DIR/tsrun for other users)' },
  { name: 'log', value: true, help: 'write errors and debug lines to this file' },
  { name: 'log-format', value: true, help: 'text or json' },
  { name: 'debug', help: 'verbose logging' },
  { name: 'systemd-cgroup', help: 'accepted for runc compatibility' },
  { name: 'explain', value: true, help: 'print each kernel call, hook and CNI call with its reason (=json for tools)' },
  { name: 'help', short: 'h' },
  { name: 'version', short: 'v' },
];

function usage(): string {
  const lines = ['usage: tsrun [global flags] COMMAND [flags] [args]', '', 'commands:'];
  for (const c of commands) lines.push(`  ${c.name.padEnd(10)} ${c.summary}`);
  lines.push('', 'global flags:');
  for (const f of globalFlags) if (f.help) lines.push(`  --${f.name.padEnd(16)} ${f.help}`);
  return lines.join('\n');
}

/** runc's choice: /run/tsrun for root; for other users their runtime dir, which they own. */
function defaultRoot(): string {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/tsrun';
  return process.env.XDG_RUNTIME_DIR ? `${process.env.XDG_RUNTIME_DIR}/tsrun` : `/tmp/tsrun-${uid}`;
}

async function main(argv: string[]): Promise<number> {
  await startTimings();
  mark('main');
  let globals: GlobalOptions = { root: defaultRoot(), logFormat: 'text', debug: false, systemdCgroup: false };
  try {
    // `--explain` alone means text; the parser wants a value.
    const parsed = parseFlags(argv.map((a) => (a === '--explain' ? '--explain=text' : a)), globalFlags, true);
    const explain = str(parsed, 'explain');
    if (explain !== undefined && explain !== 'text' && explain !== 'json') {
      throw new TsrunError('BAD_INPUT', `--explain: expected text or json, got "${explain}"`);
    }
    const format = str(parsed, 'log-format') ?? 'text';
    if (format !== 'text' && format !== 'json') {
      throw new TsrunError('BAD_INPUT', `--log-format: expected text or json, got "${format}"`);
    }
    globals = {
      root: str(parsed, 'root') ?? defaultRoot(),
      log: str(parsed, 'log'),
      logFormat: format,
      debug: bool(parsed, 'debug'),
      systemdCgroup: bool(parsed, 'systemd-cgroup'),
      explain,
    };
    if (bool(parsed, 'version')) {
      writeOut('tsrun version 0.1.0\nspec: 1.2.0\n');
      return 0;
    }
    const [name, ...rest] = parsed.positionals;
    if (!name || bool(parsed, 'help') || name === 'help') {
      writeOut(usage() + '\n');
      return name || bool(parsed, 'help') ? 0 : 1;
    }
    const entry = commands.find((c) => c.name === name);
    if (!entry) throw new TsrunError('BAD_INPUT', `unknown command "${name}"`, { hint: 'run tsrun --help' });
    const cmd = await entry.load();
    mark('command loaded');
    if (rest.includes('--help') || rest.includes('-h')) {
      writeOut(`usage: ${cmd.usage}\n${entry.summary}\n`);
      return 0;
    }
    return await cmd.run(rest, globals);
  } catch (err) {
    report(err, globals);
    return 1;
  }
}

/** Errors go to stderr, and to --log (as JSON lines with --log-format json, which conmon reads). */
export function report(err: unknown, globals: GlobalOptions): void {
  if (globals.debug && err instanceof Error && err.stack) writeErr(err.stack + '\n');
  writeErr(`tsrun: ${renderText(err)}\n`);
  if (globals.log) {
    const line = globals.logFormat === 'json' ? renderJsonLog(err) : `${new Date().toISOString()} error: ${renderText(err)}`;
    try {
      appendFileSync(globals.log, line + '\n');
    } catch {
      // the log is best effort; stderr already has the message
    }
  }
}

// No top-level await: the bundle is CommonJS (see scripts/bundle.mjs).
// Exit now rather than wait for Node's teardown (≈10–50 ms): a created container's
// init is unref'd, and stdout/stderr writes are synchronous on Linux.
void main(process.argv.slice(2)).then((code) => process.exit(code));
