import { hash } from 'node:crypto';

/** Bytes of a SHA-256 digest; the chain's genesis predecessor is this many zero bytes. */
export const AUDIT_HASH_BYTES = 32;
/** The predecessor of record 1. */
export const AUDIT_GENESIS: Buffer = Buffer.alloc(AUDIT_HASH_BYTES);
/** Largest stored record (canonical JSON); a record is a digest of its action, never a payload. */
export const AUDIT_MAX_RECORD_BYTES = 16 * 1024;

/** Bytes before a record in its link's hash input: 0x00, the previous hash, u64be(seq). */
export const AUDIT_LINK_PREFIX = 1 + AUDIT_HASH_BYTES + 8;

/**
 * Chain one record in place. `buf` holds the record's `len` bytes at `at + AUDIT_LINK_PREFIX`;
 * the link's hash input `0x00 || prev || u64be(seq)` is written before them (`prev` undefined:
 * the previous hash is already at `at + 1`), hashed with the
 * bytes in one shot, and `h_seq` then written over its tail, so that `buf[at + 9, end)` is the
 * stored value `h_seq || bytes` without a copy. Returns that value (a view of `buf`).
 *
 * @example
 * const buf = Buffer.alloc(AUDIT_LINK_PREFIX + 2); buf.write('{}', AUDIT_LINK_PREFIX);
 * const stored = linkInPlace(buf, 0, AUDIT_GENESIS, 1, 2); // h_1 || '{}'
 */
export function linkInPlace(buf: Buffer, at: number, prev: Uint8Array | undefined, seq: number, len: number): Buffer {
  buf[at] = 0x00;
  if (prev !== undefined) buf.set(prev, at + 1);
  buf.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), at + 1 + AUDIT_HASH_BYTES);
  buf.writeUInt32BE(seq >>> 0, at + 5 + AUDIT_HASH_BYTES);
  const end = at + AUDIT_LINK_PREFIX + len;
  // a latin1 digest written into place costs less than a Buffer digest of its own
  buf.write(hash('sha256', buf.subarray(at, end), 'binary'), at + 9, AUDIT_HASH_BYTES, 'latin1');
  return buf.subarray(at + 9, end);
}

/**
 * One link of the audit chain: `h_i = SHA-256(0x00 || h_(i-1) || u64be(seq) || bytes_i)`.
 * The 0x00 prefix keeps entry hashes apart from any later Merkle node hashes (RFC 9162).
 *
 * @example
 * const h1 = chainHash(AUDIT_GENESIS, 1, Buffer.from('{"action":"X"}'));
 */
export function chainHash(prev: Uint8Array, seq: number, bytes: Uint8Array): Buffer {
  const b = Buffer.allocUnsafe(AUDIT_LINK_PREFIX + bytes.length);
  b.set(bytes, AUDIT_LINK_PREFIX);
  return Buffer.from(linkInPlace(b, 0, prev, seq, bytes.length).subarray(0, AUDIT_HASH_BYTES));
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
