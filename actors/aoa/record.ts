import type { StoredTask } from '../../storage/index.js';
import type { TaskSubmit } from './task.js';

type Fields = Record<string, unknown>;

/** Optional stored fields that come from the submit, in the order records hold them. */
const SUBMIT_OPTIONAL = ['scheduled_at', 'agent_id', 'tenant_id', 'run_id', 'idempotency_key', 'raci_accountable', 'target_system', 'action_type', 'primary_plane_id', 'fabric_preset', 'fabric_context'] as const;
/** Optional stored fields the runtime sets. */
const RUNTIME_OPTIONAL = ['routed_action_id', 'started_at', 'finished_at', 'result', 'error'] as const;

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
  copyDefined(s as unknown as Fields, t as unknown as Fields, SUBMIT_OPTIONAL);
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
  copyDefined(t as unknown as Fields, c as unknown as Fields, SUBMIT_OPTIONAL);
  copyDefined(t as unknown as Fields, c as unknown as Fields, RUNTIME_OPTIONAL);
  return c;
}

function copyDefined(from: Fields, to: Fields, keys: readonly string[]): void {
  for (const k of keys) {
    const v = from[k];
    if (v !== undefined) to[k] = v;
  }
}
