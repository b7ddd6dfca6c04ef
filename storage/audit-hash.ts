import { hash } from 'node:crypto';

/** Bytes of a SHA-256 digest; the chain's genesis predecessor is this many zero bytes. */
export const AUDIT_HASH_BYTES = 32;
/** The predecessor of record 1. */
export const AUDIT_GENESIS: Buffer = Buffer.alloc(AUDIT_HASH_BYTES);
/** Largest stored record (canonical JSON); a record is a digest of its action, never a payload. */
export const AUDIT_MAX_RECORD_BYTES = 16 * 1024;

const LEAF = Buffer.from([0x00]);

/**
 * One link of the audit chain: `h_i = SHA-256(0x00 || h_(i-1) || u64be(seq) || bytes_i)`.
 * The 0x00 prefix keeps entry hashes apart from any later Merkle node hashes (RFC 9162).
 *
 * @example
 * const h1 = chainHash(AUDIT_GENESIS, 1, Buffer.from('{"action":"X"}'));
 */
export function chainHash(prev: Uint8Array, seq: number, bytes: Uint8Array): Buffer {
  // one buffer and node's one-shot hash: several times cheaper than a Hash object per link
  const b = Buffer.allocUnsafe(1 + prev.length + 8 + bytes.length);
  b[0] = LEAF[0]!;
  b.set(prev, 1);
  b.writeBigUInt64BE(BigInt(seq), 1 + prev.length);
  b.set(bytes, 9 + prev.length);
  return hash('sha256', b, 'buffer') as unknown as Buffer;
}

/** A stored value: the entry's hash, then the record's exact bytes. */
export function encodeEntry(hash: Uint8Array, bytes: Uint8Array): Buffer {
  return Buffer.concat([hash, bytes]);
}

/** Split a stored value; undefined when it is too short to hold a hash. */
export function decodeEntry(value: Uint8Array): { hash: Buffer; bytes: Buffer } | undefined {
  if (!(value instanceof Uint8Array) || value.length < AUDIT_HASH_BYTES) return undefined;
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
  return { hash: Buffer.from(b.subarray(0, AUDIT_HASH_BYTES)), bytes: Buffer.from(b.subarray(AUDIT_HASH_BYTES)) };
}
