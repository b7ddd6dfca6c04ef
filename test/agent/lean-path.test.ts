import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAIProvider, type ModelDelta, type ModelRequest } from '../../actors/agent/model/index.js';
import { cleanup, failure, fakeProvider, fakeUpstream, onCleanup, testNode } from './harness.js';

afterEach(cleanup);

const hello: ModelRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] };

/** A bare upstream answering every call with one JSON completion; counts the TCP connections it was given. */
async function countingUpstream(): Promise<{ url: string; connections: () => number }> {
  let connections = 0;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({
        id: 'c', object: 'chat.completion', created: 0, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
      });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  }));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, connections: () => connections };
}

describe('the lean model path: a call nobody streams', () => {
  it('asks the upstream for the whole answer as one JSON body, without stream, and reads text, usage and model from it', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'Hello there, general Kenobi!', usage: { prompt_tokens: 11, completion_tokens: 7 }, model: 'gpt-4o-2024' });
    const provider = fakeProvider(fake);
    const result = await provider.complete(hello);
    expect(result).toEqual({ content: 'Hello there, general Kenobi!', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 }, model: 'gpt-4o-2024' });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.body.stream).toBeUndefined();
    expect(fake.calls[0]!.body.stream_options).toBeUndefined();
  });

  it('gives the same result as the streamed call of the same answer, tool calls included', async () => {
    const reply = { kind: 'tool_calls' as const, content: 'Let me look.', calls: [{ id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris"}' }, { id: 'call_b', name: 'get_time', arguments: '{}' }], usage: { prompt_tokens: 3, completion_tokens: 9 } };
    const fake = await fakeUpstream(reply);
    const provider = fakeProvider(fake);
    const whole = await provider.complete(hello);
    const deltas: ModelDelta[] = [];
    const streamed = await provider.complete(hello, { onDelta: (d) => deltas.push(d) });
    expect(whole).toEqual(streamed);
    expect(whole.toolCalls.map((c) => c.name)).toEqual(['get_weather', 'get_time']);
    expect(whole.finishReason).toBe('tool_calls');
    expect(fake.calls.map((c) => c.body.stream)).toEqual([undefined, true]);
    expect(deltas.length).toBeGreaterThan(1);
  });

  it('fails with MODEL_TIMEOUT naming responseTimeoutMs when no answer comes within it, and closes the request', async () => {
    const fake = await fakeUpstream({ kind: 'hang' });
    const provider = fakeProvider(fake, { responseTimeoutMs: 200, connectTimeoutMs: 60_000 });
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_TIMEOUT');
    expect(err.details).toEqual({ responseTimeoutMs: 200 });
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });

  it('fails a whole answer that stalls after its headers with MODEL_TIMEOUT naming idleTimeoutMs', async () => {
    const fake = await fakeUpstream({ kind: 'stall', chunks: 0 });
    const provider = fakeProvider(fake, { idleTimeoutMs: 150, maxRetries: 2 });
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_TIMEOUT');
    expect(err.details).toEqual({ idleTimeoutMs: 150 });
    expect(fake.calls).toHaveLength(1);
  });

  it('refuses a whole answer over maxResponseBytes with MODEL_UPSTREAM, without retrying it', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'x'.repeat(5_000) });
    const provider = fakeProvider(fake, { maxResponseBytes: 1_024, maxRetries: 3 });
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(err.details).toEqual({ maxResponseBytes: 1_024 });
    expect(fake.calls).toHaveLength(1);
  });

  it('fails a malformed whole answer with MODEL_UPSTREAM', async () => {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ choices: 'not a list' })));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const provider = new OpenAIProvider({ baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: 'k', maxRetries: 0 });
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(err.message).toContain('malformed completion');
  });

  it('keeps the connection to the upstream alive: calls one after another reuse their sockets, concurrent calls a bounded pool', async () => {
    const up = await countingUpstream();
    const provider = new OpenAIProvider({ baseURL: up.url, apiKey: 'k', maxRetries: 0, maxConnections: 4 });
    // without keep-alive each call would open its own socket (the pool may open a second one
    // while the first is being handed back)
    for (let i = 0; i < 20; i++) expect((await provider.complete(hello)).content).toBe('ok');
    expect(up.connections()).toBeLessThanOrEqual(2);
    const results = await Promise.all(Array.from({ length: 32 }, () => provider.complete(hello)));
    expect(results.every((r) => r.content === 'ok')).toBe(true);
    expect(up.connections()).toBeLessThanOrEqual(4);
  });
});

describe('the lean model path through the gateway', () => {
  it('asks the upstream without streaming for non-streaming client requests (chat completions, agent run) and with streaming for streaming ones', async () => {
    const fake = await fakeUpstream((call) => ({ kind: 'text', text: `answer ${call.index}` }));
    const node = await testNode({ http: { port: 0 }, modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'lean', instructions: 'Be brief.' });
    const url = node.http!.url;
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });

    const whole = await client.chat.completions.create({ model: 'lean', messages: [{ role: 'user', content: 'hi' }] });
    expect(whole.choices[0]!.message.content).toBe('answer 0');
    const run = await fetch(`${url}/api/v1/agents/lean/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'hi' }) });
    expect(((await run.json()) as { result: { content: string } }).result.content).toBe('answer 1');
    let streamed = '';
    for await (const chunk of await client.chat.completions.create({ model: 'lean', stream: true, messages: [{ role: 'user', content: 'hi' }] })) {
      streamed += chunk.choices[0]?.delta?.content ?? '';
    }
    expect(streamed).toBe('answer 2');

    expect(fake.calls.map((c) => c.body.stream === true)).toEqual([false, false, true]);
  });
});
