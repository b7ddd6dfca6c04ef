import { IF_EXISTS } from 'lmdb';
import { z } from 'zod';
import { TroupeError } from '../protocol/index.js';
import {
  AUDIT_MAX_CHECKPOINTS, EMPTY_HEAD, auditCheckpointSchema, chainAfter,
  type AuditChainStore, type AuditRecordBytes, type ChainedBatch, type AuditCheckpoint, type AuditEntry, type AuditHead,
} from './audit-chain.js';
import { decodeEntry } from './audit-hash.js';
import type { NodeStore, StoreDb } from './node-store.js';
import { corruptRecord } from './records.js';

/** Names of the audit chain's LMDB databases. */
export const AUDIT_DBS = { records: 'audit', meta: 'audit.meta', checkpoints: 'audit.checkpoints', witness: 'audit.witness' } as const;

const headSchema = z.object({ seq: z.number().int().min(0), hash: z.string().regex(/^[0-9a-f]{64}$/) });

/**
 * The audit chain in the node's LMDB environment: `audit` holds `seq -> h_seq || bytes`
 * (binary, stored exactly as given), `audit.meta` the head, written in the same commit as
 * the records it covers; `audit.checkpoints` this node's signed checkpoints and
 * `audit.witness` the checkpoints other nodes sent.
 *
 * Appends are pipelined: each is chained and handed to LMDB at once, after the ones still in
 * flight (lmdb-js commits them in that order, several in one transaction when they meet),
 * so the next commit is queued while one runs. An append that follows one in flight writes
 * only if that one's last record exists when its own commit runs (a conditional write): if
 * an append fails, every append chained after it fails too, nothing is written past the
 * gap, and once they have all settled the next append chains from the committed head.
 *
 * @example
 * const chain = new LmdbAuditChain(store);
 * await chain.append([Buffer.from('{"action":"AGENT_CREATE"}')]);
 */
export class LmdbAuditChain implements AuditChainStore {
  readonly durable = true;
  private readonly records: StoreDb;
  private readonly meta: StoreDb;
  private readonly own: StoreDb;
  private readonly peers: StoreDb;
  private tip: AuditHead;
  /** The head after the appends in flight (the committed one when none is). */
  private pending: AuditHead;
  private inflight = 0;

  constructor(private readonly store: NodeStore) {
    this.records = store.db(AUDIT_DBS.records, { encoding: 'binary' });
    this.meta = store.db(AUDIT_DBS.meta);
    this.own = store.db(AUDIT_DBS.checkpoints);
    this.peers = store.db(AUDIT_DBS.witness);
    this.tip = this.storedHead();
    this.pending = this.tip;
  }

  nextSeq(): number {
    return this.pending.seq + 1;
  }

  head(): AuditHead {
    return this.tip;
  }

  storedHead(): AuditHead {
    const raw: unknown = this.meta.get('head');
    if (raw === undefined) return EMPTY_HEAD;
    const r = headSchema.safeParse(raw);
    if (!r.success) throw corruptRecord(AUDIT_DBS.meta, 'head', undefined, 'not an audit head');
    return { seq: r.data.seq, hash: Buffer.from(r.data.hash, 'hex') };
  }

  append(records: readonly AuditRecordBytes[]): Promise<AuditEntry[]> {
    let chained: ChainedBatch;
    try {
      chained = chainAfter(this.pending, records);
    } catch (e) {
      return Promise.reject(e);
    }
    const { entries, values } = chained;
    if (entries.length === 0) return Promise.resolve(entries);
    const last = entries.at(-1)!;
    // after an append in flight: written only if its last record is there when this commit runs
    const after = this.pending.seq > this.tip.seq ? this.pending.seq : undefined;
    this.pending = { seq: last.seq, hash: last.hash };
    this.inflight++;
    const write = (): void => {
      // the values are views of one buffer, which lmdb-js reads in place until the commit
      for (let i = 0; i < entries.length; i++) void this.records.put(entries[i]!.seq, values[i]!);
      void this.meta.put('head', { seq: last.seq, hash: last.hash.toString('hex') });
    };
    const committed = after === undefined
      ? this.store.batch(write).then(() => true)
      : this.store.write(() => this.records.ifVersion(after, IF_EXISTS, write), 'audit append');
    return committed.then((ok) => {
      if (!ok) throw new TroupeError('TROUPE_ERR_STORAGE_WRITE', `audit append after seq ${after} not written: an earlier append failed`, { details: { op: 'audit append' } });
      // commits land in call order, but their promises may settle out of it
      if (last.seq > this.tip.seq) this.tip = { seq: last.seq, hash: last.hash };
      return entries;
    }).finally(() => {
      // once nothing is in flight, the next append chains from what is committed
      if (--this.inflight === 0) this.pending = this.tip;
    });
  }

  get(seq: number): AuditEntry | undefined {
    const v: unknown = this.records.get(seq);
    if (v === undefined) return undefined;
    const d = decodeEntry(v as Uint8Array);
    return d ? { seq, ...d } : { seq, hash: Buffer.alloc(0), bytes: Buffer.alloc(0) };
  }

  *entries(options: { from?: number; reverse?: boolean; limit?: number } = {}): Iterable<AuditEntry> {
    const range = this.records.getRange({
      ...(options.from !== undefined ? { start: options.from } : {}),
      ...(options.reverse ? { reverse: true } : {}),
      ...(options.limit !== undefined ? { limit: options.limit } : {}),
    });
    for (const { key, value } of range) {
      const seq = typeof key === 'number' && Number.isSafeInteger(key) ? key : Number.NaN;
      const d = decodeEntry(value as Uint8Array);
      yield d ? { seq, ...d } : { seq, hash: Buffer.alloc(0), bytes: Buffer.alloc(0) };
    }
  }

  async saveCheckpoint(cp: AuditCheckpoint): Promise<void> {
    await this.store.put(this.own, cp.seq, cp);
    await this.trim(this.own, undefined);
  }

  checkpoints(): AuditCheckpoint[] {
    return [...this.own.getRange({})].map(({ key, value }) => this.parse(AUDIT_DBS.checkpoints, key, value));
  }

  async saveWitnessed(cp: AuditCheckpoint): Promise<void> {
    await this.store.put(this.peers, [cp.origin, cp.seq], cp);
    await this.trim(this.peers, cp.origin);
  }

  witnessed(origin?: string): AuditCheckpoint[] {
    const range = origin === undefined ? this.peers.getRange({}) : this.peers.getRange({ start: [origin], end: [origin, Number.MAX_SAFE_INTEGER] });
    return [...range].map(({ key, value }) => this.parse(AUDIT_DBS.witness, key, value));
  }

  private parse(db: string, key: unknown, value: unknown): AuditCheckpoint {
    const r = auditCheckpointSchema.safeParse(value);
    if (!r.success) throw corruptRecord(db, key, undefined, 'not an audit checkpoint');
    return r.data;
  }

  /** Drop the oldest checkpoints past the bound (per origin for witnessed ones). */
  private async trim(db: StoreDb, origin: string | undefined): Promise<void> {
    const range = origin === undefined ? {} : { start: [origin], end: [origin, Number.MAX_SAFE_INTEGER] };
    const count = db.getKeysCount(range);
    if (count <= AUDIT_MAX_CHECKPOINTS) return;
    const old = [...db.getKeys({ ...range, limit: count - AUDIT_MAX_CHECKPOINTS })];
    await this.store.batch(() => {
      for (const k of old) db.remove(k);
    });
  }
}
