import type { Logger } from 'pino';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';
import type { McpServerConfig } from './config.js';

/** What troupe keeps of a server's tool: the model is offered the JSON Schema as it is. */
export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: Record<string, unknown>;
}

/** Longest tool description kept (some servers write essays). */
const MAX_DESCRIPTION = 2_000;
/** Lines of a child's stderr logged per session (a chatty server must not flood the log). */
const MAX_STDERR_LINES = 200;

/**
 * One live connection to an MCP server: the SDK client on a fresh transport, initialized,
 * with its first tool list. `closed` resolves when the process exits or the transport
 * closes for any reason; a session that is gone is never reused (the SDK does not
 * re-initialize by itself): the connection actor opens a new one.
 */
export interface McpSession {
  readonly client: Client;
  readonly tools: McpToolInfo[];
  /** The child's pid (stdio). */
  readonly pid: number | undefined;
  /** `streamable-http`, `sse` (the older transport, as a fallback) or `stdio`. */
  readonly kind: 'stdio' | 'streamable-http' | 'sse';
  readonly closed: Promise<void>;
  close(): Promise<void>;
}

/** A listed tool as troupe keeps it: `$schema` dropped (upstreams refuse it), `type: object` ensured, description bounded. */
export function toolInfoOf(t: Tool): McpToolInfo {
  const { $schema: _drop, ...schema } = t.inputSchema as Record<string, unknown>;
  return {
    name: t.name,
    ...(t.description ? { description: t.description.slice(0, MAX_DESCRIPTION) } : {}),
    inputSchema: { ...schema, type: 'object' },
  };
}

/** Every tool of the server (following pages), at most `max`. */
export async function listAllTools(client: Client, max: number, log: Logger, timeoutMs: number): Promise<McpToolInfo[]> {
  const out: McpToolInfo[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 64; page++) {
    const r = await client.listTools(cursor === undefined ? {} : { cursor }, { timeout: timeoutMs });
    for (const t of r.tools) out.push(toolInfoOf(t));
    cursor = r.nextCursor;
    if (!cursor || out.length >= max) break;
  }
  if (out.length > max) log.warn({ offered: out.length, kept: max }, 'MCP server offers more tools than maxTools; the rest are left out');
  return out.slice(0, max);
}

function newClient(onToolsChanged: (tools: McpToolInfo[]) => void, max: number, log: Logger): Client {
  return new Client({ name: 'troupe', version: '0.1.0' }, {
    listChanged: {
      tools: {
        onChanged: (error, tools) => {
          if (error) log.warn({ err: error }, 'MCP tool list refresh failed');
          else if (tools) onChanged(tools);
        },
      },
    },
  });
  function onChanged(tools: Tool[]): void {
    onToolsChanged(tools.slice(0, max).map(toolInfoOf));
  }
}

function closedPromise(transport: Transport): Promise<void> {
  return new Promise((resolve) => {
    const prev = transport.onclose;
    transport.onclose = () => {
      prev?.();
      resolve();
    };
  });
}

async function connect(client: Client, transport: Transport, timeoutMs: number): Promise<{ closed: Promise<void> }> {
  await client.connect(transport, { timeout: timeoutMs });
  // Client.connect set its own onclose: chain ours after it
  return { closed: closedPromise(transport) };
}

/**
 * Open a session with the server the config names: spawn it (stdio) or open a Streamable HTTP
 * session (falling back to HTTP+SSE when the server answers the initialize POST with a 4xx),
 * initialize and list its tools. `onToolsChanged` gets the new list on
 * `notifications/tools/list_changed`.
 *
 * @example
 * const s = await openSession(mcpServerSchema.parse({ name: 'memory', command: 'npx', args: ['-y', '@modelcontextprotocol/server-memory'] }), log, (tools) => log.info({ n: tools.length }));
 * await s.client.callTool({ name: 'read_graph', arguments: {} });
 */
export async function openSession(cfg: McpServerConfig, log: Logger, onToolsChanged: (tools: McpToolInfo[]) => void, onLost: (reason: string) => void = () => undefined): Promise<McpSession> {
  const timeout = cfg.connectTimeoutMs;
  if (cfg.transport === 'stdio') {
    const transport = new StdioClientTransport({
      command: cfg.command, args: cfg.args, env: cfg.env, ...(cfg.cwd ? { cwd: cfg.cwd } : {}), stderr: 'pipe',
    });
    forwardStderr(transport, log);
    const client = newClient(onToolsChanged, cfg.maxTools, log);
    try {
      const { closed } = await connect(client, transport, timeout);
      const tools = await listAllTools(client, cfg.maxTools, log, timeout);
      return { client, tools, pid: transport.pid ?? undefined, kind: 'stdio', closed, close: () => client.close() };
    } catch (e) {
      await client.close().catch(() => undefined);
      throw e;
    }
  }
  const url = new URL(cfg.url);
  const requestInit = { headers: cfg.headers };
  let client = newClient(onToolsChanged, cfg.maxTools, log);
  let kind: McpSession['kind'] = 'streamable-http';
  let closed: Promise<void>;
  try {
    ({ closed } = await connect(client, new StreamableHTTPClientTransport(url, { requestInit }), timeout));
  } catch (e) {
    await client.close().catch(() => undefined);
    if (!(e instanceof StreamableHTTPError) || e.code === undefined || e.code < 400 || e.code >= 500) throw e;
    // an older server (protocol 2024-11-05) answers the POST with 4xx: try HTTP+SSE
    log.info({ status: e.code }, 'MCP server refused Streamable HTTP; trying the HTTP+SSE transport');
    client = newClient(onToolsChanged, cfg.maxTools, log);
    kind = 'sse';
    try {
      ({ closed } = await connect(client, new SSEClientTransport(url, { requestInit }), timeout));
    } catch (e2) {
      await client.close().catch(() => undefined);
      throw e2;
    }
  }
  const live = client;
  live.onerror = (e) => {
    // the server forgot the session (restarted) or the stream is gone for good: only a new
    // session helps, and the SDK does not make one by itself
    if (sessionGone(e)) onLost(e.message.slice(0, 200));
    else log.debug({ err: e }, 'MCP transport error');
  };
  try {
    const tools = await listAllTools(client, cfg.maxTools, log, timeout);
    return { client, tools, pid: undefined, kind, closed, close: () => client.close() };
  } catch (e) {
    await client.close().catch(() => undefined);
    throw e;
  }
}

/**
 * An HTTP transport error that means the session is gone: a 404 for it, its stream given up
 * on, or the server not answering at all (a new session is then the only way back).
 */
export function sessionGone(e: unknown): e is Error {
  if (e instanceof StreamableHTTPError && e.code === 404) return true;
  if (e instanceof TypeError && /fetch failed/i.test(e.message)) return true;
  return e instanceof Error && /SSE stream: Not Found|Maximum reconnection attempts/i.test(e.message);
}

/** The child's stderr to the log, line by line, bounded. */
function forwardStderr(transport: StdioClientTransport, log: Logger): void {
  const stream = transport.stderr;
  if (!stream) return;
  let lines = 0;
  let buf = '';
  stream.on('data', (chunk: Buffer) => {
    if (lines >= MAX_STDERR_LINES) return;
    buf += chunk.toString('utf8');
    let nl = buf.indexOf('\n');
    while (nl >= 0 && lines < MAX_STDERR_LINES) {
      const line = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (line) {
        lines++;
        log.debug({ stderr: line.slice(0, 1000) }, 'MCP server stderr');
      }
      nl = buf.indexOf('\n');
    }
    if (buf.length > 8192) buf = '';
  });
}
