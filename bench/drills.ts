import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { DRILLS_MODULE, startNode, type DrillsApi } from '../index.js';
import { kernelFaults } from '../actors/kernel/index.js';
import { note, percentile, round } from './util.js';

const CRASHES = 200;
const PARTITIONS = 3;
const HEARTBEAT_MS = 100;
const silent = pino({ level: 'silent' });

/**
 * Crash to next successful reply: an actor is made to throw on its next message (the crash
 * drill's kernel hook), a message is sent, and an ask behind it is timed until it is
 * answered by the restarted actor.
 */
async function crashRecover(): Promise<number> {
  const node = await startNode({ id: 'bench-drill', logger: silent, http: false, model: { provider: 'offline' }, allowDrills: true });
  try {
    // a supervisor that never runs out of restarts: every crash is one restart
    node.spawnSpec({
      name: 'sup', behaviour: { receive: () => undefined },
      supervision: { strategy: 'one-for-one', maxRestarts: 1_000_000, withinMs: 1_000 },
      children: [{ name: 'echo', behaviour: { receive: (_s: unknown, m: unknown, ctx: { expectsReply: boolean; reply(v: unknown): void }) => { if (ctx.expectsReply) ctx.reply(m); } } }],
    });
    const faults = kernelFaults(node);
    const times: number[] = [];
    for (let i = 0; i < CRASHES; i++) {
      faults.armCrash('user/sup/echo', 1, () => new Error('bench crash'));
      const t = performance.now();
      node.tell('user/sup/echo', 'crash me');
      await node.ask('user/sup/echo', 'after', { timeoutMs: 5_000 });
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return round(percentile(times, 99));
  } finally {
    await node.close();
  }
}

/** The partition drill between two nodes: injection to suspect, and heal to the first durable message delivered. */
async function partition(): Promise<{ detect: number; heal: number }> {
  const a = await startNode({ id: 'bench-pa', logger: silent, http: false, model: { provider: 'offline' }, allowDrills: true, cluster: { port: 0, heartbeatMs: HEARTBEAT_MS } });
  const b = await startNode({ id: 'bench-pb', logger: silent, http: false, model: { provider: 'offline' }, cluster: { port: 0, seeds: [a.peer!.url], heartbeatMs: HEARTBEAT_MS } });
  try {
    const up = (): boolean => a.clusterInfo().members.some((m) => m.node === 'bench-pb' && m.status === 'up');
    const detect: number[] = [];
    const heal: number[] = [];
    const api = a.module<DrillsApi>(DRILLS_MODULE);
    for (let i = 0; i < PARTITIONS; i++) {
      while (!up()) await new Promise((r) => setTimeout(r, 20));
      const r = await api.finished(api.start({ kind: 'partition', target: 'bench-pb', durationMs: 1_000, rate: 10, probeWithinMs: 5_000 }).id);
      const t = r.timeline ?? {};
      if (r.verdict !== 'held' || t['suspectAt'] === undefined || r.recoveredAt === undefined || t['healedAt'] === undefined) {
        note(`partition drill ${i}: ${r.verdict} ${r.error ?? ''}`);
        continue;
      }
      detect.push(t['suspectAt'] - r.injectedAt!);
      heal.push(r.recoveredAt - t['healedAt']);
    }
    detect.sort((x, y) => x - y);
    heal.sort((x, y) => x - y);
    return { detect: round(percentile(detect, 50)), heal: round(percentile(heal, 50)) };
  } finally {
    await b.close();
    await a.close();
  }
}

/** `drill_crash_recover_p99_ms`, `partition_detect_ms`, `partition_heal_ms` (medians of the drills, heartbeat 100 ms). */
export async function benchDrills(): Promise<Record<string, number>> {
  note('drills: crash to next reply');
  const crash = await crashRecover();
  note('drills: partition detect and heal');
  const p = await partition();
  return { drill_crash_recover_p99_ms: crash, partition_detect_ms: p.detect, partition_heal_ms: p.heal, partition_heartbeat_ms: HEARTBEAT_MS };
}
