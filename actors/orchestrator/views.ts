import type { ApprovalRecord, SessionState } from './session-state.js';
import type { SessionSummary } from './session-index.js';

const iso = (t: number | undefined): string | null => (t === undefined ? null : new Date(t).toISOString());

/** An approval as `GET /v1/approvals/:id` shows it (never its idempotency key). */
export function approvalView(a: ApprovalRecord): Record<string, unknown> {
  return {
    id: a.id,
    object: 'approval',
    session_id: a.session_id,
    node: a.node,
    agent: a.agent,
    action: a.action,
    details: a.details ?? null,
    why: a.why ?? null,
    risks: a.risks,
    approvers: a.approvers,
    auto_action: a.auto_action,
    ...(a.a2a_state !== undefined ? { a2a_state: a.a2a_state } : {}),
    status: a.status,
    decision: a.decision ?? null,
    reason: a.reason ?? null,
    input: a.input ?? null,
    decided_by: a.decided_by ?? null,
    decided_at: iso(a.decided_at),
    source: a.source ?? null,
    created_at: iso(a.created_at),
    expires_at: iso(a.expires_at),
  };
}

/** A session as `GET /v1/sessions/:id` shows it: its DAG with each node's status and result. */
export function sessionView(s: SessionState): Record<string, unknown> {
  return {
    id: s.id,
    object: 'session',
    status: s.status,
    request: s.request,
    dag: {
      nodes: s.dag.nodes.map((n) => {
        const st = s.nodes[n.id]!;
        return {
          id: n.id,
          agent: n.agent,
          instruction: n.instruction,
          inputs: n.inputs,
          status: st.status,
          attempts: st.attempts,
          ...(st.agent !== undefined && st.agent !== n.agent ? { ran_agent: st.agent } : {}),
          ...(st.result !== undefined ? { result: st.result } : {}),
          ...(st.ran_on !== undefined ? { ran_on: st.ran_on } : {}),
          ...(st.task_id !== undefined ? { task_id: st.task_id, a2a_tasks: st.tasks ?? [st.task_id] } : {}),
          ...(st.error !== undefined ? { error: st.error } : {}),
          ...(st.reason !== undefined ? { reason: st.reason } : {}),
          ...(n.condition ? { condition: n.condition } : {}),
          ...(n.approval ? { approval: true } : {}),
          started_at: iso(st.started_at),
          finished_at: iso(st.finished_at),
        };
      }),
      edges: s.dag.edges,
      parallel_groups: s.dag.parallel_groups,
      output: s.dag.output ?? null,
      on_failure: s.dag.on_failure,
    },
    approvals: Object.values(s.approvals).map(approvalView),
    revisions: s.revisions ?? 0,
    a2a_task_id: s.origin?.a2a_task ?? null,
    answer: s.answer ?? null,
    error: s.error ?? null,
    created_at: iso(s.created_at),
    updated_at: iso(s.updated_at),
    expires_at: iso(s.expires_at),
  };
}

/** A session in `GET /v1/sessions`. */
export function summaryView(s: SessionSummary): Record<string, unknown> {
  return {
    id: s.id, object: 'session', status: s.status, request: s.request, nodes: s.nodes,
    created_at: iso(s.created_at), updated_at: iso(s.updated_at), expires_at: iso(s.expires_at),
  };
}
