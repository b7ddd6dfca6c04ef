import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import type { ModelProvider, ModelRequest } from '../../actors/agent/model/index.js';
import { RunQueue, type Waiting } from '../../actors/agent/run-queue.js';
import { parseAgentSpec } from '../../actors/agent/spec.js';
import type { ModelResult } from '../../protocol/index.js';
import { ManualClock } from '../../protocol/index.js';
import { settle, until } from '../helpers.js';
import { cleanup, testNode } from './harness.js';

afterEach(cleanup);

function waiting(runId: string, caller: string, deadline = Number.MAX_SAFE_INTEGER, conversationId?: string): Waiting {
  return {
    msg: { type: 'agent.run', runId, replyTo: 'troupe://t/user/x', input: [], stream: false, ...(conversationId ? { conversationId } : {}) },
    at: 0, correlationId: undefined, caller, deadline,
  };
}

/** A model that answers only when told to: calls wait in `pending`, in the order they came. */
function gatedProvider(): { provider: ModelProvider; started: string[]; release: () => void } {
  const started: string[] = [];
  const pending: Array<() => void> = [];
  const provider: ModelProvider = {
    name: 'gated', offline: true, defaultModel: 'gated',
    complete: (req: ModelRequest) => {
      const last = req.messages[req.messages.length - 1];
      started.push(typeof last?.content === 'string' ? last.content : '?');
      return new Promise<ModelResult>((resolve) => {
        pending.push(() => resolve({ content: 'done', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }, model: 'gated' }));
      });
    },
  };
  return { provider, started, release: () => pending.shift()?.() };
}

describe('RunQueue', () => {
  it('serves runs first in, first out per caller and round robin over callers (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', 'b', 'c', 'd'), { minLength: 1, maxLength: 60 }), fc.array(fc.boolean(), { maxLength: 120 }), (callers, takes) => {
      const q = new RunQueue();
      const order: Waiting[] = [];
      const started: Waiting[] = [];
      let next = 0;
      // arrivals and starts interleaved at random, then everything left is started
      for (const take of takes) {
        if (!take && next < callers.length) {
          const w = waiting(`r${next}`, callers[next]!);
          next++;
          order.push(w);
          q.push(w);
        } else {
          const w = q.take(() => true);
          if (w) started.push(w);
        }
      }
      for (; next < callers.length; next++) {
        const w = waiting(`r${next}`, callers[next]!);
        order.push(w);
        q.push(w);
      }
      for (let w = q.take(() => true); w; w = q.take(() => true)) started.push(w);
      expect(q.size).toBe(0);
      expect(started).toHaveLength(order.length);
      for (const c of ['a', 'b', 'c', 'd']) {
        expect(started.filter((w) => w.caller === c)).toEqual(order.filter((w) => w.caller === c));
      }
    }), { numRuns: 300 });
  });

  it('with one caller, starts runs exactly in arrival order; with runs all waiting, goes round by round over callers (fast-check)', () => {
    fc.assert(fc.property(fc.array(fc.constantFrom('a', 'b', 'c'), { minLength: 1, maxLength: 40 }), (callers) => {
      const single = new RunQueue();
      callers.forEach((_, i) => single.push(waiting(`r${i}`, 'k')));
      const singleOrder: string[] = [];
      for (let w = single.take(() => true); w; w = single.take(() => true)) singleOrder.push(w.msg.runId);
      expect(singleOrder).toEqual(callers.map((_, i) => `r${i}`));

      const q = new RunQueue();
      const rank = new Map<string, number>();
      const seen = new Map<string, number>();
      callers.forEach((c, i) => {
        const k = seen.get(c) ?? 0;
        seen.set(c, k + 1);
        rank.set(`r${i}`, k);
        q.push(waiting(`r${i}`, c));
      });
      const ranks: number[] = [];
      for (let w = q.take(() => true); w; w = q.take(() => true)) ranks.push(rank.get(w.msg.runId)!);
      // every caller's k-th run starts before any caller's (k+1)-th
      expect(ranks).toEqual([...ranks].sort((x, y) => x - y));
    }), { numRuns: 300 });
  });

  it('passes over a run whose conversation is busy without reordering, removes and expires runs', () => {
    const q = new RunQueue();
    q.push(waiting('r1', 'a', 100, 'c1'));
    q.push(waiting('r2', 'a', 50));
    q.push(waiting('r3', 'b', 200));
    expect(q.take((w) => w.msg.conversationId !== 'c1')?.msg.runId).toBe('r2');
    expect(q.earliestDeadline()).toBe(100);
    expect(q.remove('r3')?.msg.runId).toBe('r3');
    expect(q.remove('r3')).toBeUndefined();
    expect(q.expire(99)).toEqual([]);
    expect(q.expire(100).map((w) => w.msg.runId)).toEqual(['r1']);
    expect(q.size).toBe(0);
    expect(q.earliestDeadline()).toBeUndefined();
  });
});

describe('the queue knobs of an agent spec', () => {
  it('default the queue deadline to 30 s and leave the per-caller share to maxQueuedRuns', () => {
    const spec = parseAgentSpec({ name: 'knobs' }).data;
    expect(spec.limits.queueDeadlineMs).toBe(30_000);
    expect(spec.limits.maxQueuedRunsPerCaller).toBeUndefined();
  });

  it('reject a deadline past an hour or a share below one with TROUPE_ERR_AGENT_INVALID_SPEC', () => {
    for (const limits of [{ queueDeadlineMs: 3_600_001 }, { queueDeadlineMs: -1 }, { maxQueuedRunsPerCaller: 0 }]) {
      expect(() => parseAgentSpec({ name: 'knobs', limits })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_AGENT_INVALID_SPEC' }));
    }
  });
});

describe('the agent run queue', () => {
  it('starts queued runs in arrival order per agent, and per caller round robin (fast-check, real node)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.constantFrom('k1', 'k2', 'k3'), { minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 3 }), async (callers, slots) => {
      const gate = gatedProvider();
      const node = await testNode({ modelProvider: gate.provider });
      node.spawnAgent({ name: 'q', limits: { maxConcurrentRuns: slots } });
      const runs = callers.map((caller, i) => node.agents.run('q', { input: [{ role: 'user', content: `m${i}` }], caller }));
      await until(() => gate.started.length === Math.min(slots, callers.length), 5_000, 'the first runs to start');
      for (let i = 0; i < callers.length; i++) {
        gate.release();
        await settle();
        await until(() => gate.started.length >= Math.min(callers.length, slots + i + 1), 5_000, 'the next run to start');
      }
      await Promise.all(runs);
      const index = (m: string): number => Number(m.slice(1));
      for (const c of ['k1', 'k2', 'k3']) {
        const mine = gate.started.map(index).filter((i) => callers[i] === c);
        expect(mine).toEqual([...mine].sort((a, b) => a - b));
      }
      if (new Set(callers).size === 1) expect(gate.started.map(index)).toEqual(callers.map((_, i) => i));
      await cleanup();
    }), { numRuns: 12 });
  }, 120_000);

  it('refuses a run that cannot start within its queue deadline on the node clock with TROUPE_ERR_AGENT_QUEUE_TIMEOUT', async () => {
    const clock = new ManualClock(1_000);
    const gate = gatedProvider();
    const node = await testNode({ clock, modelProvider: gate.provider });
    node.spawnAgent({ name: 'one', limits: { maxConcurrentRuns: 1, queueDeadlineMs: 5_000 } });
    const first = node.agents.run('one', { input: [{ role: 'user', content: 'first' }] });
    await until(() => gate.started.length === 1, 5_000, 'the first run');
    const waited = node.agents.run('one', { input: [{ role: 'user', content: 'second' }] }).catch((e: unknown) => e);
    const patient = node.agents.run('one', { input: [{ role: 'user', content: 'third' }], queueDeadlineMs: 60_000 });
    await settle();
    clock.advance(5_000);
    const err = await waited as { code?: string; details?: Record<string, unknown> };
    expect(err.code).toBe('TROUPE_ERR_AGENT_QUEUE_TIMEOUT');
    expect(err.details).toMatchObject({ queueDeadlineMs: 5_000, retryAfterMs: expect.any(Number) });
    // the run with a longer deadline kept its place and starts once the slot frees
    gate.release();
    await until(() => gate.started.length === 2, 5_000, 'the patient run');
    expect(gate.started).toEqual(['first', 'third']);
    gate.release();
    await Promise.all([first, patient]);
  });
});
