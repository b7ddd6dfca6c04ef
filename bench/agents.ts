/**
 * Agents per node (issue 16): the heap an idle agent actor holds (its supervisor, actor,
 * spec and memory), and how long spawning many takes, next to a plain troupe actor and a raw
 * nact actor measured the same way in the same process. Needs `--expose-gc` (bench/run.ts
 * starts sections with it); heap figures are after a full collection.
 */
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { Kernel } from '../actors/index.js';
import { startNode } from '../index.js';
import { note, round } from './util.js';
import { benchVirtualAgents } from './agents-virtual.js';

const require = createRequire(import.meta.url);
const nact = require('nact') as { start: () => any; spawn: (p: any, f: any, name?: string) => any; stop: (r: any) => void };

const AGENTS = Number(process.env.BENCH_AGENTS ?? 100_000);
const ACTORS = Number(process.env.BENCH_ACTORS ?? 100_000);

async function settle(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setImmediate(r));
    (globalThis as { gc?: () => void }).gc?.();
  }
  return process.memoryUsage().heapUsed;
}

async function rawNactBytes(): Promise<number> {
  const system = nact.start();
  const before = await settle();
  const refs: unknown[] = [];
  for (let i = 0; i < ACTORS; i++) refs.push(nact.spawn(system, (s: unknown) => s, `a${i}`));
  const after = await settle();
  nact.stop(system);
  return (after - before) / ACTORS;
}

async function troupeActorBytes(): Promise<number> {
  const k = new Kernel({ id: 'bench-mem', logger: pino({ level: 'silent' }) });
  const before = await settle();
  for (let i = 0; i < ACTORS; i++) k.spawn((s: number) => s, { name: `a${i}`, initialState: 0 });
  const after = await settle();
  await k.close();
  return (after - before) / ACTORS;
}

async function agents(): Promise<{ bytes: number; spawnMs: number; rssBytes: number }> {
  const node = await startNode({ id: 'bench-agents', logger: pino({ level: 'silent' }), http: false, model: { provider: 'offline' } });
  try {
    node.spawnAgent({ name: 'warm', instructions: 'Be brief.' });
    await node.agents.run('warm', { input: [{ role: 'user', content: 'hi' }] });
    const before = await settle();
    const rss = process.memoryUsage().rss;
    const t = performance.now();
    for (let i = 0; i < AGENTS; i++) node.spawnAgent({ name: `agent-${i}`, instructions: 'Be brief.' });
    // Spawned means the actors ran their start: one run on the last agent proves the tree is up.
    await node.agents.run(`agent-${AGENTS - 1}`, { input: [{ role: 'user', content: 'hi' }] });
    const spawnMs = performance.now() - t;
    const after = await settle();
    return { bytes: (after - before) / AGENTS, spawnMs, rssBytes: (process.memoryUsage().rss - rss) / AGENTS };
  } finally {
    await node.close();
  }
}

export async function benchAgents(): Promise<Record<string, number>> {
  if (!(globalThis as { gc?: unknown }).gc) note('agents: no --expose-gc, heap figures are rough');
  const raw = await rawNactBytes();
  note(`agents: raw nact actor ${Math.round(raw)} B`);
  const actor = await troupeActorBytes();
  note(`agents: troupe actor ${Math.round(actor)} B`);
  const a = await agents();
  note(`agents: ${AGENTS} idle agents, ${Math.round(a.bytes)} B heap and ${Math.round(a.rssBytes)} B RSS each, spawned in ${Math.round(a.spawnMs)} ms`);
  return {
    agents_resident_bytes_per_idle_agent: Math.round(a.bytes),
    agents_rss_bytes_per_idle_agent: Math.round(a.rssBytes),
    agents_spawn_100k_ms: round(a.spawnMs * (100_000 / AGENTS), 1),
    troupe_actor_bytes: Math.round(actor),
    raw_nact_actor_bytes: Math.round(raw),
    ...(await benchVirtualAgents()),
  };
}
