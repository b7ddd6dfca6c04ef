import { TroupeError } from '../../protocol/index.js';
import type { RouteTable } from '../modules/index.js';
import type { McpServers } from './servers.js';

function nameOf(params: unknown): string {
  const name = (params as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : '';
}

/**
 * `GET /api/v1/mcp-servers` (every connection's status), `POST /api/v1/mcp-servers` (connect
 * to one; 201 with its status while it connects), `GET /api/v1/mcp-servers/:name` (state,
 * tools, call counts and latency) and `DELETE /api/v1/mcp-servers/:name` (disconnect; a stdio
 * server's process ends). A POSTed server makes the node connect to a URL or start a process
 * that the caller names, so POST adds only what the node allows (`apiServers`: `none` by
 * default, `http`, or `all`).
 */
export function registerMcpServerRoutes(table: RouteTable, servers: McpServers, options: { apiServers: 'none' | 'http' | 'all' }): void {
  table.route({
    method: 'GET', url: '/api/v1/mcp-servers',
    handler: async () => ({ servers: servers.list() }),
  });
  table.route({
    method: 'POST', url: '/api/v1/mcp-servers',
    handler: async (req, reply) => {
      const body = req.body as { transport?: unknown } | undefined;
      const http = typeof body === 'object' && body !== null && body.transport === 'http';
      if (options.apiServers === 'none' || (!http && options.apiServers !== 'all')) {
        const what = http ? 'connect to MCP servers' : 'start MCP server processes';
        throw new TroupeError('TROUPE_ERR_MCP_FORBIDDEN', `this node does not ${what} on request (mcp.apiServers is ${options.apiServers}); list servers in the config file instead`);
      }
      return reply.code(201).send(servers.add(body));
    },
  });
  table.route({
    method: 'GET', url: '/api/v1/mcp-servers/:name',
    handler: async (req) => servers.get(nameOf(req.params)),
  });
  table.route({
    method: 'DELETE', url: '/api/v1/mcp-servers/:name',
    handler: async (req) => {
      const name = nameOf(req.params);
      await servers.remove(name);
      return { name, deleted: true };
    },
  });
}
