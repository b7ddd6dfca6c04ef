import type { Logger } from 'pino';
import { TroupeError, newId, serializeError } from '../../protocol/index.js';
import { TASK_PRIORITIES, TERMINAL_STATUSES, type StoredTask, type TaskListFilter, type TaskStore } from '../../storage/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { AoaMetrics } from './metrics.js';
import type { AoaOptions } from './options.js';
import { TaskQueue } from './queue.js';
import { BUILTIN_TASK_TYPES, TASK_TYPE_RE, parseSubmit, viewOf, type TaskRecordView, type TaskSubmitInput } from './task.js';
import { workerBehaviour, type WorkMessage } from './worker.js';

/** What a task handler gets: the task, its attempt number, and a signal aborted on cancel or timeout. */
export interface TaskContext {
  task: TaskRecordView;
  attempt: number;
  signal: AbortSignal;
}

/** Runs one attempt of a task; resolves with its (JSON) result or throws. */
export type TaskHandler = (ctx: TaskContext) => Promise<unknown>;

/**
 * The task runtime's API (`host.module<AoaApi>('aoa')`).
 *
 * @example
 * const aoa = node.module<AoaApi>('aoa');
 * aoa.registerHandler('SEND_MAIL', async ({ task, signal }) => mailer.send(task.payload, { signal }));
 * const t = await aoa.submitTask({ task_type: 'SEND_MAIL', payload: { to: 'a@b.c' }, idempotency_key: 'mail-1' });
 */
export interface AoaApi {
  /** Commit a task (or return the one already submitted with the same idempotency key). */
  submitTask(input: TaskSubmitInput): Promise<TaskRecordView>;
  getTask(id: string): TaskRecordView;
  listTasks(filter?: TaskListFilter, options?: { limit?: number; after?: string }): { tasks: TaskRecordView[]; next?: string };
  /** Cancel a queued or running task (a running one's signal is aborted). */
  cancelTask(id: string): Promise<TaskRecordView>;
  registerHandler(type: string, handler: TaskHandler): void;
  /** Resolves when the task has finished (completed, failed or cancelled). */
  waitFor(id: string): Promise<TaskRecordView>;
  metrics(): Record<string, unknown>;
  health(): { status: 'ok' | 'degraded'; workers: number; queued: number; running: number };
  readonly metricsRegistry: AoaMetrics['registry'];
}

interface Worker {
  ref: ActorRef;
  busy: boolean;
  idleSince: number;
}

interface Running {
  ctrl: AbortController;
  worker: Worker;
  startedAt: number;
  timer: unknown;
  cancelled: boolean;
}

/** Per-task timeout grace on the worker ask, after the abort. */
const ASK_GRACE_MS = 30_000;

/**
 * The durable task runtime: tasks committed to the task store are queued in memory
 * ({@link TaskQueue}) and handed to supervised worker actors (`/system/aoa-worker-N`), which
 * the pool adds and stops between min and max. An attempt is recorded (running, attempts+1)
 * as it starts; a completion is committed before anyone is told; after a crash, open tasks
 * are queued again (a running one keeps its counted attempt). See README "Task runtime".
 */
export class AoaRuntime implements AoaApi {
  readonly metricsRegistry;
  private readonly queue: TaskQueue;
  private readonly open = new Map<string, StoredTask>();
  private readonly running = new Map<string, Running>();
  private readonly workers: Worker[] = [];
  private readonly handlers = new Map<string, TaskHandler>();
  private readonly pendingIdem = new Map<string, Promise<TaskRecordView>>();
  private readonly waiters = new Map<string, Array<(v: TaskRecordView) => void>>();
  private readonly metricsImpl: AoaMetrics;
  private readonly log: Logger;
  private seq = 0;
  private workerSeq = 0;
  private wake: { at: number; handle: unknown } | undefined;
  private tick: unknown;
  private closed = false;

  constructor(private readonly host: ModuleHost, private readonly store: TaskStore, private readonly options: AoaOptions) {
    this.log = host.logger.child({ module: 'aoa' });
    this.queue = new TaskQueue(options.agingMs);
    this.metricsImpl = new AoaMetrics(host.id, {
      depthByPriority: () => this.queue.depthByRank(),
      workers: () => ({ total: this.workers.length, busy: this.workers.filter((w) => w.busy).length }),
    }, () => host.clock.now());
    this.metricsRegistry = this.metricsImpl.registry;
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
        void this.persist(t);
      }
      this.open.set(t.id, t);
      this.queue.push({ id: t.id, rank: TASK_PRIORITIES.indexOf(t.priority), seq: t.seq, readyAt: t.ready_at });
    }
    if (open.length > 0) this.log.info({ tasks: open.length }, 'open tasks recovered');
    for (let i = 0; i < this.options.minWorkers; i++) this.addWorker('start');
    this.scheduleTick();
    this.pump();
  }

  registerHandler(type: string, handler: TaskHandler): void {
    if (!TASK_TYPE_RE.test(type) || typeof handler !== 'function') throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'a task type is upper snake case (1-64) and its handler a function');
    this.handlers.set(type, handler);
    this.pump();
  }

  async submitTask(input: TaskSubmitInput): Promise<TaskRecordView> {
    if (this.closed || this.host.isClosing) throw new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the task runtime is closing');
    const s = parseSubmit(input);
    if (!this.handlers.has(s.task_type) && !(BUILTIN_TASK_TYPES as readonly string[]).includes(s.task_type)) {
      throw new TroupeError('TROUPE_ERR_AOA_INVALID_TASK', `invalid task: no handler is registered for task_type ${s.task_type}`);
    }
    const key = s.idempotency_key;
    if (key !== undefined) {
      const inflight = this.pendingIdem.get(key);
      if (inflight) return inflight;
      const existing = this.store.byIdempotencyKey(key);
      if (existing !== undefined) {
        const t = this.open.get(existing) ?? this.store.get(existing);
        if (t) return viewOf(t, this.host.clock.now());
      }
    }
    if (this.open.size >= this.options.maxOpenTasks) throw new TroupeError('TROUPE_ERR_AOA_QUEUE_FULL', `the task runtime holds ${this.options.maxOpenTasks} open tasks`);
    const now = this.host.clock.now();
    const { scheduled_at, ...fields } = s;
    const task: StoredTask = {
      ...pick(fields), v: 1, id: `task_${newId()}`, seq: this.seq++, status: 'pending', attempts: 0,
      created_at: now, ready_at: Math.max(now, scheduled_at ?? now), ...(scheduled_at !== undefined ? { scheduled_at } : {}),
    };
    const commit = (async () => {
      await this.persist(task);
      this.open.set(task.id, task);
      this.queue.push({ id: task.id, rank: TASK_PRIORITIES.indexOf(task.priority), seq: task.seq, readyAt: task.ready_at });
      this.metricsImpl.count('submitted');
      const view = viewOf(task, this.host.clock.now());
      this.pump();
      return view;
    })();
    if (key !== undefined) {
      this.pendingIdem.set(key, commit);
      void commit.finally(() => this.pendingIdem.delete(key)).catch(() => undefined);
    }
    return commit;
  }

  getTask(id: string): TaskRecordView {
    const t = this.open.get(id) ?? this.store.get(id);
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
    const r = this.running.get(id);
    if (r) {
      r.cancelled = true;
      this.host.clock.clearTimeout(r.timer);
      r.ctrl.abort(new TroupeError('TROUPE_ERR_AOA_CANCELLED', `task ${id} was cancelled`));
    } else {
      this.queue.remove(id);
    }
    this.metricsImpl.count('cancelled');
    return this.finish(t, 'cancelled', { error: { code: 'TROUPE_ERR_AOA_CANCELLED', message: 'cancelled' } });
  }

  waitFor(id: string): Promise<TaskRecordView> {
    const v = this.getTask(id);
    if (TERMINAL_STATUSES.has(v.status as never)) return Promise.resolve(v);
    return new Promise((resolve) => {
      const list = this.waiters.get(id) ?? [];
      list.push(resolve);
      this.waiters.set(id, list);
    });
  }

  metrics(): Record<string, unknown> {
    return { ...this.metricsImpl.snapshot(), running: this.running.size };
  }

  health(): { status: 'ok' | 'degraded'; workers: number; queued: number; running: number } {
    const ok = !this.closed && this.workers.length >= this.options.minWorkers;
    return { status: ok ? 'ok' : 'degraded', workers: this.workers.length, queued: this.queue.size, running: this.running.size };
  }

  /** Stop taking work: abort running attempts (they stay open and run again after restart). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.clock.clearTimeout(this.tick);
    if (this.wake) this.host.clock.clearTimeout(this.wake.handle);
    for (const r of this.running.values()) {
      this.host.clock.clearTimeout(r.timer);
      r.ctrl.abort(new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the node closed during the task'));
    }
  }

  private persist(t: StoredTask): Promise<void> {
    return this.store.put(t);
  }

  /** Hand ready tasks to idle workers; arm the wake-up for the next delayed one. */
  private pump(): void {
    if (this.closed) return;
    const now = this.host.clock.now();
    for (;;) {
      const worker = this.workers.find((w) => !w.busy);
      if (!worker) break;
      const e = this.queue.pop(now);
      if (!e) break;
      const t = this.open.get(e.id);
      if (t) this.dispatch(t, worker, now);
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

  private dispatch(t: StoredTask, worker: Worker, now: number): void {
    t.status = 'running';
    t.attempts += 1;
    t.started_at = now;
    this.metricsImpl.observeWait(Math.max(0, now - t.ready_at));
    // recorded before the handler's effects can be seen; not awaited (writes commit in order)
    void this.persist({ ...t }).catch((e: unknown) => this.log.error({ err: e, task: t.id }, 'could not record a task start'));
    const ctrl = new AbortController();
    const timeoutMs = Math.round(t.timeout_seconds * 1000);
    const timer = this.host.clock.setTimeout(() => {
      this.metricsImpl.count('timed_out');
      ctrl.abort(new TroupeError('TROUPE_ERR_AOA_TIMEOUT', `task ${t.id} ran past ${t.timeout_seconds}s`));
    }, Math.min(timeoutMs, 2 ** 31 - 1));
    const run: Running = { ctrl, worker, startedAt: now, timer, cancelled: false };
    this.running.set(t.id, run);
    worker.busy = true;
    const handler = this.handlers.get(t.task_type) ?? (BUILTIN_HANDLERS[t.task_type]?.(this.host));
    const ctx: TaskContext = { task: viewOf(t, now), attempt: t.attempts, signal: ctrl.signal };
    const work = (): Promise<unknown> => {
      if (!handler) return Promise.reject(new TroupeError('TROUPE_ERR_AOA_NO_HANDLER', `no handler for task_type ${t.task_type}`));
      return abortable(handler(ctx), ctrl.signal);
    };
    const msg: WorkMessage = { type: 'aoa.work', taskId: t.id, run: work };
    this.host.ask(worker.ref, msg, { timeoutMs: timeoutMs + ASK_GRACE_MS }).then(
      (value) => this.settle(t.id, run, { ok: true, value }),
      (error: unknown) => this.settle(t.id, run, { ok: false, error: ctrl.signal.aborted ? ctrl.signal.reason : error }),
    );
  }

  private settle(id: string, run: Running, outcome: { ok: true; value: unknown } | { ok: false; error: unknown }): void {
    run.worker.busy = false;
    run.worker.idleSince = this.host.clock.now();
    this.host.clock.clearTimeout(run.timer);
    if (this.running.get(id) === run) this.running.delete(id);
    const t = this.open.get(id);
    if (!t || run.cancelled || this.closed) {
      this.pump();
      return;
    }
    this.metricsImpl.observeRun(this.host.clock.now() - run.startedAt);
    if (outcome.ok) {
      const bytes = JSON.stringify(outcome.value ?? null)?.length ?? 0;
      if (bytes <= this.options.maxResultBytes) {
        this.metricsImpl.count('completed');
        void this.finish(t, 'completed', { result: outcome.value ?? null });
        this.pump();
        return;
      }
      outcome = { ok: false, error: new TroupeError('TROUPE_ERR_AOA_HANDLER_FAILED', `result of ${bytes} bytes is over ${this.options.maxResultBytes}`) };
    }
    const err = serializeError(outcome.error instanceof TroupeError ? outcome.error : new TroupeError('TROUPE_ERR_AOA_HANDLER_FAILED', String((outcome.error as Error)?.message ?? outcome.error)));
    if (t.attempts <= t.max_retries && err.code !== 'TROUPE_ERR_AOA_NO_HANDLER') {
      const backoff = Math.min(this.options.retryMaxMs, this.options.retryBaseMs * 2 ** (t.attempts - 1));
      t.status = 'pending';
      t.ready_at = this.host.clock.now() + Math.floor(Math.random() * (backoff + 1));
      t.error = err;
      this.metricsImpl.count('retried');
      void this.persist({ ...t }).then(() => {
        if (this.open.get(t.id) !== t || t.status !== 'pending') return;
        this.queue.push({ id: t.id, rank: TASK_PRIORITIES.indexOf(t.priority), seq: t.seq, readyAt: t.ready_at });
        this.pump();
      }, (e: unknown) => this.log.error({ err: e, task: t.id }, 'could not record a retry'));
    } else {
      this.metricsImpl.count('failed');
      void this.finish(t, 'failed', { error: err });
    }
    this.pump();
  }

  private async finish(t: StoredTask, status: 'completed' | 'failed' | 'cancelled', extra: Partial<StoredTask>): Promise<TaskRecordView> {
    this.open.delete(t.id);
    const done: StoredTask = { ...t, ...extra, status, finished_at: this.host.clock.now() };
    if (status === 'completed') delete done.error;
    await this.persist(done);
    const view = viewOf(done, this.host.clock.now());
    for (const w of this.waiters.get(t.id) ?? []) w(view);
    this.waiters.delete(t.id);
    if (this.store.finishedCount() > this.options.retainFinished) void this.store.prune(this.options.retainFinished).catch(() => undefined);
    return view;
  }

  private addWorker(reason: string): void {
    const name = `aoa-worker-${++this.workerSeq}`;
    const ref = this.host.spawnSpec({ name, behaviour: workerBehaviour, restart: 'permanent' }, 'system');
    this.workers.push({ ref, busy: false, idleSince: this.host.clock.now() });
    if (reason !== 'start') {
      this.metricsImpl.count('scaled_up');
      this.log.info({ workers: this.workers.length, reason }, 'aoa worker pool scaled up');
    }
  }

  private scheduleTick(): void {
    this.tick = this.host.clock.setTimeout(() => {
      if (this.closed) return;
      this.autoscale();
      this.scheduleTick();
    }, this.options.scaleIntervalMs);
  }

  /** One scale decision: up on ready work waiting with no idle worker, down on a long-idle worker above the minimum. */
  autoscale(): void {
    const now = this.host.clock.now();
    const idle = this.workers.filter((w) => !w.busy);
    const ready = this.queue.readyCount(now);
    if (ready > 0 && idle.length === 0 && this.workers.length < this.options.maxWorkers && this.queue.oldestWaitMs(now) >= this.options.scaleUpWaitMs) {
      this.addWorker(`queue depth ${ready}`);
      this.pump();
      return;
    }
    if (ready === 0 && this.workers.length > this.options.minWorkers) {
      const victim = idle.find((w) => now - w.idleSince >= this.options.scaleDownIdleMs);
      if (victim) {
        this.workers.splice(this.workers.indexOf(victim), 1);
        void this.host.stop(victim.ref).catch(() => undefined);
        this.metricsImpl.count('scaled_down');
        this.log.info({ workers: this.workers.length }, 'aoa worker pool scaled down');
      }
    }
  }
}

/** Handlers troupe ships for the seed's task types (a registered handler wins). */
const BUILTIN_HANDLERS: Record<string, (host: ModuleHost) => TaskHandler | undefined> = {
  AGENT_RUN: (host) => {
    if (!host.hasModule('agents')) return undefined;
    return async ({ task, signal }) => {
      const p = task.payload as { agent: string; input: string | Array<{ role: 'system' | 'user' | 'assistant'; content: string }>; conversation_id?: string };
      const input = typeof p.input === 'string' ? [{ role: 'user' as const, content: p.input }] : p.input;
      const agents = host.module<{ run(name: string, req: unknown, opts: { signal: AbortSignal; timeoutMs: number }): Promise<unknown> }>('agents');
      return agents.run(p.agent, { input, ...(p.conversation_id ? { conversationId: p.conversation_id } : {}) }, { signal, timeoutMs: task.timeout_seconds * 1000 });
    };
  },
};

/** `p`, or the signal's reason once it aborts (a handler that ignores its signal still ends on cancel and timeout). */
function abortable<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    }, (e: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(e);
    });
  });
}

/** The submit fields that are stored (extra body fields are dropped). */
function pick(s: Omit<ReturnType<typeof parseSubmit>, 'scheduled_at'>): Omit<StoredTask, 'v' | 'id' | 'seq' | 'status' | 'attempts' | 'created_at' | 'ready_at'> {
  const keys = ['task_type', 'payload', 'priority', 'agent_id', 'tenant_id', 'run_id', 'timeout_seconds', 'max_retries', 'idempotency_key', 'raci_responsible',
    'raci_accountable', 'raci_consulted', 'raci_informed', 'target_system', 'action_type', 'primary_plane_id', 'fabric_preset', 'fabric_context'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) if (s[k] !== undefined) out[k] = s[k];
  return out as never;
}
