import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { PersistentLog, type InboxStore, type Journal } from '../../storage/index.js';
import { rejection } from './helpers.js';

/** One journal under test, made fresh for each test by the suite's factory. */
export interface JournalUnderTest {
  journal: Journal;
  /** The inbox a write's `inboxDone` marks. */
  inbox: InboxStore;
  /** Store `value` as the raw record of `key` at `seq`, bypassing the journal (to corrupt it). */
  putRaw(db: 'journal' | 'snapshots', key: string, seq: number, value: unknown): Promise<void>;
  /** Close the journal (writes must then be refused). */
  close(): Promise<void>;
  /** Close and open again on the same data (durable journals). */
  reopen?: () => Promise<Journal>;
  dispose(): Promise<void>;
}

const collect = (j: Journal, key: string, from = 1, to?: number): Array<[number, unknown]> => [...j.replay(key, from, to)].map((r) => [r.seq, r.event]);

/** Append events 1..n as `{ n: seq }`, all issued at once; resolves when all committed. */
async function appendRange(j: Journal, key: string, from: number, to: number): Promise<void> {
  const commits: Array<Promise<unknown>> = [];
  for (let s = from; s <= to; s++) commits.push(j.append(key, s, { n: s }));
  await Promise.all(commits);
}

/**
 * The journal contract (after Pekko's JournalSpec): every {@link Journal} implementation runs
 * this suite, with a factory that makes a fresh journal per test.
 *
 * @example journalContract('MemoryJournal', async () => memoryUnderTest(), { durable: false });
 */
export function journalContract(name: string, make: () => Promise<JournalUnderTest>, traits: { durable: boolean }): void {
  describe(`Journal contract: ${name}`, () => {
    const made: JournalUnderTest[] = [];
    afterEach(async () => {
      for (const t of made.splice(0)) await t.dispose();
    });
    const fresh = async (): Promise<JournalUnderTest> => {
      const t = await make();
      made.push(t);
      return t;
    };

    it('replays every event of a key in order, each with its seq and a timestamp', async () => {
      const { journal } = await fresh();
      await appendRange(journal, 'k', 1, 5);
      const recs = [...journal.replay('k', 1)];
      expect(recs.map((r) => [r.seq, r.event])).toEqual([1, 2, 3, 4, 5].map((n) => [n, { n }]));
      expect(recs.every((r) => r.v === 1 && typeof r.at === 'number')).toBe(true);
    });

    it('replays from a lower bound and up to an upper bound (inclusive)', async () => {
      const { journal } = await fresh();
      await appendRange(journal, 'k', 1, 10);
      expect(collect(journal, 'k', 4).map(([s]) => s)).toEqual([4, 5, 6, 7, 8, 9, 10]);
      expect(collect(journal, 'k', 3, 5).map(([s]) => s)).toEqual([3, 4, 5]);
      expect(collect(journal, 'k', 11)).toEqual([]);
    });

    it('knows nothing of a key never written: empty replay, highest 0, no lowest, no snapshots', async () => {
      const { journal } = await fresh();
      expect(collect(journal, 'none')).toEqual([]);
      expect(journal.highestSeq('none')).toBe(0);
      expect(journal.lowestSeq('none')).toBeUndefined();
      expect(journal.snapshotSeqs('none')).toEqual([]);
      expect(journal.loadSnapshot('none', 1)).toBeUndefined();
    });

    it('keeps keys apart, even when one is a prefix of another', async () => {
      const { journal } = await fresh();
      await appendRange(journal, 'a', 1, 3);
      await appendRange(journal, 'ab', 1, 2);
      expect(collect(journal, 'a').map(([s]) => s)).toEqual([1, 2, 3]);
      expect(collect(journal, 'ab').map(([s]) => s)).toEqual([1, 2]);
      expect(journal.highestSeq('a')).toBe(3);
      expect(journal.highestSeq('ab')).toBe(2);
    });

    it('appends issued together share commits (callers wait once per commit, not per event)', async () => {
      const { journal } = await fresh();
      const commits: Array<Promise<unknown>> = [];
      for (let s = 1; s <= 50; s++) commits.push(journal.append('k', s, { n: s }));
      expect(new Set(commits).size).toBeLessThan(50);
      await Promise.all(commits);
      expect(journal.highestSeq('k')).toBe(50);
    });

    it('stores a copy: changing an event or a state after the write changes nothing stored', async () => {
      const { journal } = await fresh();
      const event = { list: [1] };
      const state = { list: [1] };
      await journal.append('k', 1, event);
      await journal.write('k', { events: [], snapshot: { seq: 1, state } });
      event.list.push(2);
      state.list.push(2);
      expect(collect(journal, 'k')).toEqual([[1, { list: [1] }]]);
      const snap = journal.loadSnapshot('k', 1)!;
      expect(snap.state).toEqual({ list: [1] });
      (snap.state as { list: number[] }).list.push(3);
      expect(journal.loadSnapshot('k', 1)!.state).toEqual({ list: [1] });
    });

    it('deletes events up to a seq, and the highest seq never goes back, even when all are deleted', async () => {
      const { journal } = await fresh();
      await appendRange(journal, 'k', 1, 6);
      await journal.deleteEventsTo('k', 3);
      expect(collect(journal, 'k').map(([s]) => s)).toEqual([4, 5, 6]);
      expect(journal.lowestSeq('k')).toBe(4);
      await journal.deleteEventsTo('k', 6);
      expect(collect(journal, 'k')).toEqual([]);
      expect(journal.lowestSeq('k')).toBeUndefined();
      expect(journal.highestSeq('k')).toBe(6);
    });

    it('writes events, a snapshot, snapshot deletions and compaction as one commit; loads the latest snapshot', async () => {
      const { journal } = await fresh();
      await appendRange(journal, 'k', 1, 4);
      await journal.write('k', { events: [{ seq: 5, event: { n: 5 } }], snapshot: { seq: 5, state: { total: 15 } } });
      await appendRange(journal, 'k', 6, 9);
      await journal.write('k', { events: [{ seq: 10, event: { n: 10 } }], snapshot: { seq: 10, state: { total: 55 } }, deleteSnapshots: [5], deleteEventsTo: 5 });
      expect(journal.snapshotSeqs('k')).toEqual([10]);
      const latest = journal.snapshotSeqs('k').at(-1)!;
      expect(journal.loadSnapshot('k', latest)).toMatchObject({ v: 1, seq: 10, state: { total: 55 } });
      expect(collect(journal, 'k').map(([s]) => s)).toEqual([6, 7, 8, 9, 10]);
      expect(journal.highestSeq('k')).toBe(10);
    });

    it('saves a snapshot on its own and keeps the newest N when told which to delete', async () => {
      const { journal } = await fresh();
      for (const seq of [10, 20, 30]) await journal.write('k', { events: [], snapshot: { seq, state: { at: seq } } });
      await journal.write('k', { events: [], snapshot: { seq: 40, state: { at: 40 } }, deleteSnapshots: [10, 20] });
      expect(journal.snapshotSeqs('k')).toEqual([30, 40]);
      expect(journal.highestSeq('k')).toBe(40);
      expect(journal.loadSnapshot('k', 30)?.state).toEqual({ at: 30 });
    });

    it('writes nothing when any value of a batch cannot be stored: throws TROUPE_ERR_STORAGE_WRITE at once', async () => {
      const { journal } = await fresh();
      await appendRange(journal, 'k', 1, 2);
      const err = await rejection(() => journal.write('k', { events: [{ seq: 3, event: { n: 3 } }], snapshot: { seq: 3, state: { big: 2n ** 70n } } }));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_WRITE');
      expect(collect(journal, 'k').map(([s]) => s)).toEqual([1, 2]);
      expect(journal.snapshotSeqs('k')).toEqual([]);
      expect(journal.highestSeq('k')).toBe(2);
      expect((await rejection(() => journal.append('k', 3, { big: 2n ** 70n }))).code).toBe('TROUPE_ERR_STORAGE_WRITE');
      expect(journal.highestSeq('k')).toBe(2);
    });

    it('marks a durable inbox entry done in the same commit as the event', async () => {
      const { journal, inbox } = await fresh();
      expect(await inbox.put('m1', Buffer.from([1]))).toBe(true);
      await journal.write('k', { events: [{ seq: 1, event: { n: 1 } }], inboxDone: 'm1' });
      expect(inbox.pending()).toEqual([]);
      expect(inbox.has('m1')).toBe(true);
      expect(collect(journal, 'k')).toEqual([[1, { n: 1 }]]);
    });

    it('validates records on read: a record of the wrong shape throws TROUPE_ERR_STORAGE_CORRUPT_RECORD naming key and seq', async () => {
      const t = await fresh();
      await appendRange(t.journal, 'k', 1, 3);
      await t.putRaw('journal', 'k', 2, { v: 1, seq: 2, at: 'yesterday', event: {} });
      const err = await rejection(() => collect(t.journal, 'k'));
      expect(err.code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
      expect(err.details).toEqual({ db: 'journal', key: 'k', seq: 2 });
      await t.putRaw('journal', 'k', 2, { v: 1, seq: 7, at: 0, event: {} });
      expect((await rejection(() => collect(t.journal, 'k'))).message).toContain('record says seq 7');
      await t.putRaw('snapshots', 'k', 3, { v: 99, seq: 3, at: 0, state: {} });
      expect((await rejection(() => t.journal.loadSnapshot('k', 3))).details).toEqual({ db: 'snapshots', key: 'k', seq: 3 });
      // records carry their schema version: an unknown one is refused, not guessed at
      await t.putRaw('journal', 'k', 1, { v: 2, seq: 1, at: 0, event: {} });
      expect((await rejection(() => collect(t.journal, 'k'))).code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
    });

    it('purges one key whole (events, snapshots, highest seq) and leaves other keys alone', async () => {
      const { journal } = await fresh();
      await appendRange(journal, 'k', 1, 4);
      await journal.write('k', { events: [], snapshot: { seq: 4, state: 'x' }, deleteEventsTo: 2 });
      await appendRange(journal, 'other', 1, 2);
      await journal.purge('k');
      expect(collect(journal, 'k')).toEqual([]);
      expect(journal.snapshotSeqs('k')).toEqual([]);
      expect(journal.highestSeq('k')).toBe(0);
      expect(collect(journal, 'other').map(([s]) => s)).toEqual([1, 2]);
    });

    it('refuses writes once closed with TROUPE_ERR_STORAGE_CLOSED', async () => {
      const t = await fresh();
      await t.close();
      expect(t.journal.closed).toBe(true);
      expect((await rejection(t.journal.append('k', 1, {}))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
      expect((await rejection(t.journal.write('k', { events: [{ seq: 1, event: {} }] }))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
      expect((await rejection(t.journal.purge('k'))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
    });

    it('runs a PersistentLog: snapshots, compaction and recovery give the fold of every event', async () => {
      const { journal } = await fresh();
      const log = new PersistentLog<number, number>(journal, 'sum', { snapshotEvery: 7, keepSnapshots: 2 });
      expect(log.recover(0, (s, e) => s + e)).toEqual({ state: 0, seq: 0, replayed: 0 });
      let state = 0;
      const seqs: Array<Promise<number>> = [];
      for (let i = 1; i <= 40; i++) {
        state += i;
        const after = state;
        seqs.push(log.persist(i, () => after));
      }
      expect(await Promise.all(seqs)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
      expect(journal.snapshotSeqs('sum')).toEqual([28, 35]);
      expect(journal.lowestSeq('sum')).toBe(29);
      const again = new PersistentLog<number, number>(journal, 'sum', { snapshotEvery: 7, keepSnapshots: 2 });
      expect(again.recover(0, (s, e) => s + e)).toEqual({ state: 820, seq: 40, replayed: 5 });
      expect(await again.persist(41, () => 861)).toBe(41);
    });

    it('property: any run of persists, recovered by a new log, is the fold of its events', async () => {
      const { journal } = await fresh();
      let round = 0;
      await fc.assert(
        fc.asyncProperty(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 60 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 3 }), async (events, every, keep) => {
          const key = `p${round++}`;
          const opts = { snapshotEvery: every, keepSnapshots: keep };
          const log = new PersistentLog<number[], number>(journal, key, opts);
          let state = log.recover<number[], number>([], (s, e) => [...s, e]).state;
          await Promise.all(events.map((e) => {
            state = [...state, e];
            const after = state;
            return log.persist(e, () => after);
          }));
          const recovered = new PersistentLog<number[], number>(journal, key, opts).recover<number[], number>([], (s, e) => [...s, e]);
          expect(recovered.state).toEqual(events);
          expect(recovered.seq).toBe(events.length);
          expect(journal.snapshotSeqs(key).length).toBeLessThanOrEqual(keep);
        }),
        { numRuns: 40 },
      );
    });

    if (traits.durable) {
      it('keeps every event and snapshot across a close and reopen', async () => {
        const t = await fresh();
        await appendRange(t.journal, 'k', 1, 5);
        await t.journal.write('k', { events: [], snapshot: { seq: 3, state: 6 }, deleteEventsTo: 3 });
        const j = await t.reopen!();
        expect(j.highestSeq('k')).toBe(5);
        expect(j.loadSnapshot('k', 3)?.state).toBe(6);
        expect(collect(j, 'k').map(([s]) => s)).toEqual([4, 5]);
      });
    }
  });
}
