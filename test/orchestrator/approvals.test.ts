import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import type { RunningNode } from '../../index.js';
import { tempDir, until } from '../helpers.js';
import { FakeRunner, orchNode, untilSession } from './helpers.js';

const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const c of dirs.splice(0)) c();
});

/** research -> publish (needs approval) -> done */
const GATED = {
  nodes: [
    { id: 'draft', agent: 'research', instruction: 'draft it' },
    { id: 'publish', agent: 'writer', instruction: 'publish it', inputs: ['draft'], approval: { action: 'external_call', why: 'posts publicly', risks: ['reputation'], timeout_ms: 60_000, auto_action: 'reject' } },
  ],
  edges: [{ from: 'draft', to: 'publish' }],
};

async function start(runner: FakeRunner, o: { clock?: ManualClock; dataDir?: string; http?: boolean } = {}) {
  const clock = o.clock ?? new ManualClock(1_000_000);
  const r = await orchNode({ clock, runner, ...(o.dataDir ? { dataDir: o.dataDir } : {}), ...(o.http ? { http: true } : {}) });
  nodes.push(r.node);
  return { ...r, clock };
}

describe('approvals', () => {
  it('suspends the node in waiting_approval with its suspension record; approve runs it exactly once', async () => {
    const runner = new FakeRunner(true);
    const { orch } = await start(runner);
    const id = await orch.start('go', { dag: GATED });
    const waiting = await orch.attach(id);
    expect(waiting.status).toBe('waiting_approval');
    const a = waiting.approvals[`${id}.publish`]!;
    expect(a).toMatchObject({ status: 'pending', action: 'external_call', why: 'posts publicly', risks: ['reputation'], auto_action: 'reject', expires_at: 1_000_000 + 60_000 });
    expect(runner.count('publish')).toBe(0);
    expect(orch.listApprovals({ status: 'pending' }).map((x) => x['id'])).toEqual([a.id]);
    const d = await orch.decide(a.id, { decision: 'approve', reason: 'fine' }, { key: 'k1', by: 'alice' });
    expect(d).toMatchObject({ id: a.id, status: 'approved', decision: 'approve', decided_by: 'alice' });
    const s = await orch.attach(id);
    expect(s.status).toBe('completed');
    expect(runner.count('publish')).toBe(1);
    expect(runner.count('draft')).toBe(1);
  });

  it('modify runs the node with the new input; reject skips it', async () => {
    const runner = new FakeRunner(true);
    const { orch } = await start(runner);
    const one = await orch.start('go', { dag: GATED });
    await untilSession(orch, one, (s) => s.status === 'waiting_approval');
    await orch.decide(`${one}.publish`, { decision: 'modify', input: 'publish a shorter version' });
    await untilSession(orch, one, (s) => s.status === 'completed');
    expect(runner.last('publish').task.prompt).toMatch(/^publish a shorter version/);
    const two = await orch.start('go', { dag: GATED });
    await untilSession(orch, two, (s) => s.status === 'waiting_approval');
    await orch.decide(`${two}.publish`, { decision: 'reject', reason: 'no' });
    const s = await orch.attach(two);
    expect(s.status).toBe('completed');
    expect(s.nodes['publish']).toMatchObject({ status: 'skipped', reason: `approval ${two}.publish rejected: no` });
    expect(runner.count('publish')).toBe(1); // only the first session's
  });

  it('50 concurrent HTTP decisions: one effect, identical replays for the same key, 409 naming the winner for the rest', async () => {
    const runner = new FakeRunner(true);
    const { orch, node } = await start(runner, { http: true });
    const id = await orch.start('go', { dag: GATED });
    await untilSession(orch, id, (s) => s.status === 'waiting_approval');
    const url = `${node.http!.url}/v1/approvals/${id}.publish`;
    const decisions = ['approve', 'reject', 'modify'] as const;
    const res = await Promise.all(Array.from({ length: 50 }, (_v, i) => fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'idempotency-key': `key-${i % 5}`, 'x-troupe-user': `user-${i}` },
      body: JSON.stringify({ decision: decisions[i % 3], ...(i % 3 === 2 ? { input: 'changed' } : {}) }),
    }).then(async (r) => ({ i, status: r.status, body: await r.json() as Record<string, any> }))));
    const ok = res.filter((r) => r.status === 200);
    const conflicts = res.filter((r) => r.status === 409);
    expect(ok.length + conflicts.length).toBe(50);
    // every 200 is the same decision, made with one key
    const winner = ok[0]!.body;
    for (const r of ok) expect(r.body).toEqual(winner);
    const winnerKey = `key-${ok.find((r) => r.body['decided_by'] === winner['decided_by'])!.i % 5}`;
    for (const r of ok) expect(`key-${r.i % 5}`).toBe(winnerKey);
    for (const r of conflicts) {
      expect(r.body['error']['code']).toBe('TROUPE_ERR_APPROVAL_CONFLICT');
      expect(r.body['error']['message']).toContain(`by ${winner['decided_by']}`);
    }
    // everyone who sent the winner's key got the replay (10 requests per key)
    expect(ok).toHaveLength(10);
    const s = await orch.attach(id);
    expect(s.status).toBe('completed');
    expect(runner.count('publish')).toBe(winner['decision'] === 'reject' ? 0 : 1);
    const get = await fetch(url).then((r) => r.json()) as Record<string, unknown>;
    expect(get).toMatchObject({ id: `${id}.publish`, status: winner['status'], decided_by: winner['decided_by'] });
    const list = await fetch(`${node.http!.url}/v1/approvals`).then((r) => r.json()) as { data: unknown[] };
    expect(list.data).toHaveLength(1);
    expect((await fetch(`${node.http!.url}/v1/approvals/${id}.nope`)).status).toBe(404);
    const bad = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ decision: 'maybe' }) });
    expect(bad.status).toBe(400);
  });

  it('lets only the listed approvers decide; the timeout still can', async () => {
    const runner = new FakeRunner(true);
    const { orch, clock } = await start(runner);
    const dag = { nodes: [{ id: 'pay', agent: 'writer', instruction: 'pay', approval: { approvers: ['carol'], timeout_ms: 1_000, auto_action: 'approve' } }] };
    const id = await orch.start('go', { dag });
    await untilSession(orch, id, (s) => s.status === 'waiting_approval');
    await expect(orch.decide(`${id}.pay`, { decision: 'approve' }, { by: 'mallory' })).rejects.toMatchObject({ code: 'TROUPE_ERR_APPROVAL_FORBIDDEN', status: 403 });
    expect((await orch.state(id)).approvals[`${id}.pay`]!.status).toBe('pending');
    clock.advance(1_000);
    const s = await orch.attach(id);
    expect(s.approvals[`${id}.pay`]).toMatchObject({ status: 'approved', decided_by: 'timeout' });
    expect(runner.count('pay')).toBe(1);
  });

  it('takes the auto_action at the timeout; a human decision racing it gets one outcome', async () => {
    const runner = new FakeRunner(true);
    const { orch, clock } = await start(runner);
    const id = await orch.start('go', { dag: GATED });
    await untilSession(orch, id, (s) => s.status === 'waiting_approval');
    clock.advance(59_999);
    expect((await orch.state(id)).approvals[`${id}.publish`]!.status).toBe('pending');
    clock.advance(1);
    const human = orch.decide(`${id}.publish`, { decision: 'approve' }, { key: 'h' }).then((v) => ({ ok: v }), (e: unknown) => ({ err: e }));
    const s = await orch.attach(id);
    const h = await human;
    const a = s.approvals[`${id}.publish`]!;
    if ('ok' in h) {
      expect(a).toMatchObject({ status: 'approved', decided_by: 'api' });
      expect(runner.count('publish')).toBe(1);
    } else {
      expect(h.err).toMatchObject({ code: 'TROUPE_ERR_APPROVAL_CONFLICT' });
      expect(a).toMatchObject({ status: 'rejected', decided_by: 'timeout', source: 'timeout' });
      expect(runner.count('publish')).toBe(0);
    }
    expect(s.status).toBe('completed');
  });

  it('keeps a pending approval across a restart: a decision after it works, and the node runs once', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-apr-');
    dirs.push(cleanup);
    const clock = new ManualClock(1_000_000);
    const r1 = new FakeRunner(true);
    const one = await start(r1, { clock, dataDir: dir });
    const id = await one.orch.start('go', { dag: GATED });
    await untilSession(one.orch, id, (s) => s.status === 'waiting_approval');
    await one.node.close();
    nodes.splice(nodes.indexOf(one.node), 1);

    const r2 = new FakeRunner(false);
    const two = await start(r2, { clock, dataDir: dir });
    await untilSession(two.orch, id, (s) => s.status === 'waiting_approval');
    expect(two.orch.listApprovals().map((a) => a['status'])).toEqual(['pending']);
    await two.orch.decide(`${id}.publish`, { decision: 'approve' }, { key: 'k' });
    // the node started (its run is held): kill before its effect completes
    await until(() => r2.calls.length === 1, 5_000, 'publish started');
    await two.node.close();
    nodes.splice(nodes.indexOf(two.node), 1);

    const r3 = new FakeRunner(true);
    const three = await start(r3, { clock, dataDir: dir });
    const s = await three.orch.attach(id);
    expect(s.status).toBe('completed');
    expect([r1.count('draft'), r2.count('draft'), r3.count('draft')]).toEqual([1, 0, 0]);
    expect(r3.count('publish')).toBe(1);
    // the same key replays the decision; another is refused
    expect(await three.orch.decide(`${id}.publish`, { decision: 'approve' }, { key: 'k' })).toMatchObject({ status: 'approved' });
    await expect(three.orch.decide(`${id}.publish`, { decision: 'reject' }, { key: 'other' })).rejects.toMatchObject({ code: 'TROUPE_ERR_APPROVAL_CONFLICT' });
  });
});
