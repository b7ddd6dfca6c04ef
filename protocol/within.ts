import type { Clock } from './ids.js';

/**
 * `p`'s outcome, or `undefined` once `ms` have passed on the clock (the timer is cleared
 * either way).
 *
 * @example const ok = await within(clock, 2_000, probe());
 */
export async function within<T>(clock: Clock, ms: number, p: Promise<T>): Promise<T | undefined> {
  let timer: unknown;
  try {
    return await Promise.race([p, new Promise<undefined>((r) => { timer = clock.setTimeout(() => r(undefined), ms); })]);
  } finally {
    clock.clearTimeout(timer);
  }
}
