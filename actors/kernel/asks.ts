import { TroupeError, type Deadlines, type Timed } from '../../protocol/index.js';
import type { ReplyChannel } from './meta.js';

/**
 * The reply side of a local ask, and its own deadline entry: one object per ask, no
 * closures, no timer of its own (the node's Deadlines run one timer per 10 ms window, on the
 * injected clock); settles once.
 */
export class AskChannel implements ReplyChannel, Timed {
  deadlineWindow?: unknown;
  deadlineSlot?: number;
  private done = false;

  constructor(
    private readonly deadlines: Deadlines,
    private readonly address: string,
    private readonly timeoutMs: number,
    private readonly resolve: (v: unknown) => void,
    private readonly reject: (e: unknown) => void,
  ) {}

  reply(v: unknown): void {
    if (this.done) return;
    this.done = true;
    this.deadlines.cancel(this);
    this.resolve(v);
  }

  error(e: unknown): void {
    if (this.done) return;
    this.done = true;
    this.deadlines.cancel(this);
    this.reject(e);
  }

  onDeadline(): void {
    if (this.done) return;
    this.done = true;
    this.reject(new TroupeError('TROUPE_ERR_ACTOR_ASK_TIMEOUT', `ask to ${this.address} timed out after ${this.timeoutMs}ms`, { details: { timeoutMs: this.timeoutMs } }));
  }
}
