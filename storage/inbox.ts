import { z } from 'zod';
import { TroupeError, describeIssues, parseOrThrow, systemClock, type Clock } from '../protocol/index.js';
import type { Key } from 'lmdb';
import { clockOptionSchema, type NodeStore, type StoreDb } from './node-store.js';
import { RECORD_VERSION } from './records.js';
import { scanRange } from './scan.js';

/** Longest inbox id accepted, in UTF-8 bytes (LMDB keys are limited to ~2KB). */
export const INBOX_ID_MAX_BYTES = 1024;

/** Default bound on done ids one {@link InboxStore.prune} call forgets. */
export const DEFAULT_INBOX_PRUNE_PER_PASS = 10_000;

/**
 * The receiver's side of durable delivery: an id is put (committed) before it is
 * acknowledged and handed to the node, and kept after `done` so that a re-sent copy is
 * recognised as a duplicate until pruned.
 *
 * @example
 * const stored = await inbox.put(id, bytes); // false: a duplicate
 * ack(id);
 * if (stored) deliver();
 */
export interface InboxStore {
  /** True when `id` was put and not yet pruned (pending, done, or its put still committing). */
  has(id: string): boolean;
  /**
   * Commit `bytes` under `id` as pending. Resolves `true` once durable, or `false` when the
   * id was already seen (left as it is; a copy arriving while the first put commits resolves
   * after that put, and rejects if it fails).
   */
  put(id: string, bytes: Uint8Array): Promise<boolean>;
  /** Mark `id` processed: no longer pending, still deduplicated. Unknown or done ids are ignored. */
  done(id: string): Promise<void>;
  /** Entries put and not yet done, oldest first (re-delivered when the node starts). */
  pending(): Array<{ id: string; bytes: Uint8Array }>;
  /**
   * Forget done ids whose `done` is at least `olderThanMs` old, at most `prunePerPass` of
   * them (the rest go on the next call); resolves with how many.
   */
  prune(olderThanMs: number): Promise<number>;
}

const optionsSchema = z.strictObject({
  clock: clockOptionSchema,
  prunePerPass: z.number().int().positive().default(DEFAULT_INBOX_PRUNE_PER_PASS),
});

/**
 * Options for both inbox implementations: `clock` for done times and prune cutoffs (default:
 * the store's clock, or wall clock); `prunePerPass` (default 10 000) bounds each prune.
 */
export type InboxOptions = z.input<typeof optionsSchema>;

function parseOptions(options: InboxOptions): z.output<typeof optionsSchema> {
  return parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid inbox options');
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
  private readonly prunePerPass: number;

  constructor(options: InboxOptions = {}) {
    const o = parseOptions(options);
    this.clock = o.clock ?? systemClock;
    this.prunePerPass = o.prunePerPass;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  put(id: string, bytes: Uint8Array): Promise<boolean> {
    if (this.entries.has(id)) return Promise.resolve(false);
    this.entries.set(id, { bytes: Uint8Array.prototype.slice.call(bytes), doneAt: undefined });
    return Promise.resolve(true);
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
      if (n >= this.prunePerPass) break;
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

/** An `inbox.doneAt` key: `[doneAt, id]`. */
type DoneAtKey = [doneAt: number, id: string];

function isDoneAtKey(k: unknown): k is DoneAtKey {
  return Array.isArray(k) && k.length === 2 && typeof k[0] === 'number' && typeof k[1] === 'string';
}

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
  private readonly prunePerPass: number;
  private readonly inbox: StoreDb;
  private readonly doneDb: StoreDb;
  private readonly doneAtDb: StoreDb;
  /** Puts issued but not committed, by id: already "seen" for has(), and what a copy waits for. */
  private readonly putting = new Map<string, Promise<boolean>>();
  /**
   * Insertion counter for pending(). Recovered from the pending entries by whichever comes
   * first, pending() (at start, to re-deliver) or put(), so that start reads them once.
   */
  private counter: number | undefined;

  constructor(store: NodeStore, options: InboxOptions = {}) {
    const o = parseOptions(options);
    store.assertOpen();
    this.store = store;
    this.clock = o.clock ?? store.clock;
    this.prunePerPass = o.prunePerPass;
    this.inbox = store.inbox;
    this.doneDb = store.inboxDone;
    this.doneAtDb = store.inboxDoneAt;
  }

  has(id: string): boolean {
    this.store.assertOpen();
    return this.putting.has(id) || this.inbox.doesExist(id) || this.doneDb.doesExist(id);
  }

  put(id: string, bytes: Uint8Array): Promise<boolean> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    if (Buffer.byteLength(id) > INBOX_ID_MAX_BYTES) {
      return Promise.reject(new TroupeError('TROUPE_ERR_STORAGE_WRITE', `inbox id over ${INBOX_ID_MAX_BYTES} bytes`, { details: { id: id.slice(0, 64) } }));
    }
    const inFlight = this.putting.get(id);
    if (inFlight) return inFlight.then(() => false);
    if (this.inbox.doesExist(id) || this.doneDb.doesExist(id)) return Promise.resolve(false);
    if (this.counter === undefined) this.readPending();
    const rec = { v: RECORD_VERSION, n: this.counter!++, at: this.clock.now(), bytes };
    const written = this.store.write(() => this.inbox.put(id, rec), 'inbox put').then(
      () => {
        this.putting.delete(id);
        return true;
      },
      (e: unknown) => {
        this.putting.delete(id);
        throw e;
      },
    );
    this.putting.set(id, written);
    return written;
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
    const stale: DoneAtKey[] = [];
    const malformed: unknown[] = [];
    for (const k of this.doneAtDb.getKeys({})) {
      if (stale.length + malformed.length >= this.prunePerPass) break;
      if (!isDoneAtKey(k)) {
        // Not ours to interpret, but left in place it would sit in the way of every pass.
        malformed.push(k);
        continue;
      }
      if (k[0] > cutoff) break;
      stale.push(k);
    }
    if (malformed.length > 0) this.store.logger.error({ db: 'inbox.doneAt', count: malformed.length, key: malformed[0] }, 'removing malformed inbox prune index keys');
    if (stale.length === 0 && malformed.length === 0) return Promise.resolve(0);
    let n = 0;
    return this.store
      .write(
        () =>
          this.inbox.batch(() => {
            for (const k of malformed) this.doneAtDb.remove(k as Key);
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

  /** Every valid pending entry, unordered; recovers the insertion counter on first use. */
  private readPending(): Array<{ id: string; n: number; bytes: Uint8Array }> {
    const out: Array<{ id: string; n: number; bytes: Uint8Array }> = [];
    const skipped = (key: unknown, err: unknown): void => this.store.logger.error({ db: 'inbox', key, err }, 'skipped an undecodable inbox record');
    let next = 0;
    for (const { key, value } of scanRange(this.inbox, {}, skipped)) {
      const r = pendingSchema.safeParse(value);
      if (!r.success || typeof key !== 'string') {
        this.store.logger.error({ db: 'inbox', key, why: r.success ? 'key is not a string' : describeIssues(r.error) }, 'skipped a corrupt inbox record');
        continue;
      }
      next = Math.max(next, r.data.n + 1);
      out.push({ id: key, n: r.data.n, bytes: r.data.bytes });
    }
    this.counter ??= next;
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
  const doneDb = store.inboxDone;
  if (doneDb.doesExist(id)) return;
  // Longest key first: if LMDB rejects a key, it rejects this one before anything is queued.
  store.inboxDoneAt.put([doneAt, id], true);
  doneDb.put(id, { v: RECORD_VERSION, doneAt });
  store.inbox.remove(id);
}
