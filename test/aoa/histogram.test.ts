import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HistogramSeries } from '../../actors/modules/index.js';

const BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300];

describe('a histogram series without labels (the aoa wait and run times)', () => {
  it('prints in /metrics exactly what prom-client\'s Histogram prints for the same observations', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.oneof(fc.double({ min: 0, max: 1_000, noNaN: true }), fc.constantFrom(...BUCKETS)), { maxLength: 200 }), async (values) => {
      const a = new Registry();
      const b = new Registry();
      a.setDefaultLabels({ node: 'n1' });
      b.setDefaultLabels({ node: 'n1' });
      const reference = new Histogram({ name: 'troupe_x_seconds', help: 'x', buckets: BUCKETS, registers: [a] });
      const series = new HistogramSeries<never>('troupe_x_seconds', 'x', [], BUCKETS, b);
      let counting = series.child({});
      for (const v of values) {
        reference.observe(v);
        counting.observe(v);
      }
      expect(await b.metrics()).toBe(await a.metrics());
      series.reset();
      counting = series.child({});
      reference.reset();
      reference.zero({});
      expect(await b.metrics()).toBe(await a.metrics());
    }), { numRuns: 100 });
  });
});
