import { describe, expect, it } from 'vitest';
import { copyTask, newTask } from '../../actors/aoa/record.js';
import { parseSubmit, viewOf } from '../../actors/aoa/task.js';
import { storedTaskSchema, type StoredTask } from '../../storage/index.js';

describe('task views', () => {
  it('show every stored field of a record that has them all (times as ISO text, no v)', () => {
    const s = parseSubmit({
      task_type: 'NOOP', payload: { a: 1 }, priority: 'HIGH', scheduled_at: 5_000, agent_id: 'ag', tenant_id: 'te', run_id: 'ru', timeout_seconds: 9,
      max_retries: 1, idempotency_key: 'k', raci_responsible: 'R', raci_accountable: 'A', raci_consulted: ['C'], raci_informed: ['I'], target_system: 'ts',
      action_type: 'at', primary_plane_id: 'pp', fabric_preset: 'fp', fabric_context: { x: 1 },
    });
    const t: StoredTask = copyTask({ ...newTask(s, 'task_1', 7, 1_000), routed_action_id: 'ra', status: 'failed', attempts: 2, started_at: 6_000, finished_at: 7_000, result: { r: 1 }, error: { code: 'E', message: 'm' } });
    // the record has every field the schema knows, so none is left out of the view unchecked
    expect(Object.keys(t).sort()).toEqual(Object.keys(storedTaskSchema.shape).sort());
    const view = viewOf(t, 8_000) as Record<string, unknown>;
    expect(Object.keys(view).sort()).toEqual(Object.keys(t).filter((k) => k !== 'v').sort());
    for (const k of Object.keys(t)) {
      if (k === 'v') continue;
      const v = (t as Record<string, unknown>)[k];
      expect(view[k]).toEqual(k.endsWith('_at') ? new Date(v as number).toISOString() : v);
    }
  });

  it('show the same ISO text for times that share a cache slot', () => {
    const t = newTask(parseSubmit({ task_type: 'NOOP' }), 'task_2', 1, 1_000);
    const other = newTask(parseSubmit({ task_type: 'NOOP' }), 'task_3', 2, 1_000 + 256);
    for (let i = 0; i < 3; i++) {
      expect(viewOf(t, 0).created_at).toBe(new Date(1_000).toISOString());
      expect(viewOf(other, 0).created_at).toBe(new Date(1_256).toISOString());
    }
  });
});
