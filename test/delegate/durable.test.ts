import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import type { A2AApi } from '../../actors/index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { silent, tempDir, until } from '../helpers.js';

const cleanups: Array<() => unknown> = [];
const nodes: RunningNode[] = [];
let fake: FakeOpenAI | undefined;
afterAll(async () => {
  for (const n of nodes.reverse()) await n.close().catch(() => undefined);
  await fake?.close();
  cleanups.forEach((c) => c());
});

describe('durable EXECUTE across cut links', () => {
  it('200 EXECUTEs from node 1 to an agent on node 2 through 10+ cut links: every one answered, each run exactly once', async () => {
    // the upstream answers each task with its own text, slowly enough that cuts land mid-run
    fake = await startFakeOpenAI((call) => {
      const user = [...(call.body?.messages ?? [])].reverse().find((m: any) => m.role === 'user')?.content ?? '';
      return { kind: 'text', text: `done ${user}`, headersDelayMs: 20 };
    });
    const model = { provider: 'openai' as const, baseURL: fake.url, apiKey: 'sk-fake', model: 'gpt-fake', maxRetries: 0 };
    const d1 = tempDir('troupe-dlgd1-');
    const d2 = tempDir('troupe-dlgd2-');
    cleanups.push(d1.cleanup, d2.cleanup);
    const n1 = await startNode({ id: 'dur-1', dataDir: d1.dir, logger: silent, http: false, cluster: { port: 0, heartbeatMs: 100 }, model });
    nodes.push(n1);
    const n2 = await startNode({ id: 'dur-2', dataDir: d2.dir, logger: silent, http: false, cluster: { port: 0, heartbeatMs: 100, seeds: [n1.peer!.url] }, model, agents: [{ name: 'worker', instructions: 'work' }] });
    nodes.push(n2);
    await until(() => n1.peers().includes('dur-2') && n2.peers().includes('dur-1'), 20_000, 'linked');
    const api = n1.module<A2AApi>('a2a').delegation;
    // where the agent lives is learned once, over a whole link; after that cuts only delay messages
    expect((await api.execute('worker', 'warm-up')).status).toBe('completed');

    let cuts = 0;
    const cut = async (): Promise<void> => {
      const before = n1.cluster!.transport.stats().reconnects;
      if (n1.cluster!.transport.dropLinks('dur-2') === 0) return;
      cuts++;
      await until(() => n1.cluster!.transport.stats().reconnects > before, 30_000, 'relinked after a cut');
    };
    const N = 200;
    const results: Array<Promise<Awaited<ReturnType<typeof api.execute>>>> = [];
    for (let i = 0; i < N; i++) {
      // no retries: requests and results both travel durably, so a cut delays them and loses none
      results.push(api.execute('worker', `task-${i}`, { id: `dur-${i}`, timeoutMs: 120_000, retries: 0 }));
      if (i % 20 === 19) await cut();
    }
    await cut();
    const settled = await Promise.all(results);
    expect(cuts).toBeGreaterThanOrEqual(10);
    expect(settled.every((r) => r.status === 'completed')).toBe(true);
    expect(new Set(settled.map((r, i) => r.content === `done task-${i}` ? r.inReplyTo : 'wrong')).size).toBe(N);
    // each task reached the model exactly once: nothing lost, nothing run twice
    const perTask = new Map<string, number>();
    for (const c of fake.calls) {
      const user = [...(c.body?.messages ?? [])].reverse().find((m: any) => m.role === 'user')?.content as string;
      if (user === 'warm-up') continue;
      perTask.set(user, (perTask.get(user) ?? 0) + 1);
    }
    expect(perTask.size).toBe(N);
    expect([...perTask.values()].every((n) => n === 1)).toBe(true);
  }, 240_000);
});
