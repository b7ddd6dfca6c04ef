import type { Dag, DagNode } from './dag.js';
import { approvalIdOf } from './session-approvals.js';
import type { SessionState } from './session-state.js';

/** What a planner sees when it may revise a running workflow. */
export interface ReviseRequest {
  sessionId: string;
  request: string;
  dag: Dag;
  /** Each node's status and, when completed, its result. */
  states: Record<string, { status: string; result?: string }>;
  /** The node that just completed. */
  completed: string;
}

function predsOf(dag: Dag): Map<string, string> {
  const m = new Map<string, string[]>();
  for (const e of dag.edges) m.set(e.to, [...(m.get(e.to) ?? []), e.from]);
  return new Map([...m].map(([k, v]) => [k, [...v].sort().join(',')]));
}

const same = (a: DagNode, b: DagNode): boolean => JSON.stringify(a) === JSON.stringify(b);

/**
 * Why a revised DAG cannot replace a session's (empty when it can): only pending nodes that
 * await no approval may change or go; every other node, and the edges into it, must stay as
 * it is, so that nothing that ran or is running is rewritten. The DAG itself was validated
 * (`validateDag`) before this.
 */
export function revisionProblems(s: SessionState, next: Dag): string[] {
  const out: string[] = [];
  const nextById = new Map(next.nodes.map((n) => [n.id, n]));
  const oldPreds = predsOf(s.dag);
  const newPreds = predsOf(next);
  for (const n of s.dag.nodes) {
    const st = s.nodes[n.id]!;
    const fixed = st.status !== 'pending' || st.attempts > 0 || s.approvals[approvalIdOf(s.id, n.id)] !== undefined;
    if (!fixed) continue;
    const m = nextById.get(n.id);
    if (!m) out.push(`node ${n.id} is ${st.status}: it cannot be removed`);
    else if (!same(n, m)) out.push(`node ${n.id} is ${st.status}: it cannot be changed`);
    else if ((oldPreds.get(n.id) ?? '') !== (newPreds.get(n.id) ?? '')) out.push(`node ${n.id} is ${st.status}: its upstream edges cannot change`);
  }
  if (next.output !== s.dag.output && s.dag.output !== undefined && s.nodes[s.dag.output]?.status !== 'pending') out.push('the output node has run: it cannot change');
  return out;
}
