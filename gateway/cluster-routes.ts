import type { FastifyInstance } from 'fastify';
import type { GatewayHost } from '../actors/index.js';

/** `GET /api/v1/cluster` (membership) and `GET /api/v1/actors` (the supervision tree). */
export function registerClusterRoutes(app: FastifyInstance, host: Pick<GatewayHost, 'id' | 'clusterInfo' | 'actors'>): void {
  app.get('/api/v1/cluster', async () => host.clusterInfo());
  app.get('/api/v1/actors', async () => ({ node: host.id, tree: host.actors() }));
}
