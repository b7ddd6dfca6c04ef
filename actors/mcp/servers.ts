import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { TroupeError, parseOrThrow } from '../../protocol/index.js';
import type { AgentTool, ToolSource } from '../agent/index.js';
import type { ModuleHost } from '../modules/index.js';
import { MAX_MCP_SERVERS, MCP_SERVER_NAME_RE, mcpServerSchema, type McpServerConfig } from './config.js';
import { McpConnection, type McpServerStatus } from './connection.js';
import { McpCall } from './messages.js';
import type { McpMetrics } from './metrics.js';
import { resultText } from './result-text.js';
import type { McpToolInfo } from './session.js';

/** Time the ask to a connection actor gets beyond the call's own limit (the call's timeout fires first). */
const ASK_MARGIN_MS = 2_000;

/**
 * The name the model sees for a server's tool: `<server>__<tool>`, with characters outside
 * [A-Za-z0-9_-] made `_`, at most 64 characters.
 *
 * @example agentToolName('everything', 'get-sum') // 'everything__get-sum'
 */
export function agentToolName(server: string, tool: string): string {
  return `${server}__${tool.replace(/[^A-Za-z0-9_-]/g, '_')}`.slice(0, 64);
}

/**
 * The node's MCP server connections (the mcp module's API), one supervised
 * {@link McpConnection} actor each, and the `mcp` tool source of the agents: an agent whose
 * spec lists `mcp:<server>/*` or `mcp:<server>/<tool>` gets those tools, as the server offers
 * them at the time of each run.
 *
 * @example
 * const mcp = node.module<McpServers>(MCP_MODULE);
 * mcp.add({ name: 'memory', command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'] });
 * node.spawnAgent({ name: 'archivist', tools: ['mcp:memory/*'] });
 */
export class McpServers implements ToolSource {
  private readonly conns = new Map<string, McpConnection>();
  private closed = false;

  constructor(
    private readonly host: ModuleHost,
    private readonly metrics: McpMetrics,
    private readonly random: () => number = Math.random,
  ) {}

  /** Connect to a server (validated; the connection comes up in the background). */
  add(input: unknown): McpServerStatus {
    if (this.closed) throw new TroupeError('TROUPE_ERR_NODE_CLOSED', 'the node is closing');
    const cfg: McpServerConfig = parseOrThrow(mcpServerSchema, input, 'TROUPE_ERR_MCP_INVALID_SERVER', 'invalid MCP server');
    if (this.conns.has(cfg.name)) throw new TroupeError('TROUPE_ERR_MCP_SERVER_EXISTS', `an MCP server named ${cfg.name} already exists`);
    if (this.conns.size >= MAX_MCP_SERVERS) throw new TroupeError('TROUPE_ERR_MCP_LIMIT', `at most ${MAX_MCP_SERVERS} MCP servers per node`);
    const conn = new McpConnection(cfg, this.host, this.metrics, this.random);
    this.conns.set(cfg.name, conn);
    return conn.status();
  }

  /** Disconnect and forget a server (its process is ended). */
  async remove(name: string): Promise<void> {
    const conn = this.connection(name);
    this.conns.delete(name);
    await this.host.stop(conn.ref);
    this.metrics.remove(name);
  }

  list(): McpServerStatus[] {
    return [...this.conns.values()].map((c) => c.status()).sort((a, b) => a.name.localeCompare(b.name));
  }

  get(name: string): McpServerStatus {
    return this.connection(name).status();
  }

  /** A connection by name; TROUPE_ERR_MCP_SERVER_NOT_FOUND when there is none. */
  connection(name: string): McpConnection {
    const c = MCP_SERVER_NAME_RE.test(name) ? this.conns.get(name) : undefined;
    if (!c) throw new TroupeError('TROUPE_ERR_MCP_SERVER_NOT_FOUND', `no MCP server named ${name.slice(0, 64)}`);
    return c;
  }

  /**
   * Call a tool of a server. Resolves with the `tools/call` result (an `isError` result
   * included); rejects with TROUPE_ERR_MCP_SERVER_DOWN at once when the server is not
   * connected, TROUPE_ERR_MCP_CALL_TIMEOUT past the limit (default: the server's
   * `callTimeoutMs`), TROUPE_ERR_AGENT_CANCELLED when `signal` aborts.
   */
  async callTool(server: string, tool: string, args: Record<string, unknown>, options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<CallToolResult> {
    const conn = this.connection(server);
    const timeoutMs = Math.min(options.timeoutMs ?? conn.config.callTimeoutMs, conn.config.callTimeoutMs);
    return this.host.ask<CallToolResult>(conn.ref, new McpCall(tool, args, timeoutMs, options.signal), { timeoutMs: timeoutMs + ASK_MARGIN_MS });
  }

  /** The `mcp` tool source: `<server>/*` or `<server>/<tool>` to the tools the server offers now. */
  resolve(ref: string): AgentTool[] {
    const slash = ref.indexOf('/');
    const server = slash < 0 ? ref : ref.slice(0, slash);
    const which = slash < 0 ? '*' : ref.slice(slash + 1);
    const conn = this.conns.get(server);
    if (!conn) return [];
    const tools = which === '*' ? conn.tools : conn.tools.filter((t) => t.name === which);
    return tools.map((t) => this.agentTool(conn, t));
  }

  /** End every connection (the node is closing). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.conns.keys()].map((n) => this.remove(n).catch(() => undefined)));
  }

  private agentTool(conn: McpConnection, t: McpToolInfo): AgentTool<Record<string, unknown>> {
    const server = conn.config.name;
    return {
      name: agentToolName(server, t.name),
      description: t.description ?? `${t.name} (MCP server ${server})`,
      inputSchema: t.inputSchema,
      // the MCP call's own limit answers first, with its coded error
      timeoutMs: conn.config.callTimeoutMs + ASK_MARGIN_MS * 2,
      execute: async (args, ctx) => {
        let result: CallToolResult;
        try {
          result = await this.callTool(server, t.name, args, { signal: ctx.signal });
        } catch (e) {
          // the model reads the code too (the tool loop reports every throw as TOOL_FAILED)
          if (e instanceof TroupeError && e.code !== 'TROUPE_ERR_AGENT_CANCELLED') throw new TroupeError(e.code, `${e.code}: ${e.message}`, { cause: e });
          throw e;
        }
        const text = resultText(result);
        // the tool's own error goes back to the model as the tool result, like a throw
        if (result.isError === true) throw new Error(text.slice(0, 4000) || 'the MCP tool reported an error');
        return text;
      },
    };
  }
}
