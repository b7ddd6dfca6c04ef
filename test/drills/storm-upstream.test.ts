import { afterEach, describe, expect, it } from 'vitest';
import { DRILLS_MODULE, type DrillsApi, type RunningNode } from '../../index.js';
import type { AgentEvent } from '../../actors/agent/index.js';
import { cleanup, dataDir, fakeProvider, fakeUpstream, testNode } from '../agent/harness.js';

afterEach(cleanup);

async function drill(n: RunningNode, body: unknown): Promise<any> {
  const res = await fetch(`${n.http!.url}/api/v1/drills`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const started = await res.json() as any;
  if (res.status !== 202) return { status: res.status, ...started };
  await n.module<DrillsApi>(DRILLS_MODULE).finished(started.id);
  return (await fetch(`${n.http!.url}/api/v1/drills/${started.id}`)).json();
}

describe('restart-storm and upstream drills', () => {
  it('restart-storm: crashes past the restart intensity escalate to the parent as configured; the parent restarts the subtree', async () => {
    const n = await testNode({ dataDir: dataDir(), allowDrills: true, http: { port: 0 } });
    const handled: unknown[] = [];
    n.spawnSpec({
      name: 'sup', behaviour: { receive: () => undefined },
      supervision: { strategy: 'one-for-one', maxRestarts: 2, withinMs: 60_000 },
      children: [{ name: 'w', behaviour: { receive: (_s: unknown, m: unknown) => { handled.push(m); } } }],
    });
    let childRestarts = 0;
    let escalations = 0;
    let parentRestarts = 0;
    n.inspect((e) => {
      if (e.type === 'actor.restarted' && e.address.endsWith('/user/sup/w')) childRestarts++;
      if (e.type === 'actor.restarted' && e.address.endsWith('/user/sup')) parentRestarts++;
      if (e.type === 'supervisor.decision' && e.child.endsWith('/user/sup/w') && e.plan === 'escalate') escalations++;
    });
    const r = await drill(n, { kind: 'restart-storm', target: 'user/sup/w', rate: 6, durationMs: 3_000 });
    expect(r.status).toBe('finished');
    expect(escalations).toBe(1);
    expect(r.escalations).toBe(escalations);
    // maxRestarts 2: two restarts, the third crash is past the intensity
    expect(r.restarts).toBe(childRestarts);
    expect(childRestarts).toBe(2);
    expect(parentRestarts).toBe(1);
    expect(r.messages.sent).toBe(6);
    // the first message crashed w three times (it reached the behaviour once, as the ledger
    // counts); the escalation stopped w with it and the five behind it: all six dead-lettered
    const letters = n.deadLetters.list().filter((d) => d.envelope.to.endsWith('/user/sup/w'));
    expect(r.messages.deadLettered).toBe(letters.length);
    expect(letters).toHaveLength(6);
    expect(r.messages.delivered).toBe(1);
    expect(r.messages.lost).toBe(0);
    expect(handled).toHaveLength(0);
    expect(r.probes.at(-1)).toMatchObject({ phase: 'after', ok: true });
    expect(r.verdict).toBe('held');
  });

  it('upstream rate-limit: the agent pauses through the fault and answers after it, without a restart; runs during it are answered, none lost', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'fine', usage: { prompt_tokens: 3, completion_tokens: 1 } });
    const n = await testNode({ allowDrills: true, http: { port: 0 }, modelProvider: fakeProvider(fake, { maxRetries: 0 }) });
    n.spawnAgent({ name: 'bot' });
    const events: AgentEvent[] = [];
    n.agents.events.subscribe((e) => events.push(e));
    let restarts = 0;
    n.inspect((e) => { if (e.type === 'actor.restarted' && e.address.endsWith('/user/agents/bot/agent')) restarts++; });
    const r = await drill(n, { kind: 'upstream', target: 'agent:bot', fault: 'rate-limit', retryAfterMs: 100, durationMs: 250, rate: 3, probeWithinMs: 2_000 });
    expect(r.status).toBe('finished');
    expect(r.kind).toBe('upstream');
    const pauses = events.filter((e) => e.type === 'agent.upstream.paused');
    expect(pauses.length).toBeGreaterThan(0);
    expect(r.detectedAt).toBe(Math.min(...pauses.map((e) => (e as any).until - (e as any).retryAfterMs)));
    expect(r.restarts).toBe(0);
    expect(restarts).toBe(0);
    expect(r.messages).toMatchObject({ sent: 3, delivered: 3, lost: 0 });
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.timeline.faultEndsAt);
    // the upstream itself never saw a 429: the fault is the provider hook's; it saw the answered runs
    const answered = events.filter((e) => e.type === 'agent.run.finished' && e.outcome === 'ok').length;
    expect(fake.calls).toHaveLength(answered);
    expect(r.verdict).toBe('held');
  });

  it('upstream error: runs during the fault fail with coded errors (counted by code), the agent recovers after it', async () => {
    const fake = await fakeUpstream({ kind: 'text', text: 'fine' });
    const n = await testNode({ allowDrills: true, http: { port: 0 }, modelProvider: fakeProvider(fake, { maxRetries: 0 }) });
    n.spawnAgent({ name: 'bot', upstream: { breaker: { failures: 100 } }, limits: { maxConsecutiveFailures: 100 } });
    const failed: string[] = [];
    n.agents.events.subscribe((e) => { if (e.type === 'agent.run.finished' && e.outcome === 'error') failed.push(e.code!); });
    const r = await drill(n, { kind: 'upstream', target: 'agent:bot', fault: 'error', durationMs: 300, rate: 4 });
    expect(r.clientErrors).toEqual({ TROUPE_ERR_MODEL_UPSTREAM: 4 });
    expect(failed.filter((c) => c === 'TROUPE_ERR_MODEL_UPSTREAM').length).toBeGreaterThanOrEqual(4);
    expect(r.messages).toMatchObject({ sent: 4, delivered: 0, lost: 0 });
    expect(r.recoveredAt).toBeDefined();
    expect(r.verdict).toBe('held');
    const refused = await drill(n, { kind: 'upstream', target: 'user/sup' });
    expect(refused.status).toBe(400);
    expect(refused.error.code).toBe('TROUPE_ERR_DRILL_TARGET');
  });
});
