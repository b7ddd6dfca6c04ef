import { TroupeError, describeIssues } from '../../protocol/index.js';
import { dagSchema, type Dag } from './dag.js';

/** Problems reported in one error at most (the rest are counted). */
const MAX_PROBLEMS = 50;

/** A DAG's dependency structure, built once. */
export interface Graph {
  /** Node ids in a topological order. */
  order: string[];
  /** Direct predecessors of each node. */
  preds: Map<string, string[]>;
  /** Direct successors of each node. */
  succs: Map<string, string[]>;
}

/** Predecessors and successors of every node (edges are assumed to name known nodes). */
function adjacency(dag: Dag): Pick<Graph, 'preds' | 'succs'> {
  const preds = new Map<string, string[]>();
  const succs = new Map<string, string[]>();
  for (const n of dag.nodes) {
    preds.set(n.id, []);
    succs.set(n.id, []);
  }
  for (const e of dag.edges) {
    preds.get(e.to)?.push(e.from);
    succs.get(e.from)?.push(e.to);
  }
  return { preds, succs };
}

/** Kahn's algorithm: the order, or the nodes left on a cycle. */
function topo(ids: string[], preds: Map<string, string[]>, succs: Map<string, string[]>): { order: string[]; cyclic: string[] } {
  const indeg = new Map(ids.map((id) => [id, preds.get(id)!.length]));
  const queue = ids.filter((id) => indeg.get(id) === 0);
  const order: string[] = [];
  for (let i = 0; i < queue.length; i++) {
    const id = queue[i]!;
    order.push(id);
    for (const s of succs.get(id)!) {
      const d = indeg.get(s)! - 1;
      indeg.set(s, d);
      if (d === 0) queue.push(s);
    }
  }
  return { order, cyclic: ids.filter((id) => indeg.get(id)! > 0) };
}

/** Every node reachable from `start` following `next` (start included). */
function reach(start: string, next: Map<string, string[]>): Set<string> {
  const seen = new Set([start]);
  const stack = [start];
  while (stack.length > 0) {
    for (const n of next.get(stack.pop()!) ?? []) {
      if (!seen.has(n)) {
        seen.add(n);
        stack.push(n);
      }
    }
  }
  return seen;
}

/**
 * Every problem of a parsed DAG's structure, as short sentences (fit to send back to a
 * planning model): duplicate ids, edges to unknown nodes, self loops, cycles, agents not in
 * `agents`, inputs and conditions that are not upstream, nodes that never reach the output,
 * parallel groups whose members depend on each other. Empty when the DAG is sound.
 */
export function dagProblems(dag: Dag, agents: ReadonlySet<string>): string[] {
  const out: string[] = [];
  const ids = new Set<string>();
  for (const n of dag.nodes) {
    if (ids.has(n.id)) out.push(`node ${n.id}: duplicate id`);
    ids.add(n.id);
    if (!agents.has(n.agent)) out.push(`node ${n.id}: unknown agent ${n.agent}`);
    if (n.fallback_agent !== undefined && !agents.has(n.fallback_agent)) out.push(`node ${n.id}: unknown fallback agent ${n.fallback_agent}`);
  }
  const edgeKeys = new Set<string>();
  for (const e of dag.edges) {
    if (!ids.has(e.from)) out.push(`edge ${e.from}->${e.to}: unknown node ${e.from}`);
    if (!ids.has(e.to)) out.push(`edge ${e.from}->${e.to}: unknown node ${e.to}`);
    if (e.from === e.to) out.push(`edge ${e.from}->${e.to}: a node cannot depend on itself`);
    const k = `${e.from}\u0000${e.to}`;
    if (edgeKeys.has(k)) out.push(`edge ${e.from}->${e.to}: duplicate`);
    edgeKeys.add(k);
  }
  if (dag.output !== undefined && !ids.has(dag.output)) out.push(`output: unknown node ${dag.output}`);
  if (out.length > 0) return cap(out); // the structure below needs known, unique ids
  const { preds, succs } = adjacency(dag);
  const { cyclic } = topo([...ids], preds, succs);
  if (cyclic.length > 0) return cap([`cycle through nodes ${cyclic.slice(0, 20).join(', ')}`]);
  const ancestors = (id: string): Set<string> => reach(id, preds);
  for (const n of dag.nodes) {
    const direct = new Set(preds.get(n.id));
    for (const i of n.inputs) if (!direct.has(i)) out.push(`node ${n.id}: input ${i} has no edge ${i}->${n.id}`);
    if (n.condition && (n.condition.node === n.id || !ancestors(n.id).has(n.condition.node))) {
      out.push(`node ${n.id}: condition on ${n.condition.node}, which is not upstream of it`);
    }
  }
  if (dag.output !== undefined) {
    const feeds = reach(dag.output, preds);
    for (const n of dag.nodes) if (!feeds.has(n.id)) out.push(`node ${n.id}: unreachable: its output never reaches the output node ${dag.output}`);
  }
  dag.parallel_groups.forEach((g, gi) => {
    for (const id of g) if (!ids.has(id)) out.push(`parallel group ${gi}: unknown node ${id}`);
    const known = g.filter((id) => ids.has(id));
    for (const a of known) {
      const down = reach(a, succs);
      for (const b of known) if (a !== b && down.has(b)) out.push(`parallel group ${gi}: ${b} depends on ${a}`);
    }
  });
  return cap(out);
}

function cap(problems: string[]): string[] {
  if (problems.length <= MAX_PROBLEMS) return problems;
  return [...problems.slice(0, MAX_PROBLEMS), `and ${problems.length - MAX_PROBLEMS} more`];
}

/**
 * Parse and check a plan: the zod schema (fields, sizes) then the graph checks (acyclic,
 * known agents, upstream inputs, every node reaching the output). Throws
 * TROUPE_ERR_PLAN_INVALID with `details.problems` listing what is wrong.
 *
 * @example
 * const dag = validateDag(planFromModel, new Set(['research', 'writer']));
 */
export function validateDag(input: unknown, agents: ReadonlySet<string>): Dag {
  const r = dagSchema.safeParse(input);
  if (!r.success) {
    const problems = cap(r.error.issues.map((i) => `${i.path.map(String).join('.') || '(plan)'}: ${i.message}`));
    throw new TroupeError('TROUPE_ERR_PLAN_INVALID', `invalid plan: ${describeIssues(r.error, '(plan)').slice(0, 1_000)}`, { details: { problems } });
  }
  const problems = dagProblems(r.data, agents);
  if (problems.length > 0) throw new TroupeError('TROUPE_ERR_PLAN_INVALID', `invalid plan: ${problems.slice(0, 5).join('; ')}`, { details: { problems } });
  return r.data;
}

/** The graph of a valid DAG. */
export function graphOf(dag: Dag): Graph {
  const { preds, succs } = adjacency(dag);
  return { order: topo(dag.nodes.map((n) => n.id), preds, succs).order, preds, succs };
}
