import { describe, expect, it } from 'vitest';
import { canDeleteWithoutForce, canKill, canStart, deriveStatus, type Status, type StatusFacts } from '../../src/runtime/status.js';

// Status is derived from facts every time; this is the whole table.

const facts = (f: Partial<StatusFacts>): StatusFacts => ({ creating: false, creatorAlive: false, initAlive: false, fifoExists: false, frozen: false, ...f });

describe('deriveStatus', () => {
  it.each<[string, Partial<StatusFacts>, Status]>([
    ['create in progress', { creating: true, creatorAlive: true, initAlive: true, fifoExists: true }, 'creating'],
    ['create killed (creator gone) while the init lives', { creating: true, creatorAlive: false, initAlive: true, fifoExists: true }, 'stopped'],
    ['create in progress but the init died', { creating: true, creatorAlive: true, initAlive: false }, 'stopped'],
    ['create killed before the init existed', { creating: true, beforeInit: true }, 'stopped'],
    ['create in progress, the init not launched yet', { creating: true, creatorAlive: true, beforeInit: true }, 'creating'],
    ['created: init alive, fifo waiting', { initAlive: true, fifoExists: true }, 'created'],
    ['running: init alive, fifo consumed', { initAlive: true }, 'running'],
    ['paused: frozen wins over created/running', { initAlive: true, frozen: true }, 'paused'],
    ['stopped: init gone, fifo consumed', {}, 'stopped'],
    ['stopped: init gone before start (fifo still there)', { fifoExists: true }, 'stopped'],
    ['stopped: a frozen cgroup with a dead init', { frozen: true }, 'stopped'],
  ])('%s', (_what, f, want) => {
    expect(deriveStatus(facts(f))).toBe(want);
  });
});

describe('allowed operations', () => {
  const all: Status[] = ['creating', 'created', 'running', 'paused', 'stopped'];
  it('start only from created', () => {
    expect(all.filter(canStart)).toEqual(['created']);
  });
  it('kill from created, running and paused', () => {
    expect(all.filter(canKill)).toEqual(['created', 'running', 'paused']);
  });
  it('delete without --force from stopped and created (like runc)', () => {
    expect(all.filter(canDeleteWithoutForce)).toEqual(['created', 'stopped']);
  });
});
