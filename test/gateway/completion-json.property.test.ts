import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { completionJson, toCompletion } from '../../gateway/openai-format.js';
import type { RunResult } from '../../actors/index.js';

// strings with everything JSON must escape: quotes, backslashes, control characters, lone surrogates
const text = fc.oneof(
  { arbitrary: fc.string({ maxLength: 40 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 2 },
  { arbitrary: fc.constantFrom('', '"', '\\', '\u0000\u001f\u007f', '\ud800', 'a\udc00b', '</script>', '\u2028\u2029', '[troupe-offline] You said: hi'), weight: 1 },
);
const count = fc.oneof(fc.nat({ max: 100_000 }), fc.constantFrom(0, Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER + 1, -1, 1.5));
const call = fc.record({
  id: fc.string({ minLength: 1, maxLength: 8 }),
  target: fc.string({ minLength: 1, maxLength: 8 }),
  attempts: fc.nat({ max: 3 }),
  status: fc.constantFrom('completed' as const, 'failed' as const),
  durationMs: fc.nat(),
  callChain: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 3 }),
  calls: fc.constant([]),
});
const result: fc.Arbitrary<RunResult> = fc.record({
  runId: fc.constant('run_x-1'),
  agent: fc.constant('assistant'),
  content: fc.option(text, { nil: null, freq: 6 }),
  toolCalls: fc.oneof(
    { arbitrary: fc.constant([]), weight: 4 },
    { arbitrary: fc.array(fc.record({ id: fc.string({ minLength: 1, maxLength: 6 }), name: fc.string({ minLength: 1, maxLength: 6 }), arguments: text }), { minLength: 1, maxLength: 2 }), weight: 1 },
  ),
  finishReason: fc.constantFrom('stop' as const, 'length' as const, 'tool_calls' as const, 'content_filter' as const),
  usage: fc.record({ prompt_tokens: count, completion_tokens: count, total_tokens: count }),
  model: fc.constant('troupe-offline'),
  turns: fc.nat({ max: 5 }),
  trace: fc.oneof(
    { arbitrary: fc.record({ correlationId: fc.string({ maxLength: 6 }), chain: fc.constant([]) }, { requiredKeys: ['chain'] }), weight: 4 },
    {
      arbitrary: fc.record({
        correlationId: fc.string({ maxLength: 6 }),
        chain: fc.constant([]),
        callChain: fc.array(fc.string({ minLength: 1, maxLength: 4 }), { maxLength: 3 }),
        calls: fc.array(call, { maxLength: 2 }),
      }, { requiredKeys: ['chain'] }),
      weight: 1,
    },
  ),
}) as fc.Arbitrary<RunResult>;

describe('the completion as JSON text', () => {
  it('is exactly JSON.stringify of the completion object, whatever the result', () => {
    fc.assert(fc.property(result, text, text, fc.oneof(fc.nat(), fc.constantFrom(1_796_325_431, -1, 0.5)), (r, id, model, created) => {
      expect(completionJson(r, id, model, created)).toBe(JSON.stringify(toCompletion(r, id, model, created)));
    }), { numRuns: 3_000 });
  });

  it('writes the common completion by hand, and parses back to the completion object', () => {
    const r: RunResult = {
      runId: 'run_x-1', agent: 'a', content: 'say "hi"\n', toolCalls: [], finishReason: 'stop',
      usage: { prompt_tokens: 17, completion_tokens: 15, total_tokens: 32 }, model: 'troupe-offline', turns: 1, trace: { chain: [] },
    };
    const json = completionJson(r, 'chatcmpl-run_x-1', 'bench', 1_796_325_431);
    expect(JSON.parse(json)).toEqual(toCompletion(r, 'chatcmpl-run_x-1', 'bench', 1_796_325_431));
    expect(json).toBe('{"id":"chatcmpl-run_x-1","object":"chat.completion","created":1796325431,"model":"bench","choices":[{"index":0,"message":{"role":"assistant","content":"say \\"hi\\"\\n","refusal":null,"annotations":[]},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":17,"completion_tokens":15,"total_tokens":32},"system_fingerprint":null}');
  });
});
