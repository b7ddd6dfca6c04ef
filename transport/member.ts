import { encode } from '../protocol/index.js';
import type { MemberStatus, TransportStats } from './events.js';
import { BATCH_OVERHEAD, encodeBatch } from './frames.js';
import type { Link } from './link.js';

/** A member's state: `joining` means known (from gossip) but never reached yet. */
export type MemberState = 'joining' | MemberStatus;

/** One durable envelope on its way out: the outbox id and the packed envelope. */
export interface DurableItem {
  id: string;
  bytes: Uint8Array;
}

/**
 * What this node knows about another node, and what it owes it: the outbound queue of
 * packed envelopes (kept across reconnects, bounded), acks to send, and the durable window.
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
  /** Packed envelopes; `parts[head..]` are still to send. */
  parts: Uint8Array[] = [];
  head = 0;
  queuedBytes = 0;
  acks: string[] = [];
  durableOut: DurableItem[] = [];
  /** Durable ids sent on the current link and not yet acked, with when they were sent. */
  readonly inflight = new Map<string, number>();
  /** A page of the outbox being sent, and how far into it we are. */
  snapshot: DurableItem[] = [];
  cursor = 0;
  /** The outbox may hold entries not in `snapshot`. */
  outboxDirty = true;

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
  drain(): Uint8Array[] {
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
}

/**
 * Write what `m` owes onto its link: acks, then durable envelopes, then batches of plain
 * envelopes (each batch one ws message, at most `maxBatch` envelopes and one frame of
 * bytes). Stops while the socket is over its high-water mark; the rest stays queued.
 */
export function flushMember(m: Member, ctx: FlushContext): void {
  const link = m.link;
  if (link === undefined || !link.isOpen || link.overHighWater()) return;
  const limit = Math.min(ctx.maxFrameBytes, link.peerMaxFrame || ctx.maxFrameBytes) - BATCH_OVERHEAD;
  if (m.acks.length > 0) {
    const ids = m.acks;
    m.acks = [];
    // An id is at most 128 chars; 4096 of them stay far below any frame limit.
    for (let i = 0; i < ids.length; i += 4096) link.send(encode({ t: 'ack', ids: ids.slice(i, i + 4096) }));
  }
  if (m.durableOut.length > 0) {
    const items = m.durableOut;
    m.durableOut = [];
    let from = 0;
    let bytes = 0;
    for (let i = 0; i <= items.length; i++) {
      const size = i < items.length ? items[i]!.bytes.byteLength + items[i]!.id.length + 16 : 0;
      if (i === items.length || (bytes + size > limit && i > from)) {
        link.send(encode({ t: 'durable', items: items.slice(from, i) }));
        from = i;
        bytes = 0;
      }
      bytes += size;
    }
  }
  const parts = m.parts;
  while (m.head < parts.length) {
    const start = m.head;
    const stop = Math.min(parts.length, start + ctx.maxBatch);
    let end = start;
    let bytes = 0;
    while (end < stop) {
      const n = parts[end]!.byteLength;
      if (bytes + n > limit) break;
      bytes += n;
      end++;
    }
    if (end === start) {
      ctx.tooLarge(m, parts[start]!);
      m.head++;
      m.queuedBytes -= parts[start]!.byteLength;
      continue;
    }
    link.send(encodeBatch(parts, start, end, bytes));
    ctx.stats.envelopesOut += end - start;
    m.head = end;
    m.queuedBytes -= bytes;
    if (link.overHighWater()) break;
  }
  if (m.head === parts.length) {
    parts.length = 0;
    m.head = 0;
  } else if (m.head >= 4096 && m.head * 2 >= parts.length) {
    parts.splice(0, m.head);
    m.head = 0;
  }
}
