import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startNode, aoaModule, type AoaApi, type TaskContext } from '../../index.js';
import { ClaimAhead, MAX_CLAIMS_PER_WORKER } from '../../actors/aoa/claim-ahead.js';
import { settle, silent, tempDir, until } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(aoa: Record<string, number>, handlers: Record<string, (c: TaskContext) => Promise<unknown>>, clock?: ManualClock): Promise<AoaApi> {
  const { dir, cleanup } = tempDir('troupe-aoa-exec-');
  const n = await startNode({ id: 'n1', dataDir: dir, logger: silent, http: false, ...(clock ? { clock } : {}), modules: [aoaModule({ ...aoa, handlers })] });
  cleanups.push(cleanup, () => n.close());
  return n.module<AoaApi>('aoa');
}

describe('claiming ahead of the workers', () => {
  it('claims one per worker until a run and a commit are measured, and when runs outlast commits', () => {
    const a = new ClaimAhead();
    expect(a.budget(4)).toBe(4);
    a.commitTook(10);
    expect(a.budget(4)).toBe(4); // no run yet
    a.runTook(50);
    expect(a.budget(4)).toBe(4);
  });

  it('claims as many per worker as run within one commit, at most MAX_CLAIMS_PER_WORKER', () => {
    const a = new ClaimAhead();
    for (let i = 0; i < 1_000; i++) a.commitTook(8);
    for (let i = 0; i < 1_000; i++) a.runTook(2);
    expect(a.budget(3)).toBe(12);
    for (let i = 0; i < 1_000; i++) a.runTook(0);
    expect(a.budget(3)).toBe(3 * MAX_CLAIMS_PER_WORKER);
    // a few long runs among short ones bring it back to one per worker quickly
    for (let i = 0; i < 4; i++) a.runTook(1_000);
    expect(a.budget(3)).toBe(3);
  });

  it('claims one per worker on a clock that does not move during commits', () => {
    const a = new ClaimAhead();
    a.commitTook(0);
    a.runTook(0);
    expect(a.budget(2)).toBe(2);
  });
});

describe('workers going on with the next claim', () => {
  it('runs every task once, never more at a time than there are workers', async () => {
    let now = 0;
    let most = 0;
    const aoa = await node({ minWorkers: 2, maxWorkers: 2 }, {
      COUNT: async () => {
        most = Math.max(most, ++now);
        await new Promise((r) => setImmediate(r));
        now--;
        return 'ok';
      },
    });
    const done = await Promise.all(Array.from({ length: 60 }, async () => aoa.waitFor((await aoa.submitTask({ task_type: 'COUNT' })).id)));
    expect(done.every((d) => d.status === 'completed' && d.attempts === 1)).toBe(true);
    expect(most).toBeLessThanOrEqual(2);
    expect(most).toBeGreaterThan(0);
  });

  it('times out an attempt a worker went on with, counting from its start', async () => {
    const clock = new ManualClock(1_000_000);
    let release: (() => void) | undefined;
    let hangStarted = false;
    const aoa = await node({ minWorkers: 1, maxWorkers: 1 }, {
      GATE: () => new Promise<unknown>((r) => { release = () => r('ok'); }),
      HANG: () => { hangStarted = true; return new Promise(() => undefined); },
    }, clock);
    const gate = await aoa.submitTask({ task_type: 'GATE' });
    await until(() => release !== undefined);
    const hang = await aoa.submitTask({ task_type: 'HANG', timeout_seconds: 5, max_retries: 0 });
    await settle();
    expect(aoa.getTask(hang.id)).toMatchObject({ status: 'running', attempts: 1 }); // claimed, waiting for the worker
    clock.advance(10_000); // the claim's wait does not count against its timeout
    await settle();
    expect(hangStarted).toBe(false);
    release!();
    await until(() => hangStarted);
    expect((await aoa.waitFor(gate.id)).status).toBe('completed');
    clock.advance(4_999);
    await settle();
    expect(aoa.getTask(hang.id).status).toBe('running');
    clock.advance(1);
    expect(await aoa.waitFor(hang.id)).toMatchObject({ status: 'failed', error: { code: 'TROUPE_ERR_AOA_TIMEOUT' } });
  });
});
