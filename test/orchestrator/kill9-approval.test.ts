import { describe, expect, it } from 'vitest';
import { until } from '../helpers.js';
import { APPROVAL_WORKFLOW, cleanUpAfterEach, processSetup } from './process-node.js';

cleanUpAfterEach();

describe('approvals across kill -9 (real processes)', () => {
  it('keeps a pending approval across kill -9; a decision after the restart works; kill -9 between the decision and its effect gives the effect once', async () => {
    const setup = await processSetup({ node: 'k9a', holdPrefix: 'send the report', config: APPROVAL_WORKFLOW });
    const one = await setup.start();
    const res = await fetch(`${one.ready.http}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-orchestrate': 'true' },
      body: JSON.stringify({ model: 'troupe', messages: [{ role: 'user', content: 'find prices, then send the report' }] }),
    });
    expect(res.status).toBe(200);
    const id = res.headers.get('x-session-id')!;
    const body = await res.json() as { choices: Array<{ message: { content: string } }>; troupe: { status: string; approvals: string[] } };
    expect(body.troupe).toEqual({ session_id: id, status: 'waiting_approval', approvals: [`${id}.s2`] });
    expect(body.choices[0]!.message.content).toContain(`Waiting for approval: ${id}.s2 (external_call`);
    await setup.kill(one);

    const two = await setup.start();
    await until(async () => {
      const list = await fetch(`${two.ready.http}/v1/approvals?status=pending`).then((r) => r.json()) as { data: Array<{ id: string }> };
      return list.data.some((a) => a.id === `${id}.s2`);
    }, 30_000, 'the pending approval is back');
    const decide = (key: string, decision: string) => fetch(`${two.ready.http}/v1/approvals/${id}.s2`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': key, 'x-troupe-user': 'alice' }, body: JSON.stringify({ decision }),
    });
    const d = await decide('k-1', 'approve');
    expect(d.status).toBe(200);
    const decided = await d.json();
    expect(decided).toMatchObject({ status: 'approved', decided_by: 'alice', source: 'http' });
    await until(() => setup.count('send the report') > 0, 30_000, 'the approved node reached the upstream');
    await setup.kill(two);

    setup.release();
    const three = await setup.start();
    const session = await setup.completedSession(three, id);
    expect(session.dag.nodes.map((n: any) => [n.id, n.status])).toEqual([['s1', 'completed'], ['s2', 'completed']]);
    expect(session.approvals).toHaveLength(1);
    expect(session.approvals[0]).toMatchObject({ status: 'approved', decided_by: 'alice' });
    expect(setup.count('find prices')).toBe(1);
    expect(session.answer).toBe('done(send the report)');
    const replay = await fetch(`${three.ready.http}/v1/approvals/${id}.s2`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-1', 'x-troupe-user': 'alice' }, body: JSON.stringify({ decision: 'approve' }),
    });
    expect(await replay.json()).toEqual(decided);
    const late = await fetch(`${three.ready.http}/v1/approvals/${id}.s2`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'idempotency-key': 'k-2' }, body: JSON.stringify({ decision: 'reject' }),
    });
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('TROUPE_ERR_APPROVAL_CONFLICT');
  }, 120_000);
});
