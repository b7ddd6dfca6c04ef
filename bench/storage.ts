import { rmSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { open } from 'lmdb';
import pino from 'pino';
import { behaviour } from '../actors/index.js';
import { createNode } from '../actors/troupe-node.js';
import { note, round } from './util.js';

const EVENTS = 100_000;
const IN_FLIGHT = 256;
const record = (i: number): { v: number; seq: number; at: number; event: { type: string; v: number } } =>
  ({ v: 1, seq: i, at: 1_700_000_000_000, event: { type: 'item.added', v: i } });

/** Raw lmdb-js async puts of the same records, same in-flight window (also the aoa section's baseline). */
export async function rawLmdb(dir: string): Promise<number> {
  const env = open({ path: join(dir, 'raw.mdb') });
  const db = env.openDB({ name: 'journal' });
  const t = performance.now();
  let next = 1;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next <= EVENTS) {
      const i = next++;
      await db.put(['bench', i], record(i));
    }
  }));
  const rate = EVENTS / ((performance.now() - t) / 1000);
  await env.close();
  return Math.round(rate);
}

type Cmd = { type: 'add'; v: number } | { type: 'count' };
const sink = behaviour<number, Cmd, { type: string; v: number }>({
  initial: () => 0,
  persistence: { apply: (s) => s + 1 },
  receive: (s, m, ctx) => {
    if (m.type === 'count') return void ctx.reply(s);
    const r = ctx.replier();
    ctx.persist({ type: 'item.added', v: m.v }).then(() => r.reply(null), (e) => r.error(e));
  },
});

/** Durable, awaited commits through a persistent actor (each ask resolves after its commit). */
async function persisted(dir: string): Promise<{ rate: number; recoverMs: number }> {
  const logger = pino({ level: 'silent' });
  let node = await createNode({ id: 'bench', dataDir: join(dir, 'node'), logger });
  const ref = node.spawn(sink, { name: 'sink', mailboxCapacity: IN_FLIGHT * 2 });
  const t = performance.now();
  let next = 1;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next <= EVENTS) {
      const i = next++;
      await node.ask(ref, { type: 'add', v: i }, { timeoutMs: 60_000 });
    }
  }));
  const rate = EVENTS / ((performance.now() - t) / 1000);
  await node.close();
  // recovery of an actor with 100k journaled events, default snapshot policy (every 1,000)
  node = await createNode({ id: 'bench', dataDir: join(dir, 'node'), logger });
  const t2 = performance.now();
  node.spawn(sink, { name: 'sink' });
  const recoverMs = performance.now() - t2;
  const recovered = await node.ask(ref, { type: 'count' });
  if (recovered !== EVENTS) throw new Error(`recovered ${String(recovered)} events, expected ${EVENTS}`);
  await node.close();
  return { rate: Math.round(rate), recoverMs };
}

export async function benchStorage(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-'));
  try {
    note('raw lmdb puts');
    const raw = await rawLmdb(dir);
    note('persistent actor');
    const p = await persisted(dir);
    return {
      persist_events_per_s: p.rate,
      raw_lmdb_put_per_s: raw,
      persist_vs_raw_lmdb: round(p.rate / raw),
      recover_100k_ms: round(p.recoverMs, 2),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
