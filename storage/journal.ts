import { TroupeError } from '../protocol/index.js';
import type { JournalRecord, SnapshotRecord } from './records.js';

/** Longest persistence key, in UTF-8 bytes (LMDB keys are limited to ~2KB). */
export const PERSISTENCE_KEY_MAX_BYTES = 1024;

/**
 * What one atomic {@link Journal.write} does: append events and, in the same commit, store a
 * snapshot, delete older snapshots and events, and mark a durable inbox entry done. Either
 * all of it commits or none of it does.
 *
 * @example
 * await journal.write('user/cart', { events: [{ seq: 1000, event }], snapshot: { seq: 1000, state }, deleteEventsTo: 500 });
 */
export interface JournalBatch {
  /** Events to append, in ascending sequence order. */
  events: ReadonlyArray<{ seq: number; event: unknown }>;
  /** The state right after event `seq`. */
  snapshot?: { seq: number; state: unknown };
  /** Sequence numbers of snapshots to delete. */
  deleteSnapshots?: readonly number[];
  /** Delete every event with a sequence number up to and including this one. */
  deleteEventsTo?: number;
  /** Mark this durable inbox entry done (processed) in the same commit. */
  inboxDone?: string;
}

/**
 * The journal of persistent actors: events under `(key, seq)`, snapshots under the same, one
 * store per node. Implementations: `LmdbJournal` (durable) and `MemoryJournal` (its twin,
 * not durable); both pass the contract suite in test/storage/journal-contract.ts, modelled
 * on Pekko's JournalSpec. Reads are synchronous (an actor recovers before its first
 * message); writes resolve once committed. Every record read back is validated and
 * schema-versioned: a bad one throws TROUPE_ERR_STORAGE_CORRUPT_RECORD naming key and seq.
 *
 * Sequence numbers are the caller's (a `PersistentLog` assigns them): the journal stores what
 * it is given, and {@link Journal.highestSeq} never goes back, even after deletions.
 *
 * @example
 * const journal = new MemoryJournal();
 * await journal.append('user/counter', 1, { type: 'added', n: 2 });
 * for (const rec of journal.replay('user/counter', 1)) state = apply(state, rec.event);
 */
export interface Journal {
  /** True once closed: writes reject with TROUPE_ERR_STORAGE_CLOSED. */
  readonly closed: boolean;
  /**
   * Append one event at `seq`. Returns the commit: appends issued together may share one
   * promise object, so a caller can wait once per commit rather than once per event (the
   * persist throughput depends on it). A value that cannot be stored throws at once, with
   * nothing written; a failed commit rejects with the backend's cause: map it with
   * {@link Journal.writeError}.
   */
  append(key: string, seq: number, event: unknown): Promise<unknown>;
  /**
   * One atomic commit of `batch` (see {@link JournalBatch}). What cannot be stored (a value
   * that cannot be encoded, a key or inbox id too long) throws TROUPE_ERR_STORAGE_WRITE at
   * once, with nothing written; a failed commit rejects with TROUPE_ERR_STORAGE_WRITE, a
   * closed journal with TROUPE_ERR_STORAGE_CLOSED.
   */
  write(key: string, batch: JournalBatch): Promise<void>;
  /**
   * Events of `key` from `fromSeq` to `toSeq` (inclusive; default: the last), ascending,
   * validated. A corrupt record throws when the iteration reaches it.
   */
  replay(key: string, fromSeq: number, toSeq?: number): Iterable<JournalRecord>;
  /** Highest sequence number ever written for `key` (events or snapshots); 0 for none. Never decreases until purge. */
  highestSeq(key: string): number;
  /** Lowest event sequence number still stored for `key`, or undefined when no event is. */
  lowestSeq(key: string): number | undefined;
  /**
   * Optional: true when `key` has no event at seq 1, no snapshot and no highest-seq marker,
   * by point lookups (no range scan). A log that writes from seq 1 (a PersistentLog, whose
   * first event goes only with a compaction, which leaves the marker) then holds nothing.
   */
  startsFresh?(key: string): boolean;
  /** Sequence numbers of `key`'s snapshots, ascending (keys only: nothing is decoded). */
  snapshotSeqs(key: string): number[];
  /** The snapshot of `key` at `seq` (validated), or undefined when there is none. */
  loadSnapshot(key: string, seq: number): SnapshotRecord | undefined;
  /** Delete every event of `key` up to and including `toSeq`; {@link Journal.highestSeq} is unchanged. */
  deleteEventsTo(key: string, toSeq: number): Promise<void>;
  /** Delete every event and snapshot of `key`, and forget its highest sequence number. */
  purge(key: string): Promise<void>;
  /** The coded TROUPE_ERR_STORAGE_WRITE error for a failed commit (`cause`: the backend's error). */
  writeError(what: string, cause: unknown): TroupeError;
  /** The TROUPE_ERR_STORAGE_CLOSED error of this journal. */
  closedError(): TroupeError;
  /** Where problems found while reading (a skipped corrupt snapshot) are logged. */
  readonly logger: { warn(obj: object, msg?: string): void; error(obj: object, msg?: string): void };
}

/**
 * Throws TROUPE_ERR_CONFIG_INVALID for a persistence key no journal could hold (LMDB keys are
 * limited to ~2KB; both journals refuse the same keys).
 *
 * @example checkKey('user/counter');
 */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0 || Buffer.byteLength(key) > PERSISTENCE_KEY_MAX_BYTES) {
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `persistence key must be a non-empty string of at most ${PERSISTENCE_KEY_MAX_BYTES} bytes`);
  }
}
