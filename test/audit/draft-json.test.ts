import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { auditRecordInputSchema, canonicalJson, encodeRecord, toRecord } from '../../actors/audit/index.js';
import { draftRecord, draftText } from '../../actors/audit/draft.js';
import { MemoryAuditChain, chainHash } from '../../storage/index.js';

const text = fc.oneof(fc.string({ minLength: 1, maxLength: 30 }), fc.string({ minLength: 1, maxLength: 10, unit: 'grapheme' }), fc.string({ minLength: 1, maxLength: 6, unit: 'binary' }), fc.constantFrom('"seq":0,', '\\"ts\\":0,', '\u2028', 'é€😀', '\ud800'));
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined });
const input = fc.record({
  action: fc.constantFrom('TASK_SUBMIT', 'X', 'PII_REDACT', 'ROUTE_ACTION', 'A2A_SEND', 'JOB_FIRE'),
  actor: text,
  target: maybe(text),
  agent: maybe(text),
  responsible: maybe(text),
  accountable: maybe(text),
  consulted: maybe(fc.array(text, { maxLength: 4 })),
  informed: maybe(fc.array(text, { maxLength: 4 })),
  primaryPlaneId: maybe(text),
  correlationId: maybe(text),
  outcome: maybe(fc.constantFrom('ok', 'error', 'refused', 'cancelled')),
  payload: maybe(fc.jsonValue()),
  details: maybe(fc.dictionary(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,5}$/), fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null)), { maxKeys: 6 })),
}, { requiredKeys: ['action', 'actor'] });

/** canonicalJson as it was written first (map, filter, join): the reference for the loop version. */
function referenceCanonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? 'null' : referenceCanonical(v))).join(',')}]`;
  const o = value as Record<string, unknown>;
  return `{${Object.keys(o).filter((k) => o[k] !== undefined).sort().map((k) => `${JSON.stringify(k)}:${referenceCanonical(o[k])}`).join(',')}}`;
}

describe('an audit record serialized member by member', () => {
  it('is the canonical JSON of the record with its seq and ts, whatever its strings, RACI and details hold', () => {
    fc.assert(fc.property(input, fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), fc.integer({ min: 0, max: 8_640_000_000_000_000 }), text, (raw, seq, ts, node) => {
      const parsed = auditRecordInputSchema.parse(Object.fromEntries(Object.entries(raw).filter(([, v]) => v !== undefined)));
      const draft = draftRecord(parsed, node);
      expect(draft.record).toEqual({ ...toRecord(parsed, seq, ts, node), seq: 0, ts: 0 });
      const stored = draftText(draft, seq, ts);
      const full = toRecord(parsed, seq, ts, node);
      expect(stored).toBe(canonicalJson(full));
      expect(stored).toBe(encodeRecord(full).toString('utf8'));
      expect(JSON.parse(stored)).toEqual(JSON.parse(JSON.stringify(full)));
    }), { numRuns: 1_000 });
  });

  it("shares a family's frozen RACI defaults between its records (none can change another's) and copies a caller's own", () => {
    const parse = (i: unknown) => auditRecordInputSchema.parse(i);
    const a = draftRecord(parse({ action: 'TASK_SUBMIT', actor: 'x' }), 'n1').record;
    const b = draftRecord(parse({ action: 'TASK_DONE', actor: 'y' }), 'n1').record;
    expect(a.raci).toBe(b.raci);
    expect(Object.isFrozen(a.raci) && Object.isFrozen(a.raci.consulted) && Object.isFrozen(a.raci.informed)).toBe(true);
    expect(() => a.raci.consulted.push('z')).toThrow(TypeError);
    expect(b.raci).toEqual({ accountable: 'Platform', consulted: ['Agents'], informed: ['Audit Log'], responsible: 'AOA Runtime' });
    const listed = ['Legal'];
    const own = draftRecord(parse({ action: 'TASK_SUBMIT', actor: 'x', consulted: listed }), 'n1').record;
    expect(own.raci).toEqual({ accountable: 'Platform', consulted: ['Legal'], informed: ['Audit Log'], responsible: 'AOA Runtime' });
    expect(own.raci.consulted).not.toBe(listed);
    expect(Object.isFrozen(own.raci)).toBe(false);
  });

  it('canonicalJson sorts keys, drops undefined members and writes the same text as the first version', () => {
    const value = fc.letrec((tie) => ({
      v: fc.oneof({ depthSize: 'small' }, fc.jsonValue(), fc.constant(undefined), fc.array(tie('v'), { maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 4 }), tie('v'), { maxKeys: 4 })),
    })).v;
    fc.assert(fc.property(value, (v) => {
      expect(canonicalJson(v)).toBe(referenceCanonical(v));
    }), { numRuns: 1_000 });
    expect(canonicalJson({ b: 1, a: [true, null, undefined], c: undefined })).toBe('{"a":[true,null,null],"b":1}');
    // flat objects written by JSON.stringify when their keys are already in order
    expect(canonicalJson({ a: 1, b: 'x', c: null, d: undefined, e: false })).toBe('{"a":1,"b":"x","c":null,"e":false}');
    expect(canonicalJson({ '10': 1, '9': 2 })).toBe('{"10":1,"9":2}');
    expect(canonicalJson({ a: () => 1, b: 2 })).toBe('{"a":null,"b":2}');
  });
});

describe('a record handed to the chain as a string', () => {
  it('is stored as its UTF-8 bytes: the same link as those bytes, each in its batch', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.array(text, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 4 }), async (batches) => {
      const a = new MemoryAuditChain();
      const b = new MemoryAuditChain();
      for (const batch of batches) {
        const sa = await a.append(batch);
        const sb = await b.append(batch.map((s) => Buffer.from(s, 'utf8')));
        expect(sa.map((e) => [e.seq, e.hash.toString('hex'), e.bytes.toString('hex')])).toEqual(sb.map((e) => [e.seq, e.hash.toString('hex'), e.bytes.toString('hex')]));
      }
      let prev = Buffer.alloc(32);
      for (const e of a.entries()) {
        expect(e.hash).toEqual(chainHash(prev, e.seq, e.bytes));
        prev = e.hash;
      }
    }), { numRuns: 200 });
  });
});
