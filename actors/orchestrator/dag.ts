import { z } from 'zod';

/** Node ids: short, safe in URLs, journal keys and approval ids. */
export const NODE_ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** Bounds of a plan: every list and string of a DAG has a finite limit. */
export const DAG_LIMITS = Object.freeze({
  maxNodes: 1_000,
  maxEdges: 10_000,
  maxInputsPerNode: 64,
  maxGroups: 256,
  maxInstructionChars: 8_000,
  maxRetries: 10,
  maxNodeTimeoutMs: 3_600_000,
  maxApprovalTimeoutMs: 30 * 24 * 3_600_000,
});

const nodeId = z.string().regex(NODE_ID_RE, 'a node id is 1-64 of [A-Za-z0-9_-]');
const agentName = z.string().min(1).max(64);

/**
 * A node runs only if a predicate on an earlier node's output holds (`contains`,
 * `not_contains`, `equals`, `not_equals`; case-insensitive). When it does not, the node is
 * skipped.
 */
export const conditionSchema = z.strictObject({
  node: nodeId,
  op: z.enum(['contains', 'not_contains', 'equals', 'not_equals']),
  value: z.string().max(1_000),
});

/** What a node needs a human to approve before it runs (the suspension's fields). */
export const approvalSpecSchema = z.strictObject({
  action: z.string().min(1).max(128).default('execute'),
  details: z.string().max(4_000).optional(),
  why: z.string().max(2_000).optional(),
  risks: z.array(z.string().max(500)).max(32).default([]),
  /** After this long with no decision, `auto_action` is taken (default 24 h). */
  timeout_ms: z.number().int().min(1).max(DAG_LIMITS.maxApprovalTimeoutMs).default(86_400_000),
  auto_action: z.enum(['reject', 'approve', 'escalate']).default('reject'),
  /** Who may decide (ids or roles); empty: anyone with access to the API. */
  approvers: z.array(z.string().min(1).max(128)).max(32).default([]),
  /** The state of the A2A task that follows the workflow while it waits (default input-required). */
  a2a_state: z.enum(['input-required', 'auth-required']).optional(),
});

/** One step of a workflow: an agent run with an instruction and the outputs it takes. */
export const dagNodeSchema = z.strictObject({
  id: nodeId,
  agent: agentName,
  instruction: z.string().min(1).max(DAG_LIMITS.maxInstructionChars),
  /** Upstream nodes whose outputs are given to this node (each must have an edge to it). */
  inputs: z.array(nodeId).max(DAG_LIMITS.maxInputsPerNode).default([]),
  condition: conditionSchema.optional(),
  approval: approvalSpecSchema.optional(),
  /** What kind of action the node takes (`write_data`, `external_call`, ...): policy may require an approval for it. */
  action_type: z.string().min(1).max(64).optional(),
  /** Per-attempt time limit (default: the orchestrator's nodeTimeoutMs). */
  timeout_ms: z.number().int().min(1).max(DAG_LIMITS.maxNodeTimeoutMs).optional(),
  /** Attempts after the first (default: the orchestrator's nodeRetries). */
  retries: z.number().int().min(0).max(DAG_LIMITS.maxRetries).optional(),
  /** Agent of the last attempt when the others failed. */
  fallback_agent: agentName.optional(),
});

/**
 * A workflow plan: nodes, dependency edges (`from` runs before `to`), groups of nodes meant
 * to run in parallel, the node whose output is the answer, and the failure policy.
 *
 * @example
 * const dag = dagSchema.parse({
 *   nodes: [{ id: 'a', agent: 'research', instruction: 'find' }, { id: 'b', agent: 'writer', instruction: 'write', inputs: ['a'] }],
 *   edges: [{ from: 'a', to: 'b' }],
 * });
 */
export const dagSchema = z.strictObject({
  nodes: z.array(dagNodeSchema).min(1).max(DAG_LIMITS.maxNodes),
  edges: z.array(z.strictObject({ from: nodeId, to: nodeId })).max(DAG_LIMITS.maxEdges).default([]),
  parallel_groups: z.array(z.array(nodeId).min(2).max(DAG_LIMITS.maxNodes)).max(DAG_LIMITS.maxGroups).default([]),
  /** The node whose output is the workflow's answer (default: the sinks' outputs, joined). */
  output: nodeId.optional(),
  /** `fail`: a failed node fails the workflow; `continue`: its dependants are skipped. */
  on_failure: z.enum(['fail', 'continue']).default('fail'),
});

export type Dag = z.output<typeof dagSchema>;
export type DagInput = z.input<typeof dagSchema>;
export type DagNode = z.output<typeof dagNodeSchema>;
export type ApprovalSpec = z.output<typeof approvalSpecSchema>;
export type Condition = z.output<typeof conditionSchema>;

/**
 * The DAG with an approval on every node whose `action_type` the policy names and that
 * declares none of its own.
 *
 * @example
 * withApprovalPolicy(dag, new Set(['external_call']), { timeout_ms: 3_600_000, auto_action: 'reject' });
 */
export function withApprovalPolicy(dag: Dag, actions: ReadonlySet<string>, defaults: { timeout_ms: number; auto_action: 'reject' | 'approve' | 'escalate' }): Dag {
  if (actions.size === 0 || !dag.nodes.some((n) => n.action_type !== undefined && actions.has(n.action_type) && !n.approval)) return dag;
  return {
    ...dag,
    nodes: dag.nodes.map((n) => (n.action_type !== undefined && actions.has(n.action_type) && !n.approval
      ? { ...n, approval: approvalSpecSchema.parse({ action: n.action_type, why: `policy: ${n.action_type} needs a human approval`, ...defaults }) }
      : n)),
  };
}

/** Does `output` satisfy a node's condition? */
export function conditionHolds(c: Condition, output: string): boolean {
  const o = output.trim().toLowerCase();
  const v = c.value.trim().toLowerCase();
  switch (c.op) {
    case 'contains': return o.includes(v);
    case 'not_contains': return !o.includes(v);
    case 'equals': return o === v;
    case 'not_equals': return o !== v;
  }
}
