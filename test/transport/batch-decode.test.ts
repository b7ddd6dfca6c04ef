import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decode, encode, envelopeSchema, type Envelope } from '../../protocol/index.js';
import { readCleanBatch } from '../../transport/batch-decode.js';
import { MAX_FRAME_DEPTH, msgpackDepthExceeds } from '../../transport/depth.js';
import { encodeBatch, parseFrame } from '../../transport/frames.js';

/**
 * The general path of a link for a frame after the handshake: depth scan, decode, validate.
 * What it returns for a batch is what the node gets; a string is a protocol error.
 */
function generalPath(bytes: Buffer): Envelope[] | string {
  if (msgpackDepthExceeds(bytes, MAX_FRAME_DEPTH)) return 'too deep';
  let raw: unknown;
  try {
    raw = decode(bytes, Number.MAX_SAFE_INTEGER);
  } catch (e) {
    return (e as Error).message;
  }
  const r = parseFrame(raw);
  if (!r.success) return 'invalid';
  return r.data.t === 'batch' ? r.data.envs : `a ${r.data.t} frame`;
}

const seg = fc.stringMatching(/^[a-z0-9._~:@+-]{1,12}$/);
const address = fc.tuple(fc.stringMatching(/^[A-Za-z0-9._-]{1,16}$/), fc.constantFrom('user', 'system', 'temp'), fc.array(seg, { maxLength: 3 }))
  .map(([node, root, rest]) => `troupe://${node}/${[root, ...rest].join('/')}`);
const text = fc.oneof(fc.string({ maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 20 }), fc.constantFrom('', 'x'.repeat(300), 'é😀', '__proto__'));

/** Numbers at the edges of msgpack's integer encodings. */
const edgeNumber = fc.constantFrom(-1, -32, -33, -128, -129, -32_768, -32_769, -(2 ** 31), -(2 ** 31) - 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1.5, -0, 2 ** 53 + 2);

// payloads: JSON-like, plus what msgpack carries besides (undefined, floats, big and small ints, bytes, dates, maps)
const payload = fc.oneof(
  { depthSize: 'small' },
  { arbitrary: fc.jsonValue({ maxDepth: 4 }), weight: 4 },
  { arbitrary: fc.dictionary(text, fc.oneof(text, fc.double(), fc.integer(), fc.integer({ min: -70_000, max: 70_000 }), edgeNumber, fc.constant(undefined), fc.maxSafeInteger()), { maxKeys: 5 }), weight: 3 },
  fc.anything({ maxDepth: 3, withBigInt: false, withDate: true, withTypedArray: true, withMap: true, withSet: true, withNullPrototype: false, withObjectString: false, withBoxedValues: false, withSparseArray: false }),
);

/** Mostly what nodes send, now and then a field no envelope may carry (the general path refuses those). */
const mostly = <T, U>(good: fc.Arbitrary<T>, odd: fc.Arbitrary<U>): fc.Arbitrary<T | U> =>
  fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: odd, weight: 1 });

const envelope: fc.Arbitrary<Record<string, unknown>> = fc.record({
  id: mostly(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('', 'x'.repeat(129), 'é', 7)),
  from: mostly(address, fc.constantFrom('troupe://x', 'nope', undefined)),
  to: mostly(address, fc.constantFrom('troupe://a/other/x', '', 'troupe://a/user/x y')),
  type: mostly(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('', 'x'.repeat(257), null)),
  correlationId: mostly(fc.string({ maxLength: 40 }), fc.constantFrom('x'.repeat(257), 1)),
  replyTo: mostly(address, fc.constantFrom('troupe:///user', 'x')),
  traceparent: mostly(fc.string({ maxLength: 55 }), fc.constant('x'.repeat(257))),
  createdAt: mostly(fc.oneof(fc.integer({ min: 0, max: 2 ** 47 }), fc.constantFrom(0, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER)), fc.constantFrom(-1, 0.5, 2 ** 53, NaN, '1')),
  expiresAt: mostly(fc.integer({ min: 0, max: 2 ** 47 }), fc.constant(-5)),
  durable: mostly(fc.boolean(), fc.constant(1)),
  payload,
  extra: fc.anything({ maxDepth: 1 }),
}, { requiredKeys: ['id', 'to', 'type', 'createdAt', 'payload'] }).map((e) => {
  // an extra key now and then (1 in 8); else none
  if ('extra' in e && e.id !== undefined && String(e.id).length % 8 !== 0) delete e.extra;
  return e;
});

/** A frame as a peer might send it: packed by msgpackr, spliced by encodeBatch, or then damaged. */
const frame = fc.tuple(
  fc.oneof({ arbitrary: fc.array(envelope, { minLength: 1, maxLength: 4 }), weight: 9 }, fc.constant([])),
  fc.constantFrom('pack', 'splice'),
  fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), fc.nat()),
).map(([envs, how, damage]) => {
  let bytes: Buffer;
  try {
    bytes = how === 'pack'
      ? encode({ t: 'batch', envs })
      : ((parts) => encodeBatch(parts, 0, parts.length, parts.reduce((n, p) => n + p.byteLength, 0)))(envs.map((e) => encode(e)));
  } catch {
    bytes = encode({ t: 'batch', envs: [] });
  }
  if (typeof damage === 'number') return bytes.subarray(0, damage % (bytes.length + 1)); // truncated
  if (damage !== undefined) {
    const copy = Buffer.from(bytes);
    copy[damage[0] % copy.length] = damage[1]; // one byte changed
    return copy;
  }
  return bytes;
});

describe('the one-pass reader of batch frames agrees with the general path', () => {
  it('whatever it accepts, the general path accepts the same', () => {
    fc.assert(fc.property(frame, (bytes) => {
      const fast = readCleanBatch(bytes);
      if (fast === undefined) return;
      const slow = generalPath(bytes);
      expect(typeof slow).not.toBe('string');
      expect(fast).toStrictEqual(slow);
      for (const env of fast) expect(envelopeSchema.safeParse(env).success).toBe(true);
    }), { numRuns: 5_000 });
  });

  it('reads the frames nodes send without falling back', () => {
    const plain = fc.record({
      id: fc.string({ minLength: 1, maxLength: 40 }),
      to: address,
      type: fc.string({ minLength: 1, maxLength: 40 }),
      createdAt: fc.integer({ min: 0, max: 2 ** 47 }),
      replyTo: address,
      payload: fc.jsonValue({ maxDepth: 4 }).filter((v) => !JSON.stringify(v).includes('"__proto__"')),
    }, { requiredKeys: ['id', 'to', 'type', 'createdAt', 'payload'] });
    fc.assert(fc.property(fc.array(plain, { minLength: 1, maxLength: 5 }), (envs) => {
      const bytes = encode({ t: 'batch', envs });
      const fast = readCleanBatch(bytes);
      expect(fast).toBeDefined();
      expect(fast).toStrictEqual(generalPath(bytes));
    }), { numRuns: 1_000 });
  });

  it('repeats a header string it just read as the same string, and still checks a new one', () => {
    const env = (to: string): Envelope => ({ id: 'i', to, type: 'bench.inc', createdAt: 1, payload: { type: 'bench.inc', i: 1 } });
    const a = readCleanBatch(encode({ t: 'batch', envs: [env('troupe://b/user/c'), env('troupe://b/user/c')] }))!;
    expect(a[1]!.to).toBe(a[0]!.to);
    expect(readCleanBatch(encode({ t: 'batch', envs: [env('troupe://b/user/c'), env('troupe://b/nope/c')] }))).toBeUndefined();
  });

  it('takes an address that differs from the last one only after its last slash as valid exactly when it is', () => {
    const tail = fc.stringMatching(/^[a-z0-9 \t\n\v\f\r/.x-]{0,6}$/);
    fc.assert(fc.property(address, tail, fc.constantFrom('to', 'replyTo', 'from'), (first, rest, field) => {
      const stem = first.slice(0, first.lastIndexOf('/') + 1);
      const env = (a: string): Record<string, unknown> => ({ id: 'i', to: 'troupe://b/user/c', type: 't', createdAt: 1, payload: 1, [field]: a });
      for (const second of [stem + rest, stem.slice(0, -1) + rest]) {
        const bytes = encode({ t: 'batch', envs: [env(first), env(second)] });
        const fast = readCleanBatch(bytes);
        const slow = generalPath(bytes);
        if (fast !== undefined) expect(fast).toStrictEqual(slow);
        else expect(typeof slow).toBe('string');
      }
    }), { numRuns: 2_000 });
  });

  it('leaves nesting past the frame depth limit to the general path, which refuses it', () => {
    let v: unknown = 1;
    for (let i = 0; i < MAX_FRAME_DEPTH; i++) v = [v];
    const bytes = encode({ t: 'batch', envs: [{ id: 'i', to: 'troupe://b/user/c', type: 't', createdAt: 1, payload: v }] });
    expect(readCleanBatch(bytes)).toBeUndefined();
    expect(generalPath(bytes)).toBe('too deep');
  });

  it('leaves __proto__ keys, other frames and trailing bytes to the general path', () => {
    const base = { id: 'i', to: 'troupe://b/user/c', type: 't', createdAt: 1 };
    expect(readCleanBatch(encode({ t: 'batch', envs: [{ ...base, payload: JSON.parse('{"__proto__": 1}') as unknown }] }))).toBeUndefined();
    expect(readCleanBatch(encode({ t: 'ack', ids: ['a'] }))).toBeUndefined();
    const ok = encode({ t: 'batch', envs: [{ ...base, payload: 1 }] });
    expect(readCleanBatch(ok)).toHaveLength(1);
    expect(readCleanBatch(Buffer.concat([ok, Buffer.from([0xc0])]))).toBeUndefined();
  });
});
