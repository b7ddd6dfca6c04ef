import { z } from 'zod';
import { TroupeError, systemClock, type Clock } from '../protocol/index.js';
import type { NodeStore, StoreDb } from './node-store.js';
import { RECORD_VERSION, describeIssues } from './records.js';
import { scanRange } from './scan.js';

/** Longest inbox id accepted, in UTF-8 bytes (LMDB keys are limited to ~2KB). */
export const INBOX_ID_MAX_BYTES = 1024;

/**
 * The receiver's side of durable delivery: an id is put (committed) before it is
 * acknowledged and handed to the node, and kept after `done` so that a re-sent copy is
 * recognised as a duplicate until pruned.
 *
 * @example
 * if (!inbox.has(id)) { await inbox.put(id, bytes); ack(id); deliver(); }
 */
export interface InboxStore {
  /** True when `id` was put and not yet pruned (pending or done). */
  has(id: string): boolean;
  /** Commit `bytes` under `id` as pending; resolves once durable. An id already seen is left as it is. */
  put(id: string, bytes: Uint8Array): Promise<void>;
  /** Mark `id` processed: no longer pending, still deduplicated. Unknown or done ids are ignored. */
  done(id: string): Promise<void>;
  /** Entries put and not yet done, oldest first (re-delivered when the node starts). */
  pending(): Array<{ id: string; bytes: Uint8Array }>;
  /** Forget done ids whose `done` is at least `olderThanMs` old; resolves with how many. */
  prune(olderThanMs: number): Promise<number>;
}

/** Options shared by both inbox implementations. */
export interface InboxOptions {
  /** Clock for done times and prune cutoffs (default: the store's clock, or wall clock). */
  clock?: Pick<Clock, 'now'>;
}

interface MemoryEntry {
  bytes: Uint8Array | undefined;
  doneAt: number | undefined;
}

/**
 * In-memory {@link InboxStore}: the twin of {@link LmdbInboxStore} for tests and nodes with
 * no data dir. Done entries drop their bytes and keep only the id.
 *
 * @example
 * const inbox = new MemoryInboxStore();
 * await inbox.put('m1', bytes); inbox.has('m1'); // true
 */
export class MemoryInboxStore implements InboxStore {
  private readonly entries = new Map<string, MemoryEntry>();
  private readonly clock: Pick<Clock, 'now'>;

  constructor(options: InboxOptions = {}) {
    this.clock = options.clock ?? systemClock;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  put(id: string, bytes: Uint8Array): Promise<void> {
    if (!this.entries.has(id)) this.entries.set(id, { bytes: Uint8Array.prototype.slice.call(bytes), doneAt: undefined });
    return Promise.resolve();
  }

  done(id: string): Promise<void> {
    const e = this.entries.get(id);
    if (e && e.doneAt === undefined) {
      e.doneAt = this.clock.now();
      e.bytes = undefined;
    }
    return Promise.resolve();
  }

  pending(): Array<{ id: string; bytes: Uint8Array }> {
    const out: Array<{ id: string; bytes: Uint8Array }> = [];
    for (const [id, e] of this.entries) if (e.doneAt === undefined && e.bytes) out.push({ id, bytes: e.bytes });
    return out;
  }

  prune(olderThanMs: number): Promise<number> {
    const cutoff = this.clock.now() - olderThanMs;
    let n = 0;
    for (const [id, e] of this.entries) {
      if (e.doneAt !== undefined && e.doneAt <= cutoff) {
        this.entries.delete(id);
        n++;
      }
    }
    return Promise.resolve(n);
  }
}

const pendingSchema = z.object({ v: z.literal(RECORD_VERSION), n: z.number().int().nonnegative(), at: z.number(), bytes: z.instanceof(Uint8Array) });
const doneSchema = z.object({ v: z.literal(RECORD_VERSION), doneAt: z.number() });

/**
 * {@link InboxStore} on LMDB. Pending entries live in `inbox` (id -> bytes), done ids in
 * `inbox.done`, and `inbox.doneAt` orders them by done time for pruning. Make one per
 * store. `PersistentLog.persist(..., { inboxDone })` marks entries done in the event's own
 * commit through the same databases.
 *
 * @example
 * const inbox = new LmdbInboxStore(store);
 * for (const { id, bytes } of inbox.pending()) redeliver(id, bytes);
 */
export class LmdbInboxStore implements InboxStore {
  private readonly store: NodeStore;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly inbox: StoreDb;
  private readonly doneDb: StoreDb;
  private readonly doneAtDb: StoreDb;
  /** Puts issued but not committed: already "seen" for has(). */
  private readonly putting = new Set<string>();
  /** Insertion counter for pending(): recovered on open. */
  private counter = 0;

  constructor(store: NodeStore, options: InboxOptions = {}) {
    store.assertOpen();
    this.store = store;
    this.clock = options.clock ?? store.clock;
    this.inbox = store.inbox;
    this.doneDb = store.db('inbox.done');
    this.doneAtDb = store.db('inbox.doneAt');
    for (const e of this.readPending()) this.counter = Math.max(this.counter, e.n + 1);
  }

  has(id: string): boolean {
    this.store.assertOpen();
    return this.putting.has(id) || this.inbox.doesExist(id) || this.doneDb.doesExist(id);
  }

  put(id: string, bytes: Uint8Array): Promise<void> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    if (Buffer.byteLength(id) > INBOX_ID_MAX_BYTES) {
      return Promise.reject(new TroupeError('TROUPE_ERR_STORAGE_WRITE', `inbox id over ${INBOX_ID_MAX_BYTES} bytes`, { details: { id: id.slice(0, 64) } }));
    }
    if (this.has(id)) return Promise.resolve();
    this.putting.add(id);
    const rec = { v: RECORD_VERSION, n: this.counter++, at: this.clock.now(), bytes };
    return this.store.write(() => this.inbox.put(id, rec), 'inbox put').then(
      () => {
        this.putting.delete(id);
      },
      (e: unknown) => {
        this.putting.delete(id);
        throw e;
      },
    );
  }

  done(id: string): Promise<void> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    if (!this.putting.has(id) && !this.inbox.doesExist(id)) return Promise.resolve();
    const at = this.clock.now();
    return this.store.write(() => this.inbox.batch(() => queueInboxDone(this.store, id, at)), 'inbox done').then(() => undefined);
  }

  pending(): Array<{ id: string; bytes: Uint8Array }> {
    this.store.assertOpen();
    return this.readPending()
      .sort((a, b) => a.n - b.n)
      .map(({ id, bytes }) => ({ id, bytes }));
  }

  prune(olderThanMs: number): Promise<number> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    const cutoff = this.clock.now() - olderThanMs;
    const stale: Array<[number, string]> = [];
    for (const k of this.doneAtDb.getKeys({})) {
      const key = k as [number, string];
      if (!Array.isArray(key) || typeof key[0] !== 'number' || key[0] > cutoff) break;
      stale.push(key);
    }
    if (stale.length === 0) return Promise.resolve(0);
    let n = 0;
    return this.store
      .write(
        () =>
          this.inbox.batch(() => {
            for (const [doneAt, id] of stale) {
              const rec = doneSchema.safeParse(safeGet(this.doneDb, id));
              // A later done() of the same id re-indexed it; only the matching index entry owns it.
              if (!rec.success || rec.data.doneAt === doneAt) {
                this.doneDb.remove(id);
                n++;
              }
              this.doneAtDb.remove([doneAt, id]);
            }
          }),
        'inbox prune',
      )
      .then(() => n);
  }

  private readPending(): Array<{ id: string; n: number; bytes: Uint8Array }> {
    const out: Array<{ id: string; n: number; bytes: Uint8Array }> = [];
    const skipped = (key: unknown, err: unknown): void => this.store.logger.error({ db: 'inbox', key, err }, 'skipped an undecodable inbox record');
    for (const { key, value } of scanRange(this.inbox, {}, skipped)) {
      const r = pendingSchema.safeParse(value);
      if (!r.success || typeof key !== 'string') {
        this.store.logger.error({ db: 'inbox', key, why: r.success ? 'key is not a string' : describeIssues(r.error) }, 'skipped a corrupt inbox record');
        continue;
      }
      out.push({ id: key, n: r.data.n, bytes: r.data.bytes });
    }
    return out;
  }
}

function safeGet(db: StoreDb, key: string): unknown {
  try {
    return db.get(key);
  } catch {
    return undefined;
  }
}

/**
 * Queue the writes that mark inbox entry `id` done, inside the caller's batch (so they commit
 * with whatever else the batch writes). An id already done is left alone. For storage
 * internals (`LmdbInboxStore.done`, `PersistentLog.persist`).
 */
export function queueInboxDone(store: NodeStore, id: string, doneAt: number): void {
  const doneDb = store.db('inbox.done');
  if (doneDb.doesExist(id)) return;
  // Longest key first: if LMDB rejects a key, it rejects this one before anything is queued.
  store.db('inbox.doneAt').put([doneAt, id], true);
  doneDb.put(id, { v: RECORD_VERSION, doneAt });
  store.inbox.remove(id);
}
