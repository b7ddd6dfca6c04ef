import type { Logger } from 'pino';
import { decodeEnvelope, encodeEnvelope, isTroupeError, parseAddress, TroupeError, validateEnvelope, type Envelope } from '../protocol/index.js';
import type { TransportStats } from './events.js';
import { DURABLE_OVERHEAD, durableItemBytes } from './frames.js';
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
  readonly maxFrameBytes: number;
  now(): number;
  /** False once the transport is closing: nothing more is acked or delivered. */
  running(): boolean;
  member(node: string): Member | undefined;
  /** Schedule `m` for flushing at the end of this tick. */
  markDirty(m: Member): void;
  deliver(env: Envelope, meta: EnvelopeMeta): void;
  /** Report durable envelopes that will never be sent (they were dropped from the outbox). */
  undelivered(node: string, parts: Uint8Array[], error: TroupeError): void;
}

/**
 * At-least-once over the wire, exactly-once into the node: the sender commits to its outbox
 * and re-sends until acked; the receiver commits to its inbox before acking, and recognises
 * re-sent copies by id (the inbox's put says which). A window bounds how many are in flight
 * per peer, and the outbox is read a window at a time.
 */
export class DurableDelivery {
  readonly #h: DurableHost;

  constructor(host: DurableHost) {
    this.#h = host;
  }

  /**
   * Validate `env`, commit it to the outbox for `node`; resolves once committed. Sending
   * follows. What could never cross the wire (invalid, or too large for a `durable` frame)
   * is refused here, before the outbox sees it: once committed it would be re-sent forever.
   */
  async send(node: string, env: Envelope): Promise<void> {
    const h = this.#h;
    const valid = validateEnvelope(env);
    const bytes = encodeEnvelope(valid);
    const frameBytes = DURABLE_OVERHEAD + durableItemBytes(valid.id, bytes);
    if (frameBytes > h.maxFrameBytes) {
      throw new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `durable envelope needs a frame of up to ${frameBytes} bytes; the limit is ${h.maxFrameBytes}`, {
        details: { node, id: valid.id },
      });
    }
    const readsBefore = h.member(node)?.outboxReads;
    await h.outbox.add(node, valid.id, bytes);
    const m = h.member(node);
    if (m === undefined) return;
    if (m.outboxDirty || m.outboxReads !== readsBefore || m.snapshot.length - m.cursor >= h.window) {
      // A read while this add committed may or may not have seen it, and a full page is
      // enough to hold in memory: the outbox is read again once the snapshot is used up.
      m.outboxDirty = true;
    } else {
      m.snapshot.push({ id: valid.id, bytes });
    }
    this.pump(m);
  }

  /**
   * Fill the in-flight window of `m` from its snapshot, reading a page of the outbox when
   * needed; `urgent` (re-sends) reads without waiting for half the window to be free.
   */
  pump(m: Member, urgent = false): void {
    if (m.link === undefined || !m.link.isOpen) return;
    const h = this.#h;
    const now = h.now();
    let added = false;
    let read = false;
    while (m.inflight.size < h.window) {
      if (m.cursor >= m.snapshot.length) {
        // A page costs a window's worth of reads and may lead with what is still in flight:
        // read once half the window is free, so that each read yields at least half a page.
        if (!m.outboxDirty || read || (!urgent && m.inflight.size > h.window / 2)) break;
        read = true;
        m.outboxReads++;
        m.snapshot = h.outbox.pending(m.node, { limit: h.window });
        m.cursor = 0;
        // A short page is all there is; a full one may have more behind it.
        m.outboxDirty = m.snapshot.length >= h.window;
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
    const h = this.#h;
    const envs: Envelope[] = [];
    for (const it of items) {
      let env: Envelope;
      try {
        env = decodeEnvelope(it.bytes, h.maxFrameBytes);
      } catch (err) {
        return `durable item ${it.id.slice(0, 64)}: ${isTroupeError(err) ? err.message.slice(0, 200) : 'undecodable'}`;
      }
      if (env.id !== it.id) return `durable item id ${it.id.slice(0, 64)} != envelope id`;
      envs.push(env);
    }
    for (let i = 0; i < items.length; i++) {
      const { id, bytes } = items[i]!;
      const env = envs[i]!;
      h.inbox.put(id, bytes).then(
        (stored) => {
          // Closing: neither ack nor deliver. A stored entry stays pending and is re-delivered
          // at the next start; the sender re-sends whatever was not acked.
          if (!h.running()) return;
          this.#ack(m, id);
          if (!stored) {
            h.stats.durableDuplicates++;
            return;
          }
          h.stats.durableIn++;
          h.deliver(env, { fromNode, durable: { id, done: () => h.inbox.done(id) } });
        },
        (err: unknown) => {
          // Not acked, so the sender re-sends it after durableRetryMs or the next reconnect.
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

  /**
   * `item` does not fit the peer's frame limit (smaller than ours): no re-send ever could.
   * Dead-letter it and drop it from the outbox, so it does not block what comes after it.
   */
  tooLarge(m: Member, item: DurableItem): void {
    const h = this.#h;
    m.inflight.delete(item.id);
    h.outbox.ack(item.id).catch((err: unknown) => h.log.error({ err, id: item.id }, 'outbox drop failed; the envelope may be reported again'));
    const error = new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `durable envelope too large for the frame limit of '${m.node}'`, {
      details: { node: m.node, id: item.id },
    });
    h.undelivered(m.node, [item.bytes], error);
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
      this.pump(m, true);
    }
  }

  /** Hand inbox entries that were stored but never marked done to the node again (once, at start). */
  redeliverPending(): number {
    const h = this.#h;
    let n = 0;
    for (const { id, bytes } of h.inbox.pending()) {
      let env: Envelope;
      try {
        env = decodeEnvelope(bytes, Number.MAX_SAFE_INTEGER);
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
