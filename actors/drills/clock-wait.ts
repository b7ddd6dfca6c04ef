import type { Clock } from '../../protocol/index.js';

/**
 * Sleep `ms` on the node's clock; an abort ends it early (it resolves either way).
 *
 * @example await sleepOn(host.clock, 20, signal);
 */
export function sleepOn(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clock.clearTimeout(t);
      resolve();
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Probe every `gapMs` on the clock until a probe succeeds (its time, on the clock), the
 * signal aborts or `forMs` have passed (undefined).
 *
 * @example report.recoveredAt = await firstSuccess(clock, () => probe('during'), 10_000, 20, signal);
 */
export async function firstSuccess(clock: Clock, probe: () => Promise<boolean>, forMs: number, gapMs: number, signal: AbortSignal): Promise<number | undefined> {
  const giveUpAt = clock.now() + forMs;
  while (!signal.aborted && clock.now() < giveUpAt) {
    if (await probe()) return clock.now();
    await sleepOn(clock, gapMs, signal);
  }
  return undefined;
}
