import { Deadlines, TroupeError } from '../../protocol/index.js';
import type { StoredTask } from '../../storage/index.js';
import type { ModuleHost } from '../modules/index.js';
import type { Claim, Outcome, Worker } from './api.js';
import { Attempt } from './attempt.js';
import { ClaimAhead } from './claim-ahead.js';
import type { TaskHandler } from './task.js';
import type { WorkerPool } from './worker-pool.js';

/** What the executor asks of the runtime. */
export interface ExecutorDeps {
  /** True while `t` is the open task of its id (not cancelled or finished meanwhile). */
  isOpen(t: StoredTask): boolean;
  handlerFor(type: string): TaskHandler | undefined;
  /** An attempt ended (not cancelled, runtime not closed) at `now`: conclude its task. */
  ended(t: StoredTask, outcome: Outcome, ranMs: number, now: number): void;
  timedOut(): void;
}

/**
 * The running side of the task runtime: claimed attempts (recorded, or being recorded, as
 * running) in claim order, handed to the pool's workers oldest first, and the attempts the
 * workers run, each with its timeout on shared deadline timers.
 *
 * An idle worker is told each attempt (`aoa.work`); a worker whose attempt ends goes on with
 * the oldest committed claim at once, without a message per attempt, or, while claims are
 * still being recorded, waits for the first of them to commit; it is idle again when no claim
 * is left. Under load the workers stay busy and no attempt waits for an actor turn.
 *
 * @example
 * const ex = new Executor(host, pool, deps);
 * if (ex.hasRoom()) ex.reserve();
 */
export class Executor {
  /** Attempts running, by task id. */
  readonly running = new Map<string, Attempt>();
  private readonly claims: Claim[] = [];
  /** Claim slots taken by submits whose record (written as started) is still committing. */
  private reserved = 0;
  private readonly deadlines: Deadlines;
  readonly ahead = new ClaimAhead();
  private readonly attemptEnded = (a: Attempt, outcome: Outcome): void => this.settle(a, outcome);
  /** Workers whose attempt ended while claims were still committing: they take the next committed one. */
  private readonly waiting: Worker[] = [];
  private closed = false;

  constructor(private readonly host: ModuleHost, private readonly pool: WorkerPool, private readonly deps: ExecutorDeps) {
    // one clock timer per millisecond that has any timeout in it (timeouts fire on time)
    this.deadlines = new Deadlines(host.clock, 1);
  }

  /** Workers waiting for a claim to commit (idle in all but name). */
  get waitingWorkers(): number {
    return this.waiting.length;
  }

  /** Claims held (recorded or being recorded, not yet on a worker). */
  get claimed(): number {
    return this.claims.length + this.reserved;
  }

  /** True when another attempt may be claimed now. */
  hasRoom(): boolean {
    return !this.closed && this.claims.length + this.reserved < this.ahead.budget(this.pool.workers.length);
  }

  /** Hold a claim slot for a submit whose record is written as started. */
  reserve(): void {
    this.reserved++;
  }

  unreserve(): void {
    this.reserved--;
    this.releaseWaiting();
  }

  /** A claim whose record is committing; `committed()` once it has. */
  add(t: StoredTask, committed: boolean, now?: number): Claim {
    const c: Claim = { t, committed };
    if (!this.closed) this.claims.push(c);
    if (committed) this.startClaimed(now);
    return c;
  }

  committed(c: Claim, commitMs: number): void {
    this.ahead.commitTook(commitMs);
    c.committed = true;
    this.startClaimed();
  }

  /** A claim whose record could not be written: it is no claim. */
  drop(c: Claim): void {
    const i = this.claims.indexOf(c);
    if (i >= 0) this.claims.splice(i, 1);
    this.releaseWaiting();
  }

  /** Run committed claims, oldest first: on waiting workers at once, then told to idle ones. */
  startClaimed(now?: number): void {
    while (this.nextCommitted()) {
      now ??= this.host.clock.now();
      const w = this.waiting.pop();
      if (w) {
        this.run(this.claims.shift()!.t, w, true, now);
        continue;
      }
      const worker = this.pool.take();
      if (!worker) return;
      this.run(this.claims.shift()!.t, worker, false, now);
    }
    this.releaseWaiting();
  }

  /** Waiting workers are idle again once no claim is left to wait for. */
  private releaseWaiting(): void {
    if (this.claims.length + this.reserved > 0 || this.waiting.length === 0) return;
    const now = this.host.clock.now();
    for (const w of this.waiting.splice(0)) this.pool.release(w, now);
  }

  /** End a running attempt of task `id` as cancelled; false when none runs. */
  cancel(id: string): boolean {
    const a = this.running.get(id);
    if (!a) return false;
    a.cancelled = true;
    a.abort(new TroupeError('TROUPE_ERR_AOA_CANCELLED', `task ${id} was cancelled`));
    return true;
  }

  /** Abort every running attempt; the claims that never ran, for the runtime to give back. */
  close(): StoredTask[] {
    this.closed = true;
    for (const a of [...this.running.values()]) a.abort(new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the node closed during the task'));
    this.deadlines.clear();
    const now = this.host.clock.now();
    for (const w of this.waiting.splice(0)) this.pool.release(w, now);
    return this.claims.splice(0).map((c) => c.t).filter((t) => this.deps.isOpen(t));
  }

  /** True when the oldest live claim is committed (claims of tasks cancelled meanwhile are dropped). */
  private nextCommitted(): boolean {
    while (!this.closed && this.claims.length > 0) {
      const c = this.claims[0]!;
      if (this.deps.isOpen(c.t)) return c.committed;
      this.claims.shift();
    }
    return false;
  }

  /** Run the task's attempt on `worker` (taken): told as a message to an idle one, at once on one going on; its timeout counts from now. */
  private run(t: StoredTask, worker: Worker, goingOn: boolean, now: number): void {
    const a = new Attempt(t, worker, now, this.deps.handlerFor(t.task_type), this.attemptEnded);
    this.running.set(t.id, a);
    this.deadlines.add(Math.min(Math.round(t.timeout_seconds * 1000), 2 ** 31 - 1), a, now);
    if (goingOn) return a.run();
    try {
      this.host.tell(worker.ref, a);
    } catch (e) {
      a.abort(e); // the worker's mailbox refused it
    }
  }

  private settle(a: Attempt, outcome: Outcome): void {
    this.deadlines.cancel(a);
    const now = this.host.clock.now();
    const t = a.task;
    if (this.running.get(t.id) === a) this.running.delete(t.id);
    if (a.timedOut) this.deps.timedOut();
    // the worker goes on with the next committed claim, waits for one being recorded, or is idle
    if (this.nextCommitted()) this.run(this.claims.shift()!.t, a.worker, true, now);
    else if (!this.closed && this.claims.length + this.reserved > 0) this.waiting.push(a.worker);
    else this.pool.release(a.worker, now);
    if (!a.cancelled && !this.closed && this.deps.isOpen(t)) {
      this.ahead.runTook(now - a.startedAt);
      this.deps.ended(t, outcome, now - a.startedAt, now);
    }
  }
}
