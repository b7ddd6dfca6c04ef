import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AgentEvent, AgentTool, ModelDelta, ModelProvider, RunResult } from '../../actors/agent/index.js';
import type { InspectionEvent } from '../../actors/index.js';
import { TroupeError } from '../../protocol/index.js';
import { cleanup, dataDir, failure, fakeProvider, fakeUpstream, lastUser, testNode } from './harness.js';

afterEach(cleanup);

const user = (content: string) => ({ role: 'user' as const, content });

const add: AgentTool<{ a: number; b: number }> = {
  name: 'add',
  description: 'Add two numbers',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => a + b,
};
const explode: AgentTool<Record<string, never>> = {
  name: 'explode',
  parameters: z.object({}),
  execute: () => {
    throw new Error('kaboom');
  },
};

describe('agent actor against a real HTTP upstream', () => {
  it('streams each delta to the requester and ends with a result: content, finish_reason, usage', async () => {
    const fake = await fakeUpstream([{ kind: 'text', chunks: ['Hel', 'lo ', 'there'], usage: { prompt_tokens: 9, completion_tokens: 3 } }]);
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'a', instructions: 'Be brief.' });
    const deltas: ModelDelta[] = [];
    const r = await node.agents.run('a', { input: [user('hi')], stream: true }, { onDelta: (d) => deltas.push(d) });
    expect(deltas).toEqual([{ type: 'content', text: 'Hel' }, { type: 'content', text: 'lo ' }, { type: 'content', text: 'there' }]);
    expect(r).toMatchObject({ agent: 'a', content: 'Hello there', finishReason: 'stop', toolCalls: [], turns: 1, model: 'gpt-fake' });
    expect(r.usage).toEqual({ prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 });
    // The conversation the model saw: the instructions first, then the input.
    expect(fake.calls[0]!.body.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }]);
    expect(fake.calls[0]!.body.stream).toBe(true);
  });

  it('runs its code tools in a loop; a tool that throws or gets bad arguments answers the model with an error', async () => {
    const fake = await fakeUpstream([
      { kind: 'tool_calls', calls: [{ id: 'c1', name: 'add', arguments: '{"a":1,"b":2}' }, { id: 'c2', name: 'explode', arguments: '{}' }, { id: 'c3', name: 'add', arguments: '{"a":"x"}' }] },
      { kind: 'text', text: 'All done.' },
    ]);
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'calc', tools: [add, explode] });
    const r = await node.agents.run('calc', { input: [user('compute')] });
    expect(r.content).toBe('All done.');
    expect(r.turns).toBe(2);
    expect(fake.calls).toHaveLength(2);
    const offered = fake.calls[0]!.body.tools.map((t: any) => t.function.name);
    expect(offered).toEqual(['add', 'explode']);
    expect(fake.calls[0]!.body.tools[0].function.parameters).toMatchObject({ type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } } });
    const second = fake.calls[1]!.body.messages;
    expect(second.at(-4)).toMatchObject({ role: 'assistant', tool_calls: [{ id: 'c1' }, { id: 'c2' }, { id: 'c3' }] });
    expect(second.at(-3)).toEqual({ role: 'tool', tool_call_id: 'c1', content: '3' });
    expect(second.at(-2).tool_call_id).toBe('c2');
    expect(JSON.parse(second.at(-2).content).error).toMatchObject({ code: 'TROUPE_ERR_TOOL_FAILED', message: expect.stringContaining('kaboom') });
    expect(JSON.parse(second.at(-1).content).error.message).toContain('invalid arguments for add');
    const kinds = r.trace.chain.map((h) => `${h.kind}:${h.name ?? ''}:${h.ok}`);
    expect(kinds).toEqual(expect.arrayContaining(['model:gpt-fake:true', 'tool:add:true', 'tool:explode:false']));
  });

  it("returns calls to the caller's own tools (renumbered in the stream) instead of running them", async () => {
    const fake = await fakeUpstream([{ kind: 'tool_calls', calls: [{ id: 'srv', name: 'add', arguments: '{"a":1,"b":1}' }, { id: 'cli', name: 'get_weather', arguments: '{"city":"Paris"}' }] }]);
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'mixed', tools: [add] });
    const deltas: ModelDelta[] = [];
    const r = await node.agents.run('mixed', {
      input: [user('weather?')],
      stream: true,
      clientTools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
    }, { onDelta: (d) => deltas.push(d) });
    expect(r.finishReason).toBe('tool_calls');
    expect(r.toolCalls).toEqual([{ id: 'cli', name: 'get_weather', arguments: '{"city":"Paris"}' }]);
    const calls = deltas.filter((d) => d.type === 'tool_call');
    expect(calls.every((d) => d.type === 'tool_call' && d.index === 0)).toBe(true);
    expect(calls[0]).toMatchObject({ id: 'cli', name: 'get_weather' });
    expect(calls.map((d) => (d.type === 'tool_call' ? d.argumentsDelta : '')).join('')).toBe('{"city":"Paris"}');
    expect(fake.calls).toHaveLength(1);
  });

  it('streams no call to a tool nobody offered, and numbers the caller\'s calls from 0 across the whole run', async () => {
    const fake = await fakeUpstream([
      { kind: 'tool_calls', calls: [{ id: 'srv', name: 'add', arguments: '{"a":1,"b":1}' }, { id: 'ghost', name: 'nope', arguments: '{"x":1}' }] },
      { kind: 'tool_calls', calls: [{ id: 'cli', name: 'get_weather', arguments: '{"city":"Oslo"}' }] },
    ]);
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'phantom', tools: [add] });
    const deltas: ModelDelta[] = [];
    const r = await node.agents.run('phantom', {
      input: [user('weather?')],
      stream: true,
      clientTools: [{ name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }],
    }, { onDelta: (d) => deltas.push(d) });
    expect(r.turns).toBe(2);
    expect(r.toolCalls).toEqual([{ id: 'cli', name: 'get_weather', arguments: '{"city":"Oslo"}' }]);
    const calls = deltas.filter((d) => d.type === 'tool_call');
    expect(calls.filter((d) => d.type === 'tool_call' && d.name !== undefined).map((d) => d.type === 'tool_call' && d.name)).toEqual(['get_weather']);
    expect(calls.every((d) => d.type === 'tool_call' && d.index === 0)).toBe(true);
    // The arguments a client assembles at index 0 are those of the call it must run, unmixed.
    expect(calls.map((d) => (d.type === 'tool_call' ? d.argumentsDelta : '')).join('')).toBe('{"city":"Oslo"}');
    // The phantom call went back to the model as a failed tool result.
    expect(JSON.parse(fake.calls[1]!.body.messages.at(-1).content).error.message).toContain('no tool named nope');
  });

  it('journals finished turns: after a restart the history is intact and the model is not called again for it', async () => {
    const fake = await fakeUpstream((call) => ({ kind: 'text', text: `answer to ${lastUser(call.body)}` }));
    const dir = dataDir();
    let node = await testNode({ dataDir: dir, modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'mem', instructions: 'sys' });
    await node.agents.run('mem', { input: [user('one')], conversationId: 'c1' });
    await node.agents.run('mem', { input: [user('two')], conversationId: 'c1' });
    expect(fake.calls[1]!.body.messages.map((m: any) => m.content)).toEqual(['sys', 'one', 'answer to one', 'two']);
    await node.close();

    node = await testNode({ dataDir: dir, modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'mem', instructions: 'sys' });
    const c = await node.agents.conversation('mem', 'c1');
    expect(c?.turns).toBe(2);
    expect(c?.messages.map((m) => m.content)).toEqual(['one', 'answer to one', 'two', 'answer to two']);
    expect(fake.calls).toHaveLength(2);
    await node.agents.run('mem', { input: [user('three')], conversationId: 'c1' });
    expect(fake.calls).toHaveLength(3);
    expect(fake.calls[2]!.body.messages.map((m: any) => m.content)).toEqual(['sys', 'one', 'answer to one', 'two', 'answer to two', 'three']);
    // Another conversation starts empty; a stateless run keeps nothing.
    await node.agents.run('mem', { input: [user('solo')] });
    expect(fake.calls[3]!.body.messages.map((m: any) => m.content)).toEqual(['sys', 'solo']);
    expect((await node.agents.status('mem')).conversations).toBe(1);
  });

  it('never blocks its mailbox on a model call; a cancel aborts the upstream request', async () => {
    const fake = await fakeUpstream((call) => (lastUser(call.body) === 'slow' ? { kind: 'hang' } : { kind: 'text', text: 'quick' }));
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'busy' });
    const ac = new AbortController();
    const slow = node.agents.run('busy', { input: [user('slow')] }, { signal: ac.signal });
    await fake.waitForCall(0);
    const fast = await node.agents.run('busy', { input: [user('fast')] });
    expect(fast.content).toBe('quick');
    expect(await node.agents.status('busy')).toMatchObject({ activeRuns: 1, queuedRuns: 0 });
    ac.abort();
    expect((await failure(slow)).code).toBe('TROUPE_ERR_AGENT_CANCELLED');
    const ended = await fake.waitForEnd(0);
    expect(ended.disconnected).toBe(true);
    await expect.poll(async () => (await node.agents.status('busy')).activeRuns).toBe(0);
  });

  it('runs of one conversation go one at a time, each seeing the answer before it', async () => {
    const fake = await fakeUpstream((call) => ({ kind: 'text', text: `re:${lastUser(call.body)}`, headersDelayMs: 30 }));
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'serial', instructions: '' });
    const [a, b] = await Promise.all([
      node.agents.run('serial', { input: [user('first')], conversationId: 'x' }),
      node.agents.run('serial', { input: [user('second')], conversationId: 'x' }),
    ]);
    expect([a.content, b.content]).toEqual(['re:first', 're:second']);
    expect(fake.calls[1]!.body.messages.map((m: any) => m.content)).toEqual(['first', 're:first', 'second']);
  });

  it('honours a 429 retry-after and then answers', async () => {
    const fake = await fakeUpstream([{ kind: 'rate_limit', retryAfterMs: 60 }, { kind: 'text', text: 'after the wait' }]);
    const node = await testNode({ modelProvider: fakeProvider(fake, { maxRetries: 2 }) });
    node.spawnAgent({ name: 'rl' });
    const r = await node.agents.run('rl', { input: [user('x')] });
    expect(r.content).toBe('after the wait');
    expect(fake.calls).toHaveLength(2);
    expect(fake.calls[1]!.receivedAt - fake.calls[0]!.receivedAt).toBeGreaterThanOrEqual(55);
  });

  it('a 429 past the retry budget is TROUPE_ERR_MODEL_RATE_LIMITED carrying the wait', async () => {
    const fake = await fakeUpstream([{ kind: 'rate_limit', retryAfter: 7 }]);
    const node = await testNode({ modelProvider: fakeProvider(fake, { maxRetries: 0 }) });
    node.spawnAgent({ name: 'rl' });
    const e = await failure(node.agents.run('rl', { input: [user('x')] }));
    expect(e.code).toBe('TROUPE_ERR_MODEL_RATE_LIMITED');
    expect(e.details?.['retryAfterMs']).toBe(7000);
  });

  it('a 5xx is TROUPE_ERR_MODEL_UPSTREAM; consecutive failures crash the agent so its supervisor restarts it', async () => {
    const fake = await fakeUpstream([{ kind: 'error', status: 500 }, { kind: 'error', status: 503 }, { kind: 'text', text: 'healthy again' }]);
    const node = await testNode({ modelProvider: fakeProvider(fake, { maxRetries: 0 }) });
    const events: AgentEvent[] = [];
    const inspected: InspectionEvent[] = [];
    node.agents.events.subscribe((e) => events.push(e));
    node.inspect((e) => inspected.push(e));
    const ref = node.spawnAgent({ name: 'flaky', limits: { maxConsecutiveFailures: 2 }, supervision: { backoff: { minMs: 0, maxMs: 0 } } });
    expect((await failure(node.agents.run('flaky', { input: [user('1')] }))).code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect((await failure(node.agents.run('flaky', { input: [user('2')] }))).code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    await expect.poll(() => inspected.some((e) => e.type === 'actor.restarted' && e.address === ref.address)).toBe(true);
    expect(events.filter((e) => e.type === 'agent.model.failed').map((e) => e.type === 'agent.model.failed' && e.consecutive)).toEqual([1, 2]);
    expect(events.some((e) => e.type === 'agent.unhealthy')).toBe(true);
    const failed = inspected.find((e) => e.type === 'actor.failed' && e.address === ref.address);
    expect(failed?.type === 'actor.failed' && failed.error.code).toBe('TROUPE_ERR_AGENT_UNHEALTHY');
    const r = await node.agents.run('flaky', { input: [user('3')] });
    expect(r.content).toBe('healthy again');
  });

  it('gives up for good past its restart intensity, and says so', async () => {
    const fake = await fakeUpstream({ kind: 'error', status: 500 });
    const node = await testNode({ modelProvider: fakeProvider(fake, { maxRetries: 0 }) });
    node.spawnAgent({ name: 'doomed', limits: { maxConsecutiveFailures: 1 }, supervision: { maxRestarts: 1, withinMs: 60_000, backoff: { minMs: 0, maxMs: 0 } } });
    node.spawnAgent({ name: 'bystander', provider: { kind: 'offline' } });
    for (let i = 0; i < 2; i++) await failure(node.agents.run('doomed', { input: [user(`${i}`)] }));
    await expect.poll(() => node.agents.get('doomed')?.status).toBe('stopped');
    expect(node.agents.get('doomed')?.stoppedReason).toContain('TROUPE_ERR_SUPERVISOR_INTENSITY');
    // stopped, and saying so (503), not gone (404)
    const stopped = await failure(node.agents.run('doomed', { input: [user('x')] }));
    expect(stopped.code).toBe('TROUPE_ERR_AGENT_STOPPED');
    expect(stopped.status).toBe(503);
    expect(stopped.message).toContain('TROUPE_ERR_SUPERVISOR_INTENSITY');
    expect((await node.agents.run('bystander', { input: [user('still here')] })).content).toContain('still here');
  });

  it('checks what the upstream streams: a malformed chunk fails the run with TROUPE_ERR_MODEL_UPSTREAM, nothing of it reaches the requester', async () => {
    const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: null }], ...extra });
    const fake = await fakeUpstream([
      { kind: 'raw_chunks', chunks: [chunk({ role: 'assistant', content: 'hi' }), chunk({}, { usage: { prompt_tokens: '7', completion_tokens: 1, total_tokens: 8 } })] },
      { kind: 'raw_chunks', chunks: [chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'x', arguments: 5 } }] })] },
    ]);
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'strict-upstream' });
    for (let i = 0; i < 2; i++) {
      const deltas: ModelDelta[] = [];
      const err = await failure(node.agents.run('strict-upstream', { input: [user('x')], stream: true }, { onDelta: (d) => deltas.push(d) }));
      expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
      expect(err.message).toContain('malformed chunk');
      expect(deltas.every((d) => d.type === 'content' && typeof d.text === 'string')).toBe(true);
    }
  });

  it('checks the output of a provider that does not check its own', async () => {
    const sloppy = {
      name: 'sloppy', offline: true, defaultModel: 'sloppy',
      complete: async () => ({ content: 'hi', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: '7', completion_tokens: 1, total_tokens: 8 }, model: 'sloppy' }),
    } as unknown as ModelProvider;
    const node = await testNode({ modelProvider: sloppy });
    node.spawnAgent({ name: 'checked' });
    const err = await failure(node.agents.run('checked', { input: [user('x')] }));
    expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(err.message).toContain("model provider 'sloppy' gave a malformed result");
  });

  it('a provider from outside cannot opt out of the check: claiming to check itself changes nothing', async () => {
    const claims = {
      name: 'claims', offline: true, defaultModel: 'claims', checked: true,
      complete: async () => ({ content: 'hi', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: -1, completion_tokens: 1, total_tokens: 0 }, model: 'claims' }),
    } as unknown as ModelProvider;
    const node = await testNode({ modelProvider: claims });
    node.spawnAgent({ name: 'held' });
    const err = await failure(node.agents.run('held', { input: [user('x')] }));
    expect(err.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(err.message).toContain("model provider 'claims' gave a malformed result");
  });

  it('a stalled stream fails with TROUPE_ERR_MODEL_TIMEOUT and the upstream request is closed', async () => {
    const fake = await fakeUpstream({ kind: 'stall', chunks: 1 });
    const node = await testNode({ modelProvider: fakeProvider(fake, { idleTimeoutMs: 150 }) });
    node.spawnAgent({ name: 'stall' });
    const deltas: ModelDelta[] = [];
    const e = await failure(node.agents.run('stall', { input: [user('x')], stream: true }, { onDelta: (d) => deltas.push(d) }));
    expect(e.code).toBe('TROUPE_ERR_MODEL_TIMEOUT');
    expect(deltas.length).toBe(1);
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });

  it('a run past limits.timeoutMs fails with TROUPE_ERR_AGENT_TIMEOUT and aborts the upstream request', async () => {
    const fake = await fakeUpstream({ kind: 'hang' });
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'slow', limits: { timeoutMs: 150 } });
    expect((await failure(node.agents.run('slow', { input: [user('x')] }))).code).toBe('TROUPE_ERR_AGENT_TIMEOUT');
    expect((await fake.waitForEnd(0)).disconnected).toBe(true);
  });

  it('stops the tool loop at maxTurns', async () => {
    const fake = await fakeUpstream({ kind: 'tool_calls', calls: [{ name: 'add', arguments: '{"a":1,"b":1}' }] });
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'loop', tools: [add], limits: { maxTurns: 3 } });
    expect((await failure(node.agents.run('loop', { input: [user('x')] }))).code).toBe('TROUPE_ERR_AGENT_MAX_TURNS');
    expect(fake.calls).toHaveLength(3);
  });

  it('refuses runs past maxConcurrentRuns + maxQueuedRuns with TROUPE_ERR_AGENT_BUSY', async () => {
    const fake = await fakeUpstream({ kind: 'hang' });
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    node.spawnAgent({ name: 'small', limits: { maxConcurrentRuns: 1, maxQueuedRuns: 1 } });
    const ac = new AbortController();
    const runs = [node.agents.run('small', { input: [user('1')] }, { signal: ac.signal }), node.agents.run('small', { input: [user('2')] }, { signal: ac.signal })];
    runs.forEach((p) => p.catch(() => undefined));
    expect((await failure(node.agents.run('small', { input: [user('3')] }))).code).toBe('TROUPE_ERR_AGENT_BUSY');
    expect(await node.agents.status('small')).toMatchObject({ activeRuns: 1, queuedRuns: 1 });
    ac.abort();
  });
});

describe('agent specs and the registry', () => {
  it('validates a spec once, naming the bad field', async () => {
    const node = await testNode();
    const bad = (spec: unknown): TroupeError => {
      try {
        node.agents.spawn(spec as never);
      } catch (e) {
        return e as TroupeError;
      }
      throw new Error('spawned');
    };
    expect(bad({ name: 'has space' }).code).toBe('TROUPE_ERR_AGENT_INVALID_SPEC');
    expect(bad({ name: 'a', limits: { maxTurns: 0 } }).message).toContain('limits.maxTurns');
    expect(bad({ name: 'a', tools: ['nope'] }).message).toContain('unknown tool nope');
    expect(bad({ name: 'a', surprise: 1 }).message).toContain('surprise');
    expect(bad({ name: 'a', tools: [{ name: 'x', parameters: {}, execute: () => 1 }] }).message).toContain('zod schema');
    node.spawnAgent({ name: 'a' });
    expect(bad({ name: 'a' }).code).toBe('TROUPE_ERR_AGENT_EXISTS');
  });

  it('runs the built-in tools by name, with the offline model choosing them', async () => {
    const node = await testNode();
    node.spawnAgent({ name: 'o', tools: ['calculator', 'clock'] });
    const r: RunResult = await node.agents.run('o', { input: [user('call calculator {"expression": "2 * (3 + 4) ^ 2"}')] });
    expect(r.content).toContain('"value":98');
    expect(r.model).toBe('troupe-offline');
    expect(node.agents.get('o')?.provider).toEqual({ name: 'troupe-offline', offline: true });
  });

  it('persists agents created with create(): they come back at start, and remove() deletes spec and memory', async () => {
    const dir = dataDir();
    let node = await testNode({ dataDir: dir });
    const info = await node.agents.create({ name: 'keeper', description: 'kept', tools: ['clock'], skills: ['chat'] });
    expect(info).toMatchObject({ durable: true, persistent: true, status: 'running', skills: [{ id: 'chat', name: 'chat' }] });
    await node.agents.run('keeper', { input: [user('remember me')], conversationId: 'k' });
    await node.close();

    node = await testNode({ dataDir: dir });
    expect(node.agents.get('keeper')).toMatchObject({ description: 'kept', tools: ['clock'], durable: true });
    expect((await node.agents.conversation('keeper', 'k'))?.messages[0]).toEqual({ role: 'user', content: 'remember me' });
    expect(await node.agents.remove('keeper')).toBe(true);
    expect(await node.agents.remove('keeper')).toBe(false);
    await node.close();

    node = await testNode({ dataDir: dir });
    expect(node.agents.get('keeper')).toBeUndefined();
    await node.agents.create({ name: 'keeper' });
    expect(await node.agents.conversation('keeper', 'k')).toBeNull();
  });

  it('keeps a durable agent\'s provider apiKey and headers sealed at rest: never in the clear on disk, back after a restart with the data key, refused without one', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'authorised' });
    const dir = dataDir();
    const dataKey = 'a-data-key-of-some-length';
    const secret = 'sk-live-very-secret-0123456789';
    const spec = { name: 'paid', provider: { kind: 'openai' as const, baseURL: fake.url, apiKey: secret, headers: { 'x-org': 'org-secret-header' } } };
    // no data key: a durable agent with secrets is refused, nothing stored
    let node = await testNode({ dataDir: dir });
    await expect(node.agents.create(spec)).rejects.toMatchObject({ code: 'TROUPE_ERR_AGENT_INVALID_SPEC' });
    expect(node.agents.get('paid')).toBeUndefined();
    await node.close();

    node = await testNode({ dataDir: dir, dataKey });
    await node.agents.create(spec);
    expect(JSON.stringify(node.agents.get('paid'))).not.toContain(secret);
    await node.close();
    const onDisk = readdirSync(dir).map((f) => readFileSync(join(dir, f)).toString('latin1')).join('');
    expect(onDisk).toContain('paid');
    expect(onDisk).not.toContain(secret);
    expect(onDisk).not.toContain('org-secret-header');

    // the same key: restored, and the upstream sees the key and header again
    node = await testNode({ dataDir: dir, dataKey });
    expect((await node.agents.run('paid', { input: [user('hi')] })).content).toBe('authorised');
    expect(fake.calls.at(-1)!.headers.authorization).toBe(`Bearer ${secret}`);
    expect(fake.calls.at(-1)!.headers['x-org']).toBe('org-secret-header');
    await node.close();

    // another key, or none: not restored (its record stays for the right key)
    for (const other of [{ dataKey: 'another-data-key-entirely' }, {}]) {
      node = await testNode({ dataDir: dir, ...other });
      expect(node.agents.get('paid')).toBeUndefined();
      await node.close();
    }
    node = await testNode({ dataDir: dir, dataKey });
    expect(node.agents.get('paid')?.status).toBe('running');
    // a record edited to send the key elsewhere does not open: the sealed key is bound to its base URL
    const db = node.store!.db('agents');
    const rec = db.get('paid') as { spec: { provider: Record<string, unknown> } };
    await node.store!.put(db, 'paid', { ...rec, spec: { ...rec.spec, provider: { ...rec.spec.provider, baseURL: 'http://attacker.invalid/v1' } } });
    await node.close();
    node = await testNode({ dataDir: dir, dataKey });
    expect(node.agents.get('paid')).toBeUndefined();
  });

  it('rewrites an older record that held provider secrets in the clear, sealed, once a data key is set', async () => {
    const dir = dataDir();
    let node = await testNode({ dataDir: dir });
    const spec = { name: 'legacy', description: 'old', tools: [], skills: [], provider: { kind: 'openai', baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-legacy-clear-text-key' } };
    await node.store!.put(node.store!.db('agents'), 'legacy', { v: 1, spec, journalKey: 'agent/legacy/x', createdAt: 1 });
    await node.close();
    node = await testNode({ dataDir: dir, dataKey: 'a-data-key-of-some-length' });
    expect(node.agents.get('legacy')?.durable).toBe(true);
    await expect.poll(() => (node.store!.db('agents').get('legacy') as { v: number }).v).toBe(2);
    // the record itself no longer holds the key (LMDB may keep the old bytes in free pages until it reuses them)
    expect(JSON.stringify(node.store!.db('agents').get('legacy'))).not.toContain('sk-legacy-clear-text-key');
    await node.close();
    node = await testNode({ dataDir: dir, dataKey: 'a-data-key-of-some-length' });
    expect(node.agents.get('legacy')?.status).toBe('running');
  });

  it('remove() waits for the stopped agent\'s last commit before purging: nothing of it is left in LMDB', async () => {
    const node = await testNode({ dataDir: dataDir() });
    await node.agents.create({ name: 'gone' });
    let removing: Promise<boolean> | undefined;
    // Remove while the turn's commit is still in flight (issued, not yet acknowledged).
    node.agents.events.subscribe((e) => {
      if (e.type === 'agent.run.finished' && e.agent === 'gone') queueMicrotask(() => void (removing = node.agents.remove('gone')));
    });
    await node.agents.run('gone', { input: [user('last words')], conversationId: 'c' }).catch(() => undefined);
    await expect.poll(() => removing).toBeDefined();
    expect(await removing).toBe(true);
    const store = node.store!;
    expect([...store.journal.getKeys({})].filter((k) => String((k as unknown[])[0]).startsWith('agent/gone'))).toEqual([]);
    expect(store.db('agents').get('gone')).toBeUndefined();
    expect(node.agents.get('gone')).toBeUndefined();
  });

  it('creating an agent again after its supervisor gave up drops the old journal, so nothing is orphaned', async () => {
    const fake = await fakeUpstream((call) => (call.index === 0 ? { kind: 'text', text: 'remembered' } : { kind: 'error', status: 500 }));
    const dir = dataDir();
    let node = await testNode({ dataDir: dir, modelProvider: fakeProvider(fake) });
    const spec = { name: 'phoenix', limits: { maxConsecutiveFailures: 1 }, supervision: { maxRestarts: 0, backoff: { minMs: 0, maxMs: 0 } } };
    await node.agents.create(spec);
    await node.agents.run('phoenix', { input: [user('keep this')], conversationId: 'c' });
    await failure(node.agents.run('phoenix', { input: [user('fail')] }));
    await expect.poll(() => node.agents.get('phoenix')?.status).toBe('stopped');
    const journalKeys = (): string[] => [...new Set([...node.store!.journal.getKeys({})].map((k) => String((k as unknown[])[0])).filter((k) => k.startsWith('agent/phoenix/')))];
    const [old] = journalKeys();
    expect(old).toBeDefined();

    expect(await node.agents.create(spec)).toMatchObject({ status: 'running', durable: true });
    expect(journalKeys()).not.toContain(old);
    expect(await node.agents.conversation('phoenix', 'c')).toBeNull();
    await node.close();

    node = await testNode({ dataDir: dir, modelProvider: fakeProvider(fake) });
    expect(node.agents.get('phoenix')).toMatchObject({ status: 'running', durable: true });
    expect(await node.agents.conversation('phoenix', 'c')).toBeNull();
  });

  it('keeps memory in the actor when the node has no data dir', async () => {
    const node = await testNode();
    node.spawnAgent({ name: 'm' });
    await node.agents.run('m', { input: [user('a')], conversationId: 'c' });
    await node.agents.run('m', { input: [user('b')], conversationId: 'c' });
    expect((await node.agents.conversation('m', 'c'))?.turns).toBe(2);
    expect(node.agents.get('m')?.persistent).toBe(false);
    expect(await node.agents.forget('m', 'c')).toBe(true);
    expect(await node.agents.conversation('m', 'c')).toBeNull();
  });
});
