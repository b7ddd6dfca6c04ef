/**
 * The MCP load generator, a child process (bench/mcp.ts forks it): `sessions` SDK clients
 * over Streamable HTTP, each calling one tool again as soon as the previous result came
 * back, for `durationMs` after `warmupMs`. One job over IPC in, one result out.
 */
import { performance } from 'node:perf_hooks';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { percentile } from './util.js';

export interface McpLoadJob {
  url: string;
  headers?: Record<string, string>;
  sessions: number;
  durationMs: number;
  warmupMs: number;
  tool: string;
  args: Record<string, unknown>;
  /** Every result's first text must contain this. */
  expectText: string;
}

export interface McpLoadResult {
  calls: number;
  errors: number;
  callsPerS: number;
  p50Ms: number;
  p99Ms: number;
}

async function run(job: McpLoadJob): Promise<McpLoadResult> {
  const clients = await Promise.all(Array.from({ length: job.sessions }, async () => {
    const c = new Client({ name: 'bench', version: '1.0.0' });
    await c.connect(new StreamableHTTPClientTransport(new URL(job.url), job.headers ? { requestInit: { headers: job.headers } } : {}));
    return c;
  }));
  const start = performance.now();
  const measureFrom = start + job.warmupMs;
  const end = measureFrom + job.durationMs;
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(clients.map(async (c) => {
    while (performance.now() < end) {
      const t = performance.now();
      try {
        const r = await c.callTool({ name: job.tool, arguments: job.args });
        const text = (r.content as Array<{ text?: string }>)[0]?.text ?? '';
        if (r.isError || !text.includes(job.expectText)) throw new Error(`unexpected result: ${text.slice(0, 200)}`);
        if (t >= measureFrom) latencies.push(performance.now() - t);
      } catch {
        if (t >= measureFrom) errors++;
      }
    }
  }));
  await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  latencies.sort((a, b) => a - b);
  return {
    calls: latencies.length,
    errors,
    callsPerS: Math.round(latencies.length / (job.durationMs / 1000)),
    p50Ms: Math.round(percentile(latencies, 50) * 100) / 100,
    p99Ms: Math.round(percentile(latencies, 99) * 100) / 100,
  };
}

process.once('message', (job) => {
  run(job as McpLoadJob).then((r) => {
    process.send!(r, () => process.exit(0));
  }, (e: unknown) => {
    process.stderr.write(`mcp load generator failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
});
