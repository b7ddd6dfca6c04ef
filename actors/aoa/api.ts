import type { StoredTask, TaskListFilter } from '../../storage/index.js';
import type { ActorRef } from '../kernel/index.js';
import type { AoaMetrics } from './metrics.js';
import type { TaskHandler, TaskRecordView, TaskSubmit, TaskSubmitInput } from './task.js';

/** Completes a validated task body before it is committed; must keep it valid. */
export type SubmitHook = (task: TaskSubmit) => TaskSubmit;

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
  /**
   * Add a step that completes a validated task body before it is committed (the fabric
   * module fills `primary_plane_id`, `fabric_preset` and `fabric_context` where absent).
   */
  addSubmitHook(hook: SubmitHook): void;
  /** Resolves when the task has finished (completed, failed or cancelled). */
  waitFor(id: string): Promise<TaskRecordView>;
  metrics(): Record<string, unknown>;
  health(): { status: 'ok' | 'degraded'; workers: number; queued: number; running: number };
  readonly metricsRegistry: AoaMetrics['registry'];
}

/** A worker actor of the pool (runtime internals). */
export interface Worker {
  ref: ActorRef;
  busy: boolean;
  idleSince: number;
}

/** A task whose attempt is being recorded, or recorded and waiting for a worker. */
export interface Claim {
  t: StoredTask;
  committed: boolean;
}

/** How an attempt ended. */
export type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };
