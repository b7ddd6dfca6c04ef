import type { Logger } from 'pino';
import type { TaskStore } from '../../storage/index.js';

/**
 * Keeps at most `retainFinished` finished tasks: past it the oldest are forgotten with their
 * idempotency keys, one pass at a time (each pass takes all the excess of its moment).
 */
export class Retention {
  private pruning = false;

  constructor(private readonly store: TaskStore, private readonly retainFinished: number, private readonly log: Logger, private readonly isClosed: () => boolean) {}

  prune(): void {
    if (this.pruning || this.store.finishedCount() <= this.retainFinished) return;
    this.pruning = true;
    void this.store.prune(this.retainFinished).then(
      (n) => {
        this.pruning = false;
        if (n > 0) this.prune();
      },
      (e: unknown) => {
        this.pruning = false;
        if (!this.isClosed()) this.log.warn({ err: e }, 'could not prune finished tasks');
      },
    );
  }
}
