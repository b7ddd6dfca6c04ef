/**
 * transport/: the WebSocket peer mesh. Other layers import only this file.
 *
 * @example
 * import { PeerTransport, CLOSE_CODES } from '../transport/index.js';
 */
export { PeerTransport } from './peer-transport.js';
export type { MemberView } from './membership.js';
export type { LinkView } from './links.js';
export {
  peerTransportOptionsSchema,
  resolvePeerTransportOptions,
  type PeerTransportOptions,
  type ResolvedPeerTransportOptions,
  type EnvelopeMeta,
  type EnvelopeHandler,
  type UndeliveredHandler,
} from './options.js';
export { CLOSE_CODES, type CloseCode } from './close-codes.js';
export { PROTOCOL_VERSION } from './frames.js';
export { computeProof, type ProofInput, type HandshakeRole, type HandshakeSide } from './handshake.js';
export { MemoryInboxStore, MemoryOutboxStore, type InboxStore, type OutboxStore } from './stores.js';
export type { TransportEvent, TransportStats, MemberStatus, DownReason } from './events.js';
