/**
 * Virtual agents (issue 16): the heap a passivated agent holds (it stays listed and
 * addressable; its actors are stopped and its memory is in LMDB), extrapolated to the agents
 * one node addresses in 24 GB, and the latency of the first message to a passivated agent
 * (activation: its actors spawned again and its journal recovered, LMDB on local disk).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startNode } from '../index.js';
import { note, percentile, round } from './util.js';

const PASSIVATED = Number(process.env.BENCH_PASSIVATED ?? 100_000);
const ACTIVATIONS = Number(process.env.BENCH_ACTIVATIONS ?? 2_000);
const NODE_MEMORY_BYTES = 24 * 1024 ** 3;

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    (globalThis as { gc?: () => void }).gc?.();
  }
  return process.memoryUsage().heapUsed;
}

/** Bytes per passivated agent, and how long registering them took. */
async function passivatedBytes(): Promise<{ bytes: number; createMs: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-virtual-'));
  const node = await startNode({ id: 'bench-virtual', dataDir: dir, logger: pino({ level: 'silent' }), http: false, model: { provider: 'offline' } });
  try {
    node.spawnAgent({ name: 'warm', instructions: 'Be brief.' });
    await node.agents.run('warm', { input: [{ role: 'user', content: 'hi' }], conversationId: 'c' });
    const before = await settle();
    const t = performance.now();
    for (let i = 0; i < PASSIVATED; i++) node.agents.spawn({ name: `agent-${i}`, instructions: 'Be brief.' }, { passivated: true });
    const createMs = performance.now() - t;
    const after = await settle();
    // addressable: the last one answers its first message
    await node.agents.run(`agent-${PASSIVATED - 1}`, { input: [{ role: 'user', content: 'hi' }] });
    return { bytes: (after - before) / PASSIVATED, createMs };
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Latency of the first message (an ask) to each of ACTIVATIONS passivated agents, each with a journaled conversation. */
async function activationLatency(): Promise<{ p50: number; p99: number; max: number; liveP99: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-activate-'));
  const node = await startNode({ id: 'bench-activate', dataDir: dir, logger: pino({ level: 'silent' }), http: false, model: { provider: 'offline' } });
  try {
    for (let i = 0; i < ACTIVATIONS; i++) node.spawnAgent({ name: `agent-${i}`, instructions: 'Be brief.' });
    for (let i = 0; i < ACTIVATIONS; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, ACTIVATIONS - i) }, (_, j) =>
        node.agents.run(`agent-${i + j}`, { input: [{ role: 'user', content: `remember ${i + j}` }], conversationId: 'c' })));
    }
    await settle();
    const passivated = node.agents.passivateIdle();
    if (passivated !== ACTIVATIONS) throw new Error(`expected ${ACTIVATIONS} passivated agents, got ${passivated}`);
    await settle();
    // interleaved: each first message to a passivated agent, then the same ask to the agent
    // activated just before (live now), so both figures sample the same moments of this VM
    const times: number[] = [];
    const live: number[] = [];
    const ask = (i: number) => node.ask(`user/agents/agent-${i}/agent`, { type: 'agent.conversation', conversationId: 'c' });
    for (let i = 0; i < ACTIVATIONS; i++) {
      let t = performance.now();
      await ask(i);
      times.push(performance.now() - t);
      if (i === 0) continue;
      t = performance.now();
      await ask(i - 1);
      live.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    live.sort((a, b) => a - b);
    return { p50: percentile(times, 50), p99: percentile(times, 99), max: times[times.length - 1]!, liveP99: percentile(live, 99) };
  } finally {
    await node.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchVirtualAgents(): Promise<Record<string, number>> {
  const p = await passivatedBytes();
  const addressable = Math.floor(NODE_MEMORY_BYTES / p.bytes);
  note(`agents: ${PASSIVATED} passivated agents, ${Math.round(p.bytes)} B heap each (${addressable} in 24 GB), registered in ${Math.round(p.createMs)} ms`);
  const a = await activationLatency();
  note(`agents: first message to a passivated agent (${ACTIVATIONS} agents): p50 ${round(a.p50, 2)} ms, p99 ${round(a.p99, 2)} ms, max ${round(a.max, 2)} ms; the same ask to the live agents: p99 ${round(a.liveP99, 2)} ms`);
  return {
    agents_passivated_bytes_per_agent: Math.round(p.bytes),
    agents_addressable_per_node: addressable,
    agents_passivated_create_100k_ms: round(p.createMs * (100_000 / PASSIVATED), 1),
    agent_activation_p50_ms: round(a.p50, 3),
    agent_activation_p99_ms: round(a.p99, 3),
    agent_live_ask_p99_ms: round(a.liveP99, 3),
  };
}
