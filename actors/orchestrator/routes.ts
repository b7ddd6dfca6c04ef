import { z } from 'zod';
import { TroupeError, describeIssues } from '../../protocol/index.js';
import type { RouteTable } from '../modules/index.js';
import type { Orchestrator } from './orchestrator.js';
import { SESSION_STATUSES } from './session-state.js';

const listQuery = z.object({
  status: z.enum(SESSION_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(1_000).optional(),
}).loose();
const approvalQuery = z.object({ status: z.enum(['pending', 'escalated', 'approved', 'rejected', 'modified']).optional() }).loose();
/** Idempotency keys: printable ASCII, 1-255 characters. */
const keySchema = z.string().regex(/^[\x21-\x7e]{1,255}$/, 'Idempotency-Key: 1-255 printable ASCII characters');
const userSchema = z.string().regex(/^[\x20-\x7e]{1,200}$/, 'x-troupe-user: 1-200 printable ASCII characters');

function parse<T>(schema: z.ZodType<T>, v: unknown, param: string): T {
  const r = schema.safeParse(v);
  if (!r.success) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', describeIssues(r.error, param), { details: { param } });
  return r.data;
}

function header(req: { headers: Record<string, string | string[] | undefined> }, name: string): string | undefined {
  const h = req.headers[name];
  return Array.isArray(h) ? h[0] : h;
}

/**
 * The sessions and approvals API (under /v1, so errors come in the OpenAI envelope):
 * `GET /v1/sessions`, `GET|DELETE /v1/sessions/:id`, `GET /v1/approvals`,
 * `GET|POST /v1/approvals/:id` (the POST takes an `Idempotency-Key` header).
 */
export function orchestratorRoutes(table: RouteTable, o: Orchestrator): void {
  table.route({
    method: 'GET', url: '/v1/sessions', handler: async (req) => {
      const q = parse(listQuery, req.query ?? {}, 'query');
      return { object: 'list', data: o.list({ ...(q.status ? { status: q.status } : {}), ...(q.limit ? { limit: q.limit } : {}) }) };
    },
  });
  table.route({ method: 'GET', url: '/v1/sessions/:id', handler: async (req) => o.get(req.params.id) });
  table.route({ method: 'DELETE', url: '/v1/sessions/:id', handler: async (req) => o.cancel(req.params.id) });
  table.route({
    method: 'GET', url: '/v1/approvals', handler: async (req) => {
      const q = parse(approvalQuery, req.query ?? {}, 'query');
      return { object: 'list', data: o.listApprovals(q.status ? { status: q.status } : {}) };
    },
  });
  table.route({ method: 'GET', url: '/v1/approvals/:id', handler: async (req) => o.getApproval(req.params.id) });
  table.route({
    method: 'POST', url: '/v1/approvals/:id', handler: async (req) => {
      const k = header(req, 'idempotency-key');
      const u = header(req, 'x-troupe-user');
      const key = k === undefined ? undefined : parse(keySchema, k, 'Idempotency-Key');
      const by = u === undefined ? 'api' : parse(userSchema, u, 'x-troupe-user');
      return o.decide(req.params.id, req.body, { ...(key !== undefined ? { key } : {}), by, source: 'http' });
    },
  });
}
