import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Deadlines, ManualClock } from '../../protocol/index.js';

describe('Deadlines (many deadlines on few timers)', () => {
  it('fires each deadline once, no earlier than asked and at most one window late; cancelled ones never', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ delay: fc.integer({ min: 0, max: 200 }), cancelAt: fc.option(fc.integer({ min: 0, max: 250 }), { nil: undefined }) }), { maxLength: 40 }),
      (specs) => {
        const clock = new ManualClock(1_000);
        const deadlines = new Deadlines(clock, 10);
        const fired: Array<{ i: number; at: number }> = [];
        const handles = specs.map((s, i) => deadlines.after(s.delay, () => fired.push({ i, at: clock.now() })));
        for (let t = 0; t <= 260; t++) {
          specs.forEach((s, i) => { if (s.cancelAt === t) deadlines.cancel(handles[i]!); });
          clock.advance(1);
        }
        const expected = specs.map((s, i) => ({ s, i })).filter(({ s }) => s.cancelAt === undefined || s.cancelAt >= s.delay + 10);
        for (const { i } of fired) expect(fired.filter((f) => f.i === i)).toHaveLength(1);
        for (const { s, i } of specs.map((s, i) => ({ s, i }))) {
          const f = fired.find((x) => x.i === i);
          if (s.cancelAt !== undefined && s.cancelAt < s.delay) expect(f).toBeUndefined();
          if (f) {
            expect(f.at - 1_000).toBeGreaterThanOrEqual(s.delay);
            expect(f.at - 1_000).toBeLessThanOrEqual(s.delay + 10);
          }
        }
        for (const { i } of expected) expect(fired.some((f) => f.i === i)).toBe(true);
        expect(deadlines.size).toBe(0);
      },
    ), { numRuns: 200 });
  });

  it('shares one clock timer per window and gives it back once every deadline in it is cancelled', () => {
    const clock = new ManualClock(0);
    let timers = 0;
    const counting = { ...clock, now: () => clock.now(), setTimeout: (fn: () => void, ms: number) => { timers++; return clock.setTimeout(fn, ms); }, clearTimeout: (h: unknown) => clock.clearTimeout(h) };
    const deadlines = new Deadlines(counting, 10);
    const hs = Array.from({ length: 100 }, () => deadlines.after(5_000, () => { throw new Error('must not fire'); }));
    expect(timers).toBe(1);
    expect(deadlines.size).toBe(100);
    for (const h of hs) deadlines.cancel(h);
    expect(deadlines.size).toBe(0);
    clock.advance(10_000);
    deadlines.after(5, () => undefined);
    expect(timers).toBe(2);
    deadlines.clear();
    expect(deadlines.size).toBe(0);
  });
});
