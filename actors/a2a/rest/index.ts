/** The REST (HTTP+JSON) bindings of A2A 1.0 and 0.3, mounted in fastify under `/a2a/:agent/v1` (picked by `A2A-Version`). */
export { registerRestRoutes, REST_BASE, type RestRouteDeps } from './routes.js';
export { RestOperations, type RestAnswer } from './operations.js';
