import { familyOf } from '../../rtnetlink/ip.js';
import { cniError } from '../errors.js';
import { describeSet } from './config.js';
import { bigToIp, ipToBig, rangeContains, type Range } from './range.js';
import type { Store } from './store.js';

// Allocation from one range set, as the reference's allocator does it:
// round-robin from the range set's last reserved IP + 1, skipping gateways,
// claiming each candidate with an exclusive create until one succeeds. With
// a cursor that only moves forward this is O(1) amortised until the set wraps.

export interface IpConfig {
  address: string;
  gateway: string;
}

const rangeFor = (set: Range[], ip: string): Range | undefined => {
  const f = familyOf(ip);
  const n = ipToBig(ip);
  return set.find((r) => rangeContains(r, n, f));
};

export class Allocator {
  constructor(
    private readonly set: Range[],
    private readonly store: Store,
    private readonly rangeId: number,
  ) {}

  contains(ip: string): boolean {
    return rangeFor(this.set, ip) !== undefined;
  }

  /** Store must be locked by the caller. */
  get(id: string, ifName: string, requested?: string): IpConfig {
    if (requested) return this.getRequested(id, ifName, requested);
    for (const ip of this.store.findByID(id, ifName)) {
      if (this.contains(ip)) throw cniError(`${ip} has been allocated to ${id}, duplicate allocation is not allowed`);
    }
    for (const [n, r] of this.candidates()) {
      const ip = bigToIp(n, r.family);
      if (this.store.reserve(id, ifName, ip, this.rangeId)) return { address: `${ip}/${r.prefixLen}`, gateway: bigToIp(r.gateway, r.family) };
    }
    throw cniError(`no IP addresses available in range set: ${describeSet(this.set)}`);
  }

  private getRequested(id: string, ifName: string, ip: string): IpConfig {
    const r = rangeFor(this.set, ip);
    if (!r) throw cniError(`${ip} not in range set ${describeSet(this.set)}`);
    if (ipToBig(ip) === r.gateway) throw cniError(`requested ip ${ip} is subnet's gateway`);
    if (!this.store.reserve(id, ifName, ip, this.rangeId)) {
      throw cniError(`requested IP address ${ip} is not available in range set ${describeSet(this.set)}`);
    }
    return { address: `${ip}/${r.prefixLen}`, gateway: bigToIp(r.gateway, r.family) };
  }

  /** Every address of the set once, starting after the cursor and wrapping around. */
  private *candidates(): Generator<[bigint, Range]> {
    const last = this.store.lastReservedIP(this.rangeId);
    const lastRange = last ? rangeFor(this.set, last) : undefined;
    let idx = lastRange ? this.set.indexOf(lastRange) : 0;
    let cur = lastRange ? ipToBig(last!) : undefined;
    let start: bigint | undefined;
    let startIdx = idx;
    for (;;) {
      const r = this.set[idx]!;
      if (cur === undefined) {
        cur = r.start;
      } else if (cur === r.end) {
        idx = (idx + 1) % this.set.length;
        cur = this.set[idx]!.start;
      } else {
        cur += 1n;
      }
      if (start === undefined) {
        start = cur;
        startIdx = idx;
      } else if (cur === start && idx === startIdx) {
        return;
      }
      const here = this.set[idx]!;
      if (cur !== here.gateway) yield [cur, here];
    }
  }
}
