import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { TroupeError, flat } from '../protocol/index.js';

/** Routes anyone may call: liveness, readiness and A2A agent cards. */
const PUBLIC_RE = /^\/(health|ready|\.well-known\/agent-card\.json|a2a\/[^/?]+\/\.well-known\/agent-card\.json)(\?.*)?$/;

export function isPublicPath(url: string): boolean {
  return PUBLIC_RE.test(url);
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

declare module 'fastify' {
  interface FastifyRequest {
    /** A short, non-reversible id of the caller's API key (rate limits and logs key on it). */
    apiKeyId?: string;
  }
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key`. */
export function presentedKey(req: FastifyRequest): string | undefined {
  const auth = req.headers.authorization;
  if (typeof auth === 'string') {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m) return m[1];
  }
  const x = req.headers['x-api-key'];
  return typeof x === 'string' && x.length > 0 ? x : undefined;
}

/**
 * API keys: with any configured, every route but /health, /ready and agent cards needs one
 * (`Authorization: Bearer <key>` or `x-api-key`), else 401 in the route's envelope. Keys are
 * compared as SHA-256 digests, so lookups take the same time whatever the key.
 */
export function registerAuth(app: FastifyInstance, apiKeys: ReadonlyArray<string>): void {
  if (apiKeys.length === 0) return;
  const known = new Set(apiKeys.map(digest));
  app.addHook('onRequest', async (req) => {
    if (isPublicPath(req.url)) return;
    const key = presentedKey(req);
    if (key === undefined) {
      throw new TroupeError('TROUPE_ERR_GATEWAY_UNAUTHORIZED', 'You did not provide an API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".');
    }
    const d = digest(key);
    if (!known.has(d)) throw new TroupeError('TROUPE_ERR_GATEWAY_UNAUTHORIZED', 'Incorrect API key provided.');
    req.apiKeyId = d.slice(0, 16);
  });
}

/**
 * Per-key rate limits (@fastify/rate-limit): keyed by the caller's API key, or by IP when
 * no keys are configured. Past the limit: 429 with `retry-after`, in the route's envelope.
 * Registered after the auth hook, so unauthenticated calls are refused before they count.
 */
export async function registerRateLimit(app: FastifyInstance, perMinute: number, windowMs = 60_000): Promise<void> {
  await app.register(rateLimit, {
    global: true,
    max: perMinute,
    timeWindow: windowMs,
    cache: 10_000,
    keyGenerator: (req) => (req.apiKeyId !== undefined ? flat('key:', req.apiKeyId) : flat('ip:', req.ip)),
    errorResponseBuilder: (_req, ctx) => new TroupeError('TROUPE_ERR_GATEWAY_RATE_LIMITED', `Rate limit reached: ${ctx.max} requests per ${Math.round(windowMs / 1000)}s. Retry in ${ctx.after}.`, {
      details: { retryAfterMs: ctx.ttl, limit: ctx.max },
    }),
  });
}
