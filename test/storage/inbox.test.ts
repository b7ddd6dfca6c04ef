import { afterEach, describe, expect, it, vi } from 'vitest';
import { LmdbInboxStore, MemoryInboxStore, type InboxOptions, type InboxStore } from '../../storage/index.js';
import { ManualClock, RecordingLogger, StoreFixture, bytes, rejection, text, view } from './helpers.js';

/** How the shared suite gets a store on a clock it drives; `reopen` simulates a restart. */
interface Harness {
  make(clock: ManualClock, options?: Omit<InboxOptions, 'clock'>): Promise<InboxStore>;
  reopen?: () => Promise<InboxStore>;
  dispose(): Promise<void>;
}

function inboxContract(name: string, harness: () => Harness): void {
  describe(`${name} (InboxStore contract)`, () => {
    let h: Harness;
    let clock: ManualClock;
    afterEach(async () => h.dispose());

    async function make(options?: Omit<InboxOptions, 'clock'>): Promise<InboxStore> {
      h = harness();
      clock = new ManualClock();
      return h.make(clock, options);
    }

    it('has an id once it is put, and lists it as pending', async () => {
      const inbox = await make();
      expect(inbox.has('m1')).toBe(false);
      await inbox.put('m1', bytes('one'));
      expect(inbox.has('m1')).toBe(true);
      expect(view(inbox.pending())).toEqual([['m1', 'one']]);
    });

    it('lists pending entries in insertion order', async () => {
      const inbox = await make();
      for (const id of ['z', 'a', 'm']) await inbox.put(id, bytes(id));
      expect(inbox.pending().map((e) => e.id)).toEqual(['z', 'a', 'm']);
    });

    it('leaves an id already seen as it is', async () => {
      const inbox = await make();
      await inbox.put('m1', bytes('first'));
      await inbox.put('m1', bytes('second'));
      expect(view(inbox.pending())).toEqual([['m1', 'first']]);
      await inbox.done('m1');
      await inbox.put('m1', bytes('third'));
      expect(inbox.pending()).toEqual([]);
    });

    it('resolves put with true when it stored the entry, false for an id already seen', async () => {
      const inbox = await make();
      expect(await inbox.put('m1', bytes('first'))).toBe(true);
      expect(await inbox.put('m1', bytes('second'))).toBe(false);
      await inbox.done('m1');
      expect(await inbox.put('m1', bytes('third'))).toBe(false);
    });

    it('stores a copy put while the first put commits only once', async () => {
      const inbox = await make();
      expect(await Promise.all([inbox.put('m1', bytes('a')), inbox.put('m1', bytes('b'))])).toEqual([true, false]);
      expect(view(inbox.pending())).toEqual([['m1', 'a']]);
    });

    it('keeps a done id for dedup but no longer lists it', async () => {
      const inbox = await make();
      await inbox.put('m1', bytes('1'));
      await inbox.put('m2', bytes('2'));
      await inbox.done('m1');
      expect(inbox.has('m1')).toBe(true);
      expect(view(inbox.pending())).toEqual([['m2', '2']]);
    });

    it('ignores done for an unknown id', async () => {
      const inbox = await make();
      await inbox.done('ghost');
      expect(inbox.has('ghost')).toBe(false);
    });

    it('prunes done ids at least olderThanMs old, never pending ones', async () => {
      const inbox = await make();
      await inbox.put('old', bytes('o'));
      await inbox.put('new', bytes('n'));
      await inbox.put('waiting', bytes('w'));
      await inbox.done('old');
      clock.advance(1000);
      await inbox.done('new');
      clock.advance(500);
      expect(await inbox.prune(2000)).toBe(0);
      expect(await inbox.prune(1500)).toBe(1); // done exactly 1500 ms ago
      expect(inbox.has('old')).toBe(false);
      expect(inbox.has('new')).toBe(true);
      clock.advance(10_000);
      expect(await inbox.prune(0)).toBe(1);
      expect(inbox.has('new')).toBe(false);
      expect(inbox.has('waiting')).toBe(true);
      expect(view(inbox.pending())).toEqual([['waiting', 'w']]);
    });

    it('prunes at most prunePerPass ids per call, the rest on later calls', async () => {
      const inbox = await make({ prunePerPass: 2 });
      for (const id of ['a', 'b', 'c', 'd', 'e']) {
        await inbox.put(id, bytes(id));
        await inbox.done(id);
      }
      clock.advance(10);
      expect(await inbox.prune(5)).toBe(2);
      expect(await inbox.prune(5)).toBe(2);
      expect(await inbox.prune(5)).toBe(1);
      expect(await inbox.prune(5)).toBe(0);
      expect(['a', 'b', 'c', 'd', 'e'].some((id) => inbox.has(id))).toBe(false);
    });

    it('refuses invalid options with TROUPE_ERR_CONFIG_INVALID', async () => {
      expect((await rejection(() => make({ prunePerPass: 0 }))).code).toBe('TROUPE_ERR_CONFIG_INVALID');
    });

    it('keeps its own copy of the bytes', async () => {
      const inbox = await make();
      const b = bytes('abc');
      await inbox.put('m1', b);
      b[0] = 0x7a;
      expect(text(inbox.pending()[0]!.bytes)).toBe('abc');
    });

    if (harness().reopen) {
      it('survives a restart: pending stay pending, done stay deduplicated, order continues', async () => {
        const inbox = await make();
        await inbox.put('m1', bytes('1'));
        await inbox.put('m2', bytes('2'));
        await inbox.done('m1');
        const again = await h.reopen!();
        expect(again.has('m1')).toBe(true);
        expect(view(again.pending())).toEqual([['m2', '2']]);
        await again.put('a0', bytes('3'));
        expect(again.pending().map((e) => e.id)).toEqual(['m2', 'a0']);
        clock.advance(5);
        expect(await again.prune(5)).toBe(1);
        const third = await h.reopen!();
        expect(third.has('m1')).toBe(false);
        expect(third.pending().map((e) => e.id)).toEqual(['m2', 'a0']);
      });
    }
  });
}

inboxContract('MemoryInboxStore', () => ({
  make: async (clock, options) => new MemoryInboxStore({ ...options, clock }),
  dispose: async () => {},
}));

inboxContract('LmdbInboxStore', () => {
  let f: StoreFixture | undefined;
  return {
    make: async (clock, options) => {
      f = await StoreFixture.create({ clock });
      return new LmdbInboxStore(f.store, options);
    },
    reopen: async () => new LmdbInboxStore(await f!.reopen()),
    dispose: async () => f?.dispose(),
  };
});

describe('LmdbInboxStore', () => {
  let f: StoreFixture;
  afterEach(async () => f.dispose());

  it('has an id while its put is still committing', async () => {
    f = await StoreFixture.create();
    const inbox = new LmdbInboxStore(f.store);
    const p = inbox.put('m1', bytes('x'));
    expect(inbox.has('m1')).toBe(true);
    await p;
    expect(inbox.has('m1')).toBe(true);
  });

  it('refuses an id longer than LMDB could index with TROUPE_ERR_STORAGE_WRITE', async () => {
    f = await StoreFixture.create();
    const inbox = new LmdbInboxStore(f.store);
    expect((await rejection(inbox.put('i'.repeat(5000), bytes('x')))).code).toBe('TROUPE_ERR_STORAGE_WRITE');
  });

  it('skips and logs corrupt pending entries', async () => {
    const logger = new RecordingLogger();
    f = await StoreFixture.create({ logger });
    const inbox = new LmdbInboxStore(f.store);
    for (const id of ['a', 'b', 'c']) await inbox.put(id, bytes(id));
    await f.store.put(f.store.inbox, 'b', { v: 1, n: 'x' });
    await f.withRawEnv(async (root) => {
      await root.openDB('inbox', { encoding: 'binary' }).put('a', Buffer.from([0xd9, 0xff]));
    });
    const again = new LmdbInboxStore(await f.reopen());
    expect(view(again.pending())).toEqual([['c', 'c']]);
    expect(logger.at('error').length).toBeGreaterThanOrEqual(2);
  });

  it('rejects with TROUPE_ERR_STORAGE_CLOSED after close', async () => {
    f = await StoreFixture.create();
    const inbox = new LmdbInboxStore(f.store);
    await f.store.close();
    expect((await rejection(inbox.put('m', bytes('x')))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
  });

  it('reads the pending entries once when a node starts: pending() also recovers the insertion order', async () => {
    f = await StoreFixture.create();
    const first = new LmdbInboxStore(f.store);
    for (const id of ['z', 'a', 'm']) await first.put(id, bytes(id));
    const store = await f.reopen();
    const reads = vi.spyOn(store.inbox, 'getRange');
    const inbox = new LmdbInboxStore(store);
    expect(inbox.pending().map((e) => e.id)).toEqual(['z', 'a', 'm']);
    expect(await inbox.put('b', bytes('b'))).toBe(true);
    expect(reads).toHaveBeenCalledTimes(1);
    expect(inbox.pending().map((e) => e.id)).toEqual(['z', 'a', 'm', 'b']);
  });

  it('removes a malformed prune-index key instead of stopping at it', async () => {
    const logger = new RecordingLogger();
    const clock = new ManualClock();
    f = await StoreFixture.create({ logger, clock });
    const inbox = new LmdbInboxStore(f.store);
    await inbox.put('m1', bytes('1'));
    await inbox.done('m1');
    // `true` sorts before every [doneAt, id] key: a pass that stopped there would never prune.
    const doneAt = f.store.db('inbox.doneAt');
    await f.store.put(doneAt, true, true);
    await f.store.put(doneAt, [true, 'x'], true);
    clock.advance(10);
    expect(await inbox.prune(5)).toBe(1);
    expect(inbox.has('m1')).toBe(false);
    expect([...doneAt.getKeys({})]).toEqual([]);
    expect(logger.at('error')).toHaveLength(1);
  });
});
