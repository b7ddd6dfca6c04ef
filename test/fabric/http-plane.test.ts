import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Plane, planeConfigSchema } from '../../index.js';
import { silent } from '../helpers.js';

/** A real local upstream whose answers the test scripts. */
class Upstream {
  hits = 0;
  readonly seen: Array<{ headers: IncomingMessage['headers']; body: unknown }> = [];
  mode: 'ok' | 'fail' | 'reject' | 'hang' = 'ok';
  private readonly server: Server;
  private readonly hanging: Array<() => void> = [];
  constructor() {
    this.server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        this.hits++;
        this.seen.push({ headers: req.headers, body: JSON.parse(body) as unknown });
        if (this.mode === 'hang') {
          this.hanging.push(() => res.destroy());
          return;
        }
        const status = this.mode === 'ok' ? 200 : this.mode === 'reject' ? 422 : 503;
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: this.mode === 'ok', n: this.hits }));
      });
    });
  }
  async listen(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/run?token=secret`;
  }
  async close(): Promise<void> {
    this.hanging.splice(0).forEach((f) => f());
    this.server.closeAllConnections();
    await new Promise((r) => this.server.close(r));
  }
}

let upstream: Upstream | undefined;
afterEach(async () => {
  vi.useRealTimers();
  await upstream?.close();
});

async function httpPlane(connector: Record<string, unknown>): Promise<Plane> {
  upstream = new Upstream();
  const url = await upstream.listen();
  return new Plane(planeConfigSchema.parse({ id: 'ipaas-1', kind: 'ipaas', connector: { type: 'http', url, retryBaseMs: 1, retryMaxMs: 5, ...connector } }), 16, silent);
}
const action = (n = 1) => ({ action_id: `a${n}`, action_type: 'workflow', target_system: 'netsuite', entity_id: `e${n}`, data: { n }, primary_plane_id: 'ipaas-1' });

describe('HTTP plane against a real local server', () => {
  it('posts the action with the auth headers and returns the JSON answer; shows no secret', async () => {
    const plane = await httpPlane({ bearerToken: 'tok-1', headers: { 'x-api-key': 'k-2' } });
    await expect(plane.run(action())).resolves.toEqual({ accepted: true, n: 1 });
    expect(upstream!.seen[0]!.headers['authorization']).toBe('Bearer tok-1');
    expect(upstream!.seen[0]!.headers['x-api-key']).toBe('k-2');
    expect(upstream!.seen[0]!.body).toMatchObject({ action_id: 'a1', action_type: 'workflow', target_system: 'netsuite', data: { n: 1 } });
    const view = JSON.stringify(plane.view());
    expect(view).not.toContain('tok-1');
    expect(view).not.toContain('k-2');
    expect(view).not.toContain('secret');
    expect(plane.view()).toMatchObject({ health: 'healthy', breaker: 'closed', stats: { executed: 1, failed: 0 } });
  });

  it('retries 5xx answers, and never a 4xx one', async () => {
    const plane = await httpPlane({ retries: 2, breakerFailures: 10 });
    upstream!.mode = 'fail';
    await expect(plane.run(action())).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED', details: { upstream_status: 503 } });
    expect(upstream!.hits).toBe(3);
    upstream!.mode = 'reject';
    await expect(plane.run(action(2))).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED', details: { upstream_status: 422 } });
    expect(upstream!.hits).toBe(4);
    expect(plane.view().stats).toMatchObject({ executed: 0, failed: 2, last_error_code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED' });
  });

  it('opens its breaker after consecutive failures, refuses without calling, and closes after a good trial call', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 1_000_000 });
    const plane = await httpPlane({ retries: 0, breakerFailures: 3, breakerHalfOpenMs: 60_000 });
    upstream!.mode = 'fail';
    for (let i = 0; i < 3; i++) await expect(plane.run(action(i))).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED' });
    expect(plane.view()).toMatchObject({ breaker: 'open', health: 'unhealthy' });
    upstream!.mode = 'ok';
    await expect(plane.run(action(4))).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_BREAKER_OPEN' });
    expect(upstream!.hits).toBe(3);
    // still open just before the half-open time
    vi.setSystemTime(1_000_000 + 59_000);
    await expect(plane.run(action(5))).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_BREAKER_OPEN' });
    expect(upstream!.hits).toBe(3);
    vi.setSystemTime(1_000_000 + 61_000);
    await expect(plane.run(action(6))).resolves.toMatchObject({ accepted: true });
    expect(upstream!.hits).toBe(4);
    expect(plane.view()).toMatchObject({ breaker: 'closed', health: 'healthy' });
    await expect(plane.run(action(7))).resolves.toMatchObject({ accepted: true });
  });

  it('a failed trial call opens the breaker again', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: 2_000_000 });
    const plane = await httpPlane({ retries: 0, breakerFailures: 1, breakerHalfOpenMs: 1_000 });
    upstream!.mode = 'fail';
    await expect(plane.run(action())).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED' });
    vi.setSystemTime(2_000_000 + 2_000);
    await expect(plane.run(action(2))).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED' });
    expect(upstream!.hits).toBe(2);
    expect(plane.view().breaker).toBe('open');
  });

  it('times out an attempt that gets no answer', async () => {
    const plane = await httpPlane({ retries: 1, timeoutMs: 50, breakerFailures: 10 });
    upstream!.mode = 'hang';
    await expect(plane.run(action())).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_TIMEOUT' });
    expect(upstream!.hits).toBe(2);
  });

  it('an unreachable endpoint is a connector failure', async () => {
    const plane = await httpPlane({ retries: 0 });
    await upstream!.close();
    upstream = undefined;
    await expect(plane.run(action())).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED' });
  });

  it('refuses past its in-flight bound with TROUPE_ERR_FABRIC_BUSY', async () => {
    upstream = new Upstream();
    const url = await upstream.listen();
    const plane = new Plane(planeConfigSchema.parse({ id: 'gw', kind: 'api_gateway', connector: { type: 'http', url, timeoutMs: 5_000, retries: 0 } }), 1, silent);
    upstream.mode = 'hang';
    const first = plane.run(action());
    await vi.waitFor(() => expect(upstream!.hits).toBe(1));
    await expect(plane.run(action(2))).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_BUSY' });
    await upstream.close();
    upstream = undefined;
    await expect(first).rejects.toMatchObject({ code: 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED' });
  });
});
