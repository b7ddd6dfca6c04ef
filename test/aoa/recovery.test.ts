import { afterEach, describe, expect, it } from 'vitest';
import { startNode, aoaModule, gatewayModule, type AoaApi, type RunningNode, type TaskContext } from '../../index.js';
import { LmdbTaskStore } from '../../storage/index.js';
import { silent, tempDir, until } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

type Handlers = Record<string, (c: TaskContext) => Promise<unknown>>;

async function start(dir: string, handlers: Handlers, aoa: Record<string, number> = {}): Promise<RunningNode> {
  const n = await startNode({ id: 'n1', dataDir: dir, logger: silent, http: false, modules: [gatewayModule(), aoaModule({ ...aoa, handlers })] });
  cleanups.push(() => n.close());
  return n;
}

describe('task runtime: attempts, recovery and retention', () => {
  it('records an attempt (running, attempts + 1) before its handler runs', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-rec-');
    cleanups.push(cleanup);
    const seen: Array<{ status?: string; attempts?: number; attempt: number }> = [];
    let store: LmdbTaskStore | undefined;
    const n = await start(dir, {
      PEEK: async ({ task, attempt }) => {
        const rec = store!.get(task.id);
        seen.push({ status: rec?.status, attempts: rec?.attempts, attempt });
        if (attempt < 3) throw new Error('again');
        return 'ok';
      },
    }, { retryBaseMs: 0, retryMaxMs: 0 });
    store = new LmdbTaskStore(n.store!);
    const t = await n.module<AoaApi>('aoa').submitTask({ task_type: 'PEEK', max_retries: 5 });
    expect((await n.module<AoaApi>('aoa').waitFor(t.id)).status).toBe('completed');
    expect(seen).toEqual([1, 2, 3].map((a) => ({ status: 'running', attempts: a, attempt: a })));
  });

  it('keeps recovered tasks whose handler is registered after start waiting for it, then runs them', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-rec-');
    cleanups.push(cleanup);
    let n = await start(dir, { LATE: () => new Promise(() => undefined) }, { minWorkers: 1, maxWorkers: 1 });
    const aoa1 = n.module<AoaApi>('aoa');
    const a = await aoa1.submitTask({ task_type: 'LATE' });
    const b = await aoa1.submitTask({ task_type: 'LATE' });
    await until(() => aoa1.getTask(a.id).status === 'running');
    await n.close();

    // a node whose code registers the handler once the node is up (after the runtime recovered its tasks)
    n = await start(dir, {});
    const aoa = n.module<AoaApi>('aoa');
    expect(aoa.metrics()).toMatchObject({ waiting_for_handler: 2 });
    expect(aoa.getTask(a.id).status).toBe('pending');
    expect(aoa.getTask(b.id).status).toBe('pending');
    aoa.registerHandler('LATE', async ({ attempt }) => ({ attempt }));
    expect(await aoa.waitFor(a.id)).toMatchObject({ status: 'completed', attempts: 2, result: { attempt: 2 } });
    expect(await aoa.waitFor(b.id)).toMatchObject({ status: 'completed', attempts: 1 });
    expect(aoa.metrics()).toMatchObject({ waiting_for_handler: 0 });
  });

  it('keeps at most retainFinished finished tasks; a pruned task and its idempotency key are forgotten', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-rec-');
    cleanups.push(cleanup);
    const n = await start(dir, {}, { retainFinished: 5 });
    const aoa = n.module<AoaApi>('aoa');
    const ids: string[] = [];
    for (let i = 0; i < 40; i++) {
      const t = await aoa.submitTask({ task_type: 'NOOP', idempotency_key: `r-${i}` });
      ids.push(t.id);
      await aoa.waitFor(t.id);
    }
    // a store read afresh counts the committed retention index
    await until(() => new LmdbTaskStore(n.store!).finishedCount() === 5, 5_000, 'pruned to 5');
    const store = new LmdbTaskStore(n.store!);
    const kept = ids.filter((id) => store.get(id) !== undefined);
    expect(kept).toEqual(ids.slice(-5));
    await expect(Promise.resolve().then(() => aoa.getTask(ids[0]!))).rejects.toMatchObject({ code: 'TROUPE_ERR_AOA_TASK_NOT_FOUND' });
    expect(store.byIdempotencyKey('r-0')).toBeUndefined();
    expect(store.byIdempotencyKey('r-39')).toBe(ids[39]);
  });
});
