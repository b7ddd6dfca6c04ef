import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { InspectionEvent, ModelProvider, RunningNode } from '../../index.js';
import { TroupeError } from '../../protocol/index.js';
import { cleanup, testNode } from '../agent/harness.js';

afterEach(cleanup);

type GatewayEvent = Extract<InspectionEvent, { type: 'gateway.message' }>;

async function gateway(options: Parameters<typeof testNode>[0] = {}): Promise<{ node: RunningNode; url: string; client: OpenAI; seen: GatewayEvent[] }> {
  const node = await testNode({ http: { port: 0 }, ...options });
  const seen: GatewayEvent[] = [];
  node.inspect((e) => {
    if (e.type === 'gateway.message') seen.push(e);
  });
  const url = node.http!.url;
  return { node, url, seen, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

function post(url: string, body: unknown): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** A provider whose upstream is always down (what makes a supervisor give up on an agent). */
const down: ModelProvider = {
  name: 'down', offline: true, defaultModel: 'down',
  complete: async () => {
    throw new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', 'upstream is down');
  },
};

describe('the gateway actor', () => {
  it('an OpenAI request becomes messages to the gateway actor: gateway.stream to the agent, then its agent.result', async () => {
    const { node, client, seen } = await gateway();
    node.spawnAgent({ name: 'helper' });
    const done = await client.chat.completions.create({ model: 'helper', messages: [{ role: 'user', content: 'hi there' }] });
    expect(done.choices[0]!.message.content).toContain('hi there');
    const runId = done.id.replace(/^chatcmpl-/, '');
    expect(seen).toEqual([
      { type: 'gateway.message', messageType: 'gateway.stream', runId, target: 'agent:helper' },
      { type: 'gateway.message', messageType: 'agent.result', runId },
    ]);
  });

  it('a streamed request brings the deltas to the gateway actor as messages, in order, before the result', async () => {
    const { node, client, seen } = await gateway();
    node.spawnAgent({ name: 'streamer' });
    const stream = client.chat.completions.stream({ model: 'streamer', messages: [{ role: 'user', content: 'one two three' }] });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toContain('one two three');
    const types = seen.map((e) => e.messageType);
    expect(types[0]).toBe('gateway.stream');
    expect(types.at(-1)).toBe('agent.result');
    expect(types.slice(1, -1).length).toBeGreaterThan(0);
    expect(new Set(types.slice(1, -1))).toEqual(new Set(['agent.delta']));
  });

  it('the agents API goes through it too: a run, and a directory request for the listing', async () => {
    const { node, url, seen } = await gateway();
    node.spawnAgent({ name: 'worker' });
    const run = await post(`${url}/api/v1/agents/worker/run`, { input: 'work' });
    expect(run.status).toBe(200);
    const listed = await fetch(`${url}/api/v1/agents/worker`);
    expect(listed.status).toBe(200);
    expect(seen.map((e) => [e.messageType, e.target])).toEqual([
      ['gateway.stream', 'agent:worker'],
      ['agent.result', undefined],
      ['gateway.request', 'system/agents'],
    ]);
  });

  it('a client going away sends gateway.cancel, and the agent aborts the run and its model call', async () => {
    let aborted = 0;
    const { node, url, seen } = await gateway({
      modelProvider: {
        name: 'hang', offline: true, defaultModel: 'hang',
        complete: (_req, opts) => new Promise((_resolve, reject) => opts?.signal?.signal.addEventListener('abort', () => {
          aborted++;
          reject(new TroupeError('TROUPE_ERR_AGENT_CANCELLED', 'aborted'));
        })),
      },
    });
    node.spawnAgent({ name: 'slow' });
    const ac = new AbortController();
    const pending = fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, signal: ac.signal,
      body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'x' }] }),
    }).catch((e: unknown) => e);
    await expect.poll(async () => (await node.agents.status('slow')).activeRuns).toBe(1);
    ac.abort();
    await pending;
    await expect.poll(async () => (await node.agents.status('slow')).activeRuns).toBe(0);
    expect(aborted).toBe(1);
    // the agent still reports the run's end; the gateway has forgotten the run and drops it
    await expect.poll(() => seen.map((e) => e.messageType)).toEqual(['gateway.stream', 'gateway.cancel', 'agent.error']);
  });

  it("only the run's target settles a run: a forged agent.result from another actor is ignored", async () => {
    let release!: (v: unknown) => void;
    const { node } = await gateway({
      modelProvider: {
        name: 'held', offline: true, defaultModel: 'held',
        complete: () => new Promise((resolve) => { release = resolve; }),
      },
    });
    node.spawnAgent({ name: 'honest' });
    const running = node.gateway.run({ kind: 'agent', name: 'honest' }, { input: [{ role: 'user', content: 'x' }] }, { runId: 'run_forged' });
    await expect.poll(async () => (await node.agents.status('honest')).activeRuns).toBe(1);
    const forger = node.spawn<null, unknown>(() => undefined, { name: 'forger' });
    const forged = {
      type: 'agent.result', runId: 'run_forged',
      result: { runId: 'run_forged', agent: 'honest', content: 'forged', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, model: 'm', turns: 1, trace: { chain: [] } },
    };
    node.tell(node.gateway.ref, forged, { sender: forger });
    release({ content: 'honest answer', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 }, model: 'held' });
    const result = await running;
    expect(result.content).toBe('honest answer');
  });
});

describe('a stopped agent', () => {
  async function stoppedAgent(): Promise<{ node: RunningNode; url: string; client: OpenAI }> {
    const { node, url, client } = await gateway({ modelProvider: down });
    node.spawnAgent({ name: 'doomed', limits: { maxConsecutiveFailures: 1 }, supervision: { maxRestarts: 1, withinMs: 60_000, backoff: { minMs: 0, maxMs: 0 } } });
    for (let i = 0; i < 2; i++) await node.agents.run('doomed', { input: [{ role: 'user', content: `${i}` }] }).catch(() => undefined);
    await expect.poll(() => node.agents.get('doomed')?.status).toBe('stopped');
    return { node, url, client };
  }

  it('answers 503 TROUPE_ERR_AGENT_STOPPED on /v1/chat/completions and on the agents API, not 404', async () => {
    const { url } = await stoppedAgent();
    const chat = await post(`${url}/v1/chat/completions`, { model: 'doomed', messages: [{ role: 'user', content: 'x' }] });
    expect(chat.status).toBe(503);
    const chatError = (await chat.json() as any).error;
    expect(chatError).toMatchObject({ code: 'TROUPE_ERR_AGENT_STOPPED', param: 'model', type: 'server_error' });
    expect(chatError.message).toContain('TROUPE_ERR_SUPERVISOR_INTENSITY');

    const run = await post(`${url}/api/v1/agents/doomed/run`, { input: 'x' });
    expect(run.status).toBe(503);
    expect((await run.json() as any).error.code).toBe('TROUPE_ERR_AGENT_STOPPED');
  });

  it('listings show its status: /v1/models, /v1/models/:id and /api/v1/agents/:name', async () => {
    const { url } = await stoppedAgent();
    const models = await (await fetch(`${url}/v1/models`)).json() as any;
    expect(models.data.find((m: any) => m.id === 'doomed').troupe.status).toBe('stopped');
    expect((await (await fetch(`${url}/v1/models/doomed`)).json() as any).troupe.status).toBe('stopped');
    const info = await fetch(`${url}/api/v1/agents/doomed`);
    expect(info.status).toBe(200);
    expect(await info.json() as any).toMatchObject({ name: 'doomed', status: 'stopped', stoppedReason: expect.stringContaining('TROUPE_ERR_SUPERVISOR_INTENSITY') });
    const list = await (await fetch(`${url}/api/v1/agents`)).json() as any;
    expect(list.agents.find((a: any) => a.name === 'doomed').status).toBe('stopped');
  });
});
