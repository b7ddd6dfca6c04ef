import type { TroupeNode } from '../actors/troupe-node.js';
import { createServer, gatewayOptionsSchema, type GatewayOptionsInput } from './server.js';
import { TroupeError } from '../protocol/index.js';
import { registerClusterRoutes } from './cluster-routes.js';

export { gatewayOptionsSchema, isLoopbackHost } from './server.js';
export type { GatewayOptionsInput, GatewayOptions } from './server.js';

/** A listening gateway. */
export interface Gateway {
  url: string;
  close(): Promise<void>;
}

/**
 * Serve the HTTP gateway for a node. It closes with the node (first, so in-flight requests
 * drain before actors stop).
 */
export async function startGateway(node: TroupeNode, input: GatewayOptionsInput = {}): Promise<Gateway> {
  const parsed = gatewayOptionsSchema.safeParse(input);
  if (!parsed.success) {
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', `invalid gateway options: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  const options = Object.freeze(parsed.data);
  const { app, readiness } = createServer(options, node.logger, node.id);
  registerClusterRoutes(app, node);
  await app.listen({ host: options.host, port: options.port });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  readiness.state = 'ready';
  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => (closing ??= (async () => {
    readiness.state = 'draining';
    await app.close();
  })());
  node.onClose('gateway', close);
  return { url: `http://${host}:${port}`, close };
}
