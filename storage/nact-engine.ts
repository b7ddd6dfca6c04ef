import { createRequire } from 'node:module';
import type { Key } from 'lmdb';
import { z } from 'zod';
import { TroupeError, parseOrThrow } from '../protocol/index.js';
import type { NodeStore } from './node-store.js';
import {
  RECORD_VERSION, journalRecordSchema, parseRecord, readRecord, snapshotRecordSchema, undecodableRecord,
} from './records.js';
import { scanRange } from './scan.js';

/** A key the engine writes: `['nact', persistenceKey, seq]`. */
type NactKey = [prefix: string, key: string, seq: number];

/**
 * First element of every key the nact engine writes: nact keys are `['nact', key, seq]`,
 * three elements with a string second, so no `[key, seq]` range of a PersistentLog (a
 * number second) can reach them, and the other way round.
 */
export const NACT_KEY_PREFIX = 'nact';

const SEQ_MAX = Number.MAX_SAFE_INTEGER;

/** nact's persisted event, as its recovery reads it. */
export interface NactPersistedEvent {
  data: unknown;
  sequenceNumber: number;
  key: string;
  tags: string[];
  createdAt: number;
  isDeleted: boolean;
}

/** nact's persisted snapshot. */
export interface NactPersistedSnapshot {
  data: unknown;
  sequenceNumber: number;
  key: string;
  createdAt: number;
}

// nact ships no types for its persistence internals; declare the little we use.
interface NactPersistenceModule {
  AbstractPersistenceEngine: new () => object;
  PersistedEvent: new (data: unknown, sequenceNumber: number, key: string, tags?: string[], createdAt?: number, isDeleted?: boolean) => NactPersistedEvent;
  PersistedSnapshot: new (data: unknown, sequenceNumber: number, key: string, createdAt?: number) => NactPersistedSnapshot;
}

const nact = createRequire(import.meta.url)('nact/lib/persistence/index.js') as NactPersistenceModule;

const nactEventSchema = z.object({ data: z.unknown(), tags: z.array(z.string()), isDeleted: z.boolean().optional() });

const optionsSchema = z.strictObject({ keepSnapshots: z.number().int().min(1).max(100).default(2) });

/** Options for {@link LmdbPersistenceEngine}: `keepSnapshots` per key (default 2). */
export type LmdbPersistenceEngineOptions = z.input<typeof optionsSchema>;

/**
 * A nact persistence engine on the node's LMDB journal and snapshot databases, for actors
 * made with nact's own `spawnPersistent`. Records carry the same schema version and are
 * validated on read like PersistentLog's; keys are prefixed (see {@link NACT_KEY_PREFIX}).
 * The journal is never compacted here: nact's persistent queries may replay from 0.
 *
 * @example
 * const system = start(configurePersistence(new LmdbPersistenceEngine(store)));
 * spawnPersistent(system, handler, 'counter', 'counter', { snapshotEvery: 100 });
 */
export class LmdbPersistenceEngine extends nact.AbstractPersistenceEngine {
  private readonly store: NodeStore;
  private readonly keep: number;

  constructor(store: NodeStore, options: LmdbPersistenceEngineOptions = {}) {
    super();
    const o = parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid nact engine options');
    store.assertOpen();
    this.store = store;
    this.keep = o.keepSnapshots;
  }

  /**
   * Events of `persistenceKey` with sequence number above `offset`, oldest first: at most
   * `limit`, and only those carrying every tag in `tags`. Returned as an array, whose
   * `reduce` is what nact's recovery calls. Throws TROUPE_ERR_STORAGE_CORRUPT_RECORD on a
   * record that fails validation.
   */
  events(persistenceKey: string, offset = 0, limit?: number, tags?: string[]): NactPersistedEvent[] {
    this.store.assertOpen();
    const out: NactPersistedEvent[] = [];
    if (limit !== undefined && limit <= 0) return out;
    const label = `${NACT_KEY_PREFIX}:${persistenceKey}`;
    const range = { start: [NACT_KEY_PREFIX, persistenceKey, offset + 1], end: [NACT_KEY_PREFIX, persistenceKey, SEQ_MAX] };
    const undecodable = (key: Key, cause: unknown): never => {
      throw undecodableRecord('journal', label, (key as NactKey)[2], cause);
    };
    for (const { key, value } of scanRange(this.store.journal, range, undecodable)) {
      const seq = (key as NactKey)[2];
      const rec = parseRecord(journalRecordSchema, value, 'journal', label, seq);
      const ev = parseRecord(nactEventSchema, rec.event, 'journal', label, seq);
      if (tags && tags.length > 0 && !tags.every((t) => ev.tags.includes(t))) continue;
      out.push(new nact.PersistedEvent(ev.data, rec.seq, persistenceKey, ev.tags, rec.at, ev.isDeleted ?? false));
      if (limit !== undefined && out.length >= limit) break;
    }
    return out;
  }

  /** Commit one event; resolves after the commit (TROUPE_ERR_STORAGE_WRITE on failure). */
  persist(persistedEvent: NactPersistedEvent): Promise<void> {
    const { key, sequenceNumber: seq } = persistedEvent;
    const rec = {
      v: RECORD_VERSION,
      seq,
      at: persistedEvent.createdAt,
      event: { data: persistedEvent.data, tags: persistedEvent.tags, ...(persistedEvent.isDeleted ? { isDeleted: true } : {}) },
    };
    return this.store.put(this.store.journal, [NACT_KEY_PREFIX, key, seq], rec);
  }

  /**
   * The newest valid snapshot of `persistenceKey`, or undefined. A corrupt snapshot is
   * logged and an older one used: the journal is never compacted, so any older snapshot
   * (or none) still recovers the same state.
   */
  latestSnapshot(persistenceKey: string): Promise<NactPersistedSnapshot | undefined> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    const snapshots = this.store.snapshots;
    for (const k of snapshots.getKeys({ start: [NACT_KEY_PREFIX, persistenceKey, SEQ_MAX], end: [NACT_KEY_PREFIX, persistenceKey, 0], reverse: true })) {
      const seq = (k as NactKey)[2];
      try {
        const rec = readRecord(snapshots, k, snapshotRecordSchema, { db: 'snapshots', key: `${NACT_KEY_PREFIX}:${persistenceKey}` }, seq);
        if (rec !== undefined) return Promise.resolve(new nact.PersistedSnapshot(rec.state, rec.seq, persistenceKey, rec.at));
      } catch (e) {
        if (!(e instanceof TroupeError)) return Promise.reject(e);
        this.store.logger.error({ key: persistenceKey, seq, err: e }, 'skipped a corrupt nact snapshot');
      }
    }
    return Promise.resolve(undefined);
  }

  /** Commit a snapshot and drop all but the newest `keepSnapshots` of that key. */
  takeSnapshot(persistedSnapshot: NactPersistedSnapshot): Promise<void> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    const { key, sequenceNumber: seq } = persistedSnapshot;
    const snapshots = this.store.snapshots;
    const older: number[] = [];
    for (const k of snapshots.getKeys({ start: [NACT_KEY_PREFIX, key, 0], end: [NACT_KEY_PREFIX, key, seq] })) older.push((k as NactKey)[2]);
    const drop = older.slice(0, Math.max(0, older.length - (this.keep - 1)));
    const rec = { v: RECORD_VERSION, seq, at: persistedSnapshot.createdAt, state: persistedSnapshot.data };
    return this.store.batch(() => {
      snapshots.put([NACT_KEY_PREFIX, key, seq], rec);
      for (const s of drop) snapshots.remove([NACT_KEY_PREFIX, key, s]);
    });
  }
}
