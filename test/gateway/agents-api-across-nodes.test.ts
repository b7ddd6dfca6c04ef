import { afterEach, describe, expect, it } from 'vitest';
import { startNode, type ModelProvider, type RunningNode } from '../../index.js';
import { TroupeError } from '../../protocol/index.js';
import { silent, until } from '../helpers.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0).reverse()) await n.close();
});

/** Two nodes in one cluster (real peer sockets), each with a gateway; B has the agents. */
async function twoNodes(provider?: ModelProvider): Promise<{ a: RunningNode; b: RunningNode }> {
  const a = await startNode({ id: 'api-a', logger: silent, model: { provider: 'offline' }, http: { port: 0 }, cluster: { port: 0, heartbeatMs: 150 } });
  nodes.push(a);
  const b = await startNode({
    id: 'api-b', logger: silent, ...(provider ? { modelProvider: provider } : { model: { provider: 'offline' } }),
    http: { port: 0 }, cluster: { port: 0, heartbeatMs: 150, seeds: [a.peer!.url] },
  });
  nodes.push(b);
  await until(() => a.peers().includes('api-b') && b.peers().includes('api-a'), 10_000, 'both nodes up');
  return { a, b };
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

describe('the agents API across nodes', () => {
  it("node A's agents API shows, runs and reads the conversations of an agent that lives on node B", async () => {
    const { a, b } = await twoNodes();
    b.spawnAgent({ name: 'far', description: 'lives on B' });
    expect(a.lookup('user/agents/far/agent')).toBeUndefined();
    const url = a.http!.url;

    const info = await fetch(`${url}/api/v1/agents/far`);
    expect(info.status).toBe(200);
    expect(await info.json() as any).toMatchObject({ name: 'far', node: 'api-b', status: 'running', description: 'lives on B', live: { activeRuns: 0 } });

    const run = await post(`${url}/api/v1/agents/far/run`, { input: 'hello across', conversation_id: 'x-1' });
    expect(run.status).toBe(200);
    const body = await run.json() as any;
    expect(body.result.content).toContain('hello across');
    expect(body.metadata.node).toBe('api-b');
    expect(body.trace.chain.map((h: any) => [h.kind, h.node])).toEqual(expect.arrayContaining([['gateway', 'api-a'], ['agent', 'api-b']]));

    const convo = await fetch(`${url}/api/v1/agents/far/conversations/x-1`);
    expect(convo.status).toBe(200);
    expect((await convo.json() as any).turns).toBe(1);

    // the listing is the cluster's, each agent with its node
    a.spawnAgent({ name: 'near' });
    const list = await (await fetch(`${url}/api/v1/agents`)).json() as any;
    expect(list.agents.map((x: any) => [x.name, x.node])).toEqual([['far', 'api-b'], ['near', 'api-a']]);

    expect((await fetch(`${url}/api/v1/agents/nowhere`)).status).toBe(404);
    const missing = await post(`${url}/api/v1/agents/nowhere/run`, { input: 'x' });
    expect(missing.status).toBe(404);
    expect((await missing.json() as any).error.code).toBe('TROUPE_ERR_AGENT_NOT_FOUND');

    // deleting through A removes it from B
    const deleted = await fetch(`${url}/api/v1/agents/far`, { method: 'DELETE' });
    expect(deleted.status).toBe(200);
    expect(b.agents.get('far')).toBeUndefined();
    expect((await fetch(`${url}/api/v1/agents/far`, { method: 'DELETE' })).status).toBe(404);
  });

  it('an agent stopped on node B is 503 TROUPE_ERR_AGENT_STOPPED from node A, and listed as stopped', async () => {
    const down: ModelProvider = {
      name: 'down', offline: true, defaultModel: 'down',
      complete: async () => {
        throw new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', 'upstream is down');
      },
    };
    const { a, b } = await twoNodes(down);
    b.spawnAgent({ name: 'doomed', limits: { maxConsecutiveFailures: 1 }, supervision: { maxRestarts: 1, withinMs: 60_000, backoff: { minMs: 0, maxMs: 0 } } });
    for (let i = 0; i < 2; i++) await b.agents.run('doomed', { input: [{ role: 'user', content: `${i}` }] }).catch(() => undefined);
    await until(() => b.agents.get('doomed')?.status === 'stopped', 5_000, 'doomed stopped');
    const url = a.http!.url;

    const run = await post(`${url}/api/v1/agents/doomed/run`, { input: 'x' });
    expect(run.status).toBe(503);
    expect((await run.json() as any).error).toMatchObject({ code: 'TROUPE_ERR_AGENT_STOPPED', details: { node: 'api-b' } });
    const chat = await post(`${url}/v1/chat/completions`, { model: 'doomed', messages: [{ role: 'user', content: 'x' }] });
    expect(chat.status).toBe(503);
    expect((await chat.json() as any).error.code).toBe('TROUPE_ERR_AGENT_STOPPED');
    expect(await (await fetch(`${url}/api/v1/agents/doomed`)).json() as any).toMatchObject({ node: 'api-b', status: 'stopped' });
  });
});
