import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonDepthExceeds } from '../../gateway/json-body.js';

/** Nesting depth of a parsed JSON value (a scalar is 0). */
function depth(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  const inner = Array.isArray(v) ? v : Object.values(v);
  return 1 + inner.reduce<number>((m, x) => Math.max(m, depth(x)), 0);
}

describe('the JSON depth bound at the edge', () => {
  it('says whether a body nests deeper than the limit, whatever its brackets in strings', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 8 }), (v, limit) => {
      const text = JSON.stringify(v);
      expect(jsonDepthExceeds(text, limit)).toBe(depth(v) > limit);
    }), { numRuns: 500 });
  });

  it('catches deep nesting past many brackets inside strings, and passes a shallow body full of them', () => {
    const brackets = '['.repeat(200) + '{'.repeat(200);
    expect(jsonDepthExceeds(JSON.stringify({ s: brackets }), 64)).toBe(false);
    expect(jsonDepthExceeds(`${'['.repeat(65)}${']'.repeat(65)}`, 64)).toBe(true);
    expect(jsonDepthExceeds(`${'['.repeat(64)}${']'.repeat(64)}`, 64)).toBe(false);
  });
});
