import type { Logger } from 'pino';
import { encode } from '../protocol/index.js';
import { CLOSE_CODES } from './close-codes.js';
import type { Dialer } from './dialer.js';
import type { DownReason, MemberStatus, TransportEvent, TransportStats } from './events.js';
import type { MemberInfo } from './frames.js';
import type { Link } from './link.js';
import { Member, type QueuedEnvelope } from './member.js';

/** A member as {@link PeerTransport.members} reports it. */
export interface MemberView {
  node: string;
  peer: string;
  status: MemberStatus;
  incarnation: string;
}

/** What {@link Membership} needs from the transport. */
export interface MembershipHost {
  readonly nodeId: string;
  readonly heartbeatMs: number;
  readonly suspectAfterMisses: number;
  readonly downAfterMisses: number;
  readonly maxMembers: number;
  readonly forgetAfterMs: number;
  readonly log: Logger;
  readonly stats: TransportStats;
  readonly dialer: Dialer;
  now(): number;
  emit(e: TransportEvent): void;
  /** Queued envelopes that will not be sent: report them. */
  undelivered(node: string, parts: QueuedEnvelope[], reason: string): void;
  /** Membership changed: gossip at the end of this tick. */
  gossipSoon(): void;
}

/**
 * The member table: who is in the cluster, which link reaches each member, and how
 * reachable each one is. Links are chosen here (one per peer), gossip is merged here, and
 * the failure detector runs here.
 */
export class Membership {
  readonly #h: MembershipHost;
  readonly #members = new Map<string, Member>();
  #self: Member | undefined;
  #warnedFull = false;

  constructor(host: MembershipHost) {
    this.#h = host;
  }

  /** Register this node itself (at start, once its URL and incarnation are known). */
  setSelf(peer: string, incarnation: string): Member {
    this.#self = new Member(this.#h.nodeId, peer, incarnation, 'up', this.#h.now());
    this.#members.set(this.#h.nodeId, this.#self);
    return this.#self;
  }

  get self(): Member | undefined {
    return this.#self;
  }

  get(node: string): Member | undefined {
    return this.#members.get(node);
  }

  values(): IterableIterator<Member> {
    return this.#members.values();
  }

  /** Self first, then every member ever reached (not those only heard of). */
  views(): MemberView[] {
    const out: MemberView[] = [];
    for (const m of this.#members.values()) {
      if (m.status === 'joining') continue;
      const v = { node: m.node, peer: m.peer, status: m.status, incarnation: m.incarnation };
      if (m === this.#self) out.unshift(v);
      else out.push(v);
    }
    return out;
  }

  /**
   * An authenticated link came up: make it the member's link unless another link to the
   * same incarnation wins the tie-break. Returns the member when `link` is now its link.
   */
  attach(link: Link): Member | undefined {
    const h = this.#h;
    const hello = link.peer!;
    const now = h.now();
    let m = this.#members.get(hello.nodeId);
    if (m === undefined) {
      if (!this.#roomForMember()) {
        link.reject(CLOSE_CODES.tryAgainLater, 'member table full');
        return undefined;
      }
      m = new Member(hello.nodeId, hello.peerUrl, hello.incarnation, 'joining', now);
      this.#members.set(m.node, m);
      h.emit({ type: 'member.joined', node: m.node, peer: m.peer });
    }
    // Frames on this link are accepted even if it loses below: what the peer wrote before
    // it learned the outcome must still be delivered.
    link.member = m;
    link.meta = Object.freeze({ fromNode: m.node });
    const existing = m.link;
    if (existing !== undefined && existing !== link && existing.state !== 'closed') {
      if (existing.peer!.incarnation === hello.incarnation) {
        // Two links to one peer (both dialed at once). Both sides apply the same rule, so
        // they agree on the survivor. An existing link gone silent is kept by no one.
        const stale = now - existing.lastSeen > h.heartbeatMs * 1.5;
        if (!stale && !this.#prefer(link, existing)) {
          link.close(CLOSE_CODES.duplicateLink, 'duplicate link');
          return undefined;
        }
        existing.close(CLOSE_CODES.duplicateLink, 'duplicate link');
      } else {
        existing.close(CLOSE_CODES.superseded, 'peer restarted with a new incarnation');
      }
      m.link = undefined;
    }
    if (m.incarnation !== hello.incarnation && (m.status === 'up' || m.status === 'suspect')) this.markDown(m, 'restarted');
    const wasUp = m.status === 'up' || m.status === 'suspect';
    m.incarnation = hello.incarnation;
    if (m.peer !== hello.peerUrl) {
      h.dialer.unwant(m.peer);
      m.peer = hello.peerUrl;
    }
    m.link = link;
    m.lastSeen = now;
    if (m.everLinked) h.stats.reconnects++;
    m.everLinked = true;
    h.dialer.want(m.peer, { node: m.node });
    h.log.debug({ peer: m.node, direction: link.direction, incarnation: m.incarnation }, 'peer link up');
    h.emit({ type: 'link.up', node: m.node, incarnation: m.incarnation, direction: link.direction });
    if (!wasUp) {
      m.status = 'up';
      m.since = now;
      h.log.info({ peer: m.node, url: m.peer, incarnation: m.incarnation }, 'member up');
      h.emit({ type: 'member.up', node: m.node, peer: m.peer, incarnation: m.incarnation });
      h.gossipSoon();
    }
    m.resetDurable();
    return m;
  }

  /** Of two links to the same peer incarnation: the one dialed by the lower node id wins. */
  #prefer(a: Link, b: Link): boolean {
    const self = this.#h.nodeId;
    const peer = a.peer!.nodeId;
    const low = self < peer ? self : peer;
    const dialer = (l: Link) => (l.direction === 'out' ? self : peer);
    const aLow = dialer(a) === low;
    if (aLow !== (dialer(b) === low)) return aLow;
    // Same dialer (two URLs for one node): the smaller dialer nonce wins, known to both sides.
    const nonce = (l: Link) => (l.direction === 'out' ? l.nonce : l.peer!.nonce);
    return Buffer.compare(nonce(a), nonce(b)) < 0;
  }

  /** The member's link closed (`byPeer`: the peer sent the close). */
  detach(m: Member, link: Link, code: number, byPeer: boolean): void {
    if (m.link !== link) return;
    m.link = undefined;
    m.resetDurable();
    if (code === CLOSE_CODES.goingAway && byPeer) this.markDown(m, 'left');
  }

  /** Merge a peer's member list: learn new nodes, and follow known ones that restarted elsewhere. */
  merge(entries: MemberInfo[]): void {
    const h = this.#h;
    const now = h.now();
    for (const e of entries) {
      if (e.node === h.nodeId) continue;
      const m = this.#members.get(e.node);
      if (m === undefined) {
        if (e.status === 'down' || !this.#roomForMember()) continue;
        this.#members.set(e.node, new Member(e.node, e.peer, e.incarnation, 'joining', now));
        h.emit({ type: 'member.joined', node: e.node, peer: e.peer });
        h.dialer.want(e.peer, { node: e.node });
        continue;
      }
      if (m.link !== undefined || e.status === 'down' || e.incarnation === m.incarnation || e.incarnation === m.heardIncarnation) continue;
      // Someone reaches an incarnation we have not: dial where it now lives, without
      // waiting out our backoff. Only once per incarnation heard, so gossip cannot hammer it.
      m.heardIncarnation = e.incarnation;
      if (m.peer !== e.peer) {
        h.dialer.unwant(m.peer);
        m.peer = e.peer;
      }
      h.dialer.want(m.peer, { node: m.node });
      h.dialer.kick(m.peer);
    }
  }

  /** This node's view as a gossip frame. */
  gossipFrame(): Buffer {
    const members: MemberInfo[] = [];
    for (const m of this.#members.values()) {
      if (m.status !== 'joining') members.push({ node: m.node, peer: m.peer, incarnation: m.incarnation, status: m.status });
    }
    return encode({ t: 'gossip', members });
  }

  /** Declare `m` down: cut its link, report its queue undelivered, tell everyone. */
  markDown(m: Member, reason: DownReason, silentMs?: number): void {
    if (m.status === 'down' || m.status === 'joining' || m === this.#self) return;
    const h = this.#h;
    const now = h.now();
    silentMs ??= now - m.lastSeen;
    m.status = 'down';
    m.since = now;
    const link = m.link;
    m.link = undefined;
    if (link !== undefined) {
      if (reason === 'heartbeat') link.terminate();
      else link.close(CLOSE_CODES.superseded, `member down (${reason})`);
    }
    m.resetDurable();
    m.acks = [];
    h.undelivered(m.node, m.drain(), `node down (${reason})`);
    h.log.warn({ peer: m.node, incarnation: m.incarnation, reason, silentMs }, 'member down');
    h.emit({ type: 'member.down', node: m.node, incarnation: m.incarnation, reason, silentMs });
    h.gossipSoon();
  }

  /**
   * The failure detector, run every tick: silence past `suspectAfterMisses` intervals makes
   * a member suspect, past `downAfterMisses` down. The caller guarantees silence grows by at
   * most two ticks between runs (it discounts its own event-loop stalls), so declaring down
   * two ticks early keeps detection within `downAfterMisses` intervals. Members down or
   * never reached for `forgetAfterMs` are forgotten.
   */
  detectFailures(now: number, tickMs: number): void {
    const h = this.#h;
    const hb = h.heartbeatMs;
    const downMs = Math.max(hb, h.downAfterMisses * hb - 2 * tickMs);
    const suspectMs = h.suspectAfterMisses * hb;
    for (const m of [...this.#members.values()]) {
      if (m === this.#self) continue;
      if (m.status === 'up' || m.status === 'suspect') {
        const silent = now - m.lastSeen;
        if (silent >= downMs) this.markDown(m, 'heartbeat', silent);
        else if (silent >= suspectMs) {
          if (m.status === 'up') {
            m.status = 'suspect';
            m.since = now;
            h.log.warn({ peer: m.node, silentMs: silent }, 'member suspect');
            h.emit({ type: 'member.suspect', node: m.node, incarnation: m.incarnation, silentMs: silent });
          }
        } else if (m.status === 'suspect') {
          m.status = 'up';
          m.since = now;
          h.emit({ type: 'member.up', node: m.node, peer: m.peer, incarnation: m.incarnation });
        }
      } else if (now - m.since >= h.forgetAfterMs) {
        this.#members.delete(m.node);
        h.dialer.unwant(m.peer);
        h.emit({ type: 'member.removed', node: m.node });
      }
    }
  }

  /** Our own event loop stalled for `ms`: do not count that silence against anyone. */
  forgive(ms: number, now: number): void {
    for (const m of this.#members.values()) m.lastSeen = Math.min(now, m.lastSeen + ms);
  }

  #roomForMember(): boolean {
    if (this.#members.size < this.#h.maxMembers) return true;
    if (!this.#warnedFull) this.#h.log.warn({ max: this.#h.maxMembers }, 'member table full; ignoring new nodes');
    this.#warnedFull = true;
    return false;
  }
}
