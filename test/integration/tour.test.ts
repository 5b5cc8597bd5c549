import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, REPO, isRoot } from '../helpers/bundle.js';
import { iptablesRules, linkExists, netnsExists, ok, sweepIptables } from '../helpers/netns.js';

// docs/tour.md runs as written: docs/tour.sh runs its ```sh blocks in order,
// here on a scratch $TOUR, and the `net show` output pasted into the page
// must match what the tour's container shows now (MACs, pids, ifindexes and
// the veth's random name masked). Names are the tour's own: containers hello
// and tour1, bridge tour0, 10.99.0.0/24, host port 18099, network tournet.

const TOUR_MD = readFileSync(join(REPO, 'docs/tour.md'), 'utf8');
let scratch: string;
let tour: string;
let output = '';

/** The text of the fenced block right after an HTML comment marker in the page. */
function sample(marker: string): string {
  const m = new RegExp(`<!-- ${marker} -->\\n\`\`\`\\w+\\n([\\s\\S]*?)\`\`\`\\n`).exec(TOUR_MD);
  if (!m) throw new Error(`docs/tour.md has no block after <!-- ${marker} -->`);
  return m[1]!;
}

/** Output of each sh block, by number (1-based), from the runner's "── tour block N ──" lines. */
function blocks(): Map<number, string> {
  const parts = output.split(/^── tour block (\d+) ──\n/m);
  const out = new Map<number, string>();
  for (let i = 1; i < parts.length; i += 2) out.set(Number(parts[i]), parts[i + 1]!);
  return out;
}

const shBlocks = TOUR_MD.split('\n').filter((l) => l === '```sh');
const blockWith = (text: string): number => {
  let n = 0;
  for (const chunk of TOUR_MD.split('```sh\n').slice(1)) {
    n++;
    if (chunk.slice(0, chunk.indexOf('```')).includes(text)) return n;
  }
  throw new Error(`no sh block runs "${text}"`);
};

const mask = (t: string): string =>
  t
    .replaceAll(tour, '/tmp/tour')
    .replace(/([0-9a-f]{2}:){5}[0-9a-f]{2}/g, 'MAC')
    .replace(/veth[0-9a-f]{8}/g, 'vethXXXXXXXX')
    .replace(/fe80::[0-9a-f:]+\/64/g, 'fe80::/64')
    .replace(/pid \d+/g, 'pid N')
    .replace(/\/proc\/\d+\//g, '/proc/N/')
    .replace(/ifindex \d+/g, 'ifindex N')
    .replace(/link-netnsid \d+/g, 'link-netnsid N');

const tourRules = (): string[] => [...iptablesRules('nat').split('\n'), ...iptablesRules('filter').split('\n')].filter((l) => /tournet|tour1|10\.99\.0\.|18099/.test(l));

beforeAll(() => {
  if (!isRoot) return;
  // The tour's names are fixed; a leftover from an earlier run would make it fail for the wrong reason.
  expect(netnsExists('tour1'), '/run/netns/tour1 exists before the tour').toBe(false);
  expect(linkExists('tour0'), 'a link tour0 exists before the tour').toBe(false);
  expect(tourRules(), 'iptables rules of the tour exist before it').toEqual([]);
  scratch = mkdtempSync(join(tmpdir(), 'tsrun-tour-'));
  tour = join(scratch, 'tour');
});

afterAll(() => {
  if (!isRoot) return;
  // Only after a failure is anything left: remove the tour's own things.
  for (const id of ['tour1', 'hello']) {
    if (existsSync(join(tour, 'state', id))) spawnSync(process.execPath, [CLI, '--root', join(tour, 'state'), 'delete', '--force', id]);
  }
  if (linkExists('tour0')) ok('ip', ['link', 'del', 'tour0']);
  sweepIptables('tournet');
  if (netnsExists('tour1')) ok('ip', ['netns', 'del', 'tour1']);
  rmSync(scratch, { recursive: true, force: true });
});

describe('docs/tour.md has no command block the tour would skip', () => {
  const check = (page?: string) => spawnSync('bash', [join(REPO, 'docs/tour.sh'), '--check'], { env: { ...process.env, ...(page ? { TOUR_MD: page } : {}) }, encoding: 'utf8' });

  it('every fence of the page is ```sh (run) or a non-shell language (shown)', () => {
    const r = check();
    expect(r.status, r.stderr).toBe(0);
  });

  it('a ```bash, ```shell or ```console block, an indented ```sh and an unlabeled fence are refused, each by line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsrun-tour-md-'));
    try {
      const page = join(dir, 'tour.md');
      const fence = (info: string, body: string) => [info, body, info.replace(/\S+$/, '').trimEnd() + '```'];
      writeFileSync(page, ['# t', ...fence('```sh', 'true'), ...fence('```text', 'out'), ...fence('```mermaid', 'flowchart LR'), ...fence('```bash', 'rm -rf x'),
        ...fence('```shell', 'ls'), ...fence('```console', '$ ls'), ...fence('  ```sh', 'ls'), '```', 'ls', '```', ''].join('\n'));
      const r = check(page);
      expect(r.status).toBe(1);
      expect(r.stderr.trim().split('\n').map((l) => l.slice(page.length + 1, l.indexOf(':', page.length + 1)))).toEqual(['11', '14', '17', '20', '23']);
      expect(r.stderr).toContain('```bash would not run');
      expect(r.stderr).toContain('a fence without a language');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!isRoot)('docs/tour.md, run as written', () => {
  it('every sh block runs in order and passes', () => {
    const r = spawnSync('bash', [join(REPO, 'docs/tour.sh')], { env: { ...process.env, TOUR: tour }, encoding: 'utf8' });
    output = r.stdout;
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const b = blocks();
    expect([...b.keys()]).toEqual(shBlocks.map((_, i) => i + 1));
    expect(b.get(blockWith('bundle import'))).toContain(`imported latest (1 layer) into ${tour}/bundle`);
    const part1 = b.get(blockWith('exec hello'))!;
    expect(part1).toContain('"status": "running"');
    expect(part1).toContain('hello from the tour');
    const net = b.get(blockWith('busybox ping'))!;
    expect(net).toContain('inet 10.99.0.2/24');
    expect(net).toContain('1 packets received');
    expect(net).toContain('hello from the tour');
  });

  it("the page's net show text and diagram are what the tour's container shows", () => {
    const b = blocks();
    const text = b.get(blockWith('net show tour1\n'));
    const mermaid = b.get(blockWith('net show tour1 --format mermaid'));
    expect(text).toContain('the cache and the kernel agree');
    expect(mask(text!)).toBe(mask(sample('tour:net-show-text')));
    expect(mermaid).toContain('flowchart LR');
    expect(mask(mermaid!)).toBe(mask(sample('tour:net-show-mermaid')));
  });

  // portmap's shared chains (CNI-HOSTPORT-*) stay, as the page says: they may be another runtime's.
  // What must go is every rule of the tour's own (tourRules), in them or elsewhere.
  it('leaves nothing behind', () => {
    expect(existsSync(tour)).toBe(false);
    expect(netnsExists('tour1')).toBe(false);
    expect(linkExists('tour0')).toBe(false);
    expect(tourRules()).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toMatch(/tour1|tsrun-tour-/);
    const veth = /host veth {2}(veth[0-9a-f]{8})/.exec(blocks().get(blockWith('net show tour1\n'))!)?.[1];
    expect(veth).toBeDefined();
    expect(linkExists(veth!)).toBe(false);
  });
});
