/**
 * The gateway actor: the one place where a protocol request (OpenAI, the agents API, later
 * A2A and MCP) becomes actor messages, with one run protocol for local and remote targets.
 */
export { GatewayActor, type TargetResolver, type GatewayActorHost } from './gateway-actor.js';
export {
  GatewayStream, GatewayRequest, GatewayCancel, gatewayMessageSchema, describeTarget,
  type GatewayMessage, type GatewayTarget,
} from './messages.js';
export type { GatewayHost, ClusterView, AgentsView } from './host.js';
export { gatewayModule, GATEWAY_MODULE } from './module.js';
