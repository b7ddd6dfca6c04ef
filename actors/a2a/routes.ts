import express from 'express';
import { Extensions, HTTP_EXTENSION_HEADER, type AgentCard, SSE_HEADERS, formatSSEErrorEvent, formatSSEEvent } from '@a2a-js/sdk';
import {
  JsonRpcTransportHandler, UnauthenticatedUser, defaultServerCallContextBuilder, validateVersion, type A2ARequestHandler, type User,
} from '@a2a-js/sdk/server';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { legacyAgentCardRouter } from '@a2a-js/sdk/compat/v0_3/server/express';
import { createHash } from 'node:crypto';
import { TroupeError } from '../../protocol/index.js';
import type { RouteTable } from '../modules/index.js';
import { cardBody } from './card.js';
import type { AgentTaskExecutor } from './executor.js';
import { NODE_AGENT } from './router.js';
import { requestedVersionOf } from './version.js';
import { checkParams } from './params.js';
import { isJsonRpcRequest } from './rpc-request.js';

/** Seconds a client may cache an agent card. */
const CARD_MAX_AGE_S = 300;

/** JSON-RPC error codes the adapter produces itself (the rest come from the SDK's mappers). */
const PARSE_ERROR = -32700;
const CONTENT_TYPE_NOT_SUPPORTED = -32005;
const INVALID_REQUEST = -32600;

/** One agent's A2A endpoint: its request handler and the two JSON-RPC transports on it. */
export interface A2AEndpoint {
  handler: A2ARequestHandler;
  /** The agent's executor (none for the node's own routing agent, whose turns run on its agents' executors). */
  executor: AgentTaskExecutor | undefined;
  rpc: JsonRpcTransportHandler;
  legacy: LegacyJsonRpcTransportHandler;
}

/** What the routes need from the a2a module. */
export interface A2ARouteDeps {
  /** The endpoint of an agent (of this node or another); undefined when no such agent. */
  endpoint(agent: string): Promise<A2AEndpoint | undefined>;
  /** The 1.0 card of an agent as served at a base URL (secured: the gateway has API keys). */
  card(agent: string, baseUrl: string, secured: boolean): Promise<AgentCard | undefined>;
  /** The authenticated caller (its key id), for task ownership. */
  userOf(req: { apiKeyId?: string }): User;
}

const baseUrlOf = (req: { protocol: string; host: string }): string => `${req.protocol}://${req.host}`;
const isLegacy = (req: { headers: Record<string, unknown> }): boolean => (requestedVersionOf(req.headers) ?? '0.3') === '0.3';
/** Methods whose answer is an event stream (1.0 and 0.3 names). */
const STREAM_METHODS = new Set(['SendStreamingMessage', 'SubscribeToTask', 'message/stream', 'tasks/resubscribe']);

const isJsonContentType = (v: unknown): boolean => typeof v === 'string' && /^application\/(a2a\+)?json\s*(;|$)/i.test(v.trim());

const rpcError = (id: unknown, code: number, message: string) => ({ jsonrpc: '2.0' as const, id: id ?? null, error: { code, message } });

/**
 * The A2A routes: agent cards (1.0 and, for 0.3 callers, the SDK's 0.3 card) with ETag and
 * Cache-Control, and `POST /a2a/:agent` serving JSON-RPC for A2A 1.0 and 0.3 through the
 * SDK's framework-agnostic transport handlers, picked by the `A2A-Version` header (absent
 * means 0.3). Errors are JSON-RPC errors with HTTP 200; streams are SSE that keep draining
 * when the client goes away, so a task never stays `working` for want of a reader.
 */
export function registerA2ARoutes(table: RouteTable, deps: A2ARouteDeps): void {
  // The SDK's 0.3 card lives behind its express router: one tiny express app serves it.
  const legacyCards = express();
  legacyCards.use((req, res, next) => {
    const served = (req as unknown as { troupeCard: AgentCard }).troupeCard;
    legacyAgentCardRouter({ agentCardProvider: { getAgentCard: async () => served }, cache: { maxAge: CARD_MAX_AGE_S } })(req, res, next);
  });
  legacyCards.use((_req, res) => {
    res.status(404).json({ error: { code: 'TROUPE_ERR_A2A_AGENT_NOT_FOUND', message: 'no such agent' } });
  });

  const card = async (agent: string, req: any, reply: any): Promise<unknown> => {
    const served = await deps.card(agent, baseUrlOf(req), req.keysRequired === true);
    if (!served) throw new TroupeError('TROUPE_ERR_A2A_AGENT_NOT_FOUND', `no agent named ${agent.slice(0, 64)}`);
    reply.header('vary', 'A2A-Version');
    if (isLegacy(req)) {
      reply.hijack();
      (req.raw as { troupeCard?: AgentCard }).troupeCard = served;
      req.raw.url = '/';
      legacyCards(req.raw, reply.raw);
      return reply;
    }
    const { json, etag } = cardBody(served);
    reply.header('etag', etag).header('cache-control', `public, max-age=${CARD_MAX_AGE_S}`);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(json);
  };

  table.route({ method: 'GET', url: '/a2a/:agent/.well-known/agent-card.json', handler: (req, reply) => card(req.params.agent, req, reply) });
  table.route({ method: 'GET', url: '/.well-known/agent-card.json', handler: (req, reply) => card(NODE_AGENT, req, reply) });

  for (const url of ['/a2a/:agent', '/a2a']) table.route({
    method: 'POST',
    url,
    errorHandler: (err: { code?: string; statusCode?: number; message?: string }, _req: any, reply: any) => {
      // the body parser's refusals (bad JSON, too deep, prototype keys) are JSON-RPC parse
      // errors with HTTP 200; the rest (401, 429, 503 while starting) stay the gateway's
      if (err.code === 'TROUPE_ERR_GATEWAY_BAD_REQUEST' || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') {
        return reply.code(200).send(rpcError(null, PARSE_ERROR, 'Parse error: the body is not valid JSON'));
      }
      if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') return reply.code(200).send(rpcError(null, CONTENT_TYPE_NOT_SUPPORTED, 'Content type not supported: send application/json'));
      throw err;
    },
    handler: async (req: any, reply: any) => {
      const agent: string = req.params?.agent ?? NODE_AGENT;
      const ep = await deps.endpoint(agent);
      const legacy = isLegacy(req);
      const body = req.body;
      const rawId = body && typeof body === 'object' && !Array.isArray(body) ? (body as { id?: unknown }).id : null;
      const id = typeof rawId === 'string' || typeof rawId === 'number' ? rawId : null;
      if (!isJsonContentType(req.headers['content-type'])) return rpcError(id, CONTENT_TYPE_NOT_SUPPORTED, 'Content type not supported: send application/json');
      const mapErr = legacy ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError : JsonRpcTransportHandler.mapToJSONRPCError;
      if (!ep) return rpcError(id, -32001, `no agent named ${agent.slice(0, 64)}`);
      if (!isJsonRpcRequest(body)) return rpcError(id, INVALID_REQUEST, 'Invalid request: not a JSON-RPC 2.0 request object (jsonrpc "2.0", a method name, an id, params an object)');
      const requestedVersion = requestedVersionOf(req.headers);
      const ctx = defaultServerCallContextBuilder({
        user: deps.userOf(req),
        headers: req.headers,
        ...(requestedVersion ? { requestedVersion } : {}),
        extensions: Extensions.parseServiceParameter(req.headers[legacy ? 'x-a2a-extensions' : 'a2a-extensions'] as string | undefined),
      });
      try {
        validateVersion(ctx.requestedVersion, await ep.handler.getAgentCard(), 'JSONRPC');
      } catch (e) {
        return { jsonrpc: '2.0', id, error: mapErr(e) };
      }
      // a streaming method answers with an event stream, its failure too (one error event)
      const streaming = STREAM_METHODS.has((body as { method: string }).method);
      const failed = (e: unknown): unknown => {
        const error = { jsonrpc: '2.0' as const, id, error: mapErr(e) };
        if (!streaming) return error;
        reply.hijack();
        reply.raw.writeHead(200, { ...SSE_HEADERS, 'x-request-id': req.id });
        reply.raw.end(formatSSEErrorEvent(error as never));
        return reply;
      };
      let out: unknown;
      try {
        if (!legacy) checkParams((body as { method: string }).method, (body as { params?: unknown }).params);
        out = await (legacy ? ep.legacy : ep.rpc).handle(body, ctx);
      } catch (e) {
        return failed(e);
      }
      if (ctx.activatedExtensions && [...ctx.activatedExtensions].length > 0) {
        reply.header(legacy ? 'X-A2A-Extensions' : HTTP_EXTENSION_HEADER, [...ctx.activatedExtensions].join(','));
      }
      if (!out || typeof (out as AsyncIterable<unknown>)[Symbol.asyncIterator] !== 'function') return out;
      const it = (out as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      let first: IteratorResult<unknown>;
      try {
        first = await it.next();
      } catch (e) {
        return failed(e);
      }
      reply.hijack();
      reply.raw.writeHead(200, { ...SSE_HEADERS, 'x-request-id': req.id });
      const live = (): boolean => !reply.raw.destroyed && !reply.raw.writableEnded;
      try {
        if (!first.done && live()) reply.raw.write(formatSSEEvent(first.value as never));
        // keep draining after a disconnect: the SDK persists events only in this loop
        for (let r = await it.next(); !r.done; r = await it.next()) if (live()) reply.raw.write(formatSSEEvent(r.value as never));
      } catch (e) {
        if (live()) reply.raw.write(formatSSEErrorEvent({ jsonrpc: '2.0', id: (id ?? null) as never, error: mapErr(e) } as never));
      } finally {
        if (live()) reply.raw.end();
      }
      return reply;
    },
  });
}

/** A short, non-reversible owner id for an API key (tasks are scoped by it). */
export function ownerOfKey(keyId: string | undefined): User {
  if (!keyId) return new UnauthenticatedUser();
  const userName = `key:${createHash('sha256').update(keyId).digest('hex').slice(0, 16)}`;
  return { isAuthenticated: true, userName };
}
