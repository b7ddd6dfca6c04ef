import { afterEach, describe, expect, it } from 'vitest';
import { LmdbOutboxStore, MemoryOutboxStore, type OutboxOptions, type OutboxStore } from '../../storage/index.js';
import { RecordingLogger, StoreFixture, bytes, rejection, text, view } from './helpers.js';

/** How the shared suite gets a store; `reopen` (durable implementations) simulates a restart. */
interface Harness {
  make(options?: OutboxOptions): Promise<OutboxStore>;
  reopen?: () => Promise<OutboxStore>;
  dispose(): Promise<void>;
}

function outboxContract(name: string, harness: () => Harness): void {
  describe(`${name} (OutboxStore contract)`, () => {
    let h: Harness;
    afterEach(async () => h.dispose());

    it('lists a peer\'s pending entries in insertion order', async () => {
      h = harness();
      const o = await h.make();
      await o.add('b', 'm3', bytes('three'));
      await o.add('b', 'm1', bytes('one'));
      await o.add('c', 'x', bytes('other peer'));
      await o.add('b', 'm2', bytes('two'));
      expect(view(o.pending('b'))).toEqual([['m3', 'three'], ['m1', 'one'], ['m2', 'two']]);
      expect(view(o.pending('c'))).toEqual([['x', 'other peer']]);
      expect(o.pending('nobody')).toEqual([]);
    });

    it('reads a page: the oldest `limit` pending entries of a peer', async () => {
      h = harness();
      const o = await h.make();
      for (const id of ['m1', 'm2', 'm3', 'm4']) await o.add('b', id, bytes(id));
      await o.add('c', 'x', bytes('x'));
      expect(view(o.pending('b', { limit: 2 }))).toEqual([['m1', 'm1'], ['m2', 'm2']]);
      expect(o.pending('b', { limit: 10 }).map((e) => e.id)).toEqual(['m1', 'm2', 'm3', 'm4']);
      expect(o.pending('b', { limit: 0 })).toEqual([]);
      await o.ack('m1');
      await o.ack('m3');
      expect(o.pending('b', { limit: 2 }).map((e) => e.id)).toEqual(['m2', 'm4']);
    });

    it('forgets acknowledged entries and ignores unknown acks', async () => {
      h = harness();
      const o = await h.make();
      await o.add('b', 'm1', bytes('1'));
      await o.add('b', 'm2', bytes('2'));
      await o.ack('m1');
      await o.ack('never-added');
      expect(view(o.pending('b'))).toEqual([['m2', '2']]);
      await o.ack('m1');
      expect(o.size()).toBe(1);
    });

    it('counts entries per peer and in total', async () => {
      h = harness();
      const o = await h.make();
      expect(o.size()).toBe(0);
      await Promise.all([o.add('b', '1', bytes('a')), o.add('b', '2', bytes('b')), o.add('c', '3', bytes('c'))]);
      expect(o.size('b')).toBe(2);
      expect(o.size('c')).toBe(1);
      expect(o.size('d')).toBe(0);
      expect(o.size()).toBe(3);
    });

    it('replaces the bytes of a re-added id in place', async () => {
      h = harness();
      const o = await h.make();
      await o.add('b', 'm1', bytes('old'));
      await o.add('b', 'm2', bytes('two'));
      await o.add('b', 'm1', bytes('new'));
      expect(view(o.pending('b'))).toEqual([['m1', 'new'], ['m2', 'two']]);
      expect(o.size()).toBe(2);
    });

    it('moves a re-added id to the end of another peer\'s queue', async () => {
      h = harness();
      const o = await h.make();
      await o.add('b', 'm1', bytes('x'));
      await o.add('c', 'm2', bytes('y'));
      await o.add('c', 'm1', bytes('x'));
      expect(o.pending('b')).toEqual([]);
      expect(view(o.pending('c'))).toEqual([['m2', 'y'], ['m1', 'x']]);
      expect(o.size()).toBe(2);
    });

    it('keeps its own copy of the bytes', async () => {
      h = harness();
      const o = await h.make();
      const b = bytes('abc');
      await o.add('b', 'm1', b);
      b[0] = 0x7a;
      expect(text(o.pending('b')[0]!.bytes)).toBe('abc');
    });

    it('refuses a new entry past maxPerPeer with TROUPE_ERR_STORAGE_FULL', async () => {
      h = harness();
      const o = await h.make({ maxPerPeer: 2 });
      await o.add('b', '1', bytes('1'));
      await o.add('b', '2', bytes('2'));
      expect((await rejection(o.add('b', '3', bytes('3')))).code).toBe('TROUPE_ERR_STORAGE_FULL');
      await o.add('b', '2', bytes('2 again')); // replacing is not growing
      await o.add('c', '3', bytes('3')); // other peers have their own bound
      await o.ack('1');
      await o.add('b', '4', bytes('4'));
      expect(o.pending('b').map((e) => e.id)).toEqual(['2', '4']);
    });

    if (harness().reopen) {
      it('survives a restart, and entries added after it come after the old ones', async () => {
        h = harness();
        const o = await h.make();
        await o.add('b', 'm1', bytes('1'));
        await o.add('b', 'm2', bytes('2'));
        await o.add('c', 'm3', bytes('3'));
        await o.ack('m1');
        const again = await h.reopen!();
        expect(view(again.pending('b'))).toEqual([['m2', '2']]);
        expect(again.size()).toBe(2);
        await again.add('b', 'm4', bytes('4'));
        await again.ack('m3');
        expect(view(again.pending('b'))).toEqual([['m2', '2'], ['m4', '4']]);
        const third = await h.reopen!();
        expect(view(third.pending('b'))).toEqual([['m2', '2'], ['m4', '4']]);
        expect(third.size('c')).toBe(0);
      });
    }
  });
}

outboxContract('MemoryOutboxStore', () => ({
  make: async (options) => new MemoryOutboxStore(options),
  dispose: async () => {},
}));

outboxContract('LmdbOutboxStore', () => {
  let f: StoreFixture | undefined;
  let options: OutboxOptions | undefined;
  return {
    make: async (o) => {
      options = o;
      f = await StoreFixture.create();
      return new LmdbOutboxStore(f.store, o);
    },
    reopen: async () => new LmdbOutboxStore(await f!.reopen(), options),
    dispose: async () => f?.dispose(),
  };
});

describe('LmdbOutboxStore', () => {
  let f: StoreFixture;
  afterEach(async () => f.dispose());

  // LMDB limits keys to 1978 bytes; the peer name is part of the key, so lmdb-js rejects it.
  it('surfaces an LMDB write failure as TROUPE_ERR_STORAGE_WRITE and leaves the index as it was', async () => {
    f = await StoreFixture.create();
    const o = new LmdbOutboxStore(f.store);
    expect((await rejection(o.add('p'.repeat(3000), 'm1', bytes('x')))).code).toBe('TROUPE_ERR_STORAGE_WRITE');
    expect(o.size()).toBe(0);
    await o.add('b', 'm1', bytes('x'));
    expect(o.size('b')).toBe(1);
  });

  it('skips and logs a corrupt entry', async () => {
    const logger = new RecordingLogger();
    f = await StoreFixture.create({ logger });
    const o = new LmdbOutboxStore(f.store);
    await o.add('b', 'm1', bytes('1'));
    await o.add('b', 'm2', bytes('2'));
    await o.add('b', 'm3', bytes('3'));
    const [, k2, k3] = [...f.store.outbox.getKeys({})];
    await f.store.put(f.store.outbox, k2!, { v: 1, at: 0, bytes: 'not bytes' });
    await f.withRawEnv(async (root) => {
      await root.openDB('outbox', { encoding: 'binary' }).put(k3!, Buffer.from([0xc1]));
    });
    const again = new LmdbOutboxStore(await f.reopen());
    expect(view(again.pending('b'))).toEqual([['m1', '1']]);
    expect(logger.at('error').length).toBe(2);
  });
});
