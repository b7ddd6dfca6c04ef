import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { flushMember, type FlushContext, type Member } from './member.js';
import type { Membership } from './membership.js';

/** What the {@link Flusher} needs from the transport. */
export interface FlusherHost {
  readonly log: Logger;
  readonly membership: Membership;
  readonly flushCtx: FlushContext;
  readonly maxBatch: number;
  /** Autocork limit in ms (the option is in µs). */
  readonly corkMaxMs: number;
  running(): boolean;
}

/**
 * A queue at least this long that has reached the size of its member's last flush is written
 * at once: the traffic sends about that much per turn, so waiting a turn would only add a turn
 * of latency (and let what is queued go cold) without making the frame larger. Shorter
 * queues (a trickle) keep coalescing while they grow.
 */
export const CORK_FULL_AT = 16;

/**
 * Writes what members owe at the end of the event-loop turn: one flush per turn for every
 * member that has something queued (and gossip when membership changed), with autocork: a
 * queue that keeps growing from one turn to the next waits up to `corkMaxMs` for more.
 */
export class Flusher {
  readonly #h: FlusherHost;
  #dirty: Member[] = [];
  #scheduled = false;
  #gossipDirty = false;

  constructor(host: FlusherHost) {
    this.#h = host;
  }

  /** `m` has something to write: flush it at the end of this turn. */
  markDirty(m: Member): void {
    if (!m.dirty) {
      m.dirty = true;
      this.#dirty.push(m);
    }
    this.#schedule();
  }

  /** Membership changed: gossip at the end of this turn. */
  gossipSoon(): void {
    this.#gossipDirty = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(this.flushAll);
  }

  /** Flush now (also at close). */
  readonly flushAll = (): void => {
    const h = this.#h;
    this.#scheduled = false;
    if (this.#gossipDirty && h.running()) {
      this.#gossipDirty = false;
      const frame = h.membership.gossipFrame();
      for (const m of h.membership.values()) if (m.link?.isOpen) m.link.send(frame);
    }
    const list = this.#dirty;
    if (list.length === 0) return;
    this.#dirty = [];
    const now = performance.now();
    for (const m of list) {
      if (this.#corked(m, now)) {
        this.#dirty.push(m);
        continue;
      }
      m.dirty = false;
      m.corkSince = undefined;
      m.lastFlushed = m.parts.length - m.head;
      try {
        flushMember(m, h.flushCtx);
      } catch (err) {
        // a bug of ours must not stop the other members' flushes
        h.log.error({ err, peer: m.node }, 'flushing a peer queue failed');
      }
    }
    if (this.#dirty.length > 0) this.#schedule();
  };

  /**
   * Wait one more turn for this member? Only while its queue grows each turn, up to
   * corkMaxMs, and never once it holds as many envelopes as the last flush did (at least
   * {@link CORK_FULL_AT}): a request/reply stream then writes each turn's batch at the end of
   * that turn, as a plain per-tick batcher would, instead of a turn later.
   */
  #corked(m: Member, now: number): boolean {
    const max = this.#h.corkMaxMs;
    const queued = m.parts.length - m.head;
    if (max === 0 || queued === 0 || queued >= this.#h.maxBatch || m.link === undefined || m.link.paused || !this.#h.running()) return false;
    if (m.lastFlushed >= CORK_FULL_AT && queued >= m.lastFlushed) return false;
    if (m.corkSince === undefined) {
      m.corkSince = now;
      m.corkSeen = queued;
      return true;
    }
    if (queued > m.corkSeen && now - m.corkSince < max) {
      m.corkSeen = queued;
      return true;
    }
    return false;
  }
}
