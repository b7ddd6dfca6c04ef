import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { Kernel, type Behaviour } from '../../actors/index.js';
import { TroupeError } from '../../protocol/index.js';
import { silent, until } from '../helpers.js';

/**
 * Behaviour.instances: classes whose in-process instances an actor takes without a schema
 * run. Everything else, including the same fields as plain data and anything from another
 * node, is still checked by `messages`.
 */
let nodes: Kernel[] = [];
function node(): Kernel {
  const k = new Kernel({ id: 'inst', logger: silent });
  nodes.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
});

class Command {
  readonly type = 'cmd' as const;
  constructor(readonly n: number) {}
}

/** A schema that counts its runs, takes Command instances and plain `{ type: 'cmd', n }` with n below 100. */
function counted(): { schema: z.ZodType<Command | { type: 'cmd'; n: number }>; runs: () => number } {
  let runs = 0;
  const plain = z.strictObject({ type: z.literal('cmd'), n: z.number().int().max(99) });
  const schema = z.unknown().transform((v, ctx) => {
    runs++;
    if (v instanceof Command) return v;
    const r = plain.safeParse(v);
    if (r.success) return r.data;
    ctx.addIssue({ code: 'custom', message: 'not a command' });
    return z.NEVER;
  });
  return { schema, runs: () => runs };
}

describe('an actor\'s instances', () => {
  it('are taken as they are, with no schema run; plain data of the same shape is still checked', async () => {
    const k = node();
    const { schema, runs } = counted();
    const seen: unknown[] = [];
    const b: Behaviour<undefined, Command | { type: 'cmd'; n: number }> = { messages: schema, instances: [Command], receive: (_s, m) => { seen.push(m); } };
    k.spawn(b, { name: 'c' });
    const instance = new Command(500); // past the plain schema's bound: built by this process's code
    k.tell('user/c', instance);
    expect(runs()).toBe(0);
    k.tell('user/c', { type: 'cmd', n: 1 });
    expect(runs()).toBe(1);
    let refused: unknown;
    try {
      k.tell('user/c', { type: 'cmd', n: 500 });
    } catch (e) {
      refused = e;
    }
    expect(refused).toBeInstanceOf(TroupeError);
    expect((refused as TroupeError).code).toBe('TROUPE_ERR_ACTOR_INVALID_MESSAGE');
    await until(() => seen.length === 2, 5_000, 'both accepted messages handled');
    expect(seen[0]).toBe(instance);
    expect(seen[1]).toEqual({ type: 'cmd', n: 1 });
  });

  it('never come from another node: an envelope\'s payload with the same fields is checked by the schema', async () => {
    const k = node();
    const { schema, runs } = counted();
    const seen: unknown[] = [];
    const dead: string[] = [];
    k.inspect((e) => {
      if (e.type === 'message.dead-lettered') dead.push(e.reason);
    });
    k.spawn({ messages: schema, instances: [Command], receive: (_s: undefined, m: unknown) => { seen.push(m); } }, { name: 'remote' });
    const env = (n: number) => ({ id: `e${n}`, from: 'troupe://other/user/x', to: 'troupe://inst/user/remote', type: 'cmd', createdAt: 0, payload: { type: 'cmd', n } });
    k.deliverLocal(env(500));
    k.deliverLocal(env(2));
    await until(() => seen.length === 1, 5_000, 'the valid one handled');
    expect(runs()).toBe(2);
    expect(seen).toEqual([{ type: 'cmd', n: 2 }]);
    expect(dead).toEqual(['invalid']);
  });

  it('must be classes: anything else is refused at spawn', () => {
    const k = node();
    const { schema } = counted();
    let e: unknown;
    try {
      k.spawn({ messages: schema, instances: ['Command'] as never, receive: () => undefined }, { name: 'bad' });
    } catch (err) {
      e = err;
    }
    expect((e as TroupeError).code).toBe('TROUPE_ERR_CONFIG_INVALID');
  });
});
