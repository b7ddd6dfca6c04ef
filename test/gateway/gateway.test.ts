import { request } from 'node:http';
import OpenAI, { APIError, InternalServerError, RateLimitError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../index.js';
import { cleanup, fakeProvider, fakeUpstream, testNode } from '../agent/harness.js';

afterEach(cleanup);

async function gateway(options: Parameters<typeof testNode>[0] = {}): Promise<{ node: RunningNode; url: string; client: OpenAI }> {
  const node = await testNode({ http: { port: 0 }, ...options });
  const url = node.http!.url;
  return { node, url, client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 }) };
}

function json(url: string, method: string, body?: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method, headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
}

describe('agents API', () => {
  it('creates, lists, runs (with a trace), shows and deletes agents', async () => {
    const { url } = await gateway();
    const created = await json(`${url}/api/v1/agents`, 'POST', { name: 'helper', description: 'helps', instructions: 'Help.', tools: ['calculator'], limits: { maxTurns: 4 } });
    expect(created.status).toBe(201);
    expect(created.headers.get('location')).toBe('/api/v1/agents/helper');
    expect(await created.json() as any).toMatchObject({ name: 'helper', status: 'running', tools: ['calculator'], limits: { maxTurns: 4 }, provider: { offline: true } });

    const list = await (await json(`${url}/api/v1/agents`, 'GET')).json() as any;
    expect(list.agents.map((a: any) => a.name)).toEqual(['helper']);
    expect(list.tools).toEqual(expect.arrayContaining(['calculator', 'clock']));

    const run = await json(`${url}/api/v1/agents/helper/run`, 'POST', { input: 'call calculator {"expression":"1+1"}', conversation_id: 'c-1' }, { 'x-request-id': 'req-trace-1' });
    expect(run.status).toBe(200);
    expect(run.headers.get('x-request-id')).toBe('req-trace-1');
    const body = await run.json() as any;
    expect(body).toMatchObject({
      agent: 'helper',
      conversation_id: 'c-1',
      result: { finish_reason: 'stop', tool_calls: [], usage: { total_tokens: expect.any(Number) } },
      metadata: { model: 'troupe-offline', turns: 2, node: 't' },
      trace: { correlation_id: 'req-trace-1' },
    });
    expect(body.result.content).toContain('"value":2');
    expect(body.trace.chain.map((h: any) => h.kind)).toEqual(['gateway', 'agent', 'model', 'tool', 'model']);
    expect(body.trace.chain[0].actor).toBe('troupe://t/system/gateway');
    expect(body.trace.chain[1].actor).toBe('troupe://t/user/agents/helper/agent');

    const one = await (await json(`${url}/api/v1/agents/helper`, 'GET')).json() as any;
    expect(one.live).toEqual({ activeRuns: 0, queuedRuns: 0, conversations: 1, consecutiveFailures: 0 });
    const conv = await (await json(`${url}/api/v1/agents/helper/conversations/c-1`, 'GET')).json() as any;
    expect(conv.turns).toBe(1);

    expect((await json(`${url}/api/v1/agents/helper`, 'DELETE')).status).toBe(200);
    const gone = await json(`${url}/api/v1/agents/helper`, 'GET');
    expect(gone.status).toBe(404);
    expect((await gone.json() as any).error.code).toBe('TROUPE_ERR_AGENT_NOT_FOUND');
  });

  it('answers errors outside /v1 in the troupe envelope with coded errors', async () => {
    const { url } = await gateway();
    const bad = await json(`${url}/api/v1/agents`, 'POST', { name: 'bad name!' });
    expect(bad.status).toBe(400);
    expect((await bad.json() as any).error).toMatchObject({ code: 'TROUPE_ERR_AGENT_INVALID_SPEC', message: expect.stringContaining('name') });
    expect((await json(`${url}/api/v1/agents`, 'POST', { name: 'dup' })).status).toBe(201);
    const dup = await json(`${url}/api/v1/agents`, 'POST', { name: 'dup' });
    expect(dup.status).toBe(409);
    expect((await dup.json() as any).error.code).toBe('TROUPE_ERR_AGENT_EXISTS');
    const noRun = await json(`${url}/api/v1/agents/nobody/run`, 'POST', { input: 'x' });
    expect(noRun.status).toBe(404);
    const badRun = await json(`${url}/api/v1/agents/dup/run`, 'POST', { input: 42 });
    expect((await badRun.json() as any).error.code).toBe('TROUPE_ERR_GATEWAY_BAD_REQUEST');
    const route = await json(`${url}/api/v1/nothing`, 'GET');
    expect(await route.json() as any).toEqual({ error: { code: 'TROUPE_ERR_GATEWAY_NOT_FOUND', message: expect.any(String) } });
    const v1route = await json(`${url}/v1/nothing`, 'GET');
    expect((await v1route.json() as any).error).toMatchObject({ type: 'invalid_request_error', code: 'unknown_url', param: null });
  });

  it('refuses agent specs that bring their own upstream (baseURL, apiKey, headers) unless allowAgentProviders is set', async () => {
    const { node, url } = await gateway();
    const overrides: Array<[string, unknown]> = [['baseURL', 'http://169.254.169.254/latest/v1'], ['apiKey', 'sk-stolen'], ['headers', { 'x-internal': '1' }]];
    for (const [field, value] of overrides) {
      const r = await json(`${url}/api/v1/agents`, 'POST', { name: 'ssrf', provider: { kind: 'openai', [field]: value } });
      expect(r.status).toBe(400);
      expect((await r.json() as any).error).toMatchObject({
        code: 'TROUPE_ERR_AGENT_INVALID_SPEC', message: expect.stringContaining(`provider.${field}`), details: { param: `provider.${field}` },
      });
    }
    expect(node.agents.get('ssrf')).toBeUndefined();
    // Choosing the offline model points nowhere: allowed.
    expect((await json(`${url}/api/v1/agents`, 'POST', { name: 'plain', provider: { kind: 'offline' } })).status).toBe(201);
    // Library code keeps the choice.
    expect(node.spawnAgent({ name: 'lib', provider: { kind: 'openai', baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-lib' } }).address).toContain('lib');

    const open = await gateway({ http: { port: 0, allowAgentProviders: true } });
    const r = await json(`${open.url}/api/v1/agents`, 'POST', { name: 'own', provider: { kind: 'openai', baseURL: 'http://127.0.0.1:9/v1' } });
    expect(r.status).toBe(201);
    expect((await r.json() as any).provider).toMatchObject({ name: 'openai', baseURL: 'http://127.0.0.1:9/v1' });
  });

  it('refuses bodies over the limit with 413 in the route\'s envelope', async () => {
    const { url } = await gateway({ http: { port: 0, bodyLimitBytes: 1024 } });
    const big = 'x'.repeat(4096);
    const v1 = await json(`${url}/v1/chat/completions`, 'POST', { model: 'a', messages: [{ role: 'user', content: big }] });
    expect(v1.status).toBe(413);
    expect((await v1.json() as any).error).toMatchObject({ code: 'request_too_large', type: 'invalid_request_error' });
    const api = await json(`${url}/api/v1/agents`, 'POST', { name: 'a', instructions: big });
    expect(api.status).toBe(413);
    expect((await api.json() as any).error.code).toBe('TROUPE_ERR_GATEWAY_BODY_TOO_LARGE');
  });
});

describe('upstream failures through the gateway', () => {
  it('maps upstream 5xx to 502, an exhausted 429 to 429 with retry-after, a stalled stream to 504', async () => {
    const fake = await fakeUpstream([{ kind: 'error', status: 500 }, { kind: 'rate_limit', retryAfter: 3 }, { kind: 'stall', chunks: 0 }]);
    const { node, client } = await gateway({ modelProvider: fakeProvider(fake, { idleTimeoutMs: 150 }) });
    node.spawnAgent({ name: 'up' });
    const ask = () => client.chat.completions.create({ model: 'up', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);

    const e500 = await ask();
    expect(e500).toBeInstanceOf(InternalServerError);
    expect((e500 as APIError).status).toBe(502);
    expect((e500 as APIError).error).toMatchObject({ type: 'server_error', code: 'TROUPE_ERR_MODEL_UPSTREAM' });

    const e429 = await ask();
    expect(e429).toBeInstanceOf(RateLimitError);
    expect((e429 as RateLimitError).headers.get('retry-after')).toBe('3');

    const e504 = await ask();
    expect((e504 as APIError).status).toBe(504);
    expect((e504 as APIError).error).toMatchObject({ code: 'TROUPE_ERR_MODEL_TIMEOUT' });
  });

  it('answers 502 without the upstream\'s message when the upstream refuses our key', async () => {
    const fake = await fakeUpstream({ kind: 'error', status: 401, message: 'Incorrect API key provided: sk-proj-abcd****wxyz', code: 'invalid_api_key' });
    const { node, url } = await gateway({ modelProvider: fakeProvider(fake, { maxRetries: 3 }) });
    node.spawnAgent({ name: 'up' });
    const r = await json(`${url}/v1/chat/completions`, 'POST', { model: 'up', messages: [{ role: 'user', content: 'x' }] });
    expect(r.status).toBe(502);
    const text = await r.text();
    expect(JSON.parse(text).error).toMatchObject({ type: 'server_error', code: 'TROUPE_ERR_MODEL_UPSTREAM' });
    expect(text).not.toContain('sk-');
    expect(text).not.toContain('Incorrect API key');
    expect(fake.calls).toHaveLength(1);
  });

  it('cancels the run of a streaming client that stops reading, once the unsent output passes the limit', async () => {
    const piece = 'y'.repeat(64 * 1024);
    const fake = await fakeUpstream({ kind: 'text', chunks: Array.from({ length: 640 }, () => piece), delayMs: 2 });
    const { node, url } = await gateway({ modelProvider: fakeProvider(fake), http: { port: 0, sseMaxBufferedBytes: 256 * 1024 } });
    node.spawnAgent({ name: 'firehose' });
    const target = new URL(`${url}/v1/chat/completions`);
    const body = JSON.stringify({ model: 'firehose', stream: true, messages: [{ role: 'user', content: 'x' }] });
    const res = await new Promise<import('node:http').IncomingMessage>((resolve, reject) => {
      const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json' } }, resolve);
      req.on('error', reject);
      req.end(body);
    });
    expect(res.statusCode).toBe(200);
    res.pause(); // a client that stops reading
    // The run is cancelled and its upstream request aborted, though the client is still connected.
    expect((await fake.waitForEnd(0, 20_000)).disconnected).toBe(true);
    await expect.poll(async () => (await node.agents.status('firehose')).activeRuns).toBe(0);
    // Reading again, the client finds the stream ended by an error event saying why.
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (c: string) => void (text += c));
    res.resume();
    await new Promise((r) => res.once('end', r));
    expect(text).not.toContain('[DONE]');
    expect(text).toContain('too slowly');
    expect(text.length).toBeLessThan(640 * piece.length);
  });

  it('cancels the run, and the upstream request, when a streaming client disconnects', async () => {
    const fake = await fakeUpstream({ kind: 'stall', chunks: 2, text: 'partial answer that never ends' });
    const { node, url } = await gateway({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'up' });
    const ac = new AbortController();
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'up', stream: true, messages: [{ role: 'user', content: 'x' }] }),
      signal: ac.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toContain('chat.completion.chunk');
    ac.abort();
    const ended = await fake.waitForEnd(0);
    expect(ended.disconnected).toBe(true);
    await expect.poll(async () => (await node.agents.status('up')).activeRuns).toBe(0);
  });

  it('cancels a non-streaming run when its client goes away', async () => {
    const fake = await fakeUpstream({ kind: 'hang' });
    const { node, url } = await gateway({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'up' });
    const ac = new AbortController();
    const p = fetch(`${url}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'up', messages: [{ role: 'user', content: 'x' }] }), signal: ac.signal,
    }).catch(() => undefined);
    await fake.waitForCall(0);
    ac.abort();
    await p;
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });
});

describe('metrics', () => {
  it('serves Prometheus text from a per-node registry: HTTP, messages, tokens, mailboxes, restarts, dead letters', async () => {
    const { node, url, client } = await gateway();
    node.spawnAgent({ name: 'm' });
    await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'count me' }] });
    await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch(() => undefined);
    const crashy = node.spawn(() => {
      throw new Error('boom');
    }, { name: 'crashy', poisonAfter: 1 });
    node.tell(crashy, 'x');
    node.tell('user/ghost', 'to nobody');
    await expect.poll(() => node.actors()[1]!.children.find((c) => c.path === 'user/crashy')?.incarnation).toBe(1);
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toMatch(/troupe_http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="200",node="t"\} 1/);
    expect(text).toMatch(/troupe_http_requests_total\{method="POST",route="\/v1\/chat\/completions",status="404",node="t"\} 1/);
    expect(text).toContain('troupe_http_request_duration_seconds_bucket');
    expect(text).toMatch(/troupe_agent_tokens_total\{agent="m",kind="completion",node="t"\} [1-9]/);
    expect(text).toMatch(/troupe_agent_runs_total\{agent="m",outcome="ok",node="t"\} 1/);
    expect(text).toMatch(/troupe_gateway_messages_total\{direction="out",type="agent.run",node="t"\} 1/);
    expect(text).toMatch(/troupe_gateway_messages_total\{direction="in",type="agent.result",node="t"\} 1/);
    expect(text).toMatch(/troupe_mailbox_depth\{actor="user\/agents\/m\/agent",node="t"\} 0/);
    expect(text).toMatch(/troupe_actor_restarts_total\{actor="user\/crashy",node="t"\} 1/);
    expect(text).toMatch(/troupe_dead_letters_total\{reason="not-found",node="t"\} 1/);
    expect(text).toContain('process_cpu_user_seconds_total');
  });
});

describe('metrics of removed agents', () => {
  it('drops an agent\'s series when the agent is removed', async () => {
    const { url, client } = await gateway();
    expect((await json(`${url}/api/v1/agents`, 'POST', { name: 'ephemeral' })).status).toBe(201);
    await client.chat.completions.create({ model: 'ephemeral', messages: [{ role: 'user', content: 'hi' }] });
    const before = await (await fetch(`${url}/metrics`)).text();
    expect(before).toMatch(/troupe_agent_runs_total\{agent="ephemeral",outcome="ok",node="t"\} 1/);
    expect(before).toMatch(/troupe_agent_tokens_total\{agent="ephemeral",kind="prompt",node="t"\}/);
    expect(before).toMatch(/troupe_agent_runs_in_flight\{agent="ephemeral",node="t"\} 0/);
    expect((await json(`${url}/api/v1/agents/ephemeral`, 'DELETE')).status).toBe(200);
    const after = await (await fetch(`${url}/metrics`)).text();
    expect(after).not.toContain('agent="ephemeral"');
    // the same name again starts fresh series (no stale cached ones)
    expect((await json(`${url}/api/v1/agents`, 'POST', { name: 'ephemeral' })).status).toBe(201);
    await client.chat.completions.create({ model: 'ephemeral', messages: [{ role: 'user', content: 'again' }] });
    const again = await (await fetch(`${url}/metrics`)).text();
    expect(again).toMatch(/troupe_agent_runs_total\{agent="ephemeral",outcome="ok",node="t"\} 1/);
    expect(again).toMatch(/troupe_agent_tokens_total\{agent="ephemeral",kind="completion",node="t"\} [1-9]/);
  });
});

describe('graceful shutdown', () => {
  it('drains: readiness 503, new requests refused, the run in flight finishes', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'finished in time', headersDelayMs: 300 });
    const { node, url, client } = await gateway({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'slow' });
    const inflight = client.chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'x' }] });
    await fake.waitForCall(0);
    const closed = node.close();
    const ready = await fetch(`${url}/ready`);
    expect(ready.status).toBe(503);
    expect(await ready.json() as any).toMatchObject({ status: 'draining' });
    const refused = await json(`${url}/v1/models`, 'GET');
    expect(refused.status).toBe(503);
    expect((await refused.json() as any).error.code).toBe('TROUPE_ERR_GATEWAY_NOT_READY');
    expect((await inflight).choices[0]!.message.content).toBe('finished in time');
    await closed;
  });

  it('cancels what is still running when the drain time is up (503 to the client, upstream aborted)', async () => {
    const fake = await fakeUpstream({ kind: 'hang' });
    const { node, client } = await gateway({ modelProvider: fakeProvider(fake), http: { port: 0, drainTimeoutMs: 100 } });
    node.spawnAgent({ name: 'stuck' });
    const inflight = client.chat.completions.create({ model: 'stuck', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    await fake.waitForCall(0);
    await node.close();
    const e = await inflight;
    expect((e as APIError).status).toBe(503);
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });
});
