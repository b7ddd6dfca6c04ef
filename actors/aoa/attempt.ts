import { TroupeError, type Timed } from '../../protocol/index.js';
import type { StoredTask } from '../../storage/index.js';
import type { Outcome, Worker } from './api.js';
import { viewOf, type TaskContext, type TaskHandler, type TaskRecordView } from './task.js';

/**
 * One attempt of a task on a worker: the message the worker actor is told to run (`aoa.work`,
 * local only: it carries the handler), its own timeout entry in the runtime's deadlines, and
 * its end, reported once: the handler's outcome, or the abort (cancel, timeout, close) that
 * came first. A handler that ignores its signal still ends at the abort.
 *
 * Nothing is made per attempt that the handler does not ask for: the task view and the
 * AbortController are created when the handler first reads `task` or `signal`.
 *
 * @example
 * const a = new Attempt(task, worker, now, handler, (a, outcome) => settle(a, outcome));
 * deadlines.add(timeoutMs, a); host.tell(worker.ref, a);
 */
export class Attempt implements Timed {
  readonly type = 'aoa.work';
  deadlineWindow?: unknown;
  deadlineSlot?: number;
  /** Cancelled by the user: its end is not concluded (the cancel records the task). */
  cancelled = false;
  /** Ended by its timeout. */
  timedOut = false;
  private ctrl: AbortController | undefined;
  private reason: unknown;
  private aborted = false;
  private ended = false;

  constructor(
    readonly task: StoredTask,
    readonly worker: Worker,
    readonly startedAt: number,
    private readonly handler: TaskHandler | undefined,
    private readonly onEnd: (a: Attempt, outcome: Outcome) => void,
  ) {}

  get taskId(): string {
    return this.task.id;
  }

  /** The signal the handler gets (made on first read; already aborted when read after the abort). */
  get signal(): AbortSignal {
    if (!this.ctrl) {
      this.ctrl = new AbortController();
      if (this.aborted) this.ctrl.abort(this.reason);
    }
    return this.ctrl.signal;
  }

  /** Run by the worker actor: start the handler, unless the attempt already ended. */
  run(): void {
    if (this.ended) return;
    let p: Promise<unknown>;
    try {
      p = this.handler
        ? Promise.resolve(this.handler(new AttemptContext(this)))
        : Promise.reject(new TroupeError('TROUPE_ERR_AOA_NO_HANDLER', `no handler for task_type ${this.task.task_type}`));
    } catch (e) {
      p = Promise.reject(e);
    }
    p.then((value) => this.end({ ok: true, value }), (error: unknown) => this.end({ ok: false, error }));
  }

  /** End the attempt now with `reason` (its signal aborts); a no-op once it ended. */
  abort(reason: unknown): void {
    if (this.ended) return;
    this.aborted = true;
    this.reason = reason;
    this.ctrl?.abort(reason);
    this.end({ ok: false, error: reason });
  }

  /** Its timeout passed. */
  onDeadline(): void {
    if (this.ended) return;
    this.timedOut = true;
    this.abort(new TroupeError('TROUPE_ERR_AOA_TIMEOUT', `task ${this.task.id} ran past ${this.task.timeout_seconds}s`));
  }

  private end(outcome: Outcome): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this, outcome);
  }
}

/** What a handler sees of its attempt ({@link TaskContext}): the view is made on first read. */
class AttemptContext implements TaskContext {
  readonly #a: Attempt;
  #view: TaskRecordView | undefined;
  readonly attempt: number;

  constructor(a: Attempt) {
    this.#a = a;
    this.attempt = a.task.attempts;
  }

  get task(): TaskRecordView {
    return (this.#view ??= viewOf(this.#a.task, this.#a.startedAt));
  }

  get signal(): AbortSignal {
    return this.#a.signal;
  }
}
