import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { OfflinePlanner, type Dag, type Planner, type RunningNode } from '../../index.js';
import { tempDir } from '../helpers.js';
import { FakeRunner, orchNode } from './helpers.js';

const nodes: RunningNode[] = [];
const dirs: Array<() => void> = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
  for (const c of dirs.splice(0)) c();
});

/** a -> b -> c; after a, the planner swaps b for b2 (writer) and adds d after it. */
const PLAN = {
  nodes: [
    { id: 'a', agent: 'research', instruction: 'find' },
    { id: 'b', agent: 'research', instruction: 'dig', inputs: ['a'] },
    { id: 'c', agent: 'writer', instruction: 'report', inputs: ['b'] },
  ],
  edges: [{ from: 'a', to: 'b' }, { from: 'b', to: 'c' }],
};

class RevisingPlanner implements Planner {
  readonly seen: string[] = [];
  constructor(private readonly mode: 'swap' | 'rewrite-done' | 'none') {}
  plan = new OfflinePlanner().plan;
  async revise(r: { completed: string; dag: Dag; states: Record<string, { status: string; result?: string }> }): Promise<unknown> {
    this.seen.push(r.completed);
    if (r.completed !== 'a' || this.mode === 'none') return undefined;
    if (this.mode === 'rewrite-done') return { ...r.dag, nodes: r.dag.nodes.map((n) => (n.id === 'a' ? { ...n, instruction: 'find again' } : n)) };
    expect(r.states['a']).toEqual({ status: 'completed', result: 'research:a' });
    return {
      nodes: [
        { id: 'a', agent: 'research', instruction: 'find' },
        { id: 'b2', agent: 'writer', instruction: 'dig deeper', inputs: ['a'] },
        { id: 'd', agent: 'backup', instruction: 'check', inputs: ['b2'] },
        { id: 'c', agent: 'writer', instruction: 'report', inputs: ['d'] },
      ],
      edges: [{ from: 'a', to: 'b2' }, { from: 'b2', to: 'd' }, { from: 'd', to: 'c' }],
    };
  }
}

describe('dynamic revision of a running DAG', () => {
  it('journals a revision after a node and runs the revised rest; it survives a restart', async () => {
    const { dir, cleanup } = tempDir('troupe-orch-rev-');
    dirs.push(cleanup);
    const clock = new ManualClock(1_000);
    const runner = new FakeRunner(true);
    const planner = new RevisingPlanner('swap');
    const r = await orchNode({ clock, runner, dataDir: dir, planner });
    nodes.push(r.node);
    const id = await r.orch.start('go', { dag: PLAN });
    const s = await r.orch.attach(id);
    expect(s.status).toBe('completed');
    expect(s.revisions).toBe(1);
    expect(runner.calls.map((c) => `${c.task.node}@${c.task.agent}`)).toEqual(['a@research', 'b2@writer', 'd@backup', 'c@writer']);
    expect(runner.last('c').task.prompt).toContain('[output of d]\nbackup:d');
    expect(planner.seen).toEqual(['a', 'b2', 'd', 'c']);
    await r.node.close();
    nodes.splice(0);
    const again = await orchNode({ clock, runner: new FakeRunner(true), dataDir: dir, planner: new RevisingPlanner('none') });
    nodes.push(again.node);
    const view = await again.orch.get(id) as { revisions: number; dag: { nodes: Array<{ id: string; status: string }> } };
    expect(view.revisions).toBe(1);
    expect(view.dag.nodes.map((n) => `${n.id}:${n.status}`)).toEqual(['a:completed', 'b2:completed', 'd:completed', 'c:completed']);
  });

  it('ignores a revision that would rewrite a node that ran, and refuses an invalid one', async () => {
    const runner = new FakeRunner(true);
    const r = await orchNode({ clock: new ManualClock(1_000), runner, planner: new RevisingPlanner('rewrite-done') });
    nodes.push(r.node);
    const id = await r.orch.start('go', { dag: PLAN });
    const s = await r.orch.attach(id);
    expect(s.status).toBe('completed');
    expect(s.revisions ?? 0).toBe(0);
    expect(runner.calls.map((c) => c.task.node)).toEqual(['a', 'b', 'c']);

    const bad: Planner = { plan: new OfflinePlanner().plan, revise: async () => ({ nodes: [{ id: 'a', agent: 'ghost', instruction: 'x' }] }) };
    const r2 = await orchNode({ clock: new ManualClock(1_000), runner: new FakeRunner(true), planner: bad, id: 'orch2' });
    nodes.push(r2.node);
    const id2 = await r2.orch.start('go', { dag: PLAN });
    const s2 = await r2.orch.attach(id2);
    expect(s2.status).toBe('completed');
    expect(s2.revisions ?? 0).toBe(0);
  });
});
