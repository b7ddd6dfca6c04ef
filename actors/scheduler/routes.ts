import type { RouteTable } from '../modules/index.js';
import type { Scheduler } from './scheduler.js';

/**
 * The scheduler's REST routes (seed 000 §7.2). Errors are thrown as coded TroupeErrors; the
 * gateway's error handler answers them as `{ error: { code, message } }`.
 */
export function schedulerRoutes(table: RouteTable, s: Scheduler): void {
  table.route({ method: 'POST', url: '/api/v1/aoa/jobs', handler: async (req, reply) => reply.code(201).send(await s.create(req.body)) });
  table.route({ method: 'GET', url: '/api/v1/aoa/jobs', handler: async (req) => ({ jobs: s.list({ status: typeof req.query?.status === 'string' ? req.query.status : undefined }) }) });
  table.route({ method: 'GET', url: '/api/v1/aoa/jobs/:id', handler: async (req) => s.get(req.params.id) });
  table.route({ method: 'POST', url: '/api/v1/aoa/jobs/:id/pause', handler: async (req) => s.pause(req.params.id, req.body) });
  table.route({ method: 'POST', url: '/api/v1/aoa/jobs/:id/resume', handler: async (req) => s.resume(req.params.id, req.body) });
  table.route({ method: 'POST', url: '/api/v1/aoa/jobs/:id/trigger', handler: async (req) => s.trigger(req.params.id) });
  table.route({ method: 'POST', url: '/api/v1/aoa/jobs/:id/backfill', handler: async (req) => s.backfill(req.params.id, req.body) });
  table.route({ method: 'DELETE', url: '/api/v1/aoa/jobs/:id', handler: async (req) => { await s.remove(req.params.id); return { id: req.params.id, deleted: true }; } });
  table.route({ method: 'GET', url: '/api/v1/aoa/scheduler/stats', handler: async () => s.stats() });
}
