// Where host-local keeps its allocations (the reference backend's Store).
// Callers hold lock() around every sequence of calls.

export interface Allocation {
  ip: string;
  id: string;
  ifName: string;
}

export interface Store {
  lock(): void;
  unlock(): void;
  /** Claims `ip` for (id, ifName); false when someone holds it already. */
  reserve(id: string, ifName: string, ip: string, rangeId: number): boolean;
  lastReservedIP(rangeId: number): string | undefined;
  findByID(id: string, ifName: string): string[];
  releaseByID(id: string, ifName: string): void;
  /** Every allocation (for GC). */
  all(): Allocation[];
  close(): void;
}

/** The content of an IP file: `<containerid>\r\n<ifname>`. */
export const ownerLine = (id: string, ifName: string): string => `${id.trim()}\r\n${ifName}`;
