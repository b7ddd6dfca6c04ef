import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { OpenAIProvider, createProvider, describeProvider, providerConfigFromEnv, OfflineModel, type ModelDelta, type ModelRequest } from '../../actors/agent/model/index.js';
import { ManualClock, isTroupeError } from '../../protocol/index.js';
import { startFakeOpenAI, type FakeOpenAI, type FakeScript } from '../fixtures/fake-openai.js';
import { clockSleep } from '../../actors/agent/model/retry.js';
import { until } from '../helpers.js';
import { failure } from './harness.js';

const hello: ModelRequest = { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'Say hello' }] };

let fake: FakeOpenAI | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function setup(script: FakeScript, options: ConstructorParameters<typeof OpenAIProvider>[0] = {}, sleeps?: number[]) {
  fake = await startFakeOpenAI(script);
  const provider = new OpenAIProvider(
    { baseURL: fake.url, apiKey: 'sk-test', ...options },
    sleeps ? { sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 } : {},
  );
  return { fake, provider };
}

/** Advance `clock` by `stepMs` between polls until `cond` holds (a wait for something to happen). */
async function driveUntil(clock: ManualClock, stepMs: number, cond: () => boolean, what: string): Promise<void> {
  await until(() => {
    if (cond()) return true;
    clock.advance(stepMs);
    return cond();
  }, 10_000, what);
}

describe('OpenAIProvider against the fake OpenAI server', () => {
  it('assembles streamed text deltas into the result and takes usage from the usage chunk', async () => {
    const { fake, provider } = await setup([{ kind: 'text', text: 'Hello there, general Kenobi!', usage: { prompt_tokens: 11, completion_tokens: 7 } }]);
    const deltas: ModelDelta[] = [];
    const result = await provider.complete(hello, { onDelta: (d) => deltas.push(d) });

    expect(result.content).toBe('Hello there, general Kenobi!');
    expect(result.finishReason).toBe('stop');
    expect(result.toolCalls).toEqual([]);
    expect(result.usage).toEqual({ prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 });
    expect(result.model).toBe('gpt-4o-mini');
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.every((d) => d.type === 'content')).toBe(true);
    expect(deltas.map((d) => (d.type === 'content' ? d.text : '')).join('')).toBe(result.content);

    expect(fake.calls).toHaveLength(1);
    expect(fake.calls[0]!.body).toMatchObject({ model: 'gpt-4o-mini', stream: true, stream_options: { include_usage: true } });
    expect(fake.calls[0]!.headers.authorization).toBe('Bearer sk-test');
  });

  it('assembles tool-call deltas split across chunks into whole tool calls', async () => {
    const calls = [
      { id: 'call_a', name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' },
      { id: 'call_b', name: 'get_time', arguments: '{"tz":"Europe/Paris"}' },
    ];
    const { provider } = await setup([{ kind: 'tool_calls', calls, argChunkSize: 3 }]);
    const deltas: ModelDelta[] = [];
    const result = await provider.complete(
      { ...hello, tools: [{ name: 'get_weather', parameters: { type: 'object' } }, { name: 'get_time' }] },
      { onDelta: (d) => deltas.push(d) },
    );

    expect(result.finishReason).toBe('tool_calls');
    expect(result.content).toBeNull();
    expect(result.toolCalls).toEqual(calls);
    const toolDeltas = deltas.filter((d) => d.type === 'tool_call');
    expect(toolDeltas.length).toBeGreaterThan(calls.length * 2);
    expect(toolDeltas[0]).toMatchObject({ index: 0, id: 'call_a', name: 'get_weather' });
    for (const [i, c] of calls.entries()) {
      const args = toolDeltas.filter((d) => d.index === i).map((d) => d.argumentsDelta).join('');
      expect(args).toBe(c.arguments);
    }
  });

  it('sends tools, tool choice, history with tool calls and limits in the wire format', async () => {
    const { fake, provider } = await setup([{ kind: 'text', text: 'ok' }]);
    await provider.complete({
      model: 'local-model',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, toolCalls: [{ id: 'c1', name: 'get_weather', arguments: '{}' }] },
        { role: 'tool', toolCallId: 'c1', content: 'sunny' },
      ],
      tools: [{ name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: {} } }],
      toolChoice: { name: 'get_weather' },
      temperature: 0.2,
      maxTokens: 50,
      stop: ['\n\n'],
      seed: 7,
      responseFormat: { type: 'json_object' },
    });
    const body = fake.calls[0]!.body;
    expect(body.messages[2]).toEqual({ role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] });
    expect(body.messages[3]).toEqual({ role: 'tool', content: 'sunny', tool_call_id: 'c1' });
    expect(body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'weather', parameters: { type: 'object', properties: {} } } }]);
    expect(body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    // Not api.openai.com, so the widely supported field carries the limit.
    expect(body.max_tokens).toBe(50);
    expect(body).toMatchObject({ temperature: 0.2, stop: ['\n\n'], seed: 7, response_format: { type: 'json_object' } });
  });

  it('waits for retry-after on a 429, then succeeds on the retry', async () => {
    // The provider and the fake share a ManualClock: the fake stamps each request with it.
    const clock = new ManualClock(0);
    fake = await startFakeOpenAI([{ kind: 'rate_limit', retryAfter: 1 }, { kind: 'text', text: 'finally' }], { clock });
    const provider = new OpenAIProvider({ baseURL: fake.url, apiKey: 'sk-test' }, { clock });
    const result = provider.complete(hello);
    await driveUntil(clock, 100, () => fake!.calls.length === 2, 'the retry');
    expect(fake.calls[1]!.receivedAt - fake.calls[0]!.receivedAt).toBeGreaterThanOrEqual(1_000);
    expect((await result).content).toBe('finally');
    expect(fake.calls).toHaveLength(2);
  });

  it('fails with MODEL_RATE_LIMITED and retryAfterMs once the retry budget is spent', async () => {
    const sleeps: number[] = [];
    const { fake, provider } = await setup({ kind: 'rate_limit', retryAfter: 2 }, { maxRetries: 3 }, sleeps);
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_RATE_LIMITED');
    expect(err.details).toMatchObject({ retryAfterMs: 2000, attempts: 4, status: 429 });
    expect(err.cause).toBeDefined();
    expect(sleeps).toEqual([2000, 2000, 2000]);
    expect(fake.calls).toHaveLength(4);
  });

  it('honours retry-after-ms over retry-after', async () => {
    const sleeps: number[] = [];
    const { provider } = await setup([{ kind: 'rate_limit', retryAfter: 30, retryAfterMs: 250 }, { kind: 'text', text: 'ok' }], {}, sleeps);
    await provider.complete(hello);
    expect(sleeps).toEqual([250]);
  });

  it('fails at once when a 429 asks for a wait past maxRetryAfterMs', async () => {
    const sleeps: number[] = [];
    const { fake, provider } = await setup({ kind: 'rate_limit', retryAfter: 3600 }, { maxRetryAfterMs: 60_000 }, sleeps);
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_RATE_LIMITED');
    expect(err.details?.['retryAfterMs']).toBe(3_600_000);
    expect(sleeps).toEqual([]);
    expect(fake.calls).toHaveLength(1);
  });

  it('maps a 500 to MODEL_UPSTREAM after bounded retries with backoff', async () => {
    const sleeps: number[] = [];
    const { fake, provider } = await setup({ kind: 'error', status: 500 }, { maxRetries: 2, backoffBaseMs: 100 }, sleeps);
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(err.details).toMatchObject({ status: 500, attempts: 3 });
    expect(err.cause).toBeInstanceOf(Error);
    expect(fake.calls).toHaveLength(3);
    expect(sleeps).toEqual([75, 150]);
  });

  it('recovers when a 5xx is followed by a good answer, logging the retry', async () => {
    fake = await startFakeOpenAI([{ kind: 'error', status: 503 }, { kind: 'text', text: 'back' }]);
    const lines: Array<Record<string, unknown>> = [];
    const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
    const provider = new OpenAIProvider({ baseURL: fake.url }, { logger, sleep: async () => {} });
    expect((await provider.complete(hello)).content).toBe('back');
    expect(lines).toContainEqual(expect.objectContaining({ msg: 'model call failed, retrying', code: 'TROUPE_ERR_MODEL_UPSTREAM', status: 503, provider: 'openai' }));
    expect(JSON.stringify(lines)).not.toContain('not-needed');
  });

  it('waits to retry on the clock it was given, not on real timers', async () => {
    // A wait of 10 minutes: on real timers the retry could not come within the test's time.
    const clock = new ManualClock(1_000_000);
    fake = await startFakeOpenAI([{ kind: 'error', status: 503, headers: { 'retry-after-ms': '600000' } }, { kind: 'text', text: 'back' }], { clock });
    const provider = new OpenAIProvider({ baseURL: fake.url, maxRetryAfterMs: 900_000, timeoutMs: 3_600_000 }, { clock });
    const result = provider.complete(hello);
    await until(() => fake!.calls.length === 1 && fake!.calls[0]!.completed, 5_000, 'the first attempt');
    // Time moves only when the test moves it; the retry goes out once 10 minutes of it have passed.
    await driveUntil(clock, 30_000, () => fake!.calls.length === 2, 'the retry');
    expect(fake.calls[1]!.receivedAt - fake.calls[0]!.receivedAt).toBeGreaterThanOrEqual(600_000);
    expect((await result).content).toBe('back');
  });

  it('maps a 401 or 403 to MODEL_UPSTREAM without retrying; the upstream message (it may quote the key) goes to the logs only', async () => {
    for (const status of [401, 403]) {
      fake = await startFakeOpenAI({ kind: 'error', status, message: 'Incorrect API key provided: sk-live-abc1****wxyz', code: 'invalid_api_key' });
      const lines: Array<Record<string, unknown>> = [];
      const logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
      const provider = new OpenAIProvider({ baseURL: fake.url, apiKey: 'sk-live-abc123', maxRetries: 3 }, { logger, sleep: async () => {} });
      const err = await failure(provider.complete(hello));
      expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
      expect(err.status).toBe(502);
      expect(err.message).toContain(`HTTP ${status}`);
      expect(JSON.stringify({ message: err.message, details: err.details, cause: String(err.cause ?? '') })).not.toContain('sk-');
      expect(fake.calls).toHaveLength(1);
      expect(JSON.stringify(lines)).toContain('Incorrect API key provided');
      await fake.close();
    }
  });

  it('maps another 4xx to MODEL_BAD_REQUEST without retrying', async () => {
    const { fake, provider } = await setup({ kind: 'error', status: 400, message: 'bad messages', param: 'messages', code: 'invalid_value' }, {}, []);
    const err = await failure(provider.complete(hello));
    expect(err.code).toBe('TROUPE_ERR_MODEL_BAD_REQUEST');
    expect(err.details).toMatchObject({ status: 400, param: 'messages', upstreamCode: 'invalid_value' });
    expect(err.message).toContain('bad messages');
    expect(fake.calls).toHaveLength(1);
  });

  it('fails a stalled stream with MODEL_TIMEOUT once the idle timeout passes on its clock, and closes the connection', async () => {
    // Five minutes without data: only the provider's ManualClock can make them pass in time.
    const clock = new ManualClock(0);
    fake = await startFakeOpenAI({ kind: 'stall', chunks: 2 });
    const provider = new OpenAIProvider({ baseURL: fake.url, apiKey: 'sk-test', idleTimeoutMs: 300_000, timeoutMs: 3_600_000 }, { clock });
    const deltas: ModelDelta[] = [];
    const outcome = failure(provider.complete(hello, { onDelta: (d) => deltas.push(d) }));
    await until(() => deltas.length > 0, 5_000, 'the first delta');
    clock.advance(300_000);
    const err = await outcome;
    expect(err.code).toBe('TROUPE_ERR_MODEL_TIMEOUT');
    expect(err.details).toMatchObject({ idleTimeoutMs: 300_000 });
    expect(deltas.length).toBeGreaterThan(0);
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
    expect(fake.calls).toHaveLength(1);
  });

  it('fails with MODEL_TIMEOUT when no response comes within the overall timeout on its clock, aborting the request', async () => {
    // Ten minutes: only the provider's ManualClock can make them pass in time.
    const clock = new ManualClock(0);
    fake = await startFakeOpenAI({ kind: 'hang' });
    const provider = new OpenAIProvider({ baseURL: fake.url, apiKey: 'sk-test' }, { clock });
    const outcome = failure(provider.complete(hello, { timeoutMs: 600_000 }));
    await fake.waitForCall(0);
    clock.advance(600_000);
    const err = await outcome;
    expect(err.code).toBe('TROUPE_ERR_MODEL_TIMEOUT');
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });

  it('fails with MODEL_TIMEOUT when the headers of a streamed call do not arrive within the connect timeout', async () => {
    const { fake, provider } = await setup({ kind: 'hang' }, { connectTimeoutMs: 200 });
    const err = await failure(provider.complete(hello, { onDelta: () => {} }));
    expect(err.code).toBe('TROUPE_ERR_MODEL_TIMEOUT');
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });

  it('cancels mid-stream on abort with AGENT_CANCELLED and really closes the upstream request', async () => {
    const text = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    const { fake, provider } = await setup({ kind: 'text', text, delayMs: 20 });
    const ac = new AbortController();
    const deltas: ModelDelta[] = [];
    const err = await failure(
      provider.complete(hello, {
        signal: ac.signal,
        onDelta: (d) => {
          deltas.push(d);
          if (deltas.length === 2) ac.abort(new Error('client went away'));
        },
      }),
    );
    expect(err.code).toBe('TROUPE_ERR_AGENT_CANCELLED');
    expect(deltas).toHaveLength(2);
    const call = await fake.waitForEnd(0);
    expect(call.disconnected).toBe(true);
    expect(call.completed).toBe(false);
  });

  it('cancels before sending anything when the signal is already aborted', async () => {
    const { fake, provider } = await setup({ kind: 'text', text: 'never' });
    const err = await failure(provider.complete(hello, { signal: AbortSignal.abort() }));
    expect(err.code).toBe('TROUPE_ERR_AGENT_CANCELLED');
    expect(fake.calls).toHaveLength(0);
  });

  it('cancels while waiting to retry', async () => {
    // The clock never moves: only the abort can end the 30 s wait.
    const clock = new ManualClock(0);
    const waits: number[] = [];
    const onClock = clockSleep(clock);
    fake = await startFakeOpenAI({ kind: 'rate_limit', retryAfter: 30 });
    const provider = new OpenAIProvider({ baseURL: fake.url, apiKey: 'sk-test', maxRetryAfterMs: 60_000 }, {
      clock,
      sleep: (ms, signal) => {
        waits.push(ms);
        return onClock(ms, signal);
      },
    });
    const ac = new AbortController();
    const outcome = failure(provider.complete(hello, { signal: ac.signal }));
    await until(() => waits.length === 1, 5_000, 'the wait to retry');
    expect(waits).toEqual([30_000]);
    ac.abort();
    const err = await outcome;
    expect(err.code).toBe('TROUPE_ERR_AGENT_CANCELLED');
    expect(fake.calls).toHaveLength(1);
    expect(clock.pending).toBe(0);
    expect(clock.now()).toBe(0);
  });

  it('does not retry a stream that dropped after output reached the caller', async () => {
    const { fake, provider } = await setup({ kind: 'drop', text: 'half an answer' }, {}, []);
    const deltas: ModelDelta[] = [];
    const err = await failure(provider.complete(hello, { onDelta: (d) => deltas.push(d) }));
    expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(deltas.length).toBeGreaterThan(0);
    expect(fake.calls).toHaveLength(1);
  });

  it('retries a stream that dropped mid-answer when nobody was listening to its deltas', async () => {
    const { fake, provider } = await setup([{ kind: 'drop', text: 'half an answer' }, { kind: 'text', text: 'the whole answer' }], {}, []);
    expect((await provider.complete(hello)).content).toBe('the whole answer');
    expect(fake.calls).toHaveLength(2);
  });

  it('retries a stream that dropped before any output reached the caller', async () => {
    const { fake, provider } = await setup([{ kind: 'drop', text: '' }, { kind: 'text', text: 'second try' }], {}, []);
    expect((await provider.complete(hello)).content).toBe('second try');
    expect(fake.calls).toHaveLength(2);
  });

  it('maps an error event inside the stream to MODEL_UPSTREAM', async () => {
    const { provider } = await setup({ kind: 'stream_error', text: 'partial', message: 'overloaded' }, {}, []);
    const err = await failure(provider.complete(hello, { onDelta: () => {} }));
    expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(err.message).toContain('overloaded');
  });

  it('rethrows an exception from onDelta untouched and closes the stream', async () => {
    const { fake, provider } = await setup({ kind: 'text', text: 'a b c d e f g', delayMs: 10 });
    const boom = new Error('consumer failed');
    const e = await provider.complete(hello, { onDelta: () => { throw boom; } }).catch((x: unknown) => x);
    expect(e).toBe(boom);
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });

  it('rejects invalid options with CONFIG_INVALID', () => {
    expect(() => new OpenAIProvider({ baseURL: 'not a url' })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
    expect(() => new OpenAIProvider({ maxRetries: -1 })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
  });
});

describe('createProvider', () => {
  it('picks the offline model when neither base URL nor API key is configured', () => {
    const p = createProvider(providerConfigFromEnv({ OPENAI_BASE_URL: '', TROUPE_MODEL: 'gpt-x' }));
    expect(p).toBeInstanceOf(OfflineModel);
    expect(describeProvider(p)).toEqual({ provider: 'troupe-offline', offline: true, model: 'troupe-offline' });
  });

  it('picks the OpenAI-compatible provider when a base URL or key is configured', () => {
    const p = createProvider(providerConfigFromEnv({ OPENAI_BASE_URL: 'http://127.0.0.1:1/v1', TROUPE_MODEL: 'llama3' }));
    expect(p).toBeInstanceOf(OpenAIProvider);
    expect(describeProvider(p)).toEqual({ provider: 'openai', offline: false, model: 'llama3', baseURL: 'http://127.0.0.1:1/v1' });
    expect(JSON.stringify(describeProvider(createProvider({ apiKey: 'sk-secret' })))).not.toContain('sk-secret');
  });

  it('honours an explicit choice and rejects openai with nothing to reach', () => {
    expect(createProvider({ provider: 'offline', apiKey: 'k' }).offline).toBe(true);
    let caught: unknown;
    try {
      createProvider({ provider: 'openai' });
    } catch (e) {
      caught = e;
    }
    expect(isTroupeError(caught, 'TROUPE_ERR_CONFIG_INVALID')).toBe(true);
  });

  it('talks to the fake server end to end', async () => {
    fake = await startFakeOpenAI();
    const p = createProvider({ baseURL: fake.url, model: 'gpt-4o-mini' });
    const r = await p.complete({ model: '', messages: [{ role: 'user', content: 'ping' }] });
    expect(r.content).toBe('fake reply to: ping');
    expect(fake.calls[0]!.body.model).toBe('gpt-4o-mini');
  });
});
