import { afterEach, describe, expect, it } from 'vitest';
import { decodeProtectedHeader } from 'jose';
import { PushSigner } from '../../actors/a2a/push/index.js';
import { NodeStore } from '../../storage/index.js';
import { silent, tempDir } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('hostile: a corrupt push signing key record in LMDB', () => {
  it('a stored key that does not import is replaced (the node starts and signs), not a failed start', async () => {
    const dir = tempDir();
    cleanups.push(() => dir.cleanup());
    const store = await NodeStore.open({ dir: dir.dir, logger: silent });
    cleanups.push(() => store.close());
    await store.put(store.state, 'a2a.push.signing-key', { v: 1, kid: 'broken', privateJwk: { kty: 'EC', crv: 'P-256', x: 'AAAA', y: 'AAAA', d: 'AAAA' } });
    const signer = await PushSigner.open(store, 'n1', silent);
    const jwt = await signer.sign({ url: 'https://h.example/x', body: '{}', taskId: 't', id: 'n', ttlS: 60, nowMs: 0 });
    const kid = decodeProtectedHeader(jwt).kid;
    expect(kid).not.toBe('broken');
    expect(signer.jwks().keys.map((k) => k.kid)).toEqual([kid]);
    // the new key is kept: the next open signs with it
    const again = await PushSigner.open(store, 'n1', silent);
    expect(again.jwks().keys.map((k) => k.kid)).toEqual([kid]);
  });
});
