import { asBinary, type Key } from 'lmdb';
import { z } from 'zod';
import { TroupeError, parseOrThrow } from '../protocol/index.js';
import { queueInboxDone, INBOX_ID_MAX_BYTES } from './inbox.js';
import type { NodeStore, StoreDb } from './node-store.js';
import {
  RECORD_VERSION, corruptRecord, journalRecordSchema, undecodableRecord, parseRecord, readRecord, snapshotRecordSchema, type JournalRecord,
} from './records.js';
import { scanRange } from './scan.js';

/** Longest persistence key, in UTF-8 bytes (LMDB keys are limited to ~2KB). */
export const PERSISTENCE_KEY_MAX_BYTES = 1024;

/** Highest sequence number usable in a key range. */
const SEQ_MAX = Number.MAX_SAFE_INTEGER;

const optionsSchema = z.strictObject({
  snapshotEvery: z.number().int().min(1).max(1_000_000_000).default(1000),
  keepSnapshots: z.number().int().min(1).max(100).default(2),
});

/**
 * How often a {@link PersistentLog} snapshots and how many snapshots it keeps.
 *
 * - `snapshotEvery` (default 1000): snapshot after this many events, then compact.
 * - `keepSnapshots` (default 2): snapshots kept; events after the oldest kept one are kept
 *   too, so a corrupt latest snapshot can be skipped. With 1 there is no such fallback.
 */
export type PersistenceOptions = z.input<typeof optionsSchema>;

/** What {@link PersistentLog.recover} returns. */
export interface Recovered<S> {
  /** State after the snapshot and every later event. */
  state: S;
  /** Sequence number of the last event folded into `state` (0 when there were none). */
  seq: number;
  /** How many events were applied on top of the snapshot. */
  replayed: number;
}

/**
 * The event-sourcing log of one persistent actor: a journal of events under
 * `[key, seq]` plus periodic snapshots, in the node's LMDB environment.
 *
 * `persist` is pipelined: it assigns the next sequence number at once and resolves after the
 * commit, so a caller can issue many without awaiting each; they commit, and resolve, in
 * order. Only one live log per key: a restarted actor reuses its log (or awaits
 * {@link PersistentLog.drain} of the old one before making a new one).
 *
 * @example
 * const log = new PersistentLog<number, { add: number }>(store, 'user/counter', { snapshotEvery: 500 });
 * let { state } = log.recover(0, (s, e) => s + e.add);
 * state += 2;
 * await log.persist({ add: 2 }, () => state);
 */
export class PersistentLog<S, E> {
  /** The persistence key (first element of every journal and snapshot key). */
  readonly key: string;
  private readonly store: NodeStore;
  private readonly journal: StoreDb;
  private readonly snapshots: StoreDb;
  private readonly every: number;
  private readonly keep: number;

  /** Last assigned sequence number (committed or in flight). */
  private last = 0;
  /** Lowest journal sequence number that may still exist; compaction deletes from here. */
  private low = 1;
  /** Sequence numbers of the snapshots on disk, ascending. */
  private snaps: number[] = [];
  /** Sequence number the snapshot schedule counts from. */
  private lastSnap = 0;
  /** Snapshots found corrupt by recover(): deleted with the next snapshot. */
  private corruptSnaps: number[] = [];
  /**
   * Events issued and not yet settled to their callers, oldest first from `head`: recover()
   * folds them in. They settle a commit group at a time, in order.
   */
  private inflight: E[] = [];
  private head = 0;
  /** The commit group the next persist may join. */
  private group?: CommitGroup;
  /** Settles after every persist issued so far (in order). */
  private tail: Promise<unknown> = Promise.resolve();
  /** Seq of the last persist resolved to its caller. */
  private delivered = 0;
  private readonly nextDelivered = (): number => ++this.delivered;
  private failed?: TroupeError;

  /** Sequence number of the last persisted (or in-flight) event. */
  get seq(): number {
    return this.last;
  }

  constructor(store: NodeStore, key: string, options: PersistenceOptions = {}) {
    const parsed = parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', `invalid persistence options for ${key}`);
    if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > PERSISTENCE_KEY_MAX_BYTES) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `persistence key must be a non-empty string of at most ${PERSISTENCE_KEY_MAX_BYTES} bytes`);
    }
    store.assertOpen();
    this.store = store;
    this.key = key;
    this.journal = store.journal;
    this.snapshots = store.snapshots;
    this.every = parsed.snapshotEvery;
    this.keep = parsed.keepSnapshots;
    this.scanHead();
  }

  /**
   * Rebuild the state: the latest valid snapshot, then every later event in order, then any
   * events still in flight. Synchronous. A journal record that fails validation throws
   * TROUPE_ERR_STORAGE_CORRUPT_RECORD naming key and seq; a corrupt snapshot is skipped
   * (logged) for an older one when the journal still covers the gap.
   *
   * The method's own type parameters default to the log's, so a `PersistentLog<unknown,
   * unknown>` also serves callers that are generic in the state type.
   *
   * @example
   * const { state, seq } = log.recover({ items: [] }, (s, e) => ({ items: [...s.items, e] }));
   */
  recover<RS = S, RE = E>(initial: RS, apply: (s: RS, e: RE) => RS): Recovered<RS> {
    this.store.assertOpen();
    const { lastOnDisk } = this.scanHead();
    const { base, state: baseState, firstError, corrupt } = this.pickBase<RS>(initial);
    // A corrupt snapshot must not count as kept, or compaction could cut the journal back to it.
    this.corruptSnaps = corrupt;
    this.snaps = this.snaps.filter((x) => !corrupt.includes(x));
    if (firstError) {
      this.store.logger.warn({ key: this.key, err: firstError, fallbackSeq: base }, 'skipped a corrupt snapshot; recovering from an older one');
    }
    let state = baseState;
    let seq = base;
    let replayed = 0;
    const range = { start: [this.key, base + 1], end: [this.key, SEQ_MAX] };
    const undecodable = (key: Key, cause: unknown): never => {
      throw undecodableRecord('journal', this.key, (key as [string, number])[1], cause);
    };
    for (const { key, value } of scanRange(this.journal, range, undecodable)) {
      const k = key as [string, number];
      const expected = seq + 1;
      if (k[1] !== expected) {
        throw corruptRecord('journal', this.key, expected, `missing; the journal jumps from seq ${seq} to ${k[1]}`);
      }
      const rec: JournalRecord = parseRecord(journalRecordSchema, value, 'journal', this.key, expected);
      if (rec.seq !== expected) throw corruptRecord('journal', this.key, expected, `record says seq ${rec.seq}`);
      state = apply(state, rec.event as RE);
      seq = expected;
      replayed++;
    }
    if (seq < lastOnDisk) {
      throw corruptRecord('journal', this.key, seq + 1, `missing; snapshots or events reach seq ${lastOnDisk}`);
    }
    // Events issued before this call and not yet settled: fold the ones the disk lacks.
    const firstInflight = this.last - (this.inflight.length - this.head) + 1;
    for (let i = this.head; i < this.inflight.length; i++) {
      const s = firstInflight + (i - this.head);
      if (s !== seq + 1) continue;
      state = apply(state, this.inflight[i] as unknown as RE);
      seq = s;
      replayed++;
    }
    this.lastSnap = base;
    if (this.head === this.inflight.length) {
      // Nothing in flight: the disk is the whole truth again. A failed commit's sequence
      // numbers are free again, and the failure is over.
      this.last = seq;
      this.failed = undefined;
      this.group = undefined;
      this.tail = Promise.resolve();
    } else {
      this.last = Math.max(seq, this.last);
    }
    return { state, seq, replayed };
  }

  /**
   * Append `event`; resolves with its sequence number once committed. Every `snapshotEvery`
   * events the same commit also stores a snapshot of `stateAfter()` and compacts. With
   * `extra.inboxDone`, the same commit marks that inbox entry done. Rejects with
   * TROUPE_ERR_STORAGE_WRITE (and the log refuses further events until the next
   * `recover`) or TROUPE_ERR_STORAGE_CLOSED.
   *
   * @example
   * const seq = await log.persist({ type: 'item.added', item }, () => state, { inboxDone: envelope.id });
   */
  persist(event: E, stateAfter: () => S, extra?: { inboxDone?: string }): Promise<number> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    if (this.failed) return Promise.reject(this.failed);
    const seq = this.last + 1;
    const rec: JournalRecord = { v: RECORD_VERSION, seq, at: this.store.clock.now(), event };
    let snapshot: { state: S } | undefined;
    if (seq - this.lastSnap >= this.every) {
      try {
        snapshot = { state: stateAfter() };
      } catch (e) {
        return Promise.reject(e); // the caller's bug, not a storage failure
      }
    }
    let written: Promise<unknown>;
    try {
      written = snapshot || extra?.inboxDone !== undefined
        ? this.persistAtomically(seq, rec, snapshot, extra?.inboxDone)
        : this.journal.put([this.key, seq], rec);
    } catch (cause) {
      // Nothing was queued (see persistAtomically), so the sequence number is not used up.
      return Promise.reject(this.store.writeError(`persist ${JSON.stringify(this.key)} seq ${seq}`, cause));
    }
    this.last = seq;
    this.inflight.push(event);
    // lmdb-js hands every plain put of one transaction the same commit promise; such persists
    // share a group, and so one `then` per transaction rather than per event.
    let g = this.group;
    if (!g || g.commit !== written) g = this.group = this.openGroup(written, seq);
    g.count++;
    // Callbacks on one promise run in the order they were added, and groups settle in
    // order, so a shared counter hands each caller its own seq without a closure per event.
    const result = g.ordered.then(this.nextDelivered);
    this.tail = result;
    return result;
  }

  /**
   * A commit group settles only after the group before it: lmdb-js commits in issue order
   * but may resolve a big event-turn batch's later transaction first. A failed commit fails
   * its group and every later one (their events may be on disk; recover() sorts that out).
   */
  private openGroup(commit: Promise<unknown>, firstSeq: number): CommitGroup {
    const g: CommitGroup = { commit, count: 0, ordered: undefined as unknown as Promise<void> };
    const prev = this.tail;
    g.ordered = Promise.all([prev, commit]).then(
      () => {
        this.delivered = firstSeq - 1;
        this.advance(g.count);
      },
      (cause: unknown) => {
        this.advance(g.count);
        const err = this.store.writeError(`commit of ${JSON.stringify(this.key)} from seq ${firstSeq}`, cause);
        // Refuse new events until recover(): later ones would leave a gap.
        this.failed ??= err;
        throw err;
      },
    );
    return g;
  }

  private advance(n: number): void {
    this.head += n;
    if (this.head === this.inflight.length) {
      this.inflight = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= this.inflight.length) {
      this.inflight = this.inflight.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Resolves when every persist issued so far has settled (committed or failed).
   *
   * @example
   * await oldLog.drain();
   */
  drain(): Promise<void> {
    return this.tail.then(
      () => undefined,
      () => undefined,
    );
  }

  /**
   * Delete every event and snapshot of this key, once the persists issued so far settled
   * (for an actor removed for good). The log must not be used afterwards.
   *
   * @example await log.purge();
   */
  async purge(): Promise<void> {
    await this.drain();
    const range = { start: [this.key], end: [this.key, SEQ_MAX] };
    const events = [...this.journal.getKeys(range)];
    const snaps = [...this.snapshots.getKeys(range)];
    await this.store.batch(() => {
      for (const k of events) void this.journal.remove(k);
      for (const k of snaps) void this.snapshots.remove(k);
    });
  }

  /** Snapshot (and maybe inbox) writes: one atomic batch, with every value encoded first. */
  private persistAtomically(seq: number, rec: JournalRecord, snapshot: { state: S } | undefined, inboxDone: string | undefined): Promise<unknown> {
    if (inboxDone !== undefined && Buffer.byteLength(inboxDone) > INBOX_ID_MAX_BYTES) {
      throw new Error(`inbox id over ${INBOX_ID_MAX_BYTES} bytes`);
    }
    // Encoding user data is what can throw; do it before the batch starts so a failure leaves
    // nothing half-written (lmdb-js commits whatever a batch callback wrote before it threw).
    const eventBytes = encodeFor(this.journal, rec);
    const snapBytes = snapshot ? encodeFor(this.snapshots, { v: RECORD_VERSION, seq, at: rec.at, state: snapshot.state }) : undefined;
    let kept = this.snaps;
    let pruned: number[] = [];
    let cutoff = 0;
    if (snapBytes) {
      const all = [...this.snaps, seq];
      pruned = all.slice(0, Math.max(0, all.length - this.keep));
      kept = all.slice(pruned.length);
      cutoff = kept[0]!;
      pruned.push(...this.corruptSnaps);
    }
    const key = this.key;
    const low = this.low;
    // Throws (to persist) only from the first put, before anything is queued: the journal
    // key is checked first, and the later keys are no longer than it or the inbox id check.
    const p = this.journal.batch(() => {
      this.journal.put([key, seq], asBinary(eventBytes));
      if (snapBytes) {
        this.snapshots.put([key, seq], asBinary(snapBytes));
        for (const s of pruned) this.snapshots.remove([key, s]);
        for (let s = low; s <= cutoff; s++) this.journal.remove([key, s]);
      }
      if (inboxDone !== undefined) queueInboxDone(this.store, inboxDone, rec.at);
    });
    if (snapBytes) {
      this.snaps = kept;
      this.corruptSnaps = [];
      this.lastSnap = seq;
      if (cutoff >= low) this.low = cutoff + 1;
    }
    return p;
  }

  /** Read what is on disk for this key: snapshot seqs, journal bounds. Keys only, no values. */
  private scanHead(): { lastOnDisk: number } {
    const range = { start: [this.key, 0], end: [this.key, SEQ_MAX] };
    this.snaps = [];
    for (const k of this.snapshots.getKeys(range)) this.snaps.push((k as [string, number])[1]);
    let first: number | undefined;
    let lastJournal = 0;
    for (const k of this.journal.getKeys({ ...range, limit: 1 })) first = (k as [string, number])[1];
    for (const k of this.journal.getKeys({ start: [this.key, SEQ_MAX], end: [this.key, 0], reverse: true, limit: 1 })) lastJournal = (k as [string, number])[1];
    const lastSnap = this.snaps.length > 0 ? this.snaps[this.snaps.length - 1]! : 0;
    const lastOnDisk = Math.max(lastJournal, lastSnap);
    this.low = first ?? lastOnDisk + 1;
    this.lastSnap = lastSnap;
    this.last = Math.max(this.last, lastOnDisk);
    return { lastOnDisk };
  }

  /** The newest snapshot that is valid and that the journal continues from. */
  private pickBase<RS>(initial: RS): { base: number; state: RS; firstError?: TroupeError; corrupt: number[] } {
    let firstError: TroupeError | undefined;
    const corrupt: number[] = [];
    const journalCovers = (b: number): boolean => this.low <= b + 1;
    for (let i = this.snaps.length - 1; i >= 0; i--) {
      const s = this.snaps[i]!;
      // An older snapshot only helps if the journal still holds every event after it.
      if (i < this.snaps.length - 1 && !journalCovers(s)) break;
      try {
        const rec = readRecord(this.snapshots, [this.key, s], snapshotRecordSchema, { db: 'snapshots', key: this.key }, s);
        if (rec === undefined) throw corruptRecord('snapshots', this.key, s, 'missing');
        if (rec.seq !== s) throw corruptRecord('snapshots', this.key, s, `record says seq ${rec.seq}`);
        return { base: s, state: rec.state as RS, firstError, corrupt };
      } catch (e) {
        if (!(e instanceof TroupeError)) throw e;
        firstError ??= e;
        corrupt.push(s);
        this.store.logger.error({ key: this.key, seq: s, err: e }, 'corrupt snapshot');
      }
    }
    if (journalCovers(0)) return { base: 0, state: initial, firstError, corrupt };
    throw firstError ?? corruptRecord('snapshots', this.key, this.low - 1, `no snapshot covers events up to seq ${this.low - 1}, which were compacted`);
  }
}

/** Persists that share one lmdb-js commit promise. */
interface CommitGroup {
  commit: Promise<unknown>;
  count: number;
  /** Settles after `commit` and after the previous group. */
  ordered: Promise<void>;
}

/** Encode with `db`'s own encoder into a private copy (lmdb-js may reuse its buffer). */
function encodeFor(db: StoreDb, value: unknown): Buffer {
  const encoder = (db as unknown as { encoder: { encode(v: unknown): Uint8Array } }).encoder;
  return Buffer.from(encoder.encode(value));
}
