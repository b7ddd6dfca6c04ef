import type { Logger } from 'pino';
import type { AgentSpecInput, McpServerConfigInput, OrchestratorModuleOptions, StartNodeOptions } from '../index.js';
import { peerTls, type CliConfig } from './config.js';

/**
 * The `startNode` options a CLI config gives every command that runs a node (`troupe start`,
 * `troupe mcp`): identity, storage, modules and the cluster; the caller adds its own `http`.
 * `alwaysCluster`: open the peer port even with no seeds (start does; mcp only joins seeds).
 */
export function nodeOptionsOf(config: CliConfig, logger: Logger, alwaysCluster: boolean): StartNodeOptions {
  const clusterTls = peerTls(config);
  return {
    ...(config.node ? { id: config.node } : {}),
    dataDir: config.data,
    ...(config.dataKey ? { dataKey: config.dataKey } : {}),
    logger,
    agents: config.agents as AgentSpecInput[],
    ...(config.agentPassivateAfterMs !== undefined ? { agentPassivateAfterMs: config.agentPassivateAfterMs } : {}),
    allowDrills: config.allowDrills,
    mcpServers: config.mcpServers as McpServerConfigInput[],
    mcp: config.mcp,
    ...(config.audit ? { audit: config.audit } : {}),
    ...(config.fabric ? { fabric: config.fabric as never } : {}),
    orchestrator: config.orchestrator as OrchestratorModuleOptions,
    ...(config.pii ? { pii: config.pii as never } : {}),
    ...(config.externalAgents ? { externalAgents: config.externalAgents as never } : {}),
    ...(config.a2a ? { a2a: config.a2a as never } : {}),
    ...(alwaysCluster || config.peers.length > 0 ? {
      cluster: {
        host: config.host,
        port: config.peerPort,
        seeds: config.peers,
        clusterName: config.clusterName,
        heartbeatMs: config.heartbeatMs,
        ...(config.clusterSecret ? { secret: config.clusterSecret } : {}),
        // the transport's `tls: { cert, key, ca?, mutual? }` (PEM strings)
        ...(clusterTls ? { tls: clusterTls } : {}),
      },
    } : {}),
  };
}
