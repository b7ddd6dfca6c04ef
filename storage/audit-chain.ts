import { z } from 'zod';
import { TroupeError } from '../protocol/index.js';
import { AUDIT_GENESIS, AUDIT_HASH_BYTES, AUDIT_LINK_PREFIX, AUDIT_MAX_RECORD_BYTES, linkInPlace } from './audit-hash.js';

/** One stored link of the audit chain. */
export interface AuditEntry {
  readonly seq: number;
  /** `h_seq` as stored. */
  readonly hash: Buffer;
  /** The record's exact stored bytes. */
  readonly bytes: Buffer;
}

/** The chain's head: last sequence number and its hash (seq 0 and zero bytes when empty). */
export interface AuditHead {
  readonly seq: number;
  readonly hash: Buffer;
}

/** A signed checkpoint of a chain: `text` is the signed C2SP-style note body. */
export const auditCheckpointSchema = z.object({
  v: z.literal(1),
  /** Node whose chain it is. */
  origin: z.string().min(1).max(200),
  seq: z.number().int().min(0),
  /** Hex SHA-256 of the chain at `seq`. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  ts: z.number().int().min(0),
  /** `troupe/<origin>/audit\n<seq>\n<base64 hash>\n` */
  text: z.string().max(1_024),
  /** Base64 Ed25519 signature of `text`. */
  signature: z.string().max(200),
  /** Base64 SPKI DER of the origin's Ed25519 public key. */
  publicKey: z.string().max(200),
});
export type AuditCheckpoint = z.infer<typeof auditCheckpointSchema>;

/** Bounds of a chain store's queries. */
export const AUDIT_MAX_PAGE = 1_000;
/** Checkpoints kept per origin (own and witnessed); older ones are dropped as new ones arrive. */
export const AUDIT_MAX_CHECKPOINTS = 10_000;

/**
 * The hash-chained audit log's storage: appends continue the chain from the head, atomically
 * with it; reads return the stored bytes untouched (verification re-hashes exactly them).
 * Implemented over LMDB ({@link LmdbAuditChain}) and in memory ({@link MemoryAuditChain}).
 * One writer: appends chain in call order, each after the previous one, committed or still
 * in flight (so the next commit is queued while one runs); an append commits only if every
 * append before it did, so the chain on disk never has a gap.
 *
 * @example
 * const [e] = await chain.append([Buffer.from('{"action":"X"}')]);
 * chain.head().seq === e.seq;
 */
export interface AuditChainStore {
  /** True when appends survive the process. */
  readonly durable: boolean;
  /** The head as of the last committed append. */
  head(): AuditHead;
  /** The head record as persisted (what verification compares the walk with). */
  storedHead(): AuditHead;
  /** Append records (canonical bytes, or strings stored as UTF-8) in one commit; resolves with their entries once committed. */
  append(records: readonly AuditRecordBytes[]): Promise<AuditEntry[]>;
  /** The seq the next append starts at: after the committed head and the appends in flight. */
  nextSeq(): number;
  get(seq: number): AuditEntry | undefined;
  /**
   * Entries by key order from `from` (inclusive), ascending, or descending from `from` when
   * `reverse`. Raw: keys that are not sequence numbers come back with seq NaN, and stored
   * values too short for a hash with an empty hash, so that verification sees them.
   */
  entries(options?: { from?: number; reverse?: boolean; limit?: number }): Iterable<AuditEntry>;
  /** Keep one of this node's own checkpoints. */
  saveCheckpoint(cp: AuditCheckpoint): Promise<void>;
  /** This node's own checkpoints, ascending by seq. */
  checkpoints(): AuditCheckpoint[];
  /** Keep a checkpoint another node sent (witnessing its chain). */
  saveWitnessed(cp: AuditCheckpoint): Promise<void>;
  /** Witnessed checkpoints, of one origin or of all, ascending by origin then seq. */
  witnessed(origin?: string): AuditCheckpoint[];
  close?(): void;
}

/** A record to append: its canonical bytes, or a string stored as its UTF-8 bytes. */
export type AuditRecordBytes = Uint8Array | string;

/** Byte lengths of a batch's records, checked before anything is chained. */
export function checkRecords(records: readonly AuditRecordBytes[]): number[] {
  const lengths = new Array<number>(records.length);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    const n = typeof r === 'string' ? Buffer.byteLength(r, 'utf8') : r instanceof Uint8Array ? r.length : 0;
    if (n === 0 || n > AUDIT_MAX_RECORD_BYTES) {
      throw new TroupeError('TROUPE_ERR_AUDIT_RECORD_INVALID', `an audit record is 1 to ${AUDIT_MAX_RECORD_BYTES} bytes`);
    }
    lengths[i] = n;
  }
  return lengths;
}

/** A chained batch: its entries and their stored values (`h_seq || bytes`, the same memory). */
export interface ChainedBatch {
  entries: AuditEntry[];
  values: Buffer[];
}

/** An entry over its stored value: the hash and the bytes are views of it, made when read. */
class StoredEntry implements AuditEntry {
  constructor(readonly seq: number, private readonly value: Buffer) {}
  get hash(): Buffer {
    return this.value.subarray(0, AUDIT_HASH_BYTES);
  }
  get bytes(): Buffer {
    return this.value.subarray(AUDIT_HASH_BYTES);
  }
}

/**
 * Chain `records` after `head`: the entries an append writes. The whole batch is laid out
 * in one buffer, each record hashed where it lies and its stored value a view of it, so a
 * record costs one copy of its bytes (or one UTF-8 write of its string) and one digest.
 * Throws TROUPE_ERR_AUDIT_RECORD_INVALID for an empty or oversized record (nothing chained).
 */
export function chainAfter(head: AuditHead, records: readonly AuditRecordBytes[]): ChainedBatch {
  const lengths = checkRecords(records);
  let total = 0;
  for (const n of lengths) total += AUDIT_LINK_PREFIX + n;
  const buf = Buffer.allocUnsafe(total);
  const entries = new Array<AuditEntry>(records.length);
  const values = new Array<Buffer>(records.length);
  let seq = head.seq;
  let at = 0;
  let prevAt = -1;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const n = lengths[i]!;
    // as many bytes as UTF-16 units: ASCII, whose UTF-8 is its latin1 (a plain copy)
    if (typeof r === 'string') buf.write(r, at + AUDIT_LINK_PREFIX, n, n === r.length ? 'latin1' : 'utf8');
    else buf.set(r, at + AUDIT_LINK_PREFIX);
    // the previous hash: the head's, or the one just written into this buffer
    if (prevAt < 0) buf.set(head.hash, at + 1);
    else buf.copyWithin(at + 1, prevAt + 9, prevAt + 9 + AUDIT_HASH_BYTES);
    seq += 1;
    const value = linkInPlace(buf, at, undefined, seq, n);
    entries[i] = new StoredEntry(seq, value);
    values[i] = value;
    prevAt = at;
    at += AUDIT_LINK_PREFIX + n;
  }
  return { entries, values };
}

/** The empty chain's head. */
export const EMPTY_HEAD: AuditHead = Object.freeze({ seq: 0, hash: AUDIT_GENESIS });

function trim(list: AuditCheckpoint[]): void {
  if (list.length > AUDIT_MAX_CHECKPOINTS) list.splice(0, list.length - AUDIT_MAX_CHECKPOINTS);
}

/**
 * The in-memory twin of {@link LmdbAuditChain} (a node without a data dir): the same chain,
 * NOT durable.
 *
 * @example
 * const chain = new MemoryAuditChain();
 */
export class MemoryAuditChain implements AuditChainStore {
  readonly durable = false;
  private readonly list: AuditEntry[] = [];
  private tip: AuditHead = EMPTY_HEAD;
  private readonly own: AuditCheckpoint[] = [];
  private readonly peers = new Map<string, AuditCheckpoint[]>();

  head(): AuditHead {
    return this.tip;
  }

  storedHead(): AuditHead {
    return this.tip;
  }

  nextSeq(): number {
    return this.tip.seq + 1;
  }

  async append(records: readonly AuditRecordBytes[]): Promise<AuditEntry[]> {
    const { entries } = chainAfter(this.tip, records);
    this.list.push(...entries);
    if (entries.length > 0) this.tip = { seq: entries.at(-1)!.seq, hash: entries.at(-1)!.hash };
    return entries;
  }

  get(seq: number): AuditEntry | undefined {
    return this.list[seq - 1];
  }

  *entries(options: { from?: number; reverse?: boolean; limit?: number } = {}): Iterable<AuditEntry> {
    let n = options.limit ?? Infinity;
    if (options.reverse) {
      for (let i = Math.min(this.list.length, options.from ?? this.list.length) - 1; i >= 0 && n-- > 0; i--) yield this.list[i]!;
    } else {
      for (let i = Math.max(0, (options.from ?? 1) - 1); i < this.list.length && n-- > 0; i++) yield this.list[i]!;
    }
  }

  async saveCheckpoint(cp: AuditCheckpoint): Promise<void> {
    // keyed by seq, ascending, as in LMDB
    const i = this.own.findIndex((c) => c.seq >= cp.seq);
    if (i === -1) this.own.push(cp);
    else this.own.splice(i, this.own[i]!.seq === cp.seq ? 1 : 0, cp);
    trim(this.own);
  }

  checkpoints(): AuditCheckpoint[] {
    return [...this.own];
  }

  async saveWitnessed(cp: AuditCheckpoint): Promise<void> {
    const list = this.peers.get(cp.origin) ?? [];
    if (!list.some((c) => c.seq === cp.seq)) list.push(cp);
    list.sort((a, b) => a.seq - b.seq);
    trim(list);
    this.peers.set(cp.origin, list);
  }

  witnessed(origin?: string): AuditCheckpoint[] {
    if (origin !== undefined) return [...(this.peers.get(origin) ?? [])];
    return [...this.peers.keys()].sort().flatMap((o) => this.peers.get(o)!);
  }
}
