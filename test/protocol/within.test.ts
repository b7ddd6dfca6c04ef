import { describe, expect, it } from 'vitest';
import { ManualClock, within } from '../../protocol/index.js';

describe('within (a promise or a time limit on the injected clock)', () => {
  it('gives the promise\'s value when it comes first, and disarms its timer', async () => {
    const clock = new ManualClock();
    expect(await within(clock, 1_000, Promise.resolve(7))).toBe(7);
    expect(clock.pending).toBe(0);
  });

  it('gives undefined once the time has passed on the clock, not before', async () => {
    const clock = new ManualClock();
    const out = within(clock, 1_000, new Promise<number>(() => undefined));
    clock.advance(999);
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect(await out).toBeUndefined();
    expect(clock.pending).toBe(0);
  });
});
