import { z } from 'zod';
import { TroupeError, describeIssues } from '../protocol/index.js';
import type { NodeStore, StoreDb } from './node-store.js';
import { RECORD_VERSION } from './records.js';
import { scanRange } from './scan.js';
import { FinishOrder } from './finish-order.js';

/** Task priorities, most urgent first (their index is the rank the queue orders by). */
export const TASK_PRIORITIES = ['CRITICAL', 'HIGH', 'NORMAL', 'LOW', 'BACKGROUND'] as const;
export type TaskPriority = (typeof TASK_PRIORITIES)[number];

/** What a stored task can be: the open ones are queued or running, the rest are final. */
export const STORED_TASK_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;
export type StoredTaskStatus = (typeof STORED_TASK_STATUSES)[number];
export const TERMINAL_STATUSES: ReadonlySet<StoredTaskStatus> = new Set(['completed', 'failed', 'cancelled']);

/**
 * A task as stored in the `aoa.tasks` database (seed 000 §6.1's AOATask, snake_case, plus
 * the runtime's bookkeeping). `seq` orders submissions (FIFO within a priority); `ready_at`
 * is when it may next run (a delay or a retry's backoff); `attempts` counts starts.
 *
 * @example
 * storedTaskSchema.parse({ v: 1, id: 'task_1', seq: 1, task_type: 'NOOP', payload: {}, priority: 'NORMAL', ... });
 */
export const storedTaskSchema = z.object({
  v: z.literal(RECORD_VERSION),
  id: z.string().min(1).max(128),
  seq: z.number().int().nonnegative(),
  task_type: z.string().min(1).max(64),
  payload: z.unknown(),
  priority: z.enum(TASK_PRIORITIES),
  scheduled_at: z.number().optional(),
  agent_id: z.string().optional(),
  tenant_id: z.string().optional(),
  run_id: z.string().optional(),
  timeout_seconds: z.number().positive(),
  max_retries: z.number().int().nonnegative(),
  idempotency_key: z.string().optional(),
  raci_responsible: z.string(),
  raci_accountable: z.string().optional(),
  raci_consulted: z.array(z.string()),
  raci_informed: z.array(z.string()),
  target_system: z.string().optional(),
  action_type: z.string().optional(),
  routed_action_id: z.string().optional(),
  primary_plane_id: z.string().optional(),
  fabric_preset: z.string().optional(),
  fabric_context: z.record(z.string(), z.unknown()).optional(),
  status: z.enum(STORED_TASK_STATUSES),
  attempts: z.number().int().nonnegative(),
  created_at: z.number(),
  ready_at: z.number(),
  started_at: z.number().optional(),
  finished_at: z.number().optional(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

/** A stored task. */
export type StoredTask = z.infer<typeof storedTaskSchema>;

/** Filters of {@link TaskStore.list}: all given ones must match. */
export interface TaskListFilter {
  status?: StoredTaskStatus;
  task_type?: string;
  priority?: TaskPriority;
  tenant_id?: string;
  agent_id?: string;
}

/** One page of {@link TaskStore.list}, in id order; `next` is the cursor of the next page. */
export interface TaskPage {
  tasks: StoredTask[];
  next?: string;
}

/**
 * The task runtime's durable store: task records by id, the idempotency index, and the
 * finished tasks by finish time (for retention). A write that resolves has committed.
 *
 * @example
 * const tasks = new LmdbTaskStore(store);
 * await tasks.put(task);
 * tasks.open(); // after a restart: every task still queued or running
 */
export interface TaskStore {
  get(id: string): StoredTask | undefined;
  /** The id of the task submitted with this idempotency key, if it is still kept. */
  byIdempotencyKey(key: string): string | undefined;
  /**
   * Commit a task record (and its idempotency key; a finished one also enters the retention
   * index). A writer that knows the record's history says so in `known` (`created`: its first
   * write; `finished`: its first write as finished), which spares reading the previous record.
   * Resolves (with no meaningful value) once committed.
   */
  put(task: StoredTask, known?: { created?: boolean; finished?: boolean }): Promise<unknown>;
  /** Every task not finished (queued or running), for recovery. */
  open(): StoredTask[];
  /** Tasks in id order after `after`, filtered, at most `limit`. */
  list(filter: TaskListFilter, limit: number, after?: string): TaskPage;
  /** Forget the oldest finished tasks beyond `keep` (and their idempotency keys); resolves with how many. */
  prune(keep: number): Promise<number>;
  /** Finished tasks kept. */
  finishedCount(): number;
}

function corrupt(id: string, detail: string): TroupeError {
  return new TroupeError('TROUPE_ERR_STORAGE_CORRUPT_RECORD', `task record ${id} failed validation: ${detail}`, { details: { key: id } });
}

function parseTask(key: string, value: unknown): StoredTask {
  const r = storedTaskSchema.safeParse(value);
  if (!r.success) throw corrupt(key, describeIssues(r.error));
  return r.data;
}

function matches(t: StoredTask, f: TaskListFilter): boolean {
  return (f.status === undefined || t.status === f.status)
    && (f.task_type === undefined || t.task_type === f.task_type)
    && (f.priority === undefined || t.priority === f.priority)
    && (f.tenant_id === undefined || t.tenant_id === f.tenant_id)
    && (f.agent_id === undefined || t.agent_id === f.agent_id);
}

/** Page size of a list scan that filters: bounds the records read for one page. */
const MAX_SCANNED_PER_PAGE = 50_000;

/**
 * {@link TaskStore} on the node's LMDB environment: databases `aoa.tasks` (id -> record) and
 * `aoa.idem` (idempotency key -> id). The finished tasks in finish order (for retention) are
 * kept in memory ({@link FinishOrder}), rebuilt from the records when the store is made, so a
 * finish is one put and pruning reads nothing; that one scan also reads the open tasks for
 * recovery (`open()`), so opening reads each record once; the `aoa.done` index older nodes
 * wrote is cleared. A record that fails validation on read is a TROUPE_ERR_STORAGE_CORRUPT_RECORD
 * naming its id.
 *
 * @example
 * const tasks = new LmdbTaskStore(node.store);
 */
export class LmdbTaskStore implements TaskStore {
  private readonly tasks: StoreDb;
  private readonly idem: StoreDb;
  private readonly finished = new FinishOrder();

  /**
   * The tasks not finished when the store was made (read in the same scan as the finish
   * order), or the first record that failed validation; given out by the first `open()`
   * unless a write came first. Each record is read once at open.
   */
  private recovered: { tasks: StoredTask[] } | { error: TroupeError } | undefined;

  constructor(private readonly store: NodeStore) {
    // records share their shapes (a third of the bytes, and less to encode, per write)
    this.tasks = store.db('aoa.tasks', { sharedStructures: true });
    this.idem = store.db('aoa.idem');
    const found: Array<{ at: number; id: string; key: string | undefined }> = [];
    const open: StoredTask[] = [];
    let error: TroupeError | undefined;
    for (const { key, value } of scanRange(this.tasks, {}, (k) => store.logger.warn({ key: k }, 'undecodable task record skipped'))) {
      if (typeof key !== 'string') continue; // the record shapes
      let t: StoredTask;
      try {
        t = parseTask(key, value);
      } catch (e) {
        error ??= e as TroupeError;
        // a finished record is still pruned in its turn, as far as it can be read
        const r = value as Partial<StoredTask> | null;
        if (r !== null && typeof r === 'object' && TERMINAL_STATUSES.has(r.status as StoredTaskStatus)) {
          found.push({ at: typeof r.finished_at === 'number' ? r.finished_at : 0, id: key, key: typeof r.idempotency_key === 'string' ? r.idempotency_key : undefined });
        }
        continue;
      }
      if (TERMINAL_STATUSES.has(t.status)) found.push({ at: t.finished_at ?? 0, id: key, key: t.idempotency_key });
      else open.push(t);
    }
    found.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    for (const f of found) this.finished.add(f.at, f.id, f.key);
    this.recovered = error ? { error } : { tasks: open };
    const legacy = store.db('aoa.done');
    if (legacy.getKeysCount() > 0) {
      void store.write(() => legacy.clearAsync(), 'clear').catch((e: unknown) => store.logger.warn({ err: e }, 'could not clear the old aoa.done index'));
    }
  }

  get(id: string): StoredTask | undefined {
    this.store.assertOpen();
    const v = this.tasks.get(id);
    return v === undefined ? undefined : parseTask(id, v);
  }

  byIdempotencyKey(key: string): string | undefined {
    this.store.assertOpen();
    const v = this.idem.get(key);
    return typeof v === 'string' ? v : undefined;
  }

  put(task: StoredTask, known?: { created?: boolean; finished?: boolean }): Promise<unknown> {
    this.recovered = undefined;
    let created: boolean;
    let finished: boolean;
    if (known) {
      created = known.created === true;
      finished = known.finished === true;
    } else {
      const prev = this.tasks.get(task.id) as StoredTask | undefined;
      created = prev === undefined;
      finished = TERMINAL_STATUSES.has(task.status) && !(prev !== undefined && TERMINAL_STATUSES.has(prev.status));
    }
    // one record, no index to touch: a plain put (cheaper than a batch callback), its commit
    // promise as lmdb-js gives it (with the store's coded errors; no step to drop its value)
    const commit = !(task.idempotency_key !== undefined && created) ? this.store.write(() => this.tasks.put(task.id, task), 'put') : this.store.batch(() => {
      void this.tasks.put(task.id, task);
      void this.idem.put(task.idempotency_key!, task.id);
    });
    if (!finished) return commit;
    // only a committed finish can be pruned (the record, encoded at put, is what the index says)
    const at = task.finished_at ?? 0;
    const id = task.id;
    const key = task.idempotency_key;
    return commit.then(() => this.finished.add(at, id, key));
  }

  open(): StoredTask[] {
    this.store.assertOpen();
    const r = this.recovered;
    this.recovered = undefined;
    if (r !== undefined) {
      if ('error' in r) throw r.error;
      return r.tasks;
    }
    const out: StoredTask[] = [];
    for (const { key, value } of scanRange(this.tasks, {}, (k) => this.store.logger.warn({ key: k }, 'undecodable task record skipped'))) {
      if (typeof key !== 'string') continue; // the record shapes
      const t = parseTask(String(key), value);
      if (!TERMINAL_STATUSES.has(t.status)) out.push(t);
    }
    return out;
  }

  list(filter: TaskListFilter, limit: number, after?: string): TaskPage {
    this.store.assertOpen();
    const tasks: StoredTask[] = [];
    let scanned = 0;
    let last: string | undefined;
    for (const { key, value } of this.tasks.getRange(after === undefined ? {} : { start: after, exclusiveStart: true } as never)) {
      if (typeof key !== 'string') continue; // the record shapes
      last = String(key);
      if (++scanned > MAX_SCANNED_PER_PAGE) return { tasks, next: last };
      const t = parseTask(last, value);
      if (!matches(t, filter)) continue;
      tasks.push(t);
      if (tasks.length >= limit) return { tasks, next: last };
    }
    return { tasks };
  }

  async prune(keep: number): Promise<number> {
    this.recovered = undefined;
    const excess = this.finished.size - keep;
    if (excess <= 0) return 0;
    // taken at once, so a prune that overlaps this one takes others
    const victims = this.finished.take(excess);
    await this.store.batch(() => {
      for (const v of victims) {
        if (v.key !== undefined) void this.idem.remove(v.key);
        void this.tasks.remove(v.id);
      }
    });
    return victims.length;
  }

  finishedCount(): number {
    return this.finished.size;
  }
}

/**
 * In-memory {@link TaskStore}, the twin of {@link LmdbTaskStore} (nothing survives the
 * process): for nodes without a data dir and for tests.
 *
 * @example
 * const tasks = new MemoryTaskStore();
 */
export class MemoryTaskStore implements TaskStore {
  private readonly tasks = new Map<string, StoredTask>();
  private readonly idem = new Map<string, string>();
  /** Finished ids in finish order (ties by id, as LMDB's key order). */
  private readonly done: Array<{ at: number; id: string }> = [];

  get(id: string): StoredTask | undefined {
    const t = this.tasks.get(id);
    return t === undefined ? undefined : structuredClone(t);
  }

  byIdempotencyKey(key: string): string | undefined {
    return this.idem.get(key);
  }

  put(task: StoredTask): Promise<unknown> {
    const parsed = parseTask(task.id, structuredClone(task));
    const prev = this.tasks.get(task.id);
    if (task.idempotency_key !== undefined && prev === undefined) this.idem.set(task.idempotency_key, task.id);
    if (TERMINAL_STATUSES.has(task.status) && !(prev && TERMINAL_STATUSES.has(prev.status))) {
      this.done.push({ at: task.finished_at ?? 0, id: task.id });
      this.done.sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    this.tasks.set(task.id, parsed);
    return Promise.resolve();
  }

  open(): StoredTask[] {
    return [...this.tasks.values()].filter((t) => !TERMINAL_STATUSES.has(t.status)).map((t) => structuredClone(t));
  }

  list(filter: TaskListFilter, limit: number, after?: string): TaskPage {
    const ids = [...this.tasks.keys()].sort();
    const tasks: StoredTask[] = [];
    for (const id of ids) {
      if (after !== undefined && id <= after) continue;
      const t = this.tasks.get(id)!;
      if (!matches(t, filter)) continue;
      tasks.push(structuredClone(t));
      if (tasks.length >= limit) return { tasks, next: id };
    }
    return { tasks };
  }

  prune(keep: number): Promise<number> {
    const excess = this.done.length - keep;
    if (excess <= 0) return Promise.resolve(0);
    for (const v of this.done.splice(0, excess)) {
      const t = this.tasks.get(v.id);
      if (t?.idempotency_key !== undefined) this.idem.delete(t.idempotency_key);
      this.tasks.delete(v.id);
    }
    return Promise.resolve(excess);
  }

  finishedCount(): number {
    return this.done.length;
  }
}
