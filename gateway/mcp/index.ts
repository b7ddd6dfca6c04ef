/** troupe as an MCP server: tools.ts (the tools, one `McpServer` per session), routes.ts (`/mcp`, Streamable HTTP). */
export { buildTroupeMcpServer, type McpServerDeps } from './tools.js';
export { registerMcpEndpoint, type McpEndpoint, type McpRouteOptions } from './routes.js';
