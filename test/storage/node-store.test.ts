import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LOCK_FILE, LmdbInboxStore, NodeStore, PersistentLog, type NodeStoreOptions, LmdbJournal } from '../../storage/index.js';
import { Child, RecordingLogger, StoreFixture, distStorageUrl, tempDir, rejection } from './helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function fixture(opts: Omit<NodeStoreOptions, 'dir'> = {}): Promise<StoreFixture> {
  const f = await StoreFixture.create(opts);
  cleanups.push(() => f.dispose());
  return f;
}

function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}


const HOLD_SCRIPT = `
const [url, dir] = process.argv.slice(1);
const { NodeStore } = await import(url);
await NodeStore.open({ dir });
process.stdout.write('ready ' + process.pid + '\\n');
setInterval(() => {}, 60_000);
`;

describe('NodeStore', () => {
  it('opens the named databases in one environment and writes through them', async () => {
    const f = await fixture();
    const s = f.store;
    for (const db of [s.journal, s.snapshots, s.state, s.deadLetters, s.outbox, s.inbox, s.db('sessions')]) {
      await s.put(db, ['k', 1], { ok: true });
      expect(db.get(['k', 1])).toEqual({ ok: true });
    }
    expect(s.db('sessions')).toBe(s.db('sessions'));
    await s.batch(() => {
      s.state.put('a', 1);
      s.db('jobs').put('b', 2);
    });
    await s.remove(s.state, 'a');
    expect(s.state.get('a')).toBeUndefined();
    expect(s.db('jobs').get('b')).toBe(2);
    expect(existsSync(join(f.dir, 'troupe.mdb'))).toBe(true);
  });

  it('keeps data across close and reopen', async () => {
    const f = await fixture();
    await f.store.put(f.store.state, 'node-id', 'a');
    await f.reopen();
    expect(f.store.state.get('node-id')).toBe('a');
  });

  it('closes idempotently: concurrent calls share one promise', async () => {
    const f = await fixture();
    const a = f.store.close();
    const b = f.store.close();
    expect(a).toBe(b);
    await Promise.all([a, b]);
    expect(f.store.closed).toBe(true);
    await f.store.close();
  });

  it('rejects use after close with TROUPE_ERR_STORAGE_CLOSED', async () => {
    const f = await fixture();
    await f.store.close();
    expect((await rejection(f.store.put(f.store.state, 'x', 1))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
    expect((await rejection(() => f.store.db('x'))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
    expect((await rejection(() => new PersistentLog(new LmdbJournal(f.store), 'k'))).code).toBe('TROUPE_ERR_STORAGE_CLOSED');
  });

  it('rejects invalid options with TROUPE_ERR_CONFIG_INVALID', async () => {
    expect((await rejection(NodeStore.open({ dir: '' }))).code).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect((await rejection(NodeStore.open({ dir: dir(), mapSizeBytes: -1 }))).code).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect((await rejection(NodeStore.open({ dir: dir(), bogus: 1 } as never))).code).toBe('TROUPE_ERR_CONFIG_INVALID');
  });

  // Provoking a real LMDB write error: LMDB limits keys to 1978 bytes and lmdb-js rejects a
  // longer one when the write is issued; a BigInt past 64 bits fails msgpack encoding. Both
  // are lmdb-js errors on put (lmdb-js grows the map on MDB_MAP_FULL, so that cannot be used).
  it('surfaces an LMDB write failure as TROUPE_ERR_STORAGE_WRITE with the lmdb error as cause', async () => {
    const f = await fixture();
    const keyTooLong = await rejection(f.store.put(f.store.state, 'x'.repeat(3000), 1));
    expect(keyTooLong.code).toBe('TROUPE_ERR_STORAGE_WRITE');
    expect((keyTooLong.cause as Error).message).toMatch(/key size/i);
    const unencodable = await rejection(f.store.put(f.store.state, 'big', 2n ** 70n));
    expect(unencodable.code).toBe('TROUPE_ERR_STORAGE_WRITE');
    expect(unencodable.cause).toBeInstanceOf(Error);
    // The store is still fine afterwards.
    await f.store.put(f.store.state, 'ok', 1);
    expect(f.store.state.get('ok')).toBe(1);
  });
});

describe('data dir lock', () => {
  it('refuses a second open in the same process', async () => {
    const f = await fixture();
    const err = await rejection(NodeStore.open({ dir: f.dir }));
    expect(err.code).toBe('TROUPE_ERR_STORAGE_LOCKED');
    expect(err.message).toContain(f.dir);
  });

  it('releases the lock on close', async () => {
    const f = await fixture();
    await f.store.close();
    expect(existsSync(join(f.dir, LOCK_FILE))).toBe(false);
    f.store = await NodeStore.open({ dir: f.dir });
  });

  it('refuses a dir held by a live process, then takes over its lock once that process is SIGKILLed', async () => {
    const d = dir();
    const child = new Child(HOLD_SCRIPT, [distStorageUrl(), d]);
    cleanups.push(() => child.kill9());
    const line = await child.waitFor((l) => l.startsWith('ready'));
    const pid = Number(line.split(' ')[1]);

    const err = await rejection(NodeStore.open({ dir: d }));
    expect(err.code).toBe('TROUPE_ERR_STORAGE_LOCKED');
    expect(err.message).toContain(d);
    expect(err.message).toContain(`pid ${pid}`);
    expect(err.details).toMatchObject({ dir: d, pid });

    await child.kill9();
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(pid); // left behind

    const logger = new RecordingLogger();
    const store = await NodeStore.open({ dir: d, logger });
    cleanups.push(() => store.close());
    const takeover = logger.at('warn').find((e) => e.msg?.includes('stale'));
    expect(takeover?.msg).toContain(`pid ${pid}`);
    expect(JSON.parse(readFileSync(join(d, LOCK_FILE), 'utf8')).pid).toBe(process.pid);
  });

  it('takes over a lock left by an earlier process that had our pid', async () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), JSON.stringify({ pid: process.pid, token: 'previous-incarnation', hostname: hostname(), at: 0 }));
    const store = await NodeStore.open({ dir: d });
    cleanups.push(() => store.close());
  });

  it('takes over an unreadable lock file', async () => {
    const d = dir();
    writeFileSync(join(d, LOCK_FILE), 'garbage');
    const store = await NodeStore.open({ dir: d });
    cleanups.push(() => store.close());
  });
});

const PERSIST_SCRIPT = `
const [url, dir] = process.argv.slice(1);
const { NodeStore, PersistentLog, LmdbInboxStore, LmdbJournal } = await import(url);
const store = await NodeStore.open({ dir });
const inbox = new LmdbInboxStore(store);
const N = 100000;
const ids = [];
for (let i = 1; i <= 20000; i++) ids.push(inbox.put('m' + i, Buffer.from([i & 255])));
await Promise.all(ids);
process.stdout.write('inbox\\n');
const log = new PersistentLog(new LmdbJournal(store), 'counter', { snapshotEvery: 1e9 });
for (let i = 1; i <= N; i += 200) {
  const batch = [];
  for (let j = i; j < i + 200; j++) batch.push(log.persist({ n: j, id: 'm' + j }, () => null, j <= 20000 ? { inboxDone: 'm' + j } : undefined));
  const seqs = await Promise.all(batch);
  process.stdout.write('acked ' + seqs[seqs.length - 1] + '\\n');
}
`;

describe('durability', () => {
  it('keeps every acknowledged persist, and each inbox mark with its event, across kill -9', async () => {
    const d = dir();
    const child = new Child(PERSIST_SCRIPT, [distStorageUrl(), d]);
    cleanups.push(() => child.kill9());
    await child.waitFor((l) => l.startsWith('acked') && Number(l.split(' ')[1]) >= 3000);
    await child.kill9();
    const acked = Math.max(...child.lines.filter((l) => l.startsWith('acked')).map((l) => Number(l.split(' ')[1])));

    const store = await NodeStore.open({ dir: d });
    cleanups.push(() => store.close());
    const log = new PersistentLog<number[], { n: number; id: string }>(new LmdbJournal(store), 'counter', { snapshotEvery: 1e9 });
    const { state, seq } = log.recover<number[], { n: number; id: string }>([], (s, e) => (s.push(e.n), s));
    expect(seq).toBeGreaterThanOrEqual(acked);
    expect(state).toEqual(Array.from({ length: seq }, (_, i) => i + 1));

    const inbox = new LmdbInboxStore(store);
    const pending = new Set(inbox.pending().map((p) => p.id));
    for (let i = 1; i <= 20000; i++) {
      // Journaled <=> marked done: the event and its inbox mark share one commit.
      expect(pending.has(`m${i}`)).toBe(i > seq);
      expect(inbox.has(`m${i}`)).toBe(true);
    }
  });
});
