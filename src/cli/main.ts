#!/usr/bin/env node
import { appendFileSync, readFileSync } from 'node:fs';
import { HelpRequested, parseFlags, str, bool } from './args.js';
import type { Command, GlobalOptions } from './command.js';
import { commands } from './commands/index.js';
import { GLOBAL_FLAGS, commandUsage, mainUsage, synopsis } from './usage.js';
import { cliLogger } from './log.js';
import { TsrunError, renderJsonLog, renderText } from '../errors.js';
import { mark, startTimings } from '../explain/timings.js';
import { writeErr, writeOut } from '../output.js';

/** runc's choice: /run/tsrun for root; for other users their runtime dir, which they own. */
function defaultRoot(): string {
  const uid = process.getuid?.() ?? 0;
  if (uid === 0) return '/run/tsrun';
  return process.env.XDG_RUNTIME_DIR ? `${process.env.XDG_RUNTIME_DIR}/tsrun` : `/tmp/tsrun-${uid}`;
}

/** The runtime-spec version tsrun implements. */
const SPEC_VERSION = '1.2.0';

/** Written by the build (scripts/post-build.mjs) next to dist/: version and, when git knew it, the commit. */
function buildInfo(): { version: string; commit?: string } {
  for (const rel of ['./build-info.json', '../build-info.json']) {
    try {
      return JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { version: string; commit?: string };
    } catch {
      // try the next place (the bundle sits in dist/, tsc's output in dist/cli/)
    }
  }
  return { version: 'unknown' };
}

function versionText(): string {
  const info = buildInfo();
  return [`tsrun version ${info.version}`, ...(info.commit ? [`commit: ${info.commit}`] : []), `spec: ${SPEC_VERSION}`].join('\n') + '\n';
}

/** `--explain` alone means text, but the parser wants a value: add it, among the global flags only. */
function explainAlone(argv: string[]): string[] {
  const out = [...argv];
  for (let i = 0; i < out.length && out[i]!.startsWith('-'); i++) {
    if (out[i] === '--explain') out[i] = '--explain=text';
    else if (/^--?(root|log|log-format)$/.test(out[i]!)) i++; // skip the flag's value
  }
  return out;
}

function parseGlobals(parsed: ReturnType<typeof parseFlags>): GlobalOptions {
  const explain = str(parsed, 'explain');
  if (explain !== undefined && explain !== 'text' && explain !== 'json') {
    throw new TsrunError('BAD_INPUT', `--explain: expected text or json, got "${explain}"`);
  }
  const format = str(parsed, 'log-format') ?? 'text';
  if (format !== 'text' && format !== 'json') throw new TsrunError('BAD_INPUT', `--log-format: expected text or json, got "${format}"`);
  return {
    root: str(parsed, 'root') ?? defaultRoot(),
    log: str(parsed, 'log'),
    logFormat: format,
    debug: bool(parsed, 'debug'),
    systemdCgroup: bool(parsed, 'systemd-cgroup'),
    explain,
  };
}

async function main(argv: string[]): Promise<number> {
  await startTimings();
  mark('main');
  let globals: GlobalOptions = { root: defaultRoot(), logFormat: 'text', debug: false, systemdCgroup: false };
  let cmd: Command | undefined;
  try {
    // Global flags end at the command.
    const parsed = parseFlags(explainAlone(argv), GLOBAL_FLAGS, true);
    globals = parseGlobals(parsed);
    if (bool(parsed, 'version')) {
      writeOut(versionText());
      return 0;
    }
    const [name, ...rest] = parsed.positionals;
    // No command prints the usage, as runc does.
    if (bool(parsed, 'help') || name === 'help' || !name) {
      const entry = commands.find((c) => c.name === rest[0]);
      writeOut(entry ? commandUsage(entry, await entry.load()) : mainUsage(commands));
      return 0;
    }
    const entry = commands.find((c) => c.name === name);
    if (!entry) {
      writeErr(mainUsage(commands));
      throw new TsrunError('BAD_INPUT', `unknown command "${name}"`);
    }
    cmd = await entry.load();
    mark('command loaded');
    const command = cmd;
    cliLogger(globals).debug(`${name} ${JSON.stringify(rest)} (root ${globals.root})`);
    try {
      const p = command.raw ? { flags: new Map(), positionals: rest } : parseFlags(rest, command.flags, command.flagsEndAtPositional);
      return await command.run(p, globals, synopsis(name, command), rest);
    } catch (err) {
      if (!(err instanceof HelpRequested)) throw err;
      writeOut(commandUsage(entry, command));
      return 0;
    }
  } catch (err) {
    if (err instanceof HelpRequested) {
      writeOut(mainUsage(commands));
      return 0;
    }
    report(err, globals);
    return cmd?.failureCode ?? 1;
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
