import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type {} from './auth.js';

/** The agent a request addressed: `model` of an OpenAI body, or the `:name` of an agents route. */
function agentOf(req: FastifyRequest): string | undefined {
  const params = req.params as Record<string, unknown> | undefined;
  if (typeof params?.['name'] === 'string' && req.url.startsWith('/api/v1/agents/')) return params['name'];
  if (typeof params?.['agent'] === 'string') return params['agent'];
  const body = req.body as Record<string, unknown> | undefined;
  if (body !== null && typeof body === 'object' && typeof body['model'] === 'string') return body['model'].slice(0, 128);
  return undefined;
}

/**
 * The one info line per request: `{"msg":"request","method","route","status","durationMs",
 * "reqId","keyId","agent"}`. The key id is a digest prefix, never the key. Logged on the
 * gateway's own logger (not a per-request child), and skipped before any work when info is
 * off.
 *
 * @example
 * app.addHook('onResponse', (req, reply, done) => { logRequest(logger, req, reply); done(); });
 */
export function logRequest(logger: Logger, req: FastifyRequest, reply: FastifyReply): void {
  if (!logger.isLevelEnabled('info')) return;
  const agent = agentOf(req);
  logger.info({
    reqId: req.id,
    method: req.method,
    route: req.routeOptions.url ?? 'unmatched',
    status: reply.statusCode,
    durationMs: Math.round(reply.elapsedTime * 10) / 10,
    ...(req.apiKeyId !== undefined ? { keyId: req.apiKeyId } : {}),
    ...(agent !== undefined ? { agent } : {}),
  }, 'request');
}
