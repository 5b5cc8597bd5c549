import { describe, expect, it } from 'vitest';
import { HelpRequested, flagSynopsis, parseFlags } from '../../src/cli/args.js';
import { commands } from '../../src/cli/commands/index.js';
import { GLOBAL_FLAGS, commandUsage, mainUsage } from '../../src/cli/usage.js';
import { parseDuration } from '../../src/cli/duration.js';
import { parseSize } from '../../src/cli/size.js';
import { parseSignal } from '../../src/runtime/signals.js';
import { caught } from '../helpers/caught.js';

// Every command's usage against the table its flags are parsed with: each flag
// of the table is listed, each flag the usage names is in the table, and the
// parser accepts every flag the usage shows.

/** The flags a usage text names, as "--name" (long) and "-x" (short), from its flags block. */
function flagsInUsage(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^ {2}(--[a-z0-9-]+)(?:, (-[a-zA-Z]))?/.exec(line);
    if (m) {
      out.add(m[1]!);
      if (m[2]) out.add(m[2]);
    }
  }
  return out;
}

describe('usage texts and flag tables', async () => {
  const loaded = await Promise.all(commands.map(async (e) => [e, await e.load()] as const));

  it.each(loaded.map(([e, c]) => [e.name, e, c] as const))('%s', (_name, entry, cmd) => {
    const text = commandUsage(entry, cmd);
    expect(text.startsWith(`usage: tsrun ${entry.name}`)).toBe(true);
    const table = new Set(cmd.flags.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])]));
    expect(flagsInUsage(text)).toEqual(table);
    for (const f of cmd.flags) {
      expect(text).toContain(flagSynopsis(f));
      expect(f.help, `--${f.name} of ${entry.name} needs a help text`).toBeTruthy();
    }
    if (cmd.raw) return; // parses itself; its table documents what it parses (checked where it is parsed)
    for (const f of cmd.flags) {
      const argv = f.value ? [`--${f.name}`, 'x'] : [`--${f.name}`];
      expect(parseFlags(argv, cmd.flags).flags.has(f.name)).toBe(true);
      if (f.short) expect(parseFlags(f.value ? [`-${f.short}`, 'x'] : [`-${f.short}`], cmd.flags).flags.has(f.name)).toBe(true);
    }
  });

  it('the main usage lists every command and every global flag', () => {
    const text = mainUsage(commands);
    for (const c of commands) expect(text).toMatch(new RegExp(`^  ${c.name} +${c.summary.slice(0, 10).replace(/[.*+?^${}()|[\]\\`]/g, '\\$&')}`, 'm'));
    expect(flagsInUsage(text)).toEqual(new Set(GLOBAL_FLAGS.flatMap((f) => [`--${f.name}`, ...(f.short ? [`-${f.short}`] : [])])));
  });

  it('create and run list --console-socket, --no-pivot (and run --keep)', async () => {
    const [create, run] = await Promise.all(['create', 'run'].map((n) => commands.find((c) => c.name === n)!.load()));
    for (const f of ['--console-socket', '--no-pivot', '--pid-file', '--bundle']) {
      expect(flagsInUsage(commandUsage(commands.find((c) => c.name === 'create')!, create!))).toContain(f);
      expect(flagsInUsage(commandUsage(commands.find((c) => c.name === 'run')!, run!))).toContain(f);
    }
    expect(flagsInUsage(commandUsage(commands.find((c) => c.name === 'run')!, run!))).toContain('--keep');
  });
});

describe('where flags end', () => {
  const exec = [{ name: 'env', short: 'e', value: true }, { name: 'tty', short: 't' }];
  it('exec-style: at the first positional; the rest is the process command line, flags and all', () => {
    expect(parseFlags(['-e', 'A=1', 'ID', 'df', '-h', '/'], exec, true).positionals).toEqual(['ID', 'df', '-h', '/']);
    expect(parseFlags(['ID', 'echo', 'hello', '--explain'], exec, true).positionals).toEqual(['ID', 'echo', 'hello', '--explain']);
    expect(parseFlags(['-t', '--', 'ID', '-x'], exec, true).positionals).toEqual(['ID', '-x']);
  });
  it('-h/--help is help only in a flag position', () => {
    expect(() => parseFlags(['-h'], exec, true)).toThrow(HelpRequested);
    expect(() => parseFlags(['-e', 'A=1', '--help', 'ID'], exec, true)).toThrow(HelpRequested);
    expect(parseFlags(['ID', '-h'], exec, true).positionals).toEqual(['ID', '-h']);
    expect(parseFlags(['--', '-h'], exec).positionals).toEqual(['-h']);
  });
  it('other commands take flags on either side of their positionals, as runc does', () => {
    const p = parseFlags(['c1', '--force'], [{ name: 'force', short: 'f' }]);
    expect(p.positionals).toEqual(['c1']);
    expect(p.flags.get('force')).toBe(true);
  });
  it('an unknown flag and a missing value are errors naming the flag', () => {
    expect(caught(() => parseFlags(['--nope'], exec)).message).toBe('unknown flag: --nope');
    expect(caught(() => parseFlags(['--env'], exec)).message).toBe('flag --env needs a value');
  });
});

describe('values', () => {
  it.each([
    ['TERM', 15], ['SIGTERM', 15], ['term', 15], ['sigkill', 9], ['KILL', 9], ['9', 9], ['0', 0], ['USR1', 10],
    ['SIGRTMIN', 34], ['RTMIN+2', 36], ['SIGRTMAX', 64], ['SIGRTMAX-1', 63], ['64', 64],
  ])('signal %s = %i', (name, n) => expect(parseSignal(name)).toBe(n));
  it.each(['FOO', 'SIGBOGUS', '65', '-9', '9x', 'RTMIN-1', 'RTMAX+1', ''])('signal %j is unknown', (name) => {
    expect(caught(() => parseSignal(name)).message).toBe(`unknown signal "${name}"`);
  });
  it.each([
    ['1024', 1024], ['512k', 512 * 1024], ['64m', 64 * 2 ** 20], ['64M', 64 * 2 ** 20], ['1g', 2 ** 30], ['1.5g', 1.5 * 2 ** 30], ['10mb', 10 * 2 ** 20], ['2GiB', 2 * 2 ** 30],
  ])('size %s = %i', (text, n) => expect(parseSize(text, 'memory')).toBe(n));
  it('a bad size names the flag', () => {
    expect(caught(() => parseSize('abc', 'memory')).message).toBe("invalid value for memory: invalid size: 'abc'");
  });
  it.each([['5s', 5000], ['500ms', 500], ['1m30s', 90_000], ['1.5h', 5_400_000], ['250us', 0.25]])('duration %s = %f ms', (t, ms) => {
    expect(parseDuration(t, 'interval')).toBe(ms);
  });
  it.each(['5', 's', '0s', '-1s', '5 s', '5sec'])('duration %j is refused', (t) => {
    expect(caught(() => parseDuration(t, 'interval')).message).toMatch(/^invalid value for interval/);
  });
});
