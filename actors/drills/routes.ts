import { TroupeError } from '../../protocol/index.js';
import type { RouteTable } from '../modules/index.js';
import type { DrillContext, DrillsApi } from './runner.js';

const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

function drillId(params: unknown): string {
  const id = (params as { id?: unknown } | undefined)?.id;
  if (typeof id !== 'string' || !ID_RE.test(id)) throw new TroupeError('TROUPE_ERR_DRILL_NOT_FOUND', 'no drill with that id');
  return id;
}

/** The API key the caller presented (`Authorization: Bearer` or `x-api-key`): the slow-client drill's clients present it too. */
function callerKey(headers: Record<string, unknown> | undefined): DrillContext {
  const auth = headers?.['authorization'];
  if (typeof auth === 'string' && /^Bearer\s+\S+$/i.test(auth)) return { apiKey: auth.replace(/^Bearer\s+/i, '') };
  const x = headers?.['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? { apiKey: x } : {};
}

/**
 * `POST /api/v1/drills` (start; 202 with the running report), `GET /api/v1/drills` (reports,
 * newest first), `GET /api/v1/drills/:id`, `DELETE /api/v1/drills/:id` (abort) and
 * `DELETE /api/v1/drills` (the off switch: abort all, refuse new ones until restart).
 */
export function registerDrillRoutes(table: RouteTable, api: DrillsApi): void {
  table.route({
    method: 'POST', url: '/api/v1/drills',
    handler: async (req, reply) => reply.code(202).send(api.start(req.body ?? {}, callerKey(req.headers))),
  });
  table.route({
    method: 'GET', url: '/api/v1/drills',
    handler: async () => ({ enabled: api.enabled, drills: api.list() }),
  });
  table.route({
    method: 'GET', url: '/api/v1/drills/:id',
    handler: async (req) => {
      const r = api.get(drillId(req.params));
      if (!r) throw new TroupeError('TROUPE_ERR_DRILL_NOT_FOUND', 'no drill with that id');
      return r;
    },
  });
  table.route({
    method: 'DELETE', url: '/api/v1/drills/:id',
    handler: async (req) => {
      const id = drillId(req.params);
      if (!api.get(id)) throw new TroupeError('TROUPE_ERR_DRILL_NOT_FOUND', 'no drill with that id');
      return { id, aborted: api.abort(id) };
    },
  });
  table.route({
    method: 'DELETE', url: '/api/v1/drills',
    handler: async () => ({ enabled: false, aborted: api.switchOff() }),
  });
}
