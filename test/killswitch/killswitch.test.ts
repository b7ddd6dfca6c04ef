import OpenAI from 'openai';
import { z } from 'zod';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock, startNode, type RunningNode } from '../../index.js';
import { KILLSWITCH_MODULE, type KillSwitchApi } from '../../actors/killswitch/index.js';
import { cleanup, dataDir, fakeProvider, fakeUpstream, onCleanup } from '../agent/harness.js';
import { silent, tempDir, until } from '../helpers.js';
import type { FakeOpenAI } from '../fixtures/fake-openai.js';

afterEach(cleanup);

async function node(fake: FakeOpenAI, dir: string, agents: Array<{ name: string }> = [{ name: 'writer' }]): Promise<RunningNode> {
  const n = await startNode({ id: 'ks', dataDir: dir, logger: silent, http: { port: 0 }, modelProvider: fakeProvider(fake), agents });
  let closed = false;
  onCleanup(async () => { if (!closed) await n.close(); });
  const close = n.close.bind(n);
  n.close = async () => { closed = true; await close(); };
  return n;
}

async function call(n: RunningNode, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${n.http!.url}${path}`, {
    method, ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  return { status: res.status, body: await res.json() };
}

const run = (n: RunningNode, agent: string) => call(n, 'POST', `/api/v1/agents/${agent}/run`, { input: 'hi' });

describe('the kill switch', () => {
  it('stops a streaming run at once: the upstream request is aborted and the client sees the coded error', async () => {
    // the upstream's words are paced (2 s apart) on a clock the test moves only to let the
    // first word out: after it the stream can only end through the kill switch (no further
    // word, no end of stream is ever due)
    const upstreamClock = new ManualClock(0);
    const fake = await fakeUpstream({ kind: 'text', text: 'one two three four five six', delayMs: 2_000 }, { clock: upstreamClock });
    const n = await node(fake, dataDir());
    const client = new OpenAI({ baseURL: `${n.http!.url}/v1`, apiKey: 'none', maxRetries: 0 });
    const created = client.chat.completions.create({ model: 'writer', messages: [{ role: 'user', content: 'write' }], stream: true });
    await fake.waitForCall(0);
    await until(() => upstreamClock.pending > 0, 5_000, 'the first word is paced');
    upstreamClock.advance(2_000);
    const stream = await created;
    const it = stream[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // on the node: the halt, then the run's end with the kill switch's code
    const order: string[] = [];
    n.agents.events.subscribe((e) => {
      if (e.type === 'agent.halted') order.push('halted');
      if (e.type === 'agent.run.finished') order.push(`finished ${e.code ?? 'ok'}`);
    });
    const engaged = await call(n, 'POST', '/api/v1/killswitch', { scope: 'agent', target: 'writer', reason: 'runaway output', by: 'ops-oncall' });
    expect(engaged.status).toBe(200);
    expect(engaged.body.aborted).toBe(1);
    expect(engaged.body.agents).toEqual(['writer']);
    let error: any;
    try {
      for (let r = await it.next(); !r.done; r = await it.next()) { /* drain what was already sent */ }
    } catch (e) {
      error = e;
    }
    expect(String(error?.message ?? error)).toMatch(/kill switch/);
    expect(order).toEqual(['halted', 'finished TROUPE_ERR_KILLSWITCH_ENGAGED']);
    const upstream = await fake.waitForEnd(0);
    expect(upstream.disconnected).toBe(true);
    expect(upstreamClock.now()).toBe(2_000);
  });

  it('refuses new runs with 503 TROUPE_ERR_KILLSWITCH_ENGAGED, survives a restart, and is released by DELETE', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'fine' });
    const dir = dataDir();
    let n = await node(fake, dir, [{ name: 'writer' }, { name: 'other' }]);
    expect((await run(n, 'writer')).status).toBe(200);
    expect((await call(n, 'POST', '/api/v1/killswitch', { scope: 'agent', target: 'writer', reason: 'audit hold' })).status).toBe(200);
    const refused = await run(n, 'writer');
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('TROUPE_ERR_KILLSWITCH_ENGAGED');
    expect(refused.body.error.message).toContain('audit hold');
    expect((await run(n, 'other')).status).toBe(200);
    const info = (await call(n, 'GET', '/api/v1/agents/writer')).body;
    expect(info.upstream.killswitch.reason).toContain('audit hold');
    const calls = fake.calls.length;
    await n.close();

    n = await node(fake, dir, [{ name: 'writer' }, { name: 'other' }]);
    const listed = (await call(n, 'GET', '/api/v1/killswitch')).body.switches;
    expect(listed).toEqual([expect.objectContaining({ scope: 'agent', target: 'writer', reason: 'audit hold' })]);
    const still = await run(n, 'writer');
    expect(still.status).toBe(503);
    expect(still.body.error.code).toBe('TROUPE_ERR_KILLSWITCH_ENGAGED');
    expect(fake.calls.length).toBe(calls);
    expect((await call(n, 'DELETE', '/api/v1/killswitch', { scope: 'agent', target: 'writer' })).body).toEqual({ released: true });
    expect((await run(n, 'writer')).status).toBe(200);
    const again = await call(n, 'DELETE', '/api/v1/killswitch?scope=agent&target=writer');
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('TROUPE_ERR_KILLSWITCH_NOT_FOUND');
  });

  it('node and tree scopes cover every matching agent, ones spawned later included; bodies are validated', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'fine' });
    const n = await node(fake, dataDir(), [{ name: 'a' }, { name: 'b' }]);
    const api = n.module<KillSwitchApi>(KILLSWITCH_MODULE);
    await api.engage({ scope: 'tree', target: 'user/agents/a', reason: 'tree hold' });
    expect((await run(n, 'a')).status).toBe(503);
    expect((await run(n, 'b')).status).toBe(200);
    await api.engage({ scope: 'node', reason: 'node hold' });
    expect((await run(n, 'b')).status).toBe(503);
    n.spawnAgent({ name: 'late' });
    expect((await run(n, 'late')).body.error.code).toBe('TROUPE_ERR_KILLSWITCH_ENGAGED');
    expect(await api.release({ scope: 'node' })).toBe(true);
    expect((await run(n, 'late')).status).toBe(200);
    expect((await run(n, 'a')).status).toBe(503);
    const bad = await call(n, 'POST', '/api/v1/killswitch', { scope: 'agent', reason: 'no target' });
    expect(bad.status).toBe(400);
    expect((await call(n, 'POST', '/api/v1/killswitch', { scope: 'galaxy', target: 'x', reason: 'r' })).status).toBe(400);
  });

  it('cluster scope reaches every node that is up: each persists it and refuses runs; a release from any node lifts it everywhere', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'fine' });
    const a = await startNode({ id: 'ca', dataDir: dataDir(), logger: silent, http: { port: 0 }, modelProvider: fakeProvider(fake), agents: [{ name: 'alpha' }], cluster: { port: 0, heartbeatMs: 100 } });
    onCleanup(() => a.close());
    const b = await startNode({ id: 'cb', dataDir: dataDir(), logger: silent, http: { port: 0 }, modelProvider: fakeProvider(fake), agents: [{ name: 'beta' }], cluster: { port: 0, seeds: [a.peer!.url], heartbeatMs: 100 } });
    onCleanup(() => b.close());
    await until(() => a.peers().includes('cb') && b.peers().includes('ca'), 10_000, 'the two nodes to meet');
    const engaged = await call(a, 'POST', '/api/v1/killswitch', { scope: 'cluster', reason: 'incident 42', by: 'sre' });
    expect(engaged.status).toBe(200);
    expect(engaged.body.switch).toMatchObject({ scope: 'cluster', target: '*', origin: 'ca' });
    expect((await run(a, 'alpha')).status).toBe(503);
    await until(async () => (await run(b, 'beta')).status === 503, 10_000, 'the switch to reach cb');
    expect((await call(b, 'GET', '/api/v1/killswitch')).body.switches).toEqual([expect.objectContaining({ scope: 'cluster', reason: 'incident 42', origin: 'ca' })]);
    expect((await call(b, 'DELETE', '/api/v1/killswitch', { scope: 'cluster' })).status).toBe(200);
    expect((await run(b, 'beta')).status).toBe(200);
    await until(async () => (await run(a, 'alpha')).status === 200, 10_000, 'the release to reach ca');
    // a node switch naming the other node is told to it
    expect((await call(a, 'POST', '/api/v1/killswitch', { scope: 'node', target: 'cb', reason: 'drain cb' })).body.agents).toEqual([]);
    await until(async () => (await run(b, 'beta')).status === 503, 10_000, 'the node switch to reach cb');
    expect((await run(a, 'alpha')).status).toBe(200);
    expect((await call(a, 'DELETE', '/api/v1/killswitch', { scope: 'node', target: 'cb' })).status).toBe(200);
    await until(async () => (await run(b, 'beta')).status === 200, 10_000, 'the node release to reach cb');
  });

  it('cancels a run that is inside a tool call too: the tool sees its signal abort, the run fails with the coded error', async () => {
    const fake = await fakeUpstream({ kind: 'tool_calls', calls: [{ name: 'wait_forever', arguments: '{}' }] });
    const n = await startNode({ id: 'kt', logger: silent, http: { port: 0 }, modelProvider: fakeProvider(fake) });
    onCleanup(() => n.close());
    let started = false;
    let aborted = false;
    n.spawnAgent({
      name: 'tooled',
      tools: [{
        name: 'wait_forever', description: 'waits until cancelled', parameters: z.object({}),
        execute: (_a, ctx) => new Promise((_resolve, reject) => {
          started = true;
          ctx.signal.addEventListener('abort', () => { aborted = true; reject(new Error('aborted')); });
        }),
      }],
    });
    const run = n.agents.run('tooled', { input: [{ role: 'user', content: 'go' }] }).then(() => undefined, (e: unknown) => e);
    await until(() => started, 10_000, 'the tool to start');
    const engaged = await n.module<KillSwitchApi>(KILLSWITCH_MODULE).engage({ scope: 'agent', target: 'tooled', reason: 'stuck tool' });
    expect(engaged.aborted).toBe(0); // no model call was in flight
    expect(await run).toMatchObject({ code: 'TROUPE_ERR_KILLSWITCH_ENGAGED' });
    expect(aborted).toBe(true);
    expect(fake.calls).toHaveLength(1);
  });
});
