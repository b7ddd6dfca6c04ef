/**
 * MCP client: agents use the tools of MCP servers through supervised connection actors.
 * config.ts (server configs), session.ts (one SDK client session), connection.ts (the
 * connection actor), messages.ts, servers.ts (the module's API and the `mcp` tool source),
 * result-text.ts (tool results as model text), metrics.ts, routes.ts, module.ts.
 */
export { mcpModule, MCP_MODULE, type McpModuleOptions } from './module.js';
export { McpServers, agentToolName } from './servers.js';
export { McpConnection, type McpServerStatus, type McpConnectionState } from './connection.js';
export { mcpServerSchema, MCP_SERVER_NAME_RE, MAX_MCP_SERVERS, type McpServerConfig, type McpServerConfigInput } from './config.js';
export { resultText } from './result-text.js';
