import { encode, encodeEnvelope, type Envelope } from '../protocol/index.js';
import type { MemberStatus, TransportStats } from './events.js';
import { ACK_OVERHEAD, BATCH_OVERHEAD, DURABLE_OVERHEAD, ackIdBytes, durableItemBytes, encodeBatch } from './frames.js';
import type { Link } from './link.js';
import { ENVELOPE_FRAME_LEVELS, MAX_FRAME_DEPTH, msgpackDepthExceeds } from './depth.js';

/** A member's state: `joining` means known (from gossip) but never reached yet. */
export type MemberState = 'joining' | MemberStatus;

/** One durable envelope on its way out: the outbox id and the packed envelope. */
export interface DurableItem {
  id: string;
  bytes: Uint8Array;
}

/**
 * An envelope waiting to be written: packed already (bytes), or, on a link that is flowing,
 * the checked envelope itself, packed with the rest of its batch in one go at the flush.
 */
export type QueuedEnvelope = Uint8Array | Envelope;

/**
 * What this node knows about another node, and what it owes it: the outbound queue of
 * envelopes (kept across reconnects, bounded), acks to send, and the durable window.
 * The queue belongs to the member, not the link, so a cut link loses nothing still queued.
 */
export class Member {
  readonly node: string;
  peer: string;
  incarnation: string;
  status: MemberState;
  /** When the status last changed. */
  since: number;
  /** Last time any frame arrived from this member (or the link to it came up). */
  lastSeen: number;
  link: Link | undefined;
  everLinked = false;
  /** Last incarnation of this node that gossip told us about (to react once per restart). */
  heardIncarnation = '';
  /** Already in the transport's list of members to flush this tick. */
  dirty = false;
  /** Autocork: when the current wait for more envelopes began (ms), and the queue length then. */
  corkSince: number | undefined = undefined;
  corkSeen = 0;
  /** Envelopes the last end-of-turn flush found queued: what this member's traffic sends per turn. */
  lastFlushed = 0;
  /** Queued envelopes; `parts[head..]` are still to send. */
  parts: QueuedEnvelope[] = [];
  head = 0;
  /** Bytes of the packed ones (envelopes not packed yet leave with the next flush). */
  queuedBytes = 0;
  /**
   * An envelope queued unpacked whose payload may nest (not `isShallow`): the next
   * batch frame's bytes get the depth scan. Cleared once the queue is empty.
   */
  mayNest = false;
  acks: string[] = [];
  durableOut: DurableItem[] = [];
  /** Durable ids sent on the current link and not yet acked, with when they were sent. */
  readonly inflight = new Map<string, number>();
  /** A page of the outbox being sent, and how far into it we are. */
  snapshot: DurableItem[] = [];
  cursor = 0;
  /**
   * The outbox may hold entries not in `snapshot`. While false, `snapshot[cursor..]` is
   * exactly what the outbox holds beyond what is in flight, so new entries are appended to
   * it instead of re-reading the outbox.
   */
  outboxDirty = true;
  /** Outbox reads so far: a send that saw a read happen while it committed cannot append. */
  outboxReads = 0;

  constructor(node: string, peer: string, incarnation: string, status: MemberState, now: number) {
    this.node = node;
    this.peer = peer;
    this.incarnation = incarnation;
    this.status = status;
    this.since = now;
    this.lastSeen = now;
  }

  /** Envelopes queued and not yet written to a socket. */
  get queued(): number {
    return this.parts.length - this.head;
  }

  /** Take every queued envelope out (the member went down): the caller reports them. */
  drain(): QueuedEnvelope[] {
    const out = this.head === 0 ? this.parts : this.parts.slice(this.head);
    this.parts = [];
    this.head = 0;
    this.queuedBytes = 0;
    return out;
  }

  /** Forget what was in flight on a lost link: it is re-sent from the outbox on the next one. */
  resetDurable(): void {
    this.inflight.clear();
    this.durableOut = [];
    this.snapshot = [];
    this.cursor = 0;
    this.outboxDirty = true;
  }
}

/** What {@link flushMember} needs from the transport. */
export interface FlushContext {
  readonly maxBatch: number;
  readonly maxFrameBytes: number;
  readonly stats: TransportStats;
  /** A packed envelope too large for the peer's frame limit: reported, never silently dropped. */
  tooLarge(m: Member, bytes: Uint8Array): void;
  /** An envelope msgpack cannot encode (a circular payload, an out-of-range BigInt): reported, dropped. */
  unencodable(m: Member, env: Envelope, error: unknown): void;
  /** The same for a durable envelope: reported, and dropped from the outbox (no re-send could fit). */
  durableTooLarge(m: Member, item: DurableItem): void;
}

/**
 * Write what `m` owes onto its link: acks, then durable envelopes, then batches of plain
 * envelopes (each batch one ws message, at most `maxBatch` envelopes and one frame of
 * bytes). Stops while the socket is over its high-water mark; the rest stays queued.
 */
export function flushMember(m: Member, ctx: FlushContext): void {
  const link = m.link;
  if (link === undefined || !link.isOpen || link.overHighWater()) return;
  // A frame over what the peer accepts would close the link (1009), and a durable one
  // would come first again after every reconnect: nothing larger is ever written.
  const frame = Math.min(ctx.maxFrameBytes, link.peerMaxFrame || ctx.maxFrameBytes);
  if (m.acks.length > 0) {
    const ids = m.acks;
    m.acks = [];
    const room = frame - ACK_OVERHEAD;
    let from = 0;
    let bytes = 0;
    for (let i = 0; i < ids.length; i++) {
      const size = ackIdBytes(ids[i]!);
      if (bytes + size > room && i > from) {
        link.send(encode({ t: 'ack', ids: ids.slice(from, i) }));
        from = i;
        bytes = 0;
      }
      bytes += size;
    }
    link.send(encode({ t: 'ack', ids: from === 0 ? ids : ids.slice(from) }));
  }
  if (m.durableOut.length > 0) {
    const items = m.durableOut;
    m.durableOut = [];
    const room = frame - DURABLE_OVERHEAD;
    let batch: DurableItem[] = [];
    let bytes = 0;
    for (const item of items) {
      const size = durableItemBytes(item.id, item.bytes);
      if (size > room) {
        ctx.durableTooLarge(m, item);
        continue;
      }
      if (bytes + size > room) {
        link.send(encode({ t: 'durable', items: batch }));
        batch = [];
        bytes = 0;
      }
      batch.push(item);
      bytes += size;
    }
    if (batch.length > 0) link.send(encode({ t: 'durable', items: batch }));
  }
  const limit = frame - BATCH_OVERHEAD;
  const parts = m.parts;
  // What is refused is reported once the queue is consistent again: a report runs outside
  // code, which may send to this member meanwhile.
  const refused: Array<() => void> = [];
  while (m.head < parts.length) {
    const start = m.head;
    const stop = Math.min(parts.length, start + ctx.maxBatch);
    let end = start;
    while (end < stop && !(parts[end] instanceof Uint8Array)) end++;
    if (end > start) {
      // Envelopes not packed yet: one frame, packed in one call (the common case)...
      let bytes: Buffer | undefined;
      try {
        bytes = encode({ t: 'batch', envs: parts.slice(start, end) });
      } catch {
        bytes = undefined; // one of them cannot be encoded: found below
      }
      // A peer refuses (and closes the link on) a frame nested too deep: never send one
      // (envelopes with shallow payloads cannot nest that deep: their frame is not scanned).
      if (bytes !== undefined && bytes.byteLength <= frame && !(m.mayNest && msgpackDepthExceeds(bytes, MAX_FRAME_DEPTH))) {
        link.send(bytes);
        ctx.stats.envelopesOut += end - start;
        m.head = end;
        if (link.overHighWater()) break;
        continue;
      }
      // ...unless they do not fit one frame, or one cannot be encoded or nests too deep: packed one by one
      // (the unencodable taken out and reported), then split by the byte path below.
      const packed: Uint8Array[] = [];
      for (let i = start; i < end; i++) {
        const env = parts[i] as Envelope;
        try {
          const p = encodeEnvelope(env);
          if (msgpackDepthExceeds(p, MAX_FRAME_DEPTH - ENVELOPE_FRAME_LEVELS)) throw new Error(`the message nests deeper than ${MAX_FRAME_DEPTH - ENVELOPE_FRAME_LEVELS} levels`);
          packed.push(p);
          m.queuedBytes += p.byteLength;
        } catch (e) {
          refused.push(() => ctx.unencodable(m, env, e));
        }
      }
      parts.splice(start, end - start, ...packed);
      continue;
    }
    let bytes = 0;
    while (end < stop) {
      const p = parts[end];
      if (!(p instanceof Uint8Array)) break;
      const n = p.byteLength;
      if (bytes + n > limit) break;
      bytes += n;
      end++;
    }
    if (end === start) {
      const p = parts[start] as Uint8Array;
      m.head++;
      m.queuedBytes -= p.byteLength;
      refused.push(() => ctx.tooLarge(m, p));
      continue;
    }
    link.send(encodeBatch(parts as Uint8Array[], start, end, bytes));
    ctx.stats.envelopesOut += end - start;
    m.head = end;
    m.queuedBytes -= bytes;
    if (link.overHighWater()) break;
  }
  if (m.head === parts.length) {
    parts.length = 0;
    m.head = 0;
    m.mayNest = false;
  } else if (m.head >= 4096 && m.head * 2 >= parts.length) {
    parts.splice(0, m.head);
    m.head = 0;
  }
  for (const report of refused) report();
}
