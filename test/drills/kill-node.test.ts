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

describe('the kill-node drill with a real node process', () => {
  it('kill-node: the target ends itself with SIGKILL; the driller detects it down; restarted, it rejoins and the drill reports the rejoin', async () => {
    const a = await driller('ka');
    const data = dir();
    const b = await peer('kb', data, a.peer!.url);
    await until(() => statusOf(a, 'kb') === 'up', 10_000, 'kb up');
    const seen = watchMembers(a, 'kb');
    const api = a.module<DrillsApi>(DRILLS_MODULE);
    const started = api.start({ kind: 'kill-node', target: 'kb', durationMs: 90_000, probeWithinMs: 5_000 });
    expect(await b.exited).toBeNull();
    expect(b.proc.signalCode).toBe('SIGKILL');
    await until(() => statusOf(a, 'kb') === 'down', 10_000, 'kb down');
    await peer('kb', data, a.peer!.url);
    const r = await api.finished(started.id);
    expect(r.status).toBe('finished');
    near(r.timeline!['downAt'], seen.find((s) => s.type === 'member.down')?.at);
    near(r.detectedAt, Math.min(...seen.filter((s) => s.type !== 'member.up').map((s) => s.at)));
    near(r.timeline!['upAt'], seen.find((s) => s.type === 'member.up')?.at);
    expect(r.recoveredAt).toBeGreaterThanOrEqual(r.timeline!['upAt']!);
    expect(r.verdict).toBe('held');
  }, 180_000);
});
