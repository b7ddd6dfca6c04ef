import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { open } from 'lmdb';
import pino from 'pino';
import { AuditLog, AuditSigningKey, auditOptionsSchema, canonicalJson, verifyOwnChain } from '../actors/index.js';
import { LmdbAuditChain, NodeStore } from '../storage/index.js';
import { ManualClock } from '../protocol/index.js';
import { note, round } from './util.js';

const APPENDS = 100_000;
const IN_FLIGHT = 256;
const VERIFY_N = Number(process.env['BENCH_AUDIT_VERIFY_N'] ?? 1_000_000);

const input = (i: number) => ({ action: 'TASK_SUBMIT', actor: 'aoa', target: `task-${i}`, correlationId: `c-${i}`, payload: { i }, details: { task_type: 'NOOP' } });

/** Raw lmdb-js async puts of records of the same size, same in-flight window. */
async function rawLmdb(dir: string, bytes: Buffer): Promise<number> {
  const env = open({ path: join(dir, 'raw.mdb') });
  const db = env.openDB({ name: 'audit', encoding: 'binary' });
  const t = performance.now();
  let next = 1;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next <= APPENDS) {
      const i = next++;
      await db.put(i, bytes);
    }
  }));
  const rate = APPENDS / ((performance.now() - t) / 1000);
  await env.close();
  return Math.round(rate);
}

/** `audit.record()` by 256 concurrent callers, each awaiting its commit. */
async function appends(dir: string): Promise<{ rate: number; bytes: Buffer }> {
  const store = await NodeStore.open({ dir: join(dir, 'append') });
  const log = new AuditLog({ id: 'bench', logger: pino({ level: 'silent' }), clock: new ManualClock(1_700_000_000_000) }, new LmdbAuditChain(store), AuditSigningKey.load(undefined), auditOptionsSchema.parse({ logRecords: false, checkpointEvery: 10_000_000 }));
  const first = await log.record(input(0));
  const t = performance.now();
  let next = 1;
  await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
    while (next <= APPENDS) await log.record(input(next++));
  }));
  const rate = APPENDS / ((performance.now() - t) / 1000);
  await log.close();
  await store.close();
  return { rate: Math.round(rate), bytes: Buffer.concat([Buffer.alloc(32), Buffer.from(canonicalJson(first))]) };
}

/** Verify a chain of VERIFY_N records (written in large batches first) against a checkpoint at its head. */
async function verify(dir: string): Promise<number> {
  const store = await NodeStore.open({ dir: join(dir, 'verify'), noSync: true });
  const chain = new LmdbAuditChain(store);
  const key = AuditSigningKey.load(undefined);
  const log = new AuditLog({ id: 'bench', logger: pino({ level: 'silent' }), clock: new ManualClock(1_700_000_000_000) }, chain, key, auditOptionsSchema.parse({ logRecords: false, batchMaxRecords: 10_000, maxPending: 1_000_000, checkpointEvery: 10_000_000 }));
  for (let i = 0; i < VERIFY_N; i += 50_000) {
    await Promise.all(Array.from({ length: Math.min(50_000, VERIFY_N - i) }, (_, j) => log.record(input(i + j))));
  }
  await log.checkpoint();
  const t = performance.now();
  const v = verifyOwnChain(chain, 'bench', key.publicKey);
  const ms = performance.now() - t;
  if (!v.ok || v.checked !== VERIFY_N) throw new Error(`verify failed: ${JSON.stringify(v)}`);
  await store.close();
  return ms;
}

export async function benchAudit(): Promise<Record<string, number>> {
  const dir = mkdtempSync(join(tmpdir(), 'troupe-bench-audit-'));
  try {
    note('audit appends');
    const a = await appends(dir);
    note('raw lmdb puts (audit-sized records)');
    const raw = await rawLmdb(dir, a.bytes);
    note(`audit verify of ${VERIFY_N} records`);
    const verifyMs = await verify(dir);
    return {
      audit_appends_per_s: a.rate,
      audit_raw_lmdb_put_per_s: raw,
      audit_vs_raw_lmdb: round(a.rate / raw),
      [VERIFY_N === 1_000_000 ? 'audit_verify_1m_ms' : `audit_verify_${VERIFY_N}_ms`]: Math.round(verifyMs),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
