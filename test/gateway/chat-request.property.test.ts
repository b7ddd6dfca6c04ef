import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastChatRequest, parseChatRequest } from '../../gateway/chat-request.js';
import { chatCompletionRequestSchema } from '../../protocol/index.js';

// weighted toward requests the fast check answers, with every kind of near miss among them
const role = fc.oneof(
  { arbitrary: fc.constantFrom('system', 'developer', 'user', 'assistant'), weight: 6 },
  { arbitrary: fc.oneof(fc.constantFrom('tool', 'function', 'User', ''), fc.constant(null), fc.integer()), weight: 1 },
);
const content = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 6 },
  { arbitrary: fc.oneof(fc.constant(null), fc.constant([{ type: 'text', text: 'hi' }]), fc.constant([{ type: 'image_url', image_url: { url: 'x' } }]), fc.integer(), fc.constant({})), weight: 2 },
);
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 3 });
const message = fc.oneof(
  {
    arbitrary: fc.record({
      role: maybe(role),
      content: maybe(content),
      name: maybe(fc.oneof(fc.string({ maxLength: 4 }), fc.integer())),
      extra: fc.option(fc.constantFrom<[string, unknown]>(['tool_call_id', 'c1'], ['refusal', null], ['tool_calls', []], ['x', 1]), { nil: undefined, freq: 4 }),
    }, { requiredKeys: [] }).map(({ extra, ...rest }) => (extra ? { ...rest, [extra[0]]: extra[1] } : rest)),
    weight: 8,
  },
  { arbitrary: fc.oneof(fc.constant(null), fc.string(), fc.constant([])), weight: 1 },
);
const num = fc.oneof(fc.integer({ min: -3, max: 5 }), fc.double({ min: -3, max: 5, noNaN: true }), fc.constantFrom(0, 2, 2.0001, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, Infinity, NaN, -0), fc.constant(null), fc.constant('1'));
const request = fc.record({
  model: maybe(fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 8 }), weight: 6 }, { arbitrary: fc.oneof(fc.constant(''), fc.constant('m'.repeat(257)), fc.constant('m'.repeat(256)), fc.integer()), weight: 1 })),
  messages: maybe(fc.oneof({ arbitrary: fc.array(message, { minLength: 1, maxLength: 4 }), weight: 8 }, { arbitrary: fc.oneof(fc.constant([]), fc.constant('hi'), fc.constant(null)), weight: 1 })),
  stream: maybe(fc.oneof(fc.boolean(), fc.constant(null), fc.constant('true'))),
  temperature: maybe(num),
  max_tokens: maybe(num),
  max_completion_tokens: maybe(num),
  user: maybe(fc.oneof(fc.string({ maxLength: 4 }), fc.integer())),
  extra: fc.option(fc.constantFrom<[string, unknown]>(['tools', []], ['n', 1], ['seed', 1], ['top_p', 0.5], ['unknown_field', true], ['stop', 'x']), { nil: undefined, freq: 4 }),
}, { requiredKeys: [] }).map(({ extra, ...rest }) => (extra ? { ...rest, [extra[0]]: extra[1] } : rest));

describe('the fast chat request check', () => {
  it('answers as the schema does whenever it answers', () => {
    fc.assert(fc.property(request, (body) => {
      const fast = fastChatRequest(body);
      if (fast === undefined) return;
      const r = chatCompletionRequestSchema.safeParse(body);
      expect(r.success).toBe(true);
      expect(fast).toEqual(r.data);
    }), { numRuns: 3_000 });
  });

  it('parseChatRequest agrees with the schema on success and failure alike', () => {
    fc.assert(fc.property(request, (body) => {
      const a = parseChatRequest(body);
      const b = chatCompletionRequestSchema.safeParse(body);
      expect(a.success).toBe(b.success);
      if (a.success && b.success) expect(a.data).toEqual(b.data);
    }), { numRuns: 2_000 });
  });

  it('answers the common requests, and leaves the rest to the schema', () => {
    const common = [
      { model: 'echo', messages: [{ role: 'user', content: 'hi' }] },
      { model: 'echo', messages: [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hi', name: 'ann' }, { role: 'assistant', content: 'hello' }], stream: true, temperature: 0.2, max_tokens: 16, user: 'u1' },
      { model: 'echo', messages: [{ role: 'developer', content: '' }], stream: null, temperature: null, max_completion_tokens: 1 },
    ];
    for (const body of common) {
      expect(fastChatRequest(body)).toBe(body);
      expect(fastChatRequest(body)).toEqual(chatCompletionRequestSchema.parse(body));
    }
    const others: unknown[] = [
      { model: 'echo', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] },
      { model: 'echo', messages: [{ role: 'tool', content: 'x', tool_call_id: 'c' }] },
      { model: 'echo', messages: [{ role: 'user', content: 'hi' }], tools: [] },
      { model: 'echo', messages: [{ role: 'user', content: 'hi' }], temperature: 3 },
      { model: 'echo', messages: [{ role: 'user', content: 'hi' }], max_tokens: 0 },
      { model: 'echo', messages: [] },
      { model: '', messages: [{ role: 'user', content: 'hi' }] },
      { model: 'echo', messages: [{ role: 'user', content: 'hi', name: 1 }] },
      Object.assign(Object.create({ inherited: 1 }), { model: 'echo', messages: [{ role: 'user', content: 'hi' }] }),
      null, 'hi', [],
    ];
    for (const body of others) expect(fastChatRequest(body)).toBeUndefined();
  });
});
