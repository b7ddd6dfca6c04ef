import type { Logger } from 'pino';
import type { AuditRecordInput } from '../audit/index.js';
import type { ApprovalRecord } from './session-state.js';
import { approvalView } from './views.js';

/** Decided approvals kept for `GET /v1/approvals` (open ones are always kept). */
const RECENT_APPROVALS = 1_000;

const isOpen = (a: ApprovalRecord): boolean => a.status === 'pending' || a.status === 'escalated';

/**
 * The node's view of approvals for listing: every open one and the recent decisions, as the
 * session actors last reported them. The session actors stay the truth (a decision is a
 * message to them); this is only what `GET /v1/approvals` lists without asking each one.
 */
export class ApprovalBook {
  private readonly approvals = new Map<string, ApprovalRecord>();

  /** Take a session's approvals as it reports them. */
  note(approvals: Iterable<ApprovalRecord>): void {
    for (const a of approvals) {
      const known = this.approvals.get(a.id);
      if (!known || known.status !== a.status) this.approvals.set(a.id, { ...a });
    }
    if (this.approvals.size > RECENT_APPROVALS * 2) this.trim();
  }

  /** Forget a swept session's approvals. */
  dropSession(sessionId: string): void {
    for (const [k, a] of this.approvals) if (a.session_id === sessionId) this.approvals.delete(k);
  }

  /** Open ones first, then recent decisions. */
  list(filter: { status?: string } = {}): Record<string, unknown>[] {
    return [...this.approvals.values()]
      .filter((a) => !filter.status || a.status === filter.status)
      .sort((a, b) => Number(isOpen(b)) - Number(isOpen(a)) || b.created_at - a.created_at)
      .map(approvalView);
  }

  private trim(): void {
    const decided = [...this.approvals.values()].filter((a) => !isOpen(a)).sort((a, b) => a.created_at - b.created_at);
    for (const a of decided.slice(0, decided.length - RECENT_APPROVALS)) this.approvals.delete(a.id);
  }
}

/** A decision into the audit log, with its RACI fields: the decider is responsible, the first approver accountable. */
export function auditDecision(audit: ((input: AuditRecordInput) => Promise<unknown>) | undefined, a: ApprovalRecord, log: Logger): void {
  if (!audit) return;
  const by = a.decided_by ?? 'unknown';
  audit({
    action: 'APPROVAL_DECISION',
    actor: by.slice(0, 200),
    target: a.id.slice(0, 200),
    agent: a.agent,
    responsible: by.slice(0, 200),
    accountable: (a.approvers[0] ?? by).slice(0, 200),
    consulted: a.approvers.slice(1, 16),
    informed: ['Audit Log'],
    correlationId: a.session_id,
    outcome: a.status === 'rejected' ? 'refused' : 'ok',
    payload: { reason: a.reason ?? null, input: a.input ?? null },
    details: { session_id: a.session_id, node: a.node, action: a.action.slice(0, 500), status: a.status, decision: a.decision ?? null, source: a.source ?? null },
  }).catch((e: unknown) => log.warn({ err: e, approval: a.id }, 'could not record a decision in the audit log'));
}
