import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Kernel, type InspectionEvent } from '../../actors/index.js';
import { ManualClock } from '../../protocol/index.js';
import { settle, silent } from '../helpers.js';

/**
 * The reference model, written independently of supervisors/: a supervisor allows a restart
 * when fewer than maxRestarts restarts happened in the last withinMs; each child's delay is
 * minMs doubled per consecutive failure (forgotten after resetAfterMs), capped, jittered.
 */
class Model {
  restarts: number[] = [];
  attempts = new Map<number, { n: number; last: number }>();
  constructor(readonly cfg: Cfg) {}
  fail(child: number, now: number, r: number): { plan: 'restart'; delay: number } | { plan: 'escalate' } {
    const recent = this.restarts.filter((t) => now - t < this.cfg.withinMs);
    if (recent.length >= this.cfg.maxRestarts) return { plan: 'escalate' };
    this.restarts = [...recent, now];
    const a = this.attempts.get(child) ?? { n: 0, last: -Infinity };
    const n = now - a.last >= this.cfg.resetAfterMs ? 0 : a.n;
    this.attempts.set(child, { n: n + 1, last: now });
    if (this.cfg.minMs === 0) return { plan: 'restart', delay: 0 };
    let base = this.cfg.minMs;
    for (let i = 0; i < n && base < this.cfg.maxMs; i++) base *= 2;
    base = Math.min(base, this.cfg.maxMs);
    return { plan: 'restart', delay: Math.min(this.cfg.maxMs, Math.round(base * (1 + r * this.cfg.randomFactor))) };
  }
}

interface Cfg { maxRestarts: number; withinMs: number; minMs: number; maxMs: number; randomFactor: number; resetAfterMs: number }

const cfgArb = fc.record({
  maxRestarts: fc.integer({ min: 1, max: 5 }),
  withinMs: fc.integer({ min: 1, max: 5_000 }),
  minMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 200 })),
  extraMax: fc.integer({ min: 0, max: 20_000 }),
  randomFactor: fc.integer({ min: 0, max: 100 }).map((n) => n / 100),
  resetAfterMs: fc.integer({ min: 0, max: 5_000 }),
}).map(({ extraMax, ...c }) => ({ ...c, maxMs: c.minMs + extraMax }));

// Gaps include the window and reset boundaries exactly, where off-by-one mistakes live.
const stepsArb = (cfg: Cfg) => fc.array(fc.record({
  gap: fc.oneof(fc.integer({ min: 0, max: 3_000 }), fc.constantFrom(0, cfg.withinMs, cfg.resetAfterMs, cfg.withinMs - 1, cfg.resetAfterMs - 1).map((g) => Math.max(0, g))),
  child: fc.integer({ min: 0, max: 1 }),
  r: fc.integer({ min: 0, max: 1_000 }).map((n) => n / 1_000),
}), { minLength: 1, maxLength: 25 });

describe('supervision decisions (property)', () => {
  it('agree with the reference model of intensity and backoff on every step', async () => {
    await fc.assert(
      fc.asyncProperty(cfgArb.chain((cfg) => fc.tuple(fc.constant(cfg), stepsArb(cfg))), async ([cfg, steps]) => {
        const clock = new ManualClock(10_000);
        let nextRandom = 0;
        const k = new Kernel({ id: 'prop', logger: silent, clock, random: () => nextRandom });
        const decisions: InspectionEvent[] = [];
        k.inspect((e) => { if (e.type === 'supervisor.decision' && e.supervisor.endsWith('/top/sup')) decisions.push(e); });
        const spec = {
          name: 'sup',
          supervision: { strategy: 'one-for-one' as const, maxRestarts: cfg.maxRestarts, withinMs: cfg.withinMs, backoff: { minMs: cfg.minMs, maxMs: cfg.maxMs, randomFactor: cfg.randomFactor, resetAfterMs: cfg.resetAfterMs } },
          children: [0, 1].map((i) => ({ name: `c${i}`, poisonAfter: 1, behaviour: (): never => { throw new Error(`c${i} fails`); } })),
        };
        k.spawnSupervisor({ name: 'top', supervision: { maxRestarts: 1_000_000, withinMs: 1 }, children: [spec] });
        let model = new Model(cfg);
        try {
          for (const step of steps) {
            clock.advance(step.gap);
            nextRandom = step.r;
            const now = clock.now();
            const expected = model.fail(step.child, now, step.r);
            const before = decisions.length;
            k.tell(`user/top/sup/c${step.child}`, 'boom');
            await settle(3);
            expect(decisions.length).toBe(before + 1);
            const got = decisions[decisions.length - 1] as Extract<InspectionEvent, { type: 'supervisor.decision' }>;
            if (expected.plan === 'escalate') {
              expect(got.plan).toBe('escalate');
              model = new Model(cfg); // top restarts sup: a fresh incarnation with a fresh budget
            } else {
              expect(got.plan).toBe('restart');
              expect(got.delayMs).toBe(expected.delay);
              clock.advance(expected.delay);
              await settle(2);
            }
          }
        } finally {
          await k.close();
        }
      }),
      { numRuns: 200 },
    );
  });
});
