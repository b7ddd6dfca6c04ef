import type { Logger } from 'pino';
import type { Clock } from '../../protocol/index.js';
import type { TaskStore } from '../../storage/index.js';

/** A pass forgets at least this share of `retainFinished` at once, while tasks keep finishing. */
const PASS_SHARE = 1 / 16;
/** ... and at most waits for this many extra finished tasks before it does. */
const MAX_PASS = 1024;
/** A smaller excess is forgotten at most this long after it appears (when finishes stop short of a batch). */
export const RETENTION_SWEEP_MS = 1_000;

/**
 * Keeps the newest `retainFinished` finished tasks: past it the oldest are forgotten with
 * their idempotency keys, one pass at a time (each pass takes all the excess of its moment).
 *
 * While tasks keep finishing, a pass waits until the excess is a batch worth its write
 * ({@link PASS_SHARE} of `retainFinished`, at most {@link MAX_PASS}): a removal costs
 * LMDB about the same pages for one record as for a run of them, so many small passes
 * rewrite the oldest pages once per commit (in the aoa bench a pass per commit cost about a
 * fifth of the disk writes per task). A smaller excess is forgotten within
 * {@link RETENTION_SWEEP_MS}, so at rest at most `retainFinished` are kept.
 *
 * @example
 * const r = new Retention(store, 10_000, log, () => closed, clock);
 * r.prune(); // after each finish
 */
export class Retention {
  private pruning = false;
  private sweep: unknown;
  private readonly pass: number;

  constructor(
    private readonly store: TaskStore,
    private readonly retainFinished: number,
    private readonly log: Logger,
    private readonly isClosed: () => boolean,
    private readonly clock: Clock,
  ) {
    this.pass = Math.max(1, Math.min(MAX_PASS, Math.floor(retainFinished * PASS_SHARE)));
  }

  /** A task finished: start a pass when the excess is a batch (or arm the sweep for a smaller one). */
  prune(): void {
    if (this.pruning) return;
    const excess = this.store.finishedCount() - this.retainFinished;
    if (excess <= 0) return;
    if (excess < this.pass) {
      if (this.sweep === undefined) this.sweep = this.clock.setTimeout(() => this.swept(), RETENTION_SWEEP_MS);
      return;
    }
    this.run();
  }

  /** Stop the sweep timer (close). */
  stop(): void {
    if (this.sweep !== undefined) this.clock.clearTimeout(this.sweep);
    this.sweep = undefined;
  }

  private swept(): void {
    this.sweep = undefined;
    if (this.pruning || this.isClosed() || this.store.finishedCount() <= this.retainFinished) return;
    this.run();
  }

  private run(): void {
    this.pruning = true;
    void this.store.prune(this.retainFinished).then(
      (n) => {
        this.pruning = false;
        if (n > 0 && !this.isClosed()) this.prune();
      },
      (e: unknown) => {
        this.pruning = false;
        if (!this.isClosed()) this.log.warn({ err: e }, 'could not prune finished tasks');
      },
    );
  }
}
