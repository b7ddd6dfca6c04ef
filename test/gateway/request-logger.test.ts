import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createServer, gatewayOptionsSchema } from '../../gateway/server.js';

describe('request loggers', () => {
  it('are made only when a request logs, and carry its request id', async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const logger = pino({ level: 'info' }, sink);
    const { app, readiness } = createServer(gatewayOptionsSchema.parse({ port: 0 }), logger, 'n1');
    readiness.state = 'ready';
    let children = 0;
    const real = app.log.child.bind(app.log);
    app.log.child = ((b: never, o: never) => { children++; return real(b, o); }) as typeof app.log.child;
    app.get('/quiet', async () => ({ ok: true }));
    app.get('/talks', async (req) => {
      req.log.info({ extra: 1 }, 'hello from a route');
      req.log.warn('again');
      return { ok: true };
    });
    await app.ready();
    for (let i = 0; i < 5; i++) expect((await app.inject({ url: '/quiet' })).statusCode).toBe(200);
    expect(children).toBe(0);
    const res = await app.inject({ url: '/talks', headers: { 'x-request-id': 'req-log-1' } });
    expect(res.statusCode).toBe(200);
    await app.close();
    expect(children).toBe(1);
    const said = lines.filter((l) => l.msg === 'hello from a route' || l.msg === 'again');
    expect(said).toHaveLength(2);
    expect(said.every((l) => l.reqId === 'req-log-1' && l.component === 'gateway')).toBe(true);
    expect(said[0]).toMatchObject({ extra: 1, level: 30 });
  });
});
