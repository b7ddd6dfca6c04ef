import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { A2AProxyProvider, externalAgentsOptionsSchema, guardedFetch } from '../../actors/a2a/external/index.js';
import { ManualClock } from '../../protocol/index.js';
import { silent, until } from '../helpers.js';

/**
 * A hostile or broken remote A2A server: an endless card, an answer declaring a huge length,
 * a card request never answered. The proxy's reads are bounded in bytes, and a caller's
 * cancel ends its wait even while the card is being read.
 */
let server: Server;
let base: string;
const held: ServerResponse[] = [];
let closedEndless = 0;
let cardRequests = 0;

function endless(res: ServerResponse, req: IncomingMessage): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  const chunk = Buffer.alloc(16 * 1024, 0x20);
  let stop = false;
  req.socket.on('close', () => {
    stop = true;
    closedEndless++;
  });
  const pump = (): void => {
    while (!stop && res.write(chunk));
    if (!stop) res.once('drain', pump);
  };
  res.write('{"name":"');
  pump();
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url?.startsWith('/endless')) return endless(res, req);
    if (req.url?.startsWith('/declared')) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) });
      res.write('{');
      held.push(res);
      return;
    }
    if (req.url?.startsWith('/finite')) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(`"${'x'.repeat(512 * 1024)}"`);
      return;
    }
    if (req.url?.startsWith('/silent')) {
      cardRequests++;
      held.push(res);
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const policy = { allowLoopback: true, allowPrivate: false, maxResponseBytes: 64 * 1024 };

describe('hostile: answers of a remote A2A server are bounded', () => {
  it('an answer longer than maxResponseBytes is cut with a coded error', async () => {
    const res = await guardedFetch(undefined, policy)(`${base}/finite`);
    await expect(res.text()).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_ANSWER_TOO_LARGE' });
  });

  it('an answer declaring more than maxResponseBytes is refused before its body is read', async () => {
    await expect(guardedFetch(undefined, policy)(`${base}/declared`)).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_ANSWER_TOO_LARGE' });
  });

  it('an endless agent card fails the proxy call (coded) and the connection to the server is dropped', async () => {
    const options = externalAgentsOptionsSchema.parse({ allowLoopback: true, maxResponseBytes: 64 * 1024 });
    const proxy = new A2AProxyProvider({ agent: 'far', spec: { url: `${base}/endless/card.json`, timeoutMs: 60_000 }, options, logger: silent, pii: () => undefined });
    const err = await proxy.complete({ model: 'far', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_ANSWER_TOO_LARGE' });
    expect(String((err as Error).message)).not.toContain('/endless');
    await until(() => closedEndless >= 1);
  });

  it('a card request the server never answers: the caller\'s cancel ends the call (coded), not the server', async () => {
    const options = externalAgentsOptionsSchema.parse({ allowLoopback: true });
    const proxy = new A2AProxyProvider({ agent: 'far', spec: { url: `${base}/silent/card.json`, timeoutMs: 3_600_000 }, options, logger: silent, pii: () => undefined });
    const ac = new AbortController();
    const call = proxy.complete({ model: 'far', messages: [{ role: 'user', content: 'hi' }] }, { signal: ac.signal }).catch((e: unknown) => e);
    await until(() => cardRequests >= 1);
    ac.abort();
    expect(await call).toMatchObject({ code: 'TROUPE_ERR_AGENT_CANCELLED' });
  }, 15_000);

  it('a card request the server never answers: the call\'s time limit on the node clock ends it (coded)', async () => {
    const options = externalAgentsOptionsSchema.parse({ allowLoopback: true });
    const clock = new ManualClock();
    const proxy = new A2AProxyProvider({ agent: 'far', spec: { url: `${base}/silent/card.json`, timeoutMs: 30_000 }, options, logger: silent, pii: () => undefined, clock });
    const before = cardRequests;
    const call = proxy.complete({ model: 'far', messages: [{ role: 'user', content: 'hi' }] }).catch((e: unknown) => e);
    await until(() => cardRequests > before);
    clock.advance(30_000);
    expect(await call).toMatchObject({ code: 'TROUPE_ERR_MODEL_TIMEOUT' });
  }, 15_000);
});
