import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, decodeEnvelope, encode, encodeEnvelope, envelopeSchema, isCleanEnvelope, isTroupeError, type Envelope } from '../../protocol/index.js';
import { frameSchema, parseFrame } from '../../transport/frames.js';

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

/** A valid envelope with one thing changed: a field dropped, replaced by anything, stretched, or a key added. */
const keys = Object.keys(envelopeSchema.shape);
const edge = fc.oneof(
  fc.anything(),
  fc.constantFrom(undefined, null, -0, 0.5, -1, NaN, Infinity, 2 ** 53, '', 'x'.repeat(129), 'x'.repeat(257), 'x'.repeat(1025), '😀'.repeat(70), true, [], {}),
  address,
);
const mutated = fc.tuple(envelope, fc.constantFrom('drop', 'set', 'add'), fc.constantFrom(...keys), edge, fc.string({ minLength: 1, maxLength: 12 }))
  .map(([env, op, key, value, extra]) => {
    const o: Record<string, unknown> = { ...env };
    if (op === 'drop') delete o[key];
    else if (op === 'set') o[key] = value;
    else o[extra] = value;
    return o;
  });
const proto = fc.constantFrom<object | null>(Object.prototype, null, Array.prototype, Date.prototype, { payload: 1 });

describe('envelope fast path (isCleanEnvelope) agrees with the schema', () => {
  it('accepts only what the schema accepts, and exactly as the schema would return it', () => {
    fc.assert(fc.property(fc.oneof(envelope, mutated, fc.anything()), (v) => {
      if (!isCleanEnvelope(v)) return;
      const r = envelopeSchema.safeParse(v);
      expect(r.success).toBe(true);
      expect(r.data).toStrictEqual(v);
    }), { numRuns: 3_000 });
  });

  it('takes the fast path for the envelopes nodes send (so the schema runs only on odd ones)', () => {
    fc.assert(fc.property(envelope, (generated) => {
      const env = { ...generated }; // fast-check may build null-prototype records; code builds plain ones
      expect(isCleanEnvelope(env)).toBe(true);
      expect(isCleanEnvelope(decode(encodeEnvelope(env)))).toBe(true);
    }), { numRuns: 300 });
  });

  it('never takes the fast path for an object of another prototype', () => {
    fc.assert(fc.property(envelope, proto, (env, p) => {
      const o = Object.assign(Object.create(p) as object, env);
      expect(isCleanEnvelope(o)).toBe(p === Object.prototype);
    }), { numRuns: 200 });
  });

  it('parseFrame gives what frameSchema gives, batches of clean envelopes included', () => {
    const frame = fc.oneof(
      fc.array(envelope, { minLength: 1, maxLength: 4 }).map((envs) => ({ t: 'batch', envs })),
      fc.array(fc.oneof(envelope, mutated), { maxLength: 4 }).map((envs) => ({ t: 'batch', envs })),
      fc.tuple(fc.array(envelope, { minLength: 1, maxLength: 2 }), fc.string(), fc.anything()).map(([envs, k, v]) => ({ t: 'batch', envs, [k]: v })),
      fc.record({ t: fc.constantFrom('batch', 'ack', 'hb', 'bye', 'durable'), envs: fc.anything(), ids: fc.anything() }, { requiredKeys: ['t'] }),
      fc.anything(),
    );
    fc.assert(fc.property(frame, (f) => {
      const fast = parseFrame(f);
      const slow = frameSchema.safeParse(f);
      expect(fast.success).toBe(slow.success);
      if (fast.success) expect(fast.data).toEqual(slow.data);
    }), { numRuns: 2_000 });
  });
});
