import { writeSync } from 'node:fs';

// --explain: every kernel call, hook and CNI plugin call, in order and as it
// happens, each with the config field that caused it. Events come from the
// real Syscalls layer and the real invokers (tracing wrappers), so the
// explanation cannot drift from what tsrun does.

export type ExplainFormat = 'text' | 'json';

export interface ExplainEvent {
  /** who did it: the CLI ("runtime"), the container's init, or an exec'd process's init */
  actor: 'runtime' | 'init' | 'hook';
  pid: number;
  /** net: a built-in CNI plugin's kernel request (rtnetlink message, iptables batch, sysctl), one line each */
  kind: 'syscall' | 'hook' | 'cni' | 'step' | 'net';
  /** the call as written in C, e.g. mount("proc", "/proc", "proc", nosuid|nodev|noexec, NULL) */
  call: string;
  /** ok, or the error it returned */
  result: string;
  /** the config field (or rule of the runtime) that caused it */
  why?: string;
}

export type ExplainSink = (e: ExplainEvent) => void;

// One sink per process, set when --explain is on; emit() is a no-op otherwise.
let sink: ExplainSink | undefined;
let actor: ExplainEvent['actor'] = 'runtime';
// TSRUN_TIMINGS (timings.ts) records the same events, timestamped.
let recorder: ExplainSink | undefined;

export function startExplaining(s: ExplainSink, who: ExplainEvent['actor']): void {
  sink = s;
  actor = who;
}

/** Ends what startExplaining began (tests that explain one call). */
export function stopExplaining(): void {
  sink = undefined;
  actor = 'runtime';
}

export function explaining(): boolean {
  return sink !== undefined || recorder !== undefined;
}

/** Also hands every event of this process to `r` (TSRUN_TIMINGS), with or without --explain. */
export function recordEvents(r: ExplainSink): void {
  recorder = r;
}

/** Passes on an event another tsrun process reported (a hook run with --explain=json). */
export function forward(e: ExplainEvent): void {
  sink?.(e);
}

/** Splits a child's stderr into the explain events it reported and the rest. */
export function takeEvents(stderr: string): { events: ExplainEvent[]; rest: string } {
  const events: ExplainEvent[] = [];
  const rest: string[] = [];
  for (const line of stderr.split('\n')) {
    if (line.startsWith('{"actor":')) {
      try {
        events.push(JSON.parse(line) as ExplainEvent);
        continue;
      } catch {
        // not ours after all
      }
    }
    rest.push(line);
  }
  return { events, rest: rest.join('\n') };
}

export function emit(kind: ExplainEvent['kind'], call: string, result = 'ok', why = currentReason()): void {
  if (!sink && !recorder) return;
  const e: ExplainEvent = { actor, pid: process.pid, kind, call, result, why };
  sink?.(e);
  recorder?.(e);
}

export function renderEvent(e: ExplainEvent, format: ExplainFormat): string {
  if (format === 'json') return JSON.stringify(e);
  const who = `[${e.actor} ${e.pid}]`.padEnd(15);
  const res = e.result === 'ok' ? '' : ` = ${e.result}`;
  return `${who} ${e.call}${res}${e.why ? `\n${' '.repeat(16)}  ↳ ${e.why}` : ''}`;
}

/** Writes events to a file descriptor synchronously (the init may not use async I/O). */
export function fdSink(fd: number, format: ExplainFormat): ExplainSink {
  return (e) => {
    try {
      writeSync(fd, renderEvent(e, format) + '\n');
    } catch {
      // the reader is gone; explaining is best effort
    }
  };
}

// The reason for the calls being made now. Set by the code that knows which
// config field it is acting on; read by the tracing wrappers.
let current: string | undefined;

export function because<T>(why: string, fn: () => T): T {
  const saved = current;
  current = why;
  try {
    return fn();
  } finally {
    current = saved;
  }
}

export function currentReason(): string | undefined {
  return current;
}
