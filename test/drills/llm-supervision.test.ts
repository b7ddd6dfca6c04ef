import { afterEach, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import pino from 'pino';
import { OpenAIProvider, type AgentEvent, type AgentRegistry } from '../../actors/agent/index.js';
import { ManualClock } from '../../protocol/index.js';
import type { RunningNode } from '../../index.js';
import { silent, until } from '../helpers.js';
import { cleanup, fakeUpstream, testNode } from '../agent/harness.js';
import type { FakeOpenAI } from '../fixtures/fake-openai.js';

afterEach(cleanup);

const MINUTE = 60_000;

interface Rig {
  node: RunningNode;
  agents: AgentRegistry;
  clock: ManualClock;
  events: AgentEvent[];
  restarts: () => number;
  run: (agent: string, input?: string) => Promise<{ status: number; body: any }>;
  info: (agent: string) => Promise<any>;
}

/**
 * A node on a manual clock whose agents call the fake upstream (a real HTTP server) through
 * the openai package; the provider's retry waits run on the same clock.
 */
async function rig(fake: FakeOpenAI, opts: { maxRetries?: number; logger?: pino.Logger; start?: number } = {}): Promise<Rig> {
  const clock = new ManualClock(opts.start ?? 10 * MINUTE);
  // backoff between retries is short and fires on the clock: jitter 0 makes it exact
  const provider = new OpenAIProvider(
    { baseURL: fake.url, apiKey: 'sk-fake', defaultModel: 'gpt-fake', backoffBaseMs: 4, backoffMaxMs: 4, maxRetries: opts.maxRetries ?? 0 },
    { logger: silent, clock, random: () => 0 },
  );
  const node = await testNode({
    clock,
    http: { port: 0 },
    modelProvider: provider,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  const agents = node.agents;
  const events: AgentEvent[] = [];
  agents.events.subscribe((e) => events.push(e));
  let restarted = 0;
  node.inspect((e) => {
    if (e.type === 'actor.restarted' && e.address.includes('/user/agents/')) restarted++;
  });
  const url = node.http!.url;
  return {
    node, agents, clock, events, restarts: () => restarted,
    run: async (agent, input = 'hi') => {
      const res = await fetch(`${url}/api/v1/agents/${agent}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
      return { status: res.status, body: await res.json() };
    },
    info: async (agent) => (await fetch(`${url}/api/v1/agents/${agent}`)).json(),
  };
}

/**
 * Move the clock through the provider's retry backoff (4 ms a time, a real 10 ms apart so the
 * HTTP exchanges go on) until the upstream saw `calls` calls.
 */
async function retried<T>(r: Rig, fake: FakeOpenAI, p: Promise<T>, calls: number): Promise<T> {
  for (let i = 0; fake.calls.length < calls; i++) {
    if (i > 1_000) throw new Error(`the upstream saw ${fake.calls.length} of ${calls} calls`);
    await new Promise((resolve) => setTimeout(resolve, 10));
    r.clock.advance(4);
  }
  return p;
}

describe('LLM-aware supervision against the fake upstream', () => {
  it('429 with Retry-After pauses every model call of the agent until then, the provider resumes the call, queued runs wait, and nothing restarts', async () => {
    const fake = await fakeUpstream([{ kind: 'rate_limit', retryAfter: 2 }, { kind: 'text', text: 'one' }, { kind: 'text', text: 'two' }]);
    const r = await rig(fake, { maxRetries: 2 });
    r.agents.spawn({ name: 'paced' });
    const first = r.run('paced', 'first');
    await until(() => r.events.some((e) => e.type === 'agent.upstream.paused'), 5_000, 'the pause');
    const paused = r.events.find((e) => e.type === 'agent.upstream.paused') as Extract<AgentEvent, { type: 'agent.upstream.paused' }>;
    expect(paused.retryAfterMs).toBe(2_000);
    expect(paused.until).toBe(r.clock.now() + 2_000);
    const second = r.run('paced', 'second');
    await until(() => r.events.filter((e) => e.type === 'agent.run.started').length === 2, 5_000, 'the second run');
    const during = await r.info('paced');
    expect(during.upstream.pausedUntil).toBe(paused.until);
    // both runs wait on the clock (the first in its provider's retry, the second at the
    // agent's pause): the upstream saw only the refused call
    expect(fake.calls).toHaveLength(1);
    r.clock.advance(1_999);
    expect(fake.calls).toHaveLength(1);
    r.clock.advance(1);
    const [a, b] = await Promise.all([first, second]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect([a.body.result.content, b.body.result.content].sort()).toEqual(['one', 'two']);
    expect(fake.calls).toHaveLength(3);
    expect(r.restarts()).toBe(0);
    expect(r.events.some((e) => e.type === 'agent.unhealthy' || e.type === 'agent.model.failed')).toBe(false);
    expect((await r.info('paced')).upstream.pausedUntil).toBeUndefined();
  });

  it('a 429 past the provider\'s retry budget fails its run with 429 and still holds the agent\'s next runs until the Retry-After', async () => {
    const fake = await fakeUpstream([{ kind: 'rate_limit', retryAfter: 2 }, { kind: 'text', text: 'later' }]);
    const r = await rig(fake, { maxRetries: 0 });
    r.agents.spawn({ name: 'tight' });
    const first = await r.run('tight');
    expect(first.status).toBe(429);
    expect(first.body.error.code).toBe('TROUPE_ERR_MODEL_RATE_LIMITED');
    const next = r.run('tight');
    await until(() => r.events.filter((e) => e.type === 'agent.run.started').length === 2, 5_000, 'the next run');
    expect(fake.calls).toHaveLength(1);
    r.clock.advance(2_000);
    const later = await next;
    expect(later.status).toBe(200);
    expect(later.body.result.content).toBe('later');
    expect(r.restarts()).toBe(0);
  });

  it('401 stops the agent with TROUPE_ERR_MODEL_AUTH, one error line, and no restart loop', async () => {
    const fake = await fakeUpstream({ kind: 'error', status: 401, message: 'Incorrect API key provided: sk-fa****', code: 'invalid_api_key' });
    const lines: any[] = [];
    const logger = pino({ level: 'warn' }, new Writable({ write(chunk, _enc, cb) { lines.push(JSON.parse(String(chunk))); cb(); } }));
    const r = await rig(fake, { logger });
    r.agents.spawn({ name: 'locked', supervision: { maxRestarts: 5 } });
    const res = await r.run('locked');
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('TROUPE_ERR_MODEL_AUTH');
    expect(JSON.stringify(res.body)).not.toContain('sk-fa');
    await until(async () => (await r.info('locked')).status === 'stopped', 5_000, 'the agent to stop');
    const info = await r.info('locked');
    expect(info.stoppedReason).toMatch(/^TROUPE_ERR_MODEL_AUTH/);
    expect(r.restarts()).toBe(0);
    const again = await r.run('locked');
    expect(again.status).toBe(503);
    expect(again.body.error.code).toBe('TROUPE_ERR_AGENT_STOPPED');
    // the upstream was asked once: no retry, no restart loop
    expect(fake.calls).toHaveLength(1);
    expect(lines.filter((l) => l.msg === 'agent stopped for good' && l.agent === 'locked')).toHaveLength(1);
  });

  it('500 is retried with backoff, then counts as a failure; past maxConsecutiveFailures the agent restarts and recovers', async () => {
    const fake = await fakeUpstream({ kind: 'error', status: 500, message: 'boom' });
    const r = await rig(fake, { maxRetries: 2 });
    r.agents.spawn({ name: 'flaky', limits: { maxConsecutiveFailures: 2 }, upstream: { breaker: { failures: 100 } }, supervision: { backoff: { minMs: 0, maxMs: 0 } } });
    const one = await retried(r, fake, r.run('flaky'), 3);
    expect(one.body.error.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(fake.calls).toHaveLength(3); // the call and its 2 retries
    expect(r.restarts()).toBe(0);
    const two = await retried(r, fake, r.run('flaky'), 6);
    expect(two.body.error.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect(fake.calls).toHaveLength(6);
    await until(() => r.restarts() === 1, 5_000, 'the restart');
    expect(r.events.filter((e) => e.type === 'agent.unhealthy')).toHaveLength(1);
    fake.setScript({ kind: 'text', text: 'back' });
    const three = await r.run('flaky');
    expect(three.status).toBe(200);
    expect(three.body.result.content).toBe('back');
    expect((await r.info('flaky')).status).toBe('running');
  });

  it('a bad request fails the run with its coded error: no retry, no restart', async () => {
    const fake = await fakeUpstream({ kind: 'error', status: 400, message: 'context too long', code: 'context_length_exceeded' });
    const r = await rig(fake, { maxRetries: 3 });
    r.agents.spawn({ name: 'wordy', limits: { maxConsecutiveFailures: 1 } });
    const res = await r.run('wordy');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('TROUPE_ERR_MODEL_BAD_REQUEST');
    expect(fake.calls).toHaveLength(1);
    expect(r.restarts()).toBe(0);
    expect((await r.info('wordy')).status).toBe('running');
  });

  it('token budgets refuse runs with 429 TROUPE_ERR_AGENT_BUDGET_EXCEEDED until the window resets on the clock; usage is in /metrics', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'ok', usage: { prompt_tokens: 20, completion_tokens: 15 } });
    const r = await rig(fake);
    r.agents.spawn({ name: 'thrifty', budget: { tokensPerMinute: 30, tokensPerDay: 100 } });
    expect((await r.run('thrifty')).status).toBe(200);
    const refused = await r.run('thrifty');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('TROUPE_ERR_AGENT_BUDGET_EXCEEDED');
    expect(fake.calls).toHaveLength(1);
    const info = await r.info('thrifty');
    expect(info.upstream.budget.minute).toMatchObject({ tokens: 35, limit: 30 });
    const metrics = await (await fetch(`${r.node.http!.url}/metrics`)).text();
    expect(metrics).toContain('troupe_agent_budget_tokens{agent="thrifty",window="minute"} 35');
    r.clock.advance(MINUTE - 1);
    expect((await r.run('thrifty')).status).toBe(429);
    r.clock.advance(1);
    expect((await r.run('thrifty')).status).toBe(200);
    r.clock.advance(MINUTE);
    expect((await r.run('thrifty')).status).toBe(200);
    // 105 of 100 per day: refused until the next day on the clock, whatever the minute
    r.clock.advance(MINUTE);
    const daily = await r.run('thrifty');
    expect(daily.status).toBe(429);
    expect(daily.body.error.message).toContain('per day');
    const day = 86_400_000;
    r.clock.advance(day - (r.clock.now() % day));
    expect((await r.run('thrifty')).status).toBe(200);
  });

  it('cost budgets refuse once the priced spend of the day is used', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'ok', usage: { prompt_tokens: 1_000, completion_tokens: 1_000 } });
    const r = await rig(fake);
    // 1000 * 1 + 1000 * 3 per million = 0.004 a run
    r.agents.spawn({ name: 'priced', budget: { costPerDay: 0.006, pricing: { promptPerMillion: 1, completionPerMillion: 3 } } });
    expect((await r.run('priced')).status).toBe(200);
    expect((await r.run('priced')).status).toBe(200);
    const refused = await r.run('priced');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('TROUPE_ERR_AGENT_BUDGET_EXCEEDED');
    expect((await r.info('priced')).upstream.budget.day.cost).toBeCloseTo(0.008);
  });
});
