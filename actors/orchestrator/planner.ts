import { TroupeError } from '../../protocol/index.js';
import { DAG_LIMITS, type Dag, type DagNode } from './dag.js';
import { validateDag } from './graph.js';
import type { ReviseRequest } from './session-revision.js';

/** A skill as an agent card lists it. */
export interface CardSkill {
  id: string;
  name: string;
  description?: string;
  tags?: readonly string[];
}

/** What the planner knows of an agent: its name, description and skills (its A2A card). */
export interface AgentCard {
  name: string;
  description?: string;
  skills: readonly CardSkill[];
  /** The agent spec's `approval` (validated where it is used: another node's arrives as JSON). */
  approval?: unknown;
}

/** A planning request: what the user asked, and the agents a plan may use. */
export interface PlanRequest {
  request: string;
  agents: readonly AgentCard[];
}

/**
 * Turns a request into a validated DAG. The offline planner is deterministic; a model-backed
 * planner validates the model's plan with the same checks.
 */
export interface Planner {
  plan(request: PlanRequest): Promise<Dag>;
  /**
   * After a node completed: a new DAG for the workflow (only nodes that have not started may
   * change, go or be added; it is validated like a plan), or undefined to keep it.
   */
  revise?(request: ReviseRequest & { agents: readonly AgentCard[] }): Promise<unknown>;
}

/** Tasks one request is split into at most (the rest of the text joins the last task). */
const MAX_TASKS = 8;
const STAGE_SPLIT = /(?:\bthen\b|\bafter that\b|\bfinally\b|;|\n+)/i;
const TASK_SPLIT = /(?:,|\band\b|\balso\b)/i;
const AGGREGATOR = /aggregat|summar|synthes|combin|writ|report|answer/i;
/** Tasks that act on the world, tagged so that an approval policy can catch them. */
const EXTERNAL = /\b(send|e-?mail|post|publish|pay|purchase|buy|deploy|notify|call)\b/i;
const WRITES = /\b(save|store|update|delete|insert|write to|record)\b/i;

function actionTypeOf(task: string): string | undefined {
  if (EXTERNAL.test(task)) return 'external_call';
  if (WRITES.test(task)) return 'write_data';
  return undefined;
}
const STOP = new Set(['the', 'a', 'an', 'of', 'to', 'for', 'and', 'or', 'in', 'on', 'with', 'me', 'my', 'please', 'it', 'is', 'be', 'that', 'this', 'then', 'about']);

function words(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter((w) => w.length > 1 && !STOP.has(w));
}

/** The words an agent is known by: name, description, skill ids, names, descriptions, tags. */
function vocabulary(a: AgentCard): Set<string> {
  const parts = [a.name, a.description ?? '', ...a.skills.flatMap((s) => [s.id, s.name, s.description ?? '', ...(s.tags ?? [])])];
  const out = new Set<string>();
  for (const w of words(parts.join(' '))) {
    out.add(w);
    // crude stemming, so that "summarize" meets "summary" and "searches" meets "search"
    if (w.length > 5) out.add(w.slice(0, 5));
  }
  return out;
}

function score(task: string, vocab: Set<string>): number {
  let n = 0;
  for (const w of words(task)) if (vocab.has(w) || (w.length > 5 && vocab.has(w.slice(0, 5)))) n++;
  return n;
}

/** The request as stages (run one after another) of tasks (run in parallel). */
export function splitRequest(request: string): string[][] {
  const clip = (s: string): string => s.trim().slice(0, DAG_LIMITS.maxInstructionChars);
  const stages = request.split(STAGE_SPLIT).map((s) => s.split(TASK_SPLIT).map(clip).filter((t) => words(t).length > 0)).filter((s) => s.length > 0);
  const out: string[][] = [];
  let count = 0;
  for (const stage of stages) {
    const room = MAX_TASKS - count;
    if (room <= 0) break;
    out.push(stage.slice(0, room));
    count += Math.min(room, stage.length);
  }
  if (out.length === 0) out.push([clip(request) || 'answer the request']);
  return out;
}

/**
 * The offline planner: deterministic, no network. It splits the request into stages ("then",
 * ";", new lines) of parallel tasks ("and", ","), gives each task the agent whose card shares
 * the most words with it (ties: by name; no match: round robin), chains the stages, and ends
 * with an answer node (an agent with a summarizing skill) that joins the last stage. Its
 * plans always pass {@link validateDag}.
 *
 * @example
 * const dag = await new OfflinePlanner().plan({ request: 'research prices and research reviews, then write a summary', agents });
 */
export class OfflinePlanner implements Planner {
  async plan(req: PlanRequest): Promise<Dag> {
    return planOffline(req);
  }
}

/** {@link OfflinePlanner}'s plan, synchronously. */
export function planOffline(req: PlanRequest): Dag {
  const agents = [...new Map(req.agents.map((a) => [a.name, a])).values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (agents.length === 0) throw new TroupeError('TROUPE_ERR_PLAN_NO_AGENTS', 'no agents are available to plan a workflow with');
  const vocab = agents.map(vocabulary);
  let rr = 0;
  const pick = (task: string): string => {
    let best = -1;
    let bestScore = 0;
    vocab.forEach((v, i) => {
      const s = score(task, v);
      if (s > bestScore) {
        best = i;
        bestScore = s;
      }
    });
    if (best >= 0) return agents[best]!.name;
    return agents[rr++ % agents.length]!.name;
  };
  const stages = splitRequest(req.request);
  const nodes: DagNode[] = [];
  const edges: Dag['edges'] = [];
  const groups: string[][] = [];
  let previous: string[] = [];
  stages.forEach((stage, si) => {
    const ids = stage.map((_t, ti) => (stage.length === 1 ? `s${si + 1}` : `s${si + 1}_${ti + 1}`));
    stage.forEach((task, ti) => {
      const id = ids[ti]!;
      const action = actionTypeOf(task);
      nodes.push({ id, agent: pick(task), instruction: task, inputs: [...previous], ...(action ? { action_type: action } : {}) });
      for (const p of previous) edges.push({ from: p, to: id });
    });
    if (ids.length > 1) groups.push(ids);
    previous = ids;
  });
  let output = previous[0]!;
  if (nodes.length > 1 && previous.length > 1) {
    const aggIndex = vocab.findIndex((_v, i) => AGGREGATOR.test([agents[i]!.name, agents[i]!.description ?? '', ...agents[i]!.skills.map((s) => `${s.id} ${s.name}`)].join(' ')));
    const agent = agents[aggIndex >= 0 ? aggIndex : 0]!.name;
    output = 'answer';
    nodes.push({ id: output, agent, instruction: `Combine the results into one answer to: ${req.request.trim().slice(0, DAG_LIMITS.maxInstructionChars - 200)}`, inputs: [...previous] });
    for (const p of previous) edges.push({ from: p, to: output });
  }
  return validateDag({ nodes, edges, parallel_groups: groups, output, on_failure: 'fail' }, new Set(agents.map((a) => a.name)));
}
