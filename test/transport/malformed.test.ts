import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encode, encodeEnvelope, ManualClock } from '../../protocol/index.js';
import { CLOSE_CODES, PROTOCOL_VERSION } from '../../transport/index.js';
import { until } from '../helpers.js';
import { allUp, envelope, rawConnect, rawHandshake, startNode, type TestNode } from './helpers.js';

const kinds = fc.constantFrom('hello', 'proof', 'batch', 'durable', 'ack', 'hb', 'gossip', 'bye', 'nope', '');

/** Valid msgpack, wrong shapes: the frames a confused or hostile peer could send. */
const malformedFrame: fc.Arbitrary<unknown> = fc.oneof(
  fc.anything(),
  fc.tuple(kinds, fc.dictionary(fc.string({ maxLength: 8 }), fc.anything(), { maxKeys: 4 })).map(([t, rest]) => ({ ...rest, t })),
  fc.record({ t: fc.constant('batch'), envs: fc.array(fc.oneof(fc.anything(), fc.record({ id: fc.string(), to: fc.string(), type: fc.string(), createdAt: fc.double() })), { maxLength: 5 }) }),
  fc.record({ t: fc.constant('durable'), items: fc.array(fc.record({ id: fc.string({ maxLength: 200 }), bytes: fc.uint8Array({ maxLength: 64 }) }), { maxLength: 3 }) }),
  fc.record({ t: fc.constant('ack'), ids: fc.oneof(fc.anything(), fc.array(fc.anything(), { maxLength: 3 })) }),
  fc.record({ t: fc.constant('gossip'), members: fc.array(fc.record({ node: fc.string(), peer: fc.string(), incarnation: fc.anything(), status: fc.string() }), { maxLength: 3 }) }),
  fc.record({ t: fc.constant('hello'), nodeId: fc.anything(), cluster: fc.anything(), protocolVersion: fc.constant(PROTOCOL_VERSION), incarnation: fc.anything(), peerUrl: fc.anything(), nonce: fc.uint8Array({ maxLength: 40 }) }),
  fc.record({ t: fc.constant('proof'), mac: fc.oneof(fc.uint8Array({ maxLength: 40 }), fc.anything()) }),
);

function bytesOf(v: unknown): Uint8Array | undefined {
  try {
    return encode(v);
  } catch {
    return undefined;
  }
}

describe('malformed input never takes the node down', () => {
  // The node's clock never moves: no handshake times out and no silence is judged, however
  // slow the machine, so each link ends with the node's own answer to what it was sent.
  const clock = new ManualClock(1_000);
  let a: TestNode;
  beforeAll(async () => {
    a = await startNode('a', { clock, heartbeatMs: 1_000, handshakeTimeoutMs: 1_000, maxFrameBytes: 64 * 1024 });
  });
  afterAll(async () => {
    await a.t.close();
  });

  it('random bytes before the handshake close that link with the protocol-error code', async () => {
    const before = a.t.stats().protocolErrors;
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 512 }), async (bytes) => {
        const c = await rawConnect(a.url);
        c.ws.send(bytes);
        const { code } = await c.closed;
        // Anything that is not a hello is refused; a byte string that happens to decode
        // as a hello with another version would get 4003.
        expect([CLOSE_CODES.protocolError, CLOSE_CODES.versionMismatch, CLOSE_CODES.clusterMismatch]).toContain(code);
      }),
      { numRuns: 100 },
    );
    expect(a.t.stats().protocolErrors).toBeGreaterThan(before + 90);
  });

  it('valid msgpack of the wrong shape, before the handshake, is refused', async () => {
    await fc.assert(
      fc.asyncProperty(malformedFrame, async (frame) => {
        const bytes = bytesOf(frame);
        if (bytes === undefined) return;
        const c = await rawConnect(a.url);
        c.ws.send(bytes);
        const { code } = await c.closed;
        expect(code).toBeGreaterThanOrEqual(4000);
      }),
      { numRuns: 100 },
    );
  });

  it('valid msgpack of the wrong shape, after the handshake, closes only that link', async () => {
    let n = 0;
    await fc.assert(
      fc.asyncProperty(malformedFrame, async (frame) => {
        const bytes = bytesOf(frame);
        if (bytes === undefined) return;
        const c = await rawHandshake(a.url, { nodeId: `fuzz${n++}` });
        await c.next((f) => (f as { t?: string }).t === 'proof');
        const errorsBefore = a.t.stats().protocolErrors;
        c.ws.send(bytes);
        // A valid envelope right behind it: the node reads frames in order, so either it
        // refused the frame and closed the link (the probe is never read), or it took the
        // frame (accidentally valid) and the probe arrives. No waiting to see that nothing happens.
        const probe = envelope('a', 'probe');
        c.send({ t: 'batch', envs: [probe] });
        const closed = await Promise.race([
          c.closed,
          until(() => a.received.some((r) => r.env.id === probe.id), 10_000, 'probe').then(() => undefined),
        ]);
        if (closed !== undefined) {
          expect([CLOSE_CODES.protocolError, 1000, 1001, CLOSE_CODES.superseded]).toContain(closed.code);
          if (closed.code === CLOSE_CODES.protocolError) expect(a.t.stats().protocolErrors).toBe(errorsBefore + 1);
        }
        c.ws.terminate();
      }),
      // a per-run deadline for what must happen (a close or the probe), generous under load
      { numRuns: 150, timeout: 15_000 },
    );
  }, 180_000);

  it('oversized frames, bad envelopes in a batch and garbage TCP are refused too', async () => {
    const errorsBefore = a.t.stats().protocolErrors;
    const c = await rawHandshake(a.url, { nodeId: 'big' });
    await c.next((f) => (f as { t?: string }).t === 'proof');
    c.ws.send(Buffer.alloc(70 * 1024));
    expect((await c.closed).code).toBe(1009);

    const d = await rawHandshake(a.url, { nodeId: 'badenv' });
    await d.next((f) => (f as { t?: string }).t === 'proof');
    const good = envelope('a', 1);
    d.send({ t: 'batch', envs: [good, { ...good, to: 'not-an-address' }] });
    expect((await d.closed).code).toBe(CLOSE_CODES.protocolError);

    const e = await rawHandshake(a.url, { nodeId: 'baddurable' });
    await e.next((f) => (f as { t?: string }).t === 'proof');
    e.send({ t: 'durable', items: [{ id: 'other-id', bytes: encodeEnvelope(good) }] });
    expect((await e.closed).code).toBe(CLOSE_CODES.protocolError);

    // Not even HTTP: the server answers 400 and hangs up; the node does not notice otherwise.
    const answer = await new Promise<string>((resolve) => {
      const s = connect(Number(new URL(a.url).port), '127.0.0.1', () => s.write(Buffer.from('\x00\xffGARBAGE\r\n\r\n\x16\x03')));
      let got = '';
      s.on('data', (x) => (got += x.toString()));
      s.on('end', () => {
        s.destroy();
        resolve(got);
      });
      s.on('error', () => resolve(got));
    });
    expect(answer).toMatch(/^HTTP\/1\.1 400/);
    expect(a.t.stats().protocolErrors).toBeGreaterThanOrEqual(errorsBefore + 3);
  });

  it('still accepts a proper peer afterwards and carries its envelopes', async () => {
    const b = await startNode('b', { clock, seeds: [a.url], heartbeatMs: 1_000 });
    try {
      clock.advance(0); // b's first dial
      await until(() => a.t.status('b') === 'up' && b.t.status('a') === 'up', 15_000, 'a and b up');
      expect(allUp([b], b.t.members().length)).toBe(true);
      const before = a.received.length;
      b.t.send('a', envelope('a', 'after the storm'));
      await until(() => a.received.length === before + 1, 15_000, 'delivered');
      expect(a.received.at(-1)!.env.payload).toBe('after the storm');
    } finally {
      await b.t.close();
    }
  });
});
