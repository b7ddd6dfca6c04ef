import { agentApprovalSchema, type AgentApproval } from '../agent/index.js';
import { approvalSpecSchema, withApprovalPolicy, type Dag } from './dag.js';
import type { AgentCard } from './planner.js';

/** What adds approvals to a plan besides its own declarations. */
export interface ApprovalPolicy {
  /** Action types (`action_type`) that need a human approval (`approvalFor`). */
  actions: ReadonlySet<string>;
  /** Timeout and auto action of the approvals `actions` adds. */
  defaults: { timeout_ms: number; auto_action: 'reject' | 'approve' | 'escalate' };
}

/**
 * The approvals the agents' specs declare (`approval: { required, actions?, autoAction,
 * timeoutMs, approvers, why?, risks }`), by agent name. A card's approval comes from the
 * cluster's directory (another node's is JSON): it is validated here, and one that fails is
 * taken as the strictest reading of "this agent needs approval" (every node, reject).
 */
export function agentApprovals(cards: readonly AgentCard[]): Map<string, AgentApproval> {
  const out = new Map<string, AgentApproval>();
  for (const c of cards) {
    if (c.approval === undefined || c.approval === null) continue;
    const r = agentApprovalSchema.safeParse(c.approval);
    const a = r.success ? r.data : agentApprovalSchema.parse({});
    if (a.required) out.set(c.name, a);
  }
  return out;
}

/**
 * The plan with every approval it needs: a node's own declaration first, then its agent's
 * (all its nodes, or those whose `action_type` the agent lists), then the policy on action
 * types. Each node has one approval at most.
 *
 * @example
 * withApprovals(dag, cards, { actions: new Set(['external_call']), defaults: { timeout_ms: 3_600_000, auto_action: 'reject' } });
 */
export function withApprovals(dag: Dag, cards: readonly AgentCard[], policy: ApprovalPolicy): Dag {
  const byAgent = agentApprovals(cards);
  const gated = byAgent.size === 0 ? dag : {
    ...dag,
    nodes: dag.nodes.map((n) => {
      const a = n.approval ? undefined : byAgent.get(n.agent);
      if (!a || (a.actions && (n.action_type === undefined || !a.actions.includes(n.action_type)))) return n;
      return {
        ...n,
        approval: approvalSpecSchema.parse({
          action: n.action_type ?? 'execute',
          why: a.why ?? `agent ${n.agent} requires a human approval${a.actions ? ` for ${n.action_type}` : ''}`,
          risks: a.risks, timeout_ms: a.timeoutMs, auto_action: a.autoAction, approvers: a.approvers,
          ...(a.a2aState !== undefined ? { a2a_state: a.a2aState } : {}),
        }),
      };
    }),
  };
  return withApprovalPolicy(gated, policy.actions, policy.defaults);
}
