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
import { createNode, type ClusterOptionsInput, type NodeOptionsInput, type TroupeNode } from './actors/troupe-node.js';
import { startGateway, type GatewayOptionsInput } from './gateway/index.js';
import type { AgentSpecInput, AgentTool } from './actors/agent/index.js';

export * from './actors/index.js';
export * from './supervisors/index.js';
export { TroupeError, errorCatalog, isTroupeError, ManualClock } from './protocol/index.js';
export type { ErrorCode, Envelope, Signal, Clock } from './protocol/index.js';

export interface StartNodeOptions extends NodeOptionsInput {
  /** Cluster (WebSocket peers) options, or false/absent for a single node. */
  cluster?: ClusterOptionsInput | false;
  /** HTTP gateway options, or false for none (library use). Default: 127.0.0.1:8787. */
  http?: GatewayOptionsInput | false;
  /** Agents to spawn at start (the config file's `agents`), after the persisted ones come back. */
  agents?: AgentSpecInput[];
  /** Code tools that agent specs (HTTP-created ones included) may name; registered before any agent starts. */
  tools?: AgentTool[];
}

/** A running node, with its gateway URL when it serves HTTP. */
export type RunningNode = TroupeNode & { http?: { url: string }; peer?: { url: string } };

/**
 * Start a node: storage (with `dataDir`), the actor kernel, the cluster transport (with
 * `cluster`) and, unless `http: false`, the HTTP gateway.
 */
export async function startNode(options: StartNodeOptions = {}): Promise<RunningNode> {
  const { http, cluster, agents, tools, ...nodeOptions } = options;
  const node = (await createNode(nodeOptions)) as RunningNode;
  try {
    // Agents first: durable messages and requests that arrive once peers and HTTP are up find them.
    for (const t of tools ?? []) node.agents.registerTool(t);
    node.agents.restore();
    for (const spec of agents ?? []) {
      if (spec && typeof spec === 'object' && typeof spec.name === 'string' && node.agents.get(spec.name)) {
        node.logger.warn({ agent: spec.name }, 'an agent created over HTTP has the name of a config agent; keeping the persisted one');
        continue;
      }
      node.agents.spawn(spec);
    }
    if (cluster) node.peer = await node.startCluster(cluster);
    if (http !== false) node.http = { url: (await startGateway(node, http ?? {})).url };
  } catch (e) {
    await node.close();
    throw e;
  }
  return node;
}
