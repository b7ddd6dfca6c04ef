import { TroupeError, type Clock } from '../protocol/index.js';
import { CLOSE_CODES, closeCodeName } from './close-codes.js';

/** Close codes that mean the handshake itself failed: no retry will fix them, only configuration. */
const AUTH_CODES: ReadonlySet<number> = new Set([CLOSE_CODES.auth, CLOSE_CODES.clusterMismatch, CLOSE_CODES.versionMismatch]);

interface Waiter {
  resolve(node: string): void;
  reject(e: TroupeError): void;
  timer: unknown;
}

/**
 * Callers of {@link PeerTransport.connect} waiting for the outcome of dials to a URL: the
 * first link from it that authenticates answers them with its node id; a handshake that
 * fails on the secret, the cluster name or the protocol version (refused by either side)
 * answers them with TROUPE_ERR_TRANSPORT_AUTH; no link within their timeout, with
 * TROUPE_ERR_TRANSPORT_NODE_DOWN.
 */
export class ConnectWaits {
  readonly #clock: Clock;
  readonly #waiting = new Map<string, Set<Waiter>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Wait for the outcome of dials to `url`. */
  wait(url: string, timeoutMs: number): Promise<string> {
    return new Promise((resolve, reject) => {
      let set = this.#waiting.get(url);
      if (set === undefined) this.#waiting.set(url, (set = new Set()));
      const w: Waiter = { resolve, reject, timer: undefined };
      w.timer = this.#clock.setTimeout(() => {
        this.#remove(url, w);
        reject(new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `no link to ${url} within ${timeoutMs}ms`, { details: { url } }));
      }, timeoutMs);
      set.add(w);
    });
  }

  /** A dial to `url` authenticated as `node`. */
  linked(url: string, node: string): void {
    for (const w of this.#take(url)) w.resolve(node);
  }

  /** A dial to `url` ended before it authenticated, with `code` (ours or the peer's). */
  failed(url: string, code: number, reason: string): void {
    if (!AUTH_CODES.has(code) || !this.#waiting.has(url)) return;
    const e = new TroupeError('TROUPE_ERR_TRANSPORT_AUTH', `peer handshake with ${url} failed (${closeCodeName(code)}): ${reason}`, { details: { url, closeCode: code } });
    for (const w of this.#take(url)) w.reject(e);
  }

  /** The transport closed: nobody gets a link any more. */
  closeAll(): void {
    for (const url of [...this.#waiting.keys()]) {
      for (const w of this.#take(url)) w.reject(new TroupeError('TROUPE_ERR_TRANSPORT_CLOSED', 'transport closed'));
    }
  }

  #take(url: string): Waiter[] {
    const set = this.#waiting.get(url);
    if (set === undefined) return [];
    this.#waiting.delete(url);
    for (const w of set) this.#clock.clearTimeout(w.timer);
    return [...set];
  }

  #remove(url: string, w: Waiter): void {
    const set = this.#waiting.get(url);
    set?.delete(w);
    if (set?.size === 0) this.#waiting.delete(url);
  }
}

/** True for close codes that mean a failed handshake (refused proof, cluster or version). */
export function isAuthFailure(code: number): boolean {
  return AUTH_CODES.has(code);
}
