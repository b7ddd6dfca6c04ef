import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, ROOT, startTroupe, type TroupeProcess } from '../process.js';

const HB = 150;
const cleanups: Array<() => void> = [];
const procs: TroupeProcess[] = [];
let a: RunningNode | undefined;
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  await a?.close();
  cleanups.forEach((c) => c());
});

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}${path}`, { method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
  return { status: res.status, body: await res.json() };
}
const run = (base: string, agent: string) => call(base, 'POST', `/api/v1/agents/${agent}/run`, { input: 'hi' });
const status = (node: string) => a!.clusterInfo().members.find((m) => m.node === node)?.status;

describe('cluster kill switch, spread durably', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('reaches a node that was SIGKILLed when it was engaged, and a release reaches a node cut off when it was released', async () => {
    const da = tempDir('troupe-ksa-');
    const db = tempDir('troupe-ksb-');
    cleanups.push(da.cleanup, db.cleanup);
    a = await startNode({ id: 'ks-a', dataDir: da.dir, logger: silent, http: { port: 0 }, model: { provider: 'offline' }, agents: [{ name: 'alpha' }], cluster: { port: 0, heartbeatMs: HB } });
    const startB = async (peerPort: number): Promise<TroupeProcess> => {
      // B runs the shipped demo config (agents 'assistant' and 'echo') on the offline model
      const p = await startTroupe(['--node', 'ks-b', '--config', join(ROOT, 'troupe.config.json'), '--http-port', '0', '--peer-port', String(peerPort), '--data', db.dir, '--peers', a!.peer!.url],
        { OPENAI_BASE_URL: '', OPENAI_API_KEY: '' });
      procs.push(p);
      return p;
    };
    let b = await startB(0);
    const bPort = Number(new URL(b.ready.peer!).port);
    await until(() => status('ks-b') === 'up', 30_000, 'ks-b up');
    expect((await run(b.ready.http, 'echo')).status).toBe(200);

    // B dies; A engages a cluster switch while B is down
    await b.kill();
    await until(() => status('ks-b') === 'down', 30_000, 'ks-b down');
    const engaged = await call(a.http!.url, 'POST', '/api/v1/killswitch', { scope: 'cluster', reason: 'incident 7', by: 'sre' });
    expect(engaged.status).toBe(200);
    expect((await run(a.http!.url, 'alpha')).body.error.code).toBe('TROUPE_ERR_KILLSWITCH_ENGAGED');
    // the change waits in A's LMDB outbox for B
    expect(a.cluster!.transport.pendingDurable('ks-b')).toBeGreaterThanOrEqual(1);

    // B comes back (same data dir and peer port): it gets the switch, persists it, refuses runs
    b = await startB(bPort);
    await until(async () => (await call(b.ready.http, 'GET', '/api/v1/killswitch')).body.switches.length === 1, 30_000, 'switch on ks-b');
    expect((await call(b.ready.http, 'GET', '/api/v1/killswitch')).body.switches).toEqual([expect.objectContaining({ scope: 'cluster', target: '*', reason: 'incident 7', origin: 'ks-a' })]);
    const refused = await run(b.ready.http, 'echo');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('TROUPE_ERR_KILLSWITCH_ENGAGED');
    await until(() => a!.cluster!.transport.pendingDurable('ks-b') === 0, 30_000, 'acknowledged by ks-b');

    // B is cut off from A (both ways); A releases meanwhile: B still holds the switch
    const heal = a.cluster!.transport.partition('ks-b');
    await until(() => status('ks-b') !== 'up', 30_000, 'ks-b cut off');
    expect((await call(a.http!.url, 'DELETE', '/api/v1/killswitch', { scope: 'cluster' })).status).toBe(200);
    expect((await run(a.http!.url, 'alpha')).status).toBe(200);
    expect(a.cluster!.transport.pendingDurable('ks-b')).toBeGreaterThanOrEqual(1);
    expect((await run(b.ready.http, 'echo')).status).toBe(503);

    // the partition heals: the release arrives, B answers again
    heal();
    await until(async () => (await run(b.ready.http, 'echo')).status === 200, 30_000, 'released on ks-b');
    expect((await call(b.ready.http, 'GET', '/api/v1/killswitch')).body.switches).toEqual([]);
    await until(() => a!.cluster!.transport.pendingDurable('ks-b') === 0, 30_000, 'release acknowledged');

    // and the release survives B's restart (it was persisted on B, not just applied)
    await b.kill();
    b = await startB(bPort);
    expect((await call(b.ready.http, 'GET', '/api/v1/killswitch')).body.switches).toEqual([]);
    expect((await run(b.ready.http, 'echo')).status).toBe(200);
  });
});
