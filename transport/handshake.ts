import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { NONCE_BYTES, PROTOCOL_VERSION } from './frames.js';

/**
 * With no cluster secret the handshake still runs (same frames, same checks) with this
 * well-known key; what keeps strangers out then is that only loopback peers are accepted.
 */
const NO_SECRET_KEY = 'troupe/no-secret/loopback-only';

/** A fresh random nonce for one side of one handshake. */
export function newNonce(): Buffer {
  return randomBytes(NONCE_BYTES);
}

/** Which end of a link a node is: the one that dialed, or the one that accepted. */
export type HandshakeRole = 'dialer' | 'acceptor';

/** One end of a handshake as its hello presented it. */
export interface HandshakeSide {
  node: string;
  incarnation: string;
  nonce: Uint8Array;
}

/**
 * What a proof binds: the whole handshake transcript (cluster, protocol version, both ids,
 * both incarnations, both fresh nonces) and the role of the side that proves. Both sides
 * compute the same transcript; only the role differs between the two proofs.
 */
export interface ProofInput {
  cluster: string;
  /** The role of the side sending this proof. */
  role: HandshakeRole;
  dialer: HandshakeSide;
  acceptor: HandshakeSide;
}

/**
 * HMAC-SHA256 over the handshake transcript, keyed with the cluster secret.
 *
 * Why each part is there: both nonces make a proof good for one link only (no replay);
 * both ids and incarnations make it good between these two nodes only; the role makes a
 * dialer's proof useless as an acceptor's and the other way round, so an outsider that
 * connects to two nodes and hands each the other's hello cannot pass one node's proof off
 * as the other's (both would be acceptors, each waiting for a dialer's proof). The acceptor
 * also checks the dialer's proof before it sends its own, so a party that cannot prove the
 * secret never gets a proof out of a node at all.
 *
 * @example
 * const mac = computeProof(secret, { cluster, role: 'dialer', dialer: { node: 'a', incarnation, nonce }, acceptor: { ... } });
 */
export function computeProof(secret: string | undefined, p: ProofInput): Buffer {
  const h = createHmac('sha256', secret ?? NO_SECRET_KEY);
  const field = (v: string | Uint8Array) => {
    const b = typeof v === 'string' ? Buffer.from(v, 'utf8') : v;
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(b.byteLength, 0);
    h.update(len);
    h.update(b);
  };
  field(`troupe-peer-proof/v${PROTOCOL_VERSION}`);
  field(p.role);
  field(p.cluster);
  field(p.dialer.node);
  field(p.dialer.incarnation);
  field(p.dialer.nonce);
  field(p.acceptor.node);
  field(p.acceptor.incarnation);
  field(p.acceptor.nonce);
  return h.digest();
}

/** Constant-time check of a received proof against the expected one. */
export function verifyProof(secret: string | undefined, p: ProofInput, mac: Uint8Array): boolean {
  const expected = computeProof(secret, p);
  return mac.byteLength === expected.byteLength && timingSafeEqual(expected, mac);
}
