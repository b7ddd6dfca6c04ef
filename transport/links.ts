import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { WebSocket } from 'ws';
import { isLoopbackAddress, type Clock } from '../protocol/index.js';
import { CLOSE_CODES } from './close-codes.js';
import type { Dialer, DialTarget } from './dialer.js';
import type { TransportEvent, TransportStats } from './events.js';
import type { Frame } from './frames.js';
import { Link, type LinkHost, type LocalIdentity } from './link.js';
import type { PeerTls } from './options.js';
import { isAuthFailure } from './connects.js';

/**
 * Largest frame a link reads before it is authenticated: a hello or a proof is well under
 * 1 KiB, so an unauthenticated connection cannot make this node buffer a full frame.
 */
export const HANDSHAKE_MAX_FRAME_BYTES = 4 * 1024;

/**
 * ws fixes `maxPayload` when a socket is made and has no API to change it; its receiver
 * reads the limit from this field on every frame. Guarded: should a ws release rename it,
 * the limit stays at `maxFrameBytes` (test/transport/pending.test.ts notices).
 */
function setMaxPayload(ws: WebSocket, bytes: number): void {
  const receiver = (ws as unknown as { _receiver?: { _maxPayload?: unknown } | null })._receiver;
  if (receiver != null && typeof receiver._maxPayload === 'number') receiver._maxPayload = bytes;
}

/**
 * RFC 6455 masks what a client sends so that a proxy between it and the server, reading the
 * frames as something else, cannot be fed bytes of the sender's choosing. A loopback link
 * has nothing in between, and a TLS link shows a proxy nothing but ciphertext: their mask is
 * all zeros, which ws takes as "no masking" (no XOR pass over every frame, on either end).
 * Plain ws:// to another host keeps the random mask.
 */
function zeroMask(mask: Buffer): void {
  mask[0] = 0;
  mask[1] = 0;
  mask[2] = 0;
  mask[3] = 0;
}

/** True when `url` names a literal loopback address (not a name such as localhost: it could resolve elsewhere). */
function isLoopbackUrl(url: string): boolean {
  try {
    return isLoopbackAddress(new URL(url).hostname.replace(/^\[|\]$/g, ''));
  } catch {
    return false;
  }
}

/** One socket as {@link PeerTransport.links} reports it. */
export interface LinkView {
  node: string | undefined;
  direction: 'in' | 'out';
  state: 'handshake' | 'open' | 'closing';
  /** The link its member currently uses (one per peer once settled). */
  active: boolean;
  /** Frames written and read on this socket so far. */
  framesOut: number;
  framesIn: number;
}

/** What a {@link LinkSet} needs from the transport. */
export interface LinkSetHost {
  readonly log: Logger;
  readonly stats: TransportStats;
  readonly clock: Clock;
  readonly dialer: Dialer;
  readonly maxFrameBytes: number;
  readonly maxPendingHandshakes: number;
  readonly handshakeTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly highWaterBytes: number;
  readonly tls: PeerTls | undefined;
  identity(): LocalIdentity;
  running(): boolean;
  emit(e: TransportEvent): void;
  authenticated(link: Link): void;
  frame(link: Link, frame: Exclude<Frame, { t: 'hello' | 'proof' }>): void;
  /** The link its member was using closed; `byPeer` when the peer sent the close. */
  lost(link: Link, code: number, reason: string, byPeer: boolean): void;
  /** A paused link drained below its low-water mark: flush it again. */
  drained(link: Link): void;
  /** An inbound link authenticated: its connection is no longer pending. */
  settled(req: IncomingMessage): void;
  /** A dial to `url` authenticated as `node`. */
  dialLinked(url: string, node: string): void;
  /** A dial to `url` ended before it authenticated, with the close code and reason of whichever side closed. */
  dialFailed(url: string, code: number, reason: string): void;
}

/**
 * Every socket the node holds, in or out, from the first byte to the close: accepts and
 * dials, reports handshake refusals and protocol errors, tells the dialer how each dial
 * ended, and closes them all on shutdown.
 */
export class LinkSet {
  readonly #h: LinkSetHost;
  readonly #links = new Set<Link>();
  readonly #targets = new Map<Link, DialTarget>();
  /** The upgrade request of each inbound link still in its handshake. */
  readonly #requests = new Map<Link, IncomingMessage>();
  readonly #linkHost: LinkHost;
  /** Peers cut off by a partition drill. */
  readonly #blocked = new Set<string>();
  #emptied: (() => void) | undefined;

  constructor(host: LinkSetHost) {
    this.#h = host;
    const h = host;
    this.#linkHost = {
      get identity(): LocalIdentity {
        return h.identity();
      },
      log: h.log,
      stats: h.stats,
      handshakeTimeoutMs: h.handshakeTimeoutMs,
      closeTimeoutMs: h.closeTimeoutMs,
      highWaterBytes: h.highWaterBytes,
      now: () => h.clock.now(),
      setTimer: (fn, ms) => h.clock.setTimeout(fn, ms),
      clearTimer: (t) => {
        if (t !== undefined) h.clock.clearTimeout(t);
      },
      authenticated: (link) => {
        setMaxPayload(link.ws, h.maxFrameBytes);
        const req = this.#requests.get(link);
        if (req !== undefined) {
          this.#requests.delete(link);
          h.settled(req);
        }
        const t = this.#targets.get(link);
        if (t !== undefined) t.node = link.peer!.nodeId;
        if (!h.running()) return link.close(CLOSE_CODES.goingAway, 'node shutting down');
        if (link.dialUrl !== undefined) h.dialLinked(link.dialUrl, link.peer!.nodeId);
        h.authenticated(link);
      },
      frame: (link, frame) => h.frame(link, frame),
      closed: (link, code, reason) => this.#closed(link, code, reason),
      rejected: (link, code, reason) => {
        h.stats.rejectedLinks++;
        if (isAuthFailure(code)) {
          // a misconfiguration (secret, cluster name, version), not a network fault: say so loudly
          h.log.error({ code: 'TROUPE_ERR_TRANSPORT_AUTH', closeCode: code, reason, peer: link.node, remote: link.remote, direction: link.direction, url: link.dialUrl }, 'peer handshake failed');
        } else {
          h.log.warn({ code, reason, peer: link.node, remote: link.remote, direction: link.direction }, 'peer link rejected');
        }
        h.emit({ type: 'link.rejected', node: link.node, code, reason, remote: link.remote });
      },
      protocolError: (link, reason) => {
        h.stats.protocolErrors++;
        h.log.warn({ code: 'TROUPE_ERR_PROTOCOL_INVALID', reason, peer: link.node, remote: link.remote }, 'peer protocol error; closing link');
        h.emit({ type: 'link.protocol-error', node: link.node, reason, remote: link.remote });
      },
      drained: (link) => h.drained(link),
      admit: (node) => !this.#blocked.has(node),
    };
  }

  /**
   * Cut this node off from `node` (a partition): its links are cut now and every new one,
   * either way, is dropped at its hello until {@link unblock}.
   */
  block(node: string): number {
    this.#blocked.add(node);
    return this.drop(node);
  }

  unblock(node: string): void {
    this.#blocked.delete(node);
  }

  get size(): number {
    return this.#links.size;
  }

  /** An inbound connection on the peer port. */
  accept(ws: WebSocket, req: IncomingMessage): void {
    if (!this.#h.running()) {
      ws.close(CLOSE_CODES.goingAway, 'node not running');
      return;
    }
    let handshaking = 0;
    for (const l of this.#links) if (l.state === 'handshake') handshaking++;
    if (handshaking >= this.#h.maxPendingHandshakes) {
      this.#h.stats.rejectedLinks++;
      ws.close(CLOSE_CODES.tryAgainLater, 'too many pending handshakes');
      return;
    }
    setMaxPayload(ws, HANDSHAKE_MAX_FRAME_BYTES);
    const link = new Link(this.#linkHost, ws, 'in', req.socket.remoteAddress);
    this.#links.add(link);
    this.#requests.set(link, req);
  }

  /** Dial `t.url`; the dialer hears back through {@link Dialer.ended} when the link ends. */
  dial(t: DialTarget): void {
    const h = this.#h;
    if (!h.running()) return h.dialer.ended(t, false);
    const tls = h.tls;
    if (tls !== undefined && !t.url.startsWith('wss://')) {
      // a TLS node never speaks in clear: a plain-ws peer (heard of by gossip) is not dialed
      h.log.warn({ url: t.url }, 'not dialing a plain ws:// peer: this node uses TLS');
      return h.dialer.ended(t, false);
    }
    let ws: WebSocket;
    try {
      ws = new WebSocket(t.url, {
        maxPayload: h.maxFrameBytes,
        perMessageDeflate: false,
        handshakeTimeout: h.handshakeTimeoutMs,
        // wss: the peer's certificate is checked against `ca` (or the system roots); ours
        // goes along for a peer port that requires client certificates
        ...(tls !== undefined ? { cert: tls.cert, key: tls.key, ...(tls.ca !== undefined ? { ca: tls.ca } : {}) } : {}),
        minVersion: 'TLSv1.2',
        ...(tls !== undefined || isLoopbackUrl(t.url) ? { generateMask: zeroMask } : {}),
      });
    } catch (err) {
      h.log.error({ err, url: t.url }, 'cannot dial peer url');
      return h.dialer.ended(t, false);
    }
    // a client socket has its receiver once connected, before it reads a byte
    ws.once('open', () => setMaxPayload(ws, HANDSHAKE_MAX_FRAME_BYTES));
    const link = new Link(this.#linkHost, ws, 'out', undefined, t.url);
    this.#links.add(link);
    this.#targets.set(link, t);
  }

  /** Cut sockets (to `node`, or all) without a close frame; returns how many. */
  drop(node?: string): number {
    let n = 0;
    for (const link of [...this.#links]) {
      if (node === undefined || link.node === node) {
        link.terminate();
        n++;
      }
    }
    return n;
  }

  views(): LinkView[] {
    return [...this.#links].map((l) => ({
      node: l.node,
      direction: l.direction,
      state: l.state === 'closed' || l.closeCode !== undefined ? 'closing' : l.state,
      active: l.member !== undefined && l.member.link === l,
      framesOut: l.framesOut,
      framesIn: l.framesIn,
    }));
  }

  /** Close every socket (cut them when `abrupt`) and resolve once all have closed. */
  closeAll(abrupt: boolean): Promise<void> {
    const done = new Promise<void>((resolve) => {
      this.#emptied = resolve;
    });
    for (const link of [...this.#links]) {
      if (abrupt) link.terminate();
      else link.close(CLOSE_CODES.goingAway, 'node shutting down');
    }
    if (this.#links.size === 0) this.#emptied?.();
    return done;
  }

  #closed(link: Link, code: number, reason: string): void {
    const h = this.#h;
    this.#links.delete(link);
    this.#requests.delete(link);
    const t = this.#targets.get(link);
    this.#targets.delete(link);
    const authenticated = link.member !== undefined;
    if (!authenticated && link.closeCode === undefined && isRejectCode(code)) {
      h.stats.rejectedLinks++;
      h.log.warn({ code, reason, url: link.dialUrl, remote: link.remote }, 'peer refused the link');
      h.emit({ type: 'link.rejected', node: link.node, code, reason, remote: link.remote });
    }
    if (!authenticated && link.dialUrl !== undefined) h.dialFailed(link.dialUrl, code, reason);
    h.emit({ type: 'link.closed', node: link.node, code, reason, direction: link.direction });
    if (link.member !== undefined && link.member.link === link) h.lost(link, code, reason, link.closeCode === undefined);
    if (t !== undefined) {
      if (link.isSelf) t.self = true;
      h.dialer.ended(t, authenticated);
    }
    if (h.running()) h.dialer.reconcile();
    else if (this.#links.size === 0) this.#emptied?.();
  }
}

/** Close codes with which a peer refuses a handshake. */
function isRejectCode(code: number): boolean {
  return (
    code === CLOSE_CODES.auth ||
    code === CLOSE_CODES.clusterMismatch ||
    code === CLOSE_CODES.versionMismatch ||
    code === CLOSE_CODES.selfConnection ||
    code === CLOSE_CODES.handshakeTimeout ||
    code === CLOSE_CODES.tryAgainLater
  );
}
