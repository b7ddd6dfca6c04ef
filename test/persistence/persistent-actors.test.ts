import { open } from 'lmdb';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { behaviour, createNode, type TroupeNode } from '../../index.js';
import { settle, silent, tempDir } from '../helpers.js';

type Cmd = { type: 'add'; v: number } | { type: 'get' } | { type: 'crash' };
type Ev = { v: number };

/** A persistent list: each add journals an event and replies after the commit. */
const list = behaviour<number[], Cmd, Ev>({
  initial: () => [],
  persistence: { apply: (s, e) => [...s, e.v], snapshotEvery: 5 },
  receive: async (s, m, ctx) => {
    if (m.type === 'add') {
      await ctx.persist({ v: m.v });
      ctx.reply('ok');
    } else if (m.type === 'get') {
      ctx.reply(s);
    } else {
      throw new Error('crash');
    }
  },
});

const cleanups: Array<() => void> = [];
let nodes: TroupeNode[] = [];
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
  cleanups.splice(0).forEach((c) => c());
});
async function node(dir: string): Promise<TroupeNode> {
  const n = await createNode({ id: 'p1', dataDir: dir, logger: silent });
  nodes.push(n);
  return n;
}
function dir(): string {
  const t = tempDir();
  cleanups.push(t.cleanup);
  return t.dir;
}
async function closeAll(): Promise<void> {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
}

describe('persistent actors', () => {
  it('recover their state from LMDB after the node restarts (snapshots and later events)', async () => {
    const d = dir();
    let n = await node(d);
    const ref = n.spawn(list, { name: 'l' });
    for (let i = 1; i <= 12; i++) await n.ask(ref, { type: 'add', v: i });
    await closeAll();
    n = await node(d);
    n.spawn(list, { name: 'l' });
    expect(await n.ask('user/l', { type: 'get' })).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  for (const strategy of ['one-for-one', 'one-for-all'] as const) {
    it(`${strategy}: a supervisor restart recovers the persisted state, not the initial one`, async () => {
      const n = await node(dir());
      n.spawnSupervisor({ name: 'sup', supervision: { strategy }, children: [
        { name: 'a', behaviour: list, poisonAfter: 1 },
        { name: 'b', behaviour: list, poisonAfter: 1 },
      ] });
      for (let i = 1; i <= 7; i++) {
        await n.ask('user/sup/a', { type: 'add', v: i });
        await n.ask('user/sup/b', { type: 'add', v: i * 10 });
      }
      n.tell('user/sup/a', { type: 'crash' });
      await settle();
      expect(n.actors()[1]!.children[0]!.children.map((c) => c.incarnation)).toEqual(strategy === 'one-for-all' ? [1, 1] : [1, 0]);
      expect(await n.ask('user/sup/a', { type: 'get' })).toEqual([1, 2, 3, 4, 5, 6, 7]);
      expect(await n.ask('user/sup/b', { type: 'get' })).toEqual([10, 20, 30, 40, 50, 60, 70]);
    });
  }

  it('pipelined persists (not awaited one by one) all commit, in order', async () => {
    const d = dir();
    let n = await node(d);
    const fast = behaviour<number, { v: number }, { v: number }>({
      initial: () => 0,
      persistence: { apply: (s) => s + 1 },
      receive: (_s, m, ctx) => {
        const r = ctx.replier();
        ctx.persist({ v: m.v }).then(() => r.reply(m.v), (e) => r.error(e));
      },
    });
    const ref = n.spawn(fast, { name: 'f', mailboxCapacity: 20_000 });
    const acks = await Promise.all(Array.from({ length: 5_000 }, (_, i) => n.ask(ref, { v: i }, { timeoutMs: 30_000 })));
    expect(acks).toEqual(Array.from({ length: 5_000 }, (_, i) => i));
    await closeAll();
    n = await node(d);
    const got = n.spawn(behaviour<number, 'get', unknown>({ initial: () => 0, persistence: { key: 'user/f', apply: (s) => s + 1 }, receive: (s, _m, ctx) => ctx.reply(s) }), { name: 'g' });
    expect(await n.ask(got, 'get')).toBe(5_000);
  });

  it('a corrupt record gives the coded error on recovery of that actor; the other actors keep working', async () => {
    const d = dir();
    let n = await node(d);
    n.spawn(list, { name: 'bad' });
    n.spawn(list, { name: 'good' });
    for (let i = 1; i <= 3; i++) {
      await n.ask('user/bad', { type: 'add', v: i });
      await n.ask('user/good', { type: 'add', v: i });
    }
    await closeAll();
    // Rewrite bad's second event with garbage, through a raw lmdb handle on the same files.
    const root = open({ path: join(d, 'troupe.mdb') });
    const journal = root.openDB({ name: 'journal' });
    await journal.put(['user/bad', 2], { garbage: true, v: 'x' });
    await root.close();
    n = await node(d);
    expect(() => n.spawn(list, { name: 'bad' })).toThrowError(expect.objectContaining({
      code: 'TROUPE_ERR_STORAGE_CORRUPT_RECORD',
      message: expect.stringContaining('user/bad'),
    }));
    n.spawn(list, { name: 'good' });
    expect(await n.ask('user/good', { type: 'get' })).toEqual([1, 2, 3]);
    await n.ask('user/good', { type: 'add', v: 4 });
    expect(await n.ask('user/good', { type: 'get' })).toEqual([1, 2, 3, 4]);
  });

  it('a corrupt record found during a supervisor restart stops that child with the coded error', async () => {
    const d = dir();
    const n = await node(d);
    n.spawnSupervisor({ name: 'sup', children: [{ name: 'bad', behaviour: list, poisonAfter: 1 }, { name: 'ok', behaviour: list }] });
    for (let i = 1; i <= 3; i++) await n.ask('user/sup/bad', { type: 'add', v: i });
    const journal = n.store!.db('journal');
    await journal.put(['user/sup/bad', 1], 'garbage');
    let terminated: { reason: string; code?: string } | undefined;
    n.watch('user/sup/bad', (s) => { terminated = { reason: s.reason, code: s.error?.code }; });
    n.tell('user/sup/bad', { type: 'crash' });
    await settle(10);
    expect(terminated).toEqual({ reason: 'crashed', code: 'TROUPE_ERR_STORAGE_CORRUPT_RECORD' });
    await n.ask('user/sup/ok', { type: 'add', v: 1 });
    expect(await n.ask('user/sup/ok', { type: 'get' })).toEqual([1]);
  });

  it('a write failure is a coded error to the persisting actor and a crash its supervisor handles', async () => {
    const n = await node(dir());
    const events: string[] = [];
    n.inspect((e) => { if (e.type === 'actor.failed') events.push(e.error.code); if (e.type === 'actor.restarted') events.push('restarted'); });
    const seen: string[] = [];
    const writer = behaviour<number[], { v: unknown } | 'get', { v: unknown }>({
      initial: () => [],
      persistence: { apply: (s, e) => [...s, e.v as number] },
      receive: async (s, m, ctx) => {
        if (m === 'get') return void ctx.reply(s);
        try {
          await ctx.persist({ v: m.v });
          ctx.reply('ok');
        } catch (e) {
          seen.push((e as { code: string }).code);
          throw e;
        }
      },
    });
    n.spawnSupervisor({ name: 'sup', children: [{ name: 'w', behaviour: writer, poisonAfter: 1 }] });
    await n.ask('user/sup/w', { v: 1 });
    // a BigInt beyond 64 bits cannot be encoded: the LMDB put fails
    await expect(n.ask('user/sup/w', { v: 2n ** 70n })).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_FAILED' });
    expect(seen).toEqual(['TROUPE_ERR_STORAGE_WRITE']);
    expect(events).toContain('TROUPE_ERR_STORAGE_WRITE');
    expect(events).toContain('restarted');
    // the new incarnation recovered what is on disk, not the event that never committed
    expect(await n.ask('user/sup/w', 'get')).toEqual([1]);
  });

  it('a failed commit is one failure, and a resume decider cannot keep the unwritten event', async () => {
    const n = await node(dir());
    const decisions: string[] = [];
    n.inspect((e) => { if (e.type === 'supervisor.decision') decisions.push(`${e.directive}:${e.plan}`); });
    const writer = behaviour<number[], { v: unknown } | 'get', { v: unknown }>({
      initial: () => [],
      persistence: { apply: (s, e) => [...s, e.v as number] },
      receive: async (s, m, ctx) => {
        if (m === 'get') return void ctx.reply(s);
        await ctx.persist({ v: m.v });
        ctx.reply('ok');
      },
    });
    n.spawnSupervisor({ name: 'sup', supervision: { decider: () => 'resume' }, children: [{ name: 'w', behaviour: writer, poisonAfter: 1 }] });
    await n.ask('user/sup/w', { v: 1 });
    await expect(n.ask('user/sup/w', { v: 2n ** 70n })).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_FAILED' });
    await settle();
    expect(decisions).toEqual(['restart:restart']);
    expect(await n.ask('user/sup/w', 'get')).toEqual([1]);
  });

  it('dead letters are persisted and survive a restart', async () => {
    const d = dir();
    let n = await node(d);
    n.tell('user/nobody', { type: 'hello', n: 1 });
    await settle();
    expect(n.deadLetters.count()).toBe(1);
    await closeAll();
    n = await node(d);
    const [dl] = n.deadLetters.list();
    expect(dl).toMatchObject({ reason: 'not-found', envelope: { to: 'troupe://p1/user/nobody', payload: { type: 'hello', n: 1 } } });
  });

  it('without a data dir, persistent actors run on the memory journal: recovered after a crash and a respawn, gone with the node', async () => {
    const n = await createNode({ id: 'nodata', logger: silent });
    nodes.push(n);
    const ref = n.spawn(list, { name: 'l' });
    for (let v = 1; v <= 12; v++) expect(await n.ask(ref, { type: 'add', v })).toBe('ok');
    n.tell(ref, { type: 'crash' });
    expect(await n.ask(ref, { type: 'get' })).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    await n.stop(ref);
    await settle();
    const again = n.spawn(list, { name: 'l' });
    expect(await n.ask(again, { type: 'add', v: 13 })).toBe('ok');
    expect(await n.ask(again, { type: 'get' })).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));

    // not durable: a new node (a new process) starts empty
    const fresh = await createNode({ id: 'nodata', logger: silent });
    nodes.push(fresh);
    expect(await fresh.ask(fresh.spawn(list, { name: 'l' }), { type: 'get' })).toEqual([]);
  });
});
