import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Scratch, tsrun } from '../helpers/bundle.js';

// conmon runs the runtime with --log FILE --log-format json and reads errors
// from that file; podman maps the words in "msg" to exit codes 127 and 126.

const s = new Scratch('clilog');
afterAll(() => s.remove());

describe('--log and --log-format json', () => {
  it('a missing binary is logged as one JSON error line that says "no such file or directory"', () => {
    const log = join(s.dir, 'runtime.log');
    const r = tsrun(s.root, ['--log', log, '--log-format', 'json', 'create', '-b', s.bundle(['/no/such/binary']), 'log-missing']);
    expect(r.code).not.toBe(0);
    const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; time: string });
    expect(lines).toHaveLength(1);
    expect(lines[0]!.level).toBe('error');
    expect(lines[0]!.msg).toContain('no such file or directory');
    expect(Number.isNaN(Date.parse(lines[0]!.time))).toBe(false);
    expect(tsrun(s.root, ['list', '-q']).stdout.trim()).toBe('');
  });

  it('a non-executable file says "permission denied"; text format writes a plain line', () => {
    const log = join(s.dir, 'text.log');
    const r = tsrun(s.root, ['--log', log, 'create', '-b', s.bundle(['/etc/passwd']), 'log-noexec']);
    expect(r.code).not.toBe(0);
    expect(readFileSync(log, 'utf8')).toMatch(/error: exec: "\/etc\/passwd": permission denied/);
  });
});
