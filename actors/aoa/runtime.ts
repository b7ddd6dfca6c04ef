import type { Logger } from 'pino';
import { TroupeError, prefixedId } from '../../protocol/index.js';
import { TASK_PRIORITIES, TERMINAL_STATUSES, type StoredTask, type TaskListFilter, type TaskStore } from '../../storage/index.js';
import type { ModuleHost } from '../modules/index.js';
import { AoaMetrics } from './metrics.js';
import type { AoaOptions } from './options.js';
import { TaskQueue } from './queue.js';
import type { AoaApi, Outcome, SubmitHook } from './api.js';
import { BUILTIN_HANDLERS } from './builtin-handlers.js';
import { newTask, asBefore, type Finishing } from './record.js';
import { BUILTIN_TASK_TYPES, TASK_TYPE_RE, parseSubmit, viewOf, type TaskHandler, type TaskRecordView, type TaskSubmitInput } from './task.js';
import { Executor } from './executor.js';
import { WorkerPool } from './worker-pool.js';
import { Retention } from './retention.js';
import { auditTask } from './task-audit.js';
import { verdictOf } from './outcome.js';
import { Waiters } from './waiters.js';
import { Idempotency } from './idempotency.js';
import { giveBack } from './give-back.js';

/** Bound on submit hooks (one per module that enriches tasks). */
const MAX_SUBMIT_HOOKS = 16;

/** What the runtime knows of a record it commits (see TaskStore.put), shared by every write. */
const CREATED = { created: true };
const FINISHED = { finished: true };
const REWRITE = {};

/**
 * The durable task runtime: tasks committed to the task store are queued in memory
 * ({@link TaskQueue}) and handed to supervised worker actors (`/system/aoa-worker-N`), which
 * the pool adds and stops between min and max. An attempt is recorded (running, attempts+1)
 * before its handler runs (claimed ahead of a free worker, as far ahead as {@link ClaimAhead}
 * allows, so the commit overlaps other runs; in the submit's own commit when there is room);
 * a completion is committed before anyone is told; after a crash, open tasks are queued again
 * (a running or claimed one keeps its counted attempt). See README "Task runtime".
 */
export class AoaRuntime implements AoaApi {
  readonly metricsRegistry;
  private readonly queue: TaskQueue;
  private readonly open = new Map<string, StoredTask>();
  /** Recovered open tasks whose type has no handler yet, by type (queued when one is registered). */
  private readonly parked = new Map<string, StoredTask[]>();
  /** Tasks whose finished record is being committed, with what they were before (see {@link Finishing}). */
  private readonly finishing = new Map<string, Finishing>();
  private readonly retention: Retention;
  private readonly pool: WorkerPool;
  private readonly exec: Executor;
  private readonly handlers = new Map<string, TaskHandler>();
  private readonly submitHooks: SubmitHook[] = [];
  private readonly idem = new Idempotency<TaskRecordView>();
  private readonly waiters = new Waiters<TaskRecordView>();
  private readonly metricsImpl: AoaMetrics;
  private readonly log: Logger;
  private seq = 0;
  private wake: { at: number; handle: unknown } | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;

  constructor(private readonly host: ModuleHost, private readonly store: TaskStore, private readonly options: AoaOptions) {
    this.log = host.logger.child({ module: 'aoa' });
    this.queue = new TaskQueue(options.agingMs);
    this.metricsImpl = new AoaMetrics(host.id, {
      depthByPriority: () => this.queue.depthByRank(),
      workers: () => ({ total: this.pool.workers.length, busy: this.pool.busyCount() - this.exec.waitingWorkers }),
    }, () => host.clock.now());
    this.metricsRegistry = this.metricsImpl.registry;
    this.retention = new Retention(store, options.retainFinished, this.log, () => this.closed, host.clock);
    this.pool = new WorkerPool(host, options, this.queue, this.metricsImpl, this.log, () => this.pump());
    this.exec = new Executor(host, this.pool, {
      isOpen: (t) => this.open.get(t.id) === t,
      handlerFor: (type) => this.handlers.get(type) ?? BUILTIN_HANDLERS[type]?.(this.host),
      ended: (t, outcome, ranMs, now) => {
        this.metricsImpl.observeRun(ranMs);
        this.conclude(t, outcome, now);
      },
      timedOut: () => this.metricsImpl.count('timed_out'),
    });
    this.handlers.set('NOOP', () => Promise.resolve({}));
  }

  /** Recover open tasks, start the minimum of workers and the autoscaler. */
  start(): void {
    const now = this.host.clock.now();
    const open = this.store.open().sort((a, b) => a.seq - b.seq);
    for (const t of open) {
      this.seq = Math.max(this.seq, t.seq + 1);
      // a task that was running when the node died is retried; its start was counted as an attempt
      if (t.status === 'running') {
        t.status = 'pending';
        t.ready_at = now;
        this.persist(t, REWRITE).catch((e: unknown) => this.log.error({ err: e, task: t.id }, 'could not record a recovered task as pending'));
      }
      this.open.set(t.id, t);
      // a type whose handler is registered after start (by code, or by a module that starts later) waits for it
      if (this.hasHandler(t.task_type)) this.enqueue(t);
      else this.parked.set(t.task_type, [...(this.parked.get(t.task_type) ?? []), t]);
    }
    if (open.length > 0) this.log.info({ tasks: open.length }, 'open tasks recovered');
    for (const [type, list] of this.parked) this.log.warn({ task_type: type, tasks: list.length }, 'recovered tasks wait for a handler of their type');
    this.pool.start();
    this.pump();
  }

  registerHandler(type: string, handler: TaskHandler): void {
    if (!TASK_TYPE_RE.test(type) || typeof handler !== 'function') throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'a task type is upper snake case (1-64) and its handler a function');
    this.handlers.set(type, handler);
    const waiting = this.parked.get(type);
    this.parked.delete(type);
    for (const t of waiting ?? []) if (this.open.get(t.id) === t) this.enqueue(t);
    this.pump();
  }

  addSubmitHook(hook: SubmitHook): void {
    if (typeof hook !== 'function' || this.submitHooks.length >= MAX_SUBMIT_HOOKS) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `a submit hook is a function; at most ${MAX_SUBMIT_HOOKS}`);
    this.submitHooks.push(hook);
  }

  private hasHandler(type: string): boolean {
    return this.handlers.has(type) || BUILTIN_HANDLERS[type]?.(this.host) !== undefined;
  }

  private enqueue(t: StoredTask): void {
    this.queue.push({ id: t.id, rank: TASK_PRIORITIES.indexOf(t.priority), seq: t.seq, readyAt: t.ready_at });
  }

  submitTask(input: TaskSubmitInput): Promise<TaskRecordView> {
    // not an async function: its own promise would wrap the commit's (two more microtask hops)
    try {
      return this.submit(input);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private submit(input: TaskSubmitInput): Promise<TaskRecordView> {
    if (this.closed || this.host.isClosing) throw new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the task runtime is closing');
    let s = parseSubmit(input);
    for (const hook of this.submitHooks) s = hook(s);
    if (!this.handlers.has(s.task_type) && !(BUILTIN_TASK_TYPES as readonly string[]).includes(s.task_type)) {
      throw new TroupeError('TROUPE_ERR_AOA_INVALID_TASK', `invalid task: no handler is registered for task_type ${s.task_type}`);
    }
    const key = s.idempotency_key;
    const known = key === undefined ? undefined : this.idem.known(key, (k) => {
      const existing = this.store.byIdempotencyKey(k);
      const t = existing === undefined ? undefined : this.open.get(existing) ?? this.store.get(existing);
      return t ? viewOf(t, this.host.clock.now()) : undefined;
    });
    if (known) return Promise.resolve(known);
    if (this.open.size >= this.options.maxOpenTasks) throw new TroupeError('TROUPE_ERR_AOA_QUEUE_FULL', `the task runtime holds ${this.options.maxOpenTasks} open tasks`);
    const now = this.host.clock.now();
    // one flat string (a template literal makes a rope, flattened again at each Map lookup and encode)
    const task = newTask(s, prefixedId('task_'), this.seq++, now);
    const startsNow = this.canStartAtSubmit(task, now);
    if (startsNow) {
      // room to claim and nothing ready ahead of it: its first attempt is recorded in the
      // submit's own commit (one write instead of two; a crash after it retries the task
      // with the attempt counted, as for any claimed task)
      this.exec.reserve();
      task.status = 'running';
      task.attempts = 1;
      task.started_at = now;
    }
    const commit = this.persist(task, CREATED).then(
      () => this.submitted(task, startsNow, now),
      (e: unknown) => {
        if (startsNow) this.exec.unreserve();
        throw e;
      },
    );
    if (key !== undefined) this.idem.track(key, commit);
    return commit;
  }

  /** A submit committed: audit it (TASK_SUBMIT, then TASK_START when it started), queue or claim it, answer the submitter. */
  private submitted(task: StoredTask, startsNow: boolean, at: number): Promise<TaskRecordView> | TaskRecordView {
    if (startsNow) this.exec.unreserve();
    // one reading of the clock for the rest of this turn's steps of the task
    const now = this.host.clock.now();
    this.exec.ahead.commitTook(now - at);
    // the submitter is answered with the task as accepted (its attempt is not reported yet)
    const audited = auditTask(this.host, 'TASK_SUBMIT', task, 0);
    if (audited === undefined) return this.admit(task, startsNow, now);
    return audited.then(() => this.admit(task, startsNow, this.host.clock.now()), (e: unknown) => {
      // the task is committed: it runs even so; the submitter hears that it was not audited
      this.admit(task, startsNow, this.host.clock.now());
      throw e;
    });
  }

  private admit(task: StoredTask, startsNow: boolean, now: number): TaskRecordView {
    this.open.set(task.id, task);
    this.metricsImpl.count('submitted');
    if (startsNow) {
      this.metricsImpl.observeWait(0);
      this.auditStart(task);
    } else {
      this.enqueue(task);
    }
    const view = viewOf(task, now, startsNow);
    // after a close the attempt stays counted, as after a kill -9
    if (startsNow) this.exec.add(task, true, now);
    this.pump(now);
    return view;
  }

  private auditStart(t: StoredTask): void {
    auditTask(this.host, 'TASK_START', t)?.catch((e: unknown) => this.log.error({ err: e, task: t.id }, 'could not record a task start in the audit log'));
  }

  getTask(id: string): TaskRecordView {
    const f = this.finishing.get(id);
    const t = this.open.get(id) ?? (f === undefined ? undefined : asBefore(f)) ?? this.store.get(id);
    if (!t) throw new TroupeError('TROUPE_ERR_AOA_TASK_NOT_FOUND', `no task ${id.slice(0, 128)}`);
    return viewOf(t, this.host.clock.now());
  }

  listTasks(filter: TaskListFilter = {}, options: { limit?: number; after?: string } = {}): { tasks: TaskRecordView[]; next?: string } {
    const limit = Math.min(Math.max(1, options.limit ?? 100), 1000);
    const page = this.store.list(filter, limit, options.after);
    const now = this.host.clock.now();
    return { tasks: page.tasks.map((t) => viewOf(this.open.get(t.id) ?? t, now)), ...(page.next ? { next: page.next } : {}) };
  }

  async cancelTask(id: string): Promise<TaskRecordView> {
    const t = this.open.get(id);
    if (!t) {
      const stored = this.store.get(id);
      if (!stored) throw new TroupeError('TROUPE_ERR_AOA_TASK_NOT_FOUND', `no task ${id.slice(0, 128)}`);
      throw new TroupeError('TROUPE_ERR_AOA_TASK_FINISHED', `task ${id} is already ${stored.status}`, { details: { status: stored.status } });
    }
    if (!this.exec.cancel(id)) this.queue.remove(id);
    this.metricsImpl.count('cancelled');
    return this.finish(t, 'cancelled', { error: { code: 'TROUPE_ERR_AOA_CANCELLED', message: 'cancelled' } });
  }

  waitFor(id: string): Promise<TaskRecordView> {
    const open = this.open.get(id) ?? this.finishing.get(id);
    // an open task is waited for without making its view
    const v = open === undefined ? this.getTask(id) : undefined;
    if (v !== undefined && TERMINAL_STATUSES.has(v.status as never)) return Promise.resolve(v);
    return this.waiters.wait(id);
  }

  metrics(): Record<string, unknown> {
    let parked = 0;
    for (const list of this.parked.values()) parked += list.length;
    return { ...this.metricsImpl.snapshot(), running: this.exec.running.size, claimed: this.exec.claimed, waiting_for_handler: parked };
  }

  health(): { status: 'ok' | 'degraded'; workers: number; queued: number; running: number } {
    const ok = !this.closed && this.pool.workers.length >= this.options.minWorkers;
    return { status: ok ? 'ok' : 'degraded', workers: this.pool.workers.length, queued: this.queue.size, running: this.exec.running.size };
  }

  /** Stop taking work: abort running attempts (they stay open and run again after restart); give back claimed ones that never ran. Idempotent. */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closed = true;
    this.pool.stop();
    if (this.wake) this.host.clock.clearTimeout(this.wake.handle);
    this.retention.stop();
    // claimed attempts that never ran are given back (after a kill -9 they count, conservatively)
    this.closing = giveBack(this.exec.close(), (t) => this.persist(t, REWRITE), this.log);
    return this.closing;
  }

  /** Commit a record; `known` as {@link TaskStore.put} (the runtime always knows: a record's first write and its finishing one happen here once). */
  private persist(t: StoredTask, known: { readonly created?: boolean; readonly finished?: boolean }): Promise<unknown> {
    return this.store.put(t, known);
  }

  /**
   * Claim ready tasks (as far ahead as the executor has room), hand committed claims to idle
   * workers, and arm the wake-up for the next delayed task.
   */
  private pump(at?: number): void {
    if (this.closed) return;
    const now = at ?? this.host.clock.now();
    this.exec.startClaimed(now);
    while (this.exec.hasRoom()) {
      const e = this.queue.pop(now);
      if (!e) break;
      const t = this.open.get(e.id);
      if (t) this.claim(t, now);
    }
    const due = this.queue.nextDueAt();
    if (due !== undefined && due > now && (!this.wake || this.wake.at > due)) {
      if (this.wake) this.host.clock.clearTimeout(this.wake.handle);
      const handle = this.host.clock.setTimeout(() => {
        this.wake = undefined;
        this.pump();
      }, Math.min(due - now, 2 ** 31 - 1));
      this.wake = { at: due, handle };
    }
  }

  /**
   * Record a task's next attempt (running, attempts + 1) before any worker runs it: every run
   * is counted, also across crashes (max_retries holds for a task that kills the node each
   * time it runs). The commit overlaps the runs of other tasks, so no worker waits for it.
   */
  private claim(t: StoredTask, now: number): void {
    t.status = 'running';
    t.attempts += 1;
    t.started_at = now;
    this.metricsImpl.observeWait(Math.max(0, now - t.ready_at));
    const c = this.exec.add(t, false);
    // lmdb-js encodes the record as put is called, so `t` may change afterwards
    this.persist(t, REWRITE).then(() => {
      this.auditStart(t);
      this.exec.committed(c, this.host.clock.now() - now);
    }, (e: unknown) => {
      this.exec.drop(c);
      if (this.closed || this.open.get(t.id) !== t) return;
      this.log.error({ err: e, task: t.id }, 'could not record a task start');
      this.conclude(t, { ok: false, error: e }, this.host.clock.now());
    });
  }

  /** An attempt ended: complete the task, or retry it after a backoff, or fail it. */
  private conclude(t: StoredTask, outcome: Outcome, now: number): void {
    const v = verdictOf(t, outcome, this.options, now, Math.random);
    if (v.kind === 'completed') {
      this.metricsImpl.count('completed');
      this.finishOrLog(t, 'completed', { result: v.result }, now);
    } else if (v.kind === 'retry') {
      t.status = 'pending';
      t.ready_at = v.readyAt;
      t.error = v.error;
      this.metricsImpl.count('retried');
      void this.persist(t, REWRITE).then(() => {
        if (this.open.get(t.id) !== t || t.status !== 'pending') return;
        this.enqueue(t);
        this.pump();
      }, (e: unknown) => this.log.error({ err: e, task: t.id }, 'could not record a retry'));
    } else {
      this.metricsImpl.count('failed');
      this.finishOrLog(t, 'failed', { error: v.error }, now);
    }
    this.pump(now);
  }

  private finish(t: StoredTask, status: 'completed' | 'failed' | 'cancelled', extra: Partial<StoredTask>, now = this.host.clock.now()): Promise<TaskRecordView> {
    this.open.delete(t.id);
    // the task's own record becomes its finished record (lmdb-js encodes it as put is called;
    // no copy of every field per task); until it commits, readers are shown the task as it
    // was (nothing is reported done before its commit)
    this.finishing.set(t.id, { t, status: t.status, error: t.error });
    t.status = status;
    t.finished_at = now;
    if (extra.result !== undefined) t.result = extra.result;
    if (extra.error !== undefined) t.error = extra.error;
    else if (status === 'completed' && t.error !== undefined) delete t.error;
    return this.persist(t, FINISHED).then(() => {
      this.finishing.delete(t.id);
      const audited = auditTask(this.host, status === 'cancelled' ? 'TASK_CANCEL' : 'TASK_FINISH', t);
      if (audited === undefined) return this.finished(t);
      return audited.then(() => this.finished(t), (e: unknown) => {
        this.log.error({ err: e, task: t.id }, 'could not record a task finish in the audit log');
        return this.finished(t);
      });
    }, (e: unknown) => {
      this.finishing.delete(t.id);
      throw e;
    });
  }

  /**
   * Finish a task whose end no caller awaits (a worker's verdict). A finished record that
   * cannot be committed leaves the stored task running, so it runs again after a restart (its
   * attempt counted); the failure is logged with its cause, never an unhandled rejection.
   */
  private finishOrLog(t: StoredTask, status: 'completed' | 'failed', extra: Partial<StoredTask>, now: number): void {
    this.finish(t, status, extra, now).catch((e: unknown) => {
      this.log.error({ err: e, task: t.id, status }, 'could not record a task finish; the task runs again after a restart');
    });
  }

  /** A finished record committed (and audited): prune, answer its waiters. */
  private finished(done: StoredTask): TaskRecordView {
    this.retention.prune();
    // a finished task's view does not depend on the time (only a pending one's does)
    const view = viewOf(done, done.finished_at ?? this.host.clock.now());
    this.waiters.settle(done.id, view);
    return view;
  }

  /** One scale decision of the worker pool (also run by its timer). */
  autoscale(): void {
    this.pool.autoscale();
  }

  /** True when a task submitted now may be started in its submit's commit (see submitTask). */
  private canStartAtSubmit(t: StoredTask, now: number): boolean {
    return !this.closed && t.ready_at <= now && this.exec.hasRoom() && !this.queue.hasReady(now);
  }
}

