import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { MemoryTaskStore, type StoredTask } from '../../storage/index.js';
import { Retention, RETENTION_SWEEP_MS } from '../../actors/aoa/retention.js';
import { silent, settle } from '../helpers.js';

function finished(id: string, at: number): StoredTask {
  return {
    v: 1, id, seq: at, task_type: 'NOOP', payload: {}, priority: 'NORMAL', timeout_seconds: 300, max_retries: 3,
    raci_responsible: 'AOA', raci_consulted: [], raci_informed: [], status: 'completed', attempts: 1, created_at: at, ready_at: at, finished_at: at,
  };
}

describe('aoa retention', () => {
  it('forgets the excess in batches while tasks finish, and a smaller excess within the sweep time', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryTaskStore();
    // 160 kept: a pass waits for 10 extra (a sixteenth)
    const r = new Retention(store, 160, silent, () => false, clock);
    let at = 0;
    const finish = async (n: number): Promise<void> => {
      for (let i = 0; i < n; i++) {
        await store.put(finished(`task_${String(at).padStart(4, '0')}`, at++));
        r.prune();
      }
      await settle();
    };
    await finish(169);
    expect(store.finishedCount()).toBe(169); // 9 over: no pass yet, the sweep is armed
    await finish(1);
    expect(store.finishedCount()).toBe(160); // a batch of 10: forgotten at once, oldest first
    expect(store.get('task_0009')).toBeUndefined();
    expect(store.get('task_0010')).toBeDefined();
    await finish(3);
    expect(store.finishedCount()).toBe(163);
    clock.advance(RETENTION_SWEEP_MS);
    await settle();
    expect(store.finishedCount()).toBe(160);
    expect(store.get('task_0012')).toBeUndefined();
    expect(store.get('task_0013')).toBeDefined();
  });

  it('a small retention forgets each extra task at once; stop() disarms the sweep', async () => {
    const clock = new ManualClock(0);
    const store = new MemoryTaskStore();
    const r = new Retention(store, 5, silent, () => false, clock);
    for (let i = 0; i < 8; i++) {
      await store.put(finished(`task_${i}`, i));
      r.prune();
      await settle();
    }
    expect(store.finishedCount()).toBe(5);
    const big = new Retention(store, 0, silent, () => false, clock);
    const before = clock.pending;
    big.prune(); // a pass of one: at once, no timer
    await settle();
    expect(store.finishedCount()).toBe(0);
    expect(clock.pending).toBe(before);
    const r2 = new Retention(store, 1_600, silent, () => false, clock);
    for (let i = 0; i < 1_601; i++) await store.put(finished(`task_x${i}`, 100 + i));
    r2.prune();
    expect(clock.pending).toBe(before + 1);
    r2.stop();
    expect(clock.pending).toBe(before);
  });
});
