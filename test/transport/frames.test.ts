import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encode } from '../../protocol/index.js';
import { ACK_OVERHEAD, DURABLE_OVERHEAD, ackIdBytes, durableItemBytes } from '../../transport/frames.js';

// Ids as the frame schema allows them (1..128 chars, any of them multi-byte in UTF-8).
const id = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 128 }).filter((s) => s.length <= 128);
const payload = fc.oneof(fc.uint8Array({ minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 70_000 }).map((n) => new Uint8Array(n)));

describe('frame size bounds', () => {
  it('a durable frame is never larger than DURABLE_OVERHEAD plus durableItemBytes of its items', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ id, bytes: payload }), { minLength: 1, maxLength: 20 }), (items) => {
        const bound = DURABLE_OVERHEAD + items.reduce((n, it) => n + durableItemBytes(it.id, it.bytes), 0);
        expect(encode({ t: 'durable', items }).byteLength).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 200 },
    );
  });

  it('an ack frame is never larger than ACK_OVERHEAD plus ackIdBytes of its ids', () => {
    fc.assert(
      fc.property(fc.array(id, { minLength: 1, maxLength: 1_000 }), (ids) => {
        const bound = ACK_OVERHEAD + ids.reduce((n, x) => n + ackIdBytes(x), 0);
        expect(encode({ t: 'ack', ids }).byteLength).toBeLessThanOrEqual(bound);
      }),
      { numRuns: 200 },
    );
  });
});
