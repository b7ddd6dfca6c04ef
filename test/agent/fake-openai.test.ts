import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI } from '../fixtures/fake-openai.js';
import { ManualClock } from '../../protocol/index.js';
import { until } from '../helpers.js';

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function sse(url: string, body: unknown): Promise<{ events: string[]; headers: Headers }> {
  const res = await fetch(`${url}/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  return { events: text.split('\n\n').filter(Boolean).map((e) => e.replace(/^data: /, '')), headers: res.headers };
}

describe('fake OpenAI server', () => {
  it('streams chunks in the OpenAI shape: role first, finish, usage chunk with empty choices, [DONE]', async () => {
    fake = await startFakeOpenAI([{ kind: 'text', text: 'one two three' }]);
    const { events, headers } = await sse(fake.url, { model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'x' }] });
    expect(headers.get('content-type')).toContain('text/event-stream');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(events.at(-1)).toBe('[DONE]');
    for (const c of chunks) expect(c).toMatchObject({ id: chunks[0].id, object: 'chat.completion.chunk', model: 'gpt-4o-mini', created: expect.any(Number) });
    expect(chunks[0].choices[0]).toEqual({ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null });
    expect(chunks[0].usage).toBeNull();
    const finish = chunks.at(-2);
    expect(finish.choices[0]).toEqual({ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' });
    const usage = chunks.at(-1);
    expect(usage.choices).toEqual([]);
    expect(usage.usage).toMatchObject({ prompt_tokens: expect.any(Number), completion_tokens: 3, total_tokens: expect.any(Number) });
    expect(chunks.slice(1, -2).map((c) => c.choices[0].delta.content).join('')).toBe('one two three');
  });

  it('omits usage without include_usage and splits tool-call arguments across chunks', async () => {
    fake = await startFakeOpenAI([{ kind: 'tool_calls', calls: [{ id: 'call_1', name: 'f', arguments: '{"a":12345}' }], argChunkSize: 4 }]);
    const { events } = await sse(fake.url, { model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] });
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e));
    expect(chunks.every((c) => !('usage' in c))).toBe(true);
    expect(chunks[0].choices[0].delta).toEqual({
      role: 'assistant',
      content: null,
      refusal: null,
      tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }],
    });
    const args = chunks.slice(1, -1).map((c) => c.choices[0].delta.tool_calls[0]);
    expect(args.every((a) => a.index === 0 && !('id' in a))).toBe(true);
    expect(args.map((a) => a.function.arguments)).toEqual(['{"a"', ':123', '45}']);
    expect(chunks.at(-1).choices[0].finish_reason).toBe('tool_calls');
  });

  it('answers non-streaming requests with a chat.completion the openai package reads', async () => {
    fake = await startFakeOpenAI([{ kind: 'text', text: 'hello' }, { kind: 'tool_calls', calls: [{ name: 'f', arguments: '{}' }] }], { apiKey: 'k', models: ['a', 'b'] });
    const client = new OpenAI({ baseURL: fake.url, apiKey: 'k', maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(r.object).toBe('chat.completion');
    expect(r.choices[0]!.message.content).toBe('hello');
    expect(r.choices[0]!.finish_reason).toBe('stop');
    expect(r.usage?.total_tokens).toBeGreaterThan(0);
    const t = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    expect(t.choices[0]!.finish_reason).toBe('tool_calls');
    expect(t.choices[0]!.message.tool_calls?.[0]).toMatchObject({ type: 'function', function: { name: 'f', arguments: '{}' } });
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(['a', 'b']);
    expect((await client.models.retrieve('b')).id).toBe('b');
    await expect(client.models.retrieve('zzz')).rejects.toMatchObject({ status: 404 });
  });

  it('rejects a wrong API key with 401 and records every request', async () => {
    fake = await startFakeOpenAI([], { apiKey: 'right' });
    const client = new OpenAI({ baseURL: fake.url, apiKey: 'wrong', maxRetries: 0 });
    await expect(client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ status: 401, code: 'invalid_api_key' });
    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]).toMatchObject({ method: 'POST', path: '/v1/chat/completions', body: { model: 'm' }, completed: true, disconnected: false });
  });

  it('sends 429 with retry-after and an OpenAI error body, and honours per-request scripts', async () => {
    fake = await startFakeOpenAI((call) => (call.index === 0 ? { kind: 'rate_limit', retryAfter: 7 } : { kind: 'error', status: 500 }));
    const post = () => fetch(`${fake!.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [] }) });
    const first = await post();
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(await first.json()).toEqual({ error: { message: expect.any(String), type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    const second = await post();
    expect(second.status).toBe(500);
    expect(((await second.json()) as { error: { type: string } }).error.type).toBe('server_error');
  });

  it('delays headers for slow replies, on the clock it was given', async () => {
    const clock = new ManualClock(5_000);
    fake = await startFakeOpenAI([{ kind: 'text', text: 'slow', headersDelayMs: 200 }], { clock });
    const reply = sse(fake.url, { model: 'm', stream: true, messages: [{ role: 'user', content: 'x' }] });
    const call = await fake.waitForCall(0);
    expect(call.receivedAt).toBe(5_000);
    await until(() => clock.pending === 1, 5_000, 'the headers to wait on the clock');
    clock.advance(199);
    expect(call.respondedAt).toBeUndefined();
    expect(clock.pending).toBe(1);
    clock.advance(1);
    const { events } = await reply;
    expect(call.respondedAt).toBe(5_200);
    expect(events.at(-1)).toBe('[DONE]');
  });

  it('closes stalled connections on close(), and close() is idempotent', async () => {
    fake = await startFakeOpenAI([{ kind: 'stall' }]);
    const res = await fetch(`${fake.url}/chat/completions`, { method: 'POST', body: JSON.stringify({ model: 'm', stream: true, messages: [] }) });
    const reader = res.body!.getReader();
    await reader.read();
    const pending = reader.read().catch((e: unknown) => e);
    await Promise.all([fake.close(), fake.close()]);
    const end = await pending;
    expect(end instanceof Error || (end as { done?: boolean }).done === true).toBe(true);
  });
});
