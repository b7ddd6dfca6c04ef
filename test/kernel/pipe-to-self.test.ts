import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Kernel, type InspectionEvent } from '../../actors/index.js';
import { ManualClock } from '../../protocol/index.js';
import { settle, silent } from '../helpers.js';

let nodes: Kernel[] = [];
function node(): Kernel {
  const k = new Kernel({ id: 'pipe', logger: silent, clock: new ManualClock(1_000) });
  nodes.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
});

/** A promise settled from outside, so a test decides when a pipe completes. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void; reject: (e: unknown) => void } {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

type Msg = { type: 'start' } | { type: 'fill'; n: number } | { type: 'piped'; v: string } | { type: 'crash' } | { type: 'get' };

describe('ctx.pipeToSelf', () => {
  it('delivers past a full mailbox, after the messages already queued', async () => {
    const k = node();
    const work = deferred<string>();
    const gate = deferred<void>();
    const seen: string[] = [];
    const ref = k.spawn<null, Msg>(async (_s, m, ctx) => {
      if (m.type === 'start') {
        ctx.pipeToSelf(work.promise, (v) => ({ type: 'piped', v }));
        await gate.promise;
      } else if (m.type === 'fill') seen.push(`fill ${m.n}`);
      else if (m.type === 'piped') seen.push(`piped ${m.v}`);
      else if (m.type === 'get') ctx.reply(seen);
    }, { name: 'busy', mailboxCapacity: 3 });
    k.tell(ref, { type: 'start' });
    await settle();
    for (let n = 0; n < 3; n++) k.tell(ref, { type: 'fill', n });
    expect(() => k.tell(ref, { type: 'fill', n: 3 })).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_ACTOR_MAILBOX_FULL' }));
    work.resolve('result');
    await settle();
    expect(k.mailboxDepth(ref)).toBe(4); // past the capacity of 3
    gate.resolve();
    await settle();
    expect(await k.ask(ref, { type: 'get' })).toEqual(['fill 0', 'fill 1', 'fill 2', 'piped result']);
    expect(k.deadLetters.list()).toHaveLength(1); // only the refused fill 3
  });

  it('maps a rejection with onErr', async () => {
    const k = node();
    const work = deferred<string>();
    const seen: string[] = [];
    k.spawn<null, Msg>((_s, m, ctx) => {
      if (m.type === 'start') ctx.pipeToSelf(work.promise, (v) => ({ type: 'piped', v }), (e) => ({ type: 'piped', v: `error ${(e as Error).message}` }));
      else if (m.type === 'piped') seen.push(m.v);
    }, { name: 'a' });
    k.tell('user/a', { type: 'start' });
    await settle();
    work.reject(new Error('upstream down'));
    await settle();
    expect(seen).toEqual(['error upstream down']);
  });

  it('a rejection without onErr fails the actor, and its supervisor restarts it', async () => {
    const k = node();
    const events: InspectionEvent[] = [];
    k.inspect((e) => events.push(e));
    const work = deferred<string>();
    k.spawn<null, Msg>((_s, m, ctx) => {
      if (m.type === 'start') ctx.pipeToSelf(work.promise, (v) => ({ type: 'piped', v }));
    }, { name: 'a' });
    k.tell('user/a', { type: 'start' });
    await settle();
    work.reject(new Error('lost'));
    await settle();
    expect(events.find((e) => e.type === 'actor.failed')).toMatchObject({ address: 'troupe://pipe/user/a', error: { message: 'lost' } });
    expect(events.filter((e) => e.type === 'actor.restarted')).toHaveLength(1);
  });

  it('a failed pipe does not blame the message in hand: it is handled again after the restart', async () => {
    const k = node();
    const work = deferred<string>();
    const gate = deferred<void>();
    let slowCalls = 0;
    k.spawn<null, Msg>(async (_s, m, ctx) => {
      if (m.type === 'start') ctx.pipeToSelf(work.promise, (v) => ({ type: 'piped', v }));
      if (m.type === 'fill') {
        slowCalls++;
        await gate.promise;
      }
    }, { name: 'a', poisonAfter: 1 });
    k.tell('user/a', { type: 'start' });
    k.tell('user/a', { type: 'fill', n: 1 });
    await settle();
    work.reject(new Error('lost'));
    await settle();
    gate.resolve();
    await settle();
    expect(slowCalls).toBe(2);
    expect(k.deadLetters.list()).toEqual([]);
  });

  it('goes to the new incarnation when the actor restarted meanwhile', async () => {
    const k = node();
    const work = deferred<string>();
    const seen: string[] = [];
    k.spawn<string, Msg>({
      initial: () => 'fresh',
      receive: (s, m, ctx) => {
        if (m.type === 'start') { ctx.pipeToSelf(work.promise, (v) => ({ type: 'piped', v })); return 'piping'; }
        if (m.type === 'crash') throw new Error('crash');
        if (m.type === 'piped') seen.push(`${m.v} in ${s}`);
        return s;
      },
    }, { name: 'a', poisonAfter: 1 });
    k.tell('user/a', { type: 'start' });
    await settle();
    k.tell('user/a', { type: 'crash' });
    await settle();
    work.resolve('late');
    await settle();
    expect(seen).toEqual(['late in fresh']);
  });

  it('is a dead letter when the actor stopped meanwhile', async () => {
    const k = node();
    const work = deferred<string>();
    k.spawn<null, Msg>((_s, m, ctx) => {
      if (m.type === 'start') ctx.pipeToSelf(work.promise, (v) => ({ type: 'piped', v }));
    }, { name: 'a' });
    k.tell('user/a', { type: 'start' });
    await settle();
    await k.stop('user/a');
    work.resolve('too late');
    await settle();
    expect(k.deadLetters.list({ reason: 'stopped' }).map((d) => d.envelope.payload)).toEqual([{ type: 'piped', v: 'too late' }]);
  });

  it('checks the mapped message against the actor\'s schema: an invalid one is a dead letter', async () => {
    const k = node();
    const seen: unknown[] = [];
    const schema = z.discriminatedUnion('type', [z.object({ type: z.literal('start') }), z.object({ type: z.literal('piped'), v: z.string() })]);
    k.spawn<null, z.infer<typeof schema>>({
      messages: schema,
      receive: (_s, m, ctx) => {
        if (m.type === 'start') ctx.pipeToSelf(Promise.resolve(42), (v) => ({ type: 'piped', v }) as never);
        else seen.push(m);
      },
    }, { name: 'typed' });
    k.tell('user/typed', { type: 'start' });
    await settle();
    expect(seen).toEqual([]);
    expect(k.deadLetters.list({ reason: 'invalid' })).toHaveLength(1);
  });

  it('a mapped undefined delivers nothing', async () => {
    const k = node();
    let count = 0;
    k.spawn<null, Msg | undefined>((_s, m, ctx) => {
      count++;
      if (m?.type === 'start') ctx.pipeToSelf(Promise.resolve('x'), () => undefined);
    }, { name: 'a' });
    k.tell('user/a', { type: 'start' });
    await settle();
    expect(count).toBe(1);
  });
});
