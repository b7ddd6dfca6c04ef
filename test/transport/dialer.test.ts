import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { Dialer, type DialTarget } from '../../transport/dialer.js';

/** A dialer on a ManualClock whose dials the test ends by hand, recording when each began. */
function harness(selfNode = 'm', options: { randomFactor?: number; linked?: Set<string> } = {}) {
  const clock = new ManualClock(0);
  const dials: Array<{ at: number; t: DialTarget }> = [];
  const linked = options.linked ?? new Set<string>();
  const dialer = new Dialer({
    selfNode,
    backoff: { minMs: 100, maxMs: 1_000, randomFactor: options.randomFactor ?? 0 },
    deferMs: 500,
    setTimer: (fn, ms) => clock.setTimeout(fn, ms),
    clearTimer: (h) => clock.clearTimeout(h),
    random: () => 0.5,
    satisfied: (t) => t.node !== undefined && linked.has(t.node),
    dial: (t) => dials.push({ at: clock.now(), t }),
  });
  return { clock, dials, dialer, linked };
}

describe('dialer backoff (on the injected clock)', () => {
  it('dials at once, then backs off exponentially after each failure up to the cap, forever', () => {
    const { clock, dials, dialer } = harness();
    const t = dialer.want('ws://10.0.0.2:7700', { seed: true });
    clock.advance(0);
    expect(dials.map((d) => d.at)).toEqual([0]);
    const expected = [100, 200, 400, 800, 1_000, 1_000];
    for (const gap of expected) {
      const last = dials.at(-1)!.at;
      dialer.ended(t, false);
      clock.advance(gap - 1);
      expect(dials.at(-1)!.at).toBe(last); // not yet
      clock.advance(1);
      expect(dials.at(-1)!.at).toBe(last + gap);
    }
  });

  it('jitters within randomFactor and never past maxMs', () => {
    const { clock, dials, dialer } = harness('m', { randomFactor: 0.2 });
    const t = dialer.want('ws://10.0.0.2:7700');
    clock.advance(0);
    dialer.ended(t, false);
    clock.advance(1_000);
    expect(dials[1]!.at - dials[0]!.at).toBe(110); // 100 * (1 + 0.5 * 0.2)
    let endedAt = 0;
    for (let i = 0; i < 5; i++) {
      endedAt = clock.now();
      dialer.ended(t, false);
      clock.advance(10_000);
    }
    expect(dials.at(-1)!.at - endedAt).toBe(1_000); // 800 * 1.1 = 880 at attempt 4; capped from 5 on

  });

  it('a link that came up resets the backoff: the next loss is redialed at once', () => {
    const { clock, dials, dialer } = harness();
    const t = dialer.want('ws://10.0.0.2:7700', { node: 'z' });
    clock.advance(0);
    for (let i = 0; i < 4; i++) {
      dialer.ended(t, false);
      clock.advance(10_000);
    }
    const n = dials.length;
    dialer.ended(t, true); // that dial linked, and the link has now ended
    clock.advance(0);
    expect(dials).toHaveLength(n + 1);
  });

  it('leaves the first dial to the lower node id for deferMs, then dials itself', () => {
    const { clock, dials, dialer } = harness('m');
    dialer.want('ws://10.0.0.2:7700', { node: 'a' }); // 'a' < 'm': a dials us
    clock.advance(499);
    expect(dials).toEqual([]);
    clock.advance(1);
    expect(dials.map((d) => d.at)).toEqual([500]);
  });

  it('does not dial a target whose node is already linked, nor after stop', () => {
    const linked = new Set(['z']);
    const { clock, dials, dialer } = harness('m', { linked });
    dialer.want('ws://10.0.0.2:7700', { node: 'z' });
    clock.advance(10_000);
    expect(dials).toEqual([]);
    linked.delete('z');
    dialer.reconcile();
    dialer.stop();
    clock.advance(10_000);
    expect(dials).toEqual([]);
    expect(clock.pending).toBe(0);
  });
});
