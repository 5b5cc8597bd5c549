import type { Allocation, Store } from './store.js';

// An in-memory Store for allocator unit tests (the reference's fake_store).

export class MemoryStore implements Store {
  readonly ips = new Map<string, { id: string; ifName: string }>();
  readonly last = new Map<number, string>();
  locked = false;

  lock(): void {
    if (this.locked) throw new Error('MemoryStore: already locked');
    this.locked = true;
  }
  unlock(): void {
    this.locked = false;
  }
  reserve(id: string, ifName: string, ip: string, rangeId: number): boolean {
    if (this.ips.has(ip)) return false;
    this.ips.set(ip, { id, ifName });
    this.last.set(rangeId, ip);
    return true;
  }
  lastReservedIP(rangeId: number): string | undefined {
    return this.last.get(rangeId);
  }
  findByID(id: string, ifName: string): string[] {
    return [...this.ips].filter(([, o]) => o.id === id && o.ifName === ifName).map(([ip]) => ip);
  }
  releaseByID(id: string, ifName: string): void {
    for (const ip of this.findByID(id, ifName)) this.ips.delete(ip);
  }
  all(): Allocation[] {
    return [...this.ips].map(([ip, o]) => ({ ip, ...o }));
  }
  close(): void {}
}
