import { afterEach, describe, expect, it } from 'vitest';
import { LmdbTaskStore, NodeStore, type StoredTask } from '../../storage/index.js';
import { tempDir } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function task(id: string, extra: Partial<StoredTask> = {}): StoredTask {
  return {
    v: 1, id, seq: 0, task_type: 'NOOP', payload: {}, priority: 'NORMAL', timeout_seconds: 300, max_retries: 3,
    raci_responsible: 'AOA', raci_consulted: [], raci_informed: [], status: 'completed', attempts: 1, created_at: 1, ready_at: 1, finished_at: 2, ...extra,
  };
}

describe('LMDB task store retention', () => {
  it('forgets pruned tasks with their idempotency keys, also for finished entries written before the index held the key', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-store-');
    const store = await NodeStore.open({ dir, noSync: true });
    cleanups.push(cleanup, () => store.close());
    const tasks = new LmdbTaskStore(store);
    await tasks.put(task('task_a', { idempotency_key: 'ka', finished_at: 10 }), { created: true, finished: true });
    await tasks.put(task('task_b', { finished_at: 11 }), { created: true, finished: true });
    // as an older node wrote it: the finish index says nothing of the key
    await tasks.put(task('task_c', { idempotency_key: 'kc', status: 'pending' }), { created: true });
    await store.batch(() => {
      void store.db('aoa.tasks').put('task_c', task('task_c', { idempotency_key: 'kc', finished_at: 12 }));
      void store.db('aoa.done').put([12, 'task_c'], 1);
    });
    await tasks.put(task('task_d', { idempotency_key: 'kd', finished_at: 13 }), { created: true, finished: true });
    const reopened = new LmdbTaskStore(store);
    expect(reopened.byIdempotencyKey('kc')).toBe('task_c');
    expect(await reopened.prune(1)).toBe(3);
    for (const id of ['task_a', 'task_b', 'task_c']) expect(reopened.get(id)).toBeUndefined();
    expect(reopened.byIdempotencyKey('ka')).toBeUndefined();
    expect(reopened.byIdempotencyKey('kc')).toBeUndefined();
    expect(reopened.byIdempotencyKey('kd')).toBe('task_d');
    expect(reopened.get('task_d')).toMatchObject({ status: 'completed' });
  });

  it('reads records written before their shapes were shared next to new ones, and lists and recovers them all', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-store-');
    cleanups.push(cleanup);
    let store = await NodeStore.open({ dir, noSync: true });
    // as an older node wrote them: every value names its own keys
    for (let i = 0; i < 4; i++) await store.put(store.db('aoa.tasks'), `task_old${i}`, task(`task_old${i}`, { seq: i, status: i % 2 ? 'pending' : 'completed', ...(i % 2 ? {} : { result: { i } }) }));
    await store.close();
    store = await NodeStore.open({ dir, noSync: true });
    cleanups.push(() => store.close());
    const tasks = new LmdbTaskStore(store);
    for (let i = 0; i < 4; i++) await tasks.put(task(`task_new${i}`, { seq: 10 + i, status: i % 2 ? 'running' : 'completed', ...(i % 2 ? { started_at: 5 } : { result: { i: 10 + i } }) }), { created: true, finished: i % 2 === 0 });
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 4; i++) {
        expect(tasks.get(`task_old${i}`)).toMatchObject({ seq: i, ...(i % 2 ? { status: 'pending' } : { result: { i } }) });
        expect(tasks.get(`task_new${i}`)).toMatchObject({ seq: 10 + i, ...(i % 2 ? { status: 'running', started_at: 5 } : { result: { i: 10 + i } }) });
      }
    }
    expect(tasks.list({}, 100).tasks.map((t) => t.id).sort()).toEqual(['task_new0', 'task_new1', 'task_new2', 'task_new3', 'task_old0', 'task_old1', 'task_old2', 'task_old3']);
    expect(tasks.open().map((t) => t.id).sort()).toEqual(['task_new1', 'task_new3', 'task_old1', 'task_old3']);
  });
});
