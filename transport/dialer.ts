import { exponentialDelay, type ExponentialBackoff } from '../protocol/index.js';

/** One URL this node keeps a link to: a seed, or a member's advertised peer URL. */
export interface DialTarget {
  readonly url: string;
  /** The node behind the URL, once a handshake told us. */
  node: string | undefined;
  seed: boolean;
  /** Failed attempts since the last link that came up from this target. */
  attempt: number;
  timer: unknown;
  /** A dial in progress (connecting or handshaking). */
  dialing: boolean;
  /** The URL turned out to be this node itself: never dialed again. */
  self: boolean;
}

/** What the {@link Dialer} needs from the transport. */
export interface DialerHost {
  readonly selfNode: string;
  readonly backoff: ExponentialBackoff;
  /** Extra wait before the first dial to a known node with a lower id (it dials us instead). */
  readonly deferMs: number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(h: unknown): void;
  /** Jitter source in [0, 1) (default Math.random). */
  random?: () => number;
  /** True when the target's node already has a live link. */
  satisfied(t: DialTarget): boolean;
  /** Open an outbound link for `t`; the transport reports back with {@link Dialer.ended}. */
  dial(t: DialTarget): void;
}

/**
 * Keeps one outbound attempt per wanted URL, with exponential backoff and jitter between
 * failures, forever (a restarted node on the same URL comes back). The node with the lower
 * id dials first so that two nodes that learn of each other at once rarely both dial.
 */
export class Dialer {
  readonly #h: DialerHost;
  readonly #targets = new Map<string, DialTarget>();
  #stopped = false;

  constructor(host: DialerHost) {
    this.#h = host;
  }

  /** Want a link to `url` (idempotent); `node` when known. */
  want(url: string, options: { seed?: boolean; node?: string } = {}): DialTarget {
    let t = this.#targets.get(url);
    if (!t) {
      t = { url, node: options.node, seed: options.seed ?? false, attempt: 0, timer: undefined, dialing: false, self: false };
      this.#targets.set(url, t);
    } else {
      if (options.seed) t.seed = true;
      if (options.node !== undefined && t.node === undefined) t.node = options.node;
    }
    this.#schedule(t);
    return t;
  }

  /** Stop wanting `url` (a member moved or was forgotten). */
  unwant(url: string): void {
    const t = this.#targets.get(url);
    if (!t || t.seed) return;
    this.#h.clearTimer(t.timer);
    this.#targets.delete(url);
  }

  /** Dial `url` again soon, forgetting its backoff (gossip says the node is back). */
  kick(url: string): void {
    const t = this.#targets.get(url);
    if (!t || t.self || t.dialing) return;
    this.#h.clearTimer(t.timer);
    t.timer = undefined;
    t.attempt = 0;
    this.#schedule(t);
  }

  /** A dial for `t` finished: `linked` when its handshake succeeded (then the link is what ended). */
  ended(t: DialTarget, linked: boolean): void {
    t.dialing = false;
    t.attempt = linked ? 0 : t.attempt + 1;
    this.#schedule(t);
  }

  /** Re-check every target (called on the transport's tick and when links close). */
  reconcile(): void {
    for (const t of this.#targets.values()) this.#schedule(t);
  }

  stop(): void {
    this.#stopped = true;
    for (const t of this.#targets.values()) {
      this.#h.clearTimer(t.timer);
      t.timer = undefined;
    }
  }

  #schedule(t: DialTarget): void {
    if (this.#stopped || t.self || t.dialing || t.timer !== undefined || this.#h.satisfied(t)) return;
    let delay = t.attempt === 0 ? 0 : exponentialDelay(t.attempt - 1, this.#h.backoff, (this.#h.random ?? Math.random)());
    if (t.attempt === 0 && t.node !== undefined && t.node < this.#h.selfNode) {
      // Not our turn: the lower id dials. If it does not within deferMs, we do.
      delay += this.#h.deferMs;
    }
    t.timer = this.#h.setTimer(() => {
      t.timer = undefined;
      if (this.#stopped || t.self || t.dialing || !this.#targets.has(t.url)) return;
      if (this.#h.satisfied(t)) {
        t.attempt = 0;
        return;
      }
      t.dialing = true;
      this.#h.dial(t);
    }, delay);
  }
}
