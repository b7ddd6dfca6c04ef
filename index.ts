/**
 * troupe: an actor runtime for multi-agent AI systems.
 *
 * @example
 * import { startNode } from 'troupe';
 * const node = await startNode({ id: 'n1', http: false });
 * const echo = node.spawn((_s, m, ctx) => ctx.reply(m), { name: 'echo' });
 * console.log(await node.ask(echo, 'hi'));
 * await node.close();
 */
import { TroupeError } from './protocol/index.js';
import {
  createNode, defaultModules, type AgentSpecInput, type AgentTool, type ClusterOptionsInput, type NodeOptionsInput, type TroupeNode,
} from './actors/index.js';
import { startGateway, type GatewayOptionsInput } from './gateway/index.js';

export * from './actors/index.js';
export * from './supervisors/index.js';
export { TroupeError, errorCatalog, isTroupeError, ManualClock } from './protocol/index.js';
export { buildTroupeMcpServer, type McpServerDeps } from './gateway/index.js';
export type { ErrorCode, Envelope, Signal, Clock } from './protocol/index.js';

export interface StartNodeOptions extends NodeOptionsInput {
  /** Cluster (WebSocket peers) options, or false/absent for a single node. */
  cluster?: ClusterOptionsInput | false;
  /** HTTP gateway options, or false for none (library use). Default: 127.0.0.1:8787. */
  http?: GatewayOptionsInput | false;
  /** Agents to spawn at start (the config file's `agents`), after the persisted ones come back (default modules only). */
  agents?: AgentSpecInput[];
  /** Code tools that agent specs (HTTP-created ones included) may name; registered before any agent starts (default modules only). */
  tools?: AgentTool[];
}

/** A running node, with its gateway URL when it serves HTTP. */
export type RunningNode = TroupeNode & { http?: { url: string }; peer?: { url: string } };

/**
 * Start a node: storage (with `dataDir`), the actor kernel, its modules (`modules`, default
 * every module troupe ships), the cluster transport (with `cluster`) and, unless
 * `http: false`, the HTTP gateway.
 *
 * @example
 * const node = await startNode({ id: 'n1', http: { port: 0 }, agents: [{ name: 'helper' }] });
 */
export async function startNode(options: StartNodeOptions = {}): Promise<RunningNode> {
  const { http, cluster, agents, tools, ...nodeOptions } = options;
  const { model, modelProvider, dataKey, modules, allowDrills, mcp, mcpServers, audit, fabric, orchestrator, pii, externalAgents, agentPassivateAfterMs, a2a, ...rest } = nodeOptions;
  if (modules && [agents, tools, model, modelProvider, dataKey, mcp, mcpServers, audit, fabric, orchestrator, pii, externalAgents, agentPassivateAfterMs, a2a].some((o) => o !== undefined)) {
    // they configure the default modules: next to an explicit list they would be ignored
    throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'agents, tools, model, modelProvider and dataKey configure the default modules; with `modules`, give them to agentsModule() instead');
  }
  // The agents module spawns its agents first: durable messages and requests that arrive once
  // peers and HTTP are up find them.
  const node = (await createNode({
    ...rest,
    modules: modules ?? defaultModules({
      ...(modelProvider ? { provider: modelProvider } : {}),
      ...(model ? { model } : {}),
      ...(dataKey !== undefined ? { dataKey } : {}),
      ...(tools ? { tools } : {}),
      ...(agents ? { agents } : {}),
      ...(agentPassivateAfterMs !== undefined ? { passivateAfterMs: agentPassivateAfterMs } : {}),
    }, { allow: allowDrills === true }, { mcp: { ...mcp, ...(mcpServers ? { servers: mcpServers } : {}) }, ...(audit ? { audit } : {}), ...(fabric ? { fabric } : {}), ...(orchestrator ? { orchestrator } : {}), ...(pii ? { pii } : {}), ...(externalAgents ? { externalAgents } : {}), ...(a2a ? { a2a } : {}) }),
  })) as RunningNode;
  try {
    if (cluster) node.peer = await node.startCluster(cluster);
    if (http !== false) node.http = { url: (await startGateway(node, http ?? {})).url };
  } catch (e) {
    await node.close();
    throw e;
  }
  return node;
}
