import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Kernel, type Context } from '../../actors/index.js';
import { ManualClock, TroupeError } from '../../protocol/index.js';
import { settle, silent } from '../helpers.js';

/** Every test drives a ManualClock: a timer can fire only when the test moves time. */
let nodes: Kernel[] = [];
function node(clock: ManualClock): Kernel {
  const k = new Kernel({ id: 'timers', logger: silent, clock });
  nodes.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
});

type Msg =
  | { type: 'single'; key: string; ms: number; tag: string }
  | { type: 'periodic'; key: string; ms: number; tag: string }
  | { type: 'cancel'; key: string }
  | { type: 'cancel-all' }
  | { type: 'active'; key: string }
  | { type: 'tick'; tag: string }
  | { type: 'crash' }
  | { type: 'exit' }
  | { type: 'block' };

/** An actor that runs timer commands and records the ticks it receives. */
function spawnTimed(k: Kernel, seen: string[], options: { gate?: Promise<void>; afterGate?: (ctx: Context<Msg>) => void; name?: string; mailboxCapacity?: number } = {}): void {
  k.spawn<null, Msg>(async (_s, m, ctx: Context<Msg>) => {
    switch (m.type) {
      case 'single': ctx.timers.startSingle(m.key, m.ms, { type: 'tick', tag: m.tag }); break;
      case 'periodic': ctx.timers.startPeriodic(m.key, m.ms, { type: 'tick', tag: m.tag }); break;
      case 'cancel': ctx.timers.cancel(m.key); break;
      case 'cancel-all': ctx.timers.cancelAll(); break;
      case 'active': ctx.reply(ctx.timers.isActive(m.key)); break;
      case 'tick': seen.push(m.tag); break;
      case 'crash': throw new Error('crash');
      case 'exit': ctx.stop(); break;
      case 'block': await options.gate; options.afterGate?.(ctx); break;
    }
  }, { name: options.name ?? 't', poisonAfter: 1, ...(options.mailboxCapacity ? { mailboxCapacity: options.mailboxCapacity } : {}) });
}

describe('ctx.timers', () => {
  it('a single timer fires once, at its delay and not before', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    spawnTimed(k, seen);
    k.tell('user/t', { type: 'single', key: 'k', ms: 100, tag: 'once' });
    await settle();
    clock.advance(99);
    await settle();
    expect(seen).toEqual([]);
    clock.advance(1);
    await settle();
    expect(seen).toEqual(['once']);
    clock.advance(1_000);
    await settle();
    expect(seen).toEqual(['once']);
    expect(clock.pending).toBe(0);
  });

  it('a periodic timer fires every interval until cancelled', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    spawnTimed(k, seen);
    k.tell('user/t', { type: 'periodic', key: 'p', ms: 50, tag: 'tick' });
    await settle();
    for (let i = 0; i < 3; i++) {
      clock.advance(50);
      await settle();
    }
    expect(seen).toEqual(['tick', 'tick', 'tick']);
    k.tell('user/t', { type: 'cancel', key: 'p' });
    await settle();
    expect(clock.pending).toBe(0);
    clock.advance(500);
    await settle();
    expect(seen).toHaveLength(3);
  });

  it('starting a key again replaces its timer: only the new one fires', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    spawnTimed(k, seen);
    k.tell('user/t', { type: 'single', key: 'k', ms: 100, tag: 'old' });
    k.tell('user/t', { type: 'single', key: 'k', ms: 150, tag: 'new' });
    await settle();
    expect(clock.pending).toBe(1);
    clock.advance(100);
    await settle();
    expect(seen).toEqual([]);
    clock.advance(50);
    await settle();
    expect(seen).toEqual(['new']);
  });

  it('a stale tick already queued is never delivered once its key was replaced or cancelled', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    // once unblocked, the handler replaces 'a' and cancels 'b' while their ticks wait behind it
    spawnTimed(k, seen, {
      gate,
      afterGate: (ctx) => {
        ctx.timers.startSingle('a', 20, { type: 'tick', tag: 'fresh-a' });
        ctx.timers.cancel('b');
      },
    });
    k.tell('user/t', { type: 'single', key: 'a', ms: 10, tag: 'stale-a' });
    k.tell('user/t', { type: 'single', key: 'b', ms: 10, tag: 'stale-b' });
    k.tell('user/t', { type: 'block' });
    await settle();
    clock.advance(10);
    expect(k.mailboxDepth('user/t')).toBe(0); // the ticks are queued, past the user depth
    open();
    await settle();
    expect(seen).toEqual([]);
    clock.advance(20);
    await settle();
    expect(seen).toEqual(['fresh-a']);
  });

  it('isActive: true from start until the single tick is handled or the key cancelled', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    spawnTimed(k, []);
    k.tell('user/t', { type: 'single', key: 'k', ms: 10, tag: 'x' });
    expect(await k.ask('user/t', { type: 'active', key: 'k' })).toBe(true);
    clock.advance(10);
    await settle();
    expect(await k.ask('user/t', { type: 'active', key: 'k' })).toBe(false);
    k.tell('user/t', { type: 'periodic', key: 'p', ms: 10, tag: 'x' });
    k.tell('user/t', { type: 'cancel-all' });
    expect(await k.ask('user/t', { type: 'active', key: 'p' })).toBe(false);
  });

  it('timers are cancelled when the actor restarts', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    spawnTimed(k, seen);
    k.tell('user/t', { type: 'single', key: 's', ms: 100, tag: 'single' });
    k.tell('user/t', { type: 'periodic', key: 'p', ms: 30, tag: 'periodic' });
    k.tell('user/t', { type: 'crash' });
    await settle();
    expect(k.actors()[1]!.children[0]).toMatchObject({ path: 'user/t', incarnation: 1 });
    expect(clock.pending).toBe(0);
    clock.advance(1_000);
    await settle();
    expect(seen).toEqual([]);
    expect(await k.ask('user/t', { type: 'active', key: 's' })).toBe(false);
  });

  it('timers are cancelled when the actor stops, by itself or from outside', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    spawnTimed(k, seen, { name: 'a' });
    spawnTimed(k, seen, { name: 'b' });
    for (const name of ['a', 'b']) k.tell(`user/${name}`, { type: 'periodic', key: 'p', ms: 30, tag: name });
    k.tell('user/a', { type: 'exit' });
    await settle();
    await k.stop('user/b');
    expect(clock.pending).toBe(0);
    clock.advance(1_000);
    await settle();
    expect(seen).toEqual([]);
    expect(k.deadLetters.list()).toEqual([]);
  });

  it('a tick bypasses a full mailbox', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    let open!: () => void;
    const gate = new Promise<void>((r) => { open = r; });
    spawnTimed(k, seen, { gate, mailboxCapacity: 2 });
    k.tell('user/t', { type: 'single', key: 'k', ms: 10, tag: 'through' });
    k.tell('user/t', { type: 'block' });
    await settle();
    k.tell('user/t', { type: 'active', key: 'x' });
    k.tell('user/t', { type: 'active', key: 'y' });
    expect(() => k.tell('user/t', { type: 'active', key: 'z' })).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_ACTOR_MAILBOX_FULL' }));
    clock.advance(10);
    open();
    await settle();
    expect(seen).toEqual(['through']);
  });

  it('refuses delays out of bounds and messages the actor\'s schema rejects, at the call', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const codes: string[] = [];
    const schema = z.object({ type: z.literal('go') });
    k.spawn<null, { type: 'go' }>({
      messages: schema,
      receive: (_s, _m, ctx) => {
        const tries: Array<() => void> = [
          () => ctx.timers.startSingle('a', -1, { type: 'go' }),
          () => ctx.timers.startSingle('a', Number.NaN, { type: 'go' }),
          () => ctx.timers.startPeriodic('a', 0, { type: 'go' }),
          () => ctx.timers.startSingle('', 10, { type: 'go' }),
          () => ctx.timers.startSingle('a', 10, { type: 'nope' } as never),
        ];
        for (const t of tries) {
          try {
            t();
          } catch (e) {
            codes.push((e as TroupeError).code);
          }
        }
        ctx.reply(codes);
      },
    }, { name: 'strict' });
    expect(await k.ask('user/strict', { type: 'go' })).toEqual([
      'TROUPE_ERR_ACTOR_TIMER_INVALID', 'TROUPE_ERR_ACTOR_TIMER_INVALID', 'TROUPE_ERR_ACTOR_TIMER_INVALID',
      'TROUPE_ERR_ACTOR_TIMER_INVALID', 'TROUPE_ERR_ACTOR_INVALID_MESSAGE',
    ]);
    expect(clock.pending).toBe(0); // no timer was started (the ask's deadline is gone with its reply)
  });

  it('a context kept from an ended incarnation starts nothing', async () => {
    const clock = new ManualClock();
    const k = node(clock);
    const seen: string[] = [];
    let kept: Context<Msg> | undefined;
    k.spawn<null, Msg>((_s, m, ctx) => {
      if (m.type === 'crash') { kept = ctx; throw new Error('crash'); }
      if (m.type === 'tick') seen.push(m.tag);
    }, { name: 'k', poisonAfter: 1 });
    k.tell('user/k', { type: 'crash' });
    await settle();
    kept!.timers.startSingle('late', 10, { type: 'tick', tag: 'late' });
    expect(kept!.timers.isActive('late')).toBe(false);
    clock.advance(100);
    await settle();
    expect(seen).toEqual([]);
  });
});
