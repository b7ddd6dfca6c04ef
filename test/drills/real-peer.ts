import { afterAll, expect } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';
import { startTroupe, type TroupeProcess } from '../process.js';

/** Shared by the drill tests that run a real peer process (kill-node, partition). */
export const HB = 100;
const procs: TroupeProcess[] = [];
const nodes: RunningNode[] = [];
const cleanups: Array<() => void> = [];

/** Register the cleanup of everything made through this file (call once per test file). */
export function cleanUpAfterAll(): void {
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
    await Promise.all(nodes.map((n) => n.close()));
    cleanups.forEach((c) => c());
  });
}

export function dir(): string {
  const t = tempDir('troupe-drill-node-');
  cleanups.push(t.cleanup);
  return t.dir;
}

/** The node that runs the drills: in this process, so the test watches its inspection stream. */
export async function driller(id: string): Promise<RunningNode> {
  const n = await startNode({ id, dataDir: dir(), logger: silent, allowDrills: true, http: { port: 0 }, model: { provider: 'offline' }, cluster: { port: 0, seeds: [], heartbeatMs: HB } });
  nodes.push(n);
  return n;
}

/** A real `troupe start` process seeded with `seed`. */
export async function peer(id: string, data: string, seed: string, allow = true): Promise<TroupeProcess> {
  const p = await startTroupe(['--node', id, '--http-port', '0', '--peer-port', '0', '--data', data, '--heartbeat-ms', String(HB), '--peers', seed, ...(allow ? ['--allow-drills'] : [])], {}, 45_000);
  procs.push(p);
  return p;
}

/**
 * Two readings of the node's clock taken by two listeners of the same event dispatch: apart
 * by no more than what runs between them (other listeners, a GC pause; 3 ms was seen on a
 * loaded machine), and well under half a heartbeat, so a reading of another member event
 * (at least a heartbeat later) can never pass for it.
 */
export const near = (a: number | undefined, b: number | undefined): void => {
  expect(a).toBeDefined();
  expect(b).toBeDefined();
  expect(Math.abs(a! - b!)).toBeLessThan(HB / 2);
};

export const statusOf = (n: RunningNode, node: string): string | undefined => n.clusterInfo().members.find((m) => m.node === node)?.status;

/** The member events the test sees itself, with their times on the node's clock. */
export function watchMembers(n: RunningNode, node: string): Array<{ type: string; at: number }> {
  const seen: Array<{ type: string; at: number }> = [];
  n.inspect((e) => {
    if ((e.type === 'member.suspect' || e.type === 'member.down' || e.type === 'member.up') && e.node === node) seen.push({ type: e.type, at: n.clock.now() });
  });
  return seen;
}
