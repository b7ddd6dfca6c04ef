import type { Logger } from 'pino';
import type { Clock } from '../protocol/index.js';
import type { Dialer } from './dialer.js';
import type { DurableDelivery } from './durable.js';
import { HEARTBEAT_BYTES } from './frames.js';
import type { Membership } from './membership.js';
import type { ResolvedPeerTransportOptions } from './options.js';
import type { InboxStore } from './stores.js';

/** What the {@link Ticker} needs from the transport. */
export interface TickerHost {
  readonly options: ResolvedPeerTransportOptions;
  readonly clock: Clock;
  readonly log: Logger;
  readonly membership: Membership;
  readonly durable: DurableDelivery;
  readonly dialer: Dialer;
  readonly inbox: InboxStore;
  running(): boolean;
  gossipSoon(): void;
}

/**
 * The transport's one timer, every `heartbeatMs / 8` on the injected clock: heartbeats,
 * the failure detector, periodic gossip, durable re-sends, inbox pruning and dial
 * reconciliation each run when their own interval is due.
 */
export class Ticker {
  readonly #h: TickerHost;
  /** Tick interval (ms). */
  readonly tickMs: number;
  #timer: unknown;
  #lastTick = 0;
  #lastHeartbeat = 0;
  #lastGossip = 0;
  #lastRetry = 0;
  #lastPrune = 0;

  constructor(host: TickerHost) {
    this.#h = host;
    this.tickMs = Math.max(5, Math.floor(host.options.heartbeatMs / 8));
  }

  start(): void {
    const now = this.#h.clock.now();
    this.#lastTick = this.#lastHeartbeat = this.#lastGossip = this.#lastRetry = this.#lastPrune = now;
    this.#schedule();
  }

  stop(): void {
    if (this.#timer !== undefined) this.#h.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = this.#h.clock.setTimeout(() => this.#tick(), this.tickMs);
  }

  #tick(): void {
    const h = this.#h;
    this.#timer = undefined;
    if (!h.running()) return;
    const o = h.options;
    const now = h.clock.now();
    const gap = now - this.#lastTick;
    this.#lastTick = now;
    if (gap > 2 * this.tickMs) {
      // Our own event loop stalled: we could not have read heartbeats, so the silence is
      // ours, not the peers'. Do not count it against them. (So silence grows by at most
      // two ticks between checks, which detectFailures relies on.)
      h.membership.forgive(gap - this.tickMs, now);
    }
    if (now - this.#lastHeartbeat >= o.heartbeatMs) {
      this.#lastHeartbeat = now;
      for (const m of h.membership.values()) if (m.link?.isOpen) m.link.send(HEARTBEAT_BYTES);
    }
    // Write callbacks resume paused links; this is the backstop should one not come.
    for (const m of h.membership.values()) m.link?.checkDrained();
    h.membership.detectFailures(now, this.tickMs);
    if (now - this.#lastGossip >= o.gossipMs) {
      this.#lastGossip = now;
      h.gossipSoon();
    }
    if (now - this.#lastRetry >= o.durableRetryMs / 2) {
      this.#lastRetry = now;
      for (const m of h.membership.values()) if (m.inflight.size > 0) h.durable.retry(m, now);
    }
    if (now - this.#lastPrune >= o.pruneIntervalMs) {
      this.#lastPrune = now;
      h.inbox.prune(o.inboxRetentionMs).catch((err: unknown) => h.log.error({ err }, 'inbox prune failed'));
    }
    h.dialer.reconcile();
    this.#schedule();
  }
}
