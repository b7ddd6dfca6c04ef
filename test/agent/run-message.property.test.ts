import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AgentRunMessage, checkRunMessage, runMessageSchema } from '../../actors/agent/index.js';
import { fastRunMessage } from '../../actors/agent/run-message.js';
import type { TroupeError } from '../../protocol/index.js';

// weighted toward runs the fast check answers, with every kind of near miss among them
const maybe = <T>(a: fc.Arbitrary<T>, freq = 3): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq });
const id = fc.oneof({ arbitrary: fc.string({ minLength: 1, maxLength: 8 }), weight: 6 }, { arbitrary: fc.oneof(fc.constant(''), fc.constant('i'.repeat(200)), fc.constant('i'.repeat(201)), fc.integer()), weight: 1 });
const message = fc.oneof(
  {
    arbitrary: fc.record({
      role: fc.oneof({ arbitrary: fc.constantFrom('system', 'developer', 'user', 'assistant'), weight: 6 }, { arbitrary: fc.constantFrom('tool', 'User', ''), weight: 1 }),
      content: fc.oneof({ arbitrary: fc.string({ maxLength: 8 }), weight: 6 }, { arbitrary: fc.oneof(fc.constant(null), fc.constant([{ type: 'text', text: 'x' }]), fc.integer()), weight: 1 }),
      name: maybe(fc.oneof(fc.string({ maxLength: 3 }), fc.integer())),
      extra: fc.option(fc.constantFrom<[string, unknown]>(['toolCallId', 'c'], ['refusal', 'no'], ['x', 1]), { nil: undefined, freq: 4 }),
    }, { requiredKeys: ['role', 'content'] }).map(({ extra, ...rest }) => (extra ? { ...rest, [extra[0]]: extra[1] } : rest)),
    weight: 8,
  },
  { arbitrary: fc.oneof(fc.constant(null), fc.string()), weight: 1 },
);
const run = fc.record({
  type: fc.oneof({ arbitrary: fc.constant('agent.run'), weight: 8 }, { arbitrary: fc.constant('agent.cancel'), weight: 1 }),
  runId: id,
  replyTo: fc.oneof({ arbitrary: fc.constantFrom('troupe://n1/system/gateway', 'troupe://a-b/user/x/y'), weight: 6 }, { arbitrary: fc.constantFrom('troupe://n1/other/x', 'http://x', '', `troupe://n/user/${'x'.repeat(1020)}`), weight: 1 }),
  input: fc.oneof({ arbitrary: fc.array(message, { maxLength: 4 }), weight: 8 }, { arbitrary: fc.oneof(fc.constant('hi'), fc.constant(null)), weight: 1 }),
  stream: maybe(fc.oneof(fc.boolean(), fc.constant('yes'))),
  conversationId: maybe(id),
  caller: maybe(fc.oneof(fc.string({ maxLength: 4 }), fc.constant('c'.repeat(201)), fc.integer())),
  queueDeadlineMs: maybe(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.constantFrom(3_600_000, 3_600_001, 1.5, NaN))),
  params: maybe(fc.constantFrom({}, { temperature: 1 }, { temperature: 9 }), 6),
  clientTools: maybe(fc.constant([]), 8),
}, { requiredKeys: ['type', 'runId', 'replyTo', 'input'] });

describe('the fast agent.run check', () => {
  it('answers as runMessageSchema does whenever it answers', () => {
    fc.assert(fc.property(run, (m) => {
      const fast = fastRunMessage(m as never);
      if (fast === undefined) return;
      const r = runMessageSchema.safeParse(m);
      expect(r.success).toBe(true);
      expect({ ...fast }).toEqual(r.data);
    }), { numRuns: 3_000 });
  });

  it('checkRunMessage accepts what the schema accepts (as an instance with its output) and refuses the rest, coded', () => {
    fc.assert(fc.property(run, (m) => {
      const r = runMessageSchema.safeParse(m);
      let made: AgentRunMessage | undefined;
      let error: unknown;
      try {
        made = checkRunMessage(m as never, 'troupe://n1/user/agents/a');
      } catch (e) {
        error = e;
      }
      expect(made !== undefined).toBe(r.success);
      if (r.success) {
        expect(made).toBeInstanceOf(AgentRunMessage);
        expect({ ...made }).toEqual(r.data);
      } else {
        expect((error as TroupeError).code).toBe('TROUPE_ERR_ACTOR_INVALID_MESSAGE');
      }
    }), { numRuns: 2_000 });
  });

  it('copies the input messages (the caller keeps its own) and sets only the fields given', () => {
    const input = [{ role: 'user' as const, content: 'hi' }];
    const m = checkRunMessage({ type: 'agent.run', runId: 'r1', replyTo: 'troupe://n1/system/gateway', input, stream: false }, 'troupe://n1/user/a');
    expect(m.input).toEqual(input);
    expect(m.input[0]).not.toBe(input[0]);
    expect(Object.keys(m).sort()).toEqual(['input', 'replyTo', 'runId', 'stream', 'type']);
  });
});
