import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { AuthThrottle, registerAuth } from '../../gateway/auth.js';
import { createServer, gatewayOptionsSchema } from '../../gateway/server.js';
import { silent } from '../helpers.js';
import { cleanup, onCleanup, testNode } from '../agent/harness.js';

afterEach(cleanup);

const KEY = 'right-key-0123456789';

async function app(clock: ManualClock) {
  const { app, readiness } = createServer(gatewayOptionsSchema.parse({ port: 0, apiKeys: [KEY] }), silent, 'n1');
  onCleanup(() => app.close());
  readiness.state = 'ready';
  registerAuth(app, [KEY], { maxFailures: 5, windowMs: 60_000, clock });
  app.get('/v1/models', async () => ({ object: 'list', data: [] }));
  app.get('/api/v1/agents', async () => ({ agents: [] }));
  await app.ready();
  const call = (key: string, from = '10.0.0.1', url = '/v1/models') =>
    app.inject({ url, remoteAddress: from, headers: { authorization: `Bearer ${key}` } });
  return call;
}

describe('failed authentication', () => {
  it('is throttled per client address with 429 and retry-after, right keys included, until the window passes', async () => {
    const clock = new ManualClock(1_000_000);
    const call = await app(clock);
    for (let i = 0; i < 5; i++) expect((await call(`guess-${i}-aaaaaaaa`)).statusCode).toBe(401);
    const refused = await call('guess-6-aaaaaaaa');
    expect(refused.statusCode).toBe(429);
    expect(refused.headers['retry-after']).toBe('60');
    expect(refused.json().error).toMatchObject({ code: 'rate_limit_exceeded', type: 'requests' });
    expect(refused.headers['x-request-id']).toBeTruthy();
    // a right key from the throttled address is refused too: a guesser learns nothing
    expect((await call(KEY)).statusCode).toBe(429);
    // troupe's envelope outside /v1, with retry-after too
    const api = await call(KEY, '10.0.0.1', '/api/v1/agents');
    expect(api.statusCode).toBe(429);
    expect(api.headers['retry-after']).toBe('60');
    expect(api.json().error.code).toBe('TROUPE_ERR_GATEWAY_RATE_LIMITED');
    // another address is not affected
    expect((await call(KEY, '10.0.0.2')).statusCode).toBe(200);

    clock.advance(45_000);
    expect((await call(KEY)).headers['retry-after']).toBe('15');
    clock.advance(15_000);
    expect((await call(KEY)).statusCode).toBe(200);
    expect((await call('guess-again-aaaaaaaa')).statusCode).toBe(401);
  });

  it('keeps a bounded number of addresses', () => {
    const clock = new ManualClock(0);
    const t = new AuthThrottle({ maxFailures: 1, maxAddresses: 100, clock });
    for (let i = 0; i < 1_000; i++) t.fail(`10.0.${i >> 8}.${i & 255}`);
    expect(t.size).toBe(100);
    expect(t.retryAfterMs('10.0.3.231')).toBe(60_000);
    expect(t.retryAfterMs('10.0.0.0')).toBe(0);
  });

  it('stops a key guesser at a real node (20 failures per minute by default)', async () => {
    const node = await testNode({ http: { port: 0, apiKeys: [KEY] } });
    const codes: number[] = [];
    for (let i = 0; i < 30; i++) {
      const r = await fetch(`${node.http!.url}/v1/models`, { headers: { authorization: `Bearer wrong-${i}-xxxxxxxx` } });
      codes.push(r.status);
    }
    expect(codes.slice(0, 20).every((c) => c === 401)).toBe(true);
    expect(codes.slice(20).every((c) => c === 429)).toBe(true);
  });
});
