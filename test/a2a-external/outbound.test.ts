import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressRefusal, cardUrlOf, cardUrlsOf, checkOutboundUrl, checkUrlNow, guardedFetch } from '../../actors/a2a/external/index.js';

const closed = { allowLoopback: false, allowPrivate: false };
const loopback = { allowLoopback: true, allowPrivate: false };

describe('outbound address checks of external A2A agents (SSRF)', () => {
  it('allows public unicast addresses and refuses loopback, private, link-local and metadata ones by default', () => {
    expect(addressRefusal('93.184.216.34', closed)).toBeUndefined();
    expect(addressRefusal('2606:4700::1111', closed)).toBeUndefined();
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '172.16.0.9', '192.168.1.1', '100.64.0.1', '169.254.169.254', 'fe80::1', 'fd00:ec2::254', '::ffff:127.0.0.1', '::ffff:169.254.169.254', '0.0.0.0', '224.0.0.1']) {
      expect(addressRefusal(a, closed), a).toBeDefined();
    }
  });

  it('lets loopback through only when allowLoopback is set, and private ranges only with allowPrivate', () => {
    expect(addressRefusal('127.0.0.1', loopback)).toBeUndefined();
    expect(addressRefusal('::ffff:127.0.0.1', loopback)).toBeUndefined();
    expect(addressRefusal('10.1.2.3', loopback)).toBeDefined();
    expect(addressRefusal('10.1.2.3', { allowLoopback: false, allowPrivate: true })).toBeUndefined();
    expect(addressRefusal('169.254.169.254', { allowLoopback: false, allowPrivate: true })).toBeUndefined();
    // never, whatever the policy
    expect(addressRefusal('0.0.0.0', { allowLoopback: true, allowPrivate: true })).toBeDefined();
  });

  it('checks every address a name resolves to, and refuses URLs with credentials or another scheme', async () => {
    const resolveTo = (addrs: string[]) => async () => addrs;
    await expect(checkOutboundUrl('https://agents.example/card.json', closed, resolveTo(['93.184.216.34']))).resolves.toBeUndefined();
    await expect(checkOutboundUrl('https://agents.example/card.json', closed, resolveTo(['93.184.216.34', '10.0.0.5']))).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' });
    await expect(checkOutboundUrl('https://user:pw@agents.example/', closed, resolveTo(['93.184.216.34']))).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' });
    await expect(checkOutboundUrl('file:///etc/passwd', closed)).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' });
    await expect(checkOutboundUrl('http://localhost:1/', closed)).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' });
  });

  it('judges literal addresses and localhost when a spec is made, without a resolver', () => {
    expect(() => checkUrlNow('http://localhost:8080/', closed)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' }));
    expect(() => checkUrlNow('http://[::1]:8080/', closed)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' }));
    expect(() => checkUrlNow('http://localhost:8080/', loopback)).not.toThrow();
    expect(() => checkUrlNow('https://agents.example/', closed)).not.toThrow();
  });

  it('names the card URL: a .json URL as given, any other URL the well-known card under it', () => {
    expect(cardUrlOf('http://h:1/a2a/x/.well-known/agent-card.json')).toBe('http://h:1/a2a/x/.well-known/agent-card.json');
    expect(cardUrlOf('http://h:1/a2a/x/')).toBe('http://h:1/a2a/x/.well-known/agent-card.json');
    expect(cardUrlOf('http://h:1')).toBe('http://h:1/.well-known/agent-card.json');
    expect(cardUrlsOf('http://h:1/rpc')).toEqual(['http://h:1/rpc/.well-known/agent-card.json', 'http://h:1/.well-known/agent-card.json']);
    expect(cardUrlsOf('http://h:1/')).toEqual(['http://h:1/.well-known/agent-card.json']);
  });
});

describe('the guarded fetch of a proxy agent', () => {
  let server: Server;
  let base: string;
  const seen: Array<Record<string, string | string[] | undefined>> = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(req.headers);
      if (req.url === '/redirect') {
        res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data' }).end();
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('adds the spec headers (the caller\'s win on a clash) and reaches an allowed address', async () => {
    const f = guardedFetch({ authorization: 'Bearer spec', 'x-tenant': 't1' }, loopback);
    const res = await f(`${base}/card`, { headers: { 'x-tenant': 'caller' } });
    expect(res.status).toBe(200);
    expect(seen.at(-1)).toMatchObject({ authorization: 'Bearer spec', 'x-tenant': 'caller' });
  });

  it('refuses a loopback server when loopback is not allowed, before any request', async () => {
    const n = seen.length;
    await expect(guardedFetch(undefined, closed)(`${base}/card`)).rejects.toMatchObject({ code: 'TROUPE_ERR_A2A_EXTERNAL_URL_REFUSED' });
    expect(seen.length).toBe(n);
  });

  it('does not follow a redirect (it could lead past the check)', async () => {
    await expect(guardedFetch(undefined, loopback)(`${base}/redirect`)).rejects.toThrow();
  });
});
