import { TroupeError } from '../../protocol/index.js';
import type { RouteTable } from '../modules/index.js';
import type { KillSwitchApi } from './switchboard.js';

/** Who made the request, for the log: the API key id, or the caller's address when keys are off. */
function caller(req: { apiKeyId?: string; ip?: string }): string {
  return req.apiKeyId !== undefined ? `key:${req.apiKeyId}` : `ip:${req.ip ?? 'unknown'}`;
}

/**
 * `POST /api/v1/killswitch` (engage: 200 with the switch, the agents it covers and how many
 * runs were cancelled), `GET /api/v1/killswitch` (engaged switches), `DELETE
 * /api/v1/killswitch` (release; scope and target in the body or the query).
 */
export function registerKillSwitchRoutes(table: RouteTable, api: KillSwitchApi): void {
  table.route({
    method: 'POST', url: '/api/v1/killswitch',
    handler: async (req) => api.engage(req.body ?? {}, caller(req)),
  });
  table.route({
    method: 'GET', url: '/api/v1/killswitch',
    handler: async () => ({ switches: api.list() }),
  });
  table.route({
    method: 'DELETE', url: '/api/v1/killswitch',
    handler: async (req) => {
      const body = req.body && typeof req.body === 'object' && Object.keys(req.body).length > 0 ? req.body : { ...(req.query ?? {}) };
      if (!(await api.release(body, caller(req)))) throw new TroupeError('TROUPE_ERR_KILLSWITCH_NOT_FOUND', 'no engaged kill switch with that scope and target');
      return { released: true };
    },
  });
}
