import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { until } from '../helpers.js';
import { allUp, closeAll, envelope, startNode, type TestNode } from './helpers.js';

/** The masking key of the first client frame in `bytes` (a client frame is always masked). */
function maskOf(bytes: Buffer): Buffer {
  expect(bytes[1]! & 0x80).toBe(0x80);
  const len = bytes[1]! & 0x7f;
  const at = len === 126 ? 4 : len === 127 ? 10 : 2;
  return bytes.subarray(at, at + 4);
}

/** A plain WebSocket server that keeps the raw bytes of the first frame a dialer sends it. */
async function frameSpy(): Promise<{ port: number; first: Promise<Buffer>; close: () => Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => wss.once('listening', () => r()));
  const first = new Promise<Buffer>((resolve) => {
    wss.once('connection', (_ws, req) => req.socket.once('data', (d: Buffer) => resolve(d)));
  });
  return {
    port: (wss.address() as AddressInfo).port,
    first,
    close: () => new Promise<void>((r) => {
      for (const c of wss.clients) c.terminate();
      wss.close(() => r());
    }),
  };
}

describe('frame masking on peer links', () => {
  const nodes: Array<TestNode | undefined> = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('a link dialed to a loopback address sends its frames unmasked (an all-zero key)', async () => {
    const spy = await frameSpy();
    try {
      nodes.push(await startNode('a', { seeds: [`ws://127.0.0.1:${spy.port}`] }));
      expect([...maskOf(await spy.first)]).toEqual([0, 0, 0, 0]);
    } finally {
      await spy.close();
    }
  });

  it('a link dialed by host name keeps a random key: a name may resolve past a proxy', async () => {
    const spy = await frameSpy();
    try {
      nodes.push(await startNode('a', { seeds: [`ws://localhost:${spy.port}`] }));
      expect([...maskOf(await spy.first)]).not.toEqual([0, 0, 0, 0]);
    } finally {
      await spy.close();
    }
  });

  it('nodes linked over loopback exchange envelopes both ways with unmasked frames', async () => {
    const a = await startNode('a');
    nodes.push(a);
    const b = await startNode('b', { seeds: [a.url] });
    nodes.push(b);
    await until(() => allUp([a, b]), 15_000, 'a and b up');
    b.t.send('a', envelope('a', { n: 1 }));
    a.t.send('b', envelope('b', { n: 2 }));
    await until(() => a.received.length === 1 && b.received.length === 1, 15_000, 'both received');
    expect(a.received[0]!.env.payload).toEqual({ n: 1 });
    expect(b.received[0]!.env.payload).toEqual({ n: 2 });
  });
});
