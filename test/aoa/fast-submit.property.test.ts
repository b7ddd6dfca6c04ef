import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fastSubmit } from '../../actors/aoa/fast-submit.js';
import { MAX_PAYLOAD_BYTES, taskSubmitSchema } from '../../actors/aoa/task.js';
import { TASK_PRIORITIES } from '../../storage/index.js';

// weighted toward submits the fast check answers, with every kind of near miss among them
const taskType = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Z][A-Z0-9_]{0,8}$/), weight: 6 },
  { arbitrary: fc.constantFrom('NOOP', 'SEND_MAIL', 'A', 'AGENT_RUN', 'X'.repeat(64), 'X'.repeat(65), 'noop', '', '9A', 'A-B'), weight: 2 },
  { arbitrary: fc.oneof(fc.string(), fc.integer(), fc.constant(null)), weight: 1 },
);
const priority = fc.oneof(
  { arbitrary: fc.constantFrom(...TASK_PRIORITIES), weight: 4 },
  { arbitrary: fc.oneof(fc.constantFrom('URGENT', 'normal', ''), fc.constant(null), fc.integer()), weight: 1 },
);
const payload = fc.oneof(
  { arbitrary: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 })), weight: 6 },
  { arbitrary: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(null), fc.constant({ big: 'x'.repeat(MAX_PAYLOAD_BYTES) }), fc.constant({ toJSON: () => 'x' })), weight: 2 },
);
const maybe = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined, freq: 3 });
const input = fc.record({
  task_type: maybe(taskType),
  payload: maybe(payload),
  priority: maybe(priority),
  extra: fc.option(fc.constantFrom<[string, unknown]>(['max_retries', 1], ['agent_id', 'a'], ['unknown_field', true], ['timeout_seconds', -1]), { nil: undefined, freq: 2 }),
}, { requiredKeys: [] }).map(({ extra, ...rest }) => (extra ? { ...rest, [extra[0]]: extra[1] } : rest));

describe('the fast submit check', () => {
  it('answers as the schema does whenever it answers', () => {
    fc.assert(fc.property(input, (i) => {
      const fast = fastSubmit(i);
      if (fast === undefined) return;
      const r = taskSubmitSchema.safeParse(i);
      expect(r.success).toBe(true);
      expect(fast).toEqual(r.data);
    }), { numRuns: 2_000 });
  });

  it('answers the common submits, and leaves the rest to the schema', () => {
    expect(fastSubmit({ task_type: 'NOOP' })).toEqual(taskSubmitSchema.parse({ task_type: 'NOOP' }));
    expect(fastSubmit({ task_type: 'SEND', payload: { to: 'a' }, priority: 'HIGH' })).toEqual(taskSubmitSchema.parse({ task_type: 'SEND', payload: { to: 'a' }, priority: 'HIGH' }));
    for (const other of [{ task_type: 'AGENT_RUN', payload: { agent: 'a', input: 'x' } }, { task_type: 'NOOP', max_retries: 1 }, { task_type: 'NOOP', priority: null }, { task_type: 'NOOP', payload: [1] }, { task_type: 'bad' }, null, 'NOOP']) {
      expect(fastSubmit(other)).toBeUndefined();
    }
  });
});
