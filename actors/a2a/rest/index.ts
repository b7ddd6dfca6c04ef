/** The REST (HTTP+JSON) binding of A2A 1.0, mounted in fastify under `/a2a/:agent/v1`. */
export { registerRestRoutes, REST_BASE, type RestRouteDeps } from './routes.js';
export { RestOperations, type RestAnswer } from './operations.js';
