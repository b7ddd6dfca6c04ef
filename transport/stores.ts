import type { Clock } from '../protocol/index.js';
import { systemClock } from '../protocol/index.js';

/**
 * The sender's side of durable delivery: envelopes committed here are re-sent until the
 * receiver acknowledges them. The storage layer implements it on LMDB with exactly this
 * shape; {@link MemoryOutboxStore} is the in-memory twin.
 *
 * @example
 * await outbox.add('node-b', env.id, encodeEnvelope(env)); // committed: survives a restart
 */
export interface OutboxStore {
  /** Commit `bytes` for `peer` under `id`; resolves once durable. Re-adding an id replaces it. */
  add(peer: string, id: string, bytes: Uint8Array): Promise<void>;
  /** Forget `id` (the receiver persisted it). Unknown ids are ignored. */
  ack(id: string): Promise<void>;
  /** Entries for `peer` not yet acknowledged, oldest first. */
  pending(peer: string): Array<{ id: string; bytes: Uint8Array }>;
  /** Number of unacknowledged entries, for one peer or all. */
  size(peer?: string): number;
}

/**
 * The receiver's side of durable delivery: an id is put (committed) before it is
 * acknowledged and handed to the node, and kept after `done` so that a re-sent copy is
 * recognised as a duplicate. {@link MemoryInboxStore} is the in-memory twin.
 *
 * @example
 * if (!inbox.has(id)) { await inbox.put(id, bytes); ack(id); deliver(); }
 */
export interface InboxStore {
  /** True when `id` was ever put and not yet pruned (pending or done). */
  has(id: string): boolean;
  /** Commit `bytes` under `id` as pending; resolves once durable. */
  put(id: string, bytes: Uint8Array): Promise<void>;
  /** Mark `id` processed: it is no longer re-delivered at start, but still deduplicated. */
  done(id: string): Promise<void>;
  /** Entries put and not yet done, oldest first (re-delivered once when the node starts). */
  pending(): Array<{ id: string; bytes: Uint8Array }>;
  /** Drop done entries older than `olderThanMs`; resolves with how many were dropped. */
  prune(olderThanMs: number): Promise<number>;
}

/**
 * In-memory {@link OutboxStore}. Nothing survives the process, but a test (or a node with no
 * data dir) can share one instance across transport restarts to model persistence.
 *
 * @example
 * const outbox = new MemoryOutboxStore();
 * new PeerTransport({ nodeId: 'a', outbox, onEnvelope });
 */
export class MemoryOutboxStore implements OutboxStore {
  readonly #byPeer = new Map<string, Map<string, Uint8Array>>();
  readonly #peerOf = new Map<string, string>();

  add(peer: string, id: string, bytes: Uint8Array): Promise<void> {
    const prev = this.#peerOf.get(id);
    if (prev !== undefined && prev !== peer) this.#byPeer.get(prev)?.delete(id);
    let m = this.#byPeer.get(peer);
    if (!m) this.#byPeer.set(peer, (m = new Map()));
    m.set(id, Uint8Array.prototype.slice.call(bytes));
    this.#peerOf.set(id, peer);
    return Promise.resolve();
  }

  ack(id: string): Promise<void> {
    const peer = this.#peerOf.get(id);
    if (peer !== undefined) {
      this.#peerOf.delete(id);
      const m = this.#byPeer.get(peer);
      m?.delete(id);
      if (m && m.size === 0) this.#byPeer.delete(peer);
    }
    return Promise.resolve();
  }

  pending(peer: string): Array<{ id: string; bytes: Uint8Array }> {
    const m = this.#byPeer.get(peer);
    if (!m) return [];
    const out: Array<{ id: string; bytes: Uint8Array }> = [];
    for (const [id, bytes] of m) out.push({ id, bytes });
    return out;
  }

  size(peer?: string): number {
    return peer === undefined ? this.#peerOf.size : (this.#byPeer.get(peer)?.size ?? 0);
  }
}

interface InboxEntry {
  bytes: Uint8Array | undefined;
  doneAt: number | undefined;
}

/**
 * In-memory {@link InboxStore}. Done entries drop their bytes and keep only the id, so the
 * dedup window costs little memory until {@link MemoryInboxStore.prune} removes it.
 *
 * @example
 * const inbox = new MemoryInboxStore();
 * await inbox.put('m1', bytes); inbox.has('m1'); // true
 */
export class MemoryInboxStore implements InboxStore {
  readonly #entries = new Map<string, InboxEntry>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  put(id: string, bytes: Uint8Array): Promise<void> {
    if (!this.#entries.has(id)) this.#entries.set(id, { bytes: Uint8Array.prototype.slice.call(bytes), doneAt: undefined });
    return Promise.resolve();
  }

  done(id: string): Promise<void> {
    const e = this.#entries.get(id);
    if (e && e.doneAt === undefined) {
      e.doneAt = this.#clock.now();
      e.bytes = undefined;
    }
    return Promise.resolve();
  }

  pending(): Array<{ id: string; bytes: Uint8Array }> {
    const out: Array<{ id: string; bytes: Uint8Array }> = [];
    for (const [id, e] of this.#entries) if (e.doneAt === undefined && e.bytes) out.push({ id, bytes: e.bytes });
    return out;
  }

  prune(olderThanMs: number): Promise<number> {
    const cutoff = this.#clock.now() - olderThanMs;
    let n = 0;
    for (const [id, e] of this.#entries) {
      if (e.doneAt !== undefined && e.doneAt <= cutoff) {
        this.#entries.delete(id);
        n++;
      }
    }
    return Promise.resolve(n);
  }
}
