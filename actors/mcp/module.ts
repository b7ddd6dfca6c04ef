import { parseOrThrow } from '../../protocol/index.js';
import { z } from 'zod';
import type { AgentRegistry } from '../agent/index.js';
import type { NodeModule } from '../modules/index.js';
import { MAX_MCP_SERVERS } from './config.js';
import { McpMetrics } from './metrics.js';
import { registerMcpServerRoutes } from './routes.js';
import { McpServers } from './servers.js';
import { mcpClientTools } from './mcp-tools.js';

/** The mcp module's name: `node.module<McpServers>(MCP_MODULE)`. */
export const MCP_MODULE = 'mcp';

const optionsSchema = z.strictObject({
  /** MCP servers to connect to at start (the config file's `mcpServers`); each validated when added. */
  servers: z.array(z.unknown()).max(MAX_MCP_SERVERS).default([]),
  /**
   * What `POST /api/v1/mcp-servers` may add: `none` (default), `http` (Streamable HTTP servers:
   * the node then connects to URLs an API-key holder names) or `all` (stdio too: the node
   * then starts processes an API-key holder names).
   */
  apiServers: z.enum(['none', 'http', 'all']).default('none'),
  /** Jitter source of the reconnect backoff (tests make it fixed). */
  random: z.custom<() => number>((v) => typeof v === 'function').optional(),
});

/** What the mcp module starts with. */
export type McpModuleOptions = z.input<typeof optionsSchema>;

/**
 * MCP tools for agents as a node module: one supervised connection actor per MCP server
 * (stdio or Streamable HTTP), the `mcp:<server>/*` tool names of agent specs, routes under
 * `/api/v1/mcp-servers` and the `troupe_mcp_*` series on /metrics. Start it after the
 * agents module (it registers the `mcp` tool source with it).
 *
 * @example
 * const node = await startNode({ mcpServers: [{ name: 'memory', command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'] }] });
 * node.spawnAgent({ name: 'archivist', tools: ['mcp:memory/*'] });
 */
export function mcpModule(options: McpModuleOptions = {}): NodeModule<McpServers> {
  const o = parseOrThrow(optionsSchema, options, 'TROUPE_ERR_CONFIG_INVALID', 'invalid mcp options');
  return {
    name: MCP_MODULE,
    start: (host) => {
      const metrics = new McpMetrics(host.id);
      const servers = new McpServers(host, metrics, o.random ?? Math.random);
      if (host.hasModule('agents')) host.module<AgentRegistry>('agents').registerToolSource('mcp', servers);
      for (const s of o.servers) servers.add(s);
      return {
        api: servers,
        routes: (table) => registerMcpServerRoutes(table, servers, { apiServers: o.apiServers }),
        metrics: () => metrics.registry.metrics(),
        mcpTools: mcpClientTools(servers),
        drain: () => servers.close(),
      };
    },
  };
}
