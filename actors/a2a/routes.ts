import express from 'express';
import { Extensions, HTTP_EXTENSION_HEADER, SSE_HEADERS, formatSSEErrorEvent, formatSSEEvent } from '@a2a-js/sdk';
import {
  JsonRpcTransportHandler, UnauthenticatedUser, defaultServerCallContextBuilder, validateVersion, type A2ARequestHandler, type User,
} from '@a2a-js/sdk/server';
import { LegacyJsonRpcTransportHandler } from '@a2a-js/sdk/compat/v0_3/server';
import { legacyAgentCardRouter } from '@a2a-js/sdk/compat/v0_3/server/express';
import { createHash } from 'node:crypto';
import { TroupeError } from '../../protocol/index.js';
import type { RouteTable } from '../modules/index.js';
import { cardBody } from './card.js';

/** Seconds a client may cache an agent card. */
const CARD_MAX_AGE_S = 300;

/** JSON-RPC error codes the adapter produces itself (the rest come from the SDK's mappers). */
const PARSE_ERROR = -32700;
const CONTENT_TYPE_NOT_SUPPORTED = -32005;
const INVALID_REQUEST = -32600;

/** One agent's A2A endpoint: its request handler and the two JSON-RPC transports on it. */
export interface A2AEndpoint {
  handler: A2ARequestHandler;
  rpc: JsonRpcTransportHandler;
  legacy: LegacyJsonRpcTransportHandler;
}

/** What the routes need from the a2a module. */
export interface A2ARouteDeps {
  /** The endpoint of an agent, built for the caller's base URL; undefined when no such agent. */
  endpoint(agent: string, baseUrl: string): A2AEndpoint | undefined;
  /** The authenticated caller (its key id), for task ownership. */
  userOf(req: { apiKeyId?: string }): User;
}

const baseUrlOf = (req: { protocol: string; host: string }): string => `${req.protocol}://${req.host}`;
const isLegacy = (req: { headers: Record<string, unknown> }): boolean => {
  const v = req.headers['a2a-version'];
  return (typeof v === 'string' && v.length > 0 ? v : '0.3') === '0.3';
};
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
    const ep = (req as unknown as { troupeEndpoint: A2AEndpoint }).troupeEndpoint;
    legacyAgentCardRouter({ agentCardProvider: ep.handler, cache: { maxAge: CARD_MAX_AGE_S } })(req, res, next);
  });
  legacyCards.use((_req, res) => {
    res.status(404).json({ error: { code: 'TROUPE_ERR_A2A_AGENT_NOT_FOUND', message: 'no such agent' } });
  });

  const card = async (agent: string, req: any, reply: any): Promise<unknown> => {
    const ep = deps.endpoint(agent, baseUrlOf(req));
    if (!ep) throw new TroupeError('TROUPE_ERR_A2A_AGENT_NOT_FOUND', `no agent named ${agent.slice(0, 64)}`);
    reply.header('vary', 'A2A-Version');
    if (isLegacy(req)) {
      reply.hijack();
      (req.raw as { troupeEndpoint?: A2AEndpoint }).troupeEndpoint = ep;
      req.raw.url = '/';
      legacyCards(req.raw, reply.raw);
      return reply;
    }
    const { json, etag } = cardBody(await ep.handler.getAgentCard());
    reply.header('etag', etag).header('cache-control', `public, max-age=${CARD_MAX_AGE_S}`);
    if (req.headers['if-none-match'] === etag) return reply.code(304).send();
    return reply.send(json);
  };

  table.route({ method: 'GET', url: '/a2a/:agent/.well-known/agent-card.json', handler: (req, reply) => card(req.params.agent, req, reply) });

  table.route({
    method: 'POST',
    url: '/a2a/:agent',
    errorHandler: (err: { code?: string; statusCode?: number; message?: string }, req: any, reply: any) => {
      // fastify's own refusals before the handler: map them to the JSON-RPC codes, HTTP 200
      const code = err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? CONTENT_TYPE_NOT_SUPPORTED
        : err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY' || err.statusCode === 400 ? PARSE_ERROR
          : INVALID_REQUEST;
      return reply.code(200).send(rpcError(null, code, code === CONTENT_TYPE_NOT_SUPPORTED ? 'Content type not supported' : code === PARSE_ERROR ? 'Parse error' : 'Invalid request'));
    },
    handler: async (req: any, reply: any) => {
      const ep = deps.endpoint(req.params.agent, baseUrlOf(req));
      const legacy = isLegacy(req);
      const body = req.body;
      const id = body && typeof body === 'object' && !Array.isArray(body) ? (body as { id?: unknown }).id : null;
      const mapErr = legacy ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError : JsonRpcTransportHandler.mapToJSONRPCError;
      if (!ep) return rpcError(id, -32001, `no agent named ${String(req.params.agent).slice(0, 64)}`);
      if (!body || typeof body !== 'object' || Array.isArray(body)) return rpcError(id, INVALID_REQUEST, 'Invalid request');
      const requestedVersion = typeof req.headers['a2a-version'] === 'string' && req.headers['a2a-version'] ? req.headers['a2a-version'] : undefined;
      const ctx = defaultServerCallContextBuilder({
        user: deps.userOf(req),
        headers: req.headers,
        ...(requestedVersion ? { requestedVersion } : {}),
        extensions: Extensions.parseServiceParameter(req.headers[legacy ? 'x-a2a-extensions' : 'a2a-extensions'] as string | undefined),
      });
      let out: unknown;
      try {
        validateVersion(ctx.requestedVersion, await ep.handler.getAgentCard(), 'JSONRPC');
        out = await (legacy ? ep.legacy : ep.rpc).handle(body, ctx);
      } catch (e) {
        return { jsonrpc: '2.0', id: id ?? null, error: mapErr(e) };
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
        return { jsonrpc: '2.0', id: id ?? null, error: mapErr(e) };
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
