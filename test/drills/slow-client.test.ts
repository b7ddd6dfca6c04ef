import { afterEach, describe, expect, it } from 'vitest';
import { startNode, DRILLS_MODULE, type AgentEvent, type DrillsApi, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';

const KEY = 'drill-key-0123456789';
const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.close()));
  for (const d of dirs.splice(0)) d();
});

async function node(http: Record<string, unknown> = {}): Promise<RunningNode> {
  const t = tempDir();
  dirs.push(t.cleanup);
  const n = await startNode({
    id: 'sc1', dataDir: t.dir, logger: silent, allowDrills: true, model: { provider: 'offline' },
    http: { port: 0, apiKeys: [KEY], sseMaxBufferedBytes: 256 * 1024, ...http },
  });
  nodes.push(n);
  return n;
}

const auth = { 'content-type': 'application/json', authorization: `Bearer ${KEY}` };

/** An ordinary streaming client of the test's own: true when its stream ends with [DONE]. */
async function streamOnce(url: string, agent: string): Promise<boolean> {
  const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: auth, body: JSON.stringify({ model: agent, stream: true, messages: [{ role: 'user', content: 'are you there?' }] }) });
  return res.status === 200 && (await res.text()).includes('data: [DONE]');
}

describe('slow-client drill', () => {
  it('cuts a stream its client reads too slowly, cancels the run with a coded reason, and keeps answering other clients', async () => {
    const n = await node();
    n.spawnAgent({ name: 'talker' });
    const url = n.http!.url;
    // the test's own ledger of the agent's runs
    const finished: Array<Extract<AgentEvent, { type: 'agent.run.finished' }>> = [];
    n.agents.events.subscribe((e) => { if (e.type === 'agent.run.finished' && e.agent === 'talker') finished.push(e); });
    const rssBefore = process.memoryUsage().rss;

    const res = await fetch(`${url}/api/v1/drills`, { method: 'POST', headers: auth, body: JSON.stringify({ kind: 'slow-client', target: 'agent:talker', durationMs: 10_000, probeWithinMs: 5_000 }) });
    expect(res.status).toBe(202);
    const started = await res.json() as { id: string; hypothesis: string };
    expect(started.hypothesis).toContain('sseMaxBufferedBytes');
    // another client of the same agent while the drill runs, independent of the drill's own probes
    const mine = await streamOnce(url, 'talker');
    await n.module<DrillsApi>(DRILLS_MODULE).finished(started.id);
    const r = await (await fetch(`${url}/api/v1/drills/${started.id}`, { headers: auth })).json() as any;

    expect(mine).toBe(true);
    expect(r.status).toBe('finished');
    expect(r.verdict).toBe('held');
    // the slow run was cancelled by the gateway's guard: not completed, not stalled
    const cancelled = finished.filter((e) => e.outcome === 'cancelled');
    expect(cancelled).toHaveLength(1);
    expect(cancelled[0]!.code).toBe('TROUPE_ERR_AGENT_CANCELLED');
    // the slow client learnt why: the stream ended with the coded error event, not [DONE]
    expect(r.stream.endedWith).toBe('TROUPE_ERR_AGENT_CANCELLED');
    expect(r.stream.completed).toBe(false);
    expect(r.stream.receivedBytes).toBeGreaterThan(0);
    expect(r.stream.receivedBytes).toBeLessThan(r.stream.answerBytes);
    expect(r.clientErrors['TROUPE_ERR_AGENT_CANCELLED']).toBe(1);
    // memory: far below the 64 MiB the agent was set to write (the guard bounds what waits)
    expect(r.stream.memoryGrowthBytes).toBeLessThan(r.stream.answerBytes / 2);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(r.stream.answerBytes * 2);
    // ledger: the drill's runs = the slow one + its probes during; every one answered, none lost
    const drillRuns = r.probes.length + 1; // before, during and after probes, and the slow run
    expect(finished.length).toBe(drillRuns + 1); // + the test's own client
    expect(finished.filter((e) => e.outcome === 'ok')).toHaveLength(drillRuns);
    expect(r.messages.sent).toBe(r.probes.filter((p: any) => p.phase === 'during').length + 1);
    expect(r.messages.delivered).toBe(r.messages.sent);
    expect(r.messages.lost).toBe(0);
    expect(r.probes.every((p: any) => p.ok)).toBe(true);
    // detection is the run's end, recovery the next client answered after it
    expect(r.detectedAt).toBeGreaterThanOrEqual(r.injectedAt);
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.detectedAt);
    expect(r.timeline.slowClientEndAt).toBeGreaterThanOrEqual(r.detectedAt);
    expect(await streamOnce(url, 'talker')).toBe(true);
  }, 60_000);

  it('refuses a target that is not an agent of this node, and a request without the gateway', async () => {
    const n = await node();
    const res = await fetch(`${n.http!.url}/api/v1/drills`, { method: 'POST', headers: auth, body: JSON.stringify({ kind: 'slow-client', target: 'agent:nobody' }) });
    expect(res.status).toBe(400);
    expect((await res.json() as any).error.code).toBe('TROUPE_ERR_DRILL_TARGET');

    const t = tempDir();
    dirs.push(t.cleanup);
    const bare = await startNode({ id: 'sc2', dataDir: t.dir, logger: silent, allowDrills: true, model: { provider: 'offline' }, http: false });
    nodes.push(bare);
    bare.spawnAgent({ name: 'talker' });
    expect(() => bare.module<DrillsApi>(DRILLS_MODULE).start({ kind: 'slow-client', target: 'agent:talker' })).toThrow(/HTTP gateway/);
  });

  it("fails before injecting anything when the drill's clients are refused (no key given to the library call)", async () => {
    const n = await node();
    n.spawnAgent({ name: 'talker' });
    const api = n.module<DrillsApi>(DRILLS_MODULE);
    const r = await api.finished(api.start({ kind: 'slow-client', target: 'agent:talker', durationMs: 2_000 }).id);
    expect(r.status).toBe('failed');
    expect(r.error).toContain('TROUPE_ERR_DRILL_TARGET');
    expect(r.injectedAt).toBeUndefined();
    // with the key it runs
    const ok = await api.finished(api.start({ kind: 'slow-client', target: 'agent:talker', durationMs: 10_000, probeWithinMs: 5_000 }, { apiKey: KEY }).id);
    expect(ok.verdict).toBe('held');
  }, 60_000);
});
