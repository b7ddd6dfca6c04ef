import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskQueue, type QueueEntry } from '../../actors/aoa/queue.js';

const AGING_MS = 100;

/** The reference: scan every queued entry; the due one with the least (aged rank, readyAt, seq) goes first. */
class ReferenceQueue {
  private entries: QueueEntry[] = [];
  push(e: QueueEntry): void {
    this.entries.push(e);
  }
  remove(id: string): void {
    this.entries = this.entries.filter((e) => e.id !== id);
  }
  pop(now: number): QueueEntry | undefined {
    const key = (e: QueueEntry): [number, number, number] =>
      [Math.max(0, e.rank - Math.floor(Math.max(0, now - e.readyAt) / AGING_MS)), e.readyAt, e.seq];
    let best: QueueEntry | undefined;
    for (const e of this.entries) {
      if (e.readyAt > now) continue;
      if (!best) { best = e; continue; }
      const a = key(e);
      const b = key(best);
      if (a[0] < b[0] || (a[0] === b[0] && (a[1] < b[1] || (a[1] === b[1] && a[2] < b[2])))) best = e;
    }
    if (best) this.remove(best.id);
    return best;
  }
}

type Op =
  | { op: 'push'; rank: number; delay: number }
  | { op: 'pop' }
  | { op: 'advance'; ms: number }
  | { op: 'cancel'; pick: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('push' as const), rank: fc.integer({ min: 0, max: 4 }), delay: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 500 })) }),
  fc.record({ op: fc.constant('pop' as const) }),
  fc.record({ op: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 300 }) }),
  fc.record({ op: fc.constant('cancel' as const), pick: fc.nat() }),
);

describe('task queue dequeue order', () => {
  it('matches the reference model for random pushes, delays, cancels, pops and time steps', () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
      const q = new TaskQueue(AGING_MS);
      const ref = new ReferenceQueue();
      let now = 0;
      let seq = 0;
      const ids: string[] = [];
      for (const o of ops) {
        if (o.op === 'push') {
          const e = { id: `t${seq}`, rank: o.rank, seq: seq++, readyAt: now + o.delay };
          ids.push(e.id);
          q.push(e);
          ref.push({ ...e });
        } else if (o.op === 'pop') {
          expect(q.pop(now)?.id).toBe(ref.pop(now)?.id);
        } else if (o.op === 'advance') {
          now += o.ms;
        } else if (ids.length > 0) {
          const id = ids[o.pick % ids.length]!;
          q.remove(id);
          ref.remove(id);
        }
      }
      // drain: every remaining entry comes out in the reference's order, none early
      for (let i = 0; i < 1000; i++) {
        const r = ref.pop(now);
        expect(q.pop(now)?.id).toBe(r?.id);
        if (!r) {
          if (q.size === 0) break;
          now = q.nextDueAt() ?? now + 1;
        }
      }
      expect(q.size).toBe(0);
    }), { numRuns: 300 });
  });

  it('ages BACKGROUND ahead of a steady stream of CRITICAL work', () => {
    const q = new TaskQueue(AGING_MS);
    q.push({ id: 'bg', rank: 4, seq: 0, readyAt: 0 });
    let seq = 1;
    let now = 0;
    for (;;) {
      q.push({ id: `c${seq}`, rank: 0, seq: seq++, readyAt: now });
      now += 10;
      const e = q.pop(now)!;
      if (e.id === 'bg') break;
      expect(now).toBeLessThanOrEqual(4 * AGING_MS + 10);
    }
  });

  it('is FIFO within a priority', () => {
    const q = new TaskQueue(AGING_MS);
    for (let i = 0; i < 5; i++) q.push({ id: `n${i}`, rank: 2, seq: i, readyAt: 0 });
    expect(Array.from({ length: 5 }, () => q.pop(0)!.id)).toEqual(['n0', 'n1', 'n2', 'n3', 'n4']);
  });
});
