import type { IncomingMessage } from 'node:http';
import type { Logger } from 'pino';
import { decode, TroupeError, type Clock, type Envelope } from '../protocol/index.js';
import type { ConnectWaits } from './connects.js';
import { Dialer } from './dialer.js';
import { DurableDelivery } from './durable.js';
import type { TransportEvent, TransportStats } from './events.js';
import { Flusher } from './flusher.js';
import type { Frame } from './frames.js';
import type { Link, LocalIdentity } from './link.js';
import { LinkSet } from './links.js';
import type { PeerListener } from './listener.js';
import type { FlushContext, QueuedEnvelope } from './member.js';
import { Membership } from './membership.js';
import type { EnvelopeMeta, ResolvedPeerTransportOptions } from './options.js';
import type { InboxStore, OutboxStore } from './stores.js';
import { Ticker } from './ticker.js';

/** What the parts of a transport share: its options, clock, counters, stores and callbacks. */
export interface TransportCore {
  readonly options: ResolvedPeerTransportOptions;
  readonly log: Logger;
  readonly clock: Clock;
  readonly stats: TransportStats;
  readonly outbox: OutboxStore;
  readonly inbox: InboxStore;
  readonly connects: ConnectWaits;
  running(): boolean;
  identity(): LocalIdentity;
  listener(): PeerListener | undefined;
}

/** The parts of a {@link PeerTransport}, wired to each other. */
export interface TransportParts {
  dialer: Dialer;
  membership: Membership;
  durable: DurableDelivery;
  links: LinkSet;
  flushCtx: FlushContext;
  flusher: Flusher;
  ticker: Ticker;
  /** Report envelopes that will not be sent; `error` (default NODE_DOWN) says why to onUndelivered. */
  undelivered(node: string, parts: QueuedEnvelope[], reason: string, error?: TroupeError): void;
}

/**
 * Build and wire the parts of a transport: who dials (Dialer), who is in the cluster
 * (Membership), the sockets (LinkSet), durable hand-over, the end-of-turn flush and the tick.
 * Each part sees the others only through the narrow host interface it declares.
 */
export function assemble(h: TransportCore): TransportParts {
  const o = h.options;
  const log = h.log;
  const stats = h.stats;

  const emit = (e: TransportEvent): void => {
    const cb = o.onEvent;
    if (cb === undefined) return;
    try {
      cb(e);
    } catch (err) {
      log.error({ err, event: e.type }, 'onEvent threw');
    }
  };

  const deliver = (env: Envelope, meta: EnvelopeMeta): void => {
    try {
      o.onEnvelope(env, meta);
    } catch (err) {
      log.error({ err, id: env.id }, 'onEnvelope threw');
    }
  };

  const undelivered = (node: string, parts: QueuedEnvelope[], reason: string, error?: TroupeError): void => {
    if (parts.length === 0) return;
    stats.undelivered += parts.length;
    emit({ type: 'envelopes.undelivered', node, count: parts.length, reason });
    const cb = o.onUndelivered;
    if (cb === undefined) {
      log.warn({ peer: node, count: parts.length, reason }, 'queued envelopes not delivered');
      return;
    }
    try {
      cb(node, parts.map((p) => (p instanceof Uint8Array ? decode(p, Number.MAX_SAFE_INTEGER) as Envelope : p)), error ?? new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', `not delivered to '${node}': ${reason}`, { details: { node } }));
    } catch (err) {
      log.error({ err }, 'onUndelivered threw');
    }
  };

  const authenticated = (link: Link): void => {
    const m = membership.attach(link);
    if (m === undefined) return;
    link.send(membership.gossipFrame()); // the newcomer learns everyone at once
    durable.pump(m);
    flusher.markDirty(m);
  };

  const onFrame = (link: Link, f: Exclude<Frame, { t: 'hello' | 'proof' }>): void => {
    const m = link.member!;
    if (link.peer!.incarnation === m.incarnation && link.lastSeen > m.lastSeen) m.lastSeen = link.lastSeen;
    switch (f.t) {
      case 'batch': {
        const envs = f.envs;
        const meta = link.meta!;
        stats.envelopesIn += envs.length;
        for (let i = 0; i < envs.length; i++) deliver(envs[i]!, meta);
        return;
      }
      case 'durable': {
        const err = durable.receive(m, m.node, f.items);
        if (err !== undefined) link.protocolError(err);
        return;
      }
      case 'ack':
        return durable.acked(m, f.ids);
      case 'gossip':
        return membership.merge(f.members);
      case 'bye':
        if (link.peer!.incarnation === m.incarnation) membership.markDown(m, 'left');
        return;
      case 'hb':
        return;
    }
  };

  const setTimer = (fn: () => void, ms: number) => h.clock.setTimeout(fn, ms);
  const clearTimer = (t: unknown) => {
    if (t !== undefined) h.clock.clearTimeout(t);
  };
  const dialer = new Dialer({
    selfNode: o.nodeId,
    backoff: o.reconnect,
    deferMs: o.heartbeatMs,
    setTimer,
    clearTimer,
    satisfied: (t) => t.node !== undefined && membership.get(t.node)?.link?.isOpen === true,
    dial: (t) => links.dial(t),
  });
  const membership = new Membership({
    nodeId: o.nodeId,
    heartbeatMs: o.heartbeatMs,
    suspectAfterMisses: o.suspectAfterMisses,
    downAfterMisses: o.downAfterMisses,
    maxMembers: o.maxMembers,
    forgetAfterMs: o.forgetAfterMs,
    log: h.log,
    stats: h.stats,
    dialer,
    now: () => h.clock.now(),
    emit,
    undelivered: (node, parts, reason) => undelivered(node, parts, reason),
    gossipSoon: () => flusher.gossipSoon(),
  });
  const durable = new DurableDelivery({
    outbox: h.outbox,
    inbox: h.inbox,
    log: h.log,
    stats: h.stats,
    window: o.durableWindow,
    retryMs: o.durableRetryMs,
    maxFrameBytes: o.maxFrameBytes,
    now: () => h.clock.now(),
    running: () => h.running(),
    member: (node) => membership.get(node),
    markDirty: (m) => flusher.markDirty(m),
    deliver: (env, meta) => deliver(env, meta),
    undelivered: (node, parts, error) => undelivered(node, parts, error.message, error),
  });
  const links = new LinkSet({
    log: h.log,
    stats: h.stats,
    clock: h.clock,
    dialer,
    maxFrameBytes: o.maxFrameBytes,
    maxPendingHandshakes: o.maxPendingHandshakes,
    handshakeTimeoutMs: o.handshakeTimeoutMs,
    closeTimeoutMs: o.closeTimeoutMs,
    highWaterBytes: o.highWaterBytes,
    tls: o.tls,
    identity: () => h.identity(),
    running: () => h.running(),
    emit,
    authenticated,
    frame: onFrame,
    lost: (link, code, reason, byPeer) => {
      h.log.info({ peer: link.node, code, reason }, 'peer link closed');
      membership.detach(link.member!, link, code, byPeer);
    },
    drained: (link) => {
      if (link.member !== undefined && link.member.link === link) flusher.markDirty(link.member);
    },
    settled: (req) => h.listener()?.settled(req),
    dialLinked: (url, node) => h.connects.linked(url, node),
    dialFailed: (url, code, reason) => h.connects.failed(url, code, reason),
  });
  const flushCtx: FlushContext = {
    maxBatch: o.maxBatch,
    maxFrameBytes: o.maxFrameBytes,
    stats: h.stats,
    tooLarge: (m, bytes) =>
      undelivered(m.node, [bytes], 'envelope larger than the peer frame limit', new TroupeError('TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE', `envelope too large for the frame limit of '${m.node}'`, { details: { node: m.node } })),
    durableTooLarge: (m, item) => durable.tooLarge(m, item),
    unencodable: (m, env, error) =>
      undelivered(m.node, [env], 'envelope could not be encoded', new TroupeError('TROUPE_ERR_PROTOCOL_INVALID', `cannot encode a message to '${m.node}': ${(error as Error)?.message ?? String(error)}`, { cause: error, details: { node: m.node } })),
  };
  const flusher = new Flusher({
    log: h.log,
    membership,
    flushCtx: flushCtx,
    maxBatch: o.maxBatch,
    corkMaxMs: o.corkMaxUs / 1000,
    running: () => h.running(),
  });
  const ticker = new Ticker({
    options: o,
    clock: h.clock,
    log: h.log,
    membership,
    durable,
    dialer,
    inbox: h.inbox,
    running: () => h.running(),
    gossipSoon: () => flusher.gossipSoon(),
  });
  return { dialer, membership, durable, links, flushCtx, flusher, ticker, undelivered };
}
