import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditRecordInputSchema, toRecord } from '../../index.js';
import { fastRecordInput } from '../../actors/audit/fast-input.js';

const w = <T>(good: fc.Arbitrary<T>, bad: fc.Arbitrary<unknown>) => fc.oneof({ arbitrary: good, weight: 12 }, { arbitrary: bad, weight: 1 });
const name = w(fc.string({ minLength: 1, maxLength: 200 }), fc.oneof(fc.constant(''), fc.string({ minLength: 201, maxLength: 210 }), fc.integer()));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
/** Inputs near the schema's edges: mostly valid ones, some off by a field, a length, a type. */
const input = fc.record({
  action: w(fc.constantFrom('TASK_SUBMIT', 'X', 'A_1'), fc.constantFrom('lower', '', 'A'.repeat(65), '1A')),
  actor: name,
  target: maybe(name),
  agent: maybe(name),
  responsible: maybe(name),
  correlationId: maybe(name),
  consulted: maybe(w(fc.array(name, { maxLength: 16 }), fc.array(name, { minLength: 17, maxLength: 18 }))),
  outcome: maybe(w(fc.constantFrom('ok', 'error', 'refused', 'cancelled'), fc.constant('nope'))),
  payload: maybe(fc.jsonValue()),
  details: maybe(fc.dictionary(w(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,3}$/), fc.string({ maxLength: 4 })),
    w(fc.oneof(fc.string({ maxLength: 500 }), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null)), fc.oneof(fc.string({ minLength: 501, maxLength: 510 }), fc.constant(Infinity), fc.constant(NaN), fc.constant([]))), { maxKeys: 17 })),
  extra: fc.option(fc.constant(1), { nil: undefined, freq: 1 }),
}, { requiredKeys: ['action', 'actor'] });

describe('the audit input fast path', () => {
  it('accepts only what the zod schema accepts, with the same record', () => {
    let accepted = 0;
    fc.assert(fc.property(input, fc.boolean(), (raw, withProto) => {
      const v = withProto ? raw : Object.assign(Object.create(null) as object, raw);
      const fast = fastRecordInput(v);
      const slow = auditRecordInputSchema.safeParse(v);
      if (fast !== undefined) {
        accepted++;
        expect(slow.success).toBe(true);
        expect(toRecord(fast, 1, 2, 'n')).toEqual(toRecord(slow.data!, 1, 2, 'n'));
      }
    }), { numRuns: 2_000 });
    // the generator reaches the accepting side often enough for the property to bite
    expect(accepted).toBeGreaterThan(80);
  });

  it('takes the records modules write', () => {
    expect(fastRecordInput({ action: 'TASK_SUBMIT', actor: 'aoa', target: 't1', correlationId: 't1', consulted: ['Agents'], informed: [], payload: { a: [1] }, details: { task_type: 'NOOP', attempts: 1, ok: true, none: null } })).toBeDefined();
    expect(fastRecordInput({ action: 'ROUTE_ACTION', actor: 'fabric', outcome: 'refused' })).toBeDefined();
    expect(fastRecordInput(new Map())).toBeUndefined();
    expect(fastRecordInput({ action: 'A', actor: 'x', details: { n: Infinity } })).toBeUndefined();
  });
});
