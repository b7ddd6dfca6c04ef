import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { CLOSE_CODES, computeProof, PROTOCOL_VERSION } from '../../transport/index.js';
import { isLoopbackAddress, ManualClock } from '../../protocol/index.js';
import { until } from '../helpers.js';
import { allUp, closeAll, envelope, FAST, rawConnect, rawHandshake, startNode, type TestNode } from './helpers.js';
import { relayAttack } from './relay.js';
import { drive, driveUntil, settled, tickOf } from './clocked.js';

const hb = FAST.heartbeatMs;
const tick = tickOf(hb);
const rejected = (n: TestNode, code: number) => n.events.some((e) => e.type === 'link.rejected' && e.code === code);

describe('peer handshake', () => {
  const nodes: TestNode[] = [];
  afterEach(async () => {
    await closeAll(nodes.splice(0));
  });

  it('admits a peer that proves the same secret', async () => {
    const a = await startNode('a', { secret: 's3cret' });
    const b = await startNode('b', { secret: 's3cret', seeds: [a.url] });
    nodes.push(a, b);
    await until(() => allUp([a, b], 2), 15_000, 'a and b up');
  });

  it('rejects a wrong secret with the auth close code, and no membership', async () => {
    const a = await startNode('a', { secret: 'right' });
    const b = await startNode('b', { secret: 'wrong', seeds: [a.url] });
    nodes.push(a, b);
    await until(() => rejected(a, CLOSE_CODES.auth) && rejected(b, CLOSE_CODES.auth), 15_000, 'auth rejection on both sides');
    expect(a.t.members().map((m) => m.node)).toEqual(['a']);
    expect(b.t.members().map((m) => m.node)).toEqual(['b']);
    expect(a.t.stats().rejectedLinks).toBeGreaterThan(0);
    expect(() => b.t.send('a', { id: '1', to: 'troupe://a/user/x', type: 't', createdAt: 0, payload: 1 })).toThrow(
      expect.objectContaining({ code: 'TROUPE_ERR_TRANSPORT_NODE_DOWN' }),
    );
  });

  it('rejects a secret-less peer when a secret is configured', async () => {
    const a = await startNode('a', { secret: 'right' });
    const b = await startNode('b', { seeds: [a.url] });
    nodes.push(a, b);
    await until(() => rejected(a, CLOSE_CODES.auth), 15_000, 'auth rejection');
    expect(a.t.members()).toHaveLength(1);
  });

  it('rejects another cluster with the cluster-mismatch close code', async () => {
    const a = await startNode('a', { clusterName: 'blue' });
    const b = await startNode('b', { clusterName: 'green', seeds: [a.url] });
    nodes.push(a, b);
    await until(() => rejected(a, CLOSE_CODES.clusterMismatch) && rejected(b, CLOSE_CODES.clusterMismatch), 15_000, 'cluster rejection');
    expect(a.t.members()).toHaveLength(1);
    expect(b.t.members()).toHaveLength(1);
  });

  it('rejects another protocol version with the version-mismatch close code', async () => {
    const a = await startNode('a');
    nodes.push(a);
    const c = await rawConnect(a.url);
    c.send({ t: 'hello', nodeId: 'x', cluster: 'troupe', protocolVersion: PROTOCOL_VERSION + 1, incarnation: 'i', peerUrl: 'ws://127.0.0.1:9', nonce: randomBytes(32) });
    expect((await c.closed).code).toBe(CLOSE_CODES.versionMismatch);
  });

  it('rejects a proof that was not made over this link\'s nonce (no replay), without ever sending its own proof', async () => {
    const a = await startNode('a', { secret: 'k' });
    nodes.push(a);
    const c = await rawConnect(a.url);
    const nonce = randomBytes(32);
    c.send({ t: 'hello', nodeId: 'x', cluster: 'troupe', protocolVersion: PROTOCOL_VERSION, incarnation: 'i', peerUrl: 'ws://127.0.0.1:9', nonce });
    const hello = (await c.next((f) => (f as { t?: string }).t === 'hello')) as { nodeId: string; incarnation: string };
    // Right secret, but over a nonce of our choosing instead of the server's fresh one.
    const mac = computeProof('k', {
      cluster: 'troupe', role: 'dialer',
      dialer: { node: 'x', incarnation: 'i', nonce },
      acceptor: { node: hello.nodeId, incarnation: hello.incarnation, nonce: randomBytes(32) },
    });
    c.send({ t: 'proof', mac });
    expect((await c.closed).code).toBe(CLOSE_CODES.auth);
    expect(a.t.members()).toHaveLength(1);
    // The acceptor checks before it answers: a failed dialer never sees its proof.
    expect(c.frames.map((f) => (f as { t?: string }).t)).toEqual(['hello']);
  });

  it('refuses a proof made for the other role (an acceptor\'s proof presented by a dialer)', async () => {
    const a = await startNode('a', { secret: 'k' });
    nodes.push(a);
    const c = await rawConnect(a.url);
    const nonce = randomBytes(32);
    c.send({ t: 'hello', nodeId: 'x', cluster: 'troupe', protocolVersion: PROTOCOL_VERSION, incarnation: 'i', peerUrl: 'ws://127.0.0.1:9', nonce });
    const hello = (await c.next((f) => (f as { t?: string }).t === 'hello')) as { nodeId: string; incarnation: string; nonce: Uint8Array };
    const transcript = {
      cluster: 'troupe',
      dialer: { node: 'x', incarnation: 'i', nonce },
      acceptor: { node: hello.nodeId, incarnation: hello.incarnation, nonce: hello.nonce },
    };
    c.send({ t: 'proof', mac: computeProof('k', { ...transcript, role: 'acceptor' }) });
    expect((await c.closed).code).toBe(CLOSE_CODES.auth);
    expect(c.frames.map((f) => (f as { t?: string }).t)).toEqual(['hello']);
  });

  it('a relaying outsider without the secret gets no proof from either node and delivers nothing', async () => {
    const a = await startNode('a', { secret: 'k' });
    const b = await startNode('b', { secret: 'k', seeds: [a.url] });
    nodes.push(a, b);
    await until(() => allUp([a, b], 2), 15_000, 'a and b up');
    const before = [a.received.length, b.received.length];
    const out = await relayAttack(a.url, b.url, { a: 'a', b: 'b' }, 'user/sink', 'forged');
    expect(out.proofs).toBe(0);
    // Each node refused the forged batch as a frame out of place in a handshake: the close
    // is its answer to that very frame, so nothing of it was handed on.
    expect(out.closed).toEqual([CLOSE_CODES.protocolError, CLOSE_CODES.protocolError]);
    expect([a.received.length, b.received.length]).toEqual(before);
    // and the real link between them carries on
    b.t.send('a', envelope('a', 'genuine'));
    await until(() => a.received.length === before[0]! + 1, 15_000, 'genuine message');
    expect(a.received.at(-1)!.meta.fromNode).toBe('b');
    expect(a.received.map((r) => r.env.payload)).not.toContain('forged');
  });

  it('accepts a hand-made handshake with the right proof', async () => {
    const a = await startNode('a', { secret: 'k' });
    nodes.push(a);
    const c = await rawHandshake(a.url, { nodeId: 'x', secret: 'k' });
    await c.next((f) => (f as { t?: string }).t === 'proof');
    await until(() => a.t.status('x') === 'up', 15_000, 'x up');
    c.ws.terminate();
  });

  it('closes a link that does not finish its handshake in time (on its clock)', async () => {
    const clock = new ManualClock(1_000);
    const a = await startNode('a', { handshakeTimeoutMs: 150, clock });
    nodes.push(a);
    const c = await rawConnect(a.url);
    await until(() => a.t.links().length === 1, 15_000, 'link accepted');
    clock.advance(149);
    expect(a.t.links()).toEqual([expect.objectContaining({ state: 'handshake' })]);
    clock.advance(1);
    expect((await c.closed).code).toBe(CLOSE_CODES.handshakeTimeout);
  });

  it('refuses frames other than hello before the handshake', async () => {
    const a = await startNode('a');
    nodes.push(a);
    const c = await rawConnect(a.url);
    c.send({ t: 'batch', envs: [{ id: '1', to: 'troupe://a/user/x', type: 't', createdAt: 0 }] });
    expect((await c.closed).code).toBe(CLOSE_CODES.protocolError);
    expect(a.received).toHaveLength(0);
    expect(a.t.stats().protocolErrors).toBe(1);
  });

  it('detects a seed that is its own address and stops dialing it', async () => {
    const clock = new ManualClock(1_000);
    const probe = await startNode('probe');
    const port = Number(new URL(probe.url).port);
    await probe.t.close();
    const a = await startNode('a', { port, seeds: [`ws://localhost:${port}`], clock });
    nodes.push(a);
    clock.advance(0); // the first dial
    await until(() => rejected(a, CLOSE_CODES.selfConnection), 15_000, 'self connection detected');
    await until(() => a.t.links().length === 0, 15_000, 'both ends of the self link closed');
    const n = a.events.filter((e) => e.type === 'link.rejected').length;
    // Past every backoff the dialer could use, on its own clock: a dial would show as a link at once.
    for (let i = 0; i < 50; i++) {
      clock.advance(100);
      expect(a.t.links()).toEqual([]);
    }
    expect(a.events.filter((e) => e.type === 'link.rejected').length).toBe(n);
    expect(a.t.members()).toHaveLength(1);
  });

  it('refuses a second node using the same node id', async () => {
    const a = await startNode('a');
    const twin = await startNode('a', { seeds: [a.url] });
    nodes.push(a, twin);
    await until(() => rejected(a, CLOSE_CODES.selfConnection), 15_000, 'duplicate id refused');
    expect(a.t.members()).toHaveLength(1);
  });

  it('keeps exactly one link when two nodes dial each other at the same moment', async () => {
    for (let round = 0; round < 5; round++) {
      // On a shared ManualClock both dials go out in one instant, and no heartbeat or
      // staleness judgement can interfere while the two handshakes race.
      const clock = new ManualClock(10_000);
      const a = await startNode(`a${round}`, { clock });
      const b = await startNode(`b${round}`, { clock });
      nodes.push(a, b);
      a.t.addSeed(b.url);
      b.t.addSeed(a.url);
      clock.advance(0); // both dials, at the same moment
      await driveUntil(clock, [a, b], tick, () => allUp([a, b], 2) && settled([a, b]), 20 * hb, 'a and b up over one link each');
      // The survivor is the same socket seen from both ends...
      const [la, lb] = [a.t.links()[0]!, b.t.links()[0]!];
      expect(la.direction).not.toBe(lb.direction);
      // ...and so it stays through a few heartbeat intervals: no link comes up again.
      const ups = (n: TestNode) => n.events.filter((e) => e.type === 'link.up').length;
      const before = [ups(a), ups(b)];
      await drive(clock, [a, b], 3 * hb, tick);
      expect([ups(a), ups(b)]).toEqual(before);
      expect(settled([a, b])).toBe(true);
      expect(a.t.links()[0]!.direction).toBe(la.direction);
      expect(b.t.links()[0]!.direction).toBe(lb.direction);
    }
  });

  it('without a secret, accepts only loopback peers', async () => {
    expect(isLoopbackAddress('127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('127.9.8.7')).toBe(true);
    expect(isLoopbackAddress('::1')).toBe(true);
    expect(isLoopbackAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isLoopbackAddress('10.0.0.1')).toBe(false);
    expect(isLoopbackAddress('::ffff:192.168.1.2')).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (external === undefined) return;
    const a = await startNode('a', { host: '0.0.0.0' });
    nodes.push(a);
    const port = new URL(a.url).port;
    const c = await rawConnect(`ws://${external}:${port}`);
    expect((await c.closed).code).toBe(CLOSE_CODES.auth);
    expect(c.frames).toHaveLength(0); // not even a hello for a stranger
  });

  it('counts a text frame as a protocol error', async () => {
    const a = await startNode('a');
    nodes.push(a);
    const c = await rawConnect(a.url);
    c.ws.send('hello');
    expect((await c.closed).code).toBe(CLOSE_CODES.protocolError);
  });
});
