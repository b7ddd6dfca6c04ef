import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { until } from '../helpers.js';
import { closeAll, rawConnect, startNode, type TestNode } from './helpers.js';

/** A TCP connection to the peer port that sends the start of an upgrade request and then nothing. */
function halfOpen(port: number): Promise<{ socket: Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => (got += d.toString()));
    const closed = new Promise<string>((r) => socket.on('close', () => r(got)));
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n');
      resolve({ socket, closed });
    });
    socket.once('error', reject);
  });
}

describe('pending connections on the peer port are bounded', () => {
  const nodes: TestNode[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await closeAll(nodes.splice(0));
  });

  it('drops half-open upgrade requests past maxPendingHandshakes at once, and the rest after handshakeTimeoutMs on its clock', async () => {
    const clock = new ManualClock(1_000);
    const a = await startNode('a', { clock, maxPendingHandshakes: 50, handshakeTimeoutMs: 5_000 });
    nodes.push(a);
    const port = Number(new URL(a.url).port);
    const conns = [];
    for (let i = 0; i < 80; i++) {
      const c = await halfOpen(port);
      sockets.push(c.socket);
      conns.push(c);
    }
    await until(() => a.t.pendingConnections() === 50, 15_000, '50 pending');
    // the 30 past the bound were dropped as they came
    const over = await Promise.all(conns.slice(50).map((c) => c.closed));
    expect(over).toHaveLength(30);
    expect(a.t.pendingConnections()).toBe(50);
    clock.advance(4_999);
    expect(a.t.pendingConnections()).toBe(50);
    clock.advance(1);
    await Promise.all(conns.slice(0, 50).map((c) => c.closed));
    expect(a.t.pendingConnections()).toBe(0);
  });

  it('refuses an upgrade request whose head is over 8 KiB', async () => {
    const a = await startNode('a');
    nodes.push(a);
    const port = Number(new URL(a.url).port);
    const c = await halfOpen(port);
    sockets.push(c.socket);
    c.socket.write(`X-Pad: ${'a'.repeat(12 * 1024)}\r\n\r\n`);
    expect(await c.closed).toMatch(/^HTTP\/1\.1 431/);
  });

  it('reads no frame larger than a handshake needs before the link is authenticated', async () => {
    const a = await startNode('a');
    nodes.push(a);
    const c = await rawConnect(a.url);
    c.ws.send(Buffer.alloc(64 * 1024));
    expect((await c.closed).code).toBe(1009); // message too big, refused by size before it was read
  });

  it('answers plain HTTP on the peer port with 426 and closes', async () => {
    const a = await startNode('a');
    nodes.push(a);
    const res = await fetch(a.url.replace('ws://', 'http://'));
    expect(res.status).toBe(426);
    await res.text();
  });
});
