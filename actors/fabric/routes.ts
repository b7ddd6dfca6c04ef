import type { RouteTable } from '../modules/index.js';
import type { FabricApi } from './fabric.js';

/**
 * The fabric routes (seed 000 §7.3): `GET /api/v1/fabric/context`, `POST /api/v1/fabric/preset`
 * `{ preset }`, `GET /api/v1/fabric/planes` (`{ planes }` with health and breaker state) and
 * `POST /api/v1/fabric/actions` (route and execute). Errors are coded TroupeErrors.
 */
export function registerFabricRoutes(table: RouteTable, fabric: FabricApi): void {
  table.route({ method: 'GET', url: '/api/v1/fabric/context', handler: async () => fabric.context() });
  table.route({ method: 'POST', url: '/api/v1/fabric/preset', handler: async (req) => fabric.setPreset(req.body) });
  table.route({ method: 'GET', url: '/api/v1/fabric/planes', handler: async () => ({ planes: fabric.planes() }) });
  table.route({
    method: 'POST', url: '/api/v1/fabric/actions',
    handler: async (req) => fabric.execute((req.body ?? {}) as never),
  });
}
