import { z } from 'zod';
import { TroupeError, describeIssues, encode, envelopeSchema, parseOrThrow, serializedErrorSchema, type Envelope, type SerializedError } from '../protocol/index.js';
import type { NodeStore, StoreDb } from './node-store.js';
import { RECORD_VERSION, readRecord } from './records.js';
import { scanRange } from './scan.js';

/** Default bound on stored dead letters; the oldest are dropped past it. */
export const DEFAULT_DEAD_LETTER_MAX = 10_000;
/** Default page size of {@link DeadLetterStore.list}. */
export const DEFAULT_DEAD_LETTER_PAGE = 100;

/** Why a message became a dead letter. */
export const deadLetterReasons = ['stopped', 'not-found', 'mailbox-full', 'poison', 'queue-full', 'expired', 'node-down', 'invalid'] as const;

/** Why a message became a dead letter. */
export type DeadLetterReason = (typeof deadLetterReasons)[number];

/**
 * A dead letter: the undeliverable envelope, why, and when.
 *
 * @example
 * deadLetterRecordSchema.parse({ id: newId(), at: Date.now(), reason: 'not-found', envelope });
 */
export const deadLetterRecordSchema = z.object({
  id: z.string().min(1).max(256),
  at: z.number(),
  reason: z.enum(deadLetterReasons),
  envelope: envelopeSchema,
  error: serializedErrorSchema.optional(),
  attempts: z.number().int().nonnegative().optional(),
});

/** A recorded dead letter. */
export interface DeadLetterRecord {
  id: string;
  at: number;
  reason: DeadLetterReason;
  envelope: Envelope;
  error?: SerializedError;
  attempts?: number;
}

/** Paging and filtering for {@link DeadLetterStore.list}. */
export interface DeadLetterQuery {
  /** Only this reason. */
  reason?: string;
  /** At most this many (default 100). */
  limit?: number;
  /** Only records added after the one with this id (a cursor: the last id of the previous page). */
  after?: string;
}

/**
 * Where dead letters are kept: {@link MemoryDeadLetterStore}, or {@link LmdbDeadLetterStore}
 * once the node has a data dir. Bounded: past the maximum the oldest is dropped. Oldest first.
 *
 * @example
 * await store.add({ id: newId(), at: clock.now(), reason: 'mailbox-full', envelope });
 * const page = store.list({ reason: 'mailbox-full', limit: 50 });
 */
export interface DeadLetterStore {
  /** Record one; an id already present is replaced and becomes the newest. Invalid records throw TROUPE_ERR_PROTOCOL_INVALID. */
  add(r: DeadLetterRecord): Promise<void> | void;
  /** Oldest first. An `after` id that is not stored throws TROUPE_ERR_DEAD_LETTER_NOT_FOUND. */
  list(opts?: DeadLetterQuery): DeadLetterRecord[];
  /** The record with this id, if stored. */
  get(id: string): DeadLetterRecord | undefined;
  /** Forget one (unknown ids are ignored). */
  remove(id: string): Promise<void> | void;
  /** How many are stored. */
  count(): number;
}

const optionsSchema = z.strictObject({
  maxCount: z.number().int().positive().default(DEFAULT_DEAD_LETTER_MAX),
});

/** Options for both dead letter stores: `maxCount` (default 10 000). */
export type DeadLetterStoreOptions = z.input<typeof optionsSchema>;

function parseOptions(options: DeadLetterStoreOptions): number {
  return parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid dead letter store options').maxCount;
}

/** Validate on the way in: a record that cannot be read back must never be written. */
function validateIncoming(r: DeadLetterRecord): DeadLetterRecord {
  return parseOrThrow(deadLetterRecordSchema, r, 'TROUPE_ERR_PROTOCOL_INVALID', 'invalid dead letter');
}

/**
 * A record whose payload msgpack cannot encode (a circular object, an out-of-range BigInt:
 * often why it is a dead letter at all) is kept with a note in place of the payload, so the
 * envelope, the reason and the error are not lost with it.
 */
function storable(r: DeadLetterRecord): DeadLetterRecord {
  try {
    encode(r.envelope.payload);
    return r;
  } catch (e) {
    return { ...r, envelope: { ...r.envelope, payload: { unencodable: ((e as Error)?.message ?? String(e)).slice(0, 200) } } };
  }
}

function pageSize(limit: number | undefined, max: number): number {
  return Math.max(0, Math.min(limit ?? DEFAULT_DEAD_LETTER_PAGE, max));
}

function unknownCursor(after: string): TroupeError {
  return new TroupeError('TROUPE_ERR_DEAD_LETTER_NOT_FOUND', `no dead letter ${after} to list after`, { details: { id: after } });
}

/**
 * In-memory {@link DeadLetterStore}: the twin of {@link LmdbDeadLetterStore}.
 *
 * @example
 * const dl = new MemoryDeadLetterStore({ maxCount: 1000 });
 */
export class MemoryDeadLetterStore implements DeadLetterStore {
  private readonly records = new Map<string, DeadLetterRecord>();
  private readonly max: number;

  constructor(options: DeadLetterStoreOptions = {}) {
    this.max = parseOptions(options);
  }

  add(r: DeadLetterRecord): void {
    const rec = validateIncoming(r);
    this.records.delete(rec.id);
    for (const id of this.records.keys()) {
      if (this.records.size < this.max) break;
      this.records.delete(id);
    }
    this.records.set(rec.id, rec);
  }

  list(opts: DeadLetterQuery = {}): DeadLetterRecord[] {
    const limit = pageSize(opts.limit, this.max);
    if (opts.after !== undefined && !this.records.has(opts.after)) throw unknownCursor(opts.after);
    const out: DeadLetterRecord[] = [];
    let open = opts.after === undefined;
    for (const r of this.records.values()) {
      if (out.length >= limit) break;
      if (!open) {
        open = r.id === opts.after;
        continue;
      }
      if (opts.reason === undefined || r.reason === opts.reason) out.push(r);
    }
    return out;
  }

  get(id: string): DeadLetterRecord | undefined {
    return this.records.get(id);
  }

  remove(id: string): void {
    this.records.delete(id);
  }

  count(): number {
    return this.records.size;
  }
}

const storedSchema = deadLetterRecordSchema.extend({ v: z.literal(RECORD_VERSION) });

/**
 * {@link DeadLetterStore} on LMDB: records under `[n, id]` in the `deadLetters` db (`n` an
 * insertion counter recovered on open), plus an in-memory id index rebuilt from the keys.
 * Records are validated on read: `get` throws TROUPE_ERR_STORAGE_CORRUPT_RECORD, `list`
 * skips and logs. Make one per store.
 *
 * @example
 * const dl = new LmdbDeadLetterStore(store);
 * await dl.add({ id, at, reason: 'poison', envelope, error, attempts: 3 });
 */
export class LmdbDeadLetterStore implements DeadLetterStore {
  private readonly store: NodeStore;
  private readonly db: StoreDb;
  private readonly max: number;
  /** id -> n, oldest first (Map order). */
  private readonly index = new Map<string, number>();
  private counter = 0;

  constructor(store: NodeStore, options: DeadLetterStoreOptions = {}) {
    this.max = parseOptions(options);
    store.assertOpen();
    this.store = store;
    this.db = store.deadLetters;
    for (const k of this.db.getKeys({})) {
      const key = k as [number, string];
      if (!Array.isArray(key) || typeof key[0] !== 'number' || typeof key[1] !== 'string') {
        store.logger.error({ db: 'deadLetters', key }, 'skipped a dead letter key of the wrong shape');
        continue;
      }
      this.index.delete(key[1]);
      this.index.set(key[1], key[0]);
      this.counter = Math.max(this.counter, key[0] + 1);
    }
  }

  add(r: DeadLetterRecord): Promise<void> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    let rec: DeadLetterRecord;
    try {
      rec = storable(validateIncoming(r));
    } catch (e) {
      return Promise.reject(e);
    }
    const n = this.counter;
    const prev = this.index.get(rec.id);
    const drop: Array<[number, string]> = [];
    let size = this.index.size - (prev === undefined ? 0 : 1);
    for (const [id, m] of this.index) {
      if (size < this.max) break;
      if (id === rec.id) continue;
      drop.push([m, id]);
      size--;
    }
    const written = this.store.write(
      () =>
        this.db.batch(() => {
          this.db.put([n, rec.id], { ...rec, v: RECORD_VERSION }); // first: a rejected key queues nothing
          if (prev !== undefined) this.db.remove([prev, rec.id]);
          for (const k of drop) this.db.remove(k);
        }),
      'dead letter add',
    );
    this.counter++;
    this.index.delete(rec.id);
    for (const [, id] of drop) this.index.delete(id);
    this.index.set(rec.id, n);
    if (drop.length > 0) this.store.logger.debug({ dropped: drop.length, max: this.max }, 'dropped the oldest dead letters');
    return written.then(
      () => undefined,
      (e: unknown) => {
        // Nothing of the batch committed: put the index back as it was, order aside.
        if (this.index.get(rec.id) === n) this.index.delete(rec.id);
        if (prev !== undefined) this.index.set(rec.id, prev);
        for (const [m, id] of drop) if (!this.index.has(id)) this.index.set(id, m);
        throw e;
      },
    );
  }

  list(opts: DeadLetterQuery = {}): DeadLetterRecord[] {
    this.store.assertOpen();
    const limit = pageSize(opts.limit, this.max);
    let start: [number] | undefined;
    if (opts.after !== undefined) {
      const n = this.index.get(opts.after);
      if (n === undefined) throw unknownCursor(opts.after);
      start = [n + 1];
    }
    const out: DeadLetterRecord[] = [];
    if (limit === 0) return out;
    const range = start ? { start } : {};
    for (const { key, value } of scanRange(this.db, range, (k, err) => this.store.logger.error({ db: 'deadLetters', key: k, err }, 'skipped an undecodable dead letter'))) {
      const [n, id] = key as [number, string];
      if (this.index.get(id) !== n) continue; // removed or replaced, commit pending
      const r = storedSchema.safeParse(value);
      if (!r.success) {
        this.store.logger.error({ db: 'deadLetters', key, why: describeIssues(r.error) }, 'skipped a corrupt dead letter');
        continue;
      }
      if (opts.reason !== undefined && r.data.reason !== opts.reason) continue;
      out.push(strip(r.data));
      if (out.length >= limit) break;
    }
    return out;
  }

  get(id: string): DeadLetterRecord | undefined {
    this.store.assertOpen();
    const n = this.index.get(id);
    if (n === undefined) return undefined;
    const rec = readRecord(this.db, [n, id], storedSchema, { db: 'deadLetters', key: id }, n);
    return rec === undefined ? undefined : strip(rec); // undefined: added, commit pending
  }

  remove(id: string): Promise<void> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    const n = this.index.get(id);
    if (n === undefined) return Promise.resolve();
    this.index.delete(id);
    return this.store.write(() => this.db.remove([n, id]), 'dead letter remove').then(
      () => undefined,
      (e: unknown) => {
        if (!this.index.has(id)) this.index.set(id, n);
        throw e;
      },
    );
  }

  count(): number {
    return this.index.size;
  }
}

function strip(r: z.output<typeof storedSchema>): DeadLetterRecord {
  const { v: _v, ...rec } = r;
  return rec;
}
