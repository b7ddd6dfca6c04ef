import { z } from 'zod';
import { TroupeError, describeIssues } from '../../protocol/index.js';
import { STORED_TASK_STATUSES, TASK_PRIORITIES } from '../../storage/index.js';
import type { RouteTable } from '../modules/index.js';
import type { AoaApi } from './api.js';

const listQuery = z.strictObject({
  status: z.enum(STORED_TASK_STATUSES).optional(),
  task_type: z.string().max(64).optional(),
  priority: z.enum(TASK_PRIORITIES).optional(),
  tenant_id: z.string().max(256).optional(),
  agent_id: z.string().max(256).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  after: z.string().max(128).optional(),
});
const idParam = z.object({ id: z.string().min(1).max(128) });

function parse<S extends z.ZodType>(schema: S, v: unknown, what: string): z.output<S> {
  const r = schema.safeParse(v);
  if (!r.success) throw new TroupeError('TROUPE_ERR_GATEWAY_BAD_REQUEST', `${what}: ${describeIssues(r.error)}`);
  return r.data;
}

/**
 * The task runtime's routes (seed 000 §7.1): submit, list, get, cancel, metrics, health.
 * Errors are thrown as coded TroupeErrors; the gateway answers them as `{ error: { code, message } }`.
 */
export function registerAoaRoutes(table: RouteTable, aoa: AoaApi): void {
  table.route({
    method: 'POST', url: '/api/v1/aoa/tasks',
    handler: async (req, reply) => {
      const view = await aoa.submitTask(req.body as never);
      return reply.code(201).send(view);
    },
  });
  table.route({
    method: 'GET', url: '/api/v1/aoa/tasks',
    handler: async (req) => {
      const { limit, after, ...filter } = parse(listQuery, req.query, 'invalid query');
      return aoa.listTasks(filter, { limit, ...(after !== undefined ? { after } : {}) });
    },
  });
  table.route({ method: 'GET', url: '/api/v1/aoa/tasks/:id', handler: async (req) => aoa.getTask(parse(idParam, req.params, 'invalid id').id) });
  table.route({ method: 'DELETE', url: '/api/v1/aoa/tasks/:id', handler: async (req) => aoa.cancelTask(parse(idParam, req.params, 'invalid id').id) });
  table.route({ method: 'GET', url: '/api/v1/aoa/metrics', handler: async () => aoa.metrics() });
  table.route({
    method: 'GET', url: '/api/v1/aoa/health',
    handler: async (_req, reply) => {
      const h = aoa.health();
      return reply.code(h.status === 'ok' ? 200 : 503).send(h);
    },
  });
}
