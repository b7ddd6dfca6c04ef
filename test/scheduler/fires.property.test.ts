import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Cron } from 'croner';
import { fireId, type TaskSubmitter } from '../../actors/index.js';
import type { RunningNode } from '../../index.js';
import { tempDir } from '../helpers.js';
import { SteppingClock, quiesce, runUntil, schedulerNode, schedulerOf } from './helpers.js';

const T0 = Date.parse('2026-10-24T23:50:00.000Z'); // near the Europe/Stockholm fall-back

type Op =
  | { kind: 'advance'; ms: number }
  | { kind: 'pause'; ms: number }
  | { kind: 'restart'; downMs: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 1, max: 300_000 }) }),
  fc.record({ kind: fc.constant('pause' as const), ms: fc.integer({ min: 1, max: 300_000 }) }),
  fc.record({ kind: fc.constant('restart' as const), downMs: fc.integer({ min: 0, max: 1_200_000 }) }),
);

const caseArb = fc.record({
  expression: fc.constantFrom('*/30 * * * * *', '0 * * * * *', '10,40 * * * * *', '0 */2 * * * *', '*/45 * * * * *', '0 0,30 * * * *'),
  timezone: fc.constantFrom('UTC', 'Europe/Stockholm', 'America/New_York'),
  catchup: fc.constantFrom('all' as const, 'latest' as const),
  windowS: fc.integer({ min: 0, max: 900 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 6 }),
});

/** Croner's times in (after, upTo]. */
function times(cron: Cron, after: number, upTo: number): number[] {
  const out: number[] = [];
  let t = after;
  for (;;) {
    const n = cron.nextRun(new Date(t))?.getTime();
    if (n === undefined || n > upTo) return out;
    out.push(n);
    t = n;
  }
}

describe('scheduler fire sequence (property)', () => {
  it('matches a reference that enumerates croner times, across pauses and restarts: every due fire once, none early, catch-up as configured', async () => {
    await fc.assert(fc.asyncProperty(caseArb, async (c) => {
      const { dir, cleanup } = tempDir('troupe-sched-prop-');
      const clock = new SteppingClock(T0);
      const calls = new Map<string, number>();
      const early: string[] = [];
      const sub: TaskSubmitter = {
        submitTask: async (body) => {
          calls.set(body.idempotency_key, (calls.get(body.idempotency_key) ?? 0) + 1);
          const nominal = Date.parse(body.idempotency_key.slice(body.idempotency_key.indexOf('@') + 1));
          if (clock.now() < nominal) early.push(body.idempotency_key);
          return { id: body.idempotency_key };
        },
      };
      let n: RunningNode | undefined = await schedulerNode(clock, sub, { dataDir: dir });
      try {
        const job = await schedulerOf(n).create({
          name: 'p', schedule: { type: 'cron', expression: c.expression, timezone: c.timezone }, task: { task_type: 'SCHEDULED_JOB' },
          policy: { catchup: c.catchup, catchup_window_seconds: c.windowS, overlap: 'allow-all' }, // overlap has its own tests
        });
        const cron = new Cron(c.expression, { timezone: c.timezone, paused: true });
        const expected: string[] = [];
        let cursor = T0;
        let missed = 0;
        for (const op of c.ops) {
          const s = schedulerOf(n);
          if (op.kind === 'advance') {
            const to = clock.now() + op.ms;
            for (const t of times(cron, cursor, to)) expected.push(fireId(job.id, t));
            cursor = Math.max(cursor, times(cron, cursor, to).at(-1) ?? cursor);
            await runUntil(clock, s, to);
          } else if (op.kind === 'pause') {
            await s.pause(job.id, { note: 'prop' });
            await runUntil(clock, s, clock.now() + op.ms);
            await s.resume(job.id, {});
            cursor = clock.now();
          } else {
            await quiesce(s);
            await n.close();
            n = undefined;
            clock.advance(op.downMs);
            const now = clock.now();
            const due = times(cron, cursor, now);
            let firing = due.filter((t) => now - t <= c.windowS * 1000);
            missed += due.length - firing.length;
            if (c.catchup === 'latest' && firing.length > 1) {
              missed += firing.length - 1;
              firing = firing.slice(-1);
            }
            for (const t of firing) expected.push(fireId(job.id, t));
            if (due.length > 0) cursor = due.at(-1)!;
            n = await schedulerNode(clock, sub, { dataDir: dir });
            await quiesce(schedulerOf(n));
          }
        }
        await quiesce(schedulerOf(n));
        expect([...calls.keys()]).toEqual(expected);
        expect([...calls.values()].every((k) => k === 1)).toBe(true);
        expect(early).toEqual([]);
        expect((await schedulerOf(n).refresh(job.id)).counters.missed).toBe(missed);
      } finally {
        await n?.close();
        cleanup();
      }
    }), { numRuns: 25 });
  }, 60_000);
});
