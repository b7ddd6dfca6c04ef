import type { Logger } from 'pino';
import type { Clock } from '../../protocol/index.js';
import type { ActorTreeNode } from '../kernel/index.js';
import type { InspectionListener } from '../kernel/index.js';
import type { McpToolDescriptor, RouteTable } from '../modules/index.js';
import type { GatewayActor } from './gateway-actor.js';

/** `{ self, members: [{ node, peer, status }] }`, the node itself included. */
export interface ClusterView {
  self: string;
  members: Array<{ node: string; peer: string; status: 'up' | 'suspect' | 'down' }>;
}

/** What metrics read of the agents (when the node runs the agents module). */
export interface AgentsView {
  list(): Array<{ name: string; status: string; passivated?: boolean }>;
  /** A local agent's status (memory held included), asked of the agent within `timeoutMs`. */
  status(name: string, timeoutMs?: number): Promise<import('../agent/index.js').AgentStatus>;
  readonly events: { subscribe(listener: (e: import('../agent/index.js').AgentEvent) => void): () => void };
}

/**
 * The narrow part of a node the HTTP gateway (gateway/) depends on: never the node class
 * nor any module's class. Requests become commands to `gateway` (the gateway actor);
 * everything else here is read-only state for health, cluster and metrics routes.
 */
export interface GatewayHost {
  readonly id: string;
  readonly logger: Logger;
  /** The node's clock (auth throttling windows run on it). */
  readonly clock: Clock;
  /** The gateway actor. */
  readonly gateway: GatewayActor;
  /** The agents, for metrics; undefined on a node without the agents module. */
  readonly agentsView: AgentsView | undefined;
  /** Run `close` when the node closes, before its actors stop (the gateway drains first). */
  onClose(name: string, close: () => Promise<void> | void): void;
  inspect(listener: InspectionListener): () => void;
  /** The supervision tree. */
  actors(): ActorTreeNode[];
  clusterInfo(): ClusterView;
  deadLetterCount(): number;
  /** The modules' own Prometheus series, appended to `GET /metrics`. */
  moduleMetrics?(): Promise<string>;
  /** The MCP tools the node's modules contribute (served at `/mcp` and by `troupe mcp`). */
  mcpTools?(): McpToolDescriptor[];
  /** Mount the HTTP routes the node's modules contribute. */
  mountModuleRoutes(table: RouteTable): void;
  /** A module's API by name (the gateway finds optional modules, e.g. the orchestrator, by it). */
  module?<A>(name: string): A;
  hasModule?(name: string): boolean;
}
