import type { Logger } from 'pino';
import { isLoopbackHost, TroupeError, type Clock } from '../protocol/index.js';
import type { TransportStats } from './events.js';
import type { LocalIdentity } from './link.js';
import { PeerListener, type PeerListenerHost } from './listener.js';
import type { ResolvedPeerTransportOptions } from './options.js';

/** What opening the peer port needs from the transport. */
export interface ListenDeps {
  clock: Clock;
  log: Logger;
  stats: TransportStats;
  accept: PeerListenerHost['accept'];
  /** The listener, as soon as it exists (so a close while listening can close it). */
  onListener: (listener: PeerListener) => void;
  /** Listening failed: the transport is closed. */
  onFailed: () => void;
}

/**
 * Open the peer port and derive what this node tells its peers: the URL they dial and the
 * identity every link presents. Warns about setups whose peers could not reach or trust it.
 */
export async function openListener(o: ResolvedPeerTransportOptions, incarnation: string, deps: ListenDeps): Promise<{ url: string; identity: LocalIdentity }> {
  const listener = new PeerListener({
    host: o.host,
    port: o.port,
    tls: o.tls,
    maxFrameBytes: o.maxFrameBytes,
    maxPending: o.maxPendingHandshakes,
    timeoutMs: o.handshakeTimeoutMs,
    clock: deps.clock,
    log: deps.log,
    stats: deps.stats,
    accept: deps.accept,
  });
  deps.onListener(listener);
  let port: number;
  try {
    port = await listener.listen();
  } catch (cause) {
    deps.onFailed();
    throw new TroupeError('TROUPE_ERR_TRANSPORT_LISTEN', `cannot listen on ${o.host}:${o.port}: ${(cause as Error).message}`, { cause });
  }
  const scheme = o.tls !== undefined ? 'wss' : 'ws';
  const url = o.publicUrl ?? `${scheme}://${o.host.includes(':') ? `[${o.host}]` : o.host}:${port}`;
  const identity: LocalIdentity = Object.freeze({
    nodeId: o.nodeId,
    cluster: o.clusterName,
    incarnation,
    peerUrl: url,
    secret: o.secret,
    maxFrameBytes: o.maxFrameBytes,
  });
  if (o.secret === undefined && !isLoopbackHost(o.host)) {
    deps.log.warn({ host: o.host }, 'no cluster secret: only loopback peers will be accepted');
  }
  if (o.publicUrl === undefined && (o.host === '0.0.0.0' || o.host === '::')) {
    deps.log.warn({ url }, 'listening on all interfaces without publicUrl: other nodes will be told an address they cannot dial');
  }
  return { url, identity };
}
