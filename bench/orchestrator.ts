import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { createNode, gatewayModule, orchestratorModule, type NodeRunner, type NodeTask, type Orchestrator } from '../actors/index.js';
import { note, percentile, round } from './util.js';

const AGENTS = [{ name: 'instant', skills: [] }];
const DAGS = 20;

/** An agent that answers at once; records when each node was called. */
class InstantRunner implements NodeRunner {
  readonly calledAt = new Map<string, number>();
  async run(task: NodeTask): Promise<{ content: string }> {
    this.calledAt.set(`${task.sessionId}/${task.node}`, performance.now());
    return { content: 'ok' };
  }
}

/** `n` nodes in one chain: each node's start waits on the previous node's journaled completion. */
function chain(n: number): unknown {
  const nodes = Array.from({ length: n }, (_v, i) => ({ id: `n${i}`, agent: 'instant', instruction: 'go', ...(i > 0 ? { inputs: [`n${i - 1}`] } : {}) }));
  const edges = nodes.slice(1).map((_n, i) => ({ from: `n${i}`, to: `n${i + 1}` }));
  return { nodes, edges };
}

/** `width` chains of `depth` nodes (width * depth nodes in all). */
function lanes(width: number, depth: number): unknown {
  const nodes = [];
  const edges = [];
  for (let d = 0; d < depth; d++) {
    for (let w = 0; w < width; w++) {
      nodes.push({ id: `l${w}_${d}`, agent: 'instant', instruction: 'go' });
      if (d > 0) edges.push({ from: `l${w}_${d - 1}`, to: `l${w}_${d}` });
    }
  }
  return { nodes, edges };
}

/**
 * Orchestration overhead on one node with real LMDB: per node of 100-node chains of instant
 * agents (the time from one node's call to the next one's, all of it the session actor's
 * work: journaling the completion and the next start, scheduling, the runner hand-off), and a
 * 1,000-node DAG (10 lanes of 100) end to end.
 */
export async function benchOrchestrator(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-orch-'));
  const runner = new InstantRunner();
  const node = await createNode({
    id: 'bench-orch', logger: pino({ level: 'silent' }), dataDir: dir,
    modules: [gatewayModule(), orchestratorModule({ runner, catalog: async () => AGENTS, maxParallel: 16, maxSessions: 10_000 })],
  });
  try {
    const orch = node.module<Orchestrator>('orchestrator');
    const gaps: number[] = [];
    // warm-up: the first DAGs run while the JIT compiles the session actor's paths
    for (let i = 0; i < 5; i++) await orch.attach(await orch.start('warm-up', { dag: chain(100) }));
    for (let i = 0; i < DAGS; i++) {
      const id = await orch.start('chain', { dag: chain(100) });
      const s = await orch.attach(id);
      if (s.status !== 'completed') throw new Error(`chain session ${s.status}`);
      for (let k = 1; k < 100; k++) gaps.push(runner.calledAt.get(`${id}/n${k}`)! - runner.calledAt.get(`${id}/n${k - 1}`)!);
    }
    gaps.sort((a, b) => a - b);
    note(`gaps over 2ms: ${gaps.filter((g) => g > 2).length}, p90 ${round(percentile(gaps, 90))}, p95 ${round(percentile(gaps, 95))}, max ${round(gaps.at(-1)!)}`);
    note(`dag node overhead p50 ${round(percentile(gaps, 50))} ms, p99 ${round(percentile(gaps, 99))} ms over ${gaps.length} nodes`);
    let best = Number.POSITIVE_INFINITY;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      const id = await orch.start('lanes', { dag: lanes(10, 100) });
      const s = await orch.attach(id);
      if (s.status !== 'completed') throw new Error(`1000-node session ${s.status}`);
      best = Math.min(best, performance.now() - t);
    }
    note(`1000-node DAG end to end: ${round(best, 1)} ms`);
    return { dag_node_overhead_p50_ms: round(percentile(gaps, 50)), dag_node_overhead_p99_ms: round(percentile(gaps, 99)), dag_1000_nodes_ms: round(best, 1) };
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
