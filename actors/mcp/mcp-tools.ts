import { z } from 'zod';
import type { McpToolDescriptor } from '../modules/index.js';
import type { McpServers } from './servers.js';

/** The MCP client's own MCP tools: the node's connections to other MCP servers. */
export function mcpClientTools(servers: McpServers): McpToolDescriptor<any>[] {
  const list: McpToolDescriptor<Record<string, never>> = {
    name: 'mcp_servers',
    description: 'The MCP servers this node\'s agents use tools of: state, tools, restarts, call counts and latency.',
    input: z.object({}),
    call: async () => ({ servers: servers.list() }),
  };
  return [list];
}
