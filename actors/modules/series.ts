import type { Registry } from 'prom-client';

/**
 * Labelled counters, gauges and histograms for the metrics bumped on every request and run,
 * served by a prom-client Registry like its own metrics (same exposition, same label order).
 * prom-client's label children hash their label object on every `inc`/`observe`; here a
 * child is made (and its labels checked) once, and bumping it is a field update. Callers
 * keep the children they use (the gateway's metrics cache them per route, agent, type; the
 * agents' queue metrics per agent).
 *
 * @example
 * const http = new CounterSeries('troupe_http_requests_total', 'HTTP requests', ['method', 'route', 'status'], registry);
 * const ok = http.child({ method: 'GET', route: '/health', status: '200' });
 * ok.inc();
 */

type Labels<L extends string> = Readonly<Record<L, string>>;

/** A value in the shape prom-client's Registry formats (`sharedLabels` follow the node's default labels, as for its histograms). */
interface ExportedValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
  sharedLabels?: Record<string, string>;
}

/** What a Registry reads of a metric. */
interface Exported {
  name: string;
  help: string;
  type: 'counter' | 'gauge' | 'histogram';
  values: ExportedValue[];
  aggregator: 'sum';
}

/** Series of one metric by label values; the children live in a map keyed by the values in label order. */
abstract class Series<L extends string, C extends { labels: Labels<L> }> {
  readonly aggregator = 'sum' as const;
  protected readonly children = new Map<string, C>();

  constructor(readonly name: string, readonly help: string, private readonly labelNames: readonly L[], registry: Registry) {
    registry.registerMetric(this as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  private keyOf(labels: Labels<L>): string {
    let key = '';
    for (const n of this.labelNames) {
      const v = labels[n];
      if (typeof v !== 'string') throw new TypeError(`${this.name}: label ${n} must be a string`);
      key += `${v}\u0000`;
    }
    return key;
  }

  /** The series of these label values, made on first use. */
  child(labels: Labels<L>): C {
    const key = this.keyOf(labels);
    let c = this.children.get(key);
    if (c === undefined) {
      const own = {} as Record<L, string>;
      for (const n of this.labelNames) own[n] = labels[n];
      c = this.make(own);
      this.children.set(key, c);
    }
    return c;
  }

  /** Drop the series of these label values (a child still held by a caller is no longer reported). */
  remove(labels: Labels<L>): void {
    this.children.delete(this.keyOf(labels));
  }

  /** Drop every series. */
  reset(): void {
    this.children.clear();
  }

  protected abstract make(labels: Labels<L>): C;
}

/** Series whose children hold one value each (counters and gauges), exported as they are. */
abstract class ValueSeries<L extends string, C extends { labels: Labels<L>; value: number }> extends Series<L, C> {
  abstract readonly type: 'counter' | 'gauge';

  async get(): Promise<Exported> {
    const values: ExportedValue[] = [];
    for (const c of this.children.values()) values.push({ labels: c.labels, value: c.value });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** One counter series: bumped in place. */
export class CounterChild<L extends string = string> {
  value = 0;
  constructor(readonly labels: Labels<L>) {}
  inc(n = 1): void {
    if (!(n >= 0) || !Number.isFinite(n)) throw new TypeError(`a counter only goes up by a finite amount, not ${n}`);
    this.value += n;
  }
}

/** A labelled counter (prom-client type `counter`). */
export class CounterSeries<L extends string> extends ValueSeries<L, CounterChild<L>> {
  readonly type = 'counter' as const;
  protected make(labels: Labels<L>): CounterChild<L> {
    return new CounterChild(labels);
  }
}

/** One gauge series. */
export class GaugeChild<L extends string = string> {
  value = 0;
  constructor(readonly labels: Labels<L>) {}
  inc(n = 1): void {
    this.value += n;
  }
  dec(n = 1): void {
    this.value -= n;
  }
}

/** A labelled gauge (prom-client type `gauge`). */
export class GaugeSeries<L extends string> extends ValueSeries<L, GaugeChild<L>> {
  readonly type = 'gauge' as const;
  protected make(labels: Labels<L>): GaugeChild<L> {
    return new GaugeChild(labels);
  }
}

/** One histogram series: a count per bucket (not cumulative until exported), the sum and the count. */
export class HistogramChild<L extends string = string> {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(readonly labels: Labels<L>, private readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(v: number): void {
    if (!Number.isFinite(v)) throw new TypeError(`not a finite observation: ${v}`);
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && v > bounds[i]!) i++;
    if (i < bounds.length) this.counts[i]!++;
    this.sum += v;
    this.count++;
  }
}

/** A labelled histogram (prom-client type `histogram`, cumulative `le` buckets, `_sum`, `_count`). */
export class HistogramSeries<L extends string> extends Series<L, HistogramChild<L>> {
  readonly type = 'histogram' as const;
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], buckets: readonly number[], registry: Registry) {
    super(name, help, labelNames, registry);
    this.bounds = [...buckets].sort((a, b) => a - b);
  }

  protected make(labels: Labels<L>): HistogramChild<L> {
    return new HistogramChild(labels, this.bounds);
  }

  async get(): Promise<Exported> {
    const values: ExportedValue[] = [];
    const bucket = `${this.name}_bucket`;
    for (const c of this.children.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += c.counts[i]!;
        values.push({ labels: { le: this.bounds[i]! }, value: acc, metricName: bucket, sharedLabels: c.labels });
      }
      values.push(
        { labels: { le: '+Inf' }, value: c.count, metricName: bucket, sharedLabels: c.labels },
        { labels: {}, value: c.sum, metricName: `${this.name}_sum`, sharedLabels: c.labels },
        { labels: {}, value: c.count, metricName: `${this.name}_count`, sharedLabels: c.labels },
      );
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
