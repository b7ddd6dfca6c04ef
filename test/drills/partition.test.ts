import { afterAll, describe, expect, it } from 'vitest';
import { DRILLS_MODULE, startNode, type DrillsApi, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { startTroupe, type TroupeProcess } from '../process.js';

const HB = 100;
const procs: TroupeProcess[] = [];
const nodes: RunningNode[] = [];
const cleanups: Array<() => void> = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  await Promise.all(nodes.map((n) => n.close()));
  cleanups.forEach((c) => c());
});

function dir(): string {
  const t = tempDir('troupe-drill-node-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** The node that runs the drills: in this process, so the test watches its inspection stream. */
async function driller(id: string): Promise<RunningNode> {
  const n = await startNode({ id, dataDir: dir(), logger: silent, allowDrills: true, http: { port: 0 }, model: { provider: 'offline' }, cluster: { port: 0, seeds: [], heartbeatMs: HB } });
  nodes.push(n);
  return n;
}

/** A real `troupe start` process seeded with `seed`. */
async function peer(id: string, data: string, seed: string, allow = true): Promise<TroupeProcess> {
  const p = await startTroupe(['--node', id, '--http-port', '0', '--peer-port', '0', '--data', data, '--heartbeat-ms', String(HB), '--peers', seed, ...(allow ? ['--allow-drills'] : [])], {}, 45_000);
  procs.push(p);
  return p;
}

/** Two readings of the node's clock taken in the same event dispatch: equal, or a tick apart. */
const near = (a: number | undefined, b: number | undefined): void => {
  expect(a).toBeDefined();
  expect(b).toBeDefined();
  expect(Math.abs(a! - b!)).toBeLessThanOrEqual(2);
};

const statusOf = (n: RunningNode, node: string): string | undefined => n.clusterInfo().members.find((m) => m.node === node)?.status;

/** The member events the test sees itself, with their times on the node's clock. */
function watchMembers(n: RunningNode, node: string): Array<{ type: string; at: number }> {
  const seen: Array<{ type: string; at: number }> = [];
  n.inspect((e) => {
    if ((e.type === 'member.suspect' || e.type === 'member.down' || e.type === 'member.up') && e.node === node) seen.push({ type: e.type, at: n.clock.now() });
  });
  return seen;
}

describe('the partition drill with a real node process', () => {
  it('partition: the peer goes suspect then down, comes back up after the heal, and every durable message sent meanwhile arrives once', async () => {
    const a = await driller('pa');
    await peer('pb', dir(), a.peer!.url);
    await until(() => statusOf(a, 'pb') === 'up', 10_000, 'pb up');
    const seen = watchMembers(a, 'pb');
    const api = a.module<DrillsApi>(DRILLS_MODULE);
    const started = api.start({ kind: 'partition', target: 'pb', durationMs: 1_500, rate: 12, probeWithinMs: 5_000 });
    const r = await api.finished(started.id);
    expect(r.status).toBe('finished');
    const first = (type: string): number | undefined => seen.find((s) => s.type === type)?.at;
    near(r.timeline!['suspectAt'], first('member.suspect'));
    near(r.timeline!['downAt'], first('member.down'));
    near(r.timeline!['upAt'], seen.find((s) => s.type === 'member.up' && s.at >= r.timeline!['healedAt']!)?.at);
    near(r.detectedAt, r.timeline!['suspectAt']);
    expect(r.timeline!['suspectAt']!).toBeLessThan(r.timeline!['healedAt']!);
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.timeline!['healedAt']!);
    // the receiver's own ledger, asked by the test: twelve distinct, none twice
    const ledger = await a.ask<{ distinct: number; duplicates: number }>('troupe://pb/system/drills', { type: 'drill.ledger', drill: r.id });
    expect(ledger).toMatchObject({ distinct: 12, duplicates: 0 });
    expect(r.messages).toMatchObject({ sent: 12, delivered: 12, lost: 0, duplicates: 0 });
    expect(r.verdict).toBe('held');
    expect(statusOf(a, 'pb')).toBe('up');
  }, 120_000);

  it('kill-node is refused by a target started without --allow-drills, which stays up', async () => {
    const a = await driller('ra');
    const b = await peer('rb', dir(), a.peer!.url, false);
    await until(() => statusOf(a, 'rb') === 'up', 10_000, 'rb up');
    const api = a.module<DrillsApi>(DRILLS_MODULE);
    const r = await api.finished(api.start({ kind: 'kill-node', target: 'rb', durationMs: 1_000 }).id);
    expect(r.status).toBe('failed');
    expect(r.error).toMatch(/TROUPE_ERR_DRILL_DISABLED/);
    expect(b.proc.exitCode).toBeNull();
    expect(await a.ask('troupe://rb/system/drills', { type: 'drill.ping' })).toBe('pong');
    expect(() => api.start({ kind: 'partition', target: 'nobody' })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_DRILL_TARGET' }));
  }, 120_000);
});
