import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { TroupeError } from '../../protocol/index.js';

/** File name of the node's audit signing key (PKCS#8 PEM, mode 0600) inside the data dir. */
export const AUDIT_KEY_FILE = 'audit-ed25519.pem';

/**
 * The Ed25519 key a node signs its audit checkpoints with. Read from the data dir, created
 * there on first start; a node without a data dir gets a key for this process only.
 *
 * @example
 * const key = AuditSigningKey.load('./data');
 * const sig = key.sign('troupe/n1/audit\n3\n...\n');
 */
export class AuditSigningKey {
  /** Base64 SPKI DER of the public key (what peers and `audit verify` check signatures with). */
  readonly publicKey: string;

  private constructor(private readonly key: KeyObject) {
    this.publicKey = createPublicKey(key).export({ type: 'spki', format: 'der' }).toString('base64');
  }

  /** Load `<dir>/audit-ed25519.pem`, creating it when missing; a fresh key for `undefined`. */
  static load(dir: string | undefined): AuditSigningKey {
    if (dir === undefined) return new AuditSigningKey(generateKeyPairSync('ed25519').privateKey);
    const file = join(dir, AUDIT_KEY_FILE);
    if (!existsSync(file)) AuditSigningKey.create(file);
    return AuditSigningKey.read(file);
  }

  /** Read an existing key file; TROUPE_ERR_AUDIT_KEY when missing or not an Ed25519 private key. */
  static read(file: string): AuditSigningKey {
    let key: KeyObject;
    try {
      key = createPrivateKey(readFileSync(file));
    } catch (cause) {
      throw new TroupeError('TROUPE_ERR_AUDIT_KEY', `the audit signing key ${AUDIT_KEY_FILE} could not be read`, { cause });
    }
    if (key.asymmetricKeyType !== 'ed25519') throw new TroupeError('TROUPE_ERR_AUDIT_KEY', `${AUDIT_KEY_FILE} is not an Ed25519 key`);
    return new AuditSigningKey(key);
  }

  private static create(file: string): void {
    const pem = String(generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }));
    let fd: number | undefined;
    try {
      // wx: never overwrite a key another start just wrote
      fd = openSync(file, 'wx', 0o600);
      writeSync(fd, pem);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw new TroupeError('TROUPE_ERR_AUDIT_KEY', `the audit signing key ${AUDIT_KEY_FILE} could not be created`, { cause });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Base64 Ed25519 signature of `text`. */
  sign(text: string): string {
    return sign(null, Buffer.from(text, 'utf8'), this.key).toString('base64');
  }
}

/** True when `signature` (base64) is `publicKey`'s (base64 SPKI DER) Ed25519 signature of `text`. */
export function verifySignature(publicKey: string, text: string, signature: string): boolean {
  try {
    const key = createPublicKey({ key: Buffer.from(publicKey, 'base64'), format: 'der', type: 'spki' });
    if (key.asymmetricKeyType !== 'ed25519') return false;
    return verify(null, Buffer.from(text, 'utf8'), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
