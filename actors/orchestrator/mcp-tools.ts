import { z } from 'zod';
import type { McpToolDescriptor } from '../modules/index.js';
import type { Orchestrator } from './orchestrator.js';
import { SESSION_STATUSES } from './session-state.js';

const id = z.string().min(1).max(200);

/**
 * Sessions and approvals as MCP tools (served by the MCP module when the node has one): list,
 * read, cancel, decide. A decision through MCP is the same message to the session actor as one
 * over HTTP, with `source: 'mcp'`.
 */
export function orchestratorMcpTools(o: Orchestrator): McpToolDescriptor<any>[] {
  const tools: McpToolDescriptor<any>[] = [
    {
      name: 'sessions_list',
      description: 'List orchestration sessions, newest first, optionally by status.',
      input: z.strictObject({ status: z.enum(SESSION_STATUSES).optional(), limit: z.number().int().min(1).max(1_000).optional() }),
      call: async (i: { status?: string; limit?: number }) => ({ sessions: o.list(i) }),
    },
    {
      name: 'session_get',
      description: 'Read one session: its DAG, node states and results, approvals.',
      input: z.strictObject({ id }),
      call: async (i: { id: string }) => o.get(i.id),
    },
    {
      name: 'session_cancel',
      description: 'Cancel a session; its running nodes are cancelled.',
      input: z.strictObject({ id }),
      call: async (i: { id: string }) => o.cancel(i.id),
    },
    {
      name: 'approvals_list',
      description: 'List approvals: open ones first, then recent decisions.',
      input: z.strictObject({ status: z.enum(['pending', 'escalated', 'approved', 'rejected', 'modified']).optional() }),
      call: async (i: { status?: string }) => ({ approvals: o.listApprovals(i) }),
    },
    {
      name: 'approval_get',
      description: 'Read one approval.',
      input: z.strictObject({ id }),
      call: async (i: { id: string }) => o.getApproval(i.id),
    },
    {
      name: 'approval_decide',
      description: 'Decide an approval (approve, reject, or modify with a new input). The first decision wins; repeating it with the same idempotency_key gets the same answer.',
      input: z.strictObject({
        id,
        decision: z.enum(['approve', 'reject', 'modify']),
        reason: z.string().max(2_000).optional(),
        input: z.string().min(1).max(8_000).optional(),
        idempotency_key: z.string().min(1).max(255).optional(),
        decided_by: z.string().min(1).max(200).optional(),
      }),
      call: async (i: { id: string; decision: string; reason?: string; input?: string; idempotency_key?: string; decided_by?: string }) => o.decide(i.id, {
        decision: i.decision, ...(i.reason !== undefined ? { reason: i.reason } : {}), ...(i.input !== undefined ? { input: i.input } : {}),
      }, { ...(i.idempotency_key !== undefined ? { key: i.idempotency_key } : {}), by: i.decided_by ?? 'mcp', source: 'mcp' }),
    },
  ];
  return tools;
}
