/** Reachability of a member as this node sees it over its own link. */
export type MemberStatus = 'up' | 'suspect' | 'down';

/** Why a member was declared down. */
export type DownReason = 'heartbeat' | 'left' | 'restarted';

/**
 * Inspection events of a {@link PeerTransport}: a discriminated union on dotted `type`.
 * Logs and metrics subscribe through `onEvent`; tests assert on them.
 *
 * @example
 * onEvent: (e) => { if (e.type === 'member.down') metrics.down.inc(); }
 */
export type TransportEvent =
  /** A node became known (from a handshake or gossip), not yet necessarily reachable. */
  | { type: 'member.joined'; node: string; peer: string }
  /** A link to the node is up (first time, after a restart with a new incarnation, or recovered from suspect). */
  | { type: 'member.up'; node: string; peer: string; incarnation: string }
  | { type: 'member.suspect'; node: string; incarnation: string; silentMs: number }
  /** `silentMs`: how long nothing had arrived from it (not counting this node's own event-loop stalls). */
  | { type: 'member.down'; node: string; incarnation: string; reason: DownReason; silentMs: number }
  /** A member down or unreachable for `forgetAfterMs` was dropped from the table. */
  | { type: 'member.removed'; node: string }
  | { type: 'link.up'; node: string; incarnation: string; direction: 'in' | 'out' }
  | { type: 'link.closed'; node: string | undefined; code: number; reason: string; direction: 'in' | 'out' }
  /** A handshake failed: wrong secret, cluster, version, self or duplicate id, timeout. */
  | { type: 'link.rejected'; node: string | undefined; code: number; reason: string; remote: string | undefined }
  /** A frame could not be decoded or validated; the link was closed with 4004. */
  | { type: 'link.protocol-error'; node: string | undefined; reason: string; remote: string | undefined }
  /** Queued envelopes could not be sent (node down, restarted, or transport closed). */
  | { type: 'envelopes.undelivered'; node: string; count: number; reason: string };

/** Counters of a {@link PeerTransport}; `stats()` returns a snapshot. */
export interface TransportStats {
  framesIn: number;
  framesOut: number;
  bytesIn: number;
  bytesOut: number;
  envelopesIn: number;
  envelopesOut: number;
  durableOut: number;
  durableIn: number;
  durableDuplicates: number;
  acksIn: number;
  protocolErrors: number;
  rejectedLinks: number;
  reconnects: number;
  queueFull: number;
  undelivered: number;
}

/** A zeroed {@link TransportStats}. */
export function emptyStats(): TransportStats {
  return {
    framesIn: 0,
    framesOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    envelopesIn: 0,
    envelopesOut: 0,
    durableOut: 0,
    durableIn: 0,
    durableDuplicates: 0,
    acksIn: 0,
    protocolErrors: 0,
    rejectedLinks: 0,
    reconnects: 0,
    queueFull: 0,
    undelivered: 0,
  };
}
