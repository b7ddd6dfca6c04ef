/**
 * WebSocket close codes a troupe peer link uses. 4000-4999 is the range RFC 6455 leaves to
 * applications; each code names one reason so the other side (and its logs) can tell a
 * misconfiguration from a network fault.
 *
 * @example
 * ws.on('close', (code) => { if (code === CLOSE_CODES.auth) log.error('wrong cluster secret'); });
 */
export const CLOSE_CODES = Object.freeze({
  /** Graceful shutdown of the node: the peer should mark it down at once. */
  goingAway: 1001,
  /** Too many links still in their handshake; try again later. */
  tryAgainLater: 1013,
  /** The proof of the cluster secret failed (or no secret and the peer is not loopback). */
  auth: 4001,
  /** The peer belongs to another cluster (cluster name differs). */
  clusterMismatch: 4002,
  /** The peer speaks another protocol version. */
  versionMismatch: 4003,
  /** A frame could not be decoded or failed validation, or came out of order. */
  protocolError: 4004,
  /** Another link to the same peer won the tie-break; this one is redundant. */
  duplicateLink: 4005,
  /** The link reached this node itself, or another node using the same node id. */
  selfConnection: 4006,
  /** The handshake did not finish in time. */
  handshakeTimeout: 4007,
  /** The link was replaced: the peer restarted (new incarnation) or was declared down. */
  superseded: 4008,
} as const);

/** One of the {@link CLOSE_CODES} values. */
export type CloseCode = (typeof CLOSE_CODES)[keyof typeof CLOSE_CODES];

const names = new Map<number, string>(Object.entries(CLOSE_CODES).map(([k, v]) => [v, k]));

/**
 * The name of a close code, for logs and events (`'auth'`, `'protocolError'`, ...).
 *
 * @example
 * closeCodeName(4001); // 'auth'
 */
export function closeCodeName(code: number): string {
  return names.get(code) ?? `ws-${code}`;
}
