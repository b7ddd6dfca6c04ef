import { randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { isLoopbackHost, type Clock } from '../../protocol/index.js';
import { parseJsonBody } from '../json-body.js';
import { buildTroupeMcpServer, type McpServerDeps } from './tools.js';

/** What `/mcp` serves with. */
export interface McpRouteOptions extends McpServerDeps {
  clock: Clock;
  /** The address the gateway binds: a loopback bind accepts only loopback Host and Origin headers. */
  bindHost: string;
  /** Sessions held at once; past it a new initialize gets 503 (default 1,000). */
  maxSessions?: number;
  /** A session idle this long is ended when a new one is made (default 30 min). */
  idleMs?: number;
}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
  lastSeen: number;
}

/** The troupe MCP endpoint, for the gateway's shutdown. */
export interface McpEndpoint {
  /** Sessions open now. */
  readonly sessions: number;
  /** End every session (the gateway is closing). */
  close(): Promise<void>;
}

function rpcError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).header('content-type', 'application/json').send({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/** The host part of a Host header (`127.0.0.1:8787`, `[::1]:80`, `localhost`). */
function hostnameOf(hostHeader: string): string {
  const m = /^\[([^\]]+)\](?::\d+)?$/.exec(hostHeader);
  if (m) return m[1]!;
  const colon = hostHeader.lastIndexOf(':');
  return colon > 0 && hostHeader.indexOf(':') === colon ? hostHeader.slice(0, colon) : hostHeader;
}

/**
 * DNS rebinding: on a loopback bind, the Host header and any Origin must name a loopback
 * host; on any bind, an Origin must be the server's own (same host). Non-browser clients send
 * no Origin.
 */
function originAllowed(req: FastifyRequest, bindHost: string): boolean {
  const host = typeof req.headers.host === 'string' ? req.headers.host : '';
  const loopback = isLoopbackHost(bindHost.replace(/^\[|\]$/g, ''));
  if (loopback && !isLoopbackHost(hostnameOf(host))) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  let o: URL;
  try {
    o = new URL(origin);
  } catch {
    return false;
  }
  const oh = o.hostname.replace(/^\[|\]$/g, '');
  if (loopback) return isLoopbackHost(oh);
  return o.host === host;
}

/**
 * `/mcp`: troupe as an MCP server over Streamable HTTP (stateful sessions). `POST` with an
 * initialize request makes a session (`mcp-session-id`) with its own `McpServer`; later
 * POSTs, the `GET` stream and `DELETE` (end the session) name it. An unknown session is
 * 404 (JSON-RPC -32001), a non-initialize request without one 400, malformed JSON -32700.
 * API keys apply as for every route (bearer), with `WWW-Authenticate` on a 401.
 *
 * @example
 * const mcp = registerMcpEndpoint(app, { host: node, clock: node.clock, bindHost: '127.0.0.1', runTimeoutMs: 300_000, allowAgentProviders: false });
 * // ... on shutdown, before app.close():
 * await mcp.close();
 */
export function registerMcpEndpoint(app: FastifyInstance, options: McpRouteOptions): McpEndpoint {
  const sessions = new Map<string, Session>();
  const maxSessions = options.maxSessions ?? 1_000;
  const idleMs = options.idleMs ?? 30 * 60_000;
  const log = options.host.logger.child({ component: 'mcp-server' });

  const sweep = (): void => {
    const now = options.clock.now();
    for (const [id, s] of sessions) {
      if (now - s.lastSeen > idleMs) {
        sessions.delete(id);
        void s.transport.close().catch(() => undefined);
      }
    }
  };

  void app.register(async (scope) => {
    // only /mcp's responses (this scope's routes; a 401 of the gateway's key check included)
    scope.addHook('onSend', (_req, reply, payload, done) => {
      if (reply.statusCode === 401) reply.header('www-authenticate', 'Bearer error="invalid_token"');
      done(null, payload);
    });
    // the body reaches the SDK as parsed JSON; malformed JSON is a JSON-RPC parse error
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, { raw: body as string }));

    const handle = async (req: FastifyRequest, reply: FastifyReply): Promise<unknown> => {
      if (!originAllowed(req, options.bindHost)) return rpcError(reply, 403, -32000, 'Forbidden: Host or Origin not allowed');
      let body: unknown;
      const raw = (req.body as { raw?: string } | undefined)?.raw;
      if (req.method === 'POST') {
        try {
          body = parseJsonBody(raw ?? '');
        } catch {
          return rpcError(reply, 400, -32700, 'Parse error: the body is not valid JSON');
        }
      }
      const sid = req.headers['mcp-session-id'];
      let s = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!s) {
        if (sid !== undefined) return rpcError(reply, 404, -32001, 'Session not found');
        if (req.method !== 'POST' || !isInitializeRequest(body)) return rpcError(reply, 400, -32000, 'Bad Request: no valid session id; send initialize first');
        sweep();
        if (sessions.size >= maxSessions) return rpcError(reply, 503, -32000, `Too many MCP sessions (${maxSessions}); try again later`);
        const server = buildTroupeMcpServer(options);
        const entry: Session = { server, lastSeen: options.clock.now(), transport: undefined as unknown as StreamableHTTPServerTransport };
        entry.transport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessions.set(id, entry);
          },
          onsessionclosed: (id) => {
            sessions.delete(id);
          },
        });
        entry.transport.onclose = () => {
          const id = entry.transport.sessionId;
          if (id !== undefined) sessions.delete(id);
          void server.close().catch(() => undefined);
        };
        await server.connect(entry.transport);
        s = entry;
      }
      s.lastSeen = options.clock.now();
      // the SDK writes the response itself: headers set on the fastify reply would be lost
      reply.raw.setHeader('x-request-id', req.id);
      reply.hijack();
      try {
        await s.transport.handleRequest(req.raw, reply.raw, body);
      } catch (e) {
        log.warn({ err: e }, 'MCP request failed');
        if (!reply.raw.headersSent) reply.raw.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32603, message: 'Internal error' }, id: null }));
      }
      return reply;
    };
    scope.post('/mcp', handle);
    scope.get('/mcp', handle);
    scope.delete('/mcp', handle);
  });

  return {
    get sessions() {
      return sessions.size;
    },
    close: async () => {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((s) => s.transport.close().catch(() => undefined)));
    },
  };
}
