import OpenAI, { APIError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelProvider } from '../../actors/agent/model/index.js';
import { ManualClock, type ModelResult } from '../../protocol/index.js';
import { until } from '../helpers.js';
import { cleanup, testNode } from './harness.js';

afterEach(cleanup);

/** A model that answers only when told to. */
function gatedProvider(): { provider: ModelProvider; calls: () => number; release: () => void } {
  const pending: Array<() => void> = [];
  let calls = 0;
  const provider: ModelProvider = {
    name: 'gated', offline: true, defaultModel: 'gated',
    complete: () => {
      calls++;
      return new Promise<ModelResult>((resolve) => {
        pending.push(() => resolve({ content: 'done', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }, model: 'gated' }));
      });
    },
  };
  return { provider, calls: () => calls, release: () => pending.shift()?.() };
}

const KEY_A = 'key-aaaaaaaa';
const KEY_B = 'key-bbbbbbbb';

async function queueNode(limits: Record<string, number>, apiKeys: string[] = []) {
  const clock = new ManualClock(1_000);
  const gate = gatedProvider();
  const node = await testNode({ clock, modelProvider: gate.provider, http: { port: 0, apiKeys } });
  node.spawnAgent({ name: 'one', limits: { maxConcurrentRuns: 1, ...limits } });
  const url = node.http!.url;
  const queued = async (n: number): Promise<void> => until(async () => {
    const r = await fetch(`${url}/api/v1/agents/one`, { headers: apiKeys[0] ? { authorization: `Bearer ${apiKeys[0]}` } : {} });
    return ((await r.json()) as { live?: { queuedRuns?: number } }).live?.queuedRuns === n;
  }, 5_000, `${n} runs queued`);
  const run = (headers: Record<string, string> = {}): Promise<Response> =>
    fetch(`${url}/api/v1/agents/one/run`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ input: 'hi' }) });
  return { clock, gate, node, url, run, queued };
}

describe('queue deadlines and shares over HTTP', () => {
  it('answers 503 TROUPE_ERR_AGENT_QUEUE_TIMEOUT with retry-after when the run cannot start within x-troupe-queue-deadline-ms (ManualClock)', async () => {
    const { clock, gate, run, queued } = await queueNode({ queueDeadlineMs: 600_000 });
    const first = run();
    await until(() => gate.calls() === 1, 5_000, 'the first run to hold the slot');
    const waiting = run({ 'x-troupe-queue-deadline-ms': '2000' });
    const longer = run();
    await queued(2);
    clock.advance(2_000);
    const refused = await waiting;
    expect(refused.status).toBe(503);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await refused.json() as any).error).toMatchObject({ code: 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT', details: { queueDeadlineMs: 2_000 } });
    // the spec's deadline (600 s) still holds for the other waiting run
    gate.release();
    await until(() => gate.calls() === 2, 5_000, 'the run with the spec deadline');
    gate.release();
    expect((await first).status).toBe(200);
    expect((await longer).status).toBe(200);
  });

  it('refuses at once with 503 when the deadline is 0 and no slot is free; in the OpenAI envelope on /v1', async () => {
    const { gate, url, run } = await queueNode({});
    const first = run();
    await until(() => gate.calls() === 1, 5_000, 'the first run to hold the slot');
    const now = await run({ 'x-troupe-queue-deadline-ms': '0' });
    expect(now.status).toBe(503);
    expect((await now.json() as any).error.code).toBe('TROUPE_ERR_AGENT_QUEUE_TIMEOUT');

    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const e = await client.chat.completions.create({ model: 'one', messages: [{ role: 'user', content: 'x' }] }, { headers: { 'x-troupe-queue-deadline-ms': '0' } }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(APIError);
    expect((e as APIError).status).toBe(503);
    expect((e as APIError).headers.get('retry-after')).not.toBeNull();
    expect((e as APIError).error).toMatchObject({ code: 'TROUPE_ERR_AGENT_QUEUE_TIMEOUT' });
    gate.release();
    expect((await first).status).toBe(200);
    expect(gate.calls()).toBe(1);
    // counted in /metrics, with the wait of the run that started
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/troupe_agent_runs_refused_total\{[^}]*agent="one"[^}]*code="TROUPE_ERR_AGENT_QUEUE_TIMEOUT"[^}]*\} 2\n/);
    expect(metrics).toMatch(/troupe_agent_queue_wait_seconds_count\{[^}]*agent="one"[^}]*\} 1\n/);
    expect(metrics).toContain('troupe_agent_breaker_state');
  });

  it('rejects a malformed x-troupe-queue-deadline-ms with 400', async () => {
    const { run } = await queueNode({});
    for (const bad of ['-1', 'soon', '3600001', '1.5']) {
      const r = await run({ 'x-troupe-queue-deadline-ms': bad });
      expect(r.status).toBe(400);
      expect((await r.json() as any).error).toMatchObject({ code: 'TROUPE_ERR_GATEWAY_BAD_REQUEST', details: { param: 'x-troupe-queue-deadline-ms' } });
    }
  });

  it('answers 429 TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED to a key past limits.maxQueuedRunsPerCaller while another key still queues', async () => {
    const { gate, run, queued } = await queueNode({ maxQueuedRunsPerCaller: 1 }, [KEY_A, KEY_B]);
    const a = (h: Record<string, string> = {}) => run({ authorization: `Bearer ${KEY_A}`, ...h });
    const b = () => run({ authorization: `Bearer ${KEY_B}` });
    const first = a();
    await until(() => gate.calls() === 1, 5_000, 'the first run to hold the slot');
    const aQueued = a();
    const bQueued = b();
    await queued(2);
    const over = await a();
    expect(over.status).toBe(429);
    expect(over.headers.get('retry-after')).not.toBeNull();
    expect((await over.json() as any).error).toMatchObject({ code: 'TROUPE_ERR_AGENT_QUEUE_SHARE_EXCEEDED', details: { maxQueuedRunsPerCaller: 1 } });
    for (let i = 0; i < 3; i++) gate.release(), await until(() => gate.calls() >= Math.min(3, i + 2), 5_000, 'the next run');
    gate.release();
    expect([(await first).status, (await aQueued).status, (await bQueued).status]).toEqual([200, 200, 200]);
  });
});
