import { afterEach, describe, expect, it } from 'vitest';
import { Kernel } from '../../actors/index.js';
import { DURABLE_FEED_RETRY_MS, DURABLE_FEED_WINDOW, DurableFeed } from '../../actors/durable-feed.js';
import { ManualClock, newId, type Envelope } from '../../protocol/index.js';
import { settle, silent } from '../helpers.js';

const kernels: Kernel[] = [];
afterEach(async () => {
  await Promise.all(kernels.splice(0).map((k) => k.close()));
});

function setup(mailboxCapacity = 50): { k: Kernel; clock: ManualClock; feed: DurableFeed; got: number[]; open: () => void; done: string[] } {
  const clock = new ManualClock(1_000);
  const k = new Kernel({ id: 'feed', logger: silent, clock, mailboxCapacity });
  kernels.push(k);
  const got: number[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => { release = r; });
  let opened = false;
  // Handles one message, then waits at the gate: the mailbox fills up behind it.
  k.spawn<null, { n: number }>(async (_s, m) => {
    got.push(m.n);
    if (!opened) await gate;
  }, { name: 'slow' });
  return { k, clock, feed: new DurableFeed(k, { atomicDone: true }), got, open: () => { opened = true; release(); }, done: [] };
}

function env(n: number): Envelope {
  return { id: newId(), to: 'troupe://feed/user/slow', type: 'd', createdAt: 0, payload: { n }, durable: true };
}

describe('DurableFeed: durable messages wait for room in the mailbox', () => {
  it('a mailbox full of other traffic is "not yet": nothing dead-lettered or done, fed in order once it drains', async () => {
    const { k, clock, feed, got, open, done } = setup(50);
    k.tell('slow', { n: -1 });
    await settle();
    for (let i = 0; i < 50; i++) k.tell('slow', { n: 1_000 + i }); // plain tells fill the mailbox
    expect(k.mailboxDepth('slow')).toBe(50);
    const ids: string[] = [];
    for (let n = 0; n < 120; n++) {
      const e = env(n);
      ids.push(e.id);
      feed.offer(e, undefined, () => done.push(e.id));
    }
    clock.advance(DURABLE_FEED_RETRY_MS * 5);
    await settle();
    expect(feed.waiting).toBe(120);
    expect(done).toEqual([]);
    expect(k.deadLetters.list({}).length).toBe(0);

    open();
    // The retry timer runs on the injected clock: each tick admits what the mailbox has room for.
    for (let i = 0; i < 50 && done.length < 120; i++) {
      await settle(20);
      clock.advance(DURABLE_FEED_RETRY_MS);
    }
    await settle(20);
    expect(got.filter((n) => n >= 0 && n < 1_000)).toEqual(Array.from({ length: 120 }, (_, n) => n));
    expect(done).toEqual(ids);
    expect(feed.waiting).toBe(0);
    expect(k.deadLetters.list({}).length).toBe(0);
    feed.close();
  });

  it('keeps at most the window (or the mailbox capacity) of durable messages in a mailbox', async () => {
    const { k, clock, feed } = setup(20);
    for (let n = 0; n < 100; n++) feed.offer(env(n), undefined, () => undefined);
    clock.advance(DURABLE_FEED_RETRY_MS);
    expect(k.mailboxDepth('slow')).toBeLessThanOrEqual(Math.min(DURABLE_FEED_WINDOW, 20));
    expect(feed.waiting).toBeGreaterThanOrEqual(79);
    expect(k.deadLetters.list({}).length).toBe(0);
    feed.close();
  });

  it("an actor with a smaller mailbox than the node default: fed within its own capacity, never overflowed or dead-lettered", async () => {
    const clock = new ManualClock(1_000);
    const k = new Kernel({ id: 'feed', logger: silent, clock });
    kernels.push(k);
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    const got: number[] = [];
    k.spawn<null, { n: number }>(async (_s, m) => { got.push(m.n); await gate; }, { name: 'slow', mailboxCapacity: 5 });
    const overflows: string[] = [];
    k.inspect((e) => { if (e.type === 'mailbox.overflow') overflows.push(e.address); });
    const feed = new DurableFeed(k, { atomicDone: true });
    const done: number[] = [];
    for (let n = 0; n < 30; n++) feed.offer(env(n), undefined, () => done.push(n));
    await settle();
    expect(done).toEqual([]);
    expect(k.mailboxDepth('slow')).toBeLessThanOrEqual(2); // half of its own 5
    release();
    for (let i = 0; i < 50 && done.length < 30; i++) {
      await settle(20);
      clock.advance(DURABLE_FEED_RETRY_MS);
    }
    expect(got).toEqual(Array.from({ length: 30 }, (_, n) => n));
    expect(done).toEqual(Array.from({ length: 30 }, (_, n) => n));
    expect(overflows).toEqual([]);
    expect(k.deadLetters.list({}).length).toBe(0);
    feed.close();
  });

  it('a message for no actor is final: dead-lettered as not-found and done', async () => {
    const { k, feed } = setup();
    const done: string[] = [];
    const e = { ...env(1), to: 'troupe://feed/user/nobody' };
    feed.offer(e, undefined, () => done.push(e.id));
    expect(done).toEqual([e.id]);
    expect(k.deadLetters.list({}).map((d) => d.reason)).toEqual(['not-found']);
    feed.close();
  });
});
