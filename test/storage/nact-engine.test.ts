import nact from 'nact';
import { afterEach, describe, expect, it } from 'vitest';
import { LmdbPersistenceEngine, NACT_KEY_PREFIX, PersistentLog, type NactPersistedEvent } from '../../storage/index.js';
import { StoreFixture, rejection } from './helpers.js';

type Msg = { type: 'add'; n: number } | { type: 'get'; sender: nact.Ref<number> };

let f: StoreFixture;
afterEach(async () => f.dispose());

/** A nact system on the fixture's store with one persistent counter; resolves its ref. */
function startCounter(snapshotEvery?: number): { system: nact.ActorSystemRef; counter: nact.Ref<Msg> } {
  const system = nact.start(nact.configurePersistence(new LmdbPersistenceEngine(f.store)));
  const counter = nact.spawnPersistent(
    system,
    async (state: number = 0, msg: Msg, ctx: nact.PersistentActorContext<Msg, nact.ActorSystemRef> & { recovering?: boolean }) => {
      if (msg.type === 'add') {
        if (!ctx.recovering) await ctx.persist(msg);
        return state + msg.n;
      }
      nact.dispatch(msg.sender, state);
      return state;
    },
    'counter',
    'counter',
    snapshotEvery ? { snapshotEvery } : {},
  );
  return { system, counter };
}

const get = (counter: nact.Ref<Msg>): Promise<number> => nact.query(counter, (sender) => ({ type: 'get' as const, sender }), 5000);

function event(key: string, seq: number, data: unknown, tags: string[] = []): NactPersistedEvent {
  return { data, sequenceNumber: seq, key, tags, createdAt: 1000 + seq, isDeleted: false };
}

describe('LmdbPersistenceEngine', () => {
  it('lets a spawnPersistent actor recover its state after the system is stopped and the store reopened', async () => {
    f = await StoreFixture.create();
    const first = startCounter(3);
    for (let n = 1; n <= 10; n++) nact.dispatch(first.counter, { type: 'add', n });
    expect(await get(first.counter)).toBe(55);
    nact.stop(first.system);
    await f.reopen();
    // Snapshots were taken (every 3 events), so recovery below starts from one.
    expect([...f.store.snapshots.getKeys({ start: [NACT_KEY_PREFIX, 'counter', 0], end: [NACT_KEY_PREFIX, 'counter', 1e9] })].length).toBeGreaterThan(0);

    const second = startCounter(3);
    expect(await get(second.counter)).toBe(55);
    nact.dispatch(second.counter, { type: 'add', n: 100 });
    expect(await get(second.counter)).toBe(155);
    nact.stop(second.system);
    await f.reopen();

    const third = startCounter();
    expect(await get(third.counter)).toBe(155);
    nact.stop(third.system);
  });

  it('reads events after an offset, up to a limit, filtered by tags', async () => {
    f = await StoreFixture.create();
    const engine = new LmdbPersistenceEngine(f.store);
    await engine.persist(event('k', 1, 'a', ['x']));
    await engine.persist(event('k', 2, 'b', ['x', 'y']));
    await engine.persist(event('k', 3, 'c', ['y']));
    await engine.persist(event('other', 1, 'z'));
    expect(engine.events('k').map((e) => e.data)).toEqual(['a', 'b', 'c']);
    expect(engine.events('k', 1).map((e) => e.sequenceNumber)).toEqual([2, 3]);
    expect(engine.events('k', 0, 2).map((e) => e.data)).toEqual(['a', 'b']);
    expect(engine.events('k', 0, undefined, ['x', 'y']).map((e) => e.data)).toEqual(['b']);
    expect(engine.events('k', 0, undefined, ['y']).map((e) => e.data)).toEqual(['b', 'c']);
    const reduced = await engine.events('k').reduce(async (acc, e) => `${await acc}${String(e.data)}`, Promise.resolve(''));
    expect(reduced).toBe('abc');
    expect(engine.events('k')[1]).toMatchObject({ key: 'k', tags: ['x', 'y'], createdAt: 1002, isDeleted: false });
  });

  it('returns the newest snapshot, keeps only keepSnapshots, and skips a corrupt one', async () => {
    f = await StoreFixture.create();
    const engine = new LmdbPersistenceEngine(f.store, { keepSnapshots: 2 });
    expect(await engine.latestSnapshot('k')).toBeUndefined();
    for (const seq of [3, 6, 9]) await engine.takeSnapshot({ data: { total: seq }, sequenceNumber: seq, key: 'k', createdAt: seq });
    const keys = [...f.store.snapshots.getKeys({ start: [NACT_KEY_PREFIX, 'k', 0], end: [NACT_KEY_PREFIX, 'k', 100] })];
    expect(keys).toEqual([[NACT_KEY_PREFIX, 'k', 6], [NACT_KEY_PREFIX, 'k', 9]]);
    expect(await engine.latestSnapshot('k')).toMatchObject({ data: { total: 9 }, sequenceNumber: 9, key: 'k' });
    await f.store.put(f.store.snapshots, [NACT_KEY_PREFIX, 'k', 9], { v: 1 });
    expect(await engine.latestSnapshot('k')).toMatchObject({ sequenceNumber: 6 });
  });

  it('throws TROUPE_ERR_STORAGE_CORRUPT_RECORD for a corrupt event', async () => {
    f = await StoreFixture.create();
    const engine = new LmdbPersistenceEngine(f.store);
    await engine.persist(event('k', 1, 'a'));
    await f.store.put(f.store.journal, [NACT_KEY_PREFIX, 'k', 2], { v: 1, seq: 2, at: 0, event: { tags: 'no' } });
    const err = await rejection(() => engine.events('k'));
    expect(err.code).toBe('TROUPE_ERR_STORAGE_CORRUPT_RECORD');
    expect(err.details).toEqual({ db: 'journal', key: `${NACT_KEY_PREFIX}:k`, seq: 2 });
  });

  it('shares the journal with PersistentLog without either seeing the other\'s records', async () => {
    f = await StoreFixture.create();
    const engine = new LmdbPersistenceEngine(f.store);
    const log = new PersistentLog<number, number>(f.store, NACT_KEY_PREFIX);
    await Promise.all([engine.persist(event(NACT_KEY_PREFIX, 1, 'n1')), log.persist(5, () => 5), log.persist(6, () => 11)]);
    await engine.takeSnapshot({ data: 'snap', sequenceNumber: 1, key: NACT_KEY_PREFIX, createdAt: 0 });
    expect(new PersistentLog<number, number>(f.store, NACT_KEY_PREFIX).recover(0, (s, e) => s + e)).toEqual({ state: 11, seq: 2, replayed: 2 });
    expect(engine.events(NACT_KEY_PREFIX).map((e) => e.data)).toEqual(['n1']);
  });
});
