import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';
import { z } from 'zod';
import { TroupeError } from '../protocol/index.js';

/** Shortest data key accepted: a passphrase this short is guessed, not derived. */
export const MIN_DATA_KEY_LENGTH = 16;

/**
 * A sealed value as stored: AES-256-GCM, a fresh 12-byte IV per seal, the 16-byte tag.
 * Authenticated: a changed byte, or another key, fails to open rather than reading garbage.
 */
export const sealedSchema = z.object({
  alg: z.literal('aes-256-gcm'),
  /** scrypt salt of the key that sealed it. */
  salt: z.instanceof(Uint8Array).refine((b) => b.byteLength === 16, 'salt: 16 bytes'),
  iv: z.instanceof(Uint8Array).refine((b) => b.byteLength === 12, 'iv: 12 bytes'),
  tag: z.instanceof(Uint8Array).refine((b) => b.byteLength === 16, 'tag: 16 bytes'),
  data: z.instanceof(Uint8Array),
});

export type Sealed = z.infer<typeof sealedSchema>;

/** scrypt cost: tens of milliseconds per key, once per salt, so guessing a data key is slow. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;

/**
 * Encryption at rest for the secrets a node must keep (an agent's upstream API key and
 * headers): the node's data key (`TROUPE_DATA_KEY`, never written to the data dir) is
 * stretched with scrypt (a salt per process, kept with each sealed value) into an
 * AES-256-GCM key. `context` binds a sealed value to what it protects (an agent's name and
 * where its key may be sent), so a sealed blob moved to another record, or a record whose
 * context was changed, does not open.
 *
 * @example
 * const box = new SecretBox(process.env.TROUPE_DATA_KEY!);
 * const sealed = box.seal({ apiKey: 'sk-...' }, 'agent:helper');
 * box.open(sealed, 'agent:helper'); // { apiKey: 'sk-...' }
 */
export class SecretBox {
  readonly #dataKey: string;
  readonly #salt = randomBytes(16);
  /** Keys by salt (hex): each salt is stretched once. */
  readonly #keys = new Map<string, Buffer>();

  constructor(dataKey: string) {
    if (typeof dataKey !== 'string' || dataKey.length < MIN_DATA_KEY_LENGTH) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `the data key must be at least ${MIN_DATA_KEY_LENGTH} characters`);
    }
    this.#dataKey = dataKey;
  }

  #key(salt: Uint8Array): Buffer {
    const id = Buffer.from(salt).toString('hex');
    let key = this.#keys.get(id);
    if (key === undefined) {
      key = scryptSync(this.#dataKey, salt, 32, SCRYPT);
      this.#keys.set(id, key);
    }
    return key;
  }

  seal(value: unknown, context: string): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key(this.#salt), iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return { alg: 'aes-256-gcm', salt: this.#salt, iv, tag: cipher.getAuthTag(), data };
  }

  /** Throws TROUPE_ERR_STORAGE_SECRET for a wrong key, another context or changed bytes. */
  open(sealed: Sealed, context: string): unknown {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key(sealed.salt), sealed.iv);
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(sealed.tag);
      const text = Buffer.concat([decipher.update(sealed.data), decipher.final()]).toString('utf8');
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new TroupeError('TROUPE_ERR_STORAGE_SECRET', `cannot open the secrets of ${context}: wrong data key, or the record was changed`, { cause });
    }
  }
}
