import { performance } from 'node:perf_hooks';

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

export function round(n: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

/** Best of `runs` timings of `fn` (operations per second for `ops` operations). */
export async function bestRate(runs: number, ops: number, fn: () => Promise<void>): Promise<number> {
  let best = 0;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await fn();
    const rate = ops / ((performance.now() - t) / 1000);
    if (rate > best) best = rate;
  }
  return Math.round(best);
}

/** Progress goes to stderr so the last stdout line stays the JSON result. */
export function note(msg: string): void {
  process.stderr.write(`bench: ${msg}\n`);
}
