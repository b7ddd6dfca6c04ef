import type { Logger } from 'pino';
import { decode, encodeEnvelope, envelopeSchema, parseAddress, TroupeError, type Envelope } from '../protocol/index.js';
import type { TransportStats } from './events.js';
import type { Member, DurableItem } from './member.js';
import type { EnvelopeMeta } from './options.js';
import type { InboxStore, OutboxStore } from './stores.js';

/** What durable delivery needs from the transport. */
export interface DurableHost {
  readonly outbox: OutboxStore;
  readonly inbox: InboxStore;
  readonly log: Logger;
  readonly stats: TransportStats;
  readonly window: number;
  readonly retryMs: number;
  readonly maxEnvelopeBytes: number;
  now(): number;
  member(node: string): Member | undefined;
  /** Schedule `m` for flushing at the end of this tick. */
  markDirty(m: Member): void;
  deliver(env: Envelope, meta: EnvelopeMeta): void;
}

/**
 * At-least-once over the wire, exactly-once into the node: the sender commits to its outbox
 * and re-sends until acked; the receiver commits to its inbox before acking, and recognises
 * re-sent copies by id. A window bounds how many are in flight per peer.
 */
export class DurableDelivery {
  readonly #h: DurableHost;
  /** Ids whose inbox put is in progress: a copy arriving meanwhile is neither stored nor delivered twice. */
  readonly #putting = new Set<string>();

  constructor(host: DurableHost) {
    this.#h = host;
  }

  /** Commit `env` to the outbox for `node`; resolves once committed. Sending follows. */
  async send(node: string, env: Envelope): Promise<void> {
    const bytes = encodeEnvelope(env);
    if (bytes.byteLength > this.#h.maxEnvelopeBytes) {
      throw new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `durable envelope of ${bytes.byteLength} bytes exceeds ${this.#h.maxEnvelopeBytes}`);
    }
    await this.#h.outbox.add(node, env.id, bytes);
    const m = this.#h.member(node);
    if (m) {
      m.outboxDirty = true;
      this.pump(m);
    }
  }

  /** Fill the in-flight window of `m` from its outbox, if it has a link. */
  pump(m: Member): void {
    if (m.link === undefined || !m.link.isOpen) return;
    const h = this.#h;
    const now = h.now();
    let added = false;
    while (m.inflight.size < h.window) {
      if (m.cursor >= m.snapshot.length) {
        if (!m.outboxDirty) break;
        m.outboxDirty = false;
        m.snapshot = h.outbox.pending(m.node);
        m.cursor = 0;
        if (m.snapshot.length === 0) break;
      }
      const item = m.snapshot[m.cursor++]!;
      if (m.inflight.has(item.id)) continue;
      m.inflight.set(item.id, now);
      m.durableOut.push(item);
      h.stats.durableOut++;
      added = true;
    }
    if (m.cursor >= m.snapshot.length && m.snapshot.length > 0) {
      m.snapshot = [];
      m.cursor = 0;
    }
    if (added) h.markDirty(m);
  }

  /**
   * Durable envelopes from `m`. Validation is all-or-nothing and synchronous (a bad item is
   * a protocol error for the whole frame); storing and delivering then run per item.
   */
  receive(m: Member, fromNode: string, items: DurableItem[]): string | undefined {
    const envs: Envelope[] = [];
    for (const it of items) {
      let env: Envelope;
      try {
        const r = envelopeSchema.safeParse(decode(it.bytes));
        if (!r.success) return `durable item ${it.id.slice(0, 64)}: invalid envelope`;
        env = r.data;
      } catch {
        return `durable item ${it.id.slice(0, 64)}: malformed msgpack`;
      }
      if (env.id !== it.id) return `durable item id ${it.id.slice(0, 64)} != envelope id`;
      envs.push(env);
    }
    const h = this.#h;
    for (let i = 0; i < items.length; i++) {
      const { id, bytes } = items[i]!;
      if (this.#putting.has(id)) continue;
      if (h.inbox.has(id)) {
        h.stats.durableDuplicates++;
        this.#ack(m, id);
        continue;
      }
      const env = envs[i]!;
      this.#putting.add(id);
      h.inbox.put(id, bytes).then(
        () => {
          this.#putting.delete(id);
          h.stats.durableIn++;
          this.#ack(m, id);
          h.deliver(env, { fromNode, durable: { id, done: () => h.inbox.done(id) } });
        },
        (err: unknown) => {
          // Not acked, so the sender re-sends it after durableRetryMs or the next reconnect.
          this.#putting.delete(id);
          h.log.error({ err, id, from: fromNode }, 'inbox put failed; durable envelope not acknowledged');
        },
      );
    }
    return undefined;
  }

  /** The peer persisted these ids: drop them from the outbox and refill the window. */
  acked(m: Member, ids: string[]): void {
    const h = this.#h;
    h.stats.acksIn += ids.length;
    for (const id of ids) {
      m.inflight.delete(id);
      h.outbox.ack(id).catch((err: unknown) => h.log.error({ err, id }, 'outbox ack failed; the envelope may be re-sent (the receiver deduplicates)'));
    }
    this.pump(m);
  }

  /** Re-send what has waited for its ack longer than `retryMs` on a live link. */
  retry(m: Member, now: number): void {
    let expired = false;
    for (const [id, sentAt] of m.inflight) {
      if (now - sentAt >= this.#h.retryMs) {
        m.inflight.delete(id);
        expired = true;
      }
    }
    if (expired) {
      m.outboxDirty = true;
      this.pump(m);
    }
  }

  /** Hand inbox entries that were stored but never marked done to the node again (once, at start). */
  redeliverPending(): number {
    const h = this.#h;
    let n = 0;
    for (const { id, bytes } of h.inbox.pending()) {
      let env: Envelope;
      try {
        const r = envelopeSchema.safeParse(decode(bytes));
        if (!r.success) throw new Error(r.error.message);
        env = r.data;
      } catch (err) {
        h.log.error({ err, id }, 'pending inbox entry is not a valid envelope; skipped');
        continue;
      }
      const fromNode = env.from !== undefined ? (parseAddress(env.from)?.node ?? '') : '';
      h.deliver(env, { fromNode, durable: { id, done: () => h.inbox.done(id) } });
      n++;
    }
    return n;
  }

  #ack(m: Member, id: string): void {
    // The ack goes on whatever link the member has at flush time; if none, the sender's
    // re-send will be recognised as a duplicate and acked then.
    const cur = this.#h.member(m.node) ?? m;
    cur.acks.push(id);
    this.#h.markDirty(cur);
  }
}
