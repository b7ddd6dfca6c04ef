import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  TRACEPARENT_RE, TroupeError, a2aMessageSchema, a2aRequestSchema, childTraceparent, isExpired, traceIdOf,
} from '../../protocol/index.js';
import { A2A_ENDPOINT_PATH } from '../../actors/index.js';
import { callsFor } from './script.js';
import { cleanup, delegation, delegationNode, fakeUpstream } from './harness.js';

afterEach(cleanup);

const base = {
  id: 'm-1', from: 'client', to: 'b', correlationId: 'corr-1', callChain: [] as string[], createdAt: 1, replyTo: 'troupe://n1/system/a2a-messages',
};

describe('A2A actor messages (protocol/a2a)', () => {
  it('the four seed types are dotted, zod-checked messages; bad fields are refused', () => {
    expect(a2aRequestSchema.parse({ ...base, type: 'a2a.execute', payload: { input: 'hi' }, fabricContext: { Primary_Plane_ID: 'p' } })).toMatchObject({ type: 'a2a.execute', attempt: 0 });
    expect(a2aRequestSchema.parse({ ...base, type: 'a2a.delegate', payload: { input: 'hi' }, parentRunId: 'run_1' }).type).toBe('a2a.delegate');
    expect(a2aRequestSchema.parse({ ...base, type: 'a2a.context_share', payload: { context: { k: 1 } } }).type).toBe('a2a.context_share');
    expect(a2aRequestSchema.parse({ ...base, type: 'a2a.status_query', payload: { messageId: 'm-0' } }).type).toBe('a2a.status_query');
    expect(a2aRequestSchema.safeParse({ ...base, type: 'EXECUTE', payload: { input: 'hi' } }).success).toBe(false);
    expect(a2aRequestSchema.safeParse({ ...base, type: 'a2a.execute', payload: { input: '' } }).success).toBe(false);
    expect(a2aRequestSchema.safeParse({ ...base, type: 'a2a.execute', traceparent: '00-nothex-x-01', payload: { input: 'hi' } }).success).toBe(false);
    expect(a2aRequestSchema.safeParse({ ...base, type: 'a2a.execute', to: '../etc', payload: { input: 'hi' } }).success).toBe(false);
    expect(a2aRequestSchema.safeParse({ ...base, type: 'a2a.execute', callChain: Array(40).fill('x'), payload: { input: 'hi' } }).success).toBe(false);
    expect(a2aMessageSchema.safeParse({ type: 'a2a.result', inReplyTo: 'm-1', correlationId: 'c', from: 'b', node: 'n', status: 'done', content: null, callChain: [], durationMs: 0 }).success).toBe(false);
  });

  it('a child traceparent is a valid W3C traceparent of the same trace with a new parent id', () => {
    fc.assert(fc.property(fc.boolean(), (rooted) => {
      const parent = rooted ? childTraceparent() : undefined;
      const child = childTraceparent(parent);
      expect(child).toMatch(TRACEPARENT_RE);
      if (parent) {
        expect(traceIdOf(child)).toBe(traceIdOf(parent));
        expect(child.slice(36, 52)).not.toBe(parent.slice(36, 52));
      }
    }), { numRuns: 200 });
  });

  it('expiresAt: reached means expired; absent never expires', () => {
    fc.assert(fc.property(fc.nat(), fc.nat(), (at, now) => {
      expect(isExpired({ expiresAt: at }, now)).toBe(now >= at);
      expect(isExpired({}, now)).toBe(false);
    }));
  });
});

describe('EXECUTE, STATUS_QUERY and CONTEXT_SHARE through the A2A endpoint actor', () => {
  it('an EXECUTE runs its agent once per message id: a repeat gets the same answer, and STATUS_QUERY reports it', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, { agents: [{ name: 'b', instructions: 'I am B' }] });
    const api = delegation(node);
    const r1 = await api.execute('b', 'do it', { id: 'exec-1', correlationId: 'corr-x' });
    expect(r1).toMatchObject({ type: 'a2a.result', inReplyTo: 'exec-1', correlationId: 'corr-x', from: 'b', node: 'dlg-1', status: 'completed', content: 'I am B / do it', callChain: ['b'] });
    const r2 = await api.execute('b', 'do it', { id: 'exec-1', correlationId: 'corr-x' });
    expect(r2).toEqual(r1);
    // two at once with one id: one run, one answer for both
    const [c1, c2] = await Promise.all([api.execute('b', 'twice', { id: 'exec-2' }), api.execute('b', 'twice', { id: 'exec-2' })]);
    expect(c1).toEqual(c2);
    expect(c1.content).toBe('I am B / twice');
    expect(callsFor(fake.calls, 'I am B')).toBe(2);
    expect(await api.status('b', 'exec-1')).toMatchObject({ type: 'a2a.status', messageId: 'exec-1', state: 'completed', result: { content: 'I am B / do it' } });
    expect((await api.status('b', 'never-sent')).state).toBe('unknown');
    // the run is in the audit chain (RACI of A2A), its text only as a digest
    await expect.poll(async () => ((await (await fetch(`${node.http.url}/api/v1/audit?action=A2A_EXECUTE`)).json()) as { records: unknown[] }).records.length).toBe(2);
    const rec = ((await (await fetch(`${node.http.url}/api/v1/audit?action=A2A_EXECUTE`)).json()) as { records: any[] }).records.find((r) => r.details.message_id === 'exec-1');
    expect(rec).toMatchObject({ action: 'A2A_EXECUTE', actor: 'client', target: 'b', correlation_id: 'corr-x', outcome: 'ok', raci: { responsible: 'A2A Protocol' }, details: { message_id: 'exec-1' } });
    expect(JSON.stringify(rec)).not.toContain('do it');
  });

  it('an expired EXECUTE is refused with TROUPE_ERR_A2A_MESSAGE_EXPIRED and never run', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, { agents: [{ name: 'b', instructions: 'I am B' }] });
    const api = delegation(node);
    const r = await api.execute('b', 'too late', { id: 'exec-old', expiresAt: Date.now() - 1_000 });
    expect(r).toMatchObject({ status: 'failed', content: null, error: { code: 'TROUPE_ERR_A2A_MESSAGE_EXPIRED' } });
    expect(callsFor(fake.calls, 'I am B')).toBe(0);
    expect((await api.status('b', 'exec-old')).state).toBe('unknown');
    // an EXECUTE whose target is already in its chain is a cycle, refused at the receiver too
    const looped = await node.ask<{ accepted: boolean }>(A2A_ENDPOINT_PATH, {
      ...base, id: 'exec-loop', to: 'b', type: 'a2a.delegate', callChain: ['a', 'b', 'c'], replyTo: `troupe://dlg-1/${A2A_ENDPOINT_PATH}`, payload: { input: 'again' },
    });
    expect(looped.accepted).toBe(true);
    await expect.poll(async () => (await api.status('b', 'exec-loop')).result?.error?.code).toBe('TROUPE_ERR_A2A_DELEGATION_CYCLE');
    expect(callsFor(fake.calls, 'I am B')).toBe(0);
  });

  it('a CONTEXT_SHARE is kept for its agent and correlation id after the context filter; a refusal is a coded ack', async () => {
    const fake = await fakeUpstream();
    const node = await delegationNode(fake, { agents: [{ name: 'b', instructions: 'I am B' }] });
    const api = delegation(node);
    const share = (id: string, context: Record<string, unknown>) => node.ask<any>(A2A_ENDPOINT_PATH, { ...base, id, type: 'a2a.context_share', payload: { context } });
    expect(await share('cs-1', { topic: 'rates', region: 'eu' })).toEqual({ type: 'a2a.context_ack', inReplyTo: 'cs-1', accepted: true, keys: ['topic', 'region'] });
    expect(api.inbox.sharedContext('b', 'corr-1')).toEqual({ topic: 'rates', region: 'eu' });
    api.inbox.contextFilter = (m) => ('email' in m.payload.context
      ? { refused: new TroupeError('TROUPE_ERR_A2A_DELEGATION_NOT_ALLOWED', 'context with an email refused') }
      : { context: m.payload.context });
    expect(await share('cs-2', { email: 'x@example.com' })).toMatchObject({ accepted: false, keys: [], error: { code: 'TROUPE_ERR_A2A_DELEGATION_NOT_ALLOWED' } });
    expect(api.inbox.sharedContext('b', 'corr-1')).toEqual({ topic: 'rates', region: 'eu' });
    // the endpoint checks what it is sent
    await expect(node.ask(A2A_ENDPOINT_PATH, { type: 'a2a.execute', id: 'x' })).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_INVALID_MESSAGE' });
  });
});
