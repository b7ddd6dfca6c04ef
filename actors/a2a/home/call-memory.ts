import type { Clock } from '../../../protocol/index.js';
import type { CallReply } from './wire.js';

/** Calls remembered at once for the repeats of their askers; past it the oldest finished go first. */
export const MAX_REMEMBERED_CALLS = 10_000;

/**
 * A call's outcome as remembered: a task's id only (read again for a repeat), its record in
 * LMDB (`recorded`: read from there for a repeat), else the reply itself.
 */
export type Outcome = CallReply | { ok: true; taskRef: string } | { ok: true; recorded: true; taskRef?: string };

/** One call (or stream start) the home has taken, by the id its asker gave it. */
interface Remembered {
  /** What it was (a repeat must be the same call). */
  what: string;
  /** Settles with the outcome; a repeat waits on it while the call runs. */
  outcome: Promise<Outcome>;
  done: boolean;
  /** Clock ms until which its asker may repeat it. */
  keepUntil: number;
}

/**
 * The home node's memory of the calls it took from other nodes, so that a call its asker
 * repeats (the peer link dropped before the answer came back) runs once: a repeat finds the
 * call running and waits for it, or finished and gets its outcome. Each is kept for as long as
 * its asker said it may retry (`retryForMs`), bounded in count: when full, expired calls go
 * first, then the oldest finished ones; with every remembered call still running, a new one
 * is refused (its asker retries). A task's outcome is kept as the task's id and read again
 * for a repeat, so the memory holds no task bodies.
 *
 * @example
 * const memory = new CallMemory(clock);
 * const hit = memory.find(callId, 'far/sendMessage') ?? memory.remember(callId, 'far/sendMessage', run(), 60_000);
 */
export class CallMemory {
  private readonly calls = new Map<string, Remembered>();

  constructor(private readonly clock: Clock, private readonly max = MAX_REMEMBERED_CALLS) {}

  get size(): number {
    return this.calls.size;
  }

  /** The outcome of the call `id` when it is the same call (`what`), else undefined. */
  find(id: string, what: string): Promise<Outcome> | undefined {
    const r = this.calls.get(id);
    if (r === undefined || r.what !== what) return undefined;
    if (r.done && r.keepUntil < this.clock.now()) {
      this.calls.delete(id);
      return undefined;
    }
    return r.outcome;
  }

  /** Room for one more call: false when every remembered call still runs (and none expired). */
  admit(): boolean {
    const now = this.clock.now();
    // oldest first: finished ones past their window go at once
    for (const [id, r] of this.calls) {
      if (this.calls.size < this.max) break;
      if (r.done && r.keepUntil < now) this.calls.delete(id);
    }
    if (this.calls.size < this.max) return true;
    for (const [id, r] of this.calls) {
      if (!r.done) continue;
      this.calls.delete(id);
      return true;
    }
    return false;
  }

  /** Remember the call `id` running as `outcome`, for `retryForMs` from now; returns `outcome`. */
  remember(id: string, what: string, outcome: Promise<Outcome>, retryForMs: number): Promise<Outcome> {
    const r: Remembered = { what, outcome, done: false, keepUntil: this.clock.now() + retryForMs };
    this.calls.delete(id);
    this.calls.set(id, r);
    void outcome.then(() => {
      r.done = true;
      // nobody can repeat it any more: gone at once
      if (this.calls.get(id) === r && r.keepUntil < this.clock.now()) this.calls.delete(id);
    }, () => {
      if (this.calls.get(id) === r) this.calls.delete(id);
    });
    return outcome;
  }
}
