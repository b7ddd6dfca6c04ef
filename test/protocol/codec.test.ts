import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, decodeEnvelope, encode, encodeEnvelope, isTroupeError, type Envelope } from '../../protocol/index.js';

const seg = fc.stringMatching(/^[a-z0-9._~:@+-]{1,12}$/);
const address = fc.tuple(fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/), fc.constantFrom('user', 'system'), fc.array(seg, { maxLength: 3 }))
  .map(([node, root, rest]) => `troupe://${node}/${[root, ...rest].join('/')}`);

// msgpack has no undefined inside objects and no -0 distinction we care about: generate JSON-like
// payloads. msgpackr renames an own `__proto__` key on decode (see below), so none here.
const payload = fc.jsonValue()
  .filter((v) => !JSON.stringify(v).includes('"__proto__"'))
  .map((v) => JSON.parse(JSON.stringify(v)) as unknown);

const envelope: fc.Arbitrary<Envelope> = fc.record({
  id: fc.string({ minLength: 1, maxLength: 40 }),
  from: address,
  to: address,
  type: fc.string({ minLength: 1, maxLength: 40 }),
  correlationId: fc.string({ maxLength: 40 }),
  replyTo: address,
  traceparent: fc.string({ maxLength: 55 }),
  createdAt: fc.integer({ min: 0, max: 2 ** 47 }),
  expiresAt: fc.integer({ min: 0, max: 2 ** 47 }),
  durable: fc.boolean(),
  payload,
}, { requiredKeys: ['id', 'to', 'type', 'createdAt', 'payload'] }) as fc.Arbitrary<Envelope>;

describe('envelope codec', () => {
  it('round-trips every valid envelope', () => {
    fc.assert(fc.property(envelope, (env) => {
      expect(decodeEnvelope(encodeEnvelope(env))).toEqual(env);
    }), { numRuns: 500 });
  });

  it('turns random bytes into a coded error, never a crash', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      try {
        decodeEnvelope(bytes);
      } catch (e) {
        expect(isTroupeError(e)).toBe(true);
        expect(['TROUPE_ERR_PROTOCOL_DECODE', 'TROUPE_ERR_PROTOCOL_INVALID']).toContain((e as { code: string }).code);
        return;
      }
      throw new Error('random bytes decoded as a valid envelope');
    }), { numRuns: 2_000 });
  });

  it('rejects well-formed msgpack of the wrong shape with TROUPE_ERR_PROTOCOL_INVALID', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      expect(() => decodeEnvelope(encode(v))).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_PROTOCOL_INVALID' }));
    }), { numRuns: 500 });
  });

  it('rejects truncated envelopes with a coded error', () => {
    fc.assert(fc.property(envelope, fc.nat(), (env, cut) => {
      const bytes = encodeEnvelope(env);
      const n = cut % bytes.length;
      try {
        decodeEnvelope(bytes.subarray(0, n));
      } catch (e) {
        expect(isTroupeError(e)).toBe(true);
      }
    }), { numRuns: 500 });
  });

  it('renames an own __proto__ key from a peer (msgpackr) instead of polluting prototypes', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}') as Record<string, unknown>;
    const env = decodeEnvelope(encodeEnvelope({ id: 'x', to: 'troupe://a/user/b', type: 't', createdAt: 0, payload: hostile }));
    expect(env.payload).toEqual({ __proto_: { polluted: true }, ok: 1 });
    expect(Object.prototype.hasOwnProperty.call(env.payload, '__proto__')).toBe(false);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses frames over the size limit', () => {
    expect(() => decode(new Uint8Array(2048), 1024)).toThrowError(expect.objectContaining({ code: 'TROUPE_ERR_PROTOCOL_FRAME_TOO_LARGE' }));
  });
});

describe('loopback checks', () => {
  it('accept literal loopback addresses and localhost only', async () => {
    const { isLoopbackHost, isLoopbackAddress } = await import('../../protocol/index.js');
    for (const h of ['127.0.0.1', '127.9.8.7', '::1', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['127.evil.example', '127.0.0.1.nip.io', '127.0.0.300', '0.0.0.0', '10.0.0.1', '::', 'example.com']) expect(isLoopbackHost(h), h).toBe(false);
    expect(isLoopbackAddress(undefined)).toBe(false);
  });
});
