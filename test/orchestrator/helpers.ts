import { ManualClock } from '../../protocol/index.js';
import { startNode, type RunningNode } from '../../index.js';
import {
  gatewayModule, orchestratorModule, type AgentCard, type NodeOutput, type NodeRunner, type NodeTask, type Orchestrator, type OrchestratorModuleOptions,
} from '../../actors/index.js';
import { silent, until } from '../helpers.js';

/** A call the runner got, with the means to settle it (manual mode). */
export interface RunnerCall {
  task: NodeTask;
  resolve(content: string): void;
  reject(e: unknown): void;
}

/**
 * A node runner twin: counts calls per node; `instant` answers at once with
 * `<agent>:<node>` (or what `answers` says), otherwise calls wait for the test.
 * `failFirst` fails a node's first n attempts.
 */
export class FakeRunner implements NodeRunner {
  readonly calls: RunnerCall[] = [];
  readonly failFirst = new Map<string, number>();
  readonly answers = new Map<string, string>();
  constructor(public instant = true) {}

  run(task: NodeTask): Promise<NodeOutput> {
    return new Promise<NodeOutput>((resolve, reject) => {
      const call: RunnerCall = { task, resolve: (content) => resolve({ content }), reject };
      this.calls.push(call);
      const fails = this.failFirst.get(task.node) ?? 0;
      if (fails > 0) {
        this.failFirst.set(task.node, fails - 1);
        reject(new Error(`injected failure of ${task.node}`));
        return;
      }
      if (this.instant) resolve({ content: this.answers.get(task.node) ?? `${task.agent}:${task.node}` });
    });
  }

  count(node: string): number {
    return this.calls.filter((c) => c.task.node === node).length;
  }

  open(): RunnerCall[] {
    return this.calls.filter((c) => !c.task.signal.aborted && !(c as { done?: boolean }).done);
  }

  /** The latest call of a node. */
  last(node: string): RunnerCall {
    const c = [...this.calls].reverse().find((x) => x.task.node === node);
    if (!c) throw new Error(`no call of ${node}`);
    return c;
  }
}

export const CARDS: AgentCard[] = [
  { name: 'research', description: 'finds facts', skills: [{ id: 'search', name: 'search the web' }] },
  { name: 'writer', description: 'writes', skills: [{ id: 'summarize', name: 'summarize results' }] },
  { name: 'backup', skills: [] },
];

export async function orchNode(opts: { clock: ManualClock; runner: NodeRunner; dataDir?: string; http?: boolean; id?: string } & Omit<OrchestratorModuleOptions, 'runner'>): Promise<{ node: RunningNode; orch: Orchestrator }> {
  const { clock, runner, dataDir, http, id, ...o } = opts;
  const node = await startNode({
    id: id ?? 'orch',
    logger: silent,
    clock,
    ...(dataDir ? { dataDir } : {}),
    http: http ? { port: 0 } : false,
    modules: [gatewayModule(), orchestratorModule({ runner, catalog: async () => CARDS, retryBackoffMs: 1_000, ...o })],
  });
  return { node, orch: node.module<Orchestrator>('orchestrator') };
}

/** Wait until the session's state satisfies `cond`. */
export async function untilSession(orch: Orchestrator, id: string, cond: (s: Awaited<ReturnType<Orchestrator['state']>>) => boolean, what = 'session condition'): Promise<void> {
  await until(async () => cond(await orch.state(id)), 10_000, what);
}

/** A diamond: a -> (b, c) -> d. */
export const DIAMOND = {
  nodes: [
    { id: 'a', agent: 'research', instruction: 'find' },
    { id: 'b', agent: 'research', instruction: 'left', inputs: ['a'] },
    { id: 'c', agent: 'research', instruction: 'right', inputs: ['a'] },
    { id: 'd', agent: 'writer', instruction: 'join', inputs: ['b', 'c'] },
  ],
  edges: [{ from: 'a', to: 'b' }, { from: 'a', to: 'c' }, { from: 'b', to: 'd' }, { from: 'c', to: 'd' }],
  output: 'd',
};
