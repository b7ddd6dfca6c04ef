import { isIPv6 } from 'node:net';
import type { FastifyInstance, FastifyReply, FastifyRequest, HookHandlerDoneFunction, onRequestHookHandler } from 'fastify';
import { TroupeError, systemClock, type Clock } from '../protocol/index.js';
import type {} from './auth.js';

/** Callers (API key ids, or addresses without keys) whose windows are kept at once; past it the oldest window is forgotten. */
const DEFAULT_MAX_CALLERS = 10_000;

interface Window {
  startedAt: number;
  count: number;
}

/** One request counted: where its caller stands in the window. */
export interface RateVerdict {
  limit: number;
  /** Requests left in the window (0 once past the limit). */
  remaining: number;
  /** Until the window ends, in ms. */
  resetMs: number;
  /** Past the limit: refuse it. */
  exceeded: boolean;
}

/**
 * The caller an address stands for: an IPv4 address as it is (lower-cased), an IPv4-mapped
 * IPv6 one as its IPv4 address, any other IPv6 address as its /64 network (one host
 * usually holds a whole /64, so counting single addresses would let it rotate through them).
 *
 * @example
 * callerOfAddress('2001:db8::1'); // '2001:db8:0:0::/64'
 */
export function callerOfAddress(ip: string): string {
  // IPv4 (what most requests come from) has no colon and no letters: taken as it is
  if (!ip.includes(':')) return ip;
  if (!isIPv6(ip)) return ip.toLowerCase();
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = lower.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((g) => g.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/** `61_000` -> `'1 minute'`, `5_000` -> `'5 seconds'` (how a refusal says when to come back). */
function spell(ms: number): string {
  const [n, unit] = ms < 60_000 ? [Math.round(ms / 1_000), 'second'] : ms < 3_600_000 ? [Math.round(ms / 60_000), 'minute'] : [Math.round(ms / 3_600_000), 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/**
 * Requests per caller in a fixed window (from the caller's first request of the window), on
 * the injected clock. A caller is an API key's id, or a client address when the gateway has
 * no keys; each kind in its own table, so no key string is built per request. Bounded: past
 * `maxCallers` per table the window that started first is forgotten.
 *
 * @example
 * const limiter = new RateLimiter(600, 60_000, clock);
 * const v = limiter.hit('key', req.apiKeyId);
 * if (v.exceeded) refuse(v.resetMs);
 */
export class RateLimiter {
  private readonly byKey = new Map<string, Window>();
  private readonly byAddress = new Map<string, Window>();
  /** Reused for every verdict: read it before the next hit. */
  private readonly verdict: RateVerdict;

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly clock: Clock = systemClock,
    private readonly maxCallers = DEFAULT_MAX_CALLERS,
  ) {
    this.verdict = { limit: max, remaining: max, resetMs: windowMs, exceeded: false };
  }

  /** Count one request of a caller (`kind` says which table its id is in). The verdict is valid until the next hit. */
  hit(kind: 'key' | 'address', id: string): Readonly<RateVerdict> {
    const table = kind === 'key' ? this.byKey : this.byAddress;
    const now = this.clock.now();
    let w = table.get(id);
    if (w === undefined || w.startedAt + this.windowMs <= now) {
      // a new window goes to the end of the table's order, so the oldest window is first
      if (w !== undefined) table.delete(id);
      else if (table.size >= this.maxCallers) table.delete(table.keys().next().value!);
      w = { startedAt: now, count: 0 };
      table.set(id, w);
    }
    w.count++;
    const v = this.verdict;
    v.remaining = Math.max(0, this.max - w.count);
    v.resetMs = w.startedAt + this.windowMs - now;
    v.exceeded = w.count > this.max;
    return v;
  }

  /** Callers tracked now (both tables). */
  get size(): number {
    return this.byKey.size + this.byAddress.size;
  }
}

/**
 * Per-caller rate limits on every route registered after this call (the routes of the
 * gateway; not /health and /ready, which are registered before): keyed by the caller's API
 * key id, or by client address ({@link callerOfAddress}) when no keys are configured. Every answer carries
 * `x-ratelimit-limit`, `x-ratelimit-remaining` and `x-ratelimit-reset` (seconds); past the
 * limit, 429 `TROUPE_ERR_GATEWAY_RATE_LIMITED` with `retry-after`, in the route's envelope.
 * A route-level hook, so it runs after the auth hook: unauthenticated calls are refused
 * before they count. A callback hook with one table lookup: it runs on every request.
 */
export function registerRateLimit(app: FastifyInstance, perMinute: number, clock: Clock = systemClock, windowMs = 60_000): RateLimiter {
  const limiter = new RateLimiter(perMinute, windowMs, clock);
  const per = `${perMinute} requests per ${Math.round(windowMs / 1000)}s`;
  const limit = String(perMinute);
  const hook = (req: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const v = req.apiKeyId !== undefined ? limiter.hit('key', req.apiKeyId) : limiter.hit('address', callerOfAddress(req.ip));
    const resetS = Math.ceil(v.resetMs / 1000);
    reply.header('x-ratelimit-limit', limit);
    reply.header('x-ratelimit-remaining', v.remaining);
    reply.header('x-ratelimit-reset', resetS);
    if (!v.exceeded) {
      done();
      return;
    }
    reply.header('retry-after', resetS);
    done(new TroupeError('TROUPE_ERR_GATEWAY_RATE_LIMITED', `Rate limit reached: ${per}. Retry in ${spell(resetS * 1000)}.`, {
      details: { retryAfterMs: v.resetMs, limit: perMinute },
    }));
  };
  app.addHook('onRoute', (route) => {
    const own = route.onRequest;
    route.onRequest = own === undefined ? [hook] : [...(Array.isArray(own) ? own : [own]), hook] as onRequestHookHandler[];
  });
  return limiter;
}
