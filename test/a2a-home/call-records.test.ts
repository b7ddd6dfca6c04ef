import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { NodeStore } from '../../storage/index.js';
import { CallRecords, HOME_CALLS_DB, MAX_RECORDED_REPLY_BYTES, type CallRecord } from '../../actors/a2a/home/index.js';
import { silent, tempDir } from '../helpers.js';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A store on a temp dir, opened again by `reopen` (what a restart does: the same LMDB files). */
async function lmdb() {
  const { dir, cleanup } = tempDir('troupe-home-calls-');
  let store = await NodeStore.open({ dir });
  cleanups.push(cleanup, () => store.close());
  return {
    get store() {
      return store;
    },
    reopen: async () => {
      await store.close();
      store = await NodeStore.open({ dir });
      return store;
    },
  };
}

const rec = (keepUntil: number, extra: Partial<CallRecord> = {}): CallRecord => ({ v: 1, what: 'far\u0000sendMessage\u0000u:', keepUntil, ...extra });
const ok = (n: number) => ({ ok: true as const, result: { task: { id: `t${n}`, status: { state: 'TASK_STATE_COMPLETED' } } } });

describe("the home's records of the calls it took, in LMDB", () => {
  it('a call recorded before it ran and answered is found after a reopen, with its answer as given; another call under its id is not it', async () => {
    const db = await lmdb();
    const clock = new ManualClock(1_000);
    const records = new CallRecords(db.store, clock, silent);
    await records.begin('c1', rec(61_000, { messageId: 'm1' }));
    await records.begin('c2', rec(61_000, { messageId: 'm2' }));
    await records.answer('c1', rec(61_000, { messageId: 'm1' }), ok(1), 't1');
    const again = new CallRecords(await db.reopen(), clock, silent);
    expect(again.size).toBe(2);
    expect(again.get('c1', rec(0).what)).toEqual(rec(61_000, { messageId: 'm1', reply: ok(1) }));
    // taken, never answered: its node stopped while it ran
    expect(again.get('c2', rec(0).what)).toEqual(rec(61_000, { messageId: 'm2' }));
    expect(again.get('c1', 'far\u0000cancelTask\u0000u:')).toBeUndefined();
  });

  it('an answer over MAX_RECORDED_REPLY_BYTES is recorded by its task only', async () => {
    const db = await lmdb();
    const records = new CallRecords(db.store, new ManualClock(0), silent);
    const big = { ok: true as const, result: { task: { id: 'big', text: 'x'.repeat(MAX_RECORDED_REPLY_BYTES) } } };
    await records.begin('c', rec(10_000));
    await records.answer('c', rec(10_000), big, 'big');
    expect(records.get('c', rec(0).what)).toEqual(rec(10_000, { taskRef: 'big' }));
  });

  it('pruned on the node\'s clock: a record past its keepUntil is not found, and is gone from LMDB at the next start', async () => {
    const db = await lmdb();
    const clock = new ManualClock(0);
    const records = new CallRecords(db.store, clock, silent);
    await records.begin('short', rec(1_000));
    await records.begin('long', rec(100_000));
    clock.advance(1_001);
    expect(records.get('short', rec(0).what)).toBeUndefined();
    expect(records.get('long', rec(0).what)).toBeDefined();
    clock.advance(100_000);
    const again = new CallRecords(await db.reopen(), clock, silent);
    expect(again.size).toBe(0);
    await db.store.flushed();
    expect([...db.store.db(HOME_CALLS_DB).getKeys({})]).toEqual([]);
  });

  it('bounded: past its count the oldest answered record goes first, then the oldest of all; a reopen keeps the newest', async () => {
    const db = await lmdb();
    const clock = new ManualClock(0);
    const records = new CallRecords(db.store, clock, silent, 3);
    await records.begin('a', rec(50_000));
    await records.begin('b', rec(50_000));
    await records.answer('b', rec(50_000), ok(2), 't2');
    await records.begin('c', rec(50_000));
    await records.begin('d', rec(50_000));
    expect(records.size).toBe(3);
    expect(records.get('b', rec(0).what)).toBeUndefined();
    expect(records.get('a', rec(0).what)).toBeDefined();
    await records.begin('e', rec(50_000));
    expect(records.get('a', rec(0).what)).toBeUndefined();
    expect(records.size).toBe(3);
    const again = new CallRecords(await db.reopen(), clock, silent, 2);
    expect(again.size).toBe(2);
    expect(again.get('c', rec(0).what)).toBeUndefined();
    expect(again.get('e', rec(0).what)).toBeDefined();
  });

  it('validated on read: a record that fails its schema is dropped, not trusted', async () => {
    const db = await lmdb();
    const clock = new ManualClock(0);
    await db.store.put(db.store.db(HOME_CALLS_DB), 'bad', { v: 1, what: 'x', keepUntil: 10_000, reply: { ok: 'yes' } });
    await db.store.put(db.store.db(HOME_CALLS_DB), 'good', rec(10_000));
    const records = new CallRecords(db.store, clock, silent);
    expect(records.size).toBe(1);
    expect(records.get('good', rec(0).what)).toBeDefined();
    // one spoiled after the start is dropped when read
    await db.store.put(db.store.db(HOME_CALLS_DB), 'good', { v: 2 });
    expect(records.get('good', rec(0).what)).toBeUndefined();
    expect(records.size).toBe(0);
  });

  it('on a node without a data dir nothing is recorded', async () => {
    const records = new CallRecords(undefined, new ManualClock(0), silent);
    await records.begin('c', rec(10_000));
    expect(records.durable).toBe(false);
    expect(records.get('c', rec(0).what)).toBeUndefined();
  });
});
