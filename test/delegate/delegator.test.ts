import { describe, expect, it } from 'vitest';
import { A2AClient, Delegator, type DelegationEvent } from '../../actors/index.js';
import { ManualClock, delegationOptionsSchema, type A2ADelegate, type A2AResult } from '../../protocol/index.js';
import { silent } from '../helpers.js';

/** A Delegator on a ManualClock whose target answers as `answer` says (or stays silent). */
function rig(answer: (m: A2ADelegate) => { ok: boolean; code?: string } | 'silent') {
  const clock = new ManualClock(1_000);
  const sent: A2ADelegate[] = [];
  const events: DelegationEvent[] = [];
  let client!: A2AClient;
  client = new A2AClient({
    clock,
    tell: () => undefined,
    tellDurable: async (_to, raw) => {
      const m = raw as A2ADelegate;
      sent.push(m);
      const a = answer(m);
      if (a === 'silent') return;
      const result: A2AResult = {
        type: 'a2a.result', inReplyTo: m.id, correlationId: m.correlationId, from: m.to, node: 'n2', status: a.ok ? 'completed' : 'failed',
        content: a.ok ? `${m.to} did ${m.payload.input}` : null, ...(a.ok ? {} : { error: { code: a.code!, message: 'no' } }),
        callChain: [...m.callChain, m.to], calls: [], durationMs: 1, attempt: m.attempt,
      };
      queueMicrotask(() => client.onReply(result));
    },
  }, (node) => `troupe://${node}/system/a2a-messages`);
  const delegator = new Delegator({
    node: 'n1', clock, log: silent, client, replyTo: 'troupe://n1/system/a2a-messages', random: () => 0,
    nodeOf: async (agent) => (agent === 'ghost' ? undefined : 'n2'), peers: () => ['n2'], emit: (e) => events.push(e),
  });
  return { clock, sent, events, delegator };
}

const flush = async (): Promise<void> => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

const req = (options: Record<string, unknown>, target = 'b') => ({
  caller: 'a', delegates: ['b', 'c'] as string[], options: delegationOptionsSchema.parse(options), target, task: 't', callChain: ['a'], correlationId: 'corr',
});

describe('Delegator (on the injected clock)', () => {
  it('retries wait their backoff on the clock; a retry repeats the message id with the next attempt', async () => {
    const { clock, sent, delegator } = rig((m) => (m.attempt < 2 ? { ok: false, code: 'TROUPE_ERR_MODEL_UPSTREAM' } : { ok: true }));
    const out = delegator.delegate(req({ retries: 2, backoff: { minMs: 100, maxMs: 1_000 }, breaker: { failures: 10 } }));
    await flush();
    expect(sent.map((m) => m.attempt)).toEqual([0]);
    clock.advance(99);
    await flush();
    expect(sent).toHaveLength(1);
    clock.advance(1);
    await flush();
    expect(sent.map((m) => m.attempt)).toEqual([0, 1]);
    clock.advance(200);
    await flush();
    const r = await out;
    expect(sent.map((m) => m.attempt)).toEqual([0, 1, 2]);
    expect(new Set(sent.map((m) => m.id)).size).toBe(1);
    expect(r.answered).toMatchObject({ target: 'b', status: 'completed', attempts: 3, node: 'n2' });
    expect(r.content).toBe('b did t');
    expect(sent[0]!.expiresAt).toBe(1_000 + 30_000);
  });

  it('the breaker opens after consecutive failures, fails fast while open, lets one probe through once halfOpenAfterMs passed on the clock, and closes on its success', async () => {
    let healthy = false;
    const { clock, sent, delegator, events } = rig(() => (healthy ? { ok: true } : { ok: false, code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' }));
    const options = { retries: 0, breaker: { failures: 2, halfOpenAfterMs: 5_000 } };
    await delegator.delegate(req(options));
    await delegator.delegate(req(options));
    expect(delegator.breakerState('a', 'b')).toBe('open');
    expect(events.some((e) => e.step === 'breaker' && e.state === 'open')).toBe(true);
    const fast = await delegator.delegate(req(options));
    expect(fast.calls[0]).toMatchObject({ status: 'failed', attempts: 0, error: { code: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN' } });
    expect(sent).toHaveLength(2);
    // another caller's breaker on the same target is its own
    expect(delegator.breakerState('c', 'b')).toBe('closed');
    healthy = true;
    clock.advance(4_999);
    expect((await delegator.delegate(req(options))).calls[0]!.error?.code).toBe('TROUPE_ERR_AGENT_CIRCUIT_OPEN');
    clock.advance(1);
    const probe = await delegator.delegate(req(options));
    expect(probe.answered).toMatchObject({ status: 'completed', attempts: 1 });
    expect(delegator.breakerState('a', 'b')).toBe('closed');
    expect(sent).toHaveLength(3);
  });

  it('a silent target times out per attempt on the clock (TROUPE_ERR_A2A_DELEGATION_TIMEOUT), then the fallback answers', async () => {
    const { clock, sent, delegator } = rig((m) => (m.to === 'b' ? 'silent' : { ok: true }));
    const out = delegator.delegate(req({ timeoutMs: 1_000, retries: 0, fallback: 'c' }));
    await flush();
    expect(sent.map((m) => m.to)).toEqual(['b']);
    clock.advance(1_000);
    const r = await out;
    expect(r.calls).toEqual([
      expect.objectContaining({ target: 'b', status: 'failed', attempts: 1, error: expect.objectContaining({ code: 'TROUPE_ERR_A2A_DELEGATION_TIMEOUT' }) }),
      expect.objectContaining({ target: 'c', status: 'completed', fallbackFor: 'b', callChain: ['a', 'c'] }),
    ]);
    expect(r.content).toBe('c did t');
  });

  it('refusals need no clock and send nothing: not allowed, cycle, depth; a fallback already in the chain is not used', async () => {
    const { sent, delegator } = rig(() => ({ ok: true }));
    expect((await delegator.delegate(req({}, 'x'))).calls[0]!.error?.code).toBe('TROUPE_ERR_A2A_DELEGATION_NOT_ALLOWED');
    expect((await delegator.delegate({ ...req({}), callChain: ['b', 'a'] })).calls[0]!.error?.code).toBe('TROUPE_ERR_A2A_DELEGATION_CYCLE');
    expect((await delegator.delegate({ ...req({ maxDepth: 2 }), callChain: ['z', 'y', 'a'] })).calls[0]!.error?.code).toBe('TROUPE_ERR_A2A_DELEGATION_DEPTH');
    expect(sent).toHaveLength(0);
    const ghost = await delegator.delegate({ ...req({ retries: 0, fallback: 'a' }), delegates: '*', target: 'ghost' });
    expect(ghost.calls).toHaveLength(1);
    expect(ghost.calls[0]!.error?.code).toBe('TROUPE_ERR_AGENT_NOT_FOUND');
  });
});
