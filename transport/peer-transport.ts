import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { encodeEnvelope, systemClock, TroupeError, validateEnvelope, type Clock, type Envelope } from '../protocol/index.js';
import type { Dialer } from './dialer.js';
import type { DurableDelivery } from './durable.js';
import { emptyStats, type MemberStatus, type TransportStats } from './events.js';
import { BATCH_OVERHEAD, BYE_BYTES } from './frames.js';
import type { LocalIdentity } from './link.js';
import type { LinkSet, LinkView } from './links.js';
import type { PeerListener } from './listener.js';
import { openListener } from './listen.js';
import { ConnectWaits } from './connects.js';
import { assemble, type TransportParts } from './assembly.js';
import type { Flusher } from './flusher.js';
import type { Ticker } from './ticker.js';
import { ENVELOPE_FRAME_LEVELS, MAX_FRAME_DEPTH, isShallow, msgpackDepthExceeds, tooDeep, valueDepthExceeds } from './depth.js';
import { flushMember, type FlushContext } from './member.js';
import type { Membership, MemberView } from './membership.js';
import { peerUrlSchema, resolvePeerTransportOptions, type PeerTransportOptions, type ResolvedPeerTransportOptions } from './options.js';
import { MemoryInboxStore, MemoryOutboxStore, type InboxStore, type OutboxStore } from './stores.js';

type State = 'new' | 'starting' | 'running' | 'closing' | 'closed';

/**
 * The full-mesh WebSocket peer layer of a troupe node. It listens on a peer port, dials
 * seeds, learns the rest of the cluster by gossip and keeps one authenticated link per
 * peer. Envelopes are queued per peer (bounded) and written once per tick as one batch
 * frame; durable envelopes go through an outbox/inbox pair for exactly-once hand-over.
 * Inbound envelopes reach the node through `onEnvelope`; this layer knows nothing of actors.
 *
 * @example
 * const t = new PeerTransport({ nodeId: 'a', secret, seeds: ['ws://10.0.0.2:7700'], onEnvelope: (env, { fromNode }) => node.deliver(env) });
 * const { url } = await t.start();
 * t.send('b', { id: newId(), to: 'troupe://b/user/echo', type: 'echo.ping', createdAt: Date.now(), payload: {} });
 * await t.close();
 */
export class PeerTransport {
  /** The validated, frozen options. */
  readonly options: ResolvedPeerTransportOptions;
  readonly nodeId: string;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #outbox: OutboxStore;
  readonly #inbox: InboxStore;
  readonly #stats: TransportStats = emptyStats();
  readonly #membership: Membership;
  readonly #links: LinkSet;
  readonly #dialer: Dialer;
  readonly #durable: DurableDelivery;
  readonly #flushCtx: FlushContext;
  readonly #connects: ConnectWaits;
  readonly #flusher: Flusher;
  readonly #ticker: Ticker;
  /** Report envelopes that will not be sent (to onUndelivered, or the log). */
  readonly #undelivered: TransportParts['undelivered'];
  readonly #maxEnvelopeBytes: number;
  #state: State = 'new';
  #identity: LocalIdentity = { nodeId: '', cluster: '', incarnation: '', peerUrl: '', secret: undefined, maxFrameBytes: 0 };
  #incarnation = '';
  #url = '';
  #listener: PeerListener | undefined;
  #startPromise: Promise<{ url: string }> | undefined;
  #closePromise: Promise<void> | undefined;

  constructor(options: PeerTransportOptions) {
    const o = resolvePeerTransportOptions(options);
    this.options = o;
    this.nodeId = o.nodeId;
    // the node's logger already carries the node id
    this.#log = (o.logger ?? pino({ enabled: false })).child({ component: 'transport' });
    this.#clock = o.clock ?? systemClock;
    this.#outbox = o.outbox ?? new MemoryOutboxStore();
    this.#inbox = o.inbox ?? new MemoryInboxStore({ clock: this.#clock });
    this.#maxEnvelopeBytes = o.maxFrameBytes - BATCH_OVERHEAD;
    this.#connects = new ConnectWaits(this.#clock);
    const parts = assemble({
      options: o,
      log: this.#log,
      clock: this.#clock,
      stats: this.#stats,
      outbox: this.#outbox,
      inbox: this.#inbox,
      connects: this.#connects,
      running: () => this.#state === 'running',
      identity: () => this.#identity,
      listener: () => this.#listener,
    });
    this.#dialer = parts.dialer;
    this.#membership = parts.membership;
    this.#durable = parts.durable;
    this.#links = parts.links;
    this.#flushCtx = parts.flushCtx;
    this.#flusher = parts.flusher;
    this.#ticker = parts.ticker;
    this.#undelivered = parts.undelivered;
  }

  /** `ws://host:port` other nodes reach this one at (empty before start). */
  get url(): string {
    return this.#url;
  }

  /** Random id of this start; a restarted node has a new one. */
  get incarnation(): string {
    return this.#incarnation;
  }

  /**
   * Listen on `host:port` and start dialing seeds. Idempotent: calls share one promise.
   * Also re-delivers inbox entries that were stored but never marked done.
   *
   * @example
   * const { url } = await transport.start(); // 'ws://127.0.0.1:39211'
   */
  start(): Promise<{ url: string }> {
    if (this.#state === 'closing' || this.#state === 'closed') {
      return Promise.reject(new TroupeError('TROUPE_ERR_TRANSPORT_CLOSED', `transport is ${this.#state}; create a new one to restart`));
    }
    this.#startPromise ??= this.#start();
    return this.#startPromise;
  }

  async #start(): Promise<{ url: string }> {
    const o = this.options;
    this.#state = 'starting';
    this.#incarnation = randomBytes(12).toString('base64url');
    const opened = await openListener(o, this.#incarnation, {
      clock: this.#clock,
      log: this.#log,
      stats: this.#stats,
      accept: (ws, req) => this.#links.accept(ws, req),
      onListener: (listener) => (this.#listener = listener),
      onFailed: () => (this.#state = 'closed'),
    });
    this.#url = opened.url;
    this.#identity = opened.identity;
    this.#membership.setSelf(this.#url, this.#incarnation);
    if (this.#state !== 'starting') return { url: this.#url }; // closed while listening
    this.#state = 'running';
    const redelivered = this.#durable.redeliverPending();
    if (redelivered > 0) this.#log.info({ count: redelivered }, 're-delivered pending inbox entries');
    this.#ticker.start();
    for (const seed of o.seeds) if (seed !== this.#url) this.#dialer.want(seed, { seed: true });
    this.#log.info({ url: this.#url, incarnation: this.#incarnation, seeds: o.seeds.length }, 'peer transport listening');
    return { url: this.#url };
  }

  /**
   * Queue `env` for `node`; it is written at the end of this tick in one batch frame with
   * everything else queued for that node. Delivery is at most once (use
   * {@link PeerTransport.sendDurable} for at least once, deduplicated).
   *
   * @throws TroupeError TROUPE_ERR_PROTOCOL_INVALID for an envelope the peer would refuse
   *   (checked here, so one bad envelope never costs the link and the batch it rides in),
   *   TROUPE_ERR_TRANSPORT_NODE_DOWN when `node` is unknown or down,
   *   TROUPE_ERR_TRANSPORT_QUEUE_FULL past `maxQueue`/`maxQueueBytes`,
   *   TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE when the envelope alone exceeds a frame (found
   *   here for an envelope packed at once; one packed with its batch at the flush that turns
   *   out too large is reported to `onUndelivered` instead),
   *   TROUPE_ERR_TRANSPORT_CLOSED when not running.
   * `checked`: the caller built `env` from parts already validated (a reply to an address
   * that arrived in a checked envelope), so the check is skipped. On a flowing link `env` is
   * packed at the flush, later in this tick: do not change it after sending.
   *
   * @example
   * transport.send('b', env);
   */
  send(node: string, env: Envelope, checked = false): void {
    if (this.#state !== 'running') throw new TroupeError('TROUPE_ERR_TRANSPORT_CLOSED', `transport is ${this.#state}`);
    const m = this.#membership.get(node);
    if (m === undefined || m.status === 'down' || m.status === 'joining' || m === this.#membership.self) {
      throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', m === this.#membership.self ? `cannot send to self (${node}) over the transport` : `node '${node}' is ${m ? 'down' : 'unknown'}`, { details: { node } });
    }
    if (m.parts.length - m.head >= this.options.maxQueue || m.queuedBytes >= this.options.maxQueueBytes) {
      this.#stats.queueFull++;
      throw new TroupeError('TROUPE_ERR_TRANSPORT_QUEUE_FULL', `outbound queue to '${node}' is full (${m.queued} envelopes, ${m.queuedBytes} bytes)`, { details: { node } });
    }
    const valid = checked ? env : validateEnvelope(env); // its fast path first
    const link = m.link;
    if (link !== undefined && link.isOpen && !link.paused) {
      // flowing: it leaves with this tick's batch, packed with it in one call
      m.parts.push(valid);
      if (!m.mayNest && !isShallow(valid.payload)) m.mayNest = true;
    } else {
      // backed up or not linked: packed now, so the queue's bytes are known and bounded
      let bytes: Buffer;
      try {
        bytes = encodeEnvelope(valid);
      } catch (cause) {
        throw new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `cannot encode a message to '${node}': ${(cause as Error)?.message ?? String(cause)}`, { cause });
      }
      if (bytes.byteLength > this.#maxEnvelopeBytes) {
        throw new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `envelope of ${bytes.byteLength} bytes exceeds the ${this.#maxEnvelopeBytes}-byte frame limit`);
      }
      if (msgpackDepthExceeds(bytes, MAX_FRAME_DEPTH - ENVELOPE_FRAME_LEVELS)) throw tooDeep(node);
      m.parts.push(bytes);
      m.queuedBytes += bytes.byteLength;
    }
    if (m.parts.length - m.head >= this.options.maxBatch && m.link !== undefined && !m.link.paused) {
      // A full batch need not wait for the tick: keeps frames bounded and the queue short.
      flushMember(m, this.#flushCtx);
    }
    if (m.head < m.parts.length) this.#flusher.markDirty(m);
  }

  /**
   * Commit `env` to the outbox for `node`, then deliver it: re-sent after every reconnect
   * (and after a restart, from a persisted outbox) until the receiver acknowledges having
   * persisted it; the receiver hands it to its node exactly once. Resolves once committed.
   * Works for a node that is down or not yet known; it is sent when a link comes up. One
   * that turns out too large for that node's (smaller) frame limit is dropped from the
   * outbox and reported to `onUndelivered`.
   *
   * @throws TroupeError (as a rejection, with nothing committed) TROUPE_ERR_PROTOCOL_INVALID
   *   for an envelope that fails validation, TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE when it
   *   cannot fit a `durable` frame of `maxFrameBytes`, TROUPE_ERR_TRANSPORT_CLOSED when
   *   closing, TROUPE_ERR_STORAGE_FULL when the outbox for `node` is full.
   *
   * @example
   * await transport.sendDurable('b', { ...env, durable: true });
   */
  async sendDurable(node: string, env: Envelope): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new TroupeError('TROUPE_ERR_TRANSPORT_CLOSED', `transport is ${this.#state}`);
    if (node === this.nodeId) throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `cannot send to self (${node}) over the transport`);
    // refused here, or the peer would refuse it after every reconnect, forever
    if (valueDepthExceeds(env, MAX_FRAME_DEPTH - ENVELOPE_FRAME_LEVELS)) throw tooDeep(node);
    await this.#durable.send(node, env);
  }

  /**
   * The cluster as this node sees it, self first (always up). Nodes only heard of by
   * gossip and never reached are not listed until they are up.
   *
   * @example
   * transport.members(); // [{ node: 'a', peer: 'ws://127.0.0.1:7700', status: 'up', incarnation: '...' }, ...]
   */
  members(): MemberView[] {
    return this.#membership.views();
  }

  /** Status of `node` (`undefined` when unknown or never reached). */
  status(node: string): MemberStatus | undefined {
    const m = this.#membership.get(node);
    return m === undefined || m.status === 'joining' ? undefined : m.status;
  }

  /**
   * Dial `url` as an extra seed, now and after every loss, like a seed given at start.
   *
   * @example
   * transport.addSeed('ws://10.0.0.3:7700');
   */
  addSeed(url: string): void {
    const r = peerUrlSchema.safeParse(url);
    if (!r.success) throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `invalid seed url '${url}': expected ws://host:port`);
    if (this.#state !== 'running') throw new TroupeError('TROUPE_ERR_TRANSPORT_CLOSED', `transport is ${this.#state}`);
    if (url !== this.#url) this.#dialer.want(url, { seed: true });
  }

  /**
   * Dial `url` (kept as a seed, like {@link PeerTransport.addSeed}) and wait for the outcome:
   * resolves with the node id behind it once a link authenticates.
   *
   * @throws TroupeError (as a rejection) TROUPE_ERR_TRANSPORT_AUTH when the handshake fails
   *   on the cluster secret, the cluster name or the protocol version (refused by either
   *   side: a configuration to fix, not a fault to wait out), TROUPE_ERR_TRANSPORT_NODE_DOWN
   *   when no link came up within `timeoutMs` (default: twice the handshake timeout),
   *   TROUPE_ERR_CONFIG_INVALID for a bad URL, TROUPE_ERR_TRANSPORT_CLOSED when not running.
   *
   * @example
   * const node = await transport.connect('wss://10.0.0.3:7700'); // 'b'
   */
  connect(url: string, options: { timeoutMs?: number } = {}): Promise<string> {
    try {
      this.addSeed(url);
    } catch (e) {
      return Promise.reject(e);
    }
    if (url === this.#url) return Promise.reject(new TroupeError('TROUPE_ERR_CONFIG_INVALID', `${url} is this node's own address`));
    const linked = this.#membership.values();
    for (const m of linked) {
      if (m !== this.#membership.self && m.peer === url && m.link?.isOpen === true) return Promise.resolve(m.node);
    }
    return this.#connects.wait(url, options.timeoutMs ?? 2 * this.options.handshakeTimeoutMs);
  }

  /**
   * The sockets this node holds, for inspection: one `open` link per peer once settled;
   * others are handshaking or on their way out (duplicates, superseded).
   */
  links(): LinkView[] {
    return this.#links.views();
  }

  /**
   * Connections to the peer port accepted and not yet authenticated (at most
   * `maxPendingHandshakes`; each dropped after `handshakeTimeoutMs` without an upgrade).
   */
  pendingConnections(): number {
    return this.#listener?.pending ?? 0;
  }

  /** A snapshot of the counters. */
  stats(): TransportStats {
    return { ...this.#stats };
  }

  /** Envelopes queued (not yet written) for `node`, or for all nodes. */
  queued(node?: string): number {
    if (node !== undefined) return this.#membership.get(node)?.queued ?? 0;
    let n = 0;
    for (const m of this.#membership.values()) n += m.queued;
    return n;
  }

  /** Durable envelopes committed and not yet acknowledged, for `node` or all. */
  pendingDurable(node?: string): number {
    return this.#outbox.size(node);
  }

  /**
   * Cut links abruptly, as a network fault would (no close frame, no goodbye): to `node`,
   * or all. Links reconnect by themselves. For chaos tests and drills.
   *
   * @example
   * transport.dropLinks('b'); // returns how many sockets were cut
   */
  dropLinks(node?: string): number {
    return this.#links.drop(node);
  }

  /**
   * Partition this node from `node` until the returned function heals it: links to it are cut
   * (no close frame) and new ones, dialed or accepted, are dropped at the peer's hello, so
   * heartbeats stop both ways and each side's failure detector sees suspect, then down. After
   * the heal the dialers reconnect. For the partition drill.
   *
   * @example
   * const heal = transport.partition('b'); // ... heal();
   */
  partition(node: string): () => void {
    this.#links.block(node);
    return () => this.#links.unblock(node);
  }

  /**
   * Stop: no new links, flush what is queued, say goodbye (peers mark this node down at
   * once), close links and the server. Idempotent; concurrent calls share one promise.
   * `abrupt: true` skips the flush and goodbye and cuts the sockets, which peers cannot tell
   * from a crash (for failure-detection tests).
   *
   * @example
   * await transport.close();
   */
  close(options: { abrupt?: boolean } = {}): Promise<void> {
    this.#closePromise ??= this.#close(options.abrupt === true);
    return this.#closePromise;
  }

  async #close(abrupt: boolean): Promise<void> {
    const wasStarting = this.#state === 'starting';
    this.#state = 'closing';
    if (wasStarting) await this.#startPromise?.catch(() => undefined);
    this.#ticker.stop();
    this.#dialer.stop();
    this.#connects.closeAll();
    if (!abrupt) {
      this.#flusher.flushAll();
      for (const m of this.#membership.values()) m.link?.send(BYE_BYTES);
    }
    const linksClosed = this.#links.closeAll(abrupt);
    for (const m of this.#membership.values()) {
      if (m !== this.#membership.self) this.#undelivered(m.node, m.drain(), 'transport closed');
    }
    await Promise.all([linksClosed, this.#listener?.close()]);
    this.#state = 'closed';
    this.#log.info('peer transport closed');
  }
}
