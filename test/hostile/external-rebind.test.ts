import { createServer } from 'node:http';
import { describe, expect, it, vi } from 'vitest';

// The first check resolves through node:dns/promises: here it answers a public address for
// `localhost` (a rebinding name's first answer); the connection resolves it for real (loopback).
vi.mock('node:dns/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:dns/promises')>();
  const lookup = async (host: string, options?: unknown) => (host === 'localhost' ? [{ address: '93.184.216.34', family: 4 }] : real.lookup(host, options as never));
  return { ...real, default: { ...real, lookup }, lookup };
});

const { guardedFetch } = await import('../../actors/a2a/external/index.js');

describe('hostile: a name that resolves elsewhere at connect time (DNS rebinding)', () => {
  it('a name checked as public but connecting to loopback is refused at connect time (coded); the server is not reached', async () => {
    let hits = 0;
    const target = createServer((_req, res) => {
      hits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const port = (target.address() as { port: number }).port;
      const f = guardedFetch(undefined, { allowLoopback: false, allowPrivate: false });
      await expect(f(`http://localhost:${port}/.well-known/agent-card.json`)).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' });
      expect(hits).toBe(0);
      // a policy that allows loopback reaches it as before
      const open = guardedFetch(undefined, { allowLoopback: true, allowPrivate: false });
      expect((await open(`http://localhost:${port}/`)).status).toBe(200);
      expect(hits).toBe(1);
    } finally {
      target.closeAllConnections();
      await new Promise<void>((r) => target.close(() => r()));
    }
  });
});
