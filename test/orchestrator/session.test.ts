import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import type { RunningNode } from '../../index.js';
import { tempDir, until } from '../helpers.js';
import { DIAMOND, FakeRunner, orchNode, untilSession } from './helpers.js';

const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const c of dirs.splice(0)) c();
});

async function setup(runner: FakeRunner, extra: Record<string, unknown> = {}, dataDir?: string) {
  const clock = (extra['clock'] as ManualClock | undefined) ?? new ManualClock(1_000_000);
  const r = await orchNode({ clock, runner, ...(dataDir ? { dataDir } : {}), ...extra });
  nodes.push(r.node);
  return { ...r, clock };
}

describe('session actor: running a DAG', () => {
  it('runs each node once its inputs are ready, branches in parallel, and answers with the output node', async () => {
    const runner = new FakeRunner(false);
    const { orch } = await setup(runner);
    const id = await orch.start('go', { dag: DIAMOND });
    await until(() => runner.calls.length === 1, 5_000, 'a started');
    expect(runner.calls[0]!.task.node).toBe('a');
    runner.last('a').resolve('facts');
    await until(() => runner.calls.length === 3, 5_000, 'b and c started');
    expect(runner.calls.slice(1).map((c) => c.task.node).sort()).toEqual(['b', 'c']);
    expect(runner.last('b').task.prompt).toContain('[output of a]\nfacts');
    const done = orch.attach(id);
    runner.last('b').resolve('L');
    runner.last('c').resolve('R');
    await until(() => runner.calls.length === 4, 5_000, 'd started');
    expect(runner.last('d').task.prompt).toMatch(/join\n\n\[output of b\]\nL\n\n\[output of c\]\nR/);
    runner.last('d').resolve('final answer');
    const s = await done;
    expect(s.status).toBe('completed');
    expect(s.answer).toBe('final answer');
    const view = await orch.get(id) as { dag: { nodes: Array<{ id: string; status: string; result?: string }> } };
    expect(view.dag.nodes.map((n) => [n.id, n.status, n.result])).toEqual([['a', 'completed', 'facts'], ['b', 'completed', 'L'], ['c', 'completed', 'R'], ['d', 'completed', 'final answer']]);
  });

  it('keeps at most maxParallel nodes running', async () => {
    const runner = new FakeRunner(false);
    const { orch } = await setup(runner, { maxParallel: 2 });
    const wide = { nodes: Array.from({ length: 5 }, (_v, i) => ({ id: `w${i}`, agent: 'research', instruction: 'x' })) };
    const id = await orch.start('wide', { dag: wide });
    for (let started = 2; started <= 5; started++) {
      await until(() => runner.calls.length === started, 5_000, `${started} started`);
      // the actor has handled everything before this ask: no third node was started
      expect((await orch.state(id)).status).toBe('active');
      expect(Object.values((await orch.state(id)).nodes).filter((n) => n.status === 'running')).toHaveLength(Math.min(2, 5 - started + 2));
      expect(runner.calls).toHaveLength(started);
      runner.calls[started - 2]!.resolve('ok');
    }
    runner.calls[4]!.resolve('ok');
    await untilSession(orch, id, (s) => s.status === 'completed');
  });

  it('retries a failed attempt after its backoff on the injected clock, then completes', async () => {
    const runner = new FakeRunner(true);
    runner.failFirst.set('a', 1);
    const { orch, clock } = await setup(runner, { retryBackoffMs: 5_000 });
    const id = await orch.start('go', { dag: DIAMOND });
    await untilSession(orch, id, (s) => s.nodes['a']!.failures === 1 && s.nodes['a']!.status === 'pending');
    expect(runner.count('a')).toBe(1);
    clock.advance(4_999);
    await untilSession(orch, id, (s) => s.nodes['a']!.status === 'pending');
    expect(runner.count('a')).toBe(1);
    clock.advance(1);
    await untilSession(orch, id, (s) => s.status === 'completed');
    expect(runner.count('a')).toBe(2);
    expect(runner.count('d')).toBe(1);
  });

  it('cancels an attempt past its timeout, retries it, and fails the session after the last retry (fallback agent last)', async () => {
    const runner = new FakeRunner(false);
    const { orch, clock } = await setup(runner, { nodeRetries: 1, retryBackoffMs: 10 });
    const dag = { nodes: [{ id: 'slow', agent: 'research', instruction: 'wait', timeout_ms: 1_000, fallback_agent: 'backup' }] };
    const id = await orch.start('go', { dag });
    await until(() => runner.calls.length === 1, 5_000, 'first attempt');
    const first = runner.calls[0]!;
    clock.advance(1_000);
    await until(() => first.task.signal.aborted, 5_000, 'first attempt aborted');
    clock.advance(10);
    await until(() => runner.calls.length === 2, 5_000, 'second attempt');
    expect(runner.calls[1]!.task.agent).toBe('backup');
    first.resolve('too late'); // a stale attempt's answer is ignored
    clock.advance(1_000);
    const s = await orch.attach(id);
    expect(s.status).toBe('failed');
    expect(s.error?.code).toBe('TROUPE_ERR_SESSION_NODE_FAILED');
    expect(s.nodes['slow']!.error?.code).toBe('TROUPE_ERR_SESSION_NODE_TIMEOUT');
  });

  it('skips a node whose condition does not hold, and with on_failure continue skips the dependants of a failed node', async () => {
    const runner = new FakeRunner(true);
    runner.answers.set('a', 'nothing found');
    runner.failFirst.set('x', 99);
    const { orch } = await setup(runner, { nodeRetries: 0 });
    const dag = {
      nodes: [
        { id: 'a', agent: 'research', instruction: 'look' },
        { id: 'b', agent: 'writer', instruction: 'report hits', inputs: ['a'], condition: { node: 'a', op: 'contains', value: 'hit' } },
        { id: 'c', agent: 'writer', instruction: 'after b', inputs: ['b'] },
        { id: 'x', agent: 'research', instruction: 'breaks' },
        { id: 'y', agent: 'writer', instruction: 'after x', inputs: ['x'] },
        { id: 'z', agent: 'writer', instruction: 'after a', inputs: ['a'] },
      ],
      edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }, { from: 'x', to: 'y' }, { from: 'a', to: 'z' }],
      on_failure: 'continue',
    };
    const id = await orch.start('go', { dag });
    const s = await orch.attach(id);
    expect(s.status).toBe('completed');
    expect(Object.fromEntries(Object.entries(s.nodes).map(([k, v]) => [k, v.status]))).toEqual({ a: 'completed', b: 'skipped', c: 'skipped', x: 'failed', y: 'skipped', z: 'completed' });
    expect(runner.count('b') + runner.count('c') + runner.count('y')).toBe(0);
    expect(s.answer).toBe('writer:z');
  });

  it('never re-runs a completed node after a restart on the same data dir, and re-runs the one that was running', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-');
    dirs.push(cleanup);
    const clock = new ManualClock(1_000_000);
    const runner1 = new FakeRunner(false);
    const one = await setup(runner1, { clock }, dir);
    const id = await one.orch.start('go', { dag: DIAMOND });
    await until(() => runner1.calls.length === 1, 5_000, 'a started');
    runner1.last('a').resolve('facts');
    await until(() => runner1.calls.length === 3, 5_000, 'b and c started');
    runner1.last('b').resolve('L');
    await untilSession(one.orch, id, (s) => s.nodes['b']!.status === 'completed');
    await one.node.close(); // c is still running
    nodes.splice(nodes.indexOf(one.node), 1);

    const runner2 = new FakeRunner(true);
    const two = await setup(runner2, { clock }, dir);
    const s = await two.orch.attach(id);
    expect(s.status).toBe('completed');
    expect([runner2.count('a'), runner2.count('b'), runner2.count('c'), runner2.count('d')]).toEqual([0, 0, 1, 1]);
    expect(s.nodes['c']!.attempts).toBe(2);
    expect(s.nodes['a']!.result).toBe('facts');
    expect(two.orch.list().map((x) => x['status'])).toEqual(['completed']);
  });
});

describe('sessions API semantics', () => {
  it('cancels running nodes on cancel; a finished session cannot be cancelled again', async () => {
    const runner = new FakeRunner(false);
    const { orch } = await setup(runner);
    const id = await orch.start('go', { dag: DIAMOND });
    await until(() => runner.calls.length === 1, 5_000, 'a started');
    const v = await orch.cancel(id);
    expect(v['status']).toBe('cancelled');
    expect(runner.calls[0]!.task.signal.aborted).toBe(true);
    await expect(orch.cancel(id)).rejects.toMatchObject({ code: 'TROUPE_ERR_SESSION_FINISHED' });
    runner.calls[0]!.resolve('late');
    const s = await orch.state(id);
    expect(s.nodes['a']!.status).toBe('running'); // the cancelled attempt's late answer changed nothing
    expect(runner.calls).toHaveLength(1);
  });

  it('refuses a second attached request on a busy session (409)', async () => {
    const runner = new FakeRunner(false);
    const { orch } = await setup(runner);
    const id = await orch.start('go', { dag: DIAMOND });
    const first = orch.attach(id);
    await until(() => runner.calls.length === 1, 5_000, 'a started');
    await expect(orch.attach(id)).rejects.toMatchObject({ code: 'TROUPE_ERR_SESSION_BUSY', status: 409 });
    await orch.cancel(id);
    expect((await first).status).toBe('cancelled');
  });

  it('a request that stops waiting is let go at once; the session goes on and can be attached again', async () => {
    const runner = new FakeRunner(false);
    const { orch } = await setup(runner);
    const id = await orch.start('go', { dag: { nodes: [{ id: 'only', agent: 'writer', instruction: 'x' }] } });
    const ac = new AbortController();
    const first = orch.attach(id, { signal: ac.signal });
    await until(() => runner.calls.length === 1, 5_000, 'started');
    ac.abort('client');
    await expect(first).rejects.toMatchObject({ code: 'TROUPE_ERR_SESSION_DETACHED', status: 499 });
    const second = orch.attach(id); // not busy: the first waiter was detached
    runner.calls[0]!.resolve('done');
    expect((await second).answer).toBe('done');
  });

  it('with double texting enqueue, a second request waits for the same answer', async () => {
    const runner = new FakeRunner(false);
    const { orch } = await setup(runner, { doubleTexting: 'enqueue' });
    const id = await orch.start('go', { dag: { nodes: [{ id: 'only', agent: 'writer', instruction: 'x' }] } });
    const first = orch.attach(id);
    const second = orch.attach(id);
    await until(() => runner.calls.length === 1, 5_000, 'started');
    runner.calls[0]!.resolve('the answer');
    const [a, b] = await Promise.all([first, second]);
    expect([a.answer, b.answer]).toEqual(['the answer', 'the answer']);
  });

  it('passivates a finished session after passivateAfterMs and brings it back from its journal when asked', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-');
    dirs.push(cleanup);
    const runner = new FakeRunner(true);
    const { orch, node, clock } = await setup(runner, { passivateAfterMs: 10_000 }, dir);
    const id = await orch.start('go', { dag: DIAMOND });
    const done = await orch.attach(id);
    expect(done.status).toBe('completed');
    const path = `system/orchestrator/${id}`;
    expect(node.lookup(path)).toBeDefined();
    clock.advance(10_000);
    await until(() => node.lookup(path) === undefined, 5_000, 'the actor stopped');
    const again = await orch.state(id);
    expect(again).toEqual(done);
    expect(node.lookup(path)).toBeDefined();
    expect(runner.calls).toHaveLength(4);
  });

  it('is 404 once past its TTL (ManualClock), and the sweep drops it from LMDB for good', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-');
    dirs.push(cleanup);
    const clock = new ManualClock(1_000_000);
    const runner = new FakeRunner(true);
    const one = await setup(runner, { clock, ttlMs: 60_000, sweepEveryMs: 600_000 }, dir);
    const id = await one.orch.start('go', { dag: DIAMOND });
    await untilSession(one.orch, id, (s) => s.status === 'completed');
    clock.advance(59_000);
    expect((await one.orch.get(id))['status']).toBe('completed');
    clock.advance(1_000);
    await expect(one.orch.get(id)).rejects.toMatchObject({ code: 'TROUPE_ERR_SESSION_NOT_FOUND', status: 404 });
    expect(one.orch.list()).toEqual([]);
    expect(await one.orch.sweep()).toBe(1);
    await one.node.close();
    nodes.splice(nodes.indexOf(one.node), 1);
    const two = await setup(new FakeRunner(true), { clock: new ManualClock(0), ttlMs: 60_000 }, dir);
    // even on a clock before its expiry, a swept session is gone
    await expect(two.orch.get(id)).rejects.toMatchObject({ code: 'TROUPE_ERR_SESSION_NOT_FOUND' });
    await expect(two.orch.get('ses_unknown')).rejects.toMatchObject({ code: 'TROUPE_ERR_SESSION_NOT_FOUND' });
  });
});
