import { describe, expect, it } from 'vitest';
import { Task, TaskState, type AgentCard } from '@a2a-js/sdk';
import { ServerCallContext, UnauthenticatedUser } from '@a2a-js/sdk/server';
import { TroupeError, ManualClock } from '../../protocol/index.js';
import { CallMemory, HomeLink } from '../../actors/a2a/home/index.js';
import { settle, silent } from '../helpers.js';
import { sendParams, userMessage } from '../a2a/harness.js';

const ctx = () => new ServerCallContext({ user: new UnauthenticatedUser() });
const taskJson = (id: string) => Task.toJSON({ id, contextId: 'c', status: { state: TaskState.TASK_STATE_COMPLETED, message: undefined, timestamp: '' }, artifacts: [], history: [], metadata: undefined });
const down = () => new TroupeError('TROUPE_ERR_TRANSPORT_NODE_DOWN', 'node b is down');
const timeout = () => new TroupeError('TROUPE_ERR_ACTOR_ASK_TIMEOUT', 'no answer');

/** A HomeLink over a fake host whose asks answer as `answer` says, on a ManualClock. */
function link(answer: (m: any, n: number) => unknown, forward = { retryWindowMs: 1_000, backoffMinMs: 100, backoffMaxMs: 400, attemptTimeoutMs: 5_000 }) {
  const clock = new ManualClock(0);
  const asked: Array<{ m: any; timeoutMs: number }> = [];
  const host = {
    clock, logger: silent,
    spawnSpec: () => ({ address: 'troupe://a/system/a2a-streams' }),
    watch: () => () => undefined,
    ask: async (_to: unknown, m: any, o: { timeoutMs: number }) => {
      asked.push({ m, timeoutMs: o.timeoutMs });
      const r = answer(m, asked.length);
      if (r instanceof Error) throw r;
      return r;
    },
  };
  const l = new HomeLink(host as any, silent, { forward, random: () => 0 });
  return { clock, asked, link: l, handler: l.handlerFor('far', 'b', {} as AgentCard) };
}

function follow<T>(p: Promise<T>): { value?: T; error?: any; done: boolean } {
  const o: { value?: T; error?: any; done: boolean } = { done: false };
  p.then((value) => Object.assign(o, { value, done: true }), (error: unknown) => Object.assign(o, { error, done: true }));
  return o;
}

describe('a call forwarded to the agent\'s node is asked again when the link fails it, on the node\'s clock', () => {
  it('a read is asked again after each backoff (100, 200 ms on the clock) until the node answers; it carries no call id', async () => {
    const { clock, asked, handler } = link((_m, n) => (n < 3 ? down() : { ok: true, result: taskJson('t1') }));
    const got = follow(handler.getTask({ tenant: '', id: 't1', historyLength: undefined }, ctx()));
    await settle();
    expect(asked).toHaveLength(1);
    clock.advance(99);
    await settle();
    expect(asked).toHaveLength(1);
    clock.advance(1);
    await settle();
    expect(asked).toHaveLength(2);
    clock.advance(200);
    await settle();
    expect(got.error).toBeUndefined();
    expect(got.value?.id).toBe('t1');
    expect(asked.map((a) => a.m.callId)).toEqual([undefined, undefined, undefined]);
  });

  it('a send keeps one call id across its attempts; an answer that does not come back in attemptTimeoutMs is asked for again, past the unreachable window', async () => {
    const { clock, asked, handler } = link((_m, n) => (n < 5 ? timeout() : { ok: true, result: { task: taskJson('t2') } }));
    const sent = follow(handler.sendMessage(sendParams(userMessage('hi')), ctx()));
    for (let i = 0; i < 10 && !sent.done; i++) {
      clock.advance(400);
      await settle();
    }
    expect(sent.error).toBeUndefined();
    expect((sent.value as Task).id).toBe('t2');
    expect(asked).toHaveLength(5);
    const ids = new Set(asked.map((a) => a.m.callId));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
    // each attempt waits attemptTimeoutMs at most, and tells the home how long it may be repeated
    expect(asked.every((a) => a.timeoutMs === 5_000 && a.m.retryForMs > 0 && a.m.retryForMs <= 15 * 60_000)).toBe(true);
  });

  it('a node that stays unreachable past retryWindowMs fails the call with TROUPE_ERR_A2A_HOME_UNREACHABLE', async () => {
    const { clock, asked, handler } = link(() => down());
    const got = follow(handler.cancelTask({ tenant: '', id: 't3', metadata: undefined }, ctx()));
    for (let i = 0; i < 20 && !got.done; i++) {
      clock.advance(100);
      await settle();
    }
    expect(got.error).toBeInstanceOf(TroupeError);
    expect(got.error.code).toBe('TROUPE_ERR_A2A_HOME_UNREACHABLE');
    expect(got.error.message).toContain('TROUPE_ERR_TRANSPORT_NODE_DOWN');
    // 0, 100, 300, 700 ms: the next wait would end past the window
    expect(asked).toHaveLength(4);
    expect(clock.now()).toBeLessThanOrEqual(1_100);
  });

  it("the call's own answer, an error included, is not asked again", async () => {
    const { asked, handler } = link(() => ({ ok: false, error: { name: 'TaskNotFoundError', message: 'no task t4' } }));
    await expect(handler.getTask({ tenant: '', id: 't4', historyLength: undefined }, ctx())).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    expect(asked).toHaveLength(1);
  });
});

describe("the home's memory of the calls it took", () => {
  it('a repeat of a running call waits for it; of a finished one gets its outcome until its window ends; another call under the same id is not it', async () => {
    const clock = new ManualClock(0);
    const memory = new CallMemory(clock, 2);
    let finish!: (v: any) => void;
    const first = memory.remember('c1', 'far\u0000sendMessage', new Promise((r) => (finish = r)), 1_000);
    expect(memory.find('c1', 'far\u0000sendMessage')).toBe(first);
    expect(memory.find('c1', 'far\u0000cancelTask')).toBeUndefined();
    finish({ ok: true, taskRef: 't1' });
    await settle();
    await expect(memory.find('c1', 'far\u0000sendMessage')).resolves.toEqual({ ok: true, taskRef: 't1' });
    clock.advance(1_001);
    expect(memory.find('c1', 'far\u0000sendMessage')).toBeUndefined();
  });

  it('bounded: when full, the oldest finished call goes first; with every call still running, a new one is refused', async () => {
    const clock = new ManualClock(0);
    const memory = new CallMemory(clock, 2);
    memory.remember('a', 'x', Promise.resolve({ ok: true, result: 1 }), 60_000);
    memory.remember('b', 'x', new Promise(() => undefined), 60_000);
    await settle();
    expect(memory.admit()).toBe(true);
    memory.remember('c', 'x', new Promise(() => undefined), 60_000);
    expect(memory.find('a', 'x')).toBeUndefined();
    expect(memory.size).toBe(2);
    expect(memory.admit()).toBe(false);
  });
});
