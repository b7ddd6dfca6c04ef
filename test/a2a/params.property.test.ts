import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isPlainSendParams, sendParamsSchema } from '../../actors/a2a/params.js';
import { isJsonRpcRequest, jsonRpcRequestSchema } from '../../actors/a2a/rpc-request.js';

// weighted toward params the fast check answers, with every kind of near miss among them
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 3 });
const str = (max: number) => fc.oneof(
  { arbitrary: fc.string({ maxLength: 8 }), weight: 6 },
  { arbitrary: fc.oneof(fc.constant('x'.repeat(max)), fc.constant('x'.repeat(max + 1)), fc.integer(), fc.constant(null), fc.constant({})), weight: 1 },
);
const withExtra = <T extends Record<string, unknown>>(a: fc.Arbitrary<T>, extras: Array<[string, unknown]>) =>
  fc.tuple(a, fc.oneof({ arbitrary: fc.constant(undefined), weight: 4 }, { arbitrary: fc.constantFrom(...extras), weight: 1 })).map(([o, extra]) => (extra ? { ...o, [extra[0]]: extra[1] } : o));
const part = fc.oneof(
  { arbitrary: withExtra(fc.record({ text: str(1_000), mediaType: maybe(str(256)) }, { requiredKeys: ['text'] }), [['raw', 'aGk='], ['data', {}], ['url', 'https://a.example'], ['filename', 'f'], ['metadata', {}], ['metadata', []]]), weight: 8 },
  { arbitrary: fc.oneof(fc.constant(null), fc.string(), fc.constant([]), fc.constant({ url: 'not a url' }), fc.constant({ data: 1 })), weight: 1 },
);
const message = withExtra(fc.record({
  messageId: str(256),
  role: str(32),
  parts: fc.oneof({ arbitrary: fc.array(part, { maxLength: 3 }), weight: 8 }, { arbitrary: fc.oneof(fc.constant(null), fc.constant('p'), fc.constant({})), weight: 1 }),
  contextId: maybe(str(256)),
  taskId: maybe(str(256)),
}, { requiredKeys: ['messageId', 'role', 'parts'] }), [['referenceTaskIds', ['t']], ['referenceTaskIds', [1]], ['extensions', []], ['metadata', {}], ['metadata', 'm'], ['other', 1]]);
const params = fc.oneof(
  {
    arbitrary: withExtra(fc.record({ message: fc.oneof({ arbitrary: message, weight: 8 }, { arbitrary: fc.oneof(fc.constant(null), fc.constant([])), weight: 1 }), tenant: maybe(str(256)) }, { requiredKeys: ['message'] }),
      [['configuration', {}], ['configuration', { historyLength: -1 }], ['metadata', {}], ['metadata', 1], ['other', true]]),
    weight: 8,
  },
  { arbitrary: fc.oneof(fc.constant(null), fc.string(), fc.constant([]), fc.anything()), weight: 1 },
);

describe('the fast check of a send\'s params', () => {
  it('says yes only to params the schema takes', () => {
    let answered = 0;
    fc.assert(fc.property(params, (p) => {
      if (!isPlainSendParams(p)) return;
      answered++;
      expect(sendParamsSchema.safeParse(p).success).toBe(true);
    }), { numRuns: 5_000 });
    // the generator reaches the fast path, not only its refusals
    expect(answered).toBeGreaterThan(100);
  });

  it('answers the common sends, and leaves the rest to the schema', () => {
    const common = [
      { message: { messageId: 'm1', role: 'ROLE_USER', parts: [{ text: 'hi' }] } },
      { message: { messageId: 'm2', role: 'ROLE_USER', parts: [{ text: 'a', mediaType: 'text/plain' }, { text: '' }], contextId: 'c', taskId: 't' }, tenant: 'acme' },
    ];
    for (const p of common) expect(isPlainSendParams(p)).toBe(true);
    const others: unknown[] = [
      { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi' }] }, configuration: { returnImmediately: true } },
      { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi' }], metadata: {} } },
      { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ data: {} }] } },
      { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi', raw: 'aGk=' }] } },
      { message: { messageId: 1, role: 'ROLE_USER', parts: [{ text: 'hi' }] } },
      { message: { messageId: 'm'.repeat(257), role: 'ROLE_USER', parts: [{ text: 'hi' }] } },
      { message: { messageId: 'm', role: 'ROLE_USER', parts: Array.from({ length: 257 }, () => ({ text: 'x' })) } },
      { message: Object.assign(Object.create({ metadata: 1 }), { messageId: 'm', role: 'ROLE_USER', parts: [{ text: 'hi' }] }) },
      // eslint-disable-next-line no-sparse-arrays
      { message: { messageId: 'm', role: 'ROLE_USER', parts: [, { text: 'hi' }] } },
      null, [], 'hi',
    ];
    for (const p of others) expect(isPlainSendParams(p)).toBe(false);
  });
});

const rpcId = fc.oneof(fc.string({ maxLength: 4 }), fc.constant('i'.repeat(256)), fc.constant('i'.repeat(257)), fc.integer(), fc.double(), fc.constantFrom(Infinity, -Infinity, NaN, -0), fc.constant(null), fc.boolean(), fc.constant({}));
const rpc = fc.oneof(
  {
    arbitrary: fc.record({
      jsonrpc: fc.oneof({ arbitrary: fc.constant('2.0'), weight: 6 }, { arbitrary: fc.constantFrom('1.0', '2', 2, null), weight: 1 }),
      method: fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 12 }), weight: 6 }, { arbitrary: fc.constantFrom('', 'm'.repeat(128), 'm'.repeat(129), 1, null), weight: 1 }),
      id: rpcId,
      params: fc.oneof({ arbitrary: fc.constant({ a: 1 }), weight: 6 }, { arbitrary: fc.constantFrom(null, [], 'p', 1, Object.create(null)), weight: 1 }),
      extra: fc.anything(),
    }, { requiredKeys: [] }),
    weight: 8,
  },
  { arbitrary: fc.anything(), weight: 1 },
);

describe('the check of a JSON-RPC request object', () => {
  it('answers as its schema does, on any input', () => {
    fc.assert(fc.property(rpc, (body) => {
      expect(isJsonRpcRequest(body)).toBe(jsonRpcRequestSchema.safeParse(body).success);
    }), { numRuns: 5_000 });
  });
});
