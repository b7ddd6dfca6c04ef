import { z } from 'zod';
import { TroupeError, describeIssues, parseOrThrow, systemClock, type Clock } from '../protocol/index.js';
import { clockOptionSchema, type NodeStore, type StoreDb } from './node-store.js';
import { RECORD_VERSION } from './records.js';
import { scanRange } from './scan.js';

/** Default bound on unacknowledged entries per peer. */
export const DEFAULT_OUTBOX_MAX_PER_PEER = 100_000;

/**
 * The sender's side of durable delivery: entries committed here are re-sent until the
 * receiver acknowledges them.
 *
 * @example
 * await outbox.add('node-b', env.id, encodeEnvelope(env)); // committed: survives a restart
 */
export interface OutboxStore {
  /**
   * Commit `bytes` for `peer` under `id`; resolves once durable. Re-adding an id replaces
   * its bytes (and moves it to the end of `peer`'s queue if it was queued for another peer).
   * Rejects with TROUPE_ERR_STORAGE_FULL when `peer` already has the maximum pending.
   */
  add(peer: string, id: string, bytes: Uint8Array): Promise<void>;
  /** Forget `id` (the receiver persisted it). Unknown ids are ignored. */
  ack(id: string): Promise<void>;
  /**
   * Entries for `peer` not yet acknowledged, in insertion order: the oldest `limit` of them
   * (default: all, at most `maxPerPeer`). Reads cost their bytes, so a sender reads a page
   * at a time.
   */
  pending(peer: string, options?: PendingOptions): Array<{ id: string; bytes: Uint8Array }>;
  /** Number of unacknowledged entries, for one peer or all. */
  size(peer?: string): number;
}

/** Paging of {@link OutboxStore.pending}. */
export interface PendingOptions {
  /** At most this many entries (the oldest). */
  limit?: number;
}

const optionsSchema = z.strictObject({
  maxPerPeer: z.number().int().positive().default(DEFAULT_OUTBOX_MAX_PER_PEER),
  clock: clockOptionSchema,
});

/**
 * Options for both outbox implementations: `maxPerPeer` (default 100 000) bounds each
 * peer's queue; `clock` stamps entries.
 */
export type OutboxOptions = z.input<typeof optionsSchema>;

function parseOptions(options: OutboxOptions): z.output<typeof optionsSchema> {
  return parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid outbox options');
}

function fullError(peer: string, max: number): TroupeError {
  return new TroupeError('TROUPE_ERR_STORAGE_FULL', `outbox for ${peer} holds ${max} unacknowledged entries`, { details: { peer, max } });
}

/**
 * In-memory {@link OutboxStore}: the twin of {@link LmdbOutboxStore}. Nothing survives the
 * process; share one instance across transport restarts to model persistence in tests.
 *
 * @example
 * const outbox = new MemoryOutboxStore({ maxPerPeer: 1000 });
 */
export class MemoryOutboxStore implements OutboxStore {
  private readonly byPeer = new Map<string, Map<string, Uint8Array>>();
  private readonly peerOf = new Map<string, string>();
  private readonly max: number;

  constructor(options: OutboxOptions = {}) {
    this.max = parseOptions(options).maxPerPeer;
  }

  add(peer: string, id: string, bytes: Uint8Array): Promise<void> {
    const prev = this.peerOf.get(id);
    if (prev !== peer && (this.byPeer.get(peer)?.size ?? 0) >= this.max) return Promise.reject(fullError(peer, this.max));
    if (prev !== undefined && prev !== peer) this.forget(prev, id);
    let m = this.byPeer.get(peer);
    if (!m) this.byPeer.set(peer, (m = new Map()));
    m.set(id, Uint8Array.prototype.slice.call(bytes));
    this.peerOf.set(id, peer);
    return Promise.resolve();
  }

  ack(id: string): Promise<void> {
    const peer = this.peerOf.get(id);
    if (peer !== undefined) {
      this.peerOf.delete(id);
      this.forget(peer, id);
    }
    return Promise.resolve();
  }

  pending(peer: string, options: PendingOptions = {}): Array<{ id: string; bytes: Uint8Array }> {
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: Array<{ id: string; bytes: Uint8Array }> = [];
    for (const [id, bytes] of this.byPeer.get(peer) ?? []) {
      if (out.length >= limit) break;
      out.push({ id, bytes });
    }
    return out;
  }

  size(peer?: string): number {
    return peer === undefined ? this.peerOf.size : (this.byPeer.get(peer)?.size ?? 0);
  }

  /** Drop `id` from `peer`'s queue, and the queue once empty (peers come and go). */
  private forget(peer: string, id: string): void {
    const m = this.byPeer.get(peer);
    if (!m) return;
    m.delete(id);
    if (m.size === 0) this.byPeer.delete(peer);
  }
}

const entrySchema = z.object({ v: z.literal(RECORD_VERSION), at: z.number(), bytes: z.instanceof(Uint8Array) });

/** Where an id sits: its full key `[peer, n, id]`. */
type Slot = [peer: string, n: number, id: string];

/**
 * {@link OutboxStore} on LMDB: entries under `[peer, n, id]` in the `outbox` db, where `n`
 * is a counter recovered on open, so a peer's range reads in insertion order. An in-memory
 * index (id -> key, rebuilt from the keys on open) serves `ack` and `size`. Make one per store.
 *
 * @example
 * const outbox = new LmdbOutboxStore(store);
 * for (const { id, bytes } of outbox.pending('node-b')) link.send(bytes);
 */
export class LmdbOutboxStore implements OutboxStore {
  private readonly store: NodeStore;
  private readonly db: StoreDb;
  private readonly max: number;
  private readonly clock: Pick<Clock, 'now'>;
  private readonly index = new Map<string, Slot>();
  private readonly perPeer = new Map<string, number>();
  private counter = 0;

  constructor(store: NodeStore, options: OutboxOptions = {}) {
    const o = parseOptions(options);
    store.assertOpen();
    this.store = store;
    this.db = store.outbox;
    this.max = o.maxPerPeer;
    this.clock = o.clock ?? store.clock ?? systemClock;
    for (const k of this.db.getKeys({})) {
      const key = k as Slot;
      if (!Array.isArray(key) || key.length !== 3 || typeof key[0] !== 'string' || typeof key[1] !== 'number' || typeof key[2] !== 'string') {
        store.logger.error({ db: 'outbox', key }, 'skipped an outbox key of the wrong shape');
        continue;
      }
      this.track(key);
      this.counter = Math.max(this.counter, key[1] + 1);
    }
  }

  add(peer: string, id: string, bytes: Uint8Array): Promise<void> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    const prev = this.index.get(id);
    if (prev && prev[0] === peer) {
      return this.store.write(() => this.db.put(prev, this.record(bytes)), 'outbox add').then(() => undefined);
    }
    if ((this.perPeer.get(peer) ?? 0) >= this.max) return Promise.reject(fullError(peer, this.max));
    const slot: Slot = [peer, this.counter, id];
    const rec = this.record(bytes);
    const written = this.store.write(
      () =>
        this.db.batch(() => {
          this.db.put(slot, rec); // first: a key LMDB rejects leaves nothing queued
          if (prev) this.db.remove(prev);
        }),
      'outbox add',
    );
    // The index moves now so size() and ack() see the entry at once; a failed write undoes it.
    this.counter++;
    if (prev) this.untrack(prev);
    this.track(slot);
    return written.then(
      () => undefined,
      (e: unknown) => {
        if (this.index.get(id) === slot) {
          this.untrack(slot);
          if (prev) this.track(prev);
        }
        throw e;
      },
    );
  }

  ack(id: string): Promise<void> {
    if (this.store.closed) return Promise.reject(this.store.closedError());
    const slot = this.index.get(id);
    if (!slot) return Promise.resolve();
    this.untrack(slot);
    return this.store.write(() => this.db.remove(slot), 'outbox ack').then(
      () => undefined,
      (e: unknown) => {
        if (!this.index.has(id)) this.track(slot);
        throw e;
      },
    );
  }

  pending(peer: string, options: PendingOptions = {}): Array<{ id: string; bytes: Uint8Array }> {
    this.store.assertOpen();
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    const out: Array<{ id: string; bytes: Uint8Array }> = [];
    if (limit <= 0) return out;
    const range = { start: [peer, 0], end: [peer, Number.MAX_SAFE_INTEGER] };
    const skipped = (key: unknown, err: unknown): void => this.store.logger.error({ db: 'outbox', key, err }, 'skipped an undecodable outbox record');
    for (const { key, value } of scanRange(this.db, range, skipped)) {
      const slot = key as Slot;
      // Acked (or moved) but not yet committed: the index is the truth.
      if (this.index.get(slot[2])?.[1] !== slot[1]) continue;
      const r = entrySchema.safeParse(value);
      if (!r.success) {
        this.store.logger.error({ db: 'outbox', key, why: describeIssues(r.error) }, 'skipped a corrupt outbox record');
        continue;
      }
      out.push({ id: slot[2], bytes: r.data.bytes });
      if (out.length >= limit) break;
    }
    return out;
  }

  size(peer?: string): number {
    return peer === undefined ? this.index.size : (this.perPeer.get(peer) ?? 0);
  }

  private record(bytes: Uint8Array): { v: number; at: number; bytes: Uint8Array } {
    return { v: RECORD_VERSION, at: this.clock.now(), bytes };
  }

  private track(slot: Slot): void {
    this.index.set(slot[2], slot);
    this.perPeer.set(slot[0], (this.perPeer.get(slot[0]) ?? 0) + 1);
  }

  private untrack(slot: Slot): void {
    if (this.index.get(slot[2]) === slot) this.index.delete(slot[2]);
    const n = (this.perPeer.get(slot[0]) ?? 1) - 1;
    if (n <= 0) this.perPeer.delete(slot[0]);
    else this.perPeer.set(slot[0], n);
  }
}
