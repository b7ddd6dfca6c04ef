import { afterEach, describe, expect, it } from 'vitest';
import {
  AgentEvents, OfflineModel, agentBehaviour, parseAgentSpec, type AgentEvent, type AgentStatus, type RequesterMessage,
} from '../../actors/agent/index.js';
import type { Context } from '../../actors/kernel/index.js';
import type { ActorRef } from '../../actors/kernel/index.js';
import { ManualClock, TroupeError } from '../../protocol/index.js';
import { settle, silent } from '../helpers.js';
import { cleanup, failure, fakeProvider, fakeUpstream, testNode } from './harness.js';

afterEach(cleanup);

const REQUESTER = 'troupe://t/system/gateway';
const full = (): TroupeError => new TroupeError('TROUPE_ERR_ACTOR_MAILBOX_FULL', 'mailbox is full');

/**
 * One agent behaviour driven by hand: a fake context whose mailboxes can be made to refuse
 * messages, and a manual clock, so the outcome's delivery paths run without a node. Its
 * pipeToSelf queues the mapped outcome as the kernel's does (past the mailbox capacity:
 * the kernel's own test proves that part).
 */
function handDriven() {
  const clock = new ManualClock(1_000);
  const events: AgentEvent[] = [];
  const bus = new AgentEvents();
  bus.subscribe((e) => events.push(e));
  const behaviour = agentBehaviour({
    name: 'unit',
    instructions: '',
    limits: parseAgentSpec({ name: 'unit' }).data.limits,
    provider: new OfflineModel(),
    model: 'troupe-offline',
    tools: new Map(),
    toolSpecs: [],
    events: bus,
    clock,
  });
  const self = { address: 'troupe://t/user/agents/unit/agent', node: 't', path: 'user/agents/unit/agent' } as unknown as ActorRef;
  const inbox: unknown[] = [];
  const told: RequesterMessage[] = [];
  const refuse = { self: false, requester: (_m: RequesterMessage): boolean => false };
  let selfAttempts = 0;
  let replied: unknown;
  const ctx = {
    self, parent: undefined, sender: undefined, correlationId: undefined, node: 't', log: silent, expectsReply: false,
    tell: (to: unknown, msg: unknown) => {
      if (to === self) {
        selfAttempts++;
        if (refuse.self) throw full();
        inbox.push(msg);
        return;
      }
      if (refuse.requester(msg as RequesterMessage)) throw full();
      told.push(msg as RequesterMessage);
    },
    pipeToSelf: (p: PromiseLike<unknown>, onOk: (v: unknown) => unknown, onErr: (e: unknown) => unknown) => {
      Promise.resolve(p).then((v) => inbox.push(onOk(v)), (e: unknown) => inbox.push(onErr(e)));
    },
    reply: (v: unknown) => { replied = v; },
    replyError: (e: unknown) => { throw e; },
  } as unknown as Context<never>;
  let state = behaviour.initial!(ctx);
  const deliver = (msg: unknown): void => {
    const next = behaviour.receive(state, msg as never, ctx);
    if (next !== undefined && !(next instanceof Promise)) state = next;
  };
  /** Handle what the agent told itself, until nothing is left. */
  const drain = (): void => {
    while (inbox.length > 0) deliver(inbox.shift());
  };
  const status = (): AgentStatus => {
    deliver({ type: 'agent.status' });
    return replied as AgentStatus;
  };
  const run = (runId: string, conversationId?: string): void =>
    deliver({ type: 'agent.run', runId, replyTo: REQUESTER, input: [{ role: 'user', content: runId }], stream: false, ...(conversationId ? { conversationId } : {}) });
  /** The incarnation crashes and a new one starts (the signal, then a fresh initial state). */
  const restart = (): void => {
    behaviour.signal!(state, { type: 'signal.restarting' } as never, ctx);
    state = behaviour.initial!(ctx);
  };
  return { clock, events, told, refuse, inbox, drain, status, run, restart, get selfAttempts() { return selfAttempts; } };
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1_000 && !cond(); i++) await settle(1);
  expect(cond()).toBe(true);
}

describe("a run's outcome", () => {
  it('no other actor can settle a run: agent.run-finished is not part of the public protocol', async () => {
    const fake = await fakeUpstream({ kind: 'hang' });
    const node = await testNode({ modelProvider: fakeProvider(fake) });
    const ref = node.spawnAgent({ name: 'victim' });
    const ac = new AbortController();
    const running = node.agents.run('victim', { input: [{ role: 'user', content: 'x' }] }, { runId: 'run_live', signal: ac.signal });
    await fake.waitForCall(0);
    const forged = {
      type: 'agent.run-finished', runId: 'run_live', ok: true,
      outcome: { result: { runId: 'run_live', agent: 'victim', content: 'forged', toolCalls: [], finishReason: 'stop', usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 }, model: 'm', turns: 1, trace: { chain: [] } }, messages: [] },
    };
    let refused: unknown;
    try {
      node.tell(ref, forged);
    } catch (e) {
      refused = e;
    }
    expect((refused as TroupeError).code).toBe('TROUPE_ERR_ACTOR_INVALID_MESSAGE');
    expect((refused as TroupeError).message).toContain('type');
    expect(await node.agents.status('victim')).toMatchObject({ activeRuns: 1 });
    ac.abort();
    expect((await failure(running)).code).toBe('TROUPE_ERR_AGENT_CANCELLED');
  });

  it("comes back through pipeToSelf, not through the agent's bounded mailbox, and frees the slot and the conversation", async () => {
    const a = handDriven();
    // a tell to itself would fail: the outcome must not need one
    a.refuse.self = true;
    a.run('r1', 'conv');
    await until(() => a.inbox.length === 1);
    expect(a.status()).toMatchObject({ activeRuns: 1 });
    a.drain();
    expect(a.selfAttempts).toBe(0);
    await until(() => a.told.length === 1);
    expect(a.told[0]).toMatchObject({ type: 'agent.result', runId: 'r1' });
    expect(a.status()).toMatchObject({ activeRuns: 0, queuedRuns: 0 });
    // The conversation is free again: its next run starts at once and finishes.
    a.run('r2', 'conv');
    expect(a.status()).toMatchObject({ activeRuns: 1, queuedRuns: 0 });
    await until(() => a.inbox.length === 1);
    a.drain();
    await until(() => a.told.length === 2);
    expect(a.told.at(-1)).toMatchObject({ type: 'agent.result', runId: 'r2' });
  });

  it('an outcome of an earlier incarnation is ignored: the new one never saw that run', async () => {
    const a = handDriven();
    a.run('r1');
    await until(() => a.inbox.length === 1);
    const stale = a.inbox.shift();
    a.restart();
    a.inbox.push(stale);
    a.drain();
    expect(a.told).toEqual([expect.objectContaining({ type: 'agent.error', runId: 'r1', error: expect.objectContaining({ code: 'TROUPE_ERR_ACTOR_FAILED' }) })]);
    expect(a.status()).toMatchObject({ activeRuns: 0 });
  });

  it('fails the run when the requester cannot take its result; an error it cannot take either is not retried', async () => {
    const a = handDriven();
    let errorsRefused = 0;
    a.refuse.requester = (m) => m.type === 'agent.result' || (m.type === 'agent.error' && errorsRefused++ < 1);
    a.run('r1');
    await until(() => a.inbox.length === 1);
    a.drain();
    // the result was refused, then the error that replaced it: the requester's own deadline ends its wait
    expect(errorsRefused).toBe(1);
    expect(a.told).toEqual([]);
    a.clock.advance(10 * 60_000);
    expect(a.told).toEqual([]);
    expect(a.status()).toMatchObject({ activeRuns: 0 });

    // a requester that can take the error hears why its result never came
    a.run('r2');
    await until(() => a.inbox.length === 1);
    a.drain();
    expect(a.told).toEqual([{
      type: 'agent.error', runId: 'r2',
      error: expect.objectContaining({ code: 'TROUPE_ERR_ACTOR_MAILBOX_FULL', message: expect.stringContaining('its result could not be delivered') }),
    }]);
  });
});
