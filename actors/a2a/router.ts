import { TaskState, type AgentCard, type Message } from '@a2a-js/sdk';
import { AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from '@a2a-js/sdk/server';
import { TroupeError, systemClock, type Clock } from '../../protocol/index.js';
import type { AgentInfo } from '../agent/index.js';
import { agentCard, type CardContext } from './card.js';
import { text, textOf, type AgentTaskExecutor } from './executor.js';

/** The name the node's own A2A agent goes by inside the module (no agent can have it). */
export const NODE_AGENT = '~node';

/** The route of a task the node's agent handed to its workflows (no agent can have this name). */
export const WORKFLOW_ROUTE = '~workflow';

/**
 * Workflows the node's own agent hands complex tasks to (the orchestrator module installs
 * them with `a2a.useWorkflows`): a new task goes to them when `wants` says so, and its
 * follow-ups and cancel go to their executor too (a task is theirs when its metadata says
 * `workflow: true`).
 */
export interface A2AWorkflows {
  wants(message: Message): Promise<boolean>;
  readonly executor: AgentExecutor;
  /** The skill the node's card lists for them. */
  readonly skill: Skill;
}

/** Tasks whose chosen agent the router remembers (follow-ups go to the same one). */
const MAX_ROUTES = 10_000;

export type Skill = { id: string; name: string; tags: string[]; description?: string; examples?: string[] };

const words = (s: string): string[] => s.toLowerCase().split(/[^\p{L}\p{N}]+/u).filter((w) => w.length > 1);

/**
 * The agent whose skills fit a text best: one point for each of its skill tags, skill names
 * and skill ids, and its own name, found among the text's words; ties go to the first by
 * name, and a text that fits none goes to the first agent. Undefined when there is no agent.
 *
 * @example
 * pickAgent('please summarize this', agents)?.name; // 'writer', whose skill is tagged 'summarize'
 */
export function pickAgent(input: string, agents: ReadonlyArray<Pick<AgentInfo, 'name' | 'skills'>>): string | undefined {
  const said = new Set(words(input));
  let best: { name: string; score: number } | undefined;
  for (const a of [...agents].sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const terms = new Set<string>(words(a.name));
    for (const s of a.skills as Skill[]) for (const t of [...s.tags, s.name, s.id]) for (const w of words(t)) terms.add(w);
    let score = 0;
    for (const t of terms) if (said.has(t)) score++;
    if (!best || score > best.score) best = { name: a.name, score };
  }
  return best?.name;
}

/**
 * The node's own card: an agent that routes each task to the node's agent whose skills fit
 * (its skills are theirs, each id prefixed with the agent's name), at `<base>/a2a`.
 */
export function nodeCard(node: string, agents: ReadonlyArray<Pick<AgentInfo, 'name' | 'skills'>>, c: CardContext, extra: readonly Skill[] = []): AgentCard {
  const skills = [...extra, ...agents.flatMap((a) => (a.skills as Skill[]).map((s) => ({ ...s, id: `${a.name}/${s.id}`, tags: [...s.tags, a.name] })))];
  const card = agentCard({ name: `troupe-${node}`, description: `troupe node ${node}: routes each task to the agent whose skills fit (${agents.length} agents)`, skills }, c);
  const url = `${c.baseUrl}/a2a`;
  // JSON-RPC at /a2a; REST under the node agent's own path (/a2a/~node/v1; 0.3 clients add the /v1)
  const restUrl = (version: string): string => `${url}/${encodeURIComponent(NODE_AGENT)}${version === '0.3' ? '' : '/v1'}`;
  card.supportedInterfaces = card.supportedInterfaces.map((i) => ({ ...i, url: i.protocolBinding === 'HTTP+JSON' ? restUrl(i.protocolVersion) : url }));
  return card;
}

/**
 * The executor of the node's own agent: each new task goes to the agent {@link pickAgent}
 * chooses for its first message, its follow-ups and cancel to the same one.
 */
export class RouterExecutor implements AgentExecutor {
  private readonly routes = new Map<string, string>();

  constructor(
    private readonly agents: () => ReadonlyArray<Pick<AgentInfo, 'name' | 'skills'>>,
    private readonly executorFor: (agent: string) => AgentTaskExecutor,
    private readonly workflows: () => A2AWorkflows | undefined = () => undefined,
    private readonly clock: Clock = systemClock,
  ) {}

  async execute(rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const w = this.workflows();
    const workflowTask = (rc.task?.metadata as { workflow?: unknown } | undefined)?.workflow === true;
    if (w && (rc.task ? workflowTask : await w.wants(rc.userMessage))) {
      this.remember(rc.taskId, WORKFLOW_ROUTE);
      return w.executor.execute(rc, bus);
    }
    // a follow-up goes to the agent of its task (remembered, or named in the task's metadata after a restart)
    const named = (rc.task?.metadata as { agent?: unknown } | undefined)?.agent;
    const known = this.routes.get(rc.taskId) ?? (typeof named === 'string' ? named : undefined);
    // a workflow's task with no workflows here (the node is stopping) goes to no agent
    const agent = workflowTask ? undefined : known !== undefined && this.agents().some((a) => a.name === known) ? known : pickAgent(textOf(rc.userMessage), this.agents());
    if (agent === undefined) {
      const err = new TroupeError('TROUPE_ERR_A2A_AGENT_NOT_FOUND', 'this node runs no agent to route the task to');
      const ts = new Date(this.clock.now()).toISOString();
      bus.publish(AgentEvent.task(rc.task ?? { id: rc.taskId, contextId: rc.contextId, artifacts: [], history: [rc.userMessage], metadata: {}, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: ts } }));
      bus.publish(AgentEvent.statusUpdate({
        taskId: rc.taskId, contextId: rc.contextId, metadata: { code: err.code },
        status: { state: TaskState.TASK_STATE_FAILED, timestamp: ts, message: { messageId: `${rc.taskId}-unrouted`, contextId: rc.contextId, taskId: rc.taskId, role: 2, parts: [text(`${err.code}: ${err.message}`)], metadata: { code: err.code }, extensions: [], referenceTaskIds: [] } },
      }));
      bus.finished();
      return;
    }
    this.remember(rc.taskId, agent);
    return this.executorFor(agent).execute(rc, bus);
  }

  private remember(taskId: string, agent: string): void {
    this.routes.delete(taskId);
    this.routes.set(taskId, agent);
    if (this.routes.size > MAX_ROUTES) this.routes.delete(this.routes.keys().next().value as string);
  }

  async cancelTask(taskId: string, bus: ExecutionEventBus): Promise<void> {
    const agent = this.routes.get(taskId);
    const w = this.workflows();
    if (agent === WORKFLOW_ROUTE && w) return w.executor.cancelTask(taskId, bus);
    if (agent !== undefined) return this.executorFor(agent).cancelTask(taskId, bus);
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId: '', metadata: undefined, status: { state: TaskState.TASK_STATE_CANCELED, message: undefined, timestamp: new Date(this.clock.now()).toISOString() } }));
  }
}
