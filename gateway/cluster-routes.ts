import type { FastifyInstance } from 'fastify';
import type { TroupeNode } from '../actors/troupe-node.js';

/** `GET /api/v1/cluster` (membership) and `GET /api/v1/actors` (the supervision tree). */
export function registerClusterRoutes(app: FastifyInstance, node: TroupeNode): void {
  app.get('/api/v1/cluster', async () => node.clusterInfo());
  app.get('/api/v1/actors', async () => ({ node: node.id, tree: node.actors() }));
}
