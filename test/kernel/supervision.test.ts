import { afterEach, describe, expect, it } from 'vitest';
import { Kernel, type ActorSpec, type Behaviour, type InspectionEvent } from '../../actors/index.js';
import { ManualClock, TroupeError } from '../../protocol/index.js';
import { settle, silent } from '../helpers.js';

type Msg = { type: 'crash' } | { type: 'exit' } | { type: 'get' } | { type: 'put'; v: number };

/** A worker that records its lifecycle into a shared log. */
function worker(log: string[], name: string): Behaviour<number[], Msg> {
  return {
    initial: () => {
      log.push(`start:${name}`);
      return [];
    },
    receive: (s, m, ctx) => {
      switch (m.type) {
        case 'crash': throw new Error(`${name} crashed`);
        case 'exit': ctx.stop(); return s;
        case 'get': ctx.reply(s); return s;
        case 'put': return [...s, m.v];
      }
    },
    signal: (s, sig) => {
      if (sig.type === 'signal.restarting') log.push(`stop:${name}`);
      if (sig.type === 'signal.stopping') log.push(`halt:${name}`);
      return s;
    },
  };
}

let nodes: Kernel[] = [];
/** Nodes run on a ManualClock: restart windows, backoff and ask timeouts move only when a test says so. */
function node(opts: ConstructorParameters<typeof Kernel>[0] = {}): Kernel {
  const k = new Kernel({ id: 'spec', logger: silent, clock: new ManualClock(1_000), ...opts });
  nodes.push(k);
  return k;
}
afterEach(async () => {
  await Promise.all(nodes.map((n) => n.close()));
  nodes = [];
});

function children(log: string[], names: string[], extra: Partial<ActorSpec> = {}): ActorSpec[] {
  // poisonAfter 1: the crashing message is not redelivered, so one crash is one restart
  return names.map((n) => ({ name: n, behaviour: worker(log, n), poisonAfter: 1, ...extra }));
}

describe('supervision strategies', () => {
  it('one-for-one restarts only the failed child', async () => {
    const k = node();
    const log: string[] = [];
    k.spawnSupervisor({ name: 'sup', supervision: { strategy: 'one-for-one' }, children: children(log, ['a', 'b', 'c']) });
    log.length = 0;
    k.tell('user/sup/b', { type: 'crash' });
    await settle();
    expect(log).toEqual(['stop:b', 'start:b']);
  });

  it('one-for-all stops every child in reverse start order and restarts them in start order', async () => {
    const k = node();
    const log: string[] = [];
    k.spawnSupervisor({ name: 'sup', supervision: { strategy: 'one-for-all' }, children: children(log, ['a', 'b', 'c']) });
    log.length = 0;
    k.tell('user/sup/b', { type: 'crash' });
    await settle();
    expect(log).toEqual(['stop:c', 'stop:b', 'stop:a', 'start:a', 'start:b', 'start:c']);
  });

  it('rest-for-one restarts the failed child and the ones started after it, in order', async () => {
    const k = node();
    const log: string[] = [];
    k.spawnSupervisor({ name: 'sup', supervision: { strategy: 'rest-for-one' }, children: children(log, ['a', 'b', 'c', 'd']) });
    log.length = 0;
    k.tell('user/sup/b', { type: 'crash' });
    await settle();
    expect(log).toEqual(['stop:d', 'stop:c', 'stop:b', 'start:b', 'start:c', 'start:d']);
  });

  it('a restarted child keeps its address and gets its initial state back', async () => {
    const k = node();
    const log: string[] = [];
    const sup = k.spawnSupervisor({ name: 'sup', children: children(log, ['a']) });
    k.tell('user/sup/a', { type: 'put', v: 1 });
    expect(await k.ask('user/sup/a', { type: 'get' })).toEqual([1]);
    k.tell('user/sup/a', { type: 'crash' });
    expect(await k.ask('user/sup/a', { type: 'get' })).toEqual([]);
    expect(k.actors()[1]!.children[0]!.children[0]).toMatchObject({ path: 'user/sup/a', incarnation: 1 });
    expect(sup.address).toBe('troupe://spec/user/sup');
  });
});

describe('messages in hand', () => {
  it('a sibling restarted (one-for-all) in the middle of an async handler gets that message again', async () => {
    const k = node();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let calls = 0;
    k.spawnSupervisor({
      name: 'sup', supervision: { strategy: 'one-for-all' },
      children: [
        { name: 'slow', behaviour: async (_s: null, m: string, ctx) => { calls++; if (calls === 1) await gate; ctx.reply(`done ${m}`); } },
        { name: 'bad', poisonAfter: 1, behaviour: () => { throw new Error('bad'); } },
      ],
    });
    const answer = k.ask('user/sup/slow', 'job', { timeoutMs: 5_000 });
    await settle();
    k.tell('user/sup/bad', 'x');
    await settle();
    release();
    expect(await answer).toBe('done job');
    expect(calls).toBe(2);
  });

  it('an actor stopped in the middle of an async handler fails that ask at once', async () => {
    const k = node();
    k.spawn(async () => { await new Promise(() => undefined); }, { name: 'stuck' });
    const answer = k.ask('user/stuck', 'job', { timeoutMs: 60_000 });
    await settle();
    await k.stop('user/stuck');
    await expect(answer).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_STOPPED' });
    expect(k.deadLetters.list({ reason: 'stopped' })).toHaveLength(1);
  });

  it('an ask already answered by an async handler is not a dead letter when the actor stops right after replying', async () => {
    const k = node();
    for (let i = 0; i < 200; i++) {
      const ref = k.spawn<null, string>(async (_s, m, ctx) => { ctx.reply(`ok ${m}`); }, { name: `replier-${i}` });
      expect(await k.ask(ref, 'job')).toBe('ok job');
      await k.stop(ref);
    }
    expect(k.deadLetters.list({ reason: 'stopped' })).toHaveLength(0);
  });

  it('an ask answered before its handler crashed is not redelivered after the restart', async () => {
    const k = node();
    let calls = 0;
    k.spawn<null, string>((_s, m, ctx) => {
      calls++;
      ctx.reply(`done ${m}`);
      throw new Error('after the reply');
    }, { name: 'a', poisonAfter: 3 });
    expect(await k.ask('user/a', 'job')).toBe('done job');
    await settle();
    expect(calls).toBe(1);
    expect(k.deadLetters.list()).toEqual([]);
  });

  it('an answered ask in hand is not handled again after a sibling restart', async () => {
    const k = node();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let calls = 0;
    k.spawnSupervisor({
      name: 'sup', supervision: { strategy: 'one-for-all' },
      children: [
        { name: 'slow', behaviour: async (_s: null, m: string, ctx) => { calls++; ctx.reply(`done ${m}`); await gate; } },
        { name: 'bad', poisonAfter: 1, behaviour: () => { throw new Error('bad'); } },
      ],
    });
    expect(await k.ask('user/sup/slow', 'job')).toBe('done job');
    k.tell('user/sup/bad', 'x');
    await settle();
    release();
    await settle();
    expect(calls).toBe(1);
  });
});

describe('nothing admitted is lost', () => {
  it('ask, ask, stop: both asks fail at once and both messages are dead letters', async () => {
    const k = node();
    const ref = k.spawn(worker([], 'w'), { name: 'w' });
    await settle();
    const a = k.ask(ref, { type: 'get' }, { timeoutMs: 60_000 });
    const b = k.ask(ref, { type: 'get' }, { timeoutMs: 60_000 });
    await k.stop(ref);
    await expect(a).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_STOPPED' });
    await expect(b).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_STOPPED' });
    expect(k.deadLetters.list({ reason: 'stopped' })).toHaveLength(2);
  });

  it('a message sent to a sibling in the same tick as a one-for-all restart reaches the new incarnation', async () => {
    const k = node();
    k.spawnSupervisor({ name: 'sup', supervision: { strategy: 'one-for-all' }, children: children([], ['bad', 'w']) });
    await settle();
    k.tell('user/sup/bad', { type: 'crash' });
    k.tell('user/sup/w', { type: 'put', v: 1 });
    await settle();
    expect(await k.ask('user/sup/w', { type: 'get' })).toEqual([1]);
  });

  it('the failing message plus a full mailbox are all redelivered after a restart, none refused', async () => {
    const k = node();
    let release!: () => void;
    const gate = new Promise<void>((r) => { release = r; });
    let failures = 0;
    const got: number[] = [];
    k.spawn<null, { type: 'slow-crash' } | { type: 'put'; v: number } | { type: 'get' }>(async (_s, m, ctx) => {
      if (m.type === 'slow-crash') {
        if (failures++ === 0) {
          await gate;
          throw new Error('late failure');
        }
        return;
      }
      if (m.type === 'put') got.push(m.v);
      else ctx.reply(got);
    }, { name: 'small', mailboxCapacity: 3 });
    k.tell('user/small', { type: 'slow-crash' });
    await settle();
    for (let v = 1; v <= 3; v++) k.tell('user/small', { type: 'put', v }); // the mailbox is full now
    release();
    await settle(10);
    expect(await k.ask('user/small', { type: 'get' })).toEqual([1, 2, 3]);
    expect(k.actors()[1]!.children[0]!.incarnation).toBe(1); // one restart, not two
  });

  it('ctx.stop() followed by a crash does not make the next incarnation exit', async () => {
    const k = node();
    k.spawn<null, string>((_s, m, ctx) => {
      if (m === 'stop-then-throw') {
        ctx.stop();
        throw new Error('after stop');
      }
      ctx.reply('alive');
    }, { name: 't', restart: 'transient', poisonAfter: 1 });
    k.tell('user/t', 'stop-then-throw');
    await settle();
    expect(await k.ask('user/t', 'ping')).toBe('alive');
    await settle();
    expect(k.lookup('user/t')).toBeDefined();
    expect(await k.ask('user/t', 'ping')).toBe('alive');
  });

  it('a top-level actor spawned again under a used name starts with a fresh restart budget', async () => {
    const k = node();
    const events: InspectionEvent[] = [];
    k.inspect((e) => events.push(e));
    const crashy = { name: 'again', poisonAfter: 1 };
    k.spawn(worker([], 'a'), crashy);
    for (let i = 0; i < 5; i++) {
      k.tell('user/again', { type: 'crash' });
      await settle();
    }
    await k.stop('user/again');
    k.spawn(worker([], 'a'), crashy);
    k.tell('user/again', { type: 'crash' });
    await settle();
    expect(events.filter((e) => e.type === 'supervisor.escalated')).toHaveLength(0);
    expect(k.lookup('user/again')).toBeDefined();
  });
});

describe('restart types', () => {
  async function exitWith(restart: 'permanent' | 'transient' | 'temporary', how: 'crash' | 'exit'): Promise<{ restarted: boolean; terminated?: string }> {
    const k = node();
    const log: string[] = [];
    k.spawnSupervisor({ name: 'sup', children: [{ name: 'w', behaviour: worker(log, 'w'), restart, poisonAfter: 1 }] });
    let terminated: string | undefined;
    k.watch('user/sup/w', (s) => { terminated = s.reason; });
    log.length = 0;
    k.tell('user/sup/w', { type: how });
    await settle();
    return { restarted: log.includes('start:w'), ...(terminated ? { terminated } : {}) };
  }

  it('permanent: restarted after a crash', async () => expect(await exitWith('permanent', 'crash')).toEqual({ restarted: true }));
  it('permanent: restarted after a normal exit', async () => expect(await exitWith('permanent', 'exit')).toEqual({ restarted: true }));
  it('transient: restarted after a crash', async () => expect(await exitWith('transient', 'crash')).toEqual({ restarted: true }));
  it('transient: not restarted after a normal exit', async () => expect(await exitWith('transient', 'exit')).toEqual({ restarted: false, terminated: 'stopped' }));
  it('temporary: never restarted after a crash', async () => expect(await exitWith('temporary', 'crash')).toEqual({ restarted: false, terminated: 'crashed' }));
  it('temporary: never restarted after a normal exit', async () => expect(await exitWith('temporary', 'exit')).toEqual({ restarted: false, terminated: 'stopped' }));

  it('one-for-all does not bring back a temporary sibling', async () => {
    const k = node();
    const log: string[] = [];
    k.spawnSupervisor({
      name: 'sup', supervision: { strategy: 'one-for-all' },
      children: [{ name: 'a', behaviour: worker(log, 'a'), poisonAfter: 1 }, { name: 't', behaviour: worker(log, 't'), restart: 'temporary' }],
    });
    log.length = 0;
    k.tell('user/sup/a', { type: 'crash' });
    await settle();
    expect(log).toEqual(['halt:t', 'stop:a', 'start:a']);
    expect(k.lookup('user/sup/t')).toBeUndefined();
  });
});

describe('restart intensity', () => {
  it('stops after the restart limit and escalates up two levels of supervisors', async () => {
    const k = node();
    const log: string[] = [];
    const events: InspectionEvent[] = [];
    k.inspect((e) => events.push(e));
    k.spawnSupervisor({
      name: 'top', supervision: { maxRestarts: 1, withinMs: 60_000 },
      children: [{ name: 'mid', supervision: { maxRestarts: 2, withinMs: 60_000 }, children: children(log, ['w'], { poisonAfter: 5 }) }],
    });
    const crashW = async (): Promise<void> => {
      k.tell('user/top/mid/w', { type: 'crash' });
      await settle(30);
    };
    // The crashing message is redelivered after each restart: crash, restart 1, crash, restart 2,
    // crash -> mid's limit of 2 is exceeded -> mid fails -> top restarts mid (top's limit is 1).
    await crashW();
    const escalations = events.filter((e) => e.type === 'supervisor.decision' && e.plan === 'escalate');
    expect(escalations.map((e) => (e as { supervisor: string }).supervisor)).toContain('troupe://spec/user/top/mid');
    // top restarted mid (its first restart), which re-created w.
    expect(k.lookup('user/top/mid/w')).toBeDefined();
    await crashW();
    const all = events.filter((e) => e.type === 'supervisor.decision' && e.plan === 'escalate').map((e) => (e as { supervisor: string }).supervisor);
    expect(all).toEqual(['troupe://spec/user/top/mid', 'troupe://spec/user/top/mid', 'troupe://spec/user/top']);
    // The third level, the /user guardian, receives top's failure: an intensity error, and restarts it.
    const atGuardian = events.filter((e) => e.type === 'supervisor.decision' && e.supervisor === 'troupe://spec/user');
    expect(atGuardian).toHaveLength(1);
    expect(atGuardian[0]).toMatchObject({ child: 'troupe://spec/user/top', plan: 'restart', error: { code: 'TROUPE_ERR_SUPERVISOR_INTENSITY' } });
    // w: 1 + 2 restarts, then mid restarted (fresh budget): 1 + 2 restarts, then top restarted: 1
    expect(log.filter((l) => l === 'start:w')).toHaveLength(7);
  });

  it('a failure at the top of the tree stops that actor for good and is reported', async () => {
    const k = node();
    const events: InspectionEvent[] = [];
    k.inspect((e) => events.push(e));
    k.spawn(worker([], 'w'), { name: 'w', poisonAfter: 100 });
    k.tell('user/w', { type: 'crash' });
    await settle(40);
    // the /user guardian allows 5 restarts in 10 s per child; the 6th failure escalates past the top
    expect(events.filter((e) => e.type === 'actor.restarted')).toHaveLength(5);
    expect(events.find((e) => e.type === 'supervisor.escalated')).toMatchObject({
      supervisor: 'troupe://spec/user', child: 'troupe://spec/user/w',
      error: { code: 'TROUPE_ERR_SUPERVISOR_ESCALATED' }, cause: { code: 'TROUPE_ERR_SUPERVISOR_INTENSITY' },
    });
    expect(k.lookup('user/w')).toBeUndefined();
  });

  it('a failure escalated past the top reaches watchers and the asker as TROUPE_ERR_SUPERVISOR_ESCALATED', async () => {
    const k = node();
    k.spawnSupervisor({ name: 'sup', supervision: { decider: () => 'escalate' }, children: children([], ['w']) });
    let terminated: { reason: string; code?: string } | undefined;
    k.watch('user/sup', (s) => { terminated = { reason: s.reason, ...(s.error ? { code: s.error.code } : {}) }; });
    // the /user guardian lets the failing supervisor restart 5 times, then stops it for good
    for (let i = 0; i < 6; i++) {
      k.tell('user/sup/w', { type: 'crash' });
      await settle();
    }
    expect(terminated).toEqual({ reason: 'crashed', code: 'TROUPE_ERR_SUPERVISOR_ESCALATED' });
    expect(k.lookup('user/sup')).toBeUndefined();
  });

  it('a transient supervisor past its restart intensity shuts down and is not restarted by its parent (OTP)', async () => {
    const k = node();
    const events: InspectionEvent[] = [];
    k.inspect((e) => events.push(e));
    const log: string[] = [];
    k.spawnSupervisor({
      name: 'top',
      children: [
        { name: 'mid', restart: 'transient', supervision: { maxRestarts: 1, withinMs: 60_000 }, children: children(log, ['w']) },
        { name: 'other', behaviour: worker(log, 'other') },
      ],
    });
    let terminated: { reason: string; code?: string } | undefined;
    k.watch('user/top/mid', (s) => { terminated = { reason: s.reason, ...(s.error ? { code: s.error.code } : {}) }; });
    k.tell('user/top/mid/w', { type: 'crash' });
    await settle();
    k.tell('user/top/mid/w', { type: 'crash' });
    await settle();
    // mid's second restart is past its intensity: mid exits with shutdown, and top, for a
    // transient child, removes it instead of restarting it
    const atTop = events.filter((e) => e.type === 'supervisor.decision' && e.supervisor === 'troupe://spec/user/top');
    expect(atTop).toHaveLength(1);
    expect(atTop[0]).toMatchObject({ child: 'troupe://spec/user/top/mid', plan: 'remove', error: { code: 'TROUPE_ERR_SUPERVISOR_INTENSITY' } });
    expect(terminated).toEqual({ reason: 'crashed', code: 'TROUPE_ERR_SUPERVISOR_INTENSITY' });
    expect(k.lookup('user/top/mid')).toBeUndefined();
    expect(k.lookup('user/top/mid/w')).toBeUndefined();
    expect(k.lookup('user/top')).toBeDefined();
    expect(await k.ask('user/top/other', { type: 'get' })).toEqual([]);
  });

  it('a permanent supervisor past its restart intensity is restarted by its parent', async () => {
    const k = node();
    const events: InspectionEvent[] = [];
    k.inspect((e) => events.push(e));
    k.spawnSupervisor({ name: 'top', children: [{ name: 'mid', supervision: { maxRestarts: 1, withinMs: 60_000 }, children: children([], ['w']) }] });
    for (let i = 0; i < 2; i++) {
      k.tell('user/top/mid/w', { type: 'crash' });
      await settle();
    }
    const atTop = events.filter((e) => e.type === 'supervisor.decision' && e.supervisor === 'troupe://spec/user/top');
    expect(atTop).toHaveLength(1);
    expect(atTop[0]).toMatchObject({ child: 'troupe://spec/user/top/mid', plan: 'restart' });
    expect(k.lookup('user/top/mid/w')).toBeDefined();
  });

  it('restarts again once old restarts leave the window', async () => {
    const clock = new ManualClock(1_000);
    const k = node({ clock });
    const log: string[] = [];
    k.spawnSupervisor({ name: 'sup', supervision: { maxRestarts: 1, withinMs: 1_000 }, children: children(log, ['w'], { poisonAfter: 1 }) });
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    clock.advance(1_001);
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    expect(log.filter((l) => l === 'start:w')).toHaveLength(3);
    expect(k.lookup('user/sup')).toBeDefined();
  });
});

describe('backoff', () => {
  it('keeps messages sent while a child backs off and delivers them afterwards, in order, none lost', async () => {
    const clock = new ManualClock();
    const k = node({ clock, random: () => 0 });
    const log: string[] = [];
    k.spawnSupervisor({
      name: 'sup', supervision: { backoff: { minMs: 100, maxMs: 1_000, randomFactor: 0.5 } },
      children: children(log, ['w'], { poisonAfter: 1 }),
    });
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    for (let i = 0; i < 500; i++) k.tell('user/sup/w', { type: 'put', v: i });
    clock.advance(99);
    await settle();
    expect(log).toEqual(['start:w', 'stop:w']);
    clock.advance(1);
    await settle();
    expect(log).toEqual(['start:w', 'stop:w', 'start:w']);
    const got = await k.ask<number[]>('user/sup/w', { type: 'get' });
    expect(got).toEqual(Array.from({ length: 500 }, (_, i) => i));
  });

  it('a child stopped while it backs off is not restarted, and no timer is left behind', async () => {
    const clock = new ManualClock();
    const k = node({ clock, random: () => 0 });
    const log: string[] = [];
    k.spawnSupervisor({ name: 'sup', supervision: { backoff: { minMs: 100, maxMs: 1_000 } }, children: children(log, ['w']) });
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    expect(clock.pending).toBe(1);
    await k.stop('user/sup/w');
    expect(clock.pending).toBe(0);
    clock.advance(1_000);
    await settle();
    expect(log).toEqual(['start:w', 'stop:w']);
    expect(k.lookup('user/sup/w')).toBeUndefined();
  });

  it('doubles the delay per consecutive restart up to maxMs, with jitter, and resets after a healthy period', async () => {
    const clock = new ManualClock();
    const k = node({ clock, random: () => 1 });
    const delays: number[] = [];
    k.inspect((e) => { if (e.type === 'supervisor.decision' && e.delayMs !== undefined) delays.push(e.delayMs); });
    k.spawnSupervisor({
      name: 'sup', supervision: { maxRestarts: 100, withinMs: 1_000_000, backoff: { minMs: 10, maxMs: 50, randomFactor: 0.1, resetAfterMs: 10_000 } },
      children: children([], ['w'], { poisonAfter: 1 }),
    });
    for (let i = 0; i < 4; i++) {
      k.tell('user/sup/w', { type: 'crash' });
      await settle();
      clock.advance(100);
      await settle();
    }
    clock.advance(10_000);
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    expect(delays).toEqual([11, 22, 44, 50, 11]);
  });
});

describe('deciders', () => {
  it('resume keeps the state and goes on with the next message', async () => {
    const k = node();
    k.spawnSupervisor({ name: 'sup', supervision: { decider: () => 'resume' }, children: children([], ['w']) });
    k.tell('user/sup/w', { type: 'put', v: 1 });
    k.tell('user/sup/w', { type: 'crash' });
    k.tell('user/sup/w', { type: 'put', v: 2 });
    expect(await k.ask('user/sup/w', { type: 'get' })).toEqual([1, 2]);
  });

  it('stop stops the child for good', async () => {
    const k = node();
    k.spawnSupervisor({ name: 'sup', supervision: { decider: () => 'stop' }, children: children([], ['w']) });
    let reason = '';
    k.watch('user/sup/w', (s) => { reason = s.reason; });
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    expect(reason).toBe('crashed');
    expect(k.lookup('user/sup/w')).toBeUndefined();
  });

  it('escalate fails the supervisor, whose parent restarts it with fresh children', async () => {
    const k = node();
    const log: string[] = [];
    k.spawnSupervisor({ name: 'top', children: [{ name: 'mid', supervision: { decider: () => 'escalate' }, children: children(log, ['w']) }] });
    log.length = 0;
    k.tell('user/top/mid/w', { type: 'crash' });
    await settle();
    expect(log).toEqual(['halt:w', 'start:w']);
    expect(k.lookup('user/top/mid/w')).toBeDefined();
  });

  it('an incarnation that fails to start is restarted even when the decider would resume', async () => {
    const k = node();
    let starts = 0;
    k.spawnSupervisor({
      name: 'sup',
      supervision: { decider: (e) => ((e as Error).message === 'bad start' ? 'resume' : 'restart') },
      children: [{
        name: 'w', poisonAfter: 1,
        behaviour: {
          initial: () => {
            starts++;
            if (starts === 2) throw new Error('bad start');
            return starts;
          },
          receive: (s: number, m: string, ctx) => {
            if (m === 'crash') throw new Error('crash');
            ctx.reply(s);
            return s;
          },
        },
      }],
    });
    k.tell('user/sup/w', 'crash');
    await settle();
    expect(await k.ask('user/sup/w', 'get')).toBe(3);
  });

  it('a failing ask is answered with a coded error when the decider resumes', async () => {
    const k = node();
    k.spawnSupervisor({ name: 'sup', supervision: { decider: () => 'resume' }, children: children([], ['w']) });
    await expect(k.ask('user/sup/w', { type: 'crash' })).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_FAILED' });
  });
});

describe('death watch', () => {
  it('delivers Terminated for a deliberate stop', async () => {
    const k = node();
    const seen: string[] = [];
    const target = k.spawn(worker([], 't'), { name: 't' });
    k.spawn<null, never>({ initial: (ctx) => { ctx.watch(target); return null; }, receive: () => undefined, signal: (s, sig) => { if (sig.type === 'signal.terminated') seen.push(`${sig.ref}:${sig.reason}`); return s; } }, { name: 'watcher' });
    await settle();
    await k.stop(target);
    await settle();
    expect(seen).toEqual(['troupe://spec/user/t:stopped']);
  });

  it('delivers Terminated for a crash that is not restarted', async () => {
    const k = node();
    const seen: string[] = [];
    k.spawn(worker([], 't'), { name: 't', restart: 'temporary' });
    k.spawn<null, never>({ initial: (ctx) => { ctx.watch('user/t'); return null; }, receive: () => undefined, signal: (s, sig) => { if (sig.type === 'signal.terminated') seen.push(`${sig.reason}:${sig.error?.message}`); return s; } }, { name: 'watcher' });
    await settle();
    k.tell('user/t', { type: 'crash' });
    await settle();
    expect(seen).toEqual(['crashed:t crashed']);
  });

  it('delivers Terminated to watchers of children when their supervisor shuts down', async () => {
    const k = node();
    const seen: string[] = [];
    k.spawnSupervisor({ name: 'sup', children: children([], ['a', 'b']) });
    k.watch('user/sup/a', (s) => seen.push(`a:${s.reason}`));
    k.watch('user/sup/b', (s) => seen.push(`b:${s.reason}`));
    k.watch('user/sup', (s) => seen.push(`sup:${s.reason}`));
    await k.stop('user/sup');
    expect(seen).toEqual(['b:supervisor-stopped', 'a:supervisor-stopped', 'sup:stopped']);
  });

  it('watching a dead actor delivers Terminated at once with not-found', async () => {
    const k = node();
    const seen: string[] = [];
    k.watch('user/nobody', (s) => seen.push(s.reason));
    expect(seen).toEqual(['not-found']);
  });

  it('a restart is not a termination: watchers hear nothing', async () => {
    const k = node();
    const seen: string[] = [];
    k.spawnSupervisor({ name: 'sup', children: children([], ['w'], { poisonAfter: 1 }) });
    k.watch('user/sup/w', (s) => seen.push(s.reason));
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    expect(seen).toEqual([]);
  });
});

describe('mailboxes, asks and dead letters', () => {
  it('a full mailbox is a coded error to the sender and a dead letter, never a silent drop', async () => {
    const k = node();
    const ref = k.spawn(worker([], 'w'), { name: 'w', mailboxCapacity: 10 });
    for (let i = 0; i < 10; i++) k.tell(ref, { type: 'put', v: i });
    expect(() => k.tell(ref, { type: 'put', v: 10 })).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_ACTOR_MAILBOX_FULL' }));
    expect(k.deadLetters.list({ reason: 'mailbox-full' })).toHaveLength(1);
    await settle();
    expect(await k.ask(ref, { type: 'get' })).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('an ask with no reply rejects with the coded timeout error', async () => {
    const clock = new ManualClock();
    const k = node({ clock });
    const ref = k.spawn(() => undefined, { name: 'mute' });
    const p = k.ask(ref, 'hello', { timeoutMs: 50 });
    await settle();
    clock.advance(50);
    await expect(p).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_ASK_TIMEOUT' });
    await expect(p).rejects.toBeInstanceOf(TroupeError);
  });

  it('messages to a stopped actor are dead letters; asks to it fail at once with not-found', async () => {
    const k = node();
    const ref = k.spawn(worker([], 'w'), { name: 'w' });
    await k.stop(ref);
    k.tell(ref, { type: 'put', v: 1 });
    await expect(k.ask(ref, { type: 'get' })).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_NOT_FOUND' });
    expect(k.deadLetters.list().map((d) => d.reason)).toEqual(['not-found', 'not-found']);
  });

  it('a message that crashes the actor N times becomes a poison dead letter that can be redelivered', async () => {
    const k = node();
    let failing = true;
    const seen: number[] = [];
    k.spawn<null, { v: number }>((s, m) => {
      if (failing) throw new Error('not yet');
      seen.push(m.v);
      return s;
    }, { name: 'p', poisonAfter: 3 });
    k.tell('user/p', { v: 7 });
    await settle(20);
    const poison = k.deadLetters.list({ reason: 'poison' });
    expect(poison).toHaveLength(1);
    expect(poison[0]).toMatchObject({ attempts: 3, envelope: { to: 'troupe://spec/user/p', payload: { v: 7 } }, error: { message: 'not yet' } });
    failing = false;
    await k.deadLetters.redeliver(poison[0]!.id);
    await settle();
    expect(seen).toEqual([7]);
    expect(k.deadLetters.list({ reason: 'poison' })).toHaveLength(0);
  });

  it('a message its zod schema rejects is a coded error to the sender', async () => {
    const { z } = await import('zod');
    const k = node();
    const ref = k.spawn<null, { type: 'n'; n: number }>({ messages: z.object({ type: z.literal('n'), n: z.number() }), receive: () => undefined }, { name: 'typed' });
    expect(() => k.tell(ref, { type: 'n', n: 'x' } as never)).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_ACTOR_INVALID_MESSAGE' }));
    expect(k.deadLetters.list({ reason: 'invalid' })).toHaveLength(1);
  });

  it('every supervision decision is an inspection event', async () => {
    const k = node();
    const events: InspectionEvent[] = [];
    k.inspect((e) => events.push(e));
    k.spawnSupervisor({ name: 'sup', children: children([], ['w'], { poisonAfter: 1 }) });
    k.tell('user/sup/w', { type: 'crash' });
    await settle();
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['actor.spawned', 'actor.failed', 'supervisor.decision', 'actor.restarted']));
    const d = events.find((e) => e.type === 'supervisor.decision');
    expect(d).toMatchObject({ supervisor: 'troupe://spec/user/sup', child: 'troupe://spec/user/sup/w', directive: 'restart', plan: 'restart', strategy: 'one-for-one' });
  });
});
