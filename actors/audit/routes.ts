import { z } from 'zod';
import { TroupeError, describeIssues } from '../../protocol/index.js';
import type { RouteTable } from '../modules/index.js';
import type { AuditApi } from './audit-log.js';
import { AUDIT_MAX_PAGE_SIZE, auditQueryOf } from './query.js';

const time = z.union([z.coerce.number().int().nonnegative(), z.iso.datetime({ offset: true }).transform((v) => Date.parse(v))]);
const listQuery = z.strictObject({
  action: z.string().min(1).max(64).optional(),
  agent: z.string().min(1).max(200).optional(),
  correlation_id: z.string().min(1).max(200).optional(),
  from: time.optional(),
  to: time.optional(),
  after: z.coerce.number().int().nonnegative().optional(),
  limit: z.coerce.number().int().min(1).max(AUDIT_MAX_PAGE_SIZE).default(100),
});
const verifyQuery = z.strictObject({ peers: z.enum(['true', 'false']).default('true'), deep: z.enum(['true', 'false']).default('false') });

function parse<S extends z.ZodType>(schema: S, v: unknown): z.output<S> {
  const r = schema.safeParse(v ?? {});
  if (!r.success) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `invalid query: ${describeIssues(r.error)}`);
  return r.data;
}

/**
 * `GET /api/v1/audit` (`{ records, next? }`, filters action, agent, correlation_id, from, to,
 * paged by `after`) and `GET /api/v1/audit/verify` (`{ ok, checked, first_bad_seq?, ... }`,
 * checked also against the checkpoints peers witnessed unless `peers=false`).
 */
export function registerAuditRoutes(table: RouteTable, audit: AuditApi, peerCheckpoints: () => Promise<unknown[]>): void {
  table.route({
    method: 'GET', url: '/api/v1/audit',
    handler: async (req) => {
      const q = parse(listQuery, req.query);
      return audit.query(auditQueryOf(q));
    },
  });
  table.route({
    method: 'GET', url: '/api/v1/audit/verify',
    handler: async (req, reply) => {
      const q = parse(verifyQuery, req.query);
      const extra = q.peers === 'true' ? await peerCheckpoints() : [];
      const v = audit.verify(extra as never, { deep: q.deep === 'true' });
      return reply.code(200).send(v);
    },
  });
}
