import { exponentialDelay } from '../protocol/index.js';

/** Exponential backoff with jitter between restarts of one child. */
export interface BackoffOptions {
  /** Delay before the first restart. 0 restarts at once. */
  minMs: number;
  /** Upper bound of the delay. */
  maxMs: number;
  /** Jitter: the delay is multiplied by 1 + random * randomFactor. */
  randomFactor: number;
  /** After this long without a failure the attempt count resets to zero. */
  resetAfterMs: number;
}

/**
 * The delay before restart number `attempt` (0-based): the shared exponential formula.
 *
 * @example backoffDelay(2, { minMs: 10, maxMs: 1000, randomFactor: 0, resetAfterMs: 5000 }, 0) // 40
 */
export function backoffDelay(attempt: number, o: BackoffOptions, random: number): number {
  return exponentialDelay(attempt, o, random);
}

/**
 * Per-child backoff state: counts consecutive restarts, forgetting them after a healthy
 * period of `resetAfterMs` since the last failure.
 */
export class BackoffState {
  private attempt = 0;
  private lastFailureAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: BackoffOptions) {}

  /** The delay for a restart caused by a failure at `now`. */
  next(now: number, random: number): number {
    if (now - this.lastFailureAt >= this.options.resetAfterMs) this.attempt = 0;
    this.lastFailureAt = now;
    const delay = backoffDelay(this.attempt, this.options, random);
    this.attempt += 1;
    return delay;
  }

  get attempts(): number {
    return this.attempt;
  }
}
