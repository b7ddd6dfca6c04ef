/**
 * A closed-loop HTTP load generator, run as a child process so it never shares the event
 * loop of the server it measures: `connections` keep-alive connections, each sending the
 * next request as soon as the previous answer arrived, for `durationMs` after `warmupMs`.
 * The parent sends one job over IPC and gets one result back.
 */
import { Agent, request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { percentile } from './util.js';

export interface LoadJob {
  url: string;
  method: 'GET' | 'POST';
  body?: string;
  headers?: Record<string, string>;
  connections: number;
  durationMs: number;
  warmupMs: number;
  /** The status every answer must have. */
  expectStatus?: number;
}

export interface LoadResult {
  requests: number;
  errors: number;
  reqPerS: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

export async function runLoad(job: LoadJob): Promise<LoadResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: job.connections, maxFreeSockets: job.connections });
  const target = new URL(job.url);
  const body = job.body === undefined ? undefined : Buffer.from(job.body);
  const headers: Record<string, string | number> = { ...job.headers, ...(body ? { 'content-type': 'application/json', 'content-length': body.length } : {}) };
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;

  const once = (): Promise<void> => new Promise((resolve) => {
    const t0 = performance.now();
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, method: job.method, agent, headers }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        const t1 = performance.now();
        if (job.expectStatus !== undefined && res.statusCode !== job.expectStatus) errors++;
        else if (t0 >= measureFrom && t1 <= end) latencies.push(t1 - t0);
        resolve();
      });
      res.on('error', () => {
        errors++;
        resolve();
      });
    });
    req.on('error', () => {
      errors++;
      resolve();
    });
    if (body) req.end(body);
    else req.end();
  });

  const loop = async (): Promise<void> => {
    while (performance.now() < end) await once();
  };
  await Promise.all(Array.from({ length: job.connections }, loop));
  agent.destroy();
  const sorted = latencies.sort((a, b) => a - b);
  return {
    requests: latencies.length,
    errors,
    reqPerS: Math.round(latencies.length / (job.durationMs / 1000)),
    p50Ms: Math.round(percentile(sorted, 50) * 1000) / 1000,
    p99Ms: Math.round(percentile(sorted, 99) * 1000) / 1000,
    maxMs: Math.round((sorted[sorted.length - 1] ?? NaN) * 1000) / 1000,
  };
}

if (process.send) {
  process.once('message', (job: LoadJob) => {
    runLoad(job).then(
      (r) => process.send!(r, () => process.exit(0)),
      (e: unknown) => {
        process.stderr.write(`loadgen: ${(e as Error)?.stack ?? String(e)}\n`);
        process.exit(1);
      },
    );
  });
}
