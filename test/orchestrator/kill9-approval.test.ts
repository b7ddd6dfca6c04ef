import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAI, type RecordedRequest } from '../fixtures/fake-openai.js';
import { tempDir, until } from '../helpers.js';
import { startTroupe, type TroupeProcess } from '../process.js';

const procs: TroupeProcess[] = [];
const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const p of procs.splice(0)) await p.kill().catch(() => undefined);
  for (const c of cleanups.splice(0)) await c();
});

/** The last user message of an upstream call: the node's prompt. */
function promptOf(call: RecordedRequest): string {
  const msgs = (call.body?.messages ?? []) as Array<{ role: string; content: unknown }>;
  const last = [...msgs].reverse().find((m) => m.role === 'user');
  return typeof last?.content === 'string' ? last.content : '';
}

describe('approvals across kill -9 (real processes)', () => {
  it('keeps a pending approval across kill -9; a decision after the restart works; kill -9 between the decision and its effect gives the effect once', async () => {
    let hold = true;
    const fake: FakeOpenAI = await startFakeOpenAI((call) => {
      const p = promptOf(call);
      if (hold && p.startsWith('send the report')) return { kind: 'hang' };
      return { kind: 'text', text: `done(${p.split('\n')[0]})` };
    });
    cleanups.push(() => fake.close());
    const { dir, cleanup } = tempDir('troupe-orch-kill-apr-');
    cleanups.push(cleanup);
    const config = join(dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({
      agents: [{ name: 'assistant' }, { name: 'worker' }],
      orchestrator: { nodeRetries: 0, planner: 'offline', classifier: 'heuristic', approvalFor: ['external_call'] },
    }));
    const args = ['--config', config, '--data', join(dir, 'data'), '--http-port', '0', '--peer-port', '0', '--node', 'k9a'];
    const env = { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-fake-key-123', TROUPE_LOG_LEVEL: 'warn' };
    const one = await startTroupe(args, env);
    procs.push(one);
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
    await one.kill();
    procs.splice(procs.indexOf(one), 1);

    const two = await startTroupe(args, env);
    procs.push(two);
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
    await until(() => fake.calls.some((c) => promptOf(c).startsWith('send the report')), 30_000, 'the approved node reached the upstream');
    await two.kill();
    procs.splice(procs.indexOf(two), 1);

    hold = false;
    const three = await startTroupe(args, env);
    procs.push(three);
    let session: any;
    await until(async () => {
      session = await fetch(`${three.ready.http}/v1/sessions/${id}`).then((r) => r.json());
      return session.status === 'completed';
    }, 30_000, 'the session completed');
    expect(session.dag.nodes.map((n: any) => [n.id, n.status])).toEqual([['s1', 'completed'], ['s2', 'completed']]);
    expect(session.approvals).toHaveLength(1);
    expect(session.approvals[0]).toMatchObject({ status: 'approved', decided_by: 'alice' });
    expect(fake.calls.filter((c) => promptOf(c).startsWith('find prices'))).toHaveLength(1);
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
