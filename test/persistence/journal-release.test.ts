import { afterEach, describe, expect, it } from 'vitest';
import { Kernel, behaviour } from '../../actors/index.js';
import { openNodeStorage, type NodeStorage } from '../../storage/index.js';
import { settle, silent, tempDir } from '../helpers.js';

type Cmd = { type: 'add'; v: number } | { type: 'add-many'; vs: number[] } | { type: 'get' };

/** Journals each add; `add-many` issues its persists without waiting for them. */
const counter = behaviour<number[], Cmd, number>({
  initial: () => [],
  persistence: { apply: (s, e) => [...s, e], snapshotEvery: 50 },
  receive: async (s, m, ctx) => {
    if (m.type === 'get') return void ctx.reply(s);
    if (m.type === 'add-many') {
      for (const v of m.vs) ctx.persist(v).catch(() => undefined);
      return void ctx.reply('issued');
    }
    await ctx.persist(m.v);
    ctx.reply('ok');
  },
});

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function kernelOn(durable: boolean): Promise<{ k: Kernel; storage: NodeStorage }> {
  let dataDir: string | undefined;
  if (durable) {
    const t = tempDir('troupe-release-');
    cleanups.push(t.cleanup);
    dataDir = t.dir;
  }
  const storage = await openNodeStorage({ dataDir, logger: silent });
  const k = new Kernel({ id: 'rel', logger: silent, storage });
  k.onClosed('storage', () => storage.close());
  cleanups.push(() => k.close());
  return { k, storage };
}

describe.each([
  ['LMDB', true],
  ['memory', false],
])('persistent actors leave no log behind (%s journal)', (_name, durable) => {
  it('2,000 short-lived persistent actors with unique names: the log map is empty once they stopped', async () => {
    const { k, storage } = await kernelOn(durable);
    for (let batch = 0; batch < 20; batch++) {
      const refs = Array.from({ length: 100 }, (_, i) => k.spawn(counter, { name: `c-${batch}-${i}` }));
      await Promise.all(refs.map((r, i) => k.ask(r, { type: 'add', v: i })));
      await Promise.all(refs.map((r) => k.stop(r)));
    }
    await settle();
    expect(storage.journals.size).toBe(0);
    // what they journaled is still there: a later actor under one of the keys recovers it
    const back = k.spawn(counter, { name: 'c-7-42' });
    expect(await k.ask(back, { type: 'get' })).toEqual([42]);
  });

  it('an actor stopped with commits in flight and spawned again continues the same sequence', async () => {
    const { k, storage } = await kernelOn(durable);
    const first = k.spawn(counter, { name: 'again' });
    expect(await k.ask(first, { type: 'add', v: 0 })).toBe('ok');
    const vs = Array.from({ length: 200 }, (_, i) => i + 1);
    expect(await k.ask(first, { type: 'add-many', vs })).toBe('issued');
    await k.stop(first);
    // LMDB commits take a trip to its write thread: still in flight here (memory ones are not)
    if (durable) expect(storage.journals.size).toBe(1);
    // its log is held while those commits settle, and the new incarnation recovers through them
    const second = k.spawn(counter, { name: 'again' });
    expect(await k.ask(second, { type: 'add', v: 201 })).toBe('ok');
    expect(await k.ask(second, { type: 'get' })).toEqual([0, ...vs, 201]);
    await settle();
    expect(storage.journals.size).toBe(0);
    expect(storage.journals.journal.highestSeq('user/again')).toBe(202);
    await k.stop(second);
    const third = k.spawn(counter, { name: 'again' });
    expect(await k.ask(third, { type: 'get' })).toEqual([0, ...vs, 201]);
  });
});
