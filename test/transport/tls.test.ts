import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { CLOSE_CODES, PeerTransport } from '../../transport/index.js';
import { until } from '../helpers.js';
import { makeCerts, type TestCerts } from './certs.js';
import { allUp, closeAll, envelope, startNode, type TestNode } from './helpers.js';

/** Connect a bare client; resolves 'open' or the error that stopped it before that. */
function tryConnect(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ open: boolean; error?: string; ws: WebSocket }> {
  const ws = new WebSocket(url, { perMessageDeflate: false, ...options });
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ open: true, ws }));
    ws.once('error', (err: Error & { code?: string }) => resolve({ open: false, error: err.code ?? err.message, ws }));
    ws.once('close', () => resolve({ open: false, error: 'closed', ws }));
  });
}

describe('peer links over TLS (wss)', () => {
  let certs: TestCerts;
  const nodes: TestNode[] = [];
  const sockets: WebSocket[] = [];
  beforeAll(() => {
    certs = makeCerts();
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.terminate();
    await closeAll(nodes.splice(0));
  });
  const tls = () => ({ cert: certs.cert, key: certs.key, ca: certs.ca });

  it('two nodes over wss, with the secret proof inside TLS, exchange messages', async () => {
    const a = await startNode('a', { tls: tls(), secret: 'k' });
    expect(a.url).toMatch(/^wss:\/\/127\.0\.0\.1:\d+$/);
    const b = await startNode('b', { tls: tls(), secret: 'k', seeds: [a.url] });
    nodes.push(a, b);
    await until(() => allUp([a, b]), 15_000, 'a and b up over wss');
    b.t.send('a', envelope('a', 'over tls'));
    a.t.send('b', envelope('b', 'and back'));
    await until(() => a.received.length === 1 && b.received.length === 1, 15_000, 'both delivered');
    expect(a.received[0]!.env.payload).toBe('over tls');
    expect(b.received[0]!.env.payload).toBe('and back');
  });

  it('still refuses a wrong cluster secret over TLS', async () => {
    const a = await startNode('a', { tls: tls(), secret: 'right' });
    const b = await startNode('b', { tls: tls(), secret: 'wrong', seeds: [a.url] });
    nodes.push(a, b);
    await until(() => a.events.some((e) => e.type === 'link.rejected' && e.code === CLOSE_CODES.auth), 15_000, 'auth rejection');
    expect(a.t.members()).toHaveLength(1);
  });

  it('a plain ws client cannot join a TLS peer port', async () => {
    const a = await startNode('a', { tls: tls() });
    nodes.push(a);
    const r = await tryConnect(a.url.replace('wss://', 'ws://'));
    sockets.push(r.ws);
    expect(r.open).toBe(false);
    expect(a.t.links()).toEqual([]);
  });

  it('a dialer that does not trust the certificate does not connect', async () => {
    const a = await startNode('a', { tls: tls() });
    nodes.push(a);
    const r = await tryConnect(a.url, { ca: certs.otherCa });
    sockets.push(r.ws);
    expect(r).toMatchObject({ open: false, error: expect.stringMatching(/CERT|SIGNATURE|ISSUER/) });
  });

  it('with mutual TLS, a client without a certificate is refused and a node with one joins', async () => {
    const a = await startNode('a', { tls: { ...tls(), mutual: true } });
    nodes.push(a);
    const r = await tryConnect(a.url, { ca: certs.ca });
    sockets.push(r.ws);
    expect(r.open).toBe(false);
    expect(a.t.links()).toEqual([]);
    const b = await startNode('b', { tls: tls(), seeds: [a.url] });
    nodes.push(b);
    await until(() => allUp([a, b]), 15_000, 'b joins with its certificate');
  });

  it('refuses plain ws:// seeds and publicUrl with tls, mutual TLS without a CA, and text that is not PEM', () => {
    expect(() => new PeerTransport({ nodeId: 'a', tls: tls(), seeds: ['ws://127.0.0.1:7700'], onEnvelope: () => undefined })).toThrow(
      expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }),
    );
    expect(() => new PeerTransport({ nodeId: 'a', tls: tls(), publicUrl: 'ws://10.0.0.1:7700', onEnvelope: () => undefined })).toThrow(
      expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }),
    );
    expect(() => new PeerTransport({ nodeId: 'a', tls: { cert: certs.cert, key: certs.key, mutual: true }, onEnvelope: () => undefined })).toThrow(
      expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID', message: expect.stringMatching(/tls\.ca/) }),
    );
    expect(() => new PeerTransport({ nodeId: 'a', tls: { cert: 'not pem', key: certs.key }, onEnvelope: () => undefined })).toThrow(
      expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }),
    );
  });
});
