import { Packr } from 'msgpackr';
import { z } from 'zod';
import { TroupeError, parseOrThrow, systemClock, type Clock } from '../protocol/index.js';
import { checkKey, type Journal, type JournalBatch } from './journal.js';
import { clockOptionSchema } from './node-store.js';
import { silentLogger, type StoreLogger } from './logger.js';
import {
  RECORD_VERSION, corruptRecord, journalRecordSchema, parseRecord, snapshotRecordSchema, undecodableRecord, type JournalRecord, type SnapshotRecord,
} from './records.js';

/** The same codec family as lmdb-js (msgpackr with records): what LMDB cannot store, this refuses too. */
const codec = new Packr();

/** Encode into a private copy (msgpackr reuses its buffer). */
function encode(value: unknown): Buffer {
  return Buffer.from(codec.pack(value));
}

function decode(bytes: Buffer, db: string, key: string, seq: number): unknown {
  try {
    return codec.unpack(bytes);
  } catch (cause) {
    throw undecodableRecord(db, key, seq, cause);
  }
}

const optionsSchema = z.strictObject({
  clock: clockOptionSchema,
  logger: z.custom<StoreLogger>((v) => typeof v === 'object' && v !== null && typeof (v as StoreLogger).warn === 'function').optional(),
  /** The inbox whose entries a write's `inboxDone` marks done (the node's in-memory inbox). */
  inbox: z.custom<{ done(id: string): Promise<void> }>((v) => typeof v === 'object' && v !== null && typeof (v as { done?: unknown }).done === 'function').optional(),
});

/**
 * Options of a {@link MemoryJournal}: `clock` (record timestamps), `logger`, and `inbox`, the
 * in-memory inbox that a write's `inboxDone` marks (without one the mark is dropped).
 */
export type MemoryJournalOptions = z.input<typeof optionsSchema>;

/** One key's records, encoded: what a caller does to its objects later changes nothing here. */
interface KeyLog {
  events: Map<number, Buffer>;
  snapshots: Map<number, Buffer>;
  highest: number;
}

/**
 * In-memory {@link Journal}: the twin of `LmdbJournal`, passing the same contract suite, for
 * nodes without a data dir and for tests. NOT DURABLE: everything is gone when the process
 * ends. Records are encoded with msgpackr as lmdb-js encodes them, so a value LMDB could not
 * store is refused here too, at once, and a recovered state is never the caller's own
 * object. Appends of one tick share a commit.
 *
 * @example
 * const journal = new MemoryJournal();
 * await journal.append('user/counter', 1, { type: 'added', n: 2 });
 * [...journal.replay('user/counter', 1)].map((r) => r.event); // [{ type: 'added', n: 2 }]
 */
export class MemoryJournal implements Journal {
  readonly logger: StoreLogger;
  readonly #clock: Pick<Clock, 'now'>;
  readonly #inbox: { done(id: string): Promise<void> } | undefined;
  readonly #keys = new Map<string, KeyLog>();
  #closed = false;
  /** The commit the appends of this tick share. */
  #commit: Promise<void> | undefined;

  constructor(options: MemoryJournalOptions = {}) {
    const o = parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid memory journal options');
    this.#clock = o.clock ?? systemClock;
    this.logger = o.logger ?? silentLogger;
    this.#inbox = o.inbox;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Keys holding any record (for tests). */
  get size(): number {
    return this.#keys.size;
  }

  /** Refuse further writes (reads still answer). Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }

  append(key: string, seq: number, event: unknown): Promise<unknown> {
    if (this.#closed) return Promise.reject(this.closedError());
    let bytes: Buffer;
    try {
      checkKey(key);
      bytes = encode({ v: RECORD_VERSION, seq, at: this.#clock.now(), event });
    } catch (cause) {
      throw this.writeError(`append ${JSON.stringify(key)} seq ${seq}`, cause);
    }
    this.#log(key).events.set(seq, bytes);
    this.#bump(key, seq);
    return this.#shared();
  }

  write(key: string, batch: JournalBatch): Promise<void> {
    if (this.#closed) return Promise.reject(this.closedError());
    const at = this.#clock.now();
    let events: Array<[number, Buffer]>;
    let snap: [number, Buffer] | undefined;
    try {
      checkKey(key);
      // everything encoded before anything changes: all or nothing
      events = batch.events.map((e) => [e.seq, encode({ v: RECORD_VERSION, seq: e.seq, at, event: e.event })]);
      snap = batch.snapshot ? [batch.snapshot.seq, encode({ v: RECORD_VERSION, seq: batch.snapshot.seq, at, state: batch.snapshot.state })] : undefined;
    } catch (cause) {
      throw this.writeError(`write ${JSON.stringify(key)}`, cause);
    }
    const log = this.#log(key);
    for (const [seq, bytes] of events) {
      log.events.set(seq, bytes);
      this.#bump(key, seq);
    }
    if (snap) {
      log.snapshots.set(snap[0], snap[1]);
      this.#bump(key, snap[0]);
    }
    for (const s of batch.deleteSnapshots ?? []) log.snapshots.delete(s);
    if (batch.deleteEventsTo !== undefined) {
      for (const s of [...log.events.keys()]) if (s <= batch.deleteEventsTo) log.events.delete(s);
    }
    if (batch.inboxDone !== undefined && this.#inbox) {
      const id = batch.inboxDone;
      return this.#inbox.done(id).then(undefined, (cause: unknown) => {
        throw this.writeError(`inbox done ${id.slice(0, 64)}`, cause);
      });
    }
    return Promise.resolve();
  }

  *replay(key: string, fromSeq: number, toSeq = Number.MAX_SAFE_INTEGER): Iterable<JournalRecord> {
    const log = this.#keys.get(key);
    if (!log) return;
    const seqs = [...log.events.keys()].filter((s) => s >= fromSeq && s <= toSeq).sort((a, b) => a - b);
    for (const seq of seqs) {
      const stored = log.events.get(seq);
      if (stored === undefined) continue; // deleted while the caller iterated
      const rec = parseRecord(journalRecordSchema, decode(stored, 'journal', key, seq), 'journal', key, seq);
      if (rec.seq !== seq) throw corruptRecord('journal', key, seq, `record says seq ${rec.seq}`);
      yield rec;
    }
  }

  highestSeq(key: string): number {
    return this.#keys.get(key)?.highest ?? 0;
  }

  lowestSeq(key: string): number | undefined {
    const log = this.#keys.get(key);
    if (!log || log.events.size === 0) return undefined;
    let low = Number.MAX_SAFE_INTEGER;
    for (const s of log.events.keys()) if (s < low) low = s;
    return low;
  }

  snapshotSeqs(key: string): number[] {
    const log = this.#keys.get(key);
    return log ? [...log.snapshots.keys()].sort((a, b) => a - b) : [];
  }

  loadSnapshot(key: string, seq: number): SnapshotRecord | undefined {
    const stored = this.#keys.get(key)?.snapshots.get(seq);
    if (stored === undefined) return undefined;
    const rec = parseRecord(snapshotRecordSchema, decode(stored, 'snapshots', key, seq), 'snapshots', key, seq);
    if (rec.seq !== seq) throw corruptRecord('snapshots', key, seq, `record says seq ${rec.seq}`);
    return rec;
  }

  deleteEventsTo(key: string, toSeq: number): Promise<void> {
    return this.write(key, { events: [], deleteEventsTo: toSeq });
  }

  purge(key: string): Promise<void> {
    if (this.#closed) return Promise.reject(this.closedError());
    this.#keys.delete(key);
    return Promise.resolve();
  }

  writeError(what: string, cause: unknown): TroupeError {
    if (cause instanceof TroupeError) return cause;
    return new TroupeError('TROUPE_ERR_STORAGE_WRITE', `memory journal ${what} failed: ${(cause as Error)?.message ?? String(cause)}`, {
      cause,
      details: { op: what },
    });
  }

  closedError(): TroupeError {
    return new TroupeError('TROUPE_ERR_STORAGE_CLOSED', 'memory journal is closed');
  }

  /**
   * Put raw bytes (or an encoded value) in place of whatever `key` holds at `seq` (tests only:
   * this is how the contract suite stores a corrupt record in either journal).
   */
  putRaw(db: 'journal' | 'snapshots', key: string, seq: number, value: unknown): void {
    const log = this.#log(key);
    (db === 'journal' ? log.events : log.snapshots).set(seq, Buffer.isBuffer(value) ? value : encode(value));
    this.#bump(key, seq);
  }

  #log(key: string): KeyLog {
    let log = this.#keys.get(key);
    if (!log) {
      log = { events: new Map(), snapshots: new Map(), highest: 0 };
      this.#keys.set(key, log);
    }
    return log;
  }

  #bump(key: string, seq: number): void {
    const log = this.#keys.get(key)!;
    if (seq > log.highest) log.highest = seq;
  }

  #shared(): Promise<void> {
    let c = this.#commit;
    if (c === undefined) {
      c = this.#commit = Promise.resolve();
      queueMicrotask(() => {
        if (this.#commit === c) this.#commit = undefined;
      });
    }
    return c;
  }
}
