import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditRecordInputSchema, encodeDraft, encodeRecord, toRecord } from '../../actors/audit/index.js';

const tricky = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom('"seq":0,', '","ts":0,"v":1}', 'x"seq":0,"ts":0,', '\\"ts\\":0,'));
const input = fc.record({
  action: fc.constantFrom('TASK_SUBMIT', 'X', 'PII_REDACT'),
  actor: fc.string({ minLength: 1, maxLength: 20 }),
  target: fc.option(tricky, { nil: undefined }),
  agent: fc.option(tricky, { nil: undefined }),
  correlationId: fc.option(tricky, { nil: undefined }),
  details: fc.option(fc.dictionary(fc.constantFrom('seq', 'ts', 'v', 'a_b', 'task_type'), fc.oneof(fc.constant(0), tricky, fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 5 }), { nil: undefined }),
  payload: fc.option(fc.jsonValue(), { nil: undefined }),
}, { requiredKeys: ['action', 'actor'] });

describe('an audit record encoded once', () => {
  it('is stored as the exact bytes of its canonical JSON with its seq and ts, whatever its strings and details hold', () => {
    fc.assert(fc.property(input, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 8_640_000_000_000_000 }), (raw, seq, ts) => {
      const parsed = auditRecordInputSchema.parse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
      const draft = JSON.stringify(toRecord(parsed, 0, 0, 'n1'));
      expect(encodeDraft(draft, seq, ts).toString('utf8')).toBe(encodeRecord(toRecord(parsed, seq, ts, 'n1')).toString('utf8'));
    }), { numRuns: 500 });
  });
});
