import type { Metric, MetricValueWithName, Registry } from 'prom-client';

/**
 * A Prometheus histogram without labels (beyond the registry's defaults) that counts an
 * observation in plain numbers: prom-client's `Histogram.observe` makes a closure, a
 * labels object and a label hash per call, twice per task on the task runtime's path. The
 * registry reads it at scrape in prom-client's own histogram shape (cumulative `_bucket`
 * series with `le`, then `_sum` and `_count`), so `/metrics` shows it as before.
 *
 * @example
 * const h = new CountingHistogram('troupe_aoa_task_run_seconds', 'Run time', [0.01, 0.1, 1], [registry]);
 * h.observe(0.02);
 */
export class CountingHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  /** Observations per bucket (the last one is +Inf), not cumulative. */
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(readonly name: string, readonly help: string, private readonly bounds: readonly number[], registers: Registry[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
    for (const r of registers) r.registerMetric(this as unknown as Metric);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  /** What the registry prints (as prom-client's Histogram gives it). */
  get(): Promise<{ name: string; help: string; type: 'histogram'; values: Array<MetricValueWithName<string>>; aggregator: 'sum' }> {
    const values: Array<MetricValueWithName<string>> = [];
    let cumulative = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      cumulative += this.counts[i]!;
      values.push({ labels: { le: this.bounds[i]! }, value: cumulative, metricName: `${this.name}_bucket` });
    }
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: `${this.name}_bucket` });
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return Promise.resolve({ name: this.name, help: this.help, type: 'histogram', values, aggregator: 'sum' });
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}
