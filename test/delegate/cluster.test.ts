import OpenAI from 'openai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startTroupe, type TroupeProcess } from '../process.js';
import { callsFor, delegationScript } from './script.js';

const cleanups: Array<() => unknown> = [];
let n1: RunningNode | undefined;
let n2: TroupeProcess | undefined;
let fake: FakeOpenAI | undefined;
afterAll(async () => {
  await n2?.kill().catch(() => undefined);
  await n1?.close();
  await fake?.close();
  cleanups.forEach((c) => c());
});

async function run(url: string, agent: string, input: string): Promise<any> {
  const res = await fetch(`${url}/api/v1/agents/${agent}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  expect(res.status).toBe(200);
  return res.json();
}

async function discover(url: string, qs: string): Promise<Array<{ name: string; node: string }>> {
  return ((await (await fetch(`${url}/api/v1/agents?${qs}`)).json()) as { agents: Array<{ name: string; node: string }> }).agents;
}

describe('delegation across real node processes', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('A on node 1 delegates to B on node 2 and C on node 1 in one run; with node 2 killed (-9) the breaker opens and A uses its fallback, or fails fast with a coded error', async () => {
    fake = await startFakeOpenAI(delegationScript);
    const d1 = tempDir('troupe-dlg1-');
    const d2 = tempDir('troupe-dlg2-');
    cleanups.push(d1.cleanup, d2.cleanup);
    const resilience = { timeoutMs: 30_000, retries: 1, backoff: { minMs: 10, maxMs: 50 }, breaker: { failures: 2, halfOpenAfterMs: 600_000 } };
    n1 = await startNode({
      id: 'dlg-n1', dataDir: d1.dir, logger: silent, http: { port: 0 }, cluster: { port: 0, heartbeatMs: 150 },
      model: { provider: 'openai', baseURL: fake.url, apiKey: 'sk-fake', model: 'gpt-fake', maxRetries: 0 },
      agents: [
        { name: 'a', instructions: 'DELEGATE a b:far work|c:near work', delegates: ['b', 'c'], delegation: { ...resilience, fallback: 'c' } },
        { name: 'solo', instructions: 'DELEGATE solo b:far work', delegates: ['b'], delegation: resilience },
        { name: 'c', instructions: 'I am C', skills: [{ id: 'near', name: 'Near', tags: ['local'] }] },
      ],
    });
    const config = join(d2.dir, 'troupe.config.json');
    writeFileSync(config, JSON.stringify({ agents: [{ name: 'b', instructions: 'I am B', description: 'lives on node 2', skills: [{ id: 'far', name: 'Far', tags: ['remote'] }] }] }));
    n2 = await startTroupe(['--node', 'dlg-n2', '--config', config, '--http-port', '0', '--peer-port', '0', '--data', join(d2.dir, 'data'), '--peers', n1.peer!.url, '--heartbeat-ms', '150'], {
      OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-fake', TROUPE_MODEL: 'gpt-fake', TROUPE_LOG_LEVEL: 'warn',
    });
    await until(() => n1!.clusterInfo().members.some((m) => m.node === 'dlg-n2' && m.status === 'up'), 30_000, 'node 2 up');
    const url = n1.http!.url;

    // discovery on node 1 sees B on node 2
    await until(async () => (await discover(url, 'skill=remote')).length === 1, 30_000, 'B discovered');
    expect(await discover(url, 'skill=remote&q=node')).toEqual([expect.objectContaining({ name: 'b', node: 'dlg-n2' })]);

    // one run of A: B on node 2 and C on node 1, the trace shows the chain and where each ran
    const out = await run(url, 'a', 'go');
    expect(out.trace.call_chain).toEqual(['a']);
    const calls = Object.fromEntries(out.trace.calls.map((c: any) => [c.target, c]));
    expect(calls.b).toMatchObject({ status: 'completed', node: 'dlg-n2', call_chain: ['a', 'b'], attempts: 1 });
    expect(calls.c).toMatchObject({ status: 'completed', node: 'dlg-n1', call_chain: ['a', 'c'], attempts: 1 });
    expect(out.result.content).toContain('I am B / far work (go)');
    expect(out.result.content).toContain('I am C / near work (go)');
    // the OpenAI route of node 2 runs A on node 1, and its completion carries the trace too
    const client = new OpenAI({ baseURL: `${n2.ready.http}/v1`, apiKey: 'none', maxRetries: 0 });
    const completion: any = await client.chat.completions.create({ model: 'a', messages: [{ role: 'user', content: 'via node 2' }] });
    expect(completion.troupe_a2a.calls.map((c: any) => `${c.target}@${c.node}:${c.status}`).sort()).toEqual(['b@dlg-n2:completed', 'c@dlg-n1:completed']);
    const bCalls = callsFor(fake.calls, 'I am B');
    expect(bCalls).toBe(2);

    // node 2 dies: discovery drops B, and A's delegations to it fail, retried, until the breaker opens
    await n2.kill();
    await until(() => n1!.clusterInfo().members.every((m) => m.node !== 'dlg-n2' || m.status === 'down'), 30_000, 'node 2 down');
    await until(async () => (await discover(url, 'skill=remote')).length === 0, 30_000, 'B no longer discovered');

    const after = await run(url, 'a', 'after');
    const failedB = after.trace.calls.find((c: any) => c.target === 'b');
    expect(failedB).toMatchObject({ status: 'failed', attempts: 2 });
    expect(['TROUPE_ERR_TRANSPORT_NODE_DOWN', 'TROUPE_ERR_AGENT_NOT_FOUND']).toContain(failedB.error.code);
    expect(after.trace.calls.find((c: any) => c.fallback_for === 'b')).toMatchObject({ target: 'c', status: 'completed', node: 'dlg-n1' });
    expect(after.result.content).toContain('I am C / far work (after)');

    // open now: the next run does not even try B, the fallback answers at once
    const open = await run(url, 'a', 'open');
    expect(open.trace.calls.find((c: any) => c.target === 'b')).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN' } });
    expect(open.trace.calls.find((c: any) => c.fallback_for === 'b')).toMatchObject({ target: 'c', status: 'completed' });

    // without a fallback: the delegation fails with a coded error the model reads, the breaker opens after two
    const solo1 = await run(url, 'solo', 's1');
    expect(solo1.trace.calls[0]).toMatchObject({ target: 'b', status: 'failed', attempts: 2 });
    const solo2 = await run(url, 'solo', 's2');
    expect(solo2.trace.calls[0]).toMatchObject({ target: 'b', status: 'failed', attempts: 0, error: { code: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN' } });
    expect(solo2.result.content).toContain('TROUPE_ERR_AGENT_CIRCUIT_OPEN');
    expect(callsFor(fake.calls, 'I am B')).toBe(bCalls);
  });
});
