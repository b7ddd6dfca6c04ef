import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { WebSocket, WebSocketServer } from 'ws';
import { decode, encode, encodeEnvelope, systemClock, TroupeError, type Clock, type Envelope } from '../protocol/index.js';
import { CLOSE_CODES } from './close-codes.js';
import { Dialer, type DialTarget } from './dialer.js';
import { DurableDelivery } from './durable.js';
import { emptyStats, type DownReason, type MemberStatus, type TransportEvent, type TransportStats } from './events.js';
import { BATCH_OVERHEAD, BYE_BYTES, HEARTBEAT_BYTES, type Frame, type MemberInfo } from './frames.js';
import { Link, type LinkHost, type LocalIdentity } from './link.js';
import { flushMember, Member, type FlushContext } from './member.js';
import { peerUrlSchema, resolvePeerTransportOptions, type EnvelopeMeta, type PeerTransportOptions, type ResolvedPeerTransportOptions } from './options.js';
import { MemoryInboxStore, MemoryOutboxStore, type InboxStore, type OutboxStore } from './stores.js';

/** A member as {@link PeerTransport.members} reports it. */
export interface MemberView {
  node: string;
  peer: string;
  status: MemberStatus;
  incarnation: string;
}

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
  readonly #members = new Map<string, Member>();
  readonly #links = new Set<Link>();
  readonly #linkTarget = new Map<Link, DialTarget>();
  readonly #dialer: Dialer;
  readonly #durable: DurableDelivery;
  readonly #linkHost: LinkHost;
  readonly #flushCtx: FlushContext;
  readonly #tickMs: number;
  readonly #maxEnvelopeBytes: number;
  #state: State = 'new';
  #identity: LocalIdentity = { nodeId: '', cluster: '', incarnation: '', peerUrl: '', secret: undefined, maxFrameBytes: 0 };
  #incarnation = '';
  #url = '';
  #self: Member | undefined;
  #wss: WebSocketServer | undefined;
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
  #linksDrained: (() => void) | undefined;
  #warnedFull = false;

  constructor(options: PeerTransportOptions) {
    const o = resolvePeerTransportOptions(options);
    this.options = o;
    this.nodeId = o.nodeId;
    // the node's logger already carries the node id
    this.#log = (o.logger ?? pino({ enabled: false })).child({ component: 'transport' });
    this.#clock = o.clock ?? systemClock;
    this.#outbox = o.outbox ?? new MemoryOutboxStore();
    this.#inbox = o.inbox ?? new MemoryInboxStore(this.#clock);
    this.#tickMs = Math.max(5, Math.floor(o.heartbeatMs / 4));
    this.#maxEnvelopeBytes = o.maxFrameBytes - BATCH_OVERHEAD;
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
      satisfied: (t) => t.node !== undefined && this.#members.get(t.node)?.link?.isOpen === true,
      dial: (t) => this.#dial(t),
    });
    this.#durable = new DurableDelivery({
      outbox: this.#outbox,
      inbox: this.#inbox,
      log: this.#log,
      stats: this.#stats,
      window: o.durableWindow,
      retryMs: o.durableRetryMs,
      maxEnvelopeBytes: this.#maxEnvelopeBytes,
      now: () => this.#clock.now(),
      member: (node) => this.#members.get(node),
      markDirty: (m) => this.#markDirty(m),
      deliver: (env, meta) => this.#deliver(env, meta),
    });
    const self = this;
    this.#linkHost = {
      get identity(): LocalIdentity {
        return self.#identity;
      },
      log: this.#log,
      stats: this.#stats,
      handshakeTimeoutMs: o.handshakeTimeoutMs,
      closeTimeoutMs: o.closeTimeoutMs,
      highWaterBytes: o.highWaterBytes,
      now: () => this.#clock.now(),
      setTimer,
      clearTimer,
      authenticated: (link) => this.#onAuthenticated(link),
      frame: (link, frame) => this.#onFrame(link, frame),
      closed: (link, code, reason) => this.#onLinkClosed(link, code, reason),
      rejected: (link, code, reason) => {
        this.#stats.rejectedLinks++;
        this.#log.warn({ code, reason, peer: link.node, remote: link.remote, direction: link.direction }, 'peer link rejected');
        this.#emit({ type: 'link.rejected', node: link.node, code, reason, remote: link.remote });
      },
      protocolError: (link, reason) => {
        this.#stats.protocolErrors++;
        this.#log.warn({ reason, peer: link.node, remote: link.remote }, 'peer protocol error; closing link');
        this.#emit({ type: 'link.protocol-error', node: link.node, reason, remote: link.remote });
      },
      drained: (link) => {
        const m = link.member;
        if (m !== undefined && m.link === link) this.#markDirty(m);
      },
    };
    this.#flushCtx = {
      maxBatch: o.maxBatch,
      maxFrameBytes: o.maxFrameBytes,
      stats: this.#stats,
      tooLarge: (m, bytes) => this.#undelivered(m.node, [bytes], 'envelope larger than the peer frame limit'),
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
    const wss = new WebSocketServer({
      host: o.host,
      port: o.port,
      maxPayload: o.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    });
    this.#wss = wss;
    try {
      await new Promise<void>((resolve, reject) => {
        wss.once('listening', resolve);
        wss.once('error', reject);
      });
    } catch (cause) {
      this.#state = 'closed';
      throw new TroupeError('TROUPE_ERR_TRANSPORT_LISTEN', `cannot listen on ${o.host}:${o.port}: ${(cause as Error).message}`, { cause });
    }
    wss.on('error', (err) => this.#log.error({ err }, 'peer server error'));
    wss.on('connection', (ws, req) => this.#accept(ws, req));
    const port = (wss.address() as AddressInfo).port;
    this.#url = o.publicUrl ?? `ws://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
    this.#identity = Object.freeze({
      nodeId: o.nodeId,
      cluster: o.clusterName,
      incarnation: this.#incarnation,
      peerUrl: this.#url,
      secret: o.secret,
      maxFrameBytes: o.maxFrameBytes,
    });
    const now = this.#clock.now();
    this.#self = new Member(o.nodeId, this.#url, this.#incarnation, 'up', now);
    this.#members.set(o.nodeId, this.#self);
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
   * @throws TroupeError TROUPE_ERR_TRANSPORT_NODE_DOWN when `node` is unknown or down,
   *   TROUPE_ERR_TRANSPORT_QUEUE_FULL past `maxQueue`/`maxQueueBytes`,
   *   TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE when the envelope alone exceeds a frame,
   *   TROUPE_ERR_TRANSPORT_CLOSED when not running.
   * @example
   * transport.send('b', env);
   */
  send(node: string, env: Envelope): void {
    if (this.#state !== 'running') throw new TroupeError('TROUPE_ERR_TRANSPORT_CLOSED', `transport is ${this.#state}`);
    const m = this.#members.get(node);
    if (m === undefined || m.status === 'down' || m.status === 'joining' || m === this.#self) {
      throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', m === this.#self ? `cannot send to self (${node}) over the transport` : `node '${node}' is ${m ? 'down' : 'unknown'}`, { details: { node } });
    }
    if (m.parts.length - m.head >= this.options.maxQueue || m.queuedBytes >= this.options.maxQueueBytes) {
      this.#stats.queueFull++;
      throw new TroupeError('TROUPE_ERR_TRANSPORT_QUEUE_FULL', `outbound queue to '${node}' is full (${m.queued} envelopes, ${m.queuedBytes} bytes)`, { details: { node } });
    }
    const bytes = encodeEnvelope(env);
    if (bytes.byteLength > this.#maxEnvelopeBytes) {
      throw new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `envelope of ${bytes.byteLength} bytes exceeds the ${this.#maxEnvelopeBytes}-byte frame limit`);
    }
    m.parts.push(bytes);
    m.queuedBytes += bytes.byteLength;
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
   * Works for a node that is down or not yet known; it is sent when a link comes up.
   *
   * @example
   * await transport.sendDurable('b', { ...env, durable: true });
   */
  async sendDurable(node: string, env: Envelope): Promise<void> {
    if (this.#state === 'closing' || this.#state === 'closed') throw new TroupeError('TROUPE_ERR_TRANSPORT_CLOSED', `transport is ${this.#state}`);
    if (node === this.nodeId) throw new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `cannot send to self (${node}) over the transport`);
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
    const out: MemberView[] = [];
    for (const m of this.#members.values()) {
      if (m.status === 'joining') continue;
      const v = { node: m.node, peer: m.peer, status: m.status, incarnation: m.incarnation };
      if (m === this.#self) out.unshift(v);
      else out.push(v);
    }
    return out;
  }

  /** Status of `node` (`undefined` when unknown or never reached). */
  status(node: string): MemberStatus | undefined {
    const m = this.#members.get(node);
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
   * The sockets this node holds, for inspection: one `open` link per peer once settled;
   * others are handshaking or on their way out (duplicates, superseded).
   */
  links(): Array<{ node: string | undefined; direction: 'in' | 'out'; state: 'handshake' | 'open' | 'closing'; active: boolean }> {
    return [...this.#links].map((l) => ({
      node: l.node,
      direction: l.direction,
      state: l.state === 'closed' || l.closeCode !== undefined ? 'closing' : l.state,
      active: l.member !== undefined && l.member.link === l,
    }));
  }

  /** A snapshot of the counters. */
  stats(): TransportStats {
    return { ...this.#stats };
  }

  /** Envelopes queued (not yet written) for `node`, or for all nodes. */
  queued(node?: string): number {
    if (node !== undefined) return this.#members.get(node)?.queued ?? 0;
    let n = 0;
    for (const m of this.#members.values()) n += m.queued;
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
    let n = 0;
    for (const link of [...this.#links]) {
      if (node === undefined || link.node === node) {
        link.terminate();
        n++;
      }
    }
    return n;
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
    if (!abrupt) {
      this.#flushAll();
      for (const m of this.#members.values()) m.link?.send(BYE_BYTES);
    }
    const drained = new Promise<void>((resolve) => {
      this.#linksDrained = resolve;
    });
    for (const link of [...this.#links]) {
      if (abrupt) link.terminate();
      else link.close(CLOSE_CODES.goingAway, 'node shutting down');
    }
    for (const m of this.#members.values()) {
      if (m !== this.#self) this.#undelivered(m.node, m.drain(), 'transport closed');
    }
    if (this.#links.size === 0) this.#linksDrained?.();
    const wss = this.#wss;
    await Promise.all([
      drained,
      wss === undefined ? undefined : new Promise<void>((resolve) => wss.close(() => resolve())),
    ]);
    this.#state = 'closed';
    this.#log.info('peer transport closed');
  }

  // ---- links -----------------------------------------------------------------------------

  #accept(ws: WebSocket, req: IncomingMessage): void {
    if (this.#state !== 'running') {
      ws.close(CLOSE_CODES.goingAway, 'node not running');
      return;
    }
    let handshaking = 0;
    for (const l of this.#links) if (l.state === 'handshake') handshaking++;
    if (handshaking >= this.options.maxPendingHandshakes) {
      this.#stats.rejectedLinks++;
      ws.close(CLOSE_CODES.tryAgainLater, 'too many pending handshakes');
      return;
    }
    this.#links.add(new Link(this.#linkHost, ws, 'in', req.socket.remoteAddress));
  }

  #dial(t: DialTarget): void {
    if (this.#state !== 'running') return this.#dialer.ended(t, false);
    let ws: WebSocket;
    try {
      ws = new WebSocket(t.url, {
        maxPayload: this.options.maxFrameBytes,
        perMessageDeflate: false,
        handshakeTimeout: this.options.handshakeTimeoutMs,
      });
    } catch (err) {
      this.#log.error({ err, url: t.url }, 'cannot dial peer url');
      return this.#dialer.ended(t, false);
    }
    const link = new Link(this.#linkHost, ws, 'out', undefined, t.url);
    this.#links.add(link);
    this.#linkTarget.set(link, t);
  }

  #onAuthenticated(link: Link): void {
    const hello = link.peer!;
    if (this.#state !== 'running') return link.close(CLOSE_CODES.goingAway, 'node shutting down');
    const now = this.#clock.now();
    let m = this.#members.get(hello.nodeId);
    if (m === undefined) {
      if (!this.#roomForMember()) return link.reject(CLOSE_CODES.tryAgainLater, 'member table full');
      m = new Member(hello.nodeId, hello.peerUrl, hello.incarnation, 'joining', now);
      this.#members.set(m.node, m);
      this.#emit({ type: 'member.joined', node: m.node, peer: m.peer });
    }
    link.member = m;
    link.meta = Object.freeze({ fromNode: m.node });
    const t = this.#linkTarget.get(link);
    if (t !== undefined) t.node = m.node;
    const existing = m.link;
    if (existing !== undefined && existing !== link && existing.state !== 'closed') {
      if (existing.peer!.incarnation === hello.incarnation) {
        // Two links to one peer (both dialed at once). Both sides apply the same rule, so
        // they agree on the survivor. An existing link gone silent is kept by no one.
        const stale = now - existing.lastSeen > this.options.heartbeatMs * 1.5;
        if (!stale && !this.#prefer(link, existing)) return link.close(CLOSE_CODES.duplicateLink, 'duplicate link');
        existing.close(CLOSE_CODES.duplicateLink, 'duplicate link');
      } else {
        existing.close(CLOSE_CODES.superseded, 'peer restarted with a new incarnation');
      }
      m.link = undefined;
    }
    if (m.incarnation !== hello.incarnation && (m.status === 'up' || m.status === 'suspect')) this.#markDown(m, 'restarted');
    const wasUp = m.status === 'up' || m.status === 'suspect';
    m.incarnation = hello.incarnation;
    if (m.peer !== hello.peerUrl) {
      this.#dialer.unwant(m.peer);
      m.peer = hello.peerUrl;
    }
    m.link = link;
    m.lastSeen = now;
    if (m.everLinked) this.#stats.reconnects++;
    m.everLinked = true;
    this.#dialer.want(m.peer, { node: m.node });
    this.#log.debug({ peer: m.node, direction: link.direction, incarnation: m.incarnation }, 'peer link up');
    this.#emit({ type: 'link.up', node: m.node, incarnation: m.incarnation, direction: link.direction });
    if (!wasUp) {
      m.status = 'up';
      m.since = now;
      this.#log.info({ peer: m.node, url: m.peer, incarnation: m.incarnation }, 'member up');
      this.#emit({ type: 'member.up', node: m.node, peer: m.peer, incarnation: m.incarnation });
      this.#gossipSoon();
    }
    link.send(this.#gossipFrame());
    m.resetDurable();
    this.#durable.pump(m);
    this.#markDirty(m);
  }

  /** Of two links to the same peer incarnation: the one dialed by the lower node id wins. */
  #prefer(a: Link, b: Link): boolean {
    const peer = a.peer!.nodeId;
    const low = this.nodeId < peer ? this.nodeId : peer;
    const dialer = (l: Link) => (l.direction === 'out' ? this.nodeId : peer);
    const aLow = dialer(a) === low;
    if (aLow !== (dialer(b) === low)) return aLow;
    // Same dialer (two URLs for one node): the smaller dialer nonce wins, known to both sides.
    const nonce = (l: Link) => (l.direction === 'out' ? l.nonce : l.peer!.nonce);
    return Buffer.compare(nonce(a), nonce(b)) < 0;
  }

  #onFrame(link: Link, frame: Exclude<Frame, { t: 'hello' | 'proof' }>): void {
    const m = link.member!;
    if (link.peer!.incarnation === m.incarnation && link.lastSeen > m.lastSeen) m.lastSeen = link.lastSeen;
    switch (frame.t) {
      case 'batch': {
        const envs = frame.envs;
        const meta = link.meta!;
        const handler = this.options.onEnvelope;
        this.#stats.envelopesIn += envs.length;
        for (let i = 0; i < envs.length; i++) {
          try {
            handler(envs[i]!, meta);
          } catch (err) {
            this.#log.error({ err, id: envs[i]!.id }, 'onEnvelope threw');
          }
        }
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
        return this.#onGossip(frame.members);
      case 'bye':
        if (link.peer!.incarnation === m.incarnation) this.#markDown(m, 'left');
        return;
      case 'hb':
        return;
    }
  }

  #onLinkClosed(link: Link, code: number, reason: string): void {
    this.#links.delete(link);
    const t = this.#linkTarget.get(link);
    this.#linkTarget.delete(link);
    const authenticated = link.member !== undefined;
    if (!authenticated && link.closeCode === undefined && isRejectCode(code)) {
      // The other side refused our handshake.
      this.#stats.rejectedLinks++;
      this.#log.warn({ code, reason, url: link.dialUrl, remote: link.remote }, 'peer refused the link');
      this.#emit({ type: 'link.rejected', node: link.node, code, reason, remote: link.remote });
    }
    this.#emit({ type: 'link.closed', node: link.node, code, reason, direction: link.direction });
    const m = link.member;
    if (m !== undefined && m.link === link) {
      m.link = undefined;
      m.resetDurable();
      this.#log.info({ peer: m.node, code, reason }, 'peer link closed');
      if (code === CLOSE_CODES.goingAway && link.closeCode === undefined) this.#markDown(m, 'left');
    }
    if (t !== undefined) {
      if (link.isSelf) t.self = true;
      this.#dialer.ended(t, authenticated);
    }
    if (this.#state === 'running') this.#dialer.reconcile();
    else if (this.#links.size === 0) this.#linksDrained?.();
  }

  // ---- membership --------------------------------------------------------------------------

  #roomForMember(): boolean {
    if (this.#members.size < this.options.maxMembers) return true;
    if (!this.#warnedFull) this.#log.warn({ max: this.options.maxMembers }, 'member table full; ignoring new nodes');
    this.#warnedFull = true;
    return false;
  }

  #onGossip(entries: MemberInfo[]): void {
    const now = this.#clock.now();
    for (const e of entries) {
      if (e.node === this.nodeId) continue;
      const m = this.#members.get(e.node);
      if (m === undefined) {
        if (e.status === 'down' || !this.#roomForMember()) continue;
        const joined = new Member(e.node, e.peer, e.incarnation, 'joining', now);
        this.#members.set(e.node, joined);
        this.#emit({ type: 'member.joined', node: e.node, peer: e.peer });
        this.#dialer.want(e.peer, { node: e.node });
        continue;
      }
      if (m.link !== undefined || e.status === 'down' || e.incarnation === m.incarnation || e.incarnation === m.heardIncarnation) continue;
      // Someone reaches an incarnation we have not: dial where it now lives, without
      // waiting out our backoff. Only once per incarnation heard, so gossip cannot hammer it.
      m.heardIncarnation = e.incarnation;
      if (m.peer !== e.peer) {
        this.#dialer.unwant(m.peer);
        m.peer = e.peer;
      }
      this.#dialer.want(m.peer, { node: m.node });
      this.#dialer.kick(m.peer);
    }
  }

  #gossipFrame(): Buffer {
    const members: MemberInfo[] = [];
    for (const m of this.#members.values()) {
      if (m.status !== 'joining') members.push({ node: m.node, peer: m.peer, incarnation: m.incarnation, status: m.status });
    }
    return encode({ t: 'gossip', members });
  }

  #gossipSoon(): void {
    this.#gossipDirty = true;
    this.#scheduleFlush();
  }

  #markDown(m: Member, reason: DownReason): void {
    if (m.status === 'down' || m.status === 'joining' || m === this.#self) return;
    m.status = 'down';
    m.since = this.#clock.now();
    const link = m.link;
    m.link = undefined;
    if (link !== undefined) {
      if (reason === 'heartbeat') link.terminate();
      else link.close(CLOSE_CODES.superseded, `member down (${reason})`);
    }
    m.resetDurable();
    m.acks = [];
    this.#undelivered(m.node, m.drain(), `node down (${reason})`);
    this.#log.warn({ peer: m.node, incarnation: m.incarnation, reason }, 'member down');
    this.#emit({ type: 'member.down', node: m.node, incarnation: m.incarnation, reason });
    this.#gossipSoon();
  }

  #undelivered(node: string, parts: Uint8Array[], reason: string): void {
    if (parts.length === 0) return;
    this.#stats.undelivered += parts.length;
    this.#emit({ type: 'envelopes.undelivered', node, count: parts.length, reason });
    const cb = this.options.onUndelivered;
    if (cb === undefined) {
      this.#log.warn({ peer: node, count: parts.length, reason }, 'queued envelopes not delivered');
      return;
    }
    try {
      cb(node, parts.map((p) => decode(p) as Envelope), new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `not delivered to '${node}': ${reason}`, { details: { node } }));
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
      // ours, not the peers'. Do not count it against them.
      const shift = gap - this.#tickMs;
      for (const m of this.#members.values()) m.lastSeen = Math.min(now, m.lastSeen + shift);
    }
    if (now - this.#lastHeartbeat >= o.heartbeatMs) {
      this.#lastHeartbeat = now;
      for (const m of this.#members.values()) if (m.link?.isOpen) m.link.send(HEARTBEAT_BYTES);
    }
    this.#detectFailures(now);
    if (now - this.#lastGossip >= o.gossipMs) {
      this.#lastGossip = now;
      this.#gossipSoon();
    }
    if (now - this.#lastRetry >= o.durableRetryMs / 2) {
      this.#lastRetry = now;
      for (const m of this.#members.values()) if (m.inflight.size > 0) this.#durable.retry(m, now);
    }
    if (now - this.#lastPrune >= o.pruneIntervalMs) {
      this.#lastPrune = now;
      this.#inbox.prune(o.inboxRetentionMs).catch((err: unknown) => this.#log.error({ err }, 'inbox prune failed'));
    }
    this.#dialer.reconcile();
    this.#scheduleTick();
  }

  #detectFailures(now: number): void {
    const o = this.options;
    const hb = o.heartbeatMs;
    // Declared down at the last check before `downAfterMisses` intervals have passed.
    const downMs = Math.max(hb, o.downAfterMisses * hb - this.#tickMs);
    const suspectMs = o.suspectAfterMisses * hb;
    for (const m of [...this.#members.values()]) {
      if (m === this.#self) continue;
      if (m.status === 'up' || m.status === 'suspect') {
        const silent = now - m.lastSeen;
        if (silent >= downMs) this.#markDown(m, 'heartbeat');
        else if (silent >= suspectMs) {
          if (m.status === 'up') {
            m.status = 'suspect';
            m.since = now;
            this.#log.warn({ peer: m.node, silentMs: silent }, 'member suspect');
            this.#emit({ type: 'member.suspect', node: m.node, incarnation: m.incarnation, silentMs: silent });
          }
        } else if (m.status === 'suspect') {
          m.status = 'up';
          m.since = now;
          this.#emit({ type: 'member.up', node: m.node, peer: m.peer, incarnation: m.incarnation });
        }
      } else if (now - m.since >= o.forgetAfterMs) {
        this.#members.delete(m.node);
        this.#dialer.unwant(m.peer);
        this.#emit({ type: 'member.removed', node: m.node });
      }
    }
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
      const frame = this.#gossipFrame();
      for (const m of this.#members.values()) if (m.link?.isOpen) m.link.send(frame);
    }
    const list = this.#dirty;
    if (list.length === 0) return;
    this.#dirty = [];
    for (const m of list) {
      m.dirty = false;
      flushMember(m, this.#flushCtx);
    }
  };

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

function isLoopbackHost(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}
