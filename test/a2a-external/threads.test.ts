import { afterEach, describe, expect, it } from 'vitest';
import type { ChatMessage } from '../../protocol/index.js';
import { NodeStore } from '../../storage/index.js';
import { RemoteThreads, THREADS_DB } from '../../actors/a2a/external/index.js';
import { silent, tempDir } from '../helpers.js';

const convo = (n: number): ChatMessage[] => [{ role: 'user', content: `q${n}` }, { role: 'assistant', content: `a${n}` }];
const open: Array<() => Promise<void>> = [];

afterEach(async () => {
  for (const c of open.splice(0)) await c();
});

async function store(dir: string): Promise<NodeStore> {
  const s = await NodeStore.open({ dir, logger: silent });
  open.push(() => s.close());
  return s;
}

describe('the remote threads of a proxy agent', () => {
  it('find the thread of the conversation a new message continues; a system prompt does not change the key', async () => {
    const t = new RemoteThreads(10);
    await t.remember([{ role: 'system', content: 'v1' }, ...convo(1)], { contextId: 'c1', taskId: 't1', open: false });
    expect(t.find([{ role: 'system', content: 'v2' }, ...convo(1)])).toEqual({ contextId: 'c1', taskId: 't1', open: false });
    expect(t.find(convo(2))).toBeUndefined();
  });

  it('keep at most maxThreads, the least recently used going first, in memory and in LMDB, and come back after a reopen', async () => {
    const { dir, cleanup } = tempDir('troupe-threads-');
    open.push(async () => cleanup());
    let clock = 0;
    const s1 = await store(dir);
    const t1 = new RemoteThreads(3, { store: s1, agent: 'far', now: () => ++clock, logger: silent });
    for (let i = 1; i <= 4; i++) await t1.remember(convo(i), { contextId: `c${i}`, taskId: `t${i}`, open: i === 4 });
    expect(t1.size).toBe(3);
    expect(t1.find(convo(1))).toBeUndefined();
    expect([...s1.db(THREADS_DB).getRange({ start: ['far'], end: ['far', '\uffff'] })]).toHaveLength(3);
    await s1.close();
    open.length = 0;
    open.push(async () => cleanup());
    const s2 = await store(dir);
    const t2 = new RemoteThreads(2, { store: s2, agent: 'far', now: () => ++clock, logger: silent });
    // a smaller bound keeps the newest
    expect(t2.size).toBe(2);
    expect(t2.find(convo(2))).toBeUndefined();
    expect(t2.find(convo(4))).toEqual({ contextId: 'c4', taskId: 't4', open: true });
    // another agent's threads are its own
    expect(new RemoteThreads(5, { store: s2, agent: 'other', now: () => clock, logger: silent }).size).toBe(0);
  });

  it('drops a malformed stored record instead of trusting it', async () => {
    const { dir, cleanup } = tempDir('troupe-threads-');
    open.push(async () => cleanup());
    const s = await store(dir);
    await s.put(s.db(THREADS_DB), ['far', 'bad'], { contextId: 42 });
    const t = new RemoteThreads(5, { store: s, agent: 'far', now: () => 1, logger: silent });
    expect(t.size).toBe(0);
  });
});
