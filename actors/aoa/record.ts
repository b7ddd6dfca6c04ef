import type { StoredTask } from '../../storage/index.js';
import type { TaskSubmit } from './task.js';

/** The optional stored fields that come from the submit. */
type SubmitOptional = Pick<StoredTask, 'scheduled_at' | 'agent_id' | 'tenant_id' | 'run_id' | 'idempotency_key' | 'raci_accountable' | 'target_system' | 'action_type' | 'primary_plane_id' | 'fabric_preset' | 'fabric_context'>;

/**
 * A new task record from a validated submit (extra body fields are dropped), pending, ready
 * at `max(now, scheduled_at)`.
 *
 * Records are built field by field in one order, so they share one hidden class: V8 makes an
 * object spread followed by more properties (`{ ...t, status }`) a fresh map each time, which
 * cost more than the rest of a task's bookkeeping together.
 *
 * @example const t = newTask(parseSubmit({ task_type: 'NOOP' }), 'task_1', 0, clock.now());
 */
export function newTask(s: TaskSubmit, id: string, seq: number, now: number): StoredTask {
  const t: StoredTask = {
    v: 1, id, seq, task_type: s.task_type, payload: s.payload, priority: s.priority,
    timeout_seconds: s.timeout_seconds, max_retries: s.max_retries,
    raci_responsible: s.raci_responsible, raci_consulted: s.raci_consulted, raci_informed: s.raci_informed,
    status: 'pending', attempts: 0, created_at: now, ready_at: Math.max(now, s.scheduled_at ?? now),
  };
  copySubmitOptional(s, t);
  return t;
}

/**
 * A copy of a task record (shallow: payload, result and arrays are shared, as records are
 * replaced, never edited in place below the top level).
 *
 * @example const done = copyTask(t); done.status = 'completed';
 */
export function copyTask(t: StoredTask): StoredTask {
  const c: StoredTask = {
    v: t.v, id: t.id, seq: t.seq, task_type: t.task_type, payload: t.payload, priority: t.priority,
    timeout_seconds: t.timeout_seconds, max_retries: t.max_retries,
    raci_responsible: t.raci_responsible, raci_consulted: t.raci_consulted, raci_informed: t.raci_informed,
    status: t.status, attempts: t.attempts, created_at: t.created_at, ready_at: t.ready_at,
  };
  copySubmitOptional(t, c);
  if (t.routed_action_id !== undefined) c.routed_action_id = t.routed_action_id;
  if (t.started_at !== undefined) c.started_at = t.started_at;
  if (t.finished_at !== undefined) c.finished_at = t.finished_at;
  if (t.result !== undefined) c.result = t.result;
  if (t.error !== undefined) c.error = t.error;
  return c;
}

/** The defined optional submit fields of `from` onto `to`, one by one (a keyed loop over names is several times slower). */
function copySubmitOptional(from: SubmitOptional, to: StoredTask): void {
  if (from.scheduled_at !== undefined) to.scheduled_at = from.scheduled_at;
  if (from.agent_id !== undefined) to.agent_id = from.agent_id;
  if (from.tenant_id !== undefined) to.tenant_id = from.tenant_id;
  if (from.run_id !== undefined) to.run_id = from.run_id;
  if (from.idempotency_key !== undefined) to.idempotency_key = from.idempotency_key;
  if (from.raci_accountable !== undefined) to.raci_accountable = from.raci_accountable;
  if (from.target_system !== undefined) to.target_system = from.target_system;
  if (from.action_type !== undefined) to.action_type = from.action_type;
  if (from.primary_plane_id !== undefined) to.primary_plane_id = from.primary_plane_id;
  if (from.fabric_preset !== undefined) to.fabric_preset = from.fabric_preset;
  if (from.fabric_context !== undefined) to.fabric_context = from.fabric_context;
}

/** A task whose finished record is committing: the record (already finished) and what it was. */
export interface Finishing {
  t: StoredTask;
  status: StoredTask['status'];
  error: StoredTask['error'];
}

/**
 * The task as it was before its finish (rare: a read while the finish commits).
 *
 * @example const shown = asBefore({ t: finished, status: 'running', error: undefined });
 */
export function asBefore(f: Finishing): StoredTask {
  const b = copyTask(f.t);
  b.status = f.status;
  delete b.finished_at;
  delete b.result;
  if (f.error !== undefined) b.error = f.error;
  else delete b.error;
  return b;
}
