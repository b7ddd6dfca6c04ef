import { afterEach, describe, expect, it, vi } from 'vitest';
import { startNode, aoaModule, type AoaApi, type RunningNode } from '../../index.js';
import { LmdbTaskStore, NodeStore, type StoredTask, type StoreDb } from '../../storage/index.js';
import { silent, tempDir } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** Counts, per key, the records `aoa.tasks` hands out through getRange, get and getBinary. */
function spyOnTaskReads(): Map<string, number> {
  const reads = new Map<string, number>();
  const count = (k: unknown): void => {
    if (typeof k === 'string') reads.set(k, (reads.get(k) ?? 0) + 1);
  };
  const wrapped = new WeakSet<object>();
  const db = NodeStore.prototype.db;
  vi.spyOn(NodeStore.prototype, 'db').mockImplementation(function (this: NodeStore, name: string, options?: { encoding?: 'binary'; sharedStructures?: boolean }): StoreDb {
    const handle = db.call(this, name, options);
    if (name !== 'aoa.tasks' || wrapped.has(handle)) return handle;
    wrapped.add(handle);
    const getRange = handle.getRange.bind(handle);
    const get = handle.get.bind(handle);
    const getBinary = handle.getBinary.bind(handle);
    handle.getRange = ((range: never) => {
      const it = getRange(range);
      return {
        *[Symbol.iterator]() {
          for (const e of it) {
            count(e.key);
            yield e;
          }
        },
      };
    }) as never;
    handle.get = ((k: never) => {
      count(k);
      return get(k);
    }) as never;
    handle.getBinary = ((k: never) => {
      count(k);
      return getBinary(k);
    }) as never;
    return handle;
  });
  return reads;
}

function task(id: string, seq: number, extra: Partial<StoredTask>): StoredTask {
  return {
    v: 1, id, seq, task_type: 'NOOP', payload: {}, priority: 'NORMAL', timeout_seconds: 300, max_retries: 3,
    raci_responsible: 'AOA', raci_consulted: [], raci_informed: [], status: 'pending', attempts: 0, created_at: 1, ready_at: 1, ...extra,
  };
}

describe('aoa task store open', () => {
  it('reads each record once to rebuild the finish order and to recover the open tasks', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-open-');
    cleanups.push(cleanup);
    let store = await NodeStore.open({ dir, noSync: true });
    const first = new LmdbTaskStore(store);
    // finished out of id order, so the finish order comes from the records, not the keys
    const finishedAt: Record<string, number> = { task_f1: 30, task_f2: 10, task_f3: 20, task_f4: 40 };
    let seq = 0;
    for (const [id, at] of Object.entries(finishedAt)) await first.put(task(id, seq++, { status: 'completed', attempts: 1, finished_at: at, idempotency_key: `k-${id}` }), { created: true, finished: true });
    await first.put(task('task_o1', seq++, { status: 'pending' }), { created: true });
    await first.put(task('task_o2', seq++, { status: 'running', attempts: 1, started_at: 2 }), { created: true });
    await store.close();

    const reads = spyOnTaskReads();
    store = await NodeStore.open({ dir, noSync: true });
    cleanups.push(() => store.close());
    const tasks = new LmdbTaskStore(store);
    const open = tasks.open();
    expect(open.map((t) => [t.id, t.status])).toEqual([['task_o1', 'pending'], ['task_o2', 'running']]);
    expect(tasks.finishedCount()).toBe(4);
    const ids = [...Object.keys(finishedAt), 'task_o1', 'task_o2'];
    expect(Object.fromEntries(reads)).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));

    // the finish order read in that scan: the oldest finishes are pruned first, with their keys
    expect(await tasks.prune(2)).toBe(2);
    expect(tasks.get('task_f2')).toBeUndefined();
    expect(tasks.get('task_f3')).toBeUndefined();
    expect(tasks.get('task_f1')).toMatchObject({ status: 'completed' });
    expect(tasks.byIdempotencyKey('k-task_f2')).toBeUndefined();
    expect(tasks.byIdempotencyKey('k-task_f1')).toBe('task_f1');
    // asked again after writes, it reads what is there now
    expect(tasks.open().map((t) => t.id)).toEqual(['task_o1', 'task_o2']);
  });

  it('an open store written to before open() recovers what is on disk then', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-open-');
    cleanups.push(cleanup);
    const store = await NodeStore.open({ dir, noSync: true });
    cleanups.push(() => store.close());
    const tasks = new LmdbTaskStore(store);
    await tasks.put(task('task_a', 0, { status: 'pending' }), { created: true });
    expect(tasks.open().map((t) => t.id)).toEqual(['task_a']);
  });

  it('a corrupt record is named at open(), as before', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-open-');
    cleanups.push(cleanup);
    const store = await NodeStore.open({ dir, noSync: true });
    cleanups.push(() => store.close());
    await store.put(store.db('aoa.tasks', { sharedStructures: true }), 'task_bad', { v: 1, id: 'task_bad', status: 'pending' });
    const tasks = new LmdbTaskStore(store);
    expect(() => tasks.open()).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_STORAGE_CORRUPT_RECORD' }));
  });

  it('a restarted node reads each task record once and runs its open tasks to completion', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-open-');
    cleanups.push(cleanup);
    const start = async (handlers: Record<string, () => Promise<unknown>>): Promise<RunningNode> => {
      const n = await startNode({ id: 'n1', dataDir: dir, logger: silent, http: false, modules: [aoaModule({ minWorkers: 1, maxWorkers: 1, handlers })] });
      cleanups.push(() => n.close());
      return n;
    };
    let n = await start({ HOLD: () => new Promise(() => undefined) });
    let aoa = n.module<AoaApi>('aoa');
    const done: string[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await aoa.submitTask({ task_type: 'NOOP' });
      await aoa.waitFor(t.id);
      done.push(t.id);
    }
    const held = [await aoa.submitTask({ task_type: 'HOLD' }), await aoa.submitTask({ task_type: 'HOLD' })].map((t) => t.id);
    await n.close();

    const reads = spyOnTaskReads();
    n = await start({ HOLD: async () => 'released' });
    // opening read every record once
    const atOpen = Object.fromEntries([...reads].filter(([k]) => [...done, ...held].includes(k)));
    expect(atOpen).toEqual(Object.fromEntries([...done, ...held].map((id) => [id, 1])));
    aoa = n.module<AoaApi>('aoa');
    for (const id of held) expect(await aoa.waitFor(id)).toMatchObject({ status: 'completed', result: 'released' });
  });
});
