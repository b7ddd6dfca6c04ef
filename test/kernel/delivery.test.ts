import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Kernel } from '../../actors/index.js';
import type { Dispatcher, TurnSlot } from '../../actors/kernel/index.js';
import { TroupeError } from '../../protocol/index.js';
import { settle, silent, until } from '../helpers.js';

/**
 * A cell handles up to `throughput` queued messages per nact turn. These pin what batching
 * must not change: order, exactly-once handling, redelivery after a crash mid-turn, stops
 * taking effect at once, and other actors getting their turns.
 */
let nodes: Kernel[] = [];
function node(): Kernel {
  const k = new Kernel({ id: 'sched', logger: silent });
  nodes.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
});

describe('turns of several messages', () => {
  it('handles a flood in order, exactly once, awaiting async handlers between messages', async () => {
    const k = node();
    const seen: number[] = [];
    let inHandler = false;
    let overlapped = false;
    k.spawn<undefined, number>(async (_s, n) => {
      if (inHandler) overlapped = true;
      inHandler = true;
      if (n % 7 === 0) await new Promise((r) => setImmediate(r));
      seen.push(n);
      inHandler = false;
    }, { name: 'flood', throughput: 16, mailboxCapacity: 5_000 });
    for (let i = 0; i < 2_000; i++) k.tell('user/flood', i);
    await until(() => seen.length === 2_000, 10_000, 'every message handled');
    expect(seen).toEqual(Array.from({ length: 2_000 }, (_, i) => i));
    expect(overlapped).toBe(false);
  });

  it('lets another actor run between the turns of a busy one', async () => {
    const k = node();
    const order: string[] = [];
    k.spawn<undefined, number>((_s, n) => { order.push(`busy:${n}`); }, { name: 'busy', throughput: 10, mailboxCapacity: 1_000 });
    k.spawn<undefined, string>((_s, m) => { order.push(m); }, { name: 'other' });
    for (let i = 0; i < 500; i++) k.tell('user/busy', i);
    k.tell('user/other', 'other');
    await until(() => order.length === 501, 10_000, 'both actors done');
    // with 10 messages a turn, the other actor's one message is handled long before the 500th
    expect(order.indexOf('other')).toBeLessThan(100);
    expect(order.filter((o) => o.startsWith('busy:'))).toEqual(Array.from({ length: 500 }, (_, i) => `busy:${i}`));
  });

  it('a crash mid-turn redelivers the crashing message and the rest of the turn, in order, after the restart', async () => {
    const k = node();
    const seen: number[] = [];
    let crashed = false;
    k.spawn<undefined, number>((_s, n) => {
      if (n === 50 && !crashed) {
        crashed = true;
        throw new Error('boom at 50');
      }
      seen.push(n);
    }, { name: 'crashy', throughput: 64 });
    for (let i = 0; i < 100; i++) k.tell('user/crashy', i);
    await until(() => seen.length === 100, 10_000, 'every message handled');
    expect(seen).toEqual(Array.from({ length: 100 }, (_, i) => i));
  });

  it('ctx.stop() mid-turn: the rest of the queue is dead-lettered, not handled', async () => {
    const k = node();
    const seen: number[] = [];
    k.spawn<undefined, number>((_s, n, ctx) => {
      seen.push(n);
      if (n === 10) ctx.stop();
    }, { name: 'quitter', restart: 'temporary', throughput: 64 });
    for (let i = 0; i < 30; i++) k.tell('user/quitter', i);
    await settle();
    expect(seen).toEqual(Array.from({ length: 11 }, (_, i) => i));
    const dead = k.deadLetters.list({ limit: 100 }).map((d) => d.envelope).filter((e) => e.to.endsWith('/user/quitter'));
    expect(dead.map((e) => e.payload)).toEqual(Array.from({ length: 19 }, (_, i) => i + 11));
  });

  it('messages sent during a turn join it or the next one; none waits for a later send', async () => {
    const k = node();
    const seen: number[] = [];
    k.spawn<undefined, number>((_s, n, ctx) => {
      seen.push(n);
      if (n < 200) ctx.tell(ctx.self, n + 1);
    }, { name: 'self-feeder', throughput: 8 });
    k.tell('user/self-feeder', 0);
    await until(() => seen.length === 201, 10_000, 'the chain to finish');
    expect(seen.at(-1)).toBe(200);
  });

  it('a completion callback that throws outside the handler is logged and the actor keeps being scheduled', async () => {
    const k = node();
    const seen: number[] = [];
    k.spawn<undefined, number>((_s, n) => { seen.push(n); }, { name: 'robust', throughput: 4 });
    const env = (n: number) => ({ id: `e${n}`, to: 'troupe://sched/user/robust', type: 'number', createdAt: 0, payload: n });
    for (let n = 0; n < 10; n++) k.deliverLocal(env(n), undefined, n === 2 ? () => { throw new Error('callback bug'); } : undefined);
    await until(() => seen.length === 10, 5_000, 'every message handled');
    expect(seen).toEqual(Array.from({ length: 10 }, (_, i) => i));
    k.tell('user/robust', 10);
    await until(() => seen.length === 11, 5_000, 'a later message handled too');
  });

  it('refuses a throughput that is not a positive integer', () => {
    const k = node();
    for (const throughput of [0, -1, 1.5]) {
      let err: unknown;
      try {
        k.spawn(() => undefined, { throughput });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TroupeError);
      expect((err as TroupeError).code).toBe('TROUPE_ERR_CONFIG_INVALID');
    }
  });
});

describe('schema checks have no public bypass', () => {
  const schema = z.object({ n: z.number() });

  it('a tell is checked against the receiver\'s schema whatever options it carries, and the environment changes nothing', () => {
    process.env.TROUPE_CHECK_TRUSTED = '0';
    try {
      const k = node();
      const got: unknown[] = [];
      k.spawn<undefined, { n: number }>({ messages: schema, receive: (_s, m) => { got.push(m); } }, { name: 'strict' });
      for (const options of [undefined, { trusted: schema }, { trusted: schema, correlationId: 'c' }]) {
        let err: unknown;
        try {
          k.tell('user/strict', { n: 'raw' } as never, options as never);
        } catch (e) {
          err = e;
        }
        expect((err as TroupeError).code).toBe('TROUPE_ERR_ACTOR_INVALID_MESSAGE');
      }
      expect(k.deadLetters.list({ reason: 'invalid' })).toHaveLength(3);
      expect(got).toEqual([]);
    } finally {
      delete process.env.TROUPE_CHECK_TRUSTED;
    }
  });

  it('a message the receiver\'s schema transforms arrives transformed', async () => {
    const k = node();
    const got: unknown[] = [];
    k.spawn<undefined, { n: number }>({ messages: z.object({ n: z.coerce.number() }), receive: (_s, m) => { got.push(m); } }, { name: 'coerce' });
    k.tell('user/coerce', { n: '7' } as never);
    await until(() => got.length === 1, 5_000, 'the message');
    expect(got).toEqual([{ n: 7 }]);
  });
});

describe('the dispatcher only schedules turns', () => {
  /** A dispatcher of a few lines: turns run in microtasks. The cell keeps mailbox, order and delivery. */
  class MicrotaskDispatcher implements Dispatcher {
    schedules = 0;
    attach(turn: () => unknown): TurnSlot {
      return { turn, live: true };
    }
    schedule(slot: TurnSlot): void {
      this.schedules++;
      const s = slot as { turn: () => unknown; live: boolean };
      queueMicrotask(() => { if (s.live) void s.turn(); });
    }
    detach(slot: TurnSlot): void {
      (slot as { live: boolean }).live = false;
    }
    close(): void {}
  }

  it('a kernel runs on any Dispatcher: in order, a turn per batch, not per message', async () => {
    const dispatcher = new MicrotaskDispatcher();
    const k = new Kernel({ id: 'micro', logger: silent, dispatcher });
    nodes.push(k);
    const seen: number[] = [];
    k.spawn<undefined, number | 'get'>((_s, m, ctx) => { if (m === 'get') ctx.reply(seen); else seen.push(m); }, { name: 'w', throughput: 10 });
    const before = dispatcher.schedules;
    for (let n = 0; n < 100; n++) k.tell('user/w', n);
    expect(await k.ask('user/w', 'get')).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(dispatcher.schedules - before).toBeLessThanOrEqual(12); // 101 messages, 10 per turn
  });
});
