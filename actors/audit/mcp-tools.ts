import { z } from 'zod';
import type { McpToolDescriptor } from '../modules/index.js';
import type { AuditApi } from './audit-log.js';
import { AUDIT_MAX_PAGE_SIZE, auditQueryOf } from './query.js';

/** The audit log's MCP tools: query records and verify the chain. */
export function auditMcpTools(audit: AuditApi): McpToolDescriptor<any>[] {
  const query: McpToolDescriptor<z.infer<typeof queryInput>> = {
    name: 'audit_query',
    description: 'List RACI audit records in sequence order, filtered by action, agent, correlation id and time range (epoch ms); page with `after`.',
    input: queryInput,
    call: async (q) => audit.query(auditQueryOf(q)),
  };
  const verify: McpToolDescriptor<z.infer<typeof verifyInput>> = {
    name: 'audit_verify',
    description: "Verify this node's hash-chained audit log against its signed checkpoints; names the first bad sequence number.",
    input: verifyInput,
    call: async (v) => audit.verify([], { deep: v.deep ?? false }),
  };
  return [query, verify];
}

const queryInput = z.strictObject({
  action: z.string().min(1).max(64).optional(),
  agent: z.string().min(1).max(200).optional(),
  correlation_id: z.string().min(1).max(200).optional(),
  from: z.number().int().nonnegative().optional(),
  to: z.number().int().nonnegative().optional(),
  after: z.number().int().nonnegative().optional(),
  limit: z.number().int().min(1).max(AUDIT_MAX_PAGE_SIZE).optional(),
});
const verifyInput = z.strictObject({ deep: z.boolean().optional() });
