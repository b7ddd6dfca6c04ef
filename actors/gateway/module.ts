import { TroupeError } from '../../protocol/index.js';
import type { NodeModule } from '../modules/index.js';
import { GatewayActor } from './gateway-actor.js';

/** The gateway module's name: other modules find the gateway actor by it. */
export const GATEWAY_MODULE = 'gateway';

/**
 * The gateway actor as a module (`/system/gateway`); its API is the {@link GatewayActor}.
 * Modules that own a kind of target (agents) register a resolver on it when they start.
 *
 * @example
 * const gateway = host.module<GatewayActor>(GATEWAY_MODULE);
 * gateway.addResolver('agent', (name) => registry.target(name));
 */
export function gatewayModule(): NodeModule<GatewayActor> {
  return {
    name: GATEWAY_MODULE,
    start: (host) => {
      const gateway = new GatewayActor(host);
      return {
        api: gateway,
        // after the actors stopped: a run nobody can answer any more fails now, not at its timeout
        release: () => gateway.closeAll(new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the node closed before the run finished')),
      };
    },
  };
}
