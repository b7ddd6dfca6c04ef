import { afterEach, describe, expect, it } from 'vitest';
import type { Envelope } from '../../protocol/index.js';
import {
  LmdbDeadLetterStore, MemoryDeadLetterStore, type DeadLetterRecord, type DeadLetterStore, type DeadLetterStoreOptions,
} from '../../storage/index.js';
import { RecordingLogger, StoreFixture, rejection } from './helpers.js';

/** How the shared suite gets a store; `reopen` (durable implementations) simulates a restart. */
interface Harness {
  make(options?: DeadLetterStoreOptions): Promise<DeadLetterStore>;
  reopen?: () => Promise<DeadLetterStore>;
  dispose(): Promise<void>;
}

function envelope(n: number): Envelope {
  return { id: `env-${n}`, to: 'troupe://a/user/worker', type: 'job.run', createdAt: 1000 + n, payload: { n, nested: { list: [1, 2] } } };
}

function letter(id: string, reason: DeadLetterRecord['reason'] = 'not-found', extra: Partial<DeadLetterRecord> = {}): DeadLetterRecord {
  return { id, at: 5000, reason, envelope: envelope(Number(id.replace(/\D/g, '')) || 0), ...extra };
}

const ids = (rs: DeadLetterRecord[]): string[] => rs.map((r) => r.id);

function deadLetterContract(name: string, harness: () => Harness): void {
  describe(`${name} (DeadLetterStore contract)`, () => {
    let h: Harness;
    afterEach(async () => h.dispose());

    async function make(options?: DeadLetterStoreOptions): Promise<DeadLetterStore> {
      h = harness();
      return h.make(options);
    }

    it('stores, counts and returns records as given', async () => {
      const dl = await make();
      const r = letter('d1', 'poison', { error: { code: 'TROUPE_ERR_ACTOR_FAILED', message: 'boom', details: { a: 1 } }, attempts: 3 });
      await dl.add(r);
      expect(dl.count()).toBe(1);
      expect(dl.get('d1')).toEqual(r);
      expect(dl.get('nope')).toBeUndefined();
    });

    it('lists oldest first, filtered by reason, a page at a time', async () => {
      const dl = await make();
      const reasons = ['stopped', 'mailbox-full', 'stopped', 'expired', 'stopped'] as const;
      for (let i = 0; i < reasons.length; i++) await dl.add(letter(`d${i}`, reasons[i]));
      expect(ids(dl.list())).toEqual(['d0', 'd1', 'd2', 'd3', 'd4']);
      expect(ids(dl.list({ reason: 'stopped' }))).toEqual(['d0', 'd2', 'd4']);
      expect(ids(dl.list({ limit: 2 }))).toEqual(['d0', 'd1']);
      expect(ids(dl.list({ after: 'd1', limit: 2 }))).toEqual(['d2', 'd3']);
      expect(ids(dl.list({ reason: 'stopped', after: 'd2' }))).toEqual(['d4']);
      expect(ids(dl.list({ after: 'd4' }))).toEqual([]);
      expect(dl.list({ limit: 0 })).toEqual([]);
    });

    it('refuses an unknown cursor with TROUPE_ERR_DEAD_LETTER_NOT_FOUND', async () => {
      const dl = await make();
      await dl.add(letter('d1'));
      expect((await rejection(() => dl.list({ after: 'gone' }))).code).toBe('TROUPE_ERR_DEAD_LETTER_NOT_FOUND');
    });

    it('drops the oldest past maxCount', async () => {
      const dl = await make({ maxCount: 3 });
      for (let i = 1; i <= 5; i++) await dl.add(letter(`d${i}`));
      expect(dl.count()).toBe(3);
      expect(ids(dl.list())).toEqual(['d3', 'd4', 'd5']);
      expect(dl.get('d1')).toBeUndefined();
    });

    it('replaces a re-added id and makes it the newest', async () => {
      const dl = await make({ maxCount: 3 });
      await dl.add(letter('d1'));
      await dl.add(letter('d2'));
      await dl.add(letter('d3'));
      await dl.add(letter('d1', 'poison', { attempts: 2 }));
      expect(dl.count()).toBe(3);
      expect(ids(dl.list())).toEqual(['d2', 'd3', 'd1']);
      expect(dl.get('d1')).toMatchObject({ reason: 'poison', attempts: 2 });
    });

    it('removes one and ignores unknown ids', async () => {
      const dl = await make();
      await dl.add(letter('d1'));
      await dl.add(letter('d2'));
      await dl.remove('d1');
      await dl.remove('ghost');
      expect(dl.count()).toBe(1);
      expect(ids(dl.list())).toEqual(['d2']);
    });

    it('refuses an invalid record with TROUPE_ERR_PROTOCOL_INVALID', async () => {
      const dl = await make();
      const bad = [
        { ...letter('d1'), reason: 'bored' },
        { ...letter('d2'), envelope: { ...envelope(2), to: 'not-an-address' } },
        { ...letter('d3'), attempts: -1 },
      ] as DeadLetterRecord[];
      for (const r of bad) expect((await rejection(() => dl.add(r))).code).toBe('TROUPE_ERR_PROTOCOL_INVALID');
      expect(dl.count()).toBe(0);
    });

    if (harness().reopen) {
      it('survives a restart in the same order, and new ones come after', async () => {
        const dl = await make({ maxCount: 3 });
        for (let i = 1; i <= 4; i++) await dl.add(letter(`d${i}`));
        await dl.remove('d3');
        const again = await h.reopen!();
        expect(again.count()).toBe(2);
        expect(ids(again.list())).toEqual(['d2', 'd4']);
        await again.add(letter('d5'));
        await again.add(letter('d6'));
        expect(ids(again.list())).toEqual(['d4', 'd5', 'd6']);
        expect(again.get('d5')).toEqual(letter('d5'));
      });
    }
  });
}

deadLetterContract('MemoryDeadLetterStore', () => ({
  make: async (options) => new MemoryDeadLetterStore(options),
  dispose: async () => {},
}));

deadLetterContract('LmdbDeadLetterStore', () => {
  let f: StoreFixture | undefined;
  let options: DeadLetterStoreOptions | undefined;
  return {
    make: async (o) => {
      options = o;
      f = await StoreFixture.create();
      return new LmdbDeadLetterStore(f.store, o);
    },
    reopen: async () => new LmdbDeadLetterStore(await f!.reopen(), options),
    dispose: async () => f?.dispose(),
  };
});

describe('LmdbDeadLetterStore', () => {
  let f: StoreFixture;
  afterEach(async () => f.dispose());

  it('throws TROUPE_ERR_STORAGE_CORRUPT_RECORD from get, and list skips and logs, for corrupt records', async () => {
    const logger = new RecordingLogger();
    f = await StoreFixture.create({ logger });
    const dl = new LmdbDeadLetterStore(f.store);
    for (let i = 1; i <= 4; i++) await dl.add(letter(`d${i}`));
    const keys = [...f.store.deadLetters.getKeys({})];
    await f.store.put(f.store.deadLetters, keys[1]!, { v: 1, id: 'd2', reason: 'not-found' });
    await f.withRawEnv(async (root) => {
      await root.openDB('deadLetters', { encoding: 'binary' }).put(keys[2]!, Buffer.from([0xc1, 0x00]));
    });
    const again = new LmdbDeadLetterStore(await f.reopen());
    expect(ids(again.list())).toEqual(['d1', 'd4']);
    expect(logger.at('error').length).toBe(2);
    for (const id of ['d2', 'd3']) {
      const err = await rejection(() => again.get(id));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
      expect(err.message).toContain(id);
      expect((err.details as { db: string }).db).toBe('deadLetters');
    }
    expect(again.get('d4')).toEqual(letter('d4'));
  });
});
