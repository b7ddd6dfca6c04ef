import { afterEach, describe, expect, it, vi } from 'vitest';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { startNode, aoaModule, type AoaApi } from '../../index.js';
import { LmdbTaskStore, type StoredTask } from '../../storage/index.js';
import { silent, tempDir, until } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('aoa finish', () => {
  it('shows a task as it was until its finished record commits, then finished (error of an earlier attempt dropped on completion)', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-fin-');
    cleanups.push(cleanup);
    // finished records wait at a gate before they are written
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    let held = 0;
    const put = LmdbTaskStore.prototype.put;
    vi.spyOn(LmdbTaskStore.prototype, 'put').mockImplementation(function (this: LmdbTaskStore, task: StoredTask, known?: { created?: boolean; finished?: boolean }) {
      if (!known?.finished) return put.call(this, task, known);
      held++;
      const encoded = structuredClone(task);
      return gate.then(() => put.call(this, encoded, known));
    });
    const n = await startNode({
      id: 'n1', dataDir: dir, logger: silent, http: false,
      modules: [aoaModule({ retryBaseMs: 0, retryMaxMs: 0, handlers: { FLAKY: async ({ attempt }) => { if (attempt < 2) throw new Error('first try'); return { ok: attempt }; } } })],
    });
    cleanups.push(() => n.close());
    const aoa = n.module<AoaApi>('aoa');
    const t = await aoa.submitTask({ task_type: 'FLAKY', max_retries: 2 });
    let settled = false;
    const done = aoa.waitFor(t.id).then((v) => { settled = true; return v; });
    await until(() => held === 1, 5_000, 'finish held');
    const during = aoa.getTask(t.id) as Record<string, unknown>;
    expect(during).toMatchObject({ status: 'running', attempts: 2, error: { message: 'first try' } });
    expect('finished_at' in during).toBe(false);
    expect('result' in during).toBe(false);
    expect(settled).toBe(false);
    open();
    const v = await done;
    expect(v).toMatchObject({ status: 'completed', attempts: 2, result: { ok: 2 } });
    expect('error' in v).toBe(false);
    expect(aoa.getTask(t.id)).toMatchObject({ status: 'completed', result: { ok: 2 } });
  });

  it('logs a finished record that cannot be committed (no unhandled rejection); the stored task stays running, so it runs again after a restart', async () => {
    const { dir, cleanup } = tempDir('troupe-aoa-fin-');
    cleanups.push(cleanup);
    const put = LmdbTaskStore.prototype.put;
    let refused = 0;
    vi.spyOn(LmdbTaskStore.prototype, 'put').mockImplementation(function (this: LmdbTaskStore, task: StoredTask, known?: { created?: boolean; finished?: boolean }) {
      if (!known?.finished) return put.call(this, task, known);
      refused++;
      return Promise.reject(new Error('disk full'));
    });
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'error' }, new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk)) as Record<string, unknown>); done(); } }));
    let runs = 0;
    const start = () => startNode({ id: 'n1', dataDir: dir, logger, http: false, modules: [aoaModule({ handlers: { ONCE: async () => ({ run: ++runs }) } })] });
    const n = await start();
    const aoa = n.module<AoaApi>('aoa');
    const t = await aoa.submitTask({ task_type: 'ONCE' });
    await until(() => lines.some((l) => l.task === t.id), 5_000, 'finish failure logged');
    const line = lines.find((l) => l.task === t.id)!;
    expect(line.msg).toMatch(/could not record a task finish/);
    expect((line.err as { message: string }).message).toBe('disk full');
    expect(refused).toBe(1);
    expect(aoa.getTask(t.id)).toMatchObject({ status: 'running', attempts: 1 });
    await n.close();
    vi.restoreAllMocks();
    const again = await start();
    cleanups.push(() => again.close());
    const v = await again.module<AoaApi>('aoa').waitFor(t.id);
    expect(v).toMatchObject({ status: 'completed', attempts: 2, result: { run: 2 } });
  });
});
