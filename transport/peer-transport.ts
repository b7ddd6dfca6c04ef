import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { decode, encodeEnvelope, isLoopbackHost, systemClock, TroupeError, validateEnvelope, type Clock, type Envelope } from '../protocol/index.js';
import { Dialer } from './dialer.js';
import { DurableDelivery } from './durable.js';
import { emptyStats, type MemberStatus, type TransportEvent, type TransportStats } from './events.js';
import { BATCH_OVERHEAD, BYE_BYTES, HEARTBEAT_BYTES, type Frame } from './frames.js';
import type { Link, LocalIdentity } from './link.js';
import { LinkSet, type LinkView } from './links.js';
import { PeerListener } from './listener.js';
import { ConnectWaits } from './connects.js';
import { ENVELOPE_FRAME_LEVELS, MAX_FRAME_DEPTH, msgpackDepthExceeds, valueDepthExceeds } from './depth.js';
import { flushMember, type FlushContext, type Member, type QueuedEnvelope } from './member.js';
import { Membership, type MemberView } from './membership.js';
import { peerUrlSchema, resolvePeerTransportOptions, type EnvelopeMeta, type PeerTransportOptions, type ResolvedPeerTransportOptions } from './options.js';
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
  readonly #tickMs: number;
  readonly #maxEnvelopeBytes: number;
  /** Autocork limit in ms (the option is in µs). */
  readonly #corkMaxMs: number;
  #state: State = 'new';
  #identity: LocalIdentity = { nodeId: '', cluster: '', incarnation: '', peerUrl: '', secret: undefined, maxFrameBytes: 0 };
  #incarnation = '';
  #url = '';
  #listener: PeerListener | undefined;
  #startPromise: Promise<{ url: string }> | undefined;
  #closePromise: Promise<void> | undefined;
  #dirty: Member[] = [];
  #flushScheduled = false;
  #gossipDirty = false;
  #tickTimer: unknown;
  #lastTick = 0;
  #lastHeartbeat = 0;
  #lastGossip = 0;
  #lastRetry = 0;
  #lastPrune = 0;

  constructor(options: PeerTransportOptions) {
    const o = resolvePeerTransportOptions(options);
    this.options = o;
    this.nodeId = o.nodeId;
    // the node's logger already carries the node id
    this.#log = (o.logger ?? pino({ enabled: false })).child({ component: 'transport' });
    this.#clock = o.clock ?? systemClock;
    this.#outbox = o.outbox ?? new MemoryOutboxStore();
    this.#inbox = o.inbox ?? new MemoryInboxStore({ clock: this.#clock });
    this.#tickMs = Math.max(5, Math.floor(o.heartbeatMs / 8));
    this.#maxEnvelopeBytes = o.maxFrameBytes - BATCH_OVERHEAD;
    this.#corkMaxMs = o.corkMaxUs / 1000;
    this.#connects = new ConnectWaits(this.#clock);
    const setTimer = (fn: () => void, ms: number) => this.#clock.setTimeout(fn, ms);
    const clearTimer = (h: unknown) => {
      if (h !== undefined) this.#clock.clearTimeout(h);
    };
    this.#dialer = new Dialer({
      selfNode: o.nodeId,
      backoff: o.reconnect,
      deferMs: o.heartbeatMs,
      setTimer,
      clearTimer,
      satisfied: (t) => t.node !== undefined && this.#membership.get(t.node)?.link?.isOpen === true,
      dial: (t) => this.#links.dial(t),
    });
    this.#membership = new Membership({
      nodeId: o.nodeId,
      heartbeatMs: o.heartbeatMs,
      suspectAfterMisses: o.suspectAfterMisses,
      downAfterMisses: o.downAfterMisses,
      maxMembers: o.maxMembers,
      forgetAfterMs: o.forgetAfterMs,
      log: this.#log,
      stats: this.#stats,
      dialer: this.#dialer,
      now: () => this.#clock.now(),
      emit: (e) => this.#emit(e),
      undelivered: (node, parts, reason) => this.#undelivered(node, parts, reason),
      gossipSoon: () => this.#gossipSoon(),
    });
    this.#durable = new DurableDelivery({
      outbox: this.#outbox,
      inbox: this.#inbox,
      log: this.#log,
      stats: this.#stats,
      window: o.durableWindow,
      retryMs: o.durableRetryMs,
      maxFrameBytes: o.maxFrameBytes,
      now: () => this.#clock.now(),
      running: () => this.#state === 'running',
      member: (node) => this.#membership.get(node),
      markDirty: (m) => this.#markDirty(m),
      deliver: (env, meta) => this.#deliver(env, meta),
      undelivered: (node, parts, error) => this.#undelivered(node, parts, error.message, error),
    });
    this.#links = new LinkSet({
      log: this.#log,
      stats: this.#stats,
      clock: this.#clock,
      dialer: this.#dialer,
      maxFrameBytes: o.maxFrameBytes,
      maxPendingHandshakes: o.maxPendingHandshakes,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      closeTimeoutMs: o.closeTimeoutMs,
      highWaterBytes: o.highWaterBytes,
      tls: o.tls,
      identity: () => this.#identity,
      running: () => this.#state === 'running',
      emit: (e) => this.#emit(e),
      authenticated: (link) => this.#onAuthenticated(link),
      frame: (link, frame) => this.#onFrame(link, frame),
      lost: (link, code, reason, byPeer) => {
        this.#log.info({ peer: link.node, code, reason }, 'peer link closed');
        this.#membership.detach(link.member!, link, code, byPeer);
      },
      drained: (link) => {
        if (link.member !== undefined && link.member.link === link) this.#markDirty(link.member);
      },
      settled: (req) => this.#listener?.settled(req),
      dialLinked: (url, node) => this.#connects.linked(url, node),
      dialFailed: (url, code, reason) => this.#connects.failed(url, code, reason),
    });
    this.#flushCtx = {
      maxBatch: o.maxBatch,
      maxFrameBytes: o.maxFrameBytes,
      stats: this.#stats,
      tooLarge: (m, bytes) =>
        this.#undelivered(m.node, [bytes], 'envelope larger than the peer frame limit', new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `envelope too large for the frame limit of '${m.node}'`, { details: { node: m.node } })),
      durableTooLarge: (m, item) => this.#durable.tooLarge(m, item),
      unencodable: (m, env, error) =>
        this.#undelivered(m.node, [env], 'envelope could not be encoded', new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `cannot encode a message to '${m.node}': ${(error as Error)?.message ?? String(error)}`, { cause: error, details: { node: m.node } })),
    };
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
    const listener = new PeerListener({
      host: o.host,
      port: o.port,
      tls: o.tls,
      maxFrameBytes: o.maxFrameBytes,
      maxPending: o.maxPendingHandshakes,
      timeoutMs: o.handshakeTimeoutMs,
      clock: this.#clock,
      log: this.#log,
      stats: this.#stats,
      accept: (ws, req) => this.#links.accept(ws, req),
    });
    this.#listener = listener;
    let port: number;
    try {
      port = await listener.listen();
    } catch (cause) {
      this.#state = 'closed';
      throw new TroupeError('TROUPE_ERR_TRANSPORT_LISTEN', `cannot listen on ${o.host}:${o.port}: ${(cause as Error).message}`, { cause });
    }
    const scheme = o.tls !== undefined ? 'wss' : 'ws';
    this.#url = o.publicUrl ?? `${scheme}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
    this.#identity = Object.freeze({
      nodeId: o.nodeId,
      cluster: o.clusterName,
      incarnation: this.#incarnation,
      peerUrl: this.#url,
      secret: o.secret,
      maxFrameBytes: o.maxFrameBytes,
    });
    const now = this.#clock.now();
    this.#membership.setSelf(this.#url, this.#incarnation);
    if (o.secret === undefined && !isLoopbackHost(o.host)) {
      this.#log.warn({ host: o.host }, 'no cluster secret: only loopback peers will be accepted');
    }
    if (o.publicUrl === undefined && (o.host === '0.0.0.0' || o.host === '::')) {
      this.#log.warn({ url: this.#url }, 'listening on all interfaces without publicUrl: other nodes will be told an address they cannot dial');
    }
    if (this.#state !== 'starting') return { url: this.#url }; // closed while listening
    this.#state = 'running';
    this.#lastTick = this.#lastHeartbeat = this.#lastGossip = this.#lastRetry = this.#lastPrune = now;
    const redelivered = this.#durable.redeliverPending();
    if (redelivered > 0) this.#log.info({ count: redelivered }, 're-delivered pending inbox entries');
    this.#scheduleTick();
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
    if (m.head < m.parts.length) this.#markDirty(m);
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
    this.#clock.clearTimeout(this.#tickTimer);
    this.#tickTimer = undefined;
    this.#dialer.stop();
    this.#connects.closeAll();
    if (!abrupt) {
      this.#flushAll();
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

  // ---- inbound ---------------------------------------------------------------------------

  #onAuthenticated(link: Link): void {
    const m = this.#membership.attach(link);
    if (m === undefined) return;
    link.send(this.#membership.gossipFrame()); // the newcomer learns everyone at once
    this.#durable.pump(m);
    this.#markDirty(m);
  }

  #onFrame(link: Link, frame: Exclude<Frame, { t: 'hello' | 'proof' }>): void {
    const m = link.member!;
    if (link.peer!.incarnation === m.incarnation && link.lastSeen > m.lastSeen) m.lastSeen = link.lastSeen;
    switch (frame.t) {
      case 'batch': {
        const envs = frame.envs;
        const meta = link.meta!;
        this.#stats.envelopesIn += envs.length;
        for (let i = 0; i < envs.length; i++) this.#deliver(envs[i]!, meta);
        return;
      }
      case 'durable': {
        const err = this.#durable.receive(m, m.node, frame.items);
        if (err !== undefined) link.protocolError(err);
        return;
      }
      case 'ack':
        return this.#durable.acked(m, frame.ids);
      case 'gossip':
        return this.#membership.merge(frame.members);
      case 'bye':
        if (link.peer!.incarnation === m.incarnation) this.#membership.markDown(m, 'left');
        return;
      case 'hb':
        return;
    }
  }

  // ---- membership ------------------------------------------------------------------------

  #gossipSoon(): void {
    this.#gossipDirty = true;
    this.#scheduleFlush();
  }

  /** Report envelopes that will not be sent; `error` (default NODE_DOWN) says why to onUndelivered. */
  #undelivered(node: string, parts: QueuedEnvelope[], reason: string, error?: TroupeError): void {
    if (parts.length === 0) return;
    this.#stats.undelivered += parts.length;
    this.#emit({ type: 'envelopes.undelivered', node, count: parts.length, reason });
    const cb = this.options.onUndelivered;
    if (cb === undefined) {
      this.#log.warn({ peer: node, count: parts.length, reason }, 'queued envelopes not delivered');
      return;
    }
    try {
      cb(node, parts.map((p) => (p instanceof Uint8Array ? decode(p, Number.MAX_SAFE_INTEGER) as Envelope : p)), error ?? new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `not delivered to '${node}': ${reason}`, { details: { node } }));
    } catch (err) {
      this.#log.error({ err }, 'onUndelivered threw');
    }
  }

  // ---- tick: heartbeats, failure detection, gossip, retries --------------------------------

  #scheduleTick(): void {
    this.#tickTimer = this.#clock.setTimeout(() => this.#tick(), this.#tickMs);
  }

  #tick(): void {
    this.#tickTimer = undefined;
    if (this.#state !== 'running') return;
    const o = this.options;
    const now = this.#clock.now();
    const gap = now - this.#lastTick;
    this.#lastTick = now;
    if (gap > 2 * this.#tickMs) {
      // Our own event loop stalled: we could not have read heartbeats, so the silence is
      // ours, not the peers'. Do not count it against them. (So silence grows by at most
      // two ticks between checks, which #detectFailures relies on.)
      this.#membership.forgive(gap - this.#tickMs, now);
    }
    if (now - this.#lastHeartbeat >= o.heartbeatMs) {
      this.#lastHeartbeat = now;
      for (const m of this.#membership.values()) if (m.link?.isOpen) m.link.send(HEARTBEAT_BYTES);
    }
    // Write callbacks resume paused links; this is the backstop should one not come.
    for (const m of this.#membership.values()) m.link?.checkDrained();
    this.#membership.detectFailures(now, this.#tickMs);
    if (now - this.#lastGossip >= o.gossipMs) {
      this.#lastGossip = now;
      this.#gossipSoon();
    }
    if (now - this.#lastRetry >= o.durableRetryMs / 2) {
      this.#lastRetry = now;
      for (const m of this.#membership.values()) if (m.inflight.size > 0) this.#durable.retry(m, now);
    }
    if (now - this.#lastPrune >= o.pruneIntervalMs) {
      this.#lastPrune = now;
      this.#inbox.prune(o.inboxRetentionMs).catch((err: unknown) => this.#log.error({ err }, 'inbox prune failed'));
    }
    this.#dialer.reconcile();
    this.#scheduleTick();
  }

  // ---- flushing ----------------------------------------------------------------------------

  #markDirty(m: Member): void {
    if (!m.dirty) {
      m.dirty = true;
      this.#dirty.push(m);
    }
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(this.#flushAll);
  }

  readonly #flushAll = (): void => {
    this.#flushScheduled = false;
    if (this.#gossipDirty && this.#state === 'running') {
      this.#gossipDirty = false;
      const frame = this.#membership.gossipFrame();
      for (const m of this.#membership.values()) if (m.link?.isOpen) m.link.send(frame);
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
      try {
        flushMember(m, this.#flushCtx);
      } catch (err) {
        // a bug of ours must not stop the other members' flushes
        this.#log.error({ err, peer: m.node }, 'flushing a peer queue failed');
      }
    }
    if (this.#dirty.length > 0) this.#scheduleFlush();
  };

  /** Wait one more turn for this member? Only while its queue grows each turn, up to corkMaxUs. */
  #corked(m: Member, now: number): boolean {
    const max = this.#corkMaxMs;
    const queued = m.parts.length - m.head;
    if (max === 0 || queued === 0 || queued >= this.options.maxBatch || m.link === undefined || m.link.paused || this.#state !== 'running') return false;
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

  #deliver(env: Envelope, meta: EnvelopeMeta): void {
    try {
      this.options.onEnvelope(env, meta);
    } catch (err) {
      this.#log.error({ err, id: env.id }, 'onEnvelope threw');
    }
  }

  #emit(e: TransportEvent): void {
    const cb = this.options.onEvent;
    if (cb === undefined) return;
    try {
      cb(e);
    } catch (err) {
      this.#log.error({ err, event: e.type }, 'onEvent threw');
    }
  }
}

function tooDeep(node: string): TroupeError {
  return new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `a message to '${node}' nests arrays or objects deeper than ${MAX_FRAME_DEPTH - ENVELOPE_FRAME_LEVELS} levels`, { details: { node } });
}
