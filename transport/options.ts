import { z } from 'zod';
import type { Logger } from 'pino';
import type { Clock, Envelope } from '../protocol/index.js';
import { DEFAULT_MAX_FRAME_BYTES, TroupeError, parseOrThrow } from '../protocol/index.js';
import type { InboxStore, OutboxStore } from './stores.js';
import type { TransportEvent } from './events.js';

/** Node ids end up inside `troupe://<node>/...` addresses: no slash, no whitespace. */
export const nodeIdSchema = z.string().min(1).max(128).regex(/^[^/\s]+$/, 'node id must not contain "/" or whitespace');

/** Peer URLs: `ws://host:port` (or `wss://`). */
export const peerUrlSchema = z.string().max(512).regex(/^wss?:\/\/[^\s/]+(\/\S*)?$/, 'expected ws://host:port');

/** What {@link PeerTransportOptions.onEnvelope} receives besides the envelope. */
export interface EnvelopeMeta {
  /** The node the envelope came from (for a re-delivered durable envelope, from its `from` address). */
  fromNode: string;
  /** Present for durable envelopes: call `done()` once processed so the inbox stops re-delivering it. */
  durable?: { id: string; done: () => Promise<void> };
}

/** Called with every inbound envelope, in arrival order per link. Must not throw (a throw is logged). */
export type EnvelopeHandler = (env: Envelope, meta: EnvelopeMeta) => void;

/**
 * Called with envelopes that were queued for a node but can no longer be sent because the
 * node went down, restarted, or the transport closed (`error` TROUPE_ERR_TRANSPORT_NODE_DOWN),
 * or because they are too large for that node's frame limit, durable ones included (they
 * are dropped from the outbox; TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE): the node dead-letters
 * them, so no loss is silent.
 */
export type UndeliveredHandler = (node: string, envs: Envelope[], error: TroupeError) => void;

const fn = <T>(what: string) => z.custom<T>((v) => typeof v === 'function', `${what} must be a function`);
const hasMethods = <T>(what: string, methods: string[]) =>
  z.custom<T>(
    (v) => typeof v === 'object' && v !== null && methods.every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
    `${what} must implement ${methods.join(', ')}`,
  );

const ms = (def: number, min = 1, max = 3_600_000) => z.number().int().min(min).max(max).default(def);

const pem = (what: string, max: number) =>
  z.string().min(1).max(max).refine((v) => v.includes('-----BEGIN '), `${what} must be PEM text (-----BEGIN ...)`);

/**
 * TLS for peer links (PEM text, not file names: the CLI reads the files). With it the peer
 * port speaks only wss, this node dials only wss:// peers, verifying their certificate
 * against `ca` (or the system roots without one), and presents `cert` when a peer asks for
 * a client certificate. `mutual`: the peer port also requires a client certificate signed
 * by `ca` (required then). The HMAC proof of the cluster secret still runs inside TLS.
 */
export const peerTlsSchema = z.object({
  cert: pem('tls.cert', 1024 * 1024),
  key: pem('tls.key', 1024 * 1024),
  ca: pem('tls.ca', 4 * 1024 * 1024).optional(),
  mutual: z.boolean().default(false),
}).strict();

/** Peer TLS options after validation. */
export type PeerTls = z.output<typeof peerTlsSchema>;

/** Reconnect backoff: `min(maxMs, minMs * 2^attempt) * (1 + random * randomFactor)`. */
export const reconnectSchema = z.object({
  minMs: ms(100),
  maxMs: ms(5_000),
  randomFactor: z.number().min(0).max(1).default(0.2),
});

/**
 * The one options schema of {@link PeerTransport}: every limit and timer has a finite
 * default. Validated once at construction; the result is frozen.
 */
export const peerTransportOptionsSchema = z
  .object({
    nodeId: nodeIdSchema,
    clusterName: z.string().min(1).max(128).default('troupe'),
    secret: z.string().min(1).max(4096).optional(),
    tls: peerTlsSchema.optional(),
    host: z.string().min(1).max(255).default('127.0.0.1'),
    port: z.number().int().min(0).max(65_535).default(0),
    /** URL other nodes dial to reach this one; defaults to `ws://host:port`. */
    publicUrl: peerUrlSchema.optional(),
    seeds: z.array(peerUrlSchema).max(256).default([]),
    heartbeatMs: ms(500, 5, 60_000),
    suspectAfterMisses: z.number().int().min(1).max(100).default(2),
    downAfterMisses: z.number().int().min(1).max(100).default(3),
    gossipMs: ms(1_000, 5),
    /** A connection to the peer port must upgrade, and then a link must authenticate, within this each. */
    handshakeTimeoutMs: ms(5_000),
    /** Connections to the peer port accepted and not yet authenticated (TCP, TLS, HTTP upgrade, handshake); more are dropped at once. */
    maxPendingHandshakes: z.number().int().min(1).max(65_536).default(256),
    maxFrameBytes: z.number().int().min(1_024).max(256 * 1024 * 1024).default(DEFAULT_MAX_FRAME_BYTES),
    /** Bounded outbound queue per peer, in envelopes; past it `send` throws QUEUE_FULL. */
    maxQueue: z.number().int().min(1).max(10_000_000).default(10_000),
    /** Bounded outbound queue per peer, in bytes. */
    maxQueueBytes: z.number().int().min(1_024).max(4 * 1024 * 1024 * 1024).default(64 * 1024 * 1024),
    /** Envelopes per batch frame; a queue this long is flushed at once instead of at the tick. */
    maxBatch: z.number().int().min(1).max(1_000_000).default(4_096),
    /**
     * Autocork: while a link's queue keeps growing from one event-loop turn to the next, wait
     * up to this long (microseconds) for more before writing a frame. A queue that did not
     * grow in the last turn is written at once, so sporadic and request/reply traffic keeps
     * its latency. 0 writes every turn.
     */
    corkMaxUs: z.number().int().min(0).max(100_000).default(500),
    /** Socket backpressure: stop flushing while `bufferedAmount` is above this. */
    highWaterBytes: z.number().int().min(1_024).max(1024 * 1024 * 1024).default(8 * 1024 * 1024),
    reconnect: reconnectSchema.prefault({}),
    /** Durable envelopes in flight (sent, not acked) per peer. */
    durableWindow: z.number().int().min(1).max(1_000_000).default(1_000),
    /** Re-send a durable envelope whose ack has not come back within this. */
    durableRetryMs: ms(5_000, 10),
    /** Done inbox entries are kept this long to recognise re-sent duplicates. */
    inboxRetentionMs: ms(600_000, 1, 30 * 24 * 3_600_000),
    pruneIntervalMs: ms(60_000, 10),
    /** Members known at once (self included); gossip beyond it is ignored. */
    maxMembers: z.number().int().min(1).max(100_000).default(1_024),
    /** A member down (or never reached) this long is forgotten and no longer dialed. */
    forgetAfterMs: ms(600_000, 1, 30 * 24 * 3_600_000),
    /** How long a graceful close waits for links to finish closing before terminating them. */
    closeTimeoutMs: ms(2_000),
    logger: hasMethods<Logger>('logger', ['info', 'warn', 'error', 'debug', 'child']).optional(),
    clock: hasMethods<Clock>('clock', ['now', 'setTimeout', 'clearTimeout']).optional(),
    outbox: hasMethods<OutboxStore>('outbox', ['add', 'ack', 'pending', 'size']).optional(),
    inbox: hasMethods<InboxStore>('inbox', ['has', 'put', 'done', 'pending', 'prune']).optional(),
    onEnvelope: fn<EnvelopeHandler>('onEnvelope'),
    onEvent: fn<(e: TransportEvent) => void>('onEvent').optional(),
    onUndelivered: fn<UndeliveredHandler>('onUndelivered').optional(),
  })
  .superRefine((o, ctx) => {
    if (o.suspectAfterMisses >= o.downAfterMisses) {
      ctx.addIssue({ code: 'custom', path: ['suspectAfterMisses'], message: 'must be less than downAfterMisses' });
    }
    if (o.reconnect.minMs > o.reconnect.maxMs) {
      ctx.addIssue({ code: 'custom', path: ['reconnect', 'minMs'], message: 'must not exceed reconnect.maxMs' });
    }
    if (o.maxBatch > o.maxQueue) ctx.addIssue({ code: 'custom', path: ['maxBatch'], message: 'must not exceed maxQueue' });
    if (o.tls?.mutual === true && o.tls.ca === undefined) {
      // the system roots would admit any client certificate a public CA ever issued
      ctx.addIssue({ code: 'custom', path: ['tls', 'ca'], message: 'mutual TLS needs the CA that signs the peers\' certificates' });
    }
    if (o.tls !== undefined) {
      // a TLS node never speaks plain ws: not to its seeds, not in what it advertises
      o.seeds.forEach((s, i) => {
        if (!s.startsWith('wss://')) ctx.addIssue({ code: 'custom', path: ['seeds', i], message: 'with tls, seeds must be wss:// URLs' });
      });
      if (o.publicUrl !== undefined && !o.publicUrl.startsWith('wss://')) {
        ctx.addIssue({ code: 'custom', path: ['publicUrl'], message: 'with tls, publicUrl must be a wss:// URL' });
      }
    }
  });

/** Options as the caller writes them. */
export type PeerTransportOptions = z.input<typeof peerTransportOptionsSchema>;

/** Options after validation and defaults (frozen). */
export type ResolvedPeerTransportOptions = Readonly<z.output<typeof peerTransportOptionsSchema>>;

/**
 * Validate, default and freeze transport options; invalid or conflicting options throw
 * TROUPE_ERR_CONFIG_INVALID naming every bad field.
 *
 * @example
 * const o = resolvePeerTransportOptions({ nodeId: 'a', onEnvelope: () => {} });
 * o.heartbeatMs; // 500
 */
export function resolvePeerTransportOptions(input: PeerTransportOptions): ResolvedPeerTransportOptions {
  const o = parseOrThrow(peerTransportOptionsSchema, input, 'TROUPE_ERR_CONFIG_INVALID', 'invalid transport options');
  Object.freeze(o.reconnect);
  Object.freeze(o.seeds);
  if (o.tls !== undefined) Object.freeze(o.tls);
  return Object.freeze(o);
}
