import { Counter, Gauge, Registry } from 'prom-client';
import { HistogramSeries, type HistogramChild } from '../modules/index.js';
import { TASK_PRIORITIES } from '../../storage/index.js';

/** Recent samples kept for the JSON percentiles. */
const WINDOW = 1024;

function percentiles(all: number[]): { p50: number; p95: number; p99: number } {
  if (all.length === 0) return { p50: 0, p95: 0, p99: 0 };
  const s = all.slice(-WINDOW).sort((a, b) => a - b);
  const at = (p: number): number => s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

/** What the gauges read at scrape time. */
export interface AoaGaugeSource {
  depthByPriority(): number[];
  workers(): { total: number; busy: number };
}

/**
 * The task runtime's metrics: Prometheus series on a registry of the module's own
 * (`troupe_aoa_*`), and the JSON of `GET /api/v1/aoa/metrics` (wait and run time
 * percentiles over the last 1,024 tasks).
 */
export class AoaMetrics {
  readonly registry = new Registry();
  private readonly outcomes: Counter<'outcome'>;
  private readonly scale: Counter<'direction'>;
  private readonly wait: HistogramChild<never>;
  private readonly run: HistogramChild<never>;
  private readonly waits: number[] = [];
  private readonly runs: number[] = [];
  private readonly counts = { submitted: 0, completed: 0, failed: 0, retried: 0, cancelled: 0, timed_out: 0, scaled_up: 0, scaled_down: 0 };
  /** What the Prometheus counters have been given of `counts` (they catch up at scrape). */
  private readonly counted = { ...this.counts };
  private readonly startedAt: number;

  constructor(nodeId: string, private readonly source: AoaGaugeSource, private readonly now: () => number) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: nodeId });
    this.startedAt = now();
    // counted per task as plain numbers; the counters take the difference at scrape
    const sync = (): void => this.syncCounters();
    this.outcomes = new Counter({ name: 'troupe_aoa_tasks_total', help: 'Task runtime events by outcome (submitted, completed, failed, retried, cancelled, timed_out)', labelNames: ['outcome'], registers, collect: sync });
    this.scale = new Counter({ name: 'troupe_aoa_scale_decisions_total', help: 'Worker pool scale decisions by direction', labelNames: ['direction'], registers, collect: sync });
    const buckets = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300];
    // counted in plain numbers per task (one series each, no labels), read by the registry at scrape
    this.wait = new HistogramSeries<never>('troupe_aoa_task_wait_seconds', 'Time from ready to start of a task attempt', [], buckets, this.registry).child({});
    this.run = new HistogramSeries<never>('troupe_aoa_task_run_seconds', 'Run time of a task attempt', [], buckets, this.registry).child({});
    new Gauge({
      name: 'troupe_aoa_queue_depth', help: 'Tasks queued, by priority (sampled at scrape)', labelNames: ['priority'], registers,
      collect() {
        const d = source.depthByPriority();
        TASK_PRIORITIES.forEach((p, i) => this.set({ priority: p }, d[i] ?? 0));
      },
    });
    new Gauge({
      name: 'troupe_aoa_workers', help: 'Task workers by state (sampled at scrape)', labelNames: ['state'], registers,
      collect() {
        const w = source.workers();
        this.set({ state: 'busy' }, w.busy);
        this.set({ state: 'idle' }, w.total - w.busy);
      },
    });
  }

  count(outcome: keyof AoaMetrics['counts']): void {
    this.counts[outcome]++;
  }

  private syncCounters(): void {
    for (const k of Object.keys(this.counts) as Array<keyof AoaMetrics['counts']>) {
      const delta = this.counts[k] - this.counted[k];
      if (delta <= 0) continue;
      this.counted[k] = this.counts[k];
      if (k === 'scaled_up' || k === 'scaled_down') this.scale.inc({ direction: k === 'scaled_up' ? 'up' : 'down' }, delta);
      else this.outcomes.inc({ outcome: k }, delta);
    }
  }

  observeWait(ms: number): void {
    this.wait.observe(ms / 1000);
    push(this.waits, ms);
  }

  observeRun(ms: number): void {
    this.run.observe(ms / 1000);
    push(this.runs, ms);
  }

  /** `GET /api/v1/aoa/metrics`. */
  snapshot(): Record<string, unknown> {
    const depth = this.source.depthByPriority();
    const w = this.source.workers();
    const uptimeS = Math.max(1e-3, (this.now() - this.startedAt) / 1000);
    return {
      queue_depth: Object.fromEntries(TASK_PRIORITIES.map((p, i) => [p, depth[i] ?? 0])),
      queue_total: depth.reduce((a, b) => a + b, 0),
      workers: { total: w.total, busy: w.busy, idle: w.total - w.busy },
      wait_ms: percentiles(this.waits),
      run_ms: percentiles(this.runs),
      throughput_per_s: this.counts.completed / uptimeS,
      totals: { ...this.counts },
    };
  }
}

function push(xs: number[], x: number): void {
  xs.push(x);
  // drop the older half at once (a shift per sample moves the whole window)
  if (xs.length >= WINDOW * 2) xs.splice(0, WINDOW);
}
