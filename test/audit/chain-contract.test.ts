import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  AUDIT_GENESIS, AUDIT_MAX_RECORD_BYTES, LmdbAuditChain, MemoryAuditChain, NodeStore, chainHash, verifyAuditChain,
  type AuditChainStore, type AuditCheckpoint,
} from '../../storage/index.js';
import { tempDir } from '../helpers.js';

interface ChainUnderTest {
  chain: AuditChainStore;
  reopen?: () => Promise<AuditChainStore>;
  dispose(): Promise<void>;
}

const cp = (origin: string, seq: number): AuditCheckpoint => ({ v: 1, origin, seq, hash: 'a'.repeat(64), ts: seq, text: `troupe/${origin}/audit\n${seq}\n`, signature: 'sig', publicKey: 'pk' });
const bytes = (s: string): Buffer => Buffer.from(s, 'utf8');

/** The audit chain contract: the LMDB store and its memory twin both pass it. */
function chainContract(name: string, make: () => Promise<ChainUnderTest>): void {
  describe(`audit chain contract: ${name}`, () => {
    let cur: ChainUnderTest | undefined;
    afterEach(async () => { await cur?.dispose(); cur = undefined; });
    const open = async (): Promise<AuditChainStore> => (cur = await make()).chain;

    it('chains appends from the genesis, one commit per call, and keeps the exact bytes', async () => {
      const chain = await open();
      expect(chain.head()).toEqual({ seq: 0, hash: AUDIT_GENESIS });
      const a = await chain.append([bytes('{"a":1}'), bytes('{"b":2}')]);
      const b = await chain.append([bytes('{"c":3}')]);
      expect([...a, ...b].map((e) => e.seq)).toEqual([1, 2, 3]);
      expect(a[0]!.hash).toEqual(chainHash(AUDIT_GENESIS, 1, bytes('{"a":1}')));
      expect(b[0]!.hash).toEqual(chainHash(a[1]!.hash, 3, bytes('{"c":3}')));
      expect(chain.head()).toEqual({ seq: 3, hash: b[0]!.hash });
      expect(chain.storedHead()).toEqual(chain.head());
      expect(chain.get(2)?.bytes.toString()).toBe('{"b":2}');
      expect(chain.get(4)).toBeUndefined();
      expect([...chain.entries({ from: 2 })].map((e) => e.seq)).toEqual([2, 3]);
      expect([...chain.entries({ reverse: true, limit: 2 })].map((e) => e.seq)).toEqual([3, 2]);
      expect(verifyAuditChain(chain, [{ seq: 3, hash: b[0]!.hash.toString('hex') }])).toMatchObject({ ok: true, checked: 3 });
    });

    it('refuses an empty or oversized record and appends nothing of its batch', async () => {
      const chain = await open();
      await expect(chain.append([bytes('{}'), Buffer.alloc(0)])).rejects.toMatchObject({ code: 'TROUPE_ERR_AUDIT_RECORD_INVALID' });
      await expect(chain.append([Buffer.alloc(AUDIT_MAX_RECORD_BYTES + 1, 0x20)])).rejects.toMatchObject({ code: 'TROUPE_ERR_AUDIT_RECORD_INVALID' });
      expect(chain.head().seq).toBe(0);
    });

    it('keeps concurrent appends in call order', async () => {
      const chain = await open();
      await fc.assert(fc.asyncProperty(fc.array(fc.array(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 8 }), async (batches) => {
        const start = chain.head().seq;
        const all = await Promise.all(batches.map((b) => chain.append(b.map(bytes))));
        const flat = batches.flat();
        expect(all.flat().map((e) => e.seq)).toEqual(flat.map((_, i) => start + i + 1));
        expect(all.flat().map((e) => e.bytes.toString())).toEqual(flat);
      }), { numRuns: 20 });
      expect(verifyAuditChain(chain, [])).toMatchObject({ ok: true });
    });

    it('keeps own checkpoints by seq and witnessed ones by origin, a witnessed seq once', async () => {
      const chain = await open();
      await chain.saveCheckpoint(cp('me', 5));
      await chain.saveCheckpoint(cp('me', 2));
      expect(chain.checkpoints().map((c) => c.seq)).toEqual([2, 5]);
      await chain.saveWitnessed(cp('b', 3));
      await chain.saveWitnessed(cp('a', 9));
      await chain.saveWitnessed(cp('b', 1));
      await chain.saveWitnessed(cp('b', 3));
      expect(chain.witnessed('b').map((c) => c.seq)).toEqual([1, 3]);
      expect(chain.witnessed().map((c) => `${c.origin}@${c.seq}`)).toEqual(['a@9', 'b@1', 'b@3']);
      expect(chain.witnessed('zz')).toEqual([]);
    });

    it('takes an append after the ones in flight: nextSeq counts them before they commit', async () => {
      const chain = await open();
      expect(chain.nextSeq()).toBe(1);
      const a = chain.append([bytes('{"a":1}'), bytes('{"a":2}')]);
      expect(chain.nextSeq()).toBe(3);
      const b = chain.append([bytes('{"b":1}')]);
      expect(chain.nextSeq()).toBe(4);
      expect((await b)[0]!.seq).toBe(3);
      expect((await a).map((e) => e.seq)).toEqual([1, 2]);
      expect(chain.head().seq).toBe(3);
      expect(chain.nextSeq()).toBe(4);
      expect(verifyAuditChain(chain, [])).toMatchObject({ ok: true, checked: 3 });
    });

    it('survives a reopen when durable', async () => {
      const chain = await open();
      if (!cur!.reopen) {
        expect(chain.durable).toBe(false);
        return;
      }
      expect(chain.durable).toBe(true);
      await chain.append([bytes('{"x":1}'), bytes('{"x":2}')]);
      await chain.saveCheckpoint(cp('me', 2));
      const head = chain.head();
      const again = await cur!.reopen();
      expect(again.head()).toEqual(head);
      expect(again.checkpoints().map((c) => c.seq)).toEqual([2]);
      const [e] = await again.append([bytes('{"x":3}')]);
      expect(e!.hash).toEqual(chainHash(head.hash, 3, bytes('{"x":3}')));
    });
  });
}

chainContract('LmdbAuditChain', async () => {
  const t = tempDir('troupe-audit-chain-');
  let store = await NodeStore.open({ dir: t.dir, noSync: true });
  return {
    chain: new LmdbAuditChain(store),
    reopen: async () => {
      await store.close();
      store = await NodeStore.open({ dir: t.dir, noSync: true });
      return new LmdbAuditChain(store);
    },
    dispose: async () => { await store.close(); t.cleanup(); },
  };
});

chainContract('MemoryAuditChain (not durable)', async () => ({ chain: new MemoryAuditChain(), dispose: async () => undefined }));

describe('LmdbAuditChain pipelined appends', () => {
  it('an append that fails takes the ones chained after it down too: nothing past the gap is written, the next append chains from the committed head', async () => {
    const t = tempDir('troupe-audit-pipe-');
    const store = await NodeStore.open({ dir: t.dir, noSync: true });
    try {
      const chain = new LmdbAuditChain(store);
      await chain.append([bytes('{"ok":1}')]);
      // the next commit fails as a full disk would (nothing written), while another is chained behind it
      const batch = store.batch.bind(store);
      let failOnce = true;
      store.batch = (fn) => {
        if (!failOnce) return batch(fn);
        failOnce = false;
        return Promise.reject(store.writeError('batch', new Error('MDB_MAP_FULL (injected)')));
      };
      const lost = chain.append([bytes('{"lost":1}'), bytes('{"lost":2}')]);
      const behind = chain.append([bytes('{"behind":1}')]);
      await expect(lost).rejects.toMatchObject({ code: 'TROUPE_ERR_STORAGE_WRITE' });
      await expect(behind).rejects.toMatchObject({ code: 'TROUPE_ERR_STORAGE_WRITE' });
      expect(chain.head().seq).toBe(1);
      expect(chain.storedHead().seq).toBe(1);
      expect(chain.get(4)).toBeUndefined();
      // once they settled, the chain goes on from what is on disk, without a gap
      expect(chain.nextSeq()).toBe(2);
      const [next] = await chain.append([bytes('{"next":1}')]);
      expect(next!.seq).toBe(2);
      expect(verifyAuditChain(chain, [{ seq: 2, hash: next!.hash.toString('hex') }])).toMatchObject({ ok: true, checked: 2 });
    } finally {
      await store.close();
      t.cleanup();
    }
  });
});
