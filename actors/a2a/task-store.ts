import { createHash } from 'node:crypto';
import { z } from 'zod';
import { TaskState } from '@a2a-js/sdk';
import type { StoreDb } from '../../storage/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { ModuleHost } from '../modules/index.js';
import { taskActorSpec, taskJsonSchema, type ClaimVerdict, type SendResponse, type TaskJson } from './task-actor.js';

/** Task actors kept live at once; past it the least recently used is stopped (its journal stays). */
const MAX_LIVE_TASKS = 10_000;
/** How long a repeated follow-up waits for the response of the one in flight. */
const ANSWER_WAIT_MS = 10 * 60_000;

/** A task in the projection (`a2a.tasks`): who may see it, what to list it by, and its JSON. Validated on read. */
const indexEntrySchema = z.object({
  agent: z.string().min(1).max(256),
  tenant: z.string().max(256),
  owner: z.string().max(256),
  id: z.string().min(1).max(256),
  contextId: z.string().max(256),
  state: z.number().int().min(0).max(64),
  ts: z.string().max(64),
  task: taskJsonSchema,
  /** The record is all there is of the task: no actor journaled it (a blocking send ended it without one). */
  bare: z.literal(true).optional(),
});
type IndexEntry = z.infer<typeof indexEntrySchema>;

const TERMINAL_STATES = new Set(['TASK_STATE_COMPLETED', 'TASK_STATE_FAILED', 'TASK_STATE_CANCELED', 'TASK_STATE_REJECTED']);
/** States a blocking send's caller is told of: written (and committed) when saved. */
const TOLD = new Set([...TERMINAL_STATES, 'TASK_STATE_INPUT_REQUIRED', 'TASK_STATE_AUTH_REQUIRED']);

/** Pruned task keys remembered, so a save that arrives after the prune does not bring one back. */
const MAX_PRUNED_REMEMBERED = 1_000;
/** Tasks a node keeps by default; past it the oldest finished ones are pruned (record and journal). */
export const DEFAULT_MAX_TASKS = 10_000;
const FINISHED = new Set<number>([TaskState.TASK_STATE_COMPLETED, TaskState.TASK_STATE_FAILED, TaskState.TASK_STATE_CANCELED, TaskState.TASK_STATE_REJECTED]);

/** The listing entry of a task saved under the key `[agent, tenant, owner, id]` (`bare`: with no journal). */
function entryOf([agent, tenant, owner]: readonly string[], task: TaskJson, bare = false): IndexEntry {
  const e: IndexEntry = {
    agent: agent!, tenant: tenant!, owner: owner!, id: task.id, contextId: task.contextId ?? '', state: stateOf(task),
    ts: (task.status as { timestamp?: string } | undefined)?.timestamp ?? new Date(0).toISOString(), task,
  };
  if (bare) e.bare = true;
  return e;
}

/** A task JSON's state as the enum number (without decoding the whole task). */
function stateOf(task: TaskJson): number {
  const name = task.status?.state;
  const n = name === undefined ? undefined : (TaskState as unknown as Record<string, number | undefined>)[name];
  return typeof n === 'number' && n >= 0 ? n : TaskState.TASK_STATE_UNSPECIFIED;
}


const keyOf = (agent: string, tenant: string, owner: string, id: string): string => JSON.stringify([agent, tenant, owner, id]);

/** Actor name of a task: a digest of its scoped key (ids are caller-chosen strings). */
function actorName(key: string): string {
  return `a2a-task-${createHash('sha256').update(key).digest('hex').slice(0, 32)}`;
}

/**
 * Every task of the node: the live task actors, and the projection that lists them. Task
 * actors are spawned on first use (a restarted node recovers one from its journal when the
 * task is next touched).
 */
export class TaskActors {
  private readonly live = new Map<string, ActorRef>();
  private readonly index = new Map<string, IndexEntry>();
  private readonly saving = new Set<Promise<void>>();
  /** Tasks with a won follow-up not answered yet (their actors are not stopped as idle). */
  private readonly claiming = new Map<string, number>();
  /** Keys pruned lately (bounded), whose late saves are dropped. */
  private readonly pruned = new Set<string>();
  /**
   * Saves of a blocking send's steps not written yet (a key's newest; a key is in the index
   * too, so the map is bounded by it): written with the task's next save that must be, or
   * before another request reads the task ({@link TaskActors.durable}) or its actor is asked.
   */
  private readonly deferred = new Map<string, TaskJson>();
  /** Unfinished tasks another request was told of: their steps are written as they come (bounded). */
  private readonly observed = new Set<string>();
  /**
   * Tasks a blocking send created whose actor was never spawned: their end is written as their
   * record alone (the listing, no journal), and an actor is spawned only when another request
   * needs one (it starts from the record). Bounded by the sends in flight.
   */
  private readonly unspawned = new Set<string>();
  /** Those records being written: a request told of the task waits for its commit. */
  private readonly ending = new Map<string, Promise<unknown>>();

  constructor(
    private readonly host: Pick<ModuleHost, 'spawnSpec' | 'ask' | 'stop' | 'logger' | 'dropJournal'>,
    private readonly db: StoreDb | undefined,
    private readonly maxTasks = DEFAULT_MAX_TASKS,
    /** Told of each task pruned (its push notification configs go with it). */
    private readonly onPruned?: (agent: string, scope: { tenant: string; owner: string }, id: string) => Promise<void>,
  ) {
    if (db) {
      const read: IndexEntry[] = [];
      for (const { key, value } of db.getRange({})) {
        const e = indexEntrySchema.safeParse(value);
        if (e.success) read.push(e.data);
        else host.logger.warn({ key: String(key).slice(0, 200) }, 'an A2A task record failed validation; skipped');
      }
      // oldest first, so pruning finds the oldest finished tasks first
      read.sort((a, b) => (a.ts < b.ts ? -1 : a.ts > b.ts ? 1 : 0));
      for (const e of read) this.index.set(keyOf(e.agent, e.tenant, e.owner, e.id), e);
    }
  }

  /** Tasks known (every agent and scope). */
  get size(): number {
    return this.index.size;
  }

  entries(agent: string, tenant: string, owner: string): IndexEntry[] {
    const out: IndexEntry[] = [];
    for (const e of this.index.values()) if (e.agent === agent && e.tenant === tenant && e.owner === owner) out.push(e);
    return out;
  }

  /** The id of the task (of this agent and scope) whose history holds the message `messageId`, if one was saved. */
  byMessage(agent: string, scope: { tenant: string; owner: string }, messageId: string): string | undefined {
    for (const e of this.index.values()) {
      if (e.agent !== agent || e.tenant !== scope.tenant || e.owner !== scope.owner) continue;
      const history = (e.task as { history?: unknown }).history;
      if (Array.isArray(history) && history.some((h) => (h as { messageId?: unknown } | null)?.messageId === messageId)) return e.id;
    }
    return undefined;
  }

  /** Every task of every agent and scope (recovery walks them). */
  all(): IndexEntry[] {
    return [...this.index.values()];
  }

  /**
   * Save a task through its actor. With `blocking` (the caller is told only of where the task
   * ends, and no push receiver follows it), a step before that end (submitted, working, an
   * artifact) is taken into the listing and kept in memory, not written: the end, an
   * interruption, or a read by another request writes the newest state. So a blocking send
   * commits its task once; a crash before its end loses a task no client was told about.
   */
  save(agent: string, scope: { tenant: string; owner: string }, task: TaskJson, blocking = false): Promise<void> {
    const p = this.write(agent, scope, task, blocking);
    this.saving.add(p);
    void p.catch(() => undefined).finally(() => this.saving.delete(p));
    return p;
  }

  /** Resolves when no save has been in flight for a few turns of the event loop (bounded). */
  async settled(maxRounds = 200, quietRounds = 10): Promise<void> {
    let quiet = 0;
    for (let i = 0; i < maxRounds && quiet < quietRounds; i++) {
      if (this.saving.size > 0) {
        quiet = 0;
        await Promise.allSettled([...this.saving]);
      } else quiet++;
      await new Promise((r) => setImmediate(r));
    }
  }

  private async write(agent: string, scope: { tenant: string; owner: string }, task: TaskJson, blocking: boolean): Promise<void> {
    const key = keyOf(agent, scope.tenant, scope.owner, task.id);
    // a late save of a task just pruned (the SDK's last write after its answer) stays pruned
    if (this.pruned.has(key)) return;
    const state = task.status?.state ?? '';
    const parts = [agent, scope.tenant, scope.owner];
    if (blocking && !TOLD.has(state) && !this.observed.has(key)) {
      // a task this send creates needs no actor (nor journal) unless another request asks for it
      if (!this.index.has(key) && !this.live.has(key)) this.unspawned.add(key);
      this.deferred.set(key, task);
      this.listed(key, parts, task);
      return;
    }
    // this save supersedes a deferred one (the actor's mailbox keeps saves in order)
    this.deferred.delete(key);
    if (TERMINAL_STATES.has(state)) this.observed.delete(key);
    if (this.unspawned.delete(key)) {
      // the end of a task with no actor: its record, one put (an actor spawned later starts from it)
      const entry = entryOf(parts, task, true);
      const put: Promise<unknown> = this.db ? this.db.put([...parts, task.id], entry) : Promise.resolve();
      this.ending.set(key, put);
      try {
        await put;
      } finally {
        this.ending.delete(key);
      }
      if (!this.pruned.has(key)) this.indexed(key, entry);
      return;
    }
    await this.host.ask(this.ref(key), { type: 'a2a.task.save', task }, { timeoutMs: 10_000 });
    this.listed(key, parts, task);
  }

  private listed(key: string, parts: readonly string[], task: TaskJson): void {
    this.indexed(key, entryOf(parts, task));
  }

  private indexed(key: string, entry: IndexEntry): void {
    const added = !this.index.has(key);
    this.index.set(key, entry);
    if (added && this.index.size > this.maxTasks) this.prune();
  }

  /**
   * Make the task's deferred steps durable (written through its actor, committed) before
   * another request is told of it (get, list, resubscribe).
   */
  async durable(agent: string, scope: { tenant: string; owner: string }, ids: readonly string[]): Promise<void> {
    if (this.deferred.size === 0 && this.ending.size === 0) return;
    await Promise.all(ids.map((id) => {
      const key = keyOf(agent, scope.tenant, scope.owner, id);
      if (!this.deferred.has(key)) return this.ending.get(key)?.catch(() => undefined);
      // from now on its steps are written as they come: the caller may hold on to any of them
      this.observed.add(key);
      if (this.observed.size > MAX_LIVE_TASKS) this.observed.delete(this.observed.values().next().value as string);
      return this.flush(key);
    }));
  }

  private async flush(key: string): Promise<void> {
    // a record being written is the task's newest state: an actor spawned now starts from it
    const ending = this.ending.get(key);
    if (ending) await ending.catch(() => undefined);
    const task = this.deferred.get(key);
    if (task === undefined) return;
    this.deferred.delete(key);
    await this.host.ask(this.ref(key), { type: 'a2a.task.save', task, commit: true }, { timeoutMs: 10_000 });
  }

  /** Past `maxTasks`, the oldest finished tasks go: their record, actor and journal. */
  private prune(): void {
    for (const [key, e] of this.index) {
      if (this.index.size <= this.maxTasks) break;
      if (!FINISHED.has(e.state)) continue;
      this.index.delete(key);
      this.pruned.add(key);
      if (this.pruned.size > MAX_PRUNED_REMEMBERED) this.pruned.delete(this.pruned.values().next().value as string);
      const ref = this.live.get(key);
      this.live.delete(key);
      void (async () => {
        if (this.db) await this.db.remove(JSON.parse(key));
        await this.onPruned?.(e.agent, { tenant: e.tenant, owner: e.owner }, e.id);
        if (ref) await this.host.stop(ref);
        // a bare record never had an actor, so it has no journal to drop
        if (!e.bare) await this.host.dropJournal(`a2a/task/${key}`);
      })().catch((err: unknown) => this.host.logger.warn({ err, task: e.id }, 'pruning a finished A2A task failed'));
    }
  }

  /**
   * The task as last saved. Every save goes through its actor and then this projection, and
   * the SDK awaits each save before its next load, so the projection answers without an ask.
   */
  async load(agent: string, scope: { tenant: string; owner: string }, id: string): Promise<TaskJson | undefined> {
    return this.index.get(keyOf(agent, scope.tenant, scope.owner, id))?.task;
  }

  /** The task as its actor journaled it (recovery checks the listing against it). */
  async journaled(agent: string, scope: { tenant: string; owner: string }, id: string): Promise<TaskJson | undefined> {
    const key = keyOf(agent, scope.tenant, scope.owner, id);
    await this.flush(key);
    const json = await this.host.ask<TaskJson | null>(this.ref(key), { type: 'a2a.task.load' }, { timeoutMs: 10_000 });
    return json ?? undefined;
  }

  /** A follow-up message (its id) asks to continue a task: the task actor decides, one at a time. */
  async claim(agent: string, scope: { tenant: string; owner: string }, id: string, messageId: string): Promise<ClaimVerdict> {
    const key = keyOf(agent, scope.tenant, scope.owner, id);
    if (!this.index.has(key)) return { kind: 'unknown' };
    // the actor decides on the task's newest state
    await this.flush(key);
    const verdict = await this.host.ask<ClaimVerdict>(this.ref(key), { type: 'a2a.task.claim', messageId }, { timeoutMs: ANSWER_WAIT_MS });
    if (verdict.kind === 'won') this.claiming.set(key, (this.claiming.get(key) ?? 0) + 1);
    return verdict;
  }

  /** The winning follow-up's response (journaled for its repeats, or released when it is an error). */
  async answered(agent: string, scope: { tenant: string; owner: string }, id: string, messageId: string, response: SendResponse): Promise<void> {
    const key = keyOf(agent, scope.tenant, scope.owner, id);
    try {
      await this.host.ask(this.ref(key), { type: 'a2a.task.answered', messageId, response }, { timeoutMs: 10_000 });
    } finally {
      const n = (this.claiming.get(key) ?? 1) - 1;
      if (n > 0) this.claiming.set(key, n);
      else this.claiming.delete(key);
    }
  }

  private ref(key: string): ActorRef {
    const hit = this.live.get(key);
    if (hit) {
      this.live.delete(key);
      this.live.set(key, hit);
      return hit;
    }
    // the actor writes the listing in the same turn as its journal event (one LMDB commit);
    // the journal stays the truth, which recovery checks the listing against
    const db = this.db;
    const parts = JSON.parse(key) as string[];
    const list = db ? (task: TaskJson): Promise<unknown> => db.put(parts, entryOf(parts, task)) : undefined;
    // a task with no actor yet: its actor starts from its record, and from now on it may journal
    this.unspawned.delete(key);
    const entry = this.index.get(key);
    if (entry?.bare) this.index.set(key, entryOf(parts, entry.task));
    const ref = this.host.spawnSpec(taskActorSpec(actorName(key), `a2a/task/${key}`, list, () => this.index.get(key)?.task));
    this.live.set(key, ref);
    if (this.live.size > MAX_LIVE_TASKS) {
      // the least recently used actor goes, unless it holds a continuation in flight (its claim
      // lives in the actor's memory) or a deferred save (a closing node spawns none): then the next one
      for (const [oldKey, oldRef] of this.live) {
        if (this.claiming.has(oldKey) || this.deferred.has(oldKey)) continue;
        this.live.delete(oldKey);
        void this.host.stop(oldRef).catch((e) => this.host.logger.warn({ err: e }, 'stopping an idle task actor failed'));
        break;
      }
    }
    return ref;
  }
}
