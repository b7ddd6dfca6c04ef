import type { Clock } from '../../../protocol/index.js';
import type { CancelSignal } from './provider.js';

/**
 * Retry timing for upstream model calls: what the server asked for (`retry-after-ms`,
 * `retry-after`) and exponential backoff with jitter when it asked for nothing.
 */

/** Something with a `get(name)` like the fetch `Headers`. */
export interface HeaderBag {
  get(name: string): string | null;
}

/**
 * The wait a 429/503 asks for, in ms: `retry-after-ms` first (OpenAI's own header), then
 * `retry-after` as seconds or an HTTP date. Undefined when absent or unparseable.
 *
 * @example
 * parseRetryAfter(new Headers({ 'retry-after': '1' }), Date.now()); // 1000
 */
export function parseRetryAfter(headers: HeaderBag | undefined, now: number): number | undefined {
  if (!headers) return undefined;
  const ms = headers.get('retry-after-ms');
  if (ms !== null && ms.trim() !== '') {
    const n = Number(ms);
    if (Number.isFinite(n) && n >= 0) return Math.ceil(n);
  }
  const ra = headers.get('retry-after');
  if (ra === null || ra.trim() === '') return undefined;
  const seconds = Number(ra);
  if (Number.isFinite(seconds)) return seconds >= 0 ? Math.ceil(seconds * 1000) : undefined;
  const date = Date.parse(ra);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * Exponential backoff with jitter: attempt n waits between half and all of
 * `min(max, base * 2^n)`, so retries spread out but never collapse to zero.
 *
 * @example
 * backoffDelay(2, 500, 8000, Math.random); // between 1000 and 2000
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Sleep that an AbortSignal can cut short (it then rejects with the signal's reason). */
export type Sleep = (ms: number, signal?: CancelSignal) => Promise<void>;

/**
 * A sleep on a clock's timers: the provider's default, on the clock it was given, so a
 * test clock drives retry waits too.
 *
 * @example
 * const sleep = clockSleep(systemClock);
 * await sleep(100, signal);
 */
export function clockSleep(clock: Clock): Sleep {
  return (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        clock.clearTimeout(timer);
        reject(signal?.reason);
      };
      const timer = clock.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
}
