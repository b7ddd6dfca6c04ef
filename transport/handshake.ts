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

/** What a proof binds: who proves to whom, in which cluster, over whose fresh nonce. */
export interface ProofInput {
  cluster: string;
  /** The node sending the proof. */
  prover: string;
  proverIncarnation: string;
  proverNonce: Uint8Array;
  /** The node checking it; its nonce is what makes the proof fresh (no replay). */
  verifier: string;
  verifierIncarnation: string;
  verifierNonce: Uint8Array;
}

/**
 * HMAC-SHA256 over the handshake transcript, keyed with the cluster secret. The verifier's
 * own fresh nonce is in it, so a recorded proof is useless on another link, and prover and
 * verifier are in a fixed order, so a proof cannot be reflected back to its sender.
 *
 * @example
 * const mac = computeProof(secret, { cluster, prover: 'a', verifier: 'b', ... });
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
  field(p.cluster);
  field(p.prover);
  field(p.proverIncarnation);
  field(p.proverNonce);
  field(p.verifier);
  field(p.verifierIncarnation);
  field(p.verifierNonce);
  return h.digest();
}

/** Constant-time check of a received proof against the expected one. */
export function verifyProof(secret: string | undefined, p: ProofInput, mac: Uint8Array): boolean {
  const expected = computeProof(secret, p);
  return mac.byteLength === expected.byteLength && timingSafeEqual(expected, mac);
}

