import type { GatewayActor } from '../gateway/index.js';

/** One attempt of a workflow node, as the session actor hands it to a runner. */
export interface NodeTask {
  sessionId: string;
  node: string;
  agent: string;
  /** The node's instruction with its inputs' outputs appended. */
  prompt: string;
  attempt: number;
  /** Aborted when the attempt times out or the session is cancelled. */
  signal: AbortSignal;
  /** The attempt's time limit (the session actor enforces it too, on the node's clock). */
  timeoutMs: number;
  /** The runner made a task for the attempt (an A2A task id): the session journals it. */
  onTask?: (taskId: string) => void;
}

/** What an attempt produced. */
export interface NodeOutput {
  content: string;
  /** Node the agent ran on, when known. */
  ranOn?: string;
}

/**
 * Runs workflow nodes. The default runs each as an agent run through the gateway actor (the
 * run protocol of `POST /api/v1/agents/:name/run`, local or remote alike); an A2A-task runner
 * can replace it.
 */
export interface NodeRunner {
  run(task: NodeTask): Promise<NodeOutput>;
}

/**
 * Nodes as agent runs through the gateway actor: the agent is found anywhere in the cluster,
 * the attempt's signal cancels the run (and the agent's upstream request).
 *
 * @example
 * const runner = new GatewayNodeRunner(host.module<GatewayActor>('gateway'));
 */
export class GatewayNodeRunner implements NodeRunner {
  constructor(private readonly gateway: () => GatewayActor) {}

  async run(task: NodeTask): Promise<NodeOutput> {
    const r = await this.gateway().run({ kind: 'agent', name: task.agent }, { input: [{ role: 'user', content: task.prompt }], stream: false }, {
      signal: task.signal,
      timeoutMs: task.timeoutMs,
      correlationId: `${task.sessionId}.${task.node}.${task.attempt}`,
    });
    const node = r.trace.chain.find((h) => h.kind === 'agent')?.node;
    return { content: r.content ?? '', ...(node !== undefined ? { ranOn: node } : {}) };
  }
}
