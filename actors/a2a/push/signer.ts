import { createHash, randomUUID } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair, importJWK, type JWK } from 'jose';

type SigningKey = Awaited<ReturnType<typeof importJWK>>;
import type { Logger } from 'pino';
import { z } from 'zod';
import type { NodeStore } from '../../../storage/index.js';

/** Where the node's push signing key is kept (the `state` db of the node's LMDB). */
const KEY_RECORD = 'a2a.push.signing-key';
/** The signing algorithm: ECDSA P-256 with SHA-256. */
const ALG = 'ES256';

/** The stored key, checked on read: an ES256 (P-256) private JWK. */
const keyRecordSchema = z.object({
  v: z.literal(1),
  kid: z.string().min(1).max(128),
  privateJwk: z.object({ kty: z.literal('EC'), crv: z.literal('P-256'), x: z.string().min(1).max(128), y: z.string().min(1).max(128), d: z.string().min(1).max(128) }).loose(),
});

/** The route that serves the node's public keys (a JWK Set), for receivers that verify its JWTs. */
export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * The node's key for signing push notifications (ES256), made once and kept in the node's
 * LMDB (so a restart signs with the same key; in memory on a node without a data dir). Its
 * public half is served as a JWK Set at {@link JWKS_PATH}.
 *
 * @example
 * const signer = await PushSigner.open(host.store, host.id);
 * const jwt = await signer.sign({ url, body, taskId, id, ttlS: 300, nowMs: Date.now() });
 */
export class PushSigner {
  private constructor(private readonly kid: string, private readonly key: SigningKey, private readonly publicJwk: JWK, private readonly issuer: string) {}

  static async open(store: NodeStore | undefined, nodeId: string, log?: Logger): Promise<PushSigner> {
    const raw = store?.state.get(KEY_RECORD);
    const stored = raw === undefined ? undefined : keyRecordSchema.safeParse(raw);
    if (stored?.success) {
      try {
        return await PushSigner.of(stored.data.kid, stored.data.privateJwk as JWK, nodeId);
      } catch (err) {
        log?.warn({ err }, 'the stored push signing key does not import; a new key is made (receivers fetch it from the JWKS)');
      }
    } else if (stored) {
      log?.warn('the stored push signing key failed validation; a new key is made (receivers fetch it from the JWKS)');
    }
    const pair = await generateKeyPair(ALG, { extractable: true });
    const kid = randomUUID();
    const privateJwk = await exportJWK(pair.privateKey);
    if (store) await store.put(store.state, KEY_RECORD, { v: 1, kid, privateJwk });
    return PushSigner.of(kid, privateJwk, nodeId);
  }

  private static async of(kid: string, privateJwk: JWK, nodeId: string): Promise<PushSigner> {
    const key = await importJWK(privateJwk, ALG);
    const { d: _private, ...publicJwk } = privateJwk;
    return new PushSigner(kid, key, { ...publicJwk, kid, alg: ALG, use: 'sig' }, `troupe:${nodeId}`);
  }

  /** The public keys as a JWK Set (`{ keys: [...] }`). */
  jwks(): { keys: JWK[] } {
    return { keys: [{ ...this.publicJwk }] };
  }

  /**
   * A JWT for one delivery: `iss` the node, `aud` the receiver's URL, `sub` the task, `jti`
   * the notification id, `iat`/`exp`, and `request_body_sha256` (hex) binding it to the body.
   */
  async sign(n: { url: string; body: string; taskId: string; id: string; ttlS: number; nowMs: number }): Promise<string> {
    const iat = Math.floor(n.nowMs / 1000);
    return new SignJWT({ request_body_sha256: createHash('sha256').update(n.body).digest('hex') })
      .setProtectedHeader({ alg: ALG, kid: this.kid, typ: 'JWT' })
      .setIssuer(this.issuer)
      .setAudience(n.url)
      .setSubject(n.taskId)
      .setJti(n.id)
      .setIssuedAt(iat)
      .setExpirationTime(iat + n.ttlS)
      .sign(this.key);
  }
}
