import { afterEach, describe, expect, it } from 'vitest';
import { Kernel, type ActorSpec, type Behaviour } from '../../actors/index.js';
import { ManualClock, TroupeError } from '../../protocol/index.js';
import { settle, silent } from '../helpers.js';

/**
 * Specs and supervision options are validated when an actor or supervisor is spawned: a bad
 * one is TROUPE_ERR_CONFIG_INVALID to the caller at once, and nothing is left spawned.
 */
let nodes: Kernel[] = [];
function node(): Kernel {
  const k = new Kernel({ id: 'valid', logger: silent, clock: new ManualClock(1_000) });
  nodes.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
});

const worker: Behaviour<number, { type: 'crash' } | { type: 'get' }> = {
  initial: () => 0,
  receive: (s, m, ctx) => {
    if (m.type === 'crash') throw new Error('boom');
    ctx.reply(s);
    return s;
  },
};

function refused(f: () => unknown): TroupeError {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(TroupeError);
  expect((err as TroupeError).code).toBe('TROUPE_ERR_CONFIG_INVALID');
  return err as TroupeError;
}

describe('an invalid actor spec is refused at spawn', () => {
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a mailbox capacity that is not a number', { mailboxCapacity: 'lots' }, /mailboxCapacity/],
    ['a zero mailbox capacity', { mailboxCapacity: 0 }, /mailboxCapacity/],
    ['an unbounded mailbox', { mailboxCapacity: Number.POSITIVE_INFINITY }, /mailboxCapacity/],
    ['an unknown restart type', { restart: 'sometimes' }, /restart/],
    ['a throughput that is not a positive integer', { throughput: 1.5 }, /throughput/],
    ['a poisonAfter of zero', { poisonAfter: 0 }, /poisonAfter/],
    ['a name outside the allowed characters', { name: 'a/b' }, /name/],
    ['a misspelt option', { mailboxCapcity: 10 }, /mailboxCapcity/],
    ['an unknown strategy', { supervision: { strategy: 'one-for-none' } }, /supervision\.strategy/],
    ['a negative restart intensity', { supervision: { maxRestarts: -1 } }, /supervision\.maxRestarts/],
    ['a backoff whose max is below its min', { supervision: { backoff: { minMs: 100, maxMs: 10 } } }, /backoff\.maxMs/],
    ['a decider that is not a function', { supervision: { decider: 'restart' } }, /decider/],
  ];
  for (const [what, options, field] of bad) {
    it(`spawn: ${what}`, () => {
      const k = node();
      const err = refused(() => k.spawn(worker, { name: 'w', ...options } as never));
      expect(err.message).toMatch(field);
      expect(k.lookup('user/w')).toBeUndefined();
    });
  }

  it('spawnSystem and spawnSpec validate too', () => {
    const k = node();
    refused(() => k.spawnSystem(worker, { name: 's', restart: 'sometimes' } as never));
    refused(() => k.spawnSpec({ name: 's', behaviour: worker, mailboxCapacity: -5 }, 'system'));
    expect(k.lookup('system/s')).toBeUndefined();
  });

  it('a behaviour that is neither a function nor a behaviour object', () => {
    const k = node();
    refused(() => k.spawnSpec({ name: 'b', behaviour: 42 as never }));
    refused(() => k.spawnSpec({ name: 'b', behaviour: { receive: 'no' } as never }));
    refused(() => k.spawnSpec({ name: 'b', behaviour: { receive: () => undefined, messages: { not: 'zod' } } as never }));
  });

  it('a persistence spec out of bounds', () => {
    const k = node();
    const err = refused(() => k.spawn({ receive: () => undefined, persistence: { apply: (s: unknown) => s, snapshotEvery: -1 } }, { name: 'p' }));
    expect(err.message).toMatch(/persistence\.snapshotEvery/);
    refused(() => k.spawn({ receive: () => undefined, persistence: { key: '' } } as never, { name: 'p' }));
  });
});

describe('supervision options are refused at spawn, never on the first crash', () => {
  it('spawnSupervisor with an invalid strategy throws at once and leaves nothing behind', () => {
    const k = node();
    const err = refused(() => k.spawnSupervisor({ name: 'sup', supervision: { strategy: 'one-for-none' as never }, children: [{ name: 'w', behaviour: worker }] }));
    expect(err.message).toMatch(/sup/);
    expect(k.lookup('user/sup')).toBeUndefined();
    expect(k.lookup('user/sup/w')).toBeUndefined();
  });

  it('an invalid child spec anywhere in the tree refuses the whole supervisor', () => {
    const k = node();
    const deep: ActorSpec = { name: 'leaf', behaviour: worker, restart: 'sometimes' as never };
    refused(() => k.spawnSupervisor({ name: 'sup', children: [{ name: 'mid', children: [{ name: 'ok', behaviour: worker }, deep] }] }));
    expect(k.lookup('user/sup')).toBeUndefined();
    expect(k.actors()[1]!.children).toEqual([]);
  });

  it('two children with the same name are refused', () => {
    const k = node();
    const err = refused(() => k.spawnSupervisor({ name: 'sup', children: [{ name: 'a', behaviour: worker }, { name: 'a', behaviour: worker }] }));
    expect(err.message).toMatch(/two children named "a"/);
  });

  it('ctx.spawn refuses a bad spec to the handler that called it', async () => {
    const k = node();
    const codes: string[] = [];
    k.spawn<null, string>((_s, _m, ctx) => {
      try {
        ctx.spawn({ name: 'child', behaviour: worker, supervision: { maxRestarts: 'many' as never } });
      } catch (e) {
        codes.push((e as TroupeError).code);
      }
      ctx.reply(codes);
    }, { name: 'parent' });
    expect(await k.ask('user/parent', 'go')).toEqual(['TROUPE_ERR_CONFIG_INVALID']);
    expect(k.lookup('user/parent/child')).toBeUndefined();
  });

  it('a valid supervisor decides on the first crash as its spec says', async () => {
    const k = node();
    k.spawnSupervisor({ name: 'sup', supervision: { decider: () => 'resume' }, children: [{ name: 'w', behaviour: worker }] });
    await expect(k.ask('user/sup/w', { type: 'crash' })).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_FAILED' });
    expect(await k.ask('user/sup/w', { type: 'get' })).toBe(0);
  });
});

describe('specs are read once per object', () => {
  it('one spec object spawns under several names and parents, and unnamed actors get generated names', async () => {
    const k = node();
    const options = { mailboxCapacity: 5 };
    const a = k.spawn(worker, options);
    const b = k.spawn(worker, options);
    expect(a.path).not.toBe(b.path);
    expect(a.path).toMatch(/^user\/\$/);
    const child: ActorSpec = { name: 'w', behaviour: worker };
    k.spawnSupervisor({ name: 's1', children: [child] });
    k.spawnSupervisor({ name: 's2', children: [child] });
    await settle();
    expect(await k.ask('user/s1/w', { type: 'get' })).toBe(0);
    expect(await k.ask('user/s2/w', { type: 'get' })).toBe(0);
  });
});
