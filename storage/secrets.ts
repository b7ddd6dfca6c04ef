import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
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
  iv: z.instanceof(Uint8Array).refine((b) => b.byteLength === 12, 'iv: 12 bytes'),
  tag: z.instanceof(Uint8Array).refine((b) => b.byteLength === 16, 'tag: 16 bytes'),
  data: z.instanceof(Uint8Array),
});

export type Sealed = z.infer<typeof sealedSchema>;

/**
 * Encryption at rest for the secrets a node must keep (an agent's upstream API key and
 * headers): the node's data key (`TROUPE_DATA_KEY`, never stored) is stretched with HKDF
 * into an AES-256-GCM key. `context` binds a sealed value to what it belongs to (an agent's
 * name), so a sealed blob moved to another record does not open.
 *
 * @example
 * const box = new SecretBox(process.env.TROUPE_DATA_KEY!);
 * const sealed = box.seal({ apiKey: 'sk-...' }, 'agent:helper');
 * box.open(sealed, 'agent:helper'); // { apiKey: 'sk-...' }
 */
export class SecretBox {
  readonly #key: Buffer;

  constructor(dataKey: string) {
    if (typeof dataKey !== 'string' || dataKey.length < MIN_DATA_KEY_LENGTH) {
      throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `the data key must be at least ${MIN_DATA_KEY_LENGTH} characters`);
    }
    this.#key = Buffer.from(hkdfSync('sha256', dataKey, 'troupe', 'troupe secrets at rest v1', 32));
  }

  seal(value: unknown, context: string): Sealed {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    cipher.setAAD(Buffer.from(context));
    const data = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
    return { alg: 'aes-256-gcm', iv, tag: cipher.getAuthTag(), data };
  }

  /** Throws TROUPE_ERR_STORAGE_SECRET for a wrong key, another context or changed bytes. */
  open(sealed: Sealed, context: string): unknown {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, sealed.iv);
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(sealed.tag);
      const text = Buffer.concat([decipher.update(sealed.data), decipher.final()]).toString('utf8');
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw new TroupeError('TROUPE_ERR_STORAGE_SECRET', `cannot open the secrets of ${context}: wrong data key, or the record was changed`, { cause });
    }
  }
}
