import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { CounterSeries, GaugeSeries, HistogramSeries } from '../../actors/modules/series.js';

const BUCKETS = [0.001, 0.01, 0.1, 1, 10];

/** prom-client's own metrics and ours, on two registries with the same default labels. */
function pair() {
  const theirs = new Registry();
  const ours = new Registry();
  for (const r of [theirs, ours]) r.setDefaultLabels({ node: 'n1' });
  return {
    theirs,
    ours,
    counter: [new Counter({ name: 'c_total', help: 'a counter', labelNames: ['route', 'status'], registers: [theirs] }), new CounterSeries('c_total', 'a counter', ['route', 'status'], ours)] as const,
    gauge: [new Gauge({ name: 'g', help: 'a gauge', labelNames: ['agent'], registers: [theirs] }), new GaugeSeries('g', 'a gauge', ['agent'], ours)] as const,
    histogram: [new Histogram({ name: 'h_seconds', help: 'a histogram', labelNames: ['agent'], buckets: BUCKETS, registers: [theirs] }), new HistogramSeries('h_seconds', 'a histogram', ['agent'], BUCKETS, ours)] as const,
  };
}

type Op =
  | { kind: 'inc'; route: string; status: string; by: number }
  | { kind: 'gauge'; agent: string; up: boolean }
  | { kind: 'observe'; agent: string; v: number }
  | { kind: 'remove'; agent: string };

const name = fc.constantFrom('a', 'b', 'c');
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('inc' as const), route: fc.constantFrom('/v1/x', '/health'), status: fc.constantFrom('200', '404'), by: fc.integer({ min: 0, max: 5 }) }),
  fc.record({ kind: fc.constant('gauge' as const), agent: name, up: fc.boolean() }),
  fc.record({ kind: fc.constant('observe' as const), agent: name, v: fc.constantFrom(0, 0.001, 0.005, 0.01, 0.5, 1, 3, 10, 11, 100) }),
  fc.record({ kind: fc.constant('remove' as const), agent: name }),
);

describe('cheap labelled series', () => {
  it('expose exactly what prom-client exposes for the same counts, gauges, observations and removals', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { maxLength: 40 }), async (ops) => {
      const p = pair();
      for (const o of ops) {
        switch (o.kind) {
          case 'inc':
            p.counter[0].labels({ route: o.route, status: o.status }).inc(o.by);
            p.counter[1].child({ route: o.route, status: o.status }).inc(o.by);
            break;
          case 'gauge':
            if (o.up) p.gauge[0].inc({ agent: o.agent });
            else p.gauge[0].dec({ agent: o.agent });
            if (o.up) p.gauge[1].child({ agent: o.agent }).inc();
            else p.gauge[1].child({ agent: o.agent }).dec();
            break;
          case 'observe':
            p.histogram[0].observe({ agent: o.agent }, o.v);
            p.histogram[1].child({ agent: o.agent }).observe(o.v);
            break;
          case 'remove':
            p.histogram[0].remove({ agent: o.agent });
            p.histogram[1].remove({ agent: o.agent });
            p.gauge[0].remove({ agent: o.agent });
            p.gauge[1].remove({ agent: o.agent });
            break;
        }
      }
      expect(await p.ours.metrics()).toBe(await p.theirs.metrics());
    }), { numRuns: 60 });
  });

  it('refuse what prom-client refuses: a counter going down, a non-finite observation, a missing label', () => {
    const p = pair();
    expect(() => p.counter[1].child({ route: '/x', status: '200' }).inc(-1)).toThrow(TypeError);
    expect(() => p.histogram[1].child({ agent: 'a' }).observe(Number.NaN)).toThrow(TypeError);
    expect(() => p.counter[1].child({ route: '/x' } as never)).toThrow(/label status/);
  });

  it('keep one child per label values, so a caller may hold it', () => {
    const p = pair();
    const a = p.counter[1].child({ route: '/x', status: '200' });
    expect(p.counter[1].child({ status: '200', route: '/x' })).toBe(a);
    expect(p.counter[1].child({ route: '/x', status: '404' })).not.toBe(a);
  });
});
