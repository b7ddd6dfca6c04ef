import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { lastUser } from '../agent/harness.js';
import { UpstreamBreaker, type AgentEvent, type BreakerState } from '../../actors/agent/index.js';
import { ManualClock, TroupeError } from '../../protocol/index.js';
import { cleanup, fakeProvider, fakeUpstream, testNode } from '../agent/harness.js';

afterEach(cleanup);

const upstreamDown = (): Promise<never> => Promise.reject(new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', 'boom'));

describe('circuit breakers on the model path (cockatiel on the injected clock)', () => {
  it('opens after consecutive failures, fails fast while open, half-opens after halfOpenAfterMs on the clock, and a good probe closes it', async () => {
    const clock = new ManualClock(5_000);
    const changes: BreakerState[] = [];
    const b = new UpstreamBreaker(clock, { failures: 3, halfOpenAfterMs: 10_000 }, (s) => changes.push(s));
    let calls = 0;
    const failing = (): Promise<never> => { calls++; return upstreamDown(); };
    for (let i = 0; i < 3; i++) await expect(b.execute(failing)).rejects.toMatchObject({ code: 'TROUPE_ERR_MODEL_UPSTREAM' });
    expect(b.state).toBe('open');
    expect(b.since).toBe(5_000);
    await expect(b.execute(failing)).rejects.toMatchObject({ code: 'TROUPE_ERR_MODEL_CIRCUIT_OPEN', details: { retryAfterMs: 10_000 } });
    expect(calls).toBe(3);
    clock.advance(9_999);
    await expect(b.execute(failing)).rejects.toMatchObject({ code: 'TROUPE_ERR_MODEL_CIRCUIT_OPEN', details: { retryAfterMs: 1 } });
    expect(calls).toBe(3);
    clock.advance(1);
    // half-open: one probe goes through; it fails, so the breaker opens again for another 10 s from now
    await expect(b.execute(failing)).rejects.toMatchObject({ code: 'TROUPE_ERR_MODEL_UPSTREAM' });
    expect(calls).toBe(4);
    expect(b.state).toBe('open');
    expect(b.since).toBe(15_000);
    clock.advance(9_999);
    await expect(b.execute(async () => 'ok')).rejects.toMatchObject({ code: 'TROUPE_ERR_MODEL_CIRCUIT_OPEN' });
    clock.advance(1);
    expect(await b.execute(async () => 'ok')).toBe('ok');
    expect(b.state).toBe('closed');
    expect(changes).toEqual(['open', 'half-open', 'open', 'half-open', 'closed']);
  });

  it('a rate limit, a bad request or a cancel does not trip it', async () => {
    const clock = new ManualClock();
    const b = new UpstreamBreaker(clock, { failures: 1, halfOpenAfterMs: 1_000 }, () => undefined);
    for (const code of ['TROUPE_ERR_MODEL_RATE_LIMITED', 'TROUPE_ERR_MODEL_BAD_REQUEST', 'TROUPE_ERR_AGENT_CANCELLED'] as const) {
      await expect(b.execute(() => Promise.reject(new TroupeError(code)))).rejects.toMatchObject({ code });
    }
    expect(b.state).toBe('closed');
  });

  it("an agent's breaker on the fake upstream: open fails fast without calling it, its state is in GET /api/v1/agents/:name and /metrics, and it outlives a restart", async () => {
    const fake = await fakeUpstream({ kind: 'error', status: 500, message: 'down' });
    const clock = new ManualClock(1_000_000);
    const node = await testNode({ clock, http: { port: 0 }, modelProvider: fakeProvider(fake, { maxRetries: 0 }) });
    const events: AgentEvent[] = [];
    node.agents.events.subscribe((e) => events.push(e));
    node.spawnAgent({ name: 'fragile', upstream: { breaker: { failures: 2, halfOpenAfterMs: 30_000 } }, limits: { maxConsecutiveFailures: 2 }, supervision: { backoff: { minMs: 0, maxMs: 0 } } });
    const url = node.http!.url;
    const run = async (): Promise<{ status: number; body: any }> => {
      const res = await fetch(`${url}/api/v1/agents/fragile/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'hi' }) });
      return { status: res.status, body: await res.json() };
    };
    expect((await run()).body.error.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    expect((await run()).body.error.code).toBe('TROUPE_ERR_MODEL_UPSTREAM');
    // the second failure opened the breaker and crashed the agent (maxConsecutiveFailures); it restarts
    await expect.poll(() => events.some((e) => e.type === 'agent.unhealthy')).toBe(true);
    const open = await run();
    expect(open.status).toBe(503);
    expect(open.body.error.code).toBe('TROUPE_ERR_MODEL_CIRCUIT_OPEN');
    expect(fake.calls).toHaveLength(2);
    const info = await (await fetch(`${url}/api/v1/agents/fragile`)).json() as any;
    expect(info.upstream.breaker).toEqual({ state: 'open', openedAt: 1_000_000 });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain('troupe_agent_breaker_state{agent="fragile",state="open"} 1');
    fake.setScript({ kind: 'text', text: 'recovered' });
    clock.advance(30_000);
    const probe = await run();
    expect(probe.status).toBe(200);
    expect(fake.calls).toHaveLength(3);
    expect(events.filter((e) => e.type === 'agent.breaker').map((e) => (e as { state: string }).state)).toEqual(['open', 'half-open', 'closed']);
  });

  it('a breaker per called target: a tool\'s asks to a failing actor open it, then fail fast without reaching it, and it closes after a good half-open probe on the clock', async () => {
    // the model calls the tool, then answers with what the tool returned
    const fake = await fakeUpstream((call) => (call.body.messages.at(-1)?.role === 'tool'
      ? { kind: 'text', text: call.body.messages.at(-1).content }
      : { kind: 'tool_calls', calls: [{ name: 'call_flaky', arguments: '{}' }] }));
    const clock = new ManualClock(2_000_000);
    const node = await testNode({ clock, http: { port: 0 }, modelProvider: fakeProvider(fake, { maxRetries: 0 }) });
    let healthy = false;
    let reached = 0;
    node.spawn((_s, _m, ctx) => {
      reached++;
      if (healthy) ctx.reply('pong');
      else ctx.replyError(new TroupeError('TROUPE_ERR_ACTOR_FAILED', 'flaky is down'));
    }, { name: 'flaky' });
    const events: AgentEvent[] = [];
    node.agents.events.subscribe((e) => events.push(e));
    node.spawnAgent({
      name: 'caller',
      upstream: { breaker: { failures: 2, halfOpenAfterMs: 10_000 } },
      tools: [{
        name: 'call_flaky', description: 'asks the flaky actor', parameters: z.object({}),
        execute: async (_a, ctx) => {
          try {
            return { answer: await ctx.ask('user/flaky', 'ping', { timeoutMs: 5_000 }) };
          } catch (e) {
            return { failed: (e as { code?: string }).code };
          }
        },
      }],
    });
    const answer = async (): Promise<unknown> => JSON.parse((await node.agents.run('caller', { input: [{ role: 'user', content: 'go' }] })).content!);
    expect(await answer()).toEqual({ failed: 'TROUPE_ERR_ACTOR_FAILED' });
    expect(await answer()).toEqual({ failed: 'TROUPE_ERR_ACTOR_FAILED' });
    expect(await answer()).toEqual({ failed: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN' });
    expect(reached).toBe(2);
    const info = await (await fetch(`${node.http!.url}/api/v1/agents/caller`)).json() as any;
    expect(info.upstream.targets['user/flaky']).toEqual({ state: 'open', openedAt: 2_000_000 });
    expect(info.upstream.breaker.state).toBe('closed');
    healthy = true;
    clock.advance(10_000);
    expect(await answer()).toEqual({ answer: 'pong' });
    expect(reached).toBe(3);
    expect(events.filter((e) => e.type === 'agent.breaker').map((e) => `${(e as any).target}:${(e as any).state}`)).toEqual(['user/flaky:open', 'user/flaky:half-open', 'user/flaky:closed']);
    expect(lastUser(fake.calls[0]!.body)).toBe('go');
  });
});
