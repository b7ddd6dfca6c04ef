import type { Queued } from './run-table.js';

/** A run waiting for a slot, with what the queue orders and expires it by. */
export interface Waiting extends Queued {
  /** Who asked (an API key's id; '' for callers without one): round robin goes over these. */
  caller: string;
  /** Clock time past which the run may no longer start. */
  deadline: number;
}

/**
 * The runs waiting for an agent's slots: first in, first out per caller, and round robin
 * over callers (API keys), so a caller with a thousand runs waiting holds up another's next
 * run by at most one of its own. With one caller (no API keys) it is one FIFO queue. A
 * run whose conversation already has a run in flight is passed over (its conversation
 * goes one run at a time), never reordered within its caller.
 *
 * @example
 * const q = new RunQueue();
 * q.push(waiting);
 * const next = q.take((w) => !busy.has(w.msg.conversationId)); // undefined when none may start
 */
export class RunQueue {
  /** Per caller, its runs in arrival order. A caller is here only while it has runs waiting. */
  readonly #byCaller = new Map<string, Waiting[]>();
  /** Callers in round-robin order; `#turn` is the index of the one served next. */
  #ring: string[] = [];
  #turn = 0;
  readonly #byRun = new Map<string, Waiting>();

  get size(): number {
    return this.#byRun.size;
  }

  has(runId: string): boolean {
    return this.#byRun.has(runId);
  }

  /** Runs `caller` has waiting. */
  waitingOf(caller: string): number {
    return this.#byCaller.get(caller)?.length ?? 0;
  }

  push(w: Waiting): void {
    let mine = this.#byCaller.get(w.caller);
    if (mine === undefined) {
      mine = [];
      this.#byCaller.set(w.caller, mine);
      // a newcomer is served after everyone already waiting has had a turn
      this.#ring.splice(this.#turn, 0, w.caller);
      this.#turn = (this.#turn + 1) % this.#ring.length;
    }
    mine.push(w);
    this.#byRun.set(w.msg.runId, w);
  }

  /**
   * The next run to start: the caller whose turn it is gives its oldest run that `may`
   * start; a caller with none that may is skipped this round. Undefined when no run may.
   */
  take(may: (w: Waiting) => boolean): Waiting | undefined {
    const n = this.#ring.length;
    for (let k = 0; k < n; k++) {
      const i = (this.#turn + k) % n;
      const caller = this.#ring[i]!;
      const mine = this.#byCaller.get(caller)!;
      const j = mine.findIndex(may);
      if (j < 0) continue;
      const [w] = mine.splice(j, 1);
      this.#byRun.delete(w!.msg.runId);
      if (mine.length === 0) {
        this.#dropCaller(caller, i);
        this.#turn = n - 1 === 0 ? 0 : i % (n - 1);
      } else {
        this.#turn = (i + 1) % n;
      }
      return w;
    }
    return undefined;
  }

  /** Take one run out (a cancel); undefined when it is not waiting. */
  remove(runId: string): Waiting | undefined {
    const w = this.#byRun.get(runId);
    if (w === undefined) return undefined;
    this.#byRun.delete(runId);
    const mine = this.#byCaller.get(w.caller)!;
    mine.splice(mine.indexOf(w), 1);
    if (mine.length === 0) {
      const i = this.#ring.indexOf(w.caller);
      this.#dropCaller(w.caller, i);
      if (i < this.#turn) this.#turn--;
      if (this.#turn >= this.#ring.length) this.#turn = 0;
    }
    return w;
  }

  /** Take out every run whose deadline is at or before `now`, oldest first. */
  expire(now: number): Waiting[] {
    const out: Waiting[] = [];
    for (const w of this.#byRun.values()) if (w.deadline <= now) out.push(w);
    for (const w of out) this.remove(w.msg.runId);
    return out;
  }

  /** The earliest deadline of the runs waiting. */
  earliestDeadline(): number | undefined {
    let min: number | undefined;
    for (const w of this.#byRun.values()) if (min === undefined || w.deadline < min) min = w.deadline;
    return min;
  }

  /** Take out every run (a halt, the end of an incarnation), in arrival order. */
  drain(): Waiting[] {
    const out = [...this.#byRun.values()];
    this.#byRun.clear();
    this.#byCaller.clear();
    this.#ring = [];
    this.#turn = 0;
    return out;
  }

  #dropCaller(caller: string, i: number): void {
    this.#byCaller.delete(caller);
    this.#ring.splice(i, 1);
  }
}
