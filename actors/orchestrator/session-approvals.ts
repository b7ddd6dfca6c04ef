import { TroupeError } from '../../protocol/index.js';
import type { DagNode } from './dag.js';
import type { SessionMessage } from './session-messages.js';
import type { ApprovalRecord, SessionEvent, SessionState } from './session-state.js';

/** An approval's id: its session's id and its node's id (one approval per node). */
export function approvalIdOf(sessionId: string, nodeId: string): string {
  return `${sessionId}.${nodeId}`;
}

/** The session id inside an approval id, or undefined when it is not one. */
export function sessionOfApproval(approvalId: string): string | undefined {
  const at = approvalId.lastIndexOf('.');
  return at > 0 ? approvalId.slice(0, at) : undefined;
}

/** The suspension record of a node's approval, pending from `now`. */
export function approvalRecordOf(sessionId: string, node: DagNode, now: number): ApprovalRecord {
  const spec = node.approval!;
  return {
    id: approvalIdOf(sessionId, node.id), session_id: sessionId, node: node.id, agent: node.agent, action: spec.action,
    ...(spec.details !== undefined ? { details: spec.details } : {}), ...(spec.why !== undefined ? { why: spec.why } : {}),
    risks: spec.risks, approvers: spec.approvers, auto_action: spec.auto_action, status: 'pending', created_at: now, expires_at: now + spec.timeout_ms,
    ...(spec.a2a_state !== undefined ? { a2a_state: spec.a2a_state } : {}),
  };
}

const STATUS_OF = { approve: 'approved', reject: 'rejected', modify: 'modified' } as const;

/**
 * A decision on an approval, decided in the session actor's turn: the first decision wins
 * (its event is returned, to be journaled); a later one with the winner's idempotency key
 * gets the winner's record again; any other later one is TROUPE_ERR_APPROVAL_CONFLICT
 * naming the winner. An escalated approval is still open to a human decision.
 */
export function decide(s: SessionState, m: Extract<SessionMessage, { type: 'session.decide' }>, now: number): { record: ApprovalRecord; event?: SessionEvent } {
  const a = s.approvals[m.approvalId];
  if (!a) throw new TroupeError('TROUPE_ERR_APPROVAL_NOT_FOUND', `no approval ${m.approvalId.slice(0, 200)}`);
  if (a.status === 'pending' || a.status === 'escalated') {
    if (a.approvers.length > 0 && !a.approvers.includes(m.by)) {
      throw new TroupeError('TROUPE_ERR_APPROVAL_FORBIDDEN', `approval ${a.id} is for ${a.approvers.join(', ').slice(0, 300)} to decide`, { details: { approvers: a.approvers } });
    }
    const d = m.decision;
    const event: SessionEvent = {
      type: 'approval.decided', at: now, id: a.id, status: STATUS_OF[d.decision], decision: d.decision,
      ...(d.reason !== undefined ? { reason: d.reason } : {}),
      ...(d.input !== undefined && d.decision === 'modify' ? { input: d.input } : {}),
      decided_by: m.by, source: m.source, ...(m.key !== undefined ? { idempotency_key: m.key } : {}),
    };
    return { record: a, event };
  }
  if (m.key !== undefined && a.idempotency_key === m.key) return { record: a };
  throw new TroupeError('TROUPE_ERR_APPROVAL_CONFLICT', `approval ${a.id} was already decided: ${a.decision ?? a.status} by ${a.decided_by ?? 'unknown'}`, {
    details: { winner: { decision: a.decision ?? null, status: a.status, decided_by: a.decided_by ?? null, decided_at: a.decided_at === undefined ? null : new Date(a.decided_at).toISOString(), source: a.source ?? null } },
  });
}
