import { exponentialDelay, type ExponentialBackoff } from '../protocol/index.js';

/** Restart backoff: the shared exponential formula plus a reset window. */
export interface BackoffOptions extends ExponentialBackoff {
  /** After this long without a failure the attempt count resets to zero. */
  resetAfterMs: number;
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
    const delay = exponentialDelay(this.attempt, this.options, random);
    this.attempt += 1;
    return delay;
  }
}
