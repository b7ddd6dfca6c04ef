import OpenAI, { AuthenticationError, BadRequestError, NotFoundError, RateLimitError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../index.js';
import { cleanup, testNode } from '../agent/harness.js';

const KEY = 'sk-test-gateway-key';
let node: RunningNode;
let base: string;
let client: OpenAI;

const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

beforeAll(async () => {
  node = await testNode({ http: { port: 0, apiKeys: [KEY] } });
  node.spawnAgent({ name: 'assistant', instructions: 'Be helpful.', tools: ['calculator', 'clock'] });
  base = node.http!.url;
  client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
});
afterAll(cleanup);

/** POST a streaming request and split the SSE body into its `data:` payloads. */
async function sse(body: Record<string, unknown>): Promise<string[]> {
  const res = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ ...body, stream: true }),
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  expect(res.headers.get('x-request-id')).toBeTruthy();
  const text = await res.text();
  const events = text.split('\n\n').filter((e) => e.length > 0);
  for (const e of events) expect(e.startsWith('data: ')).toBe(true);
  return events.map((e) => e.slice('data: '.length));
}

describe('the gateway through the official openai client', () => {
  it('answers a non-streaming completion in the OpenAI shape', async () => {
    const { data, response } = await client.chat.completions
      .create({ model: 'assistant', messages: [{ role: 'user', content: 'Hello' }], temperature: 0.2, unknown_field: 1 } as never)
      .withResponse();
    expect(response.headers.get('x-request-id')).toBeTruthy();
    expect(data).toMatchObject({
      object: 'chat.completion',
      model: 'assistant',
      choices: [{ index: 0, message: { role: 'assistant', content: '[troupe-offline] You said: Hello' }, finish_reason: 'stop', logprobs: null }],
    });
    expect(data.id).toMatch(/^chatcmpl-/);
    expect(data.created).toBeGreaterThan(1_600_000_000);
    expect(data.usage!.total_tokens).toBe(data.usage!.prompt_tokens + data.usage!.completion_tokens);
  });

  it('streams SSE chunks: role first, one finish_reason, the usage chunk before [DONE]', async () => {
    const events = await sse({ model: 'assistant', messages: [{ role: 'user', content: 'stream this please' }], stream_options: { include_usage: true } });
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    for (const c of chunks) expect(c).toMatchObject({ id: chunks[0].id, object: 'chat.completion.chunk', model: 'assistant', created: chunks[0].created });
    expect(chunks[0].choices[0].delta.role).toBe('assistant');
    expect(chunks.slice(1).every((c) => c.choices.length === 0 || c.choices[0].delta.role === undefined)).toBe(true);
    const finishes = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishes).toHaveLength(1);
    expect(finishes[0].choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage.total_tokens).toBeGreaterThan(0);
    expect(chunks.slice(0, -1).every((c) => c.usage === null)).toBe(true);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('[troupe-offline] You said: stream this please');

    const plain = await sse({ model: 'assistant', messages: [{ role: 'user', content: 'no usage' }] });
    expect(plain.slice(0, -1).every((e) => !('usage' in JSON.parse(e)))).toBe(true);
  });

  it("resolves finalChatCompletion() of the client's stream helper, usage included", async () => {
    const stream = client.chat.completions.stream({
      model: 'assistant',
      messages: [{ role: 'user', content: 'call calculator {"expression":"6*7"}' }],
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    stream.on('content', (d) => pieces.push(d));
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('stop');
    expect(final.choices[0]!.message.content).toContain('calculator returned');
    expect(final.choices[0]!.message.content).toContain('"value":42');
    expect(pieces.join('')).toBe(final.choices[0]!.message.content);
    expect(final.usage?.completion_tokens).toBeGreaterThan(0);
  });

  it('returns the model\'s calls to the client\'s own tools and takes their results back (non-streaming)', async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'call get_weather {"city":"Paris"}' }];
    const first = await client.chat.completions.create({ model: 'assistant', messages, tools: [weatherTool] });
    const choice = first.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    const call = choice.message.tool_calls![0]!;
    expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(call.id).toMatch(/^call_/);
    messages.push(choice.message, { role: 'tool', tool_call_id: call.id, content: '{"temp_c":21}' });
    const second = await client.chat.completions.create({ model: 'assistant', messages, tools: [weatherTool] });
    expect(second.choices[0]!.finish_reason).toBe('stop');
    expect(second.choices[0]!.message.content).toBe('[troupe-offline] get_weather returned: {"temp_c":21}');
  });

  it('streams tool-call deltas the client assembles into whole calls', async () => {
    const stream = client.chat.completions.stream({ model: 'assistant', messages: [{ role: 'user', content: 'call get_weather {"city":"Oslo"}' }], tools: [weatherTool] });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.finish_reason).toBe('tool_calls');
    expect(final.choices[0]!.message.tool_calls).toEqual([
      expect.objectContaining({ type: 'function', function: expect.objectContaining({ name: 'get_weather', arguments: '{"city":"Oslo"}' }) }),
    ]);
    const events = await sse({ model: 'assistant', messages: [{ role: 'user', content: 'call get_weather {"city":"Oslo"}' }], tools: [weatherTool] });
    const calls = events.slice(0, -1).map((e) => JSON.parse(e)).flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(calls[0]).toMatchObject({ index: 0, id: expect.any(String), type: 'function', function: { name: 'get_weather' } });
    expect(calls.slice(1).every((c: any) => c.index === 0 && c.id === undefined)).toBe(true);
  });

  it('lists agents as models, naming the offline model as owner', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toContain('assistant');
    const m = await client.models.retrieve('assistant');
    expect(m).toMatchObject({ id: 'assistant', object: 'model', owned_by: 'troupe-offline' });
    await expect(client.models.retrieve('nobody')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps memory per x-conversation-id and none without it', async () => {
    const headers = { 'x-conversation-id': 'conv-openai-1' };
    await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'user', content: 'first' }] }, { headers });
    const r = await client.chat.completions.create({
      model: 'assistant',
      // OpenAI clients resend the history; only the new message is added to memory
      messages: [{ role: 'user', content: 'first' }, { role: 'assistant', content: 'whatever' }, { role: 'user', content: 'second' }],
    }, { headers });
    expect(r.choices[0]!.message.content).toContain('second');
    const res = await fetch(`${base}/api/v1/agents/assistant/conversations/conv-openai-1`, { headers: { 'x-api-key': KEY } });
    const conv = await res.json() as any;
    expect(conv.messages.map((m: any) => `${m.role}:${m.content}`)).toEqual([
      'user:first', 'assistant:[troupe-offline] You said: first', 'user:second', 'assistant:[troupe-offline] You said: second',
    ]);
  });

  it('raises the typed errors: 400 with param, 401, 404', async () => {
    const bad = await client.chat.completions.create({ model: 'assistant', messages: [{ role: 'wizard', content: 'x' }] } as never).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(BadRequestError);
    expect((bad as BadRequestError).error).toMatchObject({ type: 'invalid_request_error', param: 'messages[0].role' });
    const empty = await client.chat.completions.create({ model: 'assistant', messages: [] }).catch((e: unknown) => e);
    expect((empty as BadRequestError).param).toBe('messages');

    const wrongKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'sk-wrong-key-123', maxRetries: 0 });
    const unauth = await wrongKey.models.list().catch((e: unknown) => e);
    expect(unauth).toBeInstanceOf(AuthenticationError);
    expect((unauth as AuthenticationError).code).toBe('invalid_api_key');

    const missing = await client.chat.completions.create({ model: 'ghost', messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect((missing as NotFoundError).error).toMatchObject({ param: 'model', code: 'model_not_found', type: 'invalid_request_error' });
  });

  it('needs a key on every route but /health and /ready, by bearer or x-api-key', async () => {
    expect((await fetch(`${base}/health`)).status).toBe(200);
    expect((await fetch(`${base}/ready`)).status).toBe(200);
    const noKey = await fetch(`${base}/v1/models`);
    expect(noKey.status).toBe(401);
    expect(await noKey.json() as any).toEqual({ error: { message: expect.any(String), type: 'invalid_request_error', param: null, code: 'invalid_api_key' } });
    const api = await fetch(`${base}/api/v1/agents`);
    expect(api.status).toBe(401);
    expect((await api.json() as any).error.code).toBe('TROUPE_ERR_GATEWAY_UNAUTHORIZED');
    expect((await fetch(`${base}/metrics`)).status).toBe(401);
    expect((await fetch(`${base}/v1/models`, { headers: { 'x-api-key': KEY } })).status).toBe(200);
  });
});

describe('gateway rate limits', () => {
  it('answers 429 with retry-after in the OpenAI envelope, as a RateLimitError', async () => {
    const limited = await testNode({ id: 'rl', http: { port: 0, apiKeys: [KEY, 'sk-other-key-456'], rateLimitPerMinute: 2 } });
    limited.spawnAgent({ name: 'a' });
    const c = new OpenAI({ baseURL: `${limited.http!.url}/v1`, apiKey: KEY, maxRetries: 0 });
    await c.models.list();
    await c.models.list();
    const e = await c.models.list().catch((err: unknown) => err);
    expect(e).toBeInstanceOf(RateLimitError);
    const rl = e as RateLimitError;
    expect(rl.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(rl.error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });
    // per key: another key still has its budget
    const other = new OpenAI({ baseURL: `${limited.http!.url}/v1`, apiKey: 'sk-other-key-456', maxRetries: 0 });
    expect((await other.models.list()).data).toHaveLength(1);
    const api = await fetch(`${limited.http!.url}/api/v1/agents`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(api.status).toBe(429);
    expect((await api.json() as any).error.code).toBe('TROUPE_ERR_GATEWAY_RATE_LIMITED');
  });
});
