import type { Logger } from 'pino';
import type { z } from 'zod';
import {
  Deadlines, TroupeError, deserializeError, flat, formatAddress, newId, parseAddress, parseOrThrow, serializedErrorSchema,
  type Envelope, type Terminated, type Timed,
} from '../protocol/index.js';
import { LmdbInboxStore, LmdbOutboxStore, type NodeStore } from '../storage/index.js';
import { PeerTransport, type MemberView, type TransportEvent } from '../transport/index.js';
import type { Kernel, RemoteRouter } from './kernel/index.js';
import { ActorRef } from './kernel/index.js';
import { DurableFeed } from './durable-feed.js';
import { DURABLE_UNDELIVERABLE, onUndeliverableNotice, tellSender } from './durable-notice.js';
import { Locations } from './cluster-locations.js';
import { clusterOptionsSchema, type ClusterOptionsInput } from './cluster-options.js';
import { LOOKUP, REPLY, REPLY_ERROR, RemoteReply, TERMINATED, UNWATCH, WATCH, lookupPayload } from './cluster-control.js';
import { ClusterWatches } from './cluster-watches.js';

export { clusterOptionsSchema, type ClusterOptionsInput } from './cluster-options.js';

/** An ask waiting for its reply; its own deadline entry (nothing else is allocated for the timeout). */
class PendingAsk implements Timed {
  deadlineWindow?: unknown;
  deadlineSlot?: number;

  constructor(
    readonly cluster: Cluster,
    readonly id: number,
    readonly node: string,
    readonly resolve: (v: unknown) => void,
    readonly reject: (e: unknown) => void,
    readonly to: string,
    readonly timeoutMs: number,
  ) {}

  onDeadline(): void {
    this.cluster.timedOut(this);
  }
}

/**
 * The cluster side of a node: location-transparent tell/ask/watch over the WebSocket peer
 * mesh. Replies, Terminated notices and lookups travel as control envelopes. When a member
 * goes down, asks waiting on it fail at once and watches of its actors fire with node-down.
 */
export class Cluster implements RemoteRouter {
  readonly transport: PeerTransport;
  /** Asks waiting for a reply, by ask number (numbers: cheaper map keys than strings on this hot path). */
  private readonly pending = new Map<number, PendingAsk>();
  private askSeq = 0;
  /** Ask timeouts: one timer per 10 ms window, not per ask. */
  private readonly deadlines: Deadlines;
  /** Death watches across nodes, both ways. */
  private readonly watches: ClusterWatches;
  private readonly log: Logger;
  /** This node's system address, the sender of its control envelopes. */
  private readonly systemAddress: string;
  /** Reply addresses of this node's asks: this prefix (unique to this process) and the ask number. */
  private readonly tempPrefix: string;
  readonly options: Readonly<z.output<typeof clusterOptionsSchema>>;
  /** Durable envelopes wait here for room in their actors' mailboxes. */
  private readonly feed: DurableFeed;
  /** Where remote actors live, cached until they stop or their node goes down. */
  private readonly locations: Locations;
  /** Address prefixes of the members, by node id. */
  private readonly prefixes = new Map<string, string>();

  constructor(private readonly kernel: Kernel, store: NodeStore | undefined, input: ClusterOptionsInput) {
    this.options = Object.freeze(parseOrThrow(clusterOptionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid cluster options'));
    this.log = kernel.logger.child({ component: 'cluster' });
    this.tempPrefix = formatAddress(kernel.id, `temp/${newId()}.`);
    this.systemAddress = formatAddress(kernel.id, 'system');
    this.deadlines = new Deadlines(kernel.clock);
    this.feed = new DurableFeed(kernel, {
      atomicDone: store !== undefined,
      onFinal: tellSender(kernel, (node, env) => this.transport.send(node, env, true), this.log),
    });
    const o = this.options;
    this.transport = new PeerTransport({
      nodeId: kernel.id,
      clusterName: o.clusterName,
      ...(o.secret ? { secret: o.secret } : {}),
      ...(o.tls ? { tls: o.tls } : {}),
      host: o.host,
      port: o.port,
      seeds: o.seeds,
      heartbeatMs: o.heartbeatMs,
      ...(o.publicUrl ? { publicUrl: o.publicUrl } : {}),
      logger: kernel.logger,
      clock: kernel.clock,
      ...(store ? { outbox: new LmdbOutboxStore(store), inbox: new LmdbInboxStore(store) } : {}),
      onEnvelope: (env, meta) => this.inbound(env, meta.fromNode, meta.durable),
      onEvent: (e) => this.onTransportEvent(e),
      onUndelivered: (node, envs, error) => {
        for (const env of envs) this.undeliverable(node, env, error);
      },
    });
    this.watches = new ClusterWatches(kernel, { send: (node, env) => this.transport.send(node, env), control: (to, type, payload) => this.control(to, type, payload) });
    this.locations = new Locations({
      members: () => this.transport.members().filter((m) => m.node !== kernel.id),
      lookup: (node, path) => this.ask(this.control(formatAddress(node, 'system/registry'), LOOKUP, { path }), this.options.lookupTimeoutMs, node),
      watch: (address, deliver) => this.watch(address, deliver),
      unwatch: (watchId) => this.unwatch(watchId),
    }, o.locationCacheMax);
  }

  start(): Promise<{ url: string }> {
    return this.transport.start();
  }

  close(): Promise<void> {
    this.locations.clear();
    for (const [id, p] of this.pending) {
      this.settle(id);
      p.reject(new TroupeError('TROUPE_ERR_NODE_CLOSED', 'node closing'));
    }
    this.deadlines.clear();
    this.feed.close();
    return this.transport.close();
  }

  get url(): string {
    return this.transport.url;
  }

  /**
   * Bookkeeping sizes: asks waiting on other nodes, watches placed there, watches served
   * here, remote actor locations cached, and lookups sent to other nodes so far.
   */
  stats(): { pendingAsks: number; remoteWatches: number; servedWatches: number; locations: number; lookups: number } {
    return {
      pendingAsks: this.pending.size,
      remoteWatches: this.watches.placedCount,
      servedWatches: this.watches.servedCount,
      locations: this.locations.size,
      lookups: this.locations.lookups,
    };
  }

  /**
   * Dial a peer and wait until it is linked: resolves with its node id; rejects with
   * TROUPE_ERR_TRANSPORT_AUTH when the handshake fails on the secret, cluster name or
   * protocol version, TROUPE_ERR_TRANSPORT_NODE_DOWN when nothing links in time.
   *
   * @example
   * await node.cluster!.connect('wss://10.0.0.2:7700'); // 'b'
   */
  connect(url: string, options: { timeoutMs?: number } = {}): Promise<string> {
    return this.transport.connect(url, options);
  }

  /** Members as `GET /api/v1/cluster` reports them (self included). */
  members(): MemberView[] {
    return this.transport.members();
  }

  // ---- RemoteRouter -----------------------------------------------------------------------

  tell(env: Envelope, node: string): void {
    try {
      this.transport.send(node, env);
    } catch (e) {
      this.refused(env, e);
      throw e;
    }
  }

  ask(env: Envelope, timeoutMs: number, node: string): Promise<unknown> {
    const askId = ++this.askSeq;
    env.replyTo = flat(this.tempPrefix, String(askId));
    return new Promise((resolve, reject) => {
      const p = new PendingAsk(this, askId, node, resolve, reject, env.to, timeoutMs);
      this.deadlines.add(timeoutMs, p, env.createdAt); // the clock was just read for the envelope
      this.pending.set(askId, p);
      try {
        this.transport.send(node, env);
      } catch (e) {
        this.settle(askId);
        this.refused(env, e);
        reject(e);
      }
    });
  }

  /** A send the transport refused is a dead letter, with the reason it was refused. */
  private refused(env: Envelope, e: unknown): void {
    const code = (e as TroupeError).code;
    const reason = code === 'TROUPE_ERR_TRANSPORT_QUEUE_FULL' ? 'queue-full'
      : code === 'TROUPE_ERR_PROTOCOL_INVALID' || code === 'TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE' ? 'invalid'
        : 'node-down';
    this.kernel.deadLetterEnvelope(env, reason, e);
  }

  /** Forget a pending ask (answered, failed or timed out); returns it. */
  private settle(askId: number): PendingAsk | undefined {
    const p = this.pending.get(askId);
    if (!p) return undefined;
    this.pending.delete(askId);
    this.deadlines.cancel(p);
    return p;
  }

  /** An ask's deadline passed with no answer. */
  timedOut(p: PendingAsk): void {
    if (this.pending.get(p.id) !== p) return;
    this.pending.delete(p.id);
    p.reject(new TroupeError('TROUPE_ERR_ACTOR_ASK_TIMEOUT', `ask to ${p.to} timed out after ${p.timeoutMs}ms`, { details: { timeoutMs: p.timeoutMs } }));
  }

  watch(target: string, deliver: (s: Terminated) => void): string {
    return this.watches.watch(this.nodeOf(target), target, deliver);
  }

  unwatch(watchId: string): void {
    this.watches.unwatch(watchId);
  }

  /** A durable tell (`env.durable` set) to `node`: resolves once the envelope is committed to the outbox. */
  tellDurable(env: Envelope, node: string): Promise<void> {
    return this.transport.sendDurable(node, env);
  }

  /**
   * A live actor at `path` on another node: from the cache, or by asking every up member at
   * once and taking the first yes (a slow or silent member does not hold it up). Cached until
   * the actor stops or its node goes down or restarts.
   */
  async locate(path: string): Promise<ActorRef | undefined> {
    const hit = await this.locations.locate(path);
    if (hit === undefined) return undefined;
    const p = parseAddress(hit)!;
    return new ActorRef(p.node, p.path);
  }

  // ---- inbound ----------------------------------------------------------------------------

  private inbound(env: Envelope, fromNode: string, durable?: { id: string; done: () => Promise<void> }): void {
    switch (env.type) {
      case REPLY:
      case REPLY_ERROR: return this.onReply(env, fromNode);
      case WATCH: return this.watches.onWatch(env, fromNode);
      case UNWATCH: return this.watches.onUnwatch(env);
      case TERMINATED: return this.watches.onTerminated(env);
      case LOOKUP: return this.onLookup(env, fromNode);
      case DURABLE_UNDELIVERABLE: return onUndeliverableNotice(this.kernel, env, fromNode);
      default: break;
    }
    // A peer speaks for its own actors only: a sender on another node is a forgery.
    if (env.from !== undefined && fromNode !== '' && !env.from.startsWith(this.prefixOf(fromNode))) {
      this.log.warn({ fromNode, from: env.from, type: env.type }, 'envelope names a sender on another node; refused');
      this.kernel.deadLetterEnvelope(env, 'invalid', new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `node ${fromNode} sent an envelope from ${env.from}`));
      return;
    }
    const replyTo = env.replyTo ? new RemoteReply(this, env.replyTo, fromNode) : undefined;
    // durable: fed to its actor as the mailbox admits it, never dropped for a full one
    if (durable) this.feed.inbound(env, fromNode, replyTo, durable);
    else this.kernel.deliverLocal(env, replyTo);
  }

  /**
   * Send a reply envelope (at most once per ask: {@link RemoteReply} sees to that). Its
   * address names the ask; the asker needs nothing else, so no correlation id rides along.
   */
  sendReply(node: string, to: string, type: typeof REPLY | typeof REPLY_ERROR, payload: unknown): void {
    const env: Envelope = { id: newId(), to, type, createdAt: Math.floor(this.kernel.clock.now()), payload };
    try {
      // valid by construction: `to` came in a checked envelope, the rest is ours
      this.transport.send(node, env, true);
    } catch (e) {
      this.log.warn({ err: e, replyTo: to }, 'reply could not be sent');
    }
  }

  /** The ask an address `troupe://<this node>/temp/<this process>.<ask number>` answers, if it is one. */
  private askIdOf(address: string): number | undefined {
    const from = this.tempPrefix.length;
    // decimal digits, read in place (no substring, no string-to-number conversion)
    if (address.length === from || address.length - from > 15 || !address.startsWith(this.tempPrefix)) return undefined;
    let n = 0;
    for (let i = from; i < address.length; i++) {
      const d = address.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return undefined;
      n = n * 10 + d;
    }
    return n;
  }

  /** An answer counts only from the node that was asked: no other peer can settle an ask. */
  private onReply(env: Envelope, fromNode: string): void {
    const askId = this.askIdOf(env.to);
    const waiting = askId !== undefined ? this.pending.get(askId) : undefined;
    if (waiting === undefined || waiting.node !== fromNode) return; // late (timed out), or not theirs to answer
    const p = this.settle(askId!)!;
    if (env.type === REPLY) {
      p.resolve(env.payload);
      return;
    }
    const r = serializedErrorSchema.safeParse(env.payload);
    const err = r.success ? deserializeError(r.data) : new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', 'malformed error reply');
    // its node says the actor is gone: a cached location of it is stale
    if (err.code === 'TROUPE_ERR_ACTOR_NOT_FOUND' || err.code === 'TROUPE_ERR_ACTOR_STOPPED') this.locations.forgetAddress(p.to);
    p.reject(err);
  }

  private onLookup(env: Envelope, fromNode: string): void {
    const r = lookupPayload.safeParse(env.payload);
    const reply = env.replyTo ? new RemoteReply(this, env.replyTo, fromNode) : undefined;
    if (!r.success || !reply) return;
    reply.reply(this.kernel.lookup(r.data.path)?.address ?? null);
  }

  // ---- failures ---------------------------------------------------------------------------

  private onTransportEvent(e: TransportEvent): void {
    if (e.type === 'member.up') {
      // the transport logs membership changes itself; the node re-emits them for metrics and tests
      this.kernel.inspector.emit({ type: 'member.up', node: e.node, peer: e.peer });
    } else if (e.type === 'member.suspect') {
      this.kernel.inspector.emit({ type: 'member.suspect', node: e.node, peer: '' });
    } else if (e.type === 'member.down') {
      this.kernel.inspector.emit({ type: 'member.down', node: e.node, peer: '' });
      this.locations.forgetNode(e.node);
      this.memberDown(e.node);
    }
  }

  /** Fail asks waiting on a dead node at once; fire watches of its actors; drop its watches of ours. */
  private memberDown(node: string): void {
    for (const [id, p] of this.pending) {
      if (p.node !== node) continue;
      this.settle(id);
      p.reject(new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `node ${node} went down before replying`));
    }
    this.watches.nodeDown(node);
  }

  private undeliverable(node: string, env: Envelope, error: TroupeError): void {
    if (env.type === REPLY || env.type === REPLY_ERROR || env.type === TERMINATED || env.type === WATCH || env.type === UNWATCH) return;
    this.refused(env, error);
    const askId = env.replyTo ? this.askIdOf(env.replyTo) : undefined;
    const p = askId !== undefined ? this.settle(askId) : undefined;
    if (p) {
      p.reject(error.code === 'TROUPE_ERR_TRANSPORT_NODE_DOWN'
        ? new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `node ${node} unreachable: ${error.message}`, { cause: error })
        : error);
    }
  }

  /** `troupe://<node>/`, made once per member. */
  private prefixOf(node: string): string {
    let p = this.prefixes.get(node);
    if (p === undefined) {
      if (this.prefixes.size >= 4_096) this.prefixes.clear();
      p = formatAddress(node, '');
      this.prefixes.set(node, p);
    }
    return p;
  }

  private nodeOf(address: string): string {
    const p = parseAddress(address);
    if (!p) throw new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `not an address: ${address}`);
    return p.node;
  }

  private control(to: string, type: string, payload: unknown): Envelope {
    return { id: newId(), to, type, createdAt: Math.floor(this.kernel.clock.now()), payload, from: this.systemAddress };
  }
}
