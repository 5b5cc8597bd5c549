import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyLines, type Iptables } from '../../src/network/plugins/iptables.js';
import { cleanup, isRoot, sh } from '../helpers/netns.js';

// A shared chain created by another process after the plugin read the tables,
// on real iptables (nf_tables or legacy) inside this file's own netns
// tsiprace-h: the plugin's restore says -N, which the kernel refuses for a
// chain that exists, so nothing is flushed; applyLines lists again and applies
// what is still missing. The unit tests (iptables-batch.test.ts) cover the
// same on the fake, batched and not.

const NS = 'tsiprace-h';
const bin = (f: 4 | 6, tool: string) => (f === 4 ? tool : tool.replace(/^iptables/, 'ip6tables'));
const run = (f: 4 | 6, tool: string, args: string[], input?: string) =>
  execa('ip', ['netns', 'exec', NS, bin(f, tool), ...args], { reject: false, input }).then((r) => ({ code: r.exitCode ?? 1, stdout: r.stdout, stderr: r.stderr }));

/** ExecIptables with every binary run inside the netns. */
const x: Iptables & { restores: string[] } = {
  restores: [],
  run: (f, args) => run(f, 'iptables', ['-w', ...args]),
  restore(f, text) {
    this.restores.push(text);
    return run(f, 'iptables-restore', ['-w', '--noflush'], text);
  },
  save: (f) => run(f, 'iptables-save', []),
};
const nat = () => sh('ip', ['netns', 'exec', NS, 'iptables', '-t', 'nat', '-S']).split('\n').filter((l) => !l.startsWith('-P '));

beforeAll(() => {
  if (isRoot) sh('ip', ['netns', 'add', NS]);
});
afterAll(() => {
  if (isRoot) cleanup({ netns: [NS] }); // its tables go with it
});

describe.skipIf(!isRoot)('a shared chain created by another process between the listing and the restore', () => {
  it("keeps that process's rules: -N is refused, and the lines again for the table as it is add only what is missing", async () => {
    // what the plugin planned when the chain was missing
    const planned = [
      '-N CNI-HOSTPORT-DNAT',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      '-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT',
      ':CNI-DN-tsiprace1 - [0:0]',
      '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"tsiprace\\" id: \\"c1\\"" -m multiport --dports 18120 -j CNI-DN-tsiprace1',
      '-A CNI-DN-tsiprace1 -p tcp -m tcp --dport 18120 -j DNAT --to-destination 10.2.120.2:80',
    ];
    // meanwhile, another one made the chain, its jump from PREROUTING (not yet OUTPUT's) and its container's rule
    const theirs = '-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"other\\" id: \\"c9\\"" -m multiport --dports 18121 -j RETURN';
    const other = ['*nat', '-N CNI-HOSTPORT-DNAT', '-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT', theirs, 'COMMIT', ''].join('\n');
    expect((await run(4, 'iptables-restore', ['-w', '--noflush'], other)).code).toBe(0);

    await applyLines(x, 4, 'nat', planned);
    expect(x.restores).toHaveLength(2);
    expect(x.restores[1]).not.toContain('-N CNI-HOSTPORT-DNAT');
    const rules = nat();
    expect(rules).toContain(theirs);
    expect(rules).toContain(planned[4]);
    expect(rules).toContain(planned[5]);
    expect(rules.filter((r) => r === planned[1])).toHaveLength(1); // their jump, not doubled
    expect(rules.filter((r) => r === planned[2])).toHaveLength(1); // the one they had not made yet

    // a refusal with another cause is still an error, and nothing of it is applied
    await expect(applyLines(x, 4, 'nat', ['-N TSIPRACE-NEW', '-A NO-SUCH-CHAIN -j RETURN'])).rejects.toThrow(/iptables-restore failed/);
    expect(nat()).toEqual(rules);
  });
});
