import { auditCheckpointSchema, type AuditCheckpoint, type AuditHead } from '../../storage/index.js';
import { TroupeError } from '../../protocol/index.js';
import { verifySignature, type AuditSigningKey } from './signing-key.js';

/**
 * The signed body of a checkpoint, in the C2SP tlog-checkpoint shape:
 * `troupe/<origin>/audit\n<seq>\n<base64 hash>\n`.
 */
export function checkpointText(origin: string, seq: number, hash: Buffer): string {
  return `troupe/${origin}/audit\n${seq}\n${hash.toString('base64')}\n`;
}

/**
 * Sign the chain's head as a checkpoint.
 *
 * @example const cp = makeCheckpoint('n1', chain.head(), key, clock.now());
 */
export function makeCheckpoint(origin: string, head: AuditHead, key: AuditSigningKey, ts: number): AuditCheckpoint {
  const text = checkpointText(origin, head.seq, head.hash);
  return { v: 1, origin, seq: head.seq, hash: head.hash.toString('hex'), ts, text, signature: key.sign(text), publicKey: key.publicKey };
}

/**
 * Validate a checkpoint (one from a peer, or one read back): its shape, that its text says
 * what its fields say, and its signature, with `publicKey` when given (the key the verifier
 * trusts) or else its own. Throws TROUPE_ERR_AUDIT_CHECKPOINT_INVALID.
 */
export function checkCheckpoint(input: unknown, publicKey?: string): AuditCheckpoint {
  const r = auditCheckpointSchema.safeParse(input);
  if (!r.success) throw new TroupeError('TROUPE_ERR_AUDIT_CHECKPOINT_INVALID', 'not an audit checkpoint');
  const cp = r.data;
  if (cp.text !== checkpointText(cp.origin, cp.seq, Buffer.from(cp.hash, 'hex'))) {
    throw new TroupeError('TROUPE_ERR_AUDIT_CHECKPOINT_INVALID', `checkpoint ${cp.origin}@${cp.seq}: its text does not match its fields`);
  }
  if (publicKey !== undefined && publicKey !== cp.publicKey) {
    throw new TroupeError('TROUPE_ERR_AUDIT_CHECKPOINT_INVALID', `checkpoint ${cp.origin}@${cp.seq} is signed with another key`);
  }
  if (!verifySignature(cp.publicKey, cp.text, cp.signature)) {
    throw new TroupeError('TROUPE_ERR_AUDIT_CHECKPOINT_INVALID', `checkpoint ${cp.origin}@${cp.seq}: bad signature`);
  }
  return cp;
}
