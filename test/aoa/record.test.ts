import { describe, expect, it } from 'vitest';
import { copyTask, newTask } from '../../actors/aoa/record.js';
import { parseSubmit, viewOf } from '../../actors/aoa/task.js';
import { storedTaskSchema } from '../../storage/index.js';

describe('task records', () => {
  it('keeps every stored submit field, drops extra ones, and holds no undefined keys', () => {
    const s = parseSubmit({
      task_type: 'NOOP', payload: { a: 1 }, priority: 'HIGH', scheduled_at: 5_000, agent_id: 'ag', tenant_id: 'te', run_id: 'ru', timeout_seconds: 9,
      max_retries: 1, idempotency_key: 'k', raci_responsible: 'R', raci_accountable: 'A', raci_consulted: ['C'], raci_informed: ['I'], target_system: 'ts',
      action_type: 'at', primary_plane_id: 'pp', fabric_preset: 'fp', fabric_context: { x: 1 }, not_stored: true,
    });
    const t = newTask(s, 'task_1', 7, 1_000);
    expect(t).toEqual({
      v: 1, id: 'task_1', seq: 7, task_type: 'NOOP', payload: { a: 1 }, priority: 'HIGH', scheduled_at: 5_000, agent_id: 'ag', tenant_id: 'te', run_id: 'ru',
      timeout_seconds: 9, max_retries: 1, idempotency_key: 'k', raci_responsible: 'R', raci_accountable: 'A', raci_consulted: ['C'], raci_informed: ['I'],
      target_system: 'ts', action_type: 'at', primary_plane_id: 'pp', fabric_preset: 'fp', fabric_context: { x: 1 }, status: 'pending', attempts: 0,
      created_at: 1_000, ready_at: 5_000,
    });
    expect(storedTaskSchema.parse(t)).toEqual(t);
    const bare = newTask(parseSubmit({ task_type: 'NOOP' }), 'task_2', 8, 1_000);
    expect(Object.values(bare).includes(undefined)).toBe(false);
    expect(bare.ready_at).toBe(1_000);
  });

  it('copies a record with the fields the runtime set, as a new object', () => {
    const t = newTask(parseSubmit({ task_type: 'NOOP', agent_id: 'ag' }), 'task_1', 1, 10);
    Object.assign(t, { status: 'running', attempts: 2, started_at: 11, routed_action_id: 'ra', error: { code: 'X', message: 'm' } });
    const c = copyTask(t);
    expect(c).toEqual(t);
    expect(c).not.toBe(t);
    c.status = 'completed';
    expect(t.status).toBe('running');
    expect(Object.keys(copyTask(newTask(parseSubmit({ task_type: 'NOOP' }), 'task_3', 1, 10)))).not.toContain('started_at');
  });
  it('views a record with every stored field as the record says (times as ISO text, no v), and a just-submitted one as pending with no attempt', () => {
    const s = parseSubmit({
      task_type: 'NOOP', payload: { a: 1 }, priority: 'HIGH', scheduled_at: 5_000, agent_id: 'ag', tenant_id: 'te', run_id: 'ru', timeout_seconds: 9,
      max_retries: 1, idempotency_key: 'k', raci_responsible: 'R', raci_accountable: 'A', raci_consulted: ['C'], raci_informed: ['I'], target_system: 'ts',
      action_type: 'at', primary_plane_id: 'pp', fabric_preset: 'fp', fabric_context: { x: 1 },
    });
    const t = copyTask({ ...newTask(s, 'task_1', 7, 1_000), routed_action_id: 'ra', status: 'failed', attempts: 2, started_at: 6_000, finished_at: 7_000, result: { r: 1 }, error: { code: 'E', message: 'm' } });
    const iso = (ms: number): string => new Date(ms).toISOString();
    const { v: _v, ...rest } = t;
    expect(Object.keys(viewOf(t, 8_000)).sort()).toEqual(Object.keys(rest).sort());
    expect(viewOf(t, 8_000)).toEqual({ ...rest, scheduled_at: iso(5_000), created_at: iso(1_000), ready_at: iso(5_000), started_at: iso(6_000), finished_at: iso(7_000) });
    const fresh = newTask(parseSubmit({ task_type: 'NOOP' }), 'task_2', 8, 1_000);
    fresh.status = 'running';
    fresh.attempts = 1;
    fresh.started_at = 1_000;
    const answered = viewOf(fresh, 1_000, true);
    expect(answered).toMatchObject({ status: 'pending', attempts: 0, created_at: iso(1_000), ready_at: iso(1_000) });
    expect('started_at' in answered).toBe(false);
    expect(viewOf({ ...fresh, status: 'pending', ready_at: 2_000 }, 1_000).status).toBe('scheduled');
  });
});
