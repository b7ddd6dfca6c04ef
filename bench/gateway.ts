/**
 * Gateway throughput and latency: non-streaming chat completions against the offline model
 * through the whole path (fastify, auth and rate-limit hooks, zod validation, the gateway
 * actor, the agent actor, the model, back), next to a bare fastify route that parses the
 * same request and returns a completion JSON of the same size. Same run, same load
 * generator (a child process: many keep-alive connections, fixed duration).
 */
import Fastify from 'fastify';
import pino from 'pino';
import { startNode } from '../index.js';
import { load } from './load.js';
import type { LoadJob, LoadResult } from './loadgen.js';
import { note, round } from './util.js';

const CONNECTIONS = Number(process.env.BENCH_GATEWAY_CONNECTIONS ?? 64);
const DURATION_MS = Number(process.env.BENCH_GATEWAY_DURATION_MS ?? 3_000);
const WARMUP_MS = Number(process.env.BENCH_GATEWAY_WARMUP_MS ?? 750);
/** Rounds per target, interleaved (raw, troupe, raw, troupe): the best of each is kept, so a noisy neighbour hurts both alike. */
const ROUNDS = Number(process.env.BENCH_GATEWAY_ROUNDS ?? 3);

const REQUEST = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'Hello from the load generator' }] });

/** `gateway_chat_*` (the troupe path) and `raw_fastify_*` (the baseline), measured back to back. */
export async function benchGateway(): Promise<Record<string, number>> {
  const node = await startNode({
    id: 'bench-gw',
    logger: pino({ level: 'silent' }),
    model: { provider: 'offline' },
    http: { port: 0, rateLimitPerMinute: 1_000_000 },
  });
  const raw = Fastify({ logger: false });
  // Whatever fails (the sample request, a load round), both servers are closed.
  try {
    node.spawnAgent({ name: 'bench', instructions: 'Be brief.', limits: { maxConcurrentRuns: 256, maxQueuedRuns: 10_000 } });
    const url = `${node.http!.url}/v1/chat/completions`;

    // The baseline answers with a completion of exactly the gateway's size.
    const sample = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: REQUEST });
    if (sample.status !== 200) throw new Error(`gateway answered ${sample.status}: ${await sample.text()}`);
    const completion = await sample.json() as Record<string, unknown>;
    const size = JSON.stringify(completion).length;

    let seq = 0;
    raw.post('/v1/chat/completions', async (req) => {
      const body = req.body as { model: string };
      return { ...completion, id: `chatcmpl-${String(++seq).padStart(12, '0')}`.slice(0, (completion.id as string).length), model: body.model };
    });
    await raw.listen({ host: '127.0.0.1', port: 0 });
    const rawAddr = raw.server.address();
    const rawUrl = `http://127.0.0.1:${typeof rawAddr === 'object' && rawAddr ? rawAddr.port : 0}/v1/chat/completions`;

    const job = (target: string): LoadJob => ({ url: target, method: 'POST', body: REQUEST, connections: CONNECTIONS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, expectStatus: 200 });
    note(`gateway: ${CONNECTIONS} keep-alive connections, ${ROUNDS} x ${DURATION_MS} ms after ${WARMUP_MS} ms warm-up, ${size}-byte completions`);
    let rawResult: LoadResult | undefined;
    let gwResult: LoadResult | undefined;
    const best = (a: LoadResult | undefined, b: LoadResult): LoadResult => (a && a.reqPerS >= b.reqPerS ? a : b);
    for (let i = 0; i < ROUNDS; i++) {
      const r = await load(job(rawUrl));
      note(`gateway: raw fastify ${r.reqPerS} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.errors} errors)`);
      rawResult = best(rawResult, r);
      const g = await load(job(url));
      note(`gateway: troupe     ${g.reqPerS} req/s, p50 ${g.p50Ms} ms, p99 ${g.p99Ms} ms (${g.errors} errors)`);
      gwResult = best(gwResult, g);
    }
    if (!rawResult || !gwResult) throw new Error('no rounds');
    return {
      gateway_chat_req_per_s: gwResult.reqPerS,
      gateway_chat_p50_ms: gwResult.p50Ms,
      gateway_chat_p99_ms: gwResult.p99Ms,
      gateway_chat_errors: gwResult.errors,
      raw_fastify_req_per_s: rawResult.reqPerS,
      raw_fastify_p50_ms: rawResult.p50Ms,
      raw_fastify_p99_ms: rawResult.p99Ms,
      gateway_vs_raw_throughput: round(gwResult.reqPerS / rawResult.reqPerS, 3),
      gateway_vs_raw_p99: round(gwResult.p99Ms / rawResult.p99Ms, 3),
    };
  } finally {
    await raw.close();
    await node.close();
  }
}

