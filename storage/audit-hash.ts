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
  hashLinkInPlace(buf, at, prev, seq, len);
  return buf.subarray(at + 9, at + AUDIT_LINK_PREFIX + len);
}

/** {@link linkInPlace} without making the view: `h_seq` ends up at `buf[at + 9, at + 41)`. */
export function hashLinkInPlace(buf: Buffer, at: number, prev: Uint8Array | undefined, seq: number, len: number): void {
  buf[at] = 0x00;
  if (prev !== undefined) buf.set(prev, at + 1);
  buf.writeUInt32BE(Math.floor(seq / 0x1_0000_0000), at + 1 + AUDIT_HASH_BYTES);
  buf.writeUInt32BE(seq >>> 0, at + 5 + AUDIT_HASH_BYTES);
  // a latin1 digest written into place costs less than a Buffer digest of its own
  buf.write(hash('sha256', buf.subarray(at, at + AUDIT_LINK_PREFIX + len), 'binary'), at + 9, AUDIT_HASH_BYTES, 'latin1');
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

/**
 * Split a stored value into views of it (lmdb-js hands out a fresh copy of each binary
 * value it reads, so nothing else writes to them); undefined when it is too short to hold a hash.
 */
export function decodeEntry(value: Uint8Array): { hash: Buffer; bytes: Buffer } | undefined {
  if (!(value instanceof Uint8Array) || value.length < AUDIT_HASH_BYTES) return undefined;
  const b = Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.length);
  return { hash: b.subarray(0, AUDIT_HASH_BYTES), bytes: b.subarray(AUDIT_HASH_BYTES) };
}

/**
 * Re-hashes a chain link after link in one scratch buffer (verification of a long chain
 * allocates nothing per record): holds the previous hash, checks the next stored one.
 *
 * @example
 * const links = new LinkChecker(AUDIT_GENESIS);
 * if (!links.next(1, bytes, storedHash)) throw new Error('seq 1 was edited');
 */
export class LinkChecker {
  private buf = Buffer.allocUnsafe(AUDIT_LINK_PREFIX + 4_096);

  constructor(genesis: Uint8Array) {
    this.buf.set(genesis, 1);
  }

  /** Hash `bytes` as link `seq` after the held hash, which it then replaces; true when `stored` is that hash. */
  next(seq: number, bytes: Uint8Array, stored: Uint8Array): boolean {
    const size = AUDIT_LINK_PREFIX + bytes.length;
    if (size > this.buf.length) {
      const b = Buffer.allocUnsafe(size);
      this.buf.copy(b, 0, 0, 1 + AUDIT_HASH_BYTES);
      this.buf = b;
    }
    this.buf.set(bytes, AUDIT_LINK_PREFIX);
    hashLinkInPlace(this.buf, 0, undefined, seq, bytes.length);
    this.buf.copyWithin(1, 9, 9 + AUDIT_HASH_BYTES);
    return stored.length === AUDIT_HASH_BYTES && this.buf.compare(stored, 0, AUDIT_HASH_BYTES, 1, 1 + AUDIT_HASH_BYTES) === 0;
  }

  /** The held hash, in hex. */
  hex(): string {
    return this.buf.toString('hex', 1, 1 + AUDIT_HASH_BYTES);
  }

  /** True when `hash` is the held hash. */
  holds(hash: Uint8Array): boolean {
    return hash.length === AUDIT_HASH_BYTES && this.buf.compare(hash, 0, AUDIT_HASH_BYTES, 1, 1 + AUDIT_HASH_BYTES) === 0;
  }
}
