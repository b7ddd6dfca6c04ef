import { afterEach, describe, expect, it } from 'vitest';
import { startNode, aoaModule, gatewayModule, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';

let node: RunningNode | undefined;
let cleanup: (() => void) | undefined;
afterEach(async () => { await node?.close(); cleanup?.(); });

describe('aoa routes', () => {
  it('submit, get, list, cancel, metrics, health with documented shapes and coded errors', async () => {
    const t = tempDir('troupe-aoa-routes-');
    cleanup = t.cleanup;
    node = await startNode({ id: 'n1', dataDir: t.dir, logger: silent, http: { port: 0 }, modules: [gatewayModule(), aoaModule({ handlers: { HANG: () => new Promise(() => undefined) } })] });
    const url = node.http!.url;
    const post = (body: unknown) => fetch(`${url}/api/v1/aoa/tasks`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const r = await post({ task_type: 'HANG', priority: 'HIGH', raci_accountable: 'ops' });
    expect(r.status).toBe(201);
    const task = await r.json() as { id: string; status: string };
    expect(task).toMatchObject({ status: 'pending', priority: 'HIGH', raci_accountable: 'ops', attempts: 0 });
    const bad = await post({ task_type: 'HANG', priority: 'URGENT' });
    expect(bad.status).toBe(400);
    expect((await bad.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_AOA_INVALID_TASK');
    const got = await fetch(`${url}/api/v1/aoa/tasks/${task.id}`);
    expect(got.status).toBe(200);
    const list = await (await fetch(`${url}/api/v1/aoa/tasks?priority=HIGH`)).json() as { tasks: unknown[] };
    expect(list.tasks).toHaveLength(1);
    const del = await fetch(`${url}/api/v1/aoa/tasks/${task.id}`, { method: 'DELETE' });
    expect((await del.json() as { status: string }).status).toBe('cancelled');
    const again = await fetch(`${url}/api/v1/aoa/tasks/${task.id}`, { method: 'DELETE' });
    expect(again.status).toBe(409);
    const missing = await fetch(`${url}/api/v1/aoa/tasks/task_nope`);
    expect((await missing.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_AOA_TASK_NOT_FOUND');
    expect(await (await fetch(`${url}/api/v1/aoa/metrics`)).json()).toMatchObject({ queue_total: 0, totals: { submitted: 1, cancelled: 1 } });
    expect(await (await fetch(`${url}/api/v1/aoa/health`)).json()).toMatchObject({ status: 'ok' });
    const scrape = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
    expect(await scrape()).toMatch(/troupe_aoa_tasks_total\{[^}]*outcome="cancelled"[^}]*\} 1\n/);
    // counted per task, given to the Prometheus counter at scrape: each scrape adds only what is new
    await post({ task_type: 'HANG' });
    expect(await scrape()).toMatch(/troupe_aoa_tasks_total\{[^}]*outcome="submitted"[^}]*\} 2\n/);
    expect(await scrape()).toMatch(/troupe_aoa_tasks_total\{[^}]*outcome="submitted"[^}]*\} 2\n/);
  });
});
