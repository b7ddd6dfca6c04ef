import { createHash } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TroupeError, systemClock, type Clock } from '../protocol/index.js';

/** Routes anyone may call: liveness, readiness and A2A agent cards. */
const PUBLIC_RE = /^\/(health|ready|\.well-known\/agent-card\.json|\.well-known\/jwks\.json|a2a\/[^/?]+\/\.well-known\/agent-card\.json)(\?.*)?$/;

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
    /** Set on public routes when the gateway has API keys (an A2A card then declares its scheme). */
    keysRequired?: boolean;
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

/** How failed authentication is throttled per client address. */
export interface AuthThrottleOptions {
  /** Failed attempts an address may make per window; past it every request from it gets 429. */
  maxFailures?: number;
  /** The window, in ms, from an address's first failure. */
  windowMs?: number;
  /** Addresses tracked at once; past it the oldest entry is forgotten. */
  maxAddresses?: number;
  clock?: Clock;
}

interface FailureWindow {
  startedAt: number;
  failures: number;
}

/**
 * Failed authentication per client address, in a fixed window on the injected clock. An
 * address past its limit is refused before its key is even looked at: answering a right key
 * while refusing wrong ones would let a guesser carry on at full speed.
 */
export class AuthThrottle {
  readonly maxFailures: number;
  readonly windowMs: number;
  private readonly maxAddresses: number;
  private readonly clock: Clock;
  private readonly windows = new Map<string, FailureWindow>();

  constructor(options: AuthThrottleOptions = {}) {
    this.maxFailures = options.maxFailures ?? 20;
    this.windowMs = options.windowMs ?? 60_000;
    this.maxAddresses = options.maxAddresses ?? 10_000;
    this.clock = options.clock ?? systemClock;
  }

  /** The ms until `address` may try again, or 0 when it may now. */
  retryAfterMs(address: string): number {
    const w = this.windows.get(address);
    if (w === undefined) return 0;
    const left = w.startedAt + this.windowMs - this.clock.now();
    if (left <= 0) {
      this.windows.delete(address);
      return 0;
    }
    return w.failures >= this.maxFailures ? left : 0;
  }

  /** Count a failed attempt of `address`. */
  fail(address: string): void {
    const now = this.clock.now();
    const w = this.windows.get(address);
    if (w !== undefined && now - w.startedAt < this.windowMs) {
      w.failures++;
      return;
    }
    this.windows.delete(address);
    if (this.windows.size >= this.maxAddresses) this.windows.delete(this.windows.keys().next().value!);
    this.windows.set(address, { startedAt: now, failures: 1 });
  }

  /** Addresses tracked now (bounded by `maxAddresses`). */
  get size(): number {
    return this.windows.size;
  }
}

/**
 * API keys: with any configured, every route but /health, /ready and agent cards needs one
 * (`Authorization: Bearer <key>` or `x-api-key`), else 401 in the route's envelope. Keys are
 * compared as SHA-256 digests, so lookups take the same time whatever the key. Failed
 * attempts are throttled per client address (see {@link AuthThrottle}): past the limit,
 * 429 `TROUPE_ERR_GATEWAY_RATE_LIMITED` with `retry-after`.
 */
export function registerAuth(app: FastifyInstance, apiKeys: ReadonlyArray<string>, throttleOptions: AuthThrottleOptions = {}): AuthThrottle | undefined {
  if (apiKeys.length === 0) return undefined;
  const known = new Set(apiKeys.map(digest));
  const throttle = new AuthThrottle(throttleOptions);
  // a callback hook (no promise per request); a refusal is passed to done
  const check = (req: FastifyRequest): TroupeError | undefined => {
    if (isPublicPath(req.url)) {
      req.keysRequired = true;
      return undefined;
    }
    const wait = throttle.retryAfterMs(req.ip);
    if (wait > 0) {
      return new TroupeError('TROUPE_ERR_GATEWAY_RATE_LIMITED', `Too many failed authentication attempts from this address: ${throttle.maxFailures} per ${Math.round(throttle.windowMs / 1000)}s. Retry in ${Math.ceil(wait / 1000)}s.`, {
        details: { retryAfterMs: wait, limit: throttle.maxFailures },
      });
    }
    const key = presentedKey(req);
    if (key === undefined) {
      throttle.fail(req.ip);
      return new TroupeError('TROUPE_ERR_GATEWAY_UNAUTHORIZED', 'You did not provide an API key. Send it as "Authorization: Bearer <key>" or "x-api-key: <key>".');
    }
    const d = digest(key);
    if (!known.has(d)) {
      throttle.fail(req.ip);
      return new TroupeError('TROUPE_ERR_GATEWAY_UNAUTHORIZED', 'Incorrect API key provided.');
    }
    req.apiKeyId = d.slice(0, 16);
    return undefined;
  };
  app.addHook('onRequest', (req, _reply, done) => {
    const refused = check(req);
    if (refused === undefined) done();
    else done(refused);
  });
  return throttle;
}
