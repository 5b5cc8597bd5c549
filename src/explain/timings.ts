import { appendFileSync } from 'node:fs';

// TSRUN_TIMINGS=FILE: where a command's milliseconds go. At exit the process
// appends one JSON line to FILE: Node's own start-up marks, tsrun's phase marks
// and every --explain event (kernel calls, hooks, CNI plugins, steps), each at
// a CLOCK_MONOTONIC time in ms, which `npm run bench` lines up with its own
// clock to print a breakdown. Unset, it costs one environment lookup.

const file = process.env.TSRUN_TIMINGS || undefined;

/** [monotonic ms, kind ("mark" or an event kind), what] */
type Entry = [number, string, string];
const entries: Entry[] = [];

const now = (): number => Number(process.hrtime.bigint()) / 1e6;

export function timingsOn(): boolean {
  return file !== undefined;
}

/** A phase boundary: the time since the previous entry is charged to `label`. */
export function mark(label: string): void {
  if (file) entries.push([now(), 'mark', label]);
}

/** Starts recording when TSRUN_TIMINGS is set; the line is written on process exit. */
export async function startTimings(): Promise<void> {
  if (!file) return;
  // loaded only here: the CLI's entry does not load the explain events otherwise
  const { recordEvents } = await import('./events.js');
  // performance.now() counts from Node's time origin on the same monotonic clock.
  const origin = now() - performance.now();
  const t = performance.nodeTiming;
  const node = { origin, nodeStart: origin + t.nodeStart, v8Start: origin + t.v8Start, environment: origin + t.environment, bootstrapComplete: origin + t.bootstrapComplete };
  recordEvents((e) => entries.push([now(), e.kind, e.result === 'ok' ? e.call.slice(0, 300) : `${e.call.slice(0, 300)} = ${e.result}`]));
  process.on('exit', (code) => {
    const line = { pid: process.pid, argv: process.argv.slice(2), code, node, entries, exit: now() };
    try {
      appendFileSync(file, JSON.stringify(line) + '\n');
    } catch {
      // timings are best effort
    }
  });
}
