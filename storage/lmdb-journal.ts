import { asBinary, type Key } from 'lmdb';
import type { Clock, TroupeError } from '../protocol/index.js';
import { queueInboxDone, INBOX_ID_MAX_BYTES } from './inbox.js';
import { checkKey, type Journal, type JournalBatch } from './journal.js';
import type { NodeStore, StoreDb } from './node-store.js';
import {
  RECORD_VERSION, corruptRecord, journalRecordSchema, parseRecord, readRecord, snapshotRecordSchema, undecodableRecord,
  type JournalRecord, type SnapshotRecord,
} from './records.js';
import { scanRange } from './scan.js';

/** Highest sequence number usable in a key range. */
const SEQ_MAX = Number.MAX_SAFE_INTEGER;

/** Key in the `state` db that remembers a key's highest seq once its last events are deleted. */
const HIGHEST = 'journal.highest';

/**
 * {@link Journal} in the node's LMDB environment: events in the `journal` db and snapshots in
 * `snapshots`, both keyed `[key, seq]`; the highest sequence number of a key whose last
 * events were deleted is kept in `state`. A plain append is one lmdb-js `put`, so appends of
 * one transaction share its commit promise; an atomic {@link LmdbJournal.write} encodes every
 * value before its batch starts, so a value that cannot be encoded leaves nothing written.
 *
 * @example
 * const journal = new LmdbJournal(store);
 * await journal.append('user/counter', 1, { type: 'added', n: 2 });
 */
export class LmdbJournal implements Journal {
  readonly #store: NodeStore;
  readonly #events: StoreDb;
  readonly #snapshots: StoreDb;
  readonly #clock: Pick<Clock, 'now'>;

  constructor(store: NodeStore) {
    store.assertOpen();
    this.#store = store;
    this.#events = store.journal;
    this.#snapshots = store.snapshots;
    this.#clock = store.clock;
  }

  get closed(): boolean {
    return this.#store.closed;
  }

  get logger(): NodeStore['logger'] {
    return this.#store.logger;
  }

  append(key: string, seq: number, event: unknown): Promise<unknown> {
    if (this.#store.closed) return Promise.reject(this.#store.closedError());
    const rec: JournalRecord = { v: RECORD_VERSION, seq, at: this.#clock.now(), event };
    try {
      return this.#events.put([key, seq], rec);
    } catch (cause) {
      throw this.writeError(`append ${JSON.stringify(key)} seq ${seq}`, cause);
    }
  }

  write(key: string, batch: JournalBatch): Promise<void> {
    const store = this.#store;
    if (store.closed) return Promise.reject(store.closedError());
    const what = `write ${JSON.stringify(key)}`;
    const at = this.#clock.now();
    let events: Array<[number, Buffer]>;
    let snap: [number, Buffer] | undefined;
    try {
      checkKey(key);
      if (batch.inboxDone !== undefined && Buffer.byteLength(batch.inboxDone) > INBOX_ID_MAX_BYTES) {
        throw new Error(`inbox id over ${INBOX_ID_MAX_BYTES} bytes`);
      }
      // Encoding user data is what can throw: done before the batch starts, because lmdb-js
      // commits whatever a batch callback wrote before it threw.
      events = batch.events.map((e) => [e.seq, encodeFor(this.#events, { v: RECORD_VERSION, seq: e.seq, at, event: e.event })]);
      snap = batch.snapshot ? [batch.snapshot.seq, encodeFor(this.#snapshots, { v: RECORD_VERSION, seq: batch.snapshot.seq, at, state: batch.snapshot.state })] : undefined;
    } catch (cause) {
      throw this.writeError(what, cause);
    }
    const deleteTo = batch.deleteEventsTo;
    let dropped: Key[] = [];
    let blind: [number, number] = [1, 0];
    let highest = 0;
    if (deleteTo !== undefined) {
      // Committed events are read; events appended and not yet committed cannot be, but they
      // follow the committed ones and precede this batch's own: removed by sequence number.
      dropped = [...this.#events.getKeys({ start: [key, 0], end: [key, deleteTo + 1] })];
      const committed = this.highestSeq(key);
      const batchMax = events.reduce((m, [s]) => Math.max(m, s), snap?.[0] ?? 0);
      blind = [committed + 1, Math.min(deleteTo, batchMax)];
      highest = Math.max(committed, batchMax);
    }
    return store.batch(() => {
      for (const [seq, bytes] of events) this.#events.put([key, seq], asBinary(bytes));
      if (snap) this.#snapshots.put([key, snap[0]], asBinary(snap[1]));
      for (const s of batch.deleteSnapshots ?? []) this.#snapshots.remove([key, s]);
      for (const k of dropped) this.#events.remove(k);
      for (let s = blind[0]; s <= blind[1]; s++) this.#events.remove([key, s]);
      if (deleteTo !== undefined) store.state.put([HIGHEST, key], { v: RECORD_VERSION, seq: highest });
      if (batch.inboxDone !== undefined) queueInboxDone(store, batch.inboxDone, at);
    });
  }

  *replay(key: string, fromSeq: number, toSeq = SEQ_MAX): Iterable<JournalRecord> {
    this.#store.assertOpen();
    const range = { start: [key, Math.max(0, fromSeq)], end: [key, toSeq + 1] };
    const undecodable = (k: Key, cause: unknown): never => {
      throw undecodableRecord('journal', key, (k as [string, number])[1], cause);
    };
    for (const { key: k, value } of scanRange(this.#events, range, undecodable)) {
      const seq = (k as [string, number])[1];
      const rec = parseRecord(journalRecordSchema, value, 'journal', key, seq);
      if (rec.seq !== seq) throw corruptRecord('journal', key, seq, `record says seq ${rec.seq}`);
      yield rec;
    }
  }

  highestSeq(key: string): number {
    this.#store.assertOpen();
    let last = 0;
    for (const k of this.#events.getKeys({ start: [key, SEQ_MAX], end: [key, 0], reverse: true, limit: 1 })) last = (k as [string, number])[1];
    for (const k of this.#snapshots.getKeys({ start: [key, SEQ_MAX], end: [key, 0], reverse: true, limit: 1 })) last = Math.max(last, (k as [string, number])[1]);
    const marker = safeGet(this.#store.state, [HIGHEST, key]) as { seq?: unknown } | undefined;
    return typeof marker?.seq === 'number' ? Math.max(last, marker.seq) : last;
  }

  startsFresh(key: string): boolean {
    this.#store.assertOpen();
    if (this.#events.doesExist([key, 1]) || safeGet(this.#store.state, [HIGHEST, key]) !== undefined) return false;
    for (const _ of this.#snapshots.getKeys({ start: [key, 0], end: [key, SEQ_MAX], limit: 1 })) return false;
    return true;
  }

  lowestSeq(key: string): number | undefined {
    this.#store.assertOpen();
    for (const k of this.#events.getKeys({ start: [key, 0], end: [key, SEQ_MAX], limit: 1 })) return (k as [string, number])[1];
    return undefined;
  }

  snapshotSeqs(key: string): number[] {
    this.#store.assertOpen();
    return [...this.#snapshots.getKeys({ start: [key, 0], end: [key, SEQ_MAX] })].map((k) => (k as [string, number])[1]);
  }

  loadSnapshot(key: string, seq: number): SnapshotRecord | undefined {
    this.#store.assertOpen();
    const rec = readRecord(this.#snapshots, [key, seq], snapshotRecordSchema, { db: 'snapshots', key }, seq);
    if (rec !== undefined && rec.seq !== seq) throw corruptRecord('snapshots', key, seq, `record says seq ${rec.seq}`);
    return rec;
  }

  deleteEventsTo(key: string, toSeq: number): Promise<void> {
    return this.write(key, { events: [], deleteEventsTo: toSeq });
  }

  purge(key: string): Promise<void> {
    const store = this.#store;
    if (store.closed) return Promise.reject(store.closedError());
    const range = { start: [key], end: [key, SEQ_MAX] };
    const events = [...this.#events.getKeys(range)];
    const snaps = [...this.#snapshots.getKeys(range)];
    return store.batch(() => {
      for (const k of events) this.#events.remove(k);
      for (const k of snaps) this.#snapshots.remove(k);
      store.state.remove([HIGHEST, key]);
    });
  }

  writeError(what: string, cause: unknown): TroupeError {
    return this.#store.writeError(what, cause);
  }

  closedError(): TroupeError {
    return this.#store.closedError();
  }
}

/** Encode with `db`'s own encoder into a private copy (lmdb-js may reuse its buffer). */
function encodeFor(db: StoreDb, value: unknown): Buffer {
  const encoder = (db as unknown as { encoder: { encode(v: unknown): Uint8Array } }).encoder;
  return Buffer.from(encoder.encode(value));
}

function safeGet(db: StoreDb, key: Key): unknown {
  try {
    return db.get(key);
  } catch {
    return undefined;
  }
}
