import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, until } from '../helpers.js';

/**
 * Two nodes in one cluster, each with the default modules (the orchestrator among them) and
 * the offline model: research and critic live on A, analyst and writer on B. Clients use
 * node A through the official openai package.
 */
let a: RunningNode;
let b: RunningNode;
let client: OpenAI;

beforeAll(async () => {
  a = await startNode({ id: 'orch-a', logger: silent, model: { provider: 'offline' }, http: { port: 0 }, cluster: { port: 0, heartbeatMs: 150 } });
  b = await startNode({ id: 'orch-b', logger: silent, model: { provider: 'offline' }, http: { port: 0 }, cluster: { port: 0, heartbeatMs: 150, seeds: [a.peer!.url] } });
  await until(() => a.peers().includes('orch-b') && b.peers().includes('orch-a'), 10_000, 'both nodes up');
  a.spawnAgent({ name: 'assistant', instructions: 'Be brief.' });
  a.spawnAgent({ name: 'research', skills: [{ id: 'search', name: 'search prices on the web' }] });
  a.spawnAgent({ name: 'critic', skills: [{ id: 'reviews', name: 'analyze reviews' }] });
  b.spawnAgent({ name: 'analyst', skills: [{ id: 'compare', name: 'compare offers' }] });
  b.spawnAgent({ name: 'writer', skills: [{ id: 'summarize', name: 'write a summary' }] });
  client = new OpenAI({ baseURL: `${a.http!.url}/v1`, apiKey: 'unused', maxRetries: 0 });
});

afterAll(async () => {
  await b?.close();
  await a?.close();
});

describe('routing /v1/chat/completions for the orchestrator model', () => {
  it('passes a simple request to the model, with the route headers', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'troupe', messages: [{ role: 'user', content: 'hello there' }] }).withResponse();
    expect(response.headers.get('x-troupe-route')).toBe('simple');
    expect(response.headers.get('x-troupe-route-reason')).toBe('heuristic:single-step');
    expect(response.headers.get('x-session-id')).toBeNull();
    expect(data.model).toBe('troupe');
    expect(data.choices[0]!.message.content).toContain('hello there');
  });

  it('honours X-Skip-Orchestration on a request that would be complex, and passes tools through', async () => {
    const text = 'search prices, then compare offers and analyze reviews, then write a summary';
    const skipped = await client.chat.completions.create({ model: 'troupe', messages: [{ role: 'user', content: text }] }, { headers: { 'X-Skip-Orchestration': 'true' } }).withResponse();
    expect(skipped.response.headers.get('x-troupe-route')).toBe('simple');
    expect(skipped.response.headers.get('x-troupe-route-reason')).toBe('header:x-skip-orchestration');
    const tools = await client.chat.completions.create({
      model: 'troupe', messages: [{ role: 'user', content: text }],
      tools: [{ type: 'function', function: { name: 'noop', parameters: { type: 'object', properties: {} } } }],
    }).withResponse();
    expect(tools.response.headers.get('x-troupe-route-reason')).toBe('passthrough:tools');
    // another model is not routed at all
    const direct = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: text }] }).withResponse();
    expect(direct.response.headers.get('x-troupe-route')).toBeNull();
  });

  it('plans a 4-node DAG with two parallel branches across two nodes and streams attributed progress, then the answer', async () => {
    const text = 'search prices, then compare offers and analyze reviews, then write a summary';
    const { data: stream, response } = await client.chat.completions.create({ model: 'troupe', stream: true, messages: [{ role: 'user', content: text }] }).withResponse();
    expect(response.headers.get('x-troupe-route')).toBe('complex');
    expect(response.headers.get('x-troupe-route-reason')).toBe('heuristic:multi-step');
    const sessionId = response.headers.get('x-session-id');
    expect(sessionId).toMatch(/^ses_/);
    let content = '';
    const events: Array<{ event: string; node?: string; agent?: string }> = [];
    let finish: string | null = null;
    for await (const chunk of stream) {
      content += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      const t = (chunk as unknown as { troupe?: { event: string; node?: string; agent?: string } }).troupe;
      if (t) events.push(t);
    }
    expect(finish).toBe('stop');
    const started = events.filter((e) => e.event === 'node.started').map((e) => `${e.node}@${e.agent}`);
    expect(started.slice(0, 1)).toEqual(['s1@research']);
    expect(started.slice(1, 3).sort()).toEqual(['s2_1@analyst', 's2_2@critic']);
    expect(started[3]).toBe('s3@writer');
    // ordered: each node is done before anything that depends on it starts
    const at = (ev: string, node: string): number => events.findIndex((e) => e.event === ev && e.node === node);
    expect(at('node.completed', 's1')).toBeLessThan(at('node.started', 's2_1'));
    expect(Math.max(at('node.completed', 's2_1'), at('node.completed', 's2_2'))).toBeLessThan(at('node.started', 's3'));
    expect(content).toContain('[research] s1: started');
    expect(content).toContain('[writer] s3: done');
    expect(events.at(-1)).toMatchObject({ event: 'answer' });

    const session = await fetch(`${a.http!.url}/v1/sessions/${sessionId}`).then((r) => r.json()) as { status: string; answer: string; dag: { nodes: Array<{ id: string; status: string; ran_on?: string }>; parallel_groups: string[][] } };
    expect(session.status).toBe('completed');
    expect(content.endsWith(session.answer)).toBe(true);
    expect(session.dag.parallel_groups).toEqual([['s2_1', 's2_2']]);
    expect(session.dag.nodes.map((n) => [n.id, n.status, n.ran_on])).toEqual([
      ['s1', 'completed', 'orch-a'], ['s2_1', 'completed', 'orch-b'], ['s2_2', 'completed', 'orch-a'], ['s3', 'completed', 'orch-b'],
    ]);
    // each node ran as an A2A task (the agents of node B too, through node A's a2a module)
    for (const n of session.dag.nodes as Array<{ task_id?: string; a2a_tasks?: string[] }>) expect(n.a2a_tasks).toEqual([n.task_id!]);
    expect(new Set(session.dag.nodes.map((n: any) => n.task_id)).size).toBe(4);
  });

  it('forces the complex path with X-Orchestrate; a request with the session id resumes it; sessions are listed', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'troupe', messages: [{ role: 'user', content: 'search prices' }] }, { headers: { 'X-Orchestrate': 'true' } }).withResponse();
    expect(response.headers.get('x-troupe-route-reason')).toBe('header:x-orchestrate');
    const id = response.headers.get('x-session-id')!;
    expect(data.choices[0]!.message.content).toContain('search prices');
    const again = await client.chat.completions.create({ model: 'troupe', messages: [{ role: 'user', content: 'and now?' }] }, { headers: { 'x-session-id': id } }).withResponse();
    expect(again.response.headers.get('x-troupe-route-reason')).toBe('session:resume');
    expect(again.data.choices[0]!.message.content).toBe(data.choices[0]!.message.content);
    const list = await fetch(`${a.http!.url}/v1/sessions?status=completed`).then((r) => r.json()) as { data: Array<{ id: string }> };
    expect(list.data.map((s) => s.id)).toContain(id);
    const missing = await fetch(`${a.http!.url}/v1/sessions/ses_nope`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_SESSION_NOT_FOUND');
    const gone = await client.chat.completions.create({ model: 'troupe', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-session-id': 'ses_nope' } }).catch((e: unknown) => e);
    expect(gone).toMatchObject({ status: 404 });
    const metrics = await fetch(`${a.http!.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/troupe_orchestrator_routes_total\{[^}]*route="complex"[^}]*reason="header:x-orchestrate"[^}]*\} 1/);
  });
});
