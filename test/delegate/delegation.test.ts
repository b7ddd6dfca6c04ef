import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { callsFor } from './script.js';
import { cleanup, delegation, delegationNode, fakeUpstream } from './harness.js';

afterEach(cleanup);

async function runOver(url: string, agent: string, input: string): Promise<any> {
  const res = await fetch(`${url}/api/v1/agents/${agent}/run`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input }) });
  expect(res.status).toBe(200);
  return res.json();
}

describe('the delegate tool', () => {
  it('A delegates to B and C in one run: both answers come back, and the trace has the correlation id, call chain and each call', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, {
      agents: [
        { name: 'a', instructions: 'DELEGATE a b:first|c:second', delegates: ['b', 'c'] },
        { name: 'b', instructions: 'I am B', skills: [{ id: 'bee', name: 'Bee', tags: ['buzz'] }] },
        { name: 'c', instructions: 'I am C' },
      ],
    });
    const out = await runOver(node.http.url, 'a', 'go');
    expect(out.result.content).toBe('a got: {"status":"completed","agent":"b","node":"dlg-1","answer":"I am B / first (go)"} + {"status":"completed","agent":"c","node":"dlg-1","answer":"I am C / second (go)"}');
    const trace = out.trace;
    expect(trace.correlation_id).toEqual(expect.any(String));
    expect(trace.call_chain).toEqual(['a']);
    expect(trace.calls).toHaveLength(2);
    const byTarget = Object.fromEntries(trace.calls.map((c: any) => [c.target, c]));
    expect(byTarget.b).toMatchObject({ status: 'completed', node: 'dlg-1', attempts: 1, call_chain: ['a', 'b'], calls: [] });
    expect(byTarget.c).toMatchObject({ status: 'completed', node: 'dlg-1', attempts: 1, call_chain: ['a', 'c'] });
    expect(byTarget.b.duration_ms).toBeGreaterThanOrEqual(0);

    // the model saw the agents it may call, with their skills
    const offered = fake.calls[0]!.body.tools.find((t: any) => t.function.name === 'delegate');
    expect(offered.function.description).toContain('- b');
    expect(offered.function.description).toContain('Bee [buzz]');
    expect(offered.function.description).toContain('- c');
    // B and C did not get the tool (their specs have no delegates)
    const bCall = fake.calls.find((c) => c.body.messages[0].content === 'I am B')!;
    expect(bCall.body.tools).toBeUndefined();

    // the OpenAI route, with the official client: the trace is an extra field of the completion
    const client = new OpenAI({ baseURL: `${node.http.url}/v1`, apiKey: 'none' });
    const completion: any = await client.chat.completions.create({ model: 'a', messages: [{ role: 'user', content: 'again' }] });
    expect(completion.choices[0].message.content).toContain('I am C / second (again)');
    expect(completion.troupe_a2a).toMatchObject({ call_chain: ['a'], calls: [{ status: 'completed' }, { status: 'completed' }] });
  });

  it('nested delegation: the chain grows at each hop and the trace nests the calls', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, {
      agents: [
        { name: 'a', instructions: 'DELEGATE a b:step', delegates: ['b'] },
        { name: 'b', instructions: 'DELEGATE b c:deeper', delegates: '*' },
        { name: 'c', instructions: 'I am C' },
      ],
    });
    const out = await runOver(node.http.url, 'a', 'nest');
    expect(out.result.content).toContain('I am C / deeper');
    const b = out.trace.calls[0];
    expect(b).toMatchObject({ target: 'b', status: 'completed', call_chain: ['a', 'b'] });
    expect(b.calls).toEqual([expect.objectContaining({ target: 'c', status: 'completed', call_chain: ['a', 'b', 'c'] })]);
  });

  it('a cycle is refused with TROUPE_ERR_A2A_DELEGATION_CYCLE before anything is sent, and the depth limit bounds the chain', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, {
      agents: [
        { name: 'a', instructions: 'DELEGATE a b:loop', delegates: ['b'] },
        { name: 'b', instructions: 'DELEGATE b a:back', delegates: ['a'] },
        { name: 'd', instructions: 'DELEGATE d e:one', delegates: '*', delegation: { maxDepth: 1 } },
        { name: 'e', instructions: 'DELEGATE e f:two', delegates: '*', delegation: { maxDepth: 1 } },
        { name: 'f', instructions: 'I am F' },
      ],
    });
    const out = await runOver(node.http.url, 'a', 'cycle');
    const b = out.trace.calls[0];
    expect(b.status).toBe('completed');
    expect(b.calls).toEqual([expect.objectContaining({ target: 'a', status: 'failed', attempts: 0, error: expect.objectContaining({ code: 'TROUPE_ERR_A2A_DELEGATION_CYCLE' }) })]);
    // A ran once (its two model calls), never a second time through the cycle
    expect(callsFor(fake.calls, 'DELEGATE a b:loop')).toBe(2);

    const deep = await runOver(node.http.url, 'd', 'deep');
    const e = deep.trace.calls[0];
    expect(e).toMatchObject({ target: 'e', status: 'completed' });
    expect(e.calls).toEqual([expect.objectContaining({ target: 'f', status: 'failed', error: expect.objectContaining({ code: 'TROUPE_ERR_A2A_DELEGATION_DEPTH' }) })]);
    expect(callsFor(fake.calls, 'I am F')).toBe(0);
  });

  it('an agent created over HTTP with delegates gets the tool; a bad delegates or delegation key is TROUPE_ERR_AGENT_INVALID_SPEC', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, { agents: [{ name: 'b', instructions: 'I am B' }] });
    const post = (spec: unknown) => fetch(`${node.http.url}/api/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });
    expect((await post({ name: 'boss', instructions: 'DELEGATE boss b:report', delegates: '*', delegation: { retries: 0, fallback: 'b' } })).status).toBe(201);
    const out = await runOver(node.http.url, 'boss', 'now');
    expect(out.trace.calls[0]).toMatchObject({ target: 'b', status: 'completed', call_chain: ['boss', 'b'] });
    for (const bad of [{ delegates: [] }, { delegates: ['no/slash'] }, { delegates: ['b'], delegation: { retries: 99 } }, { delegates: ['b'], delegation: { unknown: 1 } }]) {
      const res = await post({ name: 'bad', ...bad });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_AGENT_INVALID_SPEC');
    }
  });

  it('a target the spec does not list is refused with TROUPE_ERR_A2A_DELEGATION_NOT_ALLOWED', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, {
      agents: [
        { name: 'a', instructions: 'DELEGATE a secret:hi', delegates: ['b'] },
        { name: 'b', instructions: 'I am B' },
        { name: 'secret', instructions: 'I am secret' },
      ],
    });
    const out = await runOver(node.http.url, 'a', 'sneak');
    expect(out.trace.calls[0]).toMatchObject({ target: 'secret', status: 'failed', error: { code: 'TROUPE_ERR_A2A_DELEGATION_NOT_ALLOWED' } });
    expect(callsFor(fake.calls, 'I am secret')).toBe(0);
  });

  it('a failing target is retried, then its breaker opens: the next run fails fast (no call reaches it) and the declared fallback answers', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, {
      agents: [
        { name: 'a', instructions: 'DELEGATE a bad:work', delegates: ['bad'], delegation: { retries: 1, backoff: { minMs: 1, maxMs: 5 }, breaker: { failures: 2, halfOpenAfterMs: 600_000 }, fallback: 'c' } },
        { name: 'plain', instructions: 'DELEGATE plain bad:work', delegates: ['bad'], delegation: { retries: 0, breaker: { failures: 1, halfOpenAfterMs: 600_000 } } },
        { name: 'bad', instructions: 'FAIL' },
        { name: 'c', instructions: 'I am C' },
      ],
    });
    const first = await runOver(node.http.url, 'a', 'one');
    expect(first.trace.calls).toEqual([
      expect.objectContaining({ target: 'bad', status: 'failed', attempts: 2, error: expect.objectContaining({ code: 'TROUPE_ERR_MODEL_UPSTREAM' }) }),
      expect.objectContaining({ target: 'c', status: 'completed', fallback_for: 'bad', call_chain: ['a', 'c'] }),
    ]);
    expect(first.result.content).toContain('"fallback_for":"bad"');
    expect(first.result.content).toContain('I am C / work (one)');
    expect(callsFor(fake.calls, 'FAIL')).toBe(2);
    expect(delegation(node).breakerState('a', 'bad')).toBe('open');

    const second = await runOver(node.http.url, 'a', 'two');
    expect(second.trace.calls).toEqual([
      expect.objectContaining({ target: 'bad', status: 'failed', attempts: 0, error: expect.objectContaining({ code: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN' }) }),
      expect.objectContaining({ target: 'c', status: 'completed', fallback_for: 'bad' }),
    ]);
    expect(callsFor(fake.calls, 'FAIL')).toBe(2);

    // without a fallback the tool result is the coded failure, and the run goes on to answer
    await runOver(node.http.url, 'plain', 'p1');
    const fast = await runOver(node.http.url, 'plain', 'p2');
    expect(fast.trace.calls).toEqual([expect.objectContaining({ target: 'bad', status: 'failed', attempts: 0, error: expect.objectContaining({ code: 'TROUPE_ERR_AGENT_CIRCUIT_OPEN' }) })]);
    expect(fast.result.content).toContain('TROUPE_ERR_AGENT_CIRCUIT_OPEN');
    expect(callsFor(fake.calls, 'FAIL')).toBe(3);

    // the figures on /metrics
    const text = await (await fetch(`${node.http.url}/metrics`)).text();
    expect(text).toContain('troupe_a2a_breakers_open 2');
    expect(text).toMatch(/troupe_a2a_delegations_total\{status="failed",code="TROUPE_ERR_AGENT_CIRCUIT_OPEN"\} 2/);
    expect(text).toMatch(/troupe_a2a_delegations_total\{status="completed",code=""\} 2/);
    expect(text).toContain('troupe_a2a_delegation_fallbacks_total 2');
    expect(text).toContain('troupe_a2a_delegation_retries_total 1');
    expect(text).toMatch(/troupe_a2a_messages_total\{type="delegate",outcome="error"\} 3/);
  });

  it('a target that does not answer within the per-target timeout fails with TROUPE_ERR_A2A_DELEGATION_TIMEOUT', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, {
      agents: [
        { name: 'a', instructions: 'DELEGATE a slow:wait', delegates: ['slow'], delegation: { timeoutMs: 300, retries: 0 } },
        { name: 'slow', instructions: 'HANG' },
      ],
    });
    const out = await runOver(node.http.url, 'a', 'hurry');
    expect(out.trace.calls[0]).toMatchObject({ target: 'slow', status: 'failed', attempts: 1, error: { code: 'TROUPE_ERR_A2A_DELEGATION_TIMEOUT' } });
  });
});
