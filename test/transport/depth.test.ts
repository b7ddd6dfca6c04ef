import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { encode, encodeEnvelope, type Envelope } from '../../protocol/index.js';
import { CLOSE_CODES } from '../../transport/index.js';
import { MAX_FRAME_DEPTH, isShallow, msgpackDepthExceeds, valueDepthExceeds } from '../../transport/depth.js';
import { until } from '../helpers.js';
import { allUp, closeAll, envelope, rawHandshake, startNode, type TestNode } from './helpers.js';

/** msgpack of `depth` nested one-element arrays around 1, made by hand (msgpackr itself overflows on it). */
function nestedBytes(depth: number): Buffer {
  return Buffer.concat([Buffer.alloc(depth, 0x91), Buffer.from([0x01])]);
}

/** A packed envelope whose payload is `payload` (already packed bytes), spliced in by hand. */
function envelopeWithPackedPayload(env: Omit<Envelope, 'payload'>, payload: Buffer): Buffer {
  const head = Buffer.from(encode(env));
  // a map (msgpackr writes map16): one more key/value pair goes at the end
  if (head[0] === 0xde) head.writeUInt16BE(head.readUInt16BE(1) + 1, 1);
  else if ((head[0]! & 0xf0) === 0x80) head[0]! += 1;
  else throw new Error(`not a map: ${head[0]}`);
  return Buffer.concat([head, encode('payload'), payload]);
}

function nested(depth: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

describe('nesting depth of peer frames is bounded', () => {
  it('measures msgpack nesting without recursion, the same as on the value', () => {
    expect(msgpackDepthExceeds(nestedBytes(1_500))).toBe(true);
    expect(msgpackDepthExceeds(nestedBytes(MAX_FRAME_DEPTH))).toBe(false);
    expect(msgpackDepthExceeds(nestedBytes(MAX_FRAME_DEPTH + 1))).toBe(true);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, max) => {
        expect(msgpackDepthExceeds(encode(v), max)).toBe(valueDepthExceeds(v, max));
      }),
      { numRuns: 500 },
    );
    expect(valueDepthExceeds(nested(MAX_FRAME_DEPTH))).toBe(false);
    expect(valueDepthExceeds(nested(MAX_FRAME_DEPTH + 1))).toBe(true);
  });

  it('a payload it calls shallow nests at most one level, packed or not', () => {
    expect(isShallow({ type: 'bench.inc', i: 1, s: 'x' })).toBe(true);
    expect(isShallow([1, 'a', null, true])).toBe(true);
    expect(isShallow('text')).toBe(true);
    expect(isShallow({ a: { b: 1 } })).toBe(false);
    expect(isShallow([[1]])).toBe(false);
    expect(isShallow(new Map([['a', 1]]))).toBe(false);
    expect(isShallow(new Date(0))).toBe(false);
    expect(isShallow(() => 1)).toBe(false);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
        if (isShallow(v)) {
          expect(valueDepthExceeds(v, 1)).toBe(false);
          expect(msgpackDepthExceeds(encode(v), 1)).toBe(false);
        } else {
          // anything it does not vouch for nests (or is not a plain value)
          expect(valueDepthExceeds(v, 1)).toBe(true);
        }
      }),
      { numRuns: 1_000 },
    );
  });

  describe('between nodes', () => {
    const nodes: TestNode[] = [];
    afterEach(async () => {
      await closeAll(nodes.splice(0));
    });

    it('refuses a batch whose envelope nests 1,500 deep with the protocol-error close, and delivers nothing of it', async () => {
      const a = await startNode('a');
      nodes.push(a);
      const c = await rawHandshake(a.url, { nodeId: 'deep' });
      await c.next((f) => (f as { t?: string }).t === 'proof');
      const { payload: _, ...env } = envelope('a');
      const frame = Buffer.concat([encode({ t: 'batch', envs: [] }).subarray(0, -1), Buffer.from([0x91]), envelopeWithPackedPayload(env, nestedBytes(1_500))]);
      c.send(frame);
      expect((await c.closed).code).toBe(CLOSE_CODES.protocolError);
      expect(a.received).toEqual([]);
      expect(a.events).toContainEqual(expect.objectContaining({ type: 'link.protocol-error', node: 'deep', reason: expect.stringMatching(/deeper than 128/) }));
    });

    it('refuses a durable envelope nested too deep inside its frame', async () => {
      const a = await startNode('a');
      nodes.push(a);
      const c = await rawHandshake(a.url, { nodeId: 'deep-durable' });
      await c.next((f) => (f as { t?: string }).t === 'proof');
      const { payload: _, ...env } = { ...envelope('a'), durable: true };
      c.send({ t: 'durable', items: [{ id: env.id, bytes: envelopeWithPackedPayload(env, nestedBytes(1_500)) }] });
      expect((await c.closed).code).toBe(CLOSE_CODES.protocolError);
      expect(a.received).toEqual([]);
    });

    it('never sends what its peer would refuse: a too-deep message is refused to its sender and the link carries on', async () => {
      const undelivered: Array<{ id: string; code: string }> = [];
      const a = await startNode('a', { onUndelivered: (_n, envs, e) => undelivered.push(...envs.map((x) => ({ id: x.id, code: e.code }))) });
      const b = await startNode('b', { seeds: [a.url] });
      nodes.push(a, b);
      await until(() => allUp([a, b]), 15_000, 'a and b up');
      const deep = envelope('b', nested(200));
      a.t.send('b', deep);
      a.t.send('b', envelope('b', 'after'));
      await until(() => b.received.length === 1, 15_000, 'the next message');
      expect(b.received[0]!.env.payload).toBe('after');
      expect(undelivered).toEqual([{ id: deep.id, code: 'TROUPE_ERR_PROTOCOL_INVALID' }]);
      await expect(a.t.sendDurable('b', { ...envelope('b', nested(200)), durable: true })).rejects.toMatchObject({ code: 'TROUPE_ERR_PROTOCOL_INVALID' });
      expect(a.t.pendingDurable('b')).toBe(0);
      expect(b.t.stats().protocolErrors).toBe(0);
      expect(encodeEnvelope(envelope('b', nested(MAX_FRAME_DEPTH - 4))).byteLength).toBeGreaterThan(0);
    });

    it('scans a batch once one of its envelopes may nest: shallow ones before and after a too-deep one still go', async () => {
      const undelivered: string[] = [];
      const a = await startNode('a', { onUndelivered: (_n, envs) => undelivered.push(...envs.map((x) => x.id)) });
      const b = await startNode('b', { seeds: [a.url] });
      nodes.push(a, b);
      await until(() => allUp([a, b]), 15_000, 'a and b up');
      // the same tick: one batch
      const deep = envelope('b', { list: nested(200) });
      a.t.send('b', envelope('b', { n: 1 }));
      a.t.send('b', deep);
      a.t.send('b', envelope('b', { n: 2 }));
      await until(() => b.received.length === 2, 15_000, 'the shallow messages');
      expect(b.received.map((r) => r.env.payload)).toEqual([{ n: 1 }, { n: 2 }]);
      expect(undelivered).toEqual([deep.id]);
      expect(b.t.stats().protocolErrors).toBe(0);
    });
  });
});
