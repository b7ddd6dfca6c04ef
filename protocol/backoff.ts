/** Exponential backoff: the one formula for restarts (supervisors/) and reconnects (transport/). */
export interface ExponentialBackoff {
  /** Delay of attempt 0. 0 means no delay at all. */
  minMs: number;
  /** Upper bound, jitter included. */
  maxMs: number;
  /** Jitter: the delay is multiplied by 1 + random * randomFactor. */
  randomFactor: number;
}

/**
 * min(maxMs, minMs * 2^attempt), jittered by `random` (in [0, 1)), capped at maxMs again.
 *
 * @example exponentialDelay(2, { minMs: 10, maxMs: 1000, randomFactor: 0 }, 0) // 40
 */
export function exponentialDelay(attempt: number, o: ExponentialBackoff, random: number): number {
  if (o.minMs <= 0) return 0;
  const base = Math.min(o.maxMs, o.minMs * 2 ** Math.min(attempt, 52));
  return Math.min(o.maxMs, Math.round(base * (1 + random * o.randomFactor)));
}
