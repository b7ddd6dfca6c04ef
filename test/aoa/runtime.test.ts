import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startNode, aoaModule, gatewayModule, agentsModule, type AoaApi, type RunningNode, type TaskContext } from '../../index.js';
import { silent, settle, tempDir, until } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(opts: { clock?: ManualClock; handlers?: Record<string, (c: TaskContext) => Promise<unknown>>; aoa?: Record<string, number>; http?: boolean } = {}): Promise<{ node: RunningNode; aoa: AoaApi; dir: string }> {
  const { dir, cleanup } = tempDir('troupe-aoa-');
  const n = await startNode({
    id: 'n1', dataDir: dir, logger: silent, ...(opts.clock ? { clock: opts.clock } : {}),
    http: opts.http ? { port: 0 } : false,
    modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' } }), aoaModule({ ...(opts.aoa ?? {}), handlers: opts.handlers ?? {} })],
  });
  cleanups.push(cleanup, () => n.close());
  return { node: n, aoa: n.module<AoaApi>('aoa'), dir };
}

describe('task runtime', () => {
  it('runs a submitted task to completion and keeps its result', async () => {
    const { aoa } = await node({ handlers: { ECHO: async ({ task }) => ({ echoed: task.payload }) } });
    const t = await aoa.submitTask({ task_type: 'ECHO', payload: { x: 1 } });
    expect(t.status).toBe('pending');
    const done = await aoa.waitFor(t.id);
    expect(done).toMatchObject({ status: 'completed', attempts: 1, result: { echoed: { x: 1 } }, raci_responsible: 'AOA', priority: 'NORMAL' });
  });

  it('records the first attempt in the submit commit when a worker slot is free and nothing ready waits; otherwise queues it', async () => {
    const gates: Array<() => void> = [];
    const { node: n, aoa } = await node({ aoa: { minWorkers: 1, maxWorkers: 1 }, handlers: { GATED: () => new Promise((r) => gates.push(() => r({}))) } });
    const { LmdbTaskStore } = await import('../../storage/index.js');
    const stored = new LmdbTaskStore(n.store!);
    // idle pool: one commit holds the task as submitted and started
    const a = await aoa.submitTask({ task_type: 'GATED' });
    expect(a).toMatchObject({ status: 'pending', attempts: 0 });
    expect(stored.get(a.id)).toMatchObject({ status: 'running', attempts: 1 });
    await until(() => gates.length === 1, 5_000, 'a runs');
    // the worker is busy: the next one takes the claim slot ahead of it, the one after waits queued
    const b = await aoa.submitTask({ task_type: 'GATED' });
    expect(stored.get(b.id)).toMatchObject({ status: 'running', attempts: 1 });
    const c = await aoa.submitTask({ task_type: 'GATED' });
    expect(stored.get(c.id)).toMatchObject({ status: 'pending', attempts: 0 });
    for (let i = 0; i < 3; i++) {
      await until(() => gates.length > i, 5_000, `task ${i} runs`);
      gates[i]!();
    }
    for (const t of [a, b, c]) expect(await aoa.waitFor(t.id)).toMatchObject({ status: 'completed', attempts: 1 });
  });

  it('returns the same task for a repeated idempotency key, also concurrently', async () => {
    let runs = 0;
    const { aoa } = await node({ handlers: { ONCE: async () => { runs++; return runs; } } });
    const [a, b] = await Promise.all([aoa.submitTask({ task_type: 'ONCE', idempotency_key: 'k1' }), aoa.submitTask({ task_type: 'ONCE', idempotency_key: 'k1' })]);
    expect(a.id).toBe(b.id);
    await aoa.waitFor(a.id);
    const c = await aoa.submitTask({ task_type: 'ONCE', idempotency_key: 'k1' });
    expect(c).toMatchObject({ id: a.id, status: 'completed' });
    expect(runs).toBe(1);
  });

  it('retries a failing task with backoff until max_retries, then fails it with the last error', async () => {
    const clock = new ManualClock(1_000_000);
    let calls = 0;
    const { aoa } = await node({ clock, aoa: { retryBaseMs: 1_000, retryMaxMs: 1_000 }, handlers: { FLAKY: async () => { calls++; throw new Error('boom'); } } });
    const t = await aoa.submitTask({ task_type: 'FLAKY', max_retries: 2 });
    for (let i = 0; i < 3; i++) {
      await until(() => calls === i + 1, 5_000, `attempt ${i + 1}`);
      await settle();
      clock.advance(1_001);
    }
    const done = await aoa.waitFor(t.id);
    expect(done).toMatchObject({ status: 'failed', attempts: 3, error: { code: 'TROUPE_ERR_AOA_HANDLER_FAILED' } });
    expect(calls).toBe(3);
  });

  it('aborts an attempt past timeout_seconds', async () => {
    const clock = new ManualClock(1_000_000);
    let aborted: unknown;
    let started = false;
    const { aoa } = await node({ clock, handlers: { HANG: ({ signal }) => new Promise((_r, rej) => { started = true; signal.addEventListener('abort', () => { aborted = signal.reason; rej(signal.reason); }); }) } });
    const t = await aoa.submitTask({ task_type: 'HANG', timeout_seconds: 5, max_retries: 0 });
    await until(() => started);
    clock.advance(4_999);
    await settle();
    expect(aoa.getTask(t.id).status).toBe('running');
    clock.advance(1);
    const done = await aoa.waitFor(t.id);
    expect(done).toMatchObject({ status: 'failed', error: { code: 'TROUPE_ERR_AOA_TIMEOUT' } });
    expect((aborted as { code: string }).code).toBe('TROUPE_ERR_AOA_TIMEOUT');
  });

  it('holds a delayed task until scheduled_at, showing it as scheduled', async () => {
    const clock = new ManualClock(1_000_000);
    let ran = false;
    const { aoa } = await node({ clock, handlers: { LATER: async () => { ran = true; } } });
    const t = await aoa.submitTask({ task_type: 'LATER', scheduled_at: 1_060_000 });
    expect(t.status).toBe('scheduled');
    clock.advance(59_999);
    await settle(10);
    expect(ran).toBe(false);
    clock.advance(1);
    expect((await aoa.waitFor(t.id)).status).toBe('completed');
  });

  it('cancels a running task: its signal aborts and it is recorded cancelled', async () => {
    let signal: AbortSignal | undefined;
    const { aoa } = await node({ handlers: { HANG: (c) => { signal = c.signal; return new Promise(() => undefined); } } });
    const t = await aoa.submitTask({ task_type: 'HANG' });
    await until(() => signal !== undefined);
    const v = await aoa.cancelTask(t.id);
    expect(v.status).toBe('cancelled');
    expect(signal!.aborted).toBe(true);
    await expect(aoa.cancelTask(t.id)).rejects.toMatchObject({ code: 'TROUPE_ERR_AOA_TASK_FINISHED' });
    await expect(aoa.cancelTask('task_nope')).rejects.toMatchObject({ code: 'TROUPE_ERR_AOA_TASK_NOT_FOUND' });
  });

  it('cancels a running AGENT_RUN: the agent run is aborted', async () => {
    const { aoa, node: n } = await node();
    n.spawnAgent({ name: 'helper' });
    const t = await aoa.submitTask({ task_type: 'AGENT_RUN', payload: { agent: 'helper', input: 'hello' } });
    const done = await aoa.waitFor(t.id);
    expect(done.status).toBe('completed');
    await expect(aoa.submitTask({ task_type: 'AGENT_RUN', payload: { input: 'x' } })).rejects.toMatchObject({ code: 'TROUPE_ERR_AOA_INVALID_TASK' });
  });

  it('scales workers up on waiting work and down when idle, within min..max', async () => {
    const clock = new ManualClock(1_000_000);
    const gates: Array<() => void> = [];
    const { aoa } = await node({ clock, aoa: { minWorkers: 1, maxWorkers: 3, scaleIntervalMs: 100, scaleUpWaitMs: 100, scaleDownIdleMs: 1_000 }, handlers: { GATE: () => new Promise<void>((r) => gates.push(r)) } });
    for (let i = 0; i < 5; i++) await aoa.submitTask({ task_type: 'GATE' });
    for (let i = 0; i < 4; i++) { clock.advance(100); await settle(); }
    expect(aoa.health().workers).toBe(3);
    await until(() => gates.length === 3);
    await until(async () => {
      gates.splice(0).forEach((g) => g());
      await settle();
      return aoa.health().running === 0 && aoa.health().queued === 0;
    });
    for (let i = 0; i < 40; i++) { clock.advance(100); await settle(); }
    expect(aoa.health().workers).toBe(1);
    const m = aoa.metrics() as { totals: { scaled_up: number; scaled_down: number; completed: number } };
    expect(m.totals).toMatchObject({ scaled_up: 2, scaled_down: 2, completed: 5 });
  });

  it('re-queues open tasks after a restart on the same data dir', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-');
    cleanups.push(cleanup);
    const mk = (handlers: Record<string, (c: TaskContext) => Promise<unknown>>) => startNode({ id: 'n1', dataDir: dir, logger: silent, http: false, modules: [gatewayModule(), aoaModule({ handlers })] });
    let started = false;
    let n = await mk({ SLOW: () => { started = true; return new Promise(() => undefined); } });
    const a = await n.module<AoaApi>('aoa').submitTask({ task_type: 'SLOW', priority: 'HIGH' });
    await until(() => started);
    expect(n.module<AoaApi>('aoa').getTask(a.id).status).toBe('running');
    await n.close();
    n = await mk({ SLOW: async ({ attempt }) => ({ attempt }) });
    cleanups.push(() => n.close());
    const done = await n.module<AoaApi>('aoa').waitFor(a.id);
    expect(done).toMatchObject({ status: 'completed', attempts: 2, result: { attempt: 2 } });
  });
});
