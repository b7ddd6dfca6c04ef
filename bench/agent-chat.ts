/**
 * The path users feel: client -> gateway -> agent -> upstream LLM and back, against a fake
 * OpenAI-compatible upstream in its own process (bench/upstream.ts), next to a bare fastify
 * route that forwards the same request to the same upstream with the same client library
 * (`openai`). Two loads: 64 connections with an upstream that answers at once (throughput
 * and CPU per request), and 512 connections with an upstream that takes 50 ms (the tail).
 * Rounds alternate raw and troupe; the best round of each is kept.
 */
import type { ChildProcess } from 'node:child_process';
import Fastify from 'fastify';
import OpenAI from 'openai';
import pino from 'pino';
import { startNode, type RunningNode } from '../index.js';
import { forkServer, load } from './load.js';
import type { LoadResult } from './loadgen.js';
import { note, round } from './util.js';

const DURATION_MS = Number(process.env.BENCH_CHAT_DURATION_MS ?? 3_000);
const WARMUP_MS = Number(process.env.BENCH_CHAT_WARMUP_MS ?? 1_000);
const ROUNDS = Number(process.env.BENCH_CHAT_ROUNDS ?? 2);
const REQUEST = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'Summarize the load generator in one line.' }] });

interface Measured extends LoadResult { cpuMsPerReq: number }

async function measure(url: string, connections: number): Promise<Measured> {
  // 512 connections need a longer window: a request counts only when it starts and ends inside it.
  const durationMs = connections > 64 ? DURATION_MS * 2 : DURATION_MS;
  const warmupMs = connections > 64 ? WARMUP_MS * 2 : WARMUP_MS;
  const cpu = process.cpuUsage();
  const r = await load({ url, method: 'POST', body: REQUEST, connections, durationMs, warmupMs, expectStatus: 200 });
  const used = process.cpuUsage(cpu);
  // CPU of this process (the server under test) over the whole load, warm-up included, per answered request.
  const answered = Math.max(1, r.reqPerS * ((durationMs + warmupMs) / 1000));
  return { ...r, cpuMsPerReq: round((used.user + used.system) / 1000 / answered, 3) };
}

async function scenario(upstreamDelayMs: number, connections: number): Promise<{ troupe: Measured; raw: Measured }> {
  let upstream: ChildProcess | undefined;
  let node: RunningNode | undefined;
  const raw = Fastify({ logger: false });
  try {
    const up = await forkServer('upstream.js', [String(upstreamDelayMs)]);
    upstream = up.child;
    const baseURL = `http://127.0.0.1:${up.port}/v1`;
    node = await startNode({
      id: 'bench-chat',
      logger: pino({ level: 'silent' }),
      model: { provider: 'openai', baseURL, apiKey: 'bench-key', model: 'bench-model' },
      http: { port: 0, rateLimitPerMinute: 1_000_000 },
    });
    node.spawnAgent({ name: 'chat', instructions: 'Be brief.', limits: { maxConcurrentRuns: 1024, maxQueuedRuns: 10_000 } });
    const client = new OpenAI({ baseURL, apiKey: 'bench-key', maxRetries: 0 });
    raw.post('/v1/chat/completions', async (req) => {
      const body = req.body as { messages: OpenAI.Chat.ChatCompletionMessageParam[] };
      return client.chat.completions.create({ model: 'bench-model', messages: [{ role: 'system', content: 'Be brief.' }, ...body.messages] });
    });
    await raw.listen({ host: '127.0.0.1', port: 0 });
    const rawAddr = raw.server.address();
    const rawUrl = `http://127.0.0.1:${typeof rawAddr === 'object' && rawAddr ? rawAddr.port : 0}/v1/chat/completions`;
    const url = `${node.http!.url}/v1/chat/completions`;
    const check = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: REQUEST });
    if (check.status !== 200) throw new Error(`troupe answered ${check.status}: ${await check.text()}`);

    let best: { troupe?: Measured; raw?: Measured } = {};
    const keep = (a: Measured | undefined, b: Measured): Measured => (a && a.reqPerS >= b.reqPerS ? a : b);
    for (let i = 0; i < ROUNDS; i++) {
      const r = await measure(rawUrl, connections);
      note(`agent-chat ${connections}c/${upstreamDelayMs}ms: bare proxy ${r.reqPerS} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms, ${r.cpuMsPerReq} ms CPU/req (${r.errors} errors)`);
      const t = await measure(url, connections);
      note(`agent-chat ${connections}c/${upstreamDelayMs}ms: troupe     ${t.reqPerS} req/s, p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms, ${t.cpuMsPerReq} ms CPU/req (${t.errors} errors)`);
      best = { raw: keep(best.raw, r), troupe: keep(best.troupe, t) };
    }
    return { troupe: best.troupe!, raw: best.raw! };
  } finally {
    await raw.close();
    await node?.close();
    upstream?.kill();
  }
}

/** `agent_chat_*` beside `raw_proxy_chat_*`, the issue-16 figures. */
export async function benchAgentChat(): Promise<Record<string, number>> {
  const fast = await scenario(0, 64);
  const slow = await scenario(50, 512);
  return {
    agent_chat_req_per_s: fast.troupe.reqPerS,
    agent_chat_p50_ms: fast.troupe.p50Ms,
    agent_chat_cpu_ms_per_req: fast.troupe.cpuMsPerReq,
    agent_chat_errors: fast.troupe.errors + slow.troupe.errors,
    raw_proxy_chat_req_per_s: fast.raw.reqPerS,
    raw_proxy_chat_p50_ms: fast.raw.p50Ms,
    raw_proxy_chat_cpu_ms_per_req: fast.raw.cpuMsPerReq,
    agent_chat_vs_raw_proxy: round(fast.troupe.reqPerS / fast.raw.reqPerS, 3),
    agent_chat_512_req_per_s: slow.troupe.reqPerS,
    agent_chat_p99_ms: slow.troupe.p99Ms,
    raw_proxy_chat_512_req_per_s: slow.raw.reqPerS,
    raw_proxy_chat_p99_ms: slow.raw.p99Ms,
    agent_chat_p99_vs_raw_proxy: round(slow.troupe.p99Ms / slow.raw.p99Ms, 3),
  };
}
