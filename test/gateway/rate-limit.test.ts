import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { registerAuth } from '../../gateway/auth.js';
import { RateLimiter, callerOfAddress, registerRateLimit } from '../../gateway/rate-limit.js';
import { createServer, gatewayOptionsSchema } from '../../gateway/server.js';
import { silent } from '../helpers.js';
import { cleanup, onCleanup } from '../agent/harness.js';

afterEach(cleanup);

const KEY = 'right-key-0123456789';
const OTHER = 'other-key-0123456789';

/** The gateway's server with auth (when keys are given) and a limit of `perMinute`, as startGateway registers them. */
async function app(clock: ManualClock, perMinute: number, keys: string[] = []) {
  const { app, readiness } = createServer(gatewayOptionsSchema.parse({ port: 0, apiKeys: keys }), silent, 'n1');
  onCleanup(() => app.close());
  readiness.state = 'ready';
  registerAuth(app, keys, { clock });
  registerRateLimit(app, perMinute, clock);
  app.get('/v1/models', async () => ({ object: 'list', data: [] }));
  app.get('/api/v1/agents', async () => ({ agents: [] }));
  await app.ready();
  return (opts: { key?: string; from?: string; url?: string } = {}) => app.inject({
    url: opts.url ?? '/v1/models',
    remoteAddress: opts.from ?? '10.0.0.1',
    headers: opts.key === undefined ? {} : { authorization: `Bearer ${opts.key}` },
  });
}

describe('gateway rate limits', () => {
  it('count each caller in a fixed window with x-ratelimit headers, and refuse past the limit with 429 and retry-after until the window ends', async () => {
    const clock = new ManualClock(1_000_000);
    const call = await app(clock, 3);
    const first = await call();
    expect(first.statusCode).toBe(200);
    expect(first.headers).toMatchObject({ 'x-ratelimit-limit': '3', 'x-ratelimit-remaining': '2', 'x-ratelimit-reset': '60' });
    clock.advance(20_000);
    expect((await call()).headers['x-ratelimit-remaining']).toBe('1');
    const third = await call();
    expect(third.statusCode).toBe(200);
    expect(third.headers).toMatchObject({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '40' });
    const refused = await call();
    expect(refused.statusCode).toBe(429);
    expect(refused.headers).toMatchObject({ 'retry-after': '40', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '40' });
    expect(refused.json().error).toMatchObject({ type: 'requests', code: 'rate_limit_exceeded', param: null });
    expect(refused.json().error.message).toBe('Rate limit reached: 3 requests per 60s. Retry in 40 seconds.');
    // troupe's envelope outside /v1
    const api = await call({ url: '/api/v1/agents' });
    expect(api.statusCode).toBe(429);
    expect(api.json().error.code).toBe('TROUPE_ERR_GATEWAY_RATE_LIMITED');
    expect(api.json().error.details).toMatchObject({ limit: 3, retryAfterMs: 40_000 });
    // another address has its own budget; the window's end gives this one a new one
    expect((await call({ from: '10.0.0.2' })).statusCode).toBe(200);
    clock.advance(40_000);
    const again = await call();
    expect(again.statusCode).toBe(200);
    expect(again.headers['x-ratelimit-remaining']).toBe('2');
  });

  it('count per API key when keys are configured, and refuse unauthenticated calls before they count', async () => {
    const clock = new ManualClock(0);
    const call = await app(clock, 1, [KEY, OTHER]);
    expect((await call({ key: 'wrong-key-0123456789' })).statusCode).toBe(401);
    expect((await call({ key: KEY })).statusCode).toBe(200);
    // the same key from another address is the same caller
    expect((await call({ key: KEY, from: '10.9.9.9' })).statusCode).toBe(429);
    expect((await call({ key: OTHER })).statusCode).toBe(200);
  });

  it('leave /health and /ready alone (they are registered before the limit)', async () => {
    const clock = new ManualClock(0);
    const call = await app(clock, 1);
    expect((await call()).statusCode).toBe(200);
    for (let i = 0; i < 3; i++) {
      const h = await call({ url: '/health' });
      expect(h.statusCode).toBe(200);
      expect(h.headers['x-ratelimit-limit']).toBeUndefined();
    }
    expect((await call({ url: '/ready' })).statusCode).toBe(200);
  });

  it('group IPv6 callers by /64 network and IPv4-mapped ones as IPv4', () => {
    expect(callerOfAddress('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(callerOfAddress('2001:0DB8:0000:0000:ffff:1:2:3')).toBe('2001:db8:0:0::/64');
    expect(callerOfAddress('2001:db8:0:1::5')).toBe('2001:db8:0:1::/64');
    expect(callerOfAddress('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(callerOfAddress('10.1.2.3')).toBe('10.1.2.3');
    expect(callerOfAddress('::1')).toBe('0:0:0:0::/64');
  });

  it('keep a bounded number of callers: the window that started first is forgotten', () => {
    const clock = new ManualClock(0);
    const limiter = new RateLimiter(1, 60_000, clock, 3);
    for (const a of ['a', 'b', 'c']) expect(limiter.hit('address', a).exceeded).toBe(false);
    expect(limiter.hit('address', 'a').exceeded).toBe(true);
    limiter.hit('address', 'd'); // 'a' goes
    expect(limiter.size).toBe(3);
    expect(limiter.hit('address', 'a').exceeded).toBe(false);
    // keys and addresses are separate tables
    expect(limiter.hit('key', 'a').exceeded).toBe(false);
  });
});
