import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LmdbInboxStore, PersistentLog, type NodeStore, type PersistenceOptions, LmdbJournal } from '../../storage/index.js';
import { RecordingLogger, StoreFixture, rejection } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fixture(logger?: RecordingLogger): Promise<StoreFixture> {
  const f = await StoreFixture.create(logger ? { logger } : {});
  cleanups.push(() => f.dispose());
  return f;
}

type Ev = { add: number };
const sum = (s: number, e: Ev): number => s + e.add;

/** Persist events 1..n (values = seq), pipelined; resolves with their seqs. */
function persistRange(log: PersistentLog<number, Ev>, from: number, to: number, state: { v: number }): Promise<number[]> {
  const ps: Array<Promise<number>> = [];
  for (let i = from; i <= to; i++) {
    state.v += i;
    const after = state.v;
    ps.push(log.persist({ add: i }, () => after));
  }
  return Promise.all(ps);
}

const triangle = (n: number): number => (n * (n + 1)) / 2;

function keysOf(db: NodeStore['journal'], key: string): number[] {
  return [...db.getKeys({ start: [key, 0], end: [key, Number.MAX_SAFE_INTEGER] })].map((k) => (k as [string, number])[1]);
}


describe('PersistentLog', () => {
  it('recovers nothing from an empty journal', async () => {
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a');
    expect(log.recover(7, sum)).toEqual({ state: 7, seq: 0, replayed: 0 });
    expect(log.seq).toBe(0);
  });

  it('assigns sequence numbers at once and resolves each after its commit', async () => {
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a');
    const p1 = log.persist({ add: 1 }, () => 1);
    expect(log.seq).toBe(1);
    const p2 = log.persist({ add: 2 }, () => 3);
    expect(log.seq).toBe(2);
    expect(await p1).toBe(1);
    expect(f.store.journal.get(['a', 1])).toMatchObject({ v: 1, seq: 1, event: { add: 1 } });
    expect(await p2).toBe(2);
  });

  it('recovers the latest snapshot plus later events', async () => {
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10 });
    const st = { v: 0 };
    await persistRange(log, 1, 25, st);
    expect(keysOf(f.store.snapshots, 'a')).toEqual([10, 20]);
    expect(f.store.snapshots.get(['a', 20])).toMatchObject({ v: 1, seq: 20, state: triangle(20) });
    await f.reopen();
    const again = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10 });
    expect(again.recover(0, sum)).toEqual({ state: triangle(25), seq: 25, replayed: 5 });
    expect(again.seq).toBe(25);
  });

  it('purges every event and snapshot of its key once pending persists settled, and no other key', async () => {
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10 });
    const other = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'b');
    const st = { v: 0 };
    await persistRange(log, 1, 24, st);
    await other.persist({ add: 5 }, () => 5);
    const inFlight = log.persist({ add: 25 }, () => triangle(25)); // not awaited: purge waits for it
    await log.purge();
    await inFlight;
    expect(keysOf(f.store.journal, 'a')).toEqual([]);
    expect(keysOf(f.store.snapshots, 'a')).toEqual([]);
    expect(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a').recover(0, sum)).toEqual({ state: 0, seq: 0, replayed: 0 });
    expect(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'b').recover(0, sum)).toEqual({ state: 5, seq: 1, replayed: 1 });
  });

  it('compacts: keeps the last keepSnapshots snapshots and only the events after the oldest kept one', async () => {
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10, keepSnapshots: 2 });
    await persistRange(log, 1, 57, { v: 0 });
    expect(keysOf(f.store.snapshots, 'a')).toEqual([40, 50]);
    expect(keysOf(f.store.journal, 'a')).toEqual(Array.from({ length: 17 }, (_, i) => 41 + i));

    const one = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'b', { snapshotEvery: 10, keepSnapshots: 1 });
    await persistRange(one, 1, 57, { v: 0 });
    expect(keysOf(f.store.snapshots, 'b')).toEqual([50]);
    expect(keysOf(f.store.journal, 'b')).toEqual([51, 52, 53, 54, 55, 56, 57]);
    expect(one.recover(0, sum)).toEqual({ state: triangle(57), seq: 57, replayed: 7 });
  });

  it('continues the snapshot schedule and compaction after a restart', async () => {
    const f = await fixture();
    const st = { v: 0 };
    await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10 }), 1, 15, st);
    await f.reopen();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10 });
    log.recover(0, sum);
    await persistRange(log, 16, 42, st);
    expect(keysOf(f.store.snapshots, 'a')).toEqual([30, 40]);
    expect(keysOf(f.store.journal, 'a')[0]).toBe(31);
    expect(log.recover(0, sum).state).toBe(triangle(42));
  });

  it('resolves 10k pipelined persists in order and recovers all of them after a reopen', async () => {
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'p');
    const order: number[] = [];
    const ps: Array<Promise<number>> = [];
    let s = 0;
    for (let i = 1; i <= 10_000; i++) {
      s += i;
      const after = s;
      ps.push(log.persist({ add: i }, () => after).then((seq) => (order.push(seq), seq)));
    }
    const seqs = await Promise.all(ps);
    expect(seqs).toEqual(Array.from({ length: 10_000 }, (_, i) => i + 1));
    expect(order).toEqual(seqs);
    await f.reopen();
    const again = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'p');
    const r = again.recover(0, sum);
    expect(r.state).toBe(triangle(10_000));
    expect(r.seq).toBe(10_000);
    expect(r.replayed).toBe(0); // the default snapshot at 10 000 covers everything
  });

  it('recovers 100k events under the default policy from its snapshot, whatever the length of the history', async () => {
    // What keeps recovery fast is bounded work, not a machine's speed: the latest snapshot
    // plus at most one snapshot interval of events, the rest compacted away.
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'big');
    await persistRange(log, 1, 100_000, { v: 0 });
    await f.reopen();
    const again = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'big');
    const r = again.recover(0, sum);
    expect(r.state).toBe(triangle(100_000));
    expect(r.seq).toBe(100_000);
    expect(r.replayed).toBe(0);
    expect(keysOf(f.store.journal, 'big').length).toBeLessThanOrEqual(1_000);
  });

  it('folds events still in flight into a recover() made before they commit', async () => {
    const f = await fixture();
    const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a');
    await persistRange(log, 1, 3, { v: 0 });
    const inflight = [log.persist({ add: 4 }, () => 10), log.persist({ add: 5 }, () => 15)];
    expect(log.recover(0, sum)).toEqual({ state: 15, seq: 5, replayed: 5 });
    expect(await Promise.all(inflight)).toEqual([4, 5]);
    expect(await log.persist({ add: 6 }, () => 21)).toBe(6);
    await log.drain();
    expect(log.recover(0, sum)).toEqual({ state: 21, seq: 6, replayed: 6 });
  });

  it('keeps logs of different keys apart', async () => {
    const f = await fixture();
    const a = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a');
    const ab = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'ab');
    await Promise.all([persistRange(a, 1, 3, { v: 0 }), persistRange(ab, 1, 5, { v: 0 })]);
    expect(a.recover(0, sum)).toEqual({ state: 6, seq: 3, replayed: 3 });
    expect(ab.recover(0, sum)).toEqual({ state: 15, seq: 5, replayed: 5 });
  });

  it('rejects invalid options with TROUPE_ERR_CONFIG_INVALID', async () => {
    const f = await fixture();
    for (const o of [{ snapshotEvery: 0 }, { keepSnapshots: 0 }, { snapshotEvery: 1.5 }, { nope: 1 }] as PersistenceOptions[]) {
      expect((await rejection(() => new PersistentLog(new LmdbJournal(f.store), 'a', o))).code).toBe('TROUPE_ERR_CONFIG_INVALID');
    }
  });

  describe('write failures', () => {
    // A real lmdb-js put failure: an event holding a BigInt past 64 bits cannot be msgpack
    // encoded, and lmdb-js throws when the put is issued. (Over-long keys, the other easy
    // one, are refused earlier by the constructor; see NodeStore's tests for those.)
    it('rejects with TROUPE_ERR_STORAGE_WRITE and does not use up the sequence number', async () => {
      const f = await fixture();
      const log = new PersistentLog<number, unknown>(new LmdbJournal(f.store), 'a');
      const err = await rejection(log.persist({ add: 2n ** 70n }, () => 1));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_WRITE');
      expect(err.cause).toBeInstanceOf(Error);
      expect(log.seq).toBe(0);
      expect(await log.persist({ add: 1 }, () => 1)).toBe(1);
    });

    it('refuses a persistence key LMDB could not store', async () => {
      const f = await fixture();
      expect((await rejection(() => new PersistentLog(new LmdbJournal(f.store), 'k'.repeat(3000)))).code).toBe('TROUPE_ERR_CONFIG_INVALID');
    });

    it('writes nothing when the snapshot state cannot be encoded', async () => {
      const f = await fixture();
      const log = new PersistentLog<unknown, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 2 });
      await log.persist({ add: 1 }, () => 1);
      const err = await rejection(log.persist({ add: 2 }, () => 2n ** 70n));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_WRITE');
      expect(log.seq).toBe(1);
      expect(keysOf(f.store.journal, 'a')).toEqual([1]);
      expect(await log.persist({ add: 2 }, () => 3)).toBe(2);
    });

    // An asynchronous commit failure (an I/O error) cannot be provoked on demand, so this one
    // stands in a rejecting commit for a single lmdb-js put.
    it('refuses persists after a failed commit until recover(), which resumes from the disk', async () => {
      const f = await fixture();
      const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a');
      await log.persist({ add: 1 }, () => 1);
      vi.spyOn(f.store.journal, 'put').mockReturnValueOnce(Promise.reject(new Error('EIO: i/o error')));
      const failed = await rejection(log.persist({ add: 2 }, () => 3));
      expect(failed.code).toBe('TROUPE_ERR_STORAGE_WRITE');
      expect((failed.cause as Error).message).toBe('EIO: i/o error');
      expect((await rejection(log.persist({ add: 3 }, () => 6))).code).toBe('TROUPE_ERR_STORAGE_WRITE');
      expect(log.recover(0, sum)).toEqual({ state: 1, seq: 1, replayed: 1 });
      expect(await log.persist({ add: 2 }, () => 3)).toBe(2);
      expect(log.recover(0, sum)).toEqual({ state: 3, seq: 2, replayed: 2 });
    });

    it('passes on an error thrown by stateAfter and writes nothing', async () => {
      const f = await fixture();
      const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 1 });
      const bug = new Error('bug in the handler');
      await expect(log.persist({ add: 1 }, () => { throw bug; })).rejects.toBe(bug);
      expect(log.seq).toBe(0);
      expect(keysOf(f.store.journal, 'a')).toEqual([]);
    });

    it('rejects with TROUPE_ERR_STORAGE_CLOSED after close', async () => {
      const f = await fixture();
      const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a');
      await f.store.close();
      expect((await rejection(log.persist({ add: 1 }, () => 1))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
      expect((await rejection(() => log.recover(0, sum))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
    });
  });

  describe('corrupt records', () => {
    it('throws TROUPE_ERR_STORAGE_CORRUPT_RECORD naming key and seq for garbage bytes, and other keys still recover', async () => {
      const f = await fixture();
      await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'bad'), 1, 5, { v: 0 });
      await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'good'), 1, 5, { v: 0 });
      await f.withRawEnv(async (root) => {
        const raw = root.openDB('journal', { encoding: 'binary' });
        await raw.put(['bad', 3], Buffer.from([0xc1, 0xff, 0x00, 0x13]));
      });
      const store = await f.reopen();
      const err = await rejection(() => new PersistentLog<number, Ev>(new LmdbJournal(store), 'bad').recover(0, sum));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
      expect(err.message).toContain('"bad"');
      expect(err.message).toContain('seq 3');
      expect(err.details).toEqual({ db: 'journal', key: 'bad', seq: 3 });
      expect(new PersistentLog<number, Ev>(new LmdbJournal(store), 'good').recover(0, sum)).toEqual({ state: 15, seq: 5, replayed: 5 });
    });

    it('throws for a record of the wrong shape', async () => {
      const f = await fixture();
      await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a'), 1, 5, { v: 0 });
      await f.store.put(f.store.journal, ['a', 4], { v: 99, seq: 4, at: 0, event: { add: 4 } });
      const err = await rejection(() => new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a').recover(0, sum));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
      expect(err.details).toEqual({ db: 'journal', key: 'a', seq: 4 });
      expect(err.message).toMatch(/seq 4: v:/);
    });

    it('throws for a record whose seq disagrees with its key', async () => {
      const f = await fixture();
      await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a'), 1, 3, { v: 0 });
      await f.store.put(f.store.journal, ['a', 2], { v: 1, seq: 7, at: 0, event: { add: 2 } });
      const err = await rejection(() => new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a').recover(0, sum));
      expect(err.details).toEqual({ db: 'journal', key: 'a', seq: 2 });
    });

    it('throws for a gap in the journal', async () => {
      const f = await fixture();
      await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a'), 1, 5, { v: 0 });
      await f.store.remove(f.store.journal, ['a', 3]);
      const err = await rejection(() => new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a').recover(0, sum));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
      expect(err.details).toEqual({ db: 'journal', key: 'a', seq: 3 });
    });

    it('falls back to an older snapshot plus events when the latest snapshot is corrupt, and logs it', async () => {
      const logger = new RecordingLogger();
      const f = await fixture(logger);
      await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10 }), 1, 35, { v: 0 });
      await f.withRawEnv(async (root) => {
        await root.openDB('snapshots', { encoding: 'binary' }).put(['a', 30], Buffer.from([0xd9, 0xff, 0x41]));
      });
      const store = await f.reopen();
      const log = new PersistentLog<number, Ev>(new LmdbJournal(store), 'a', { snapshotEvery: 10 });
      expect(log.recover(0, sum)).toEqual({ state: triangle(35), seq: 35, replayed: 15 });
      expect(logger.at('warn').some((e) => e.msg?.includes('corrupt snapshot'))).toBe(true);
      // The schedule counts from the snapshot recovery used (20), so one is due at once; it
      // replaces the corrupt one, and compaction keeps the events after the good one at 20.
      await persistRange(log, 36, 45, { v: triangle(35) });
      expect(keysOf(store.snapshots, 'a')).toEqual([20, 36]);
      expect(keysOf(store.journal, 'a')[0]).toBe(21);
      expect(log.recover(0, sum)).toEqual({ state: triangle(45), seq: 45, replayed: 9 });
    });

    it('throws when the only usable snapshot is corrupt and the journal before it was compacted', async () => {
      const f = await fixture();
      await persistRange(new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10, keepSnapshots: 1 }), 1, 25, { v: 0 });
      await f.store.put(f.store.snapshots, ['a', 20], { v: 1, seq: 20 });
      const err = await rejection(() => new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { keepSnapshots: 1 }).recover(0, sum));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
      expect(err.details).toEqual({ db: 'snapshots', key: 'a', seq: 20 });
    });
  });

  describe('inboxDone', () => {
    it('marks the inbox entry done in the same commit as the event', async () => {
      const f = await fixture();
      const inbox = new LmdbInboxStore(f.store);
      await inbox.put('m1', Buffer.from('hello'));
      await inbox.put('m2', Buffer.from('world'));
      const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a');
      const p = log.persist({ add: 1 }, () => 1, { inboxDone: 'm1' });
      // Neither is visible before the commit...
      expect(f.store.journal.get(['a', 1])).toBeUndefined();
      expect(inbox.pending().map((e) => e.id)).toEqual(['m1', 'm2']);
      await p;
      // ...and both are after it.
      expect(f.store.journal.get(['a', 1])).toMatchObject({ event: { add: 1 } });
      expect(inbox.pending().map((e) => e.id)).toEqual(['m2']);
      expect(inbox.has('m1')).toBe(true);
    });

    it('leaves the inbox entry pending when the event cannot be written', async () => {
      const f = await fixture();
      const inbox = new LmdbInboxStore(f.store);
      await inbox.put('m1', Buffer.from('x'));
      const log = new PersistentLog<number, unknown>(new LmdbJournal(f.store), 'a');
      const err = await rejection(log.persist({ add: 2n ** 70n }, () => 1, { inboxDone: 'm1' }));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_WRITE');
      expect(inbox.pending().map((e) => e.id)).toEqual(['m1']);
    });

    it('marks done together with a snapshot and compaction', async () => {
      const f = await fixture();
      const inbox = new LmdbInboxStore(f.store);
      await inbox.put('m10', Buffer.from('x'));
      const log = new PersistentLog<number, Ev>(new LmdbJournal(f.store), 'a', { snapshotEvery: 10, keepSnapshots: 1 });
      await persistRange(log, 1, 9, { v: 0 });
      await log.persist({ add: 10 }, () => triangle(10), { inboxDone: 'm10' });
      expect(inbox.pending()).toEqual([]);
      expect(keysOf(f.store.snapshots, 'a')).toEqual([10]);
      expect(keysOf(f.store.journal, 'a')).toEqual([]);
      expect(log.recover(0, sum)).toEqual({ state: triangle(10), seq: 10, replayed: 0 });
    });
  });

  describe('property: recover equals the fold of everything persisted', () => {
    type Cmd =
      | { kind: 'append'; values: number[] }
      | { kind: 'restart' }
      | { kind: 'recover' };
    const cmd: fc.Arbitrary<Cmd> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ kind: fc.constant('append' as const), values: fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 12 }) }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'restart' as const }) },
      { weight: 1, arbitrary: fc.constant({ kind: 'recover' as const }) },
    );

    it('holds across snapshots, compactions and restarts', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 7 }),
          fc.integer({ min: 1, max: 3 }),
          fc.array(cmd, { minLength: 1, maxLength: 25 }),
          async (snapshotEvery, keepSnapshots, cmds) => {
            const f = await StoreFixture.create();
            try {
              const opts = { snapshotEvery, keepSnapshots };
              type S = number[];
              const apply = (s: S, e: number): S => [...s, e];
              let log = new PersistentLog<S, number>(new LmdbJournal(f.store), 'prop', opts);
              let state: S = log.recover([], apply).state;
              const all: number[] = [];
              for (const c of cmds) {
                if (c.kind === 'append') {
                  // Pipelined: none awaited until the whole burst is issued.
                  const ps = c.values.map((v) => {
                    state = apply(state, v);
                    all.push(v);
                    const after = state;
                    return log.persist(v, () => after);
                  });
                  expect(await Promise.all(ps)).toEqual(c.values.map((_, i) => all.length - c.values.length + i + 1));
                } else {
                  if (c.kind === 'restart') {
                    await f.reopen();
                    log = new PersistentLog<S, number>(new LmdbJournal(f.store), 'prop', opts);
                  }
                  const r = log.recover([], apply);
                  expect(r.state).toEqual(all);
                  expect(r.seq).toBe(all.length);
                  state = r.state;
                }
                // Compaction invariants: at most keepSnapshots snapshots, and no event at or
                // before the oldest kept one.
                const snaps = keysOf(f.store.snapshots, 'prop');
                expect(snaps.length).toBeLessThanOrEqual(keepSnapshots);
                if (snaps.length > 0) expect(keysOf(f.store.journal, 'prop').every((s) => s > snaps[0]!)).toBe(true);
              }
              await f.reopen();
              const r = new PersistentLog<S, number>(new LmdbJournal(f.store), 'prop', opts).recover([], apply);
              expect(r.state).toEqual(all);
              expect(r.seq).toBe(all.length);
            } finally {
              await f.dispose();
            }
          },
        ),
        { numRuns: 40 },
      );
    });
  });
});
