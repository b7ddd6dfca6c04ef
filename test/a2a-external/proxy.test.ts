import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '@a2a-js/sdk';
import { ClientFactory } from '@a2a-js/sdk/client';
import { startNode, type RunningNode } from '../../index.js';
import type { AuditApi } from '../../actors/audit/index.js';
import type { InspectionEvent } from '../../actors/kernel/index.js';
import { silent, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, type TroupeProcess } from '../process.js';
import { answerOf, sendParams, userMessage, v1Client } from '../a2a/harness.js';

interface Call { method: string; text: string; taskId: string; contextId: string; referenceTaskIds: string[]; authorization: string | null }

let fixture: TroupeProcess;
let node: RunningNode & { http: { url: string } };
let client: OpenAI;
const events: InspectionEvent[] = [];

async function calls(): Promise<Call[]> {
  return (await fetch(`${fixture.ready.http}/calls`)).json() as Promise<Call[]>;
}

async function run(agent: string, input: string, conversation?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${node.http.url}/api/v1/agents/${agent}/run`, {
    method: 'POST', headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ input, ...(conversation ? { conversation_id: conversation } : {}) }),
  });
  return { status: res.status, body: await res.json() };
}

async function streamed(model: string, content: string): Promise<string[]> {
  const stream = await client.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content }] });
  const pieces: string[] = [];
  for await (const c of stream) if (c.choices[0]?.delta?.content) pieces.push(c.choices[0].delta.content);
  return pieces;
}

beforeAll(async () => {
  fixture = await startFixture('a2a-external-server.mjs', ['0']);
  node = await startNode({
    id: 'ext', logger: silent, http: { port: 0 }, model: { provider: 'offline' },
    externalAgents: { allowLoopback: true, allowApiAgents: true },
    pii: { external: 'REDACT' },
    agents: [{ name: 'far', description: 'the fixture, by proxy', a2a: { url: fixture.ready.http, headers: { authorization: 'Bearer fixture-token' } } }],
  }) as RunningNode & { http: { url: string } };
  node.inspect((e) => events.push(e));
  client = new OpenAI({ baseURL: `${node.http.url}/v1`, apiKey: 'unused', maxRetries: 0 });
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await node?.close();
  await fixture?.kill();
});

describe('an external A2A agent (an SDK server in its own process) as a troupe proxy agent', () => {
  it('answers /v1/chat/completions through the official openai client, with the spec headers on the wire', async () => {
    const r = await client.chat.completions.create({ model: 'far', messages: [{ role: 'user', content: 'hello there' }] });
    expect(r.choices[0]!.message.content).toBe('echo#1: hello there');
    const sent = (await calls()).filter((c) => c.method === 'SendMessage');
    expect(sent.at(-1)).toMatchObject({ text: 'hello there', authorization: 'Bearer fixture-token' });
  });

  it('streams when the caller streams: the remote artifact chunks arrive as deltas', async () => {
    const pieces = await streamed('far', 'stream me');
    expect(pieces.join('')).toBe('echo#1: stream me');
    expect(pieces.length).toBeGreaterThan(1);
    expect((await calls()).at(-1)).toMatchObject({ method: 'SendStreamingMessage', text: 'stream me' });
  });

  it('resubscribes to the remote task after the fixture drops the stream mid-task, and loses no text', async () => {
    const pieces = await streamed('far', 'drop it');
    expect(pieces.join('')).toBe('part one, part two, part three');
    const methods = (await calls()).map((c) => c.method);
    const after = methods.slice(methods.lastIndexOf('SendStreamingMessage'));
    expect(after[0]).toBe('SendStreamingMessage');
    expect(after).toContain('SubscribeToTask');
  });

  it('continues the remote context across the turns of a conversation (/api/v1/agents/:name/run)', async () => {
    const first = await run('far', 'one', 'conv-1');
    expect(first).toMatchObject({ status: 200, body: { result: { content: 'echo#1: one' } } });
    const second = await run('far', 'two', 'conv-1');
    expect(second.body.result.content).toBe('echo#2: two');
    // the first message opens a context (named by the proxy, so a cut blocking call can still find its task); the second names it and references the finished task
    const [a, b] = (await calls()).slice(-2);
    expect(a!.contextId).not.toBe('');
    expect(b!.contextId).toBe(a!.contextId);
    expect(b!.referenceTaskIds).toHaveLength(1);
    // another conversation opens another context
    expect((await run('far', 'three', 'conv-2')).body.result.content).toBe('echo#1: three');
  });

  it('keeps the remote task id of an input-required task so the follow-up continues that task', async () => {
    const ask = await run('far', 'ask me', 'conv-ask');
    expect(ask.body.result.content).toBe('what is your name?');
    const reply = await run('far', 'Ada', 'conv-ask');
    expect(reply.body.result.content).toBe('hello Ada');
    const [, follow] = (await calls()).slice(-2);
    expect(follow!.taskId).not.toBe('');
  });

  it('starts the turn anew in the same context when the remote task it would continue finished meanwhile', async () => {
    expect((await run('far', 'ask once more', 'conv-gone')).body.result.content).toBe('what is your name?');
    const { id } = await (await fetch(`${fixture.ready.http}/last-task`)).json() as { id: string };
    // cancelled behind the proxy's back
    const remote = await new ClientFactory().createFromUrl(`${fixture.ready.http}/.well-known/agent-card.json`, '');
    await remote.cancelTask({ tenant: '', id, metadata: undefined });
    const reply = await run('far', 'Ada', 'conv-gone');
    expect(reply.body.result.content).toBe('echo#2: Ada');
    const [refused, retried] = (await calls()).slice(-2);
    expect(refused).toMatchObject({ method: 'SendMessage', taskId: id });
    expect(retried).toMatchObject({ method: 'SendMessage', taskId: '', referenceTaskIds: [id] });
  });

  it('fails a run whose remote task failed with TROUPE_ERR_A2A_EXTERNAL_TASK_FAILED', async () => {
    const r = await run('far', 'fail now');
    expect(r.status).toBe(502);
    expect(r.body.error.code).toBe('TROUPE_ERR_A2A_EXTERNAL_TASK_FAILED');
    expect(r.body.error.message).toContain('the fixture was told to fail');
  });

  it('cancels the remote task when the caller goes away mid-stream', async () => {
    const ac = new AbortController();
    const stream = await client.chat.completions.create({ model: 'far', stream: true, messages: [{ role: 'user', content: 'slow please' }] }, { signal: ac.signal });
    const it = stream[Symbol.asyncIterator]();
    let first = await it.next();
    while (!first.done && !first.value.choices[0]?.delta?.content) first = await it.next();
    expect(first.value?.choices[0]?.delta?.content).toBe('thinking...');
    ac.abort();
    await until(async () => (await calls()).some((c) => c.method === 'CancelTask'), 20_000, 'the remote CancelTask');
  });

  it('fails a call past the spec timeoutMs with TROUPE_ERR_MODEL_TIMEOUT', async () => {
    const created = await fetch(`${node.http.url}/api/v1/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'hasty', a2a: { url: fixture.ready.http, timeoutMs: 1_000 } }),
    });
    expect(created.status).toBe(201);
    const r = await run('hasty', 'slow again');
    expect([r.status, r.body.error.code]).toEqual([504, 'TROUPE_ERR_MODEL_TIMEOUT']);
  });

  it('takes the remote JSON-RPC endpoint as its url too: the card is then looked up under it, then at its origin', async () => {
    const created = await fetch(`${node.http.url}/api/v1/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'by-endpoint', a2a: { url: `${fixture.ready.http}/rpc` } }),
    });
    expect(created.status).toBe(201);
    expect((await run('by-endpoint', 'found you')).body.result.content).toBe('echo#1: found you');
  });

  it('serves the proxy agent over A2A too: /a2a/far with the official 1.x client', async () => {
    const a2a = await v1Client(node.http.url, 'far');
    const task = await a2a.sendMessage(sendParams(userMessage('via a2a'))) as Task;
    expect(answerOf(task)).toBe('echo#1: via a2a');
  });

  it('redacts PII in what leaves for the external agent (external policy REDACT), as an event and an audit record', async () => {
    const before = events.length;
    const r = await run('far', 'mail ada@example.org or call +1 415 555 2671');
    expect(r.status).toBe(200);
    const sent = (await calls()).at(-1)!;
    expect(sent.text).toBe('mail [REDACTED:email] or call [REDACTED:phone]');
    expect(events.slice(before)).toContainEqual(expect.objectContaining({ type: 'pii.decision', from: 'far', channel: 'a2a.external', decision: 'REDACT', findings: 2 }));
    const records = node.module<AuditApi>('audit').query({ action: 'PII_DECISION' }).records;
    expect(records.at(-1)).toMatchObject({ action: 'PII_DECISION', actor: 'far', details: { decision: 'REDACT', kinds: 'email,phone' } });
  });

  it('refuses a run when the agent spec blocks PII, before anything reaches the remote server', async () => {
    const created = await fetch(`${node.http.url}/api/v1/agents`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'guarded', a2a: { url: `${fixture.ready.http}/.well-known/agent-card.json` }, pii: { policy: 'BLOCK' } }),
    });
    expect(created.status).toBe(201);
    const n = (await calls()).length;
    const r = await run('guarded', 'my card is 4111 1111 1111 1111');
    expect(r.status).toBe(422);
    expect(r.body.error.code).toBe('TROUPE_ERR_PII_BLOCKED');
    expect(JSON.stringify(r.body)).not.toContain('4111');
    expect((await calls()).length).toBe(n);
    const ok = await run('guarded', 'nothing personal');
    expect(ok.body.result.content).toBe('echo#1: nothing personal');
  });

  it('refuses a spec whose URL is a link-local (metadata) address, or not http(s)', async () => {
    for (const url of ['http://169.254.169.254/latest', 'http://[fe80::1]/', 'ftp://127.0.0.1/']) {
      const res = await fetch(`${node.http.url}/api/v1/agents`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'meta', a2a: { url } }),
      });
      const body = await res.json() as { error: { code: string } };
      expect([res.status, body.error.code]).toEqual(url.startsWith('ftp') ? [400, 'TROUPE_ERR_AGENT_INVALID_SPEC'] : [400, 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED']);
    }
  });
});
