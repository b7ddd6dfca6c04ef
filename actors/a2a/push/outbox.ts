import { z } from 'zod';
import type { Logger } from 'pino';
import { TroupeError } from '../../../protocol/index.js';
import type { NodeStore, StoreDb } from '../../../storage/index.js';

/** The LMDB database of push notifications not delivered yet. */
export const PUSH_OUTBOX_DB = 'a2a.push.outbox';

/** Largest notification body kept (a task's JSON with its artifacts). */
export const MAX_NOTIFICATION_BYTES = 4 * 1024 * 1024;

/**
 * One notification waiting for delivery: what to POST where, with the config's credentials
 * as they were when the event happened, and where its retries stand. Validated on read.
 */
export const pushEntrySchema = z.object({
  v: z.literal(1),
  /** Notification id (sent as `X-Troupe-Notification-Id`, the receiver's dedup key) and JWT `jti`. */
  id: z.string().min(1).max(128),
  /** Delivery order is per target: one task's config. */
  target: z.string().min(1).max(2_048),
  agent: z.string().max(256),
  taskId: z.string().max(256),
  url: z.string().min(1).max(2_048),
  token: z.string().max(4_096).optional(),
  scheme: z.string().max(64).optional(),
  credentials: z.string().max(8_192).optional(),
  body: z.string().max(MAX_NOTIFICATION_BYTES),
  contentType: z.string().min(1).max(128),
  attempts: z.number().int().min(0),
  nextAt: z.number(),
  createdAt: z.number(),
});
export type PushEntry = z.infer<typeof pushEntrySchema>;

/**
 * The durable outbox of push notifications: each entry committed to LMDB
 * (`a2a.push.outbox`, keyed by a sequence number recovered on open) before it is tried, and
 * removed only once delivered or given up, so a notification not delivered when the node
 * stops is delivered after it starts again. In memory only on a node without a data dir.
 * Entries of one target (task and config) are kept in order; delivery takes the head.
 *
 * @example
 * await outbox.add({ v: 1, id, target, agent, taskId, url, body, contentType, attempts: 0, nextAt: now, createdAt: now });
 */
export class PushOutbox {
  private readonly entries = new Map<number, PushEntry>();
  private readonly queues = new Map<string, number[]>();
  private readonly db: StoreDb | undefined;
  private seq = 0;
  /** Bytes of the bodies waiting (what the entries hold in memory). */
  private bytes = 0;

  constructor(
    private readonly store: NodeStore | undefined,
    private readonly maxPending: number,
    log: Logger,
    /** Bytes of bodies waiting at most: many large notifications to a slow receiver must not fill the node's memory. */
    private readonly maxPendingBytes: number = Number.POSITIVE_INFINITY,
  ) {
    this.db = store?.db(PUSH_OUTBOX_DB);
    if (!this.db) return;
    for (const { key, value } of this.db.getRange({})) {
      const e = pushEntrySchema.safeParse(value);
      if (typeof key !== 'number' || !e.success) {
        log.warn({ key: String(key).slice(0, 200) }, 'a push notification outbox record failed validation; skipped');
        continue;
      }
      this.track(key, e.data);
      this.seq = Math.max(this.seq, key + 1);
    }
  }

  /** Notifications waiting. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Queue a notification; resolves once committed. Its place in its target's order is taken
   * at the call, so calls made in event order are delivered in event order. Rejects with
   * TROUPE_ERR_STORAGE_FULL past `maxPending` notifications or `maxPendingBytes` of bodies.
   */
  add(entry: PushEntry): Promise<void> {
    if (this.entries.size >= this.maxPending) {
      return Promise.reject(new TroupeError('TROUPE_ERR_STORAGE_FULL', `the push notification outbox holds ${this.maxPending} notifications`));
    }
    if (this.bytes + entry.body.length > this.maxPendingBytes) {
      return Promise.reject(new TroupeError('TROUPE_ERR_STORAGE_FULL', `the push notification outbox holds ${this.maxPendingBytes} bytes of notifications`));
    }
    const seq = this.seq++;
    this.track(seq, entry);
    if (!this.store || !this.db) return Promise.resolve();
    return this.store.put(this.db, seq, entry).catch((e: unknown) => {
      this.untrack(seq);
      throw e;
    });
  }

  /** The oldest entry of each target, with its sequence number. */
  *heads(): Generator<{ seq: number; entry: PushEntry }> {
    for (const q of this.queues.values()) {
      const seq = q[0]!;
      yield { seq, entry: this.entries.get(seq)! };
    }
  }

  /**
   * After a restart: no entry waits longer than `latest` (the last run's backoff does not
   * hold back the first attempt of this one beyond its own initial backoff). In memory only.
   */
  retryBy(latest: number): void {
    for (const [seq, e] of this.entries) if (e.nextAt > latest) this.entries.set(seq, { ...e, nextAt: latest });
  }

  /** Delivered or given up: forgotten (committed). */
  async remove(seq: number): Promise<void> {
    if (!this.entries.has(seq)) return;
    this.untrack(seq);
    if (this.store && this.db && !this.store.closed) await this.store.remove(this.db, seq);
  }

  /** A failed attempt: its count and the time of the next one (committed). */
  async reschedule(seq: number, attempts: number, nextAt: number): Promise<void> {
    const e = this.entries.get(seq);
    if (!e) return;
    const next = { ...e, attempts, nextAt };
    this.entries.set(seq, next);
    if (this.store && this.db && !this.store.closed) await this.store.put(this.db, seq, next);
  }

  private track(seq: number, entry: PushEntry): void {
    this.entries.set(seq, entry);
    this.bytes += entry.body.length;
    const q = this.queues.get(entry.target);
    if (q) q.push(seq);
    else this.queues.set(entry.target, [seq]);
  }

  private untrack(seq: number): void {
    const e = this.entries.get(seq);
    if (!e) return;
    this.entries.delete(seq);
    this.bytes -= e.body.length;
    const q = this.queues.get(e.target);
    if (!q) return;
    const i = q.indexOf(seq);
    if (i >= 0) q.splice(i, 1);
    if (q.length === 0) this.queues.delete(e.target);
  }
}
