import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkAccepted, judge } from '../../scripts/conformance/accepted.mjs';
import { findTarball, listPrograms, runtimetestPrograms } from '../../scripts/conformance/build.mjs';
import { countPoints, parseTap, scoreProgram } from '../../scripts/conformance/tap.mjs';

const clean = { code: 0, signal: null, timedOut: false };

describe('conformance TAP scoring', () => {
  it('counts top-level points, skips and todos, and ignores indented subtests and comments', () => {
    const tap = parseTap(
      [
        'TAP version 13',
        'ok 1 - root filesystem',
        '# expect: 1, actual: 1',
        'not ok 2 - memory kernel is set correctly',
        '  ---',
        '  {"error": "nope"}',
        '  ...',
        'ok 3 # SKIP no AppArmor',
        'not ok 4 - later # TODO not yet',
        '    ok 1 - indented, not counted',
        '1..4',
      ].join('\n'),
    );
    expect(tap.plan).toBe(4);
    expect(tap.points.map((p) => [p.n, p.status, p.description])).toEqual([
      [1, 'pass', 'root filesystem'],
      [2, 'fail', 'memory kernel is set correctly'],
      [3, 'skip', 'SKIP no AppArmor'],
      [4, 'skip', 'later'],
    ]);
    expect(tap.points[1].detail).toContain('"error": "nope"');
    expect(countPoints(scoreProgram(tap, clean))).toEqual({ passed: 1, failed: 1, skipped: 2 });
  });

  it('scores a program without points as one point, by exit status and error diagnostic', () => {
    const hooks = parseTap('TAP version 13\n  ---\n  {\n    "error": "Hooks MUST be called in the listed order"\n  }\n  ...\n1..0\n');
    expect(scoreProgram(hooks, clean)).toEqual([
      { n: null, status: 'fail', description: 'program result', detail: 'Hooks MUST be called in the listed order' },
    ]);
    // process_rlimits_fail prints nothing at all when create fails as it should.
    expect(countPoints(scoreProgram(parseTap(''), clean))).toEqual({ passed: 1, failed: 0, skipped: 0 });
    expect(countPoints(scoreProgram(parseTap(''), { code: 1, signal: null, timedOut: false }))).toEqual({ passed: 0, failed: 1, skipped: 0 });
  });

  it('fails a runtimetest program that prints nothing: its container never ran', () => {
    const [p] = scoreProgram(parseTap(''), clean, { printsRuntimetest: true });
    expect(p.status).toBe('fail');
    expect(p.detail).toMatch(/did not run/);
  });

  it('adds a failed point when a program with points ends abnormally', () => {
    const tap = parseTap('TAP version 13\nok 1 - a\nok 2 - b\n');
    expect(scoreProgram(tap, clean).at(-1)).toMatchObject({ status: 'fail', detail: 'no TAP plan' });
    expect(scoreProgram(parseTap('ok 1 - a\n1..3\n'), clean).at(-1)).toMatchObject({ detail: '1 points of a plan of 3' });
    expect(scoreProgram(parseTap('ok 1 - a\n1..1\n'), { code: null, signal: null, timedOut: true }).at(-1)).toMatchObject({
      status: 'fail',
      detail: 'timed out (killed)',
    });
    expect(scoreProgram(parseTap('ok 1 - a\n1..1\n'), clean)).toHaveLength(1);
  });
});

describe('accepted conformance failures', () => {
  const classes = { environment: 'this machine', 'suite-bug': 'the suite' };
  const programs = ['delete', 'linux_cgroups_memory', 'hooks'];

  it('covers points by number, by description or the whole program, and reports entries that now pass', () => {
    const list = checkAccepted(
      {
        classes,
        accepted: [
          { program: 'delete', points: [2, 3], class: 'suite-bug', cause: 'x' },
          { program: 'linux_cgroups_memory', description: 'memory kernel is set correctly', class: 'environment', cause: 'y' },
          { program: 'hooks', class: 'suite-bug', cause: 'z' },
        ],
      },
      'accepted.json',
      programs,
    );
    const del = scoreProgram(parseTap('ok 1 - a\nnot ok 2 - b\nnot ok 3 - c\nnot ok 4 - d\n1..4\n'), clean);
    const v = judge(list, 'delete', del);
    expect(v.accepted.map((a) => a.point.n)).toEqual([2, 3]);
    expect(v.unexpected.map((p) => p.n)).toEqual([4]);

    const mem = scoreProgram(parseTap('not ok 6 - memory kernel is set correctly\nnot ok 7 - memory kernelTCP is set correctly\n1..2\n'), clean);
    expect(judge(list, 'linux_cgroups_memory', mem).unexpected.map((p) => p.description)).toEqual(['memory kernelTCP is set correctly']);

    const hooks = judge(list, 'hooks', scoreProgram(parseTap(''), clean));
    expect(hooks.unexpected).toEqual([]);
    expect(hooks.nowPassing.map((e) => e.program)).toEqual(['hooks']);
  });

  it('refuses an entry without a cause, with an unknown class or program, naming the JSON path', () => {
    const entry = { program: 'hooks', class: 'suite-bug', cause: 'z' };
    expect(() => checkAccepted({ classes, accepted: [{ ...entry, cause: ' ' }] }, 'a.json', programs)).toThrow('a.json: accepted[0].cause');
    expect(() => checkAccepted({ classes, accepted: [{ ...entry, class: 'because' }] }, 'a.json', programs)).toThrow('accepted[0].class');
    expect(() => checkAccepted({ classes, accepted: [entry, { ...entry, program: 'hook' }] }, 'a.json', programs)).toThrow('accepted[1].program');
    expect(() => checkAccepted({ classes, accepted: [{ ...entry, points: [0] }] }, 'a.json', programs)).toThrow('accepted[0].points');
  });

  it("keeps the project's own list valid: every entry has a known class and a cause", () => {
    const file = new URL('../../scripts/conformance/accepted.json', import.meta.url);
    const data = JSON.parse(readFileSync(file, 'utf8'));
    const names = data.accepted.map((e: { program: string }) => e.program);
    expect(() => checkAccepted(data, 'accepted.json', names)).not.toThrow();
    expect(Object.keys(data.classes)).toEqual(['environment', 'suite-bug', 'runtime-spec-change', 'runc-behaviour']);
  });
});

describe('the suite source', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsrun-conf-unit-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('a missing tarball is a clear error naming where it was looked for', () => {
    const saved = process.env.TSRUN_CONFORMANCE_TARBALL;
    delete process.env.TSRUN_CONFORMANCE_TARBALL;
    try {
      expect(() => findTarball(join(dir, 'clone'))).toThrow(`${join(dir, 'shared', 'conformance', 'runtime-tools-260e151.tar.gz')}`);
      process.env.TSRUN_CONFORMANCE_TARBALL = join(dir, 'nope.tar.gz');
      expect(() => findTarball(join(dir, 'clone'))).toThrow(/nope\.tar\.gz/);
    } finally {
      if (saved === undefined) delete process.env.TSRUN_CONFORMANCE_TARBALL;
      else process.env.TSRUN_CONFORMANCE_TARBALL = saved;
    }
  });

  it('lists the programs (not util) and finds those whose TAP is runtimetest\'s, from their source', () => {
    const prog = (name: string, src: string) => {
      mkdirSync(join(dir, 'validation', name), { recursive: true });
      writeFileSync(join(dir, 'validation', name, `${name}.go`), src);
    };
    prog('util', 'package util');
    prog('default', 'err := util.RuntimeInsideValidate(g, nil, nil)');
    prog('hostname', 'err := util.RuntimeInsideValidate(g, t, nil)');
    prog('process_rlimits_fail', 'err = util.RuntimeInsideValidate(g, nil, nil)');
    prog('state', 'util.RuntimeLifecycleValidate(config)');
    expect(listPrograms(dir)).toEqual(['default', 'hostname', 'process_rlimits_fail', 'state']);
    expect(runtimetestPrograms(dir)).toEqual(['default']);
  });
});
