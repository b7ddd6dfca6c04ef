/**
 * A2A throughput and latency: blocking `SendMessage` (A2A 1.0, JSON-RPC) to an offline echo
 * agent through the whole troupe path (fastify, the SDK's transport and request handler, the
 * follow-up guard, the agent run through the gateway actor, every task saved through its
 * task actor into LMDB), next to the SDK's own express server with its InMemoryTaskStore and
 * an executor that publishes the same events (task, working, one artifact, completed) at
 * once. Same run, same load generator (a child process: many keep-alive connections).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import express from 'express';
import pino from 'pino';
import { Role, TaskState, type AgentCard } from '@a2a-js/sdk';
import { AgentEvent, DefaultRequestHandler, InMemoryTaskStore, type AgentExecutor } from '@a2a-js/sdk/server';
import { UserBuilder, jsonRpcHandler } from '@a2a-js/sdk/server/express';
import { startNode } from '../index.js';
import { load } from './load.js';
import type { LoadJob, LoadResult } from './loadgen.js';
import { note, round } from './util.js';

const CONNECTIONS = Number(process.env.BENCH_A2A_CONNECTIONS ?? 64);
const DURATION_MS = Number(process.env.BENCH_A2A_DURATION_MS ?? 3_000);
const WARMUP_MS = Number(process.env.BENCH_A2A_WARMUP_MS ?? 750);
const ROUNDS = Number(process.env.BENCH_A2A_ROUNDS ?? 3);

const REQUEST = JSON.stringify({
  jsonrpc: '2.0', id: 1, method: 'SendMessage',
  params: { message: { messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text: 'Hello from the load generator' }] } },
});

const text = (value: string) => ({ content: { $case: 'text' as const, value }, mediaType: 'text/plain', filename: '', metadata: undefined });

/** The reference executor: the same four events troupe's agent turn publishes, with no agent behind them. */
const echoExecutor: AgentExecutor = {
  async execute(rc, bus) {
    const { taskId, contextId } = rc;
    const ts = new Date().toISOString();
    bus.publish(AgentEvent.task({ id: taskId, contextId, artifacts: [], history: [rc.userMessage], metadata: {}, status: { state: TaskState.TASK_STATE_SUBMITTED, message: undefined, timestamp: ts } }));
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: undefined, status: { state: TaskState.TASK_STATE_WORKING, message: undefined, timestamp: ts } }));
    const answer = `[troupe-offline] You said: ${rc.userMessage.parts.map((p) => (p.content?.$case === 'text' ? p.content.value : '')).join('')}`;
    bus.publish(AgentEvent.artifactUpdate({ taskId, contextId, append: false, lastChunk: true, metadata: undefined, artifact: { artifactId: `${taskId}-answer`, name: 'answer', description: '', parts: [text(answer)], metadata: undefined, extensions: [] } }));
    const reply = { messageId: `${taskId}-reply`, contextId, taskId, role: Role.ROLE_AGENT, parts: [text(answer)], metadata: undefined, extensions: [], referenceTaskIds: [] };
    bus.publish(AgentEvent.statusUpdate({ taskId, contextId, metadata: undefined, status: { state: TaskState.TASK_STATE_COMPLETED, message: reply, timestamp: new Date().toISOString() } }));
    bus.finished();
  },
  async cancelTask() {},
};

/** `a2a_send_*` (troupe, tasks in LMDB) and `raw_a2a_sdk_send_*` (the SDK's express server, in memory), measured back to back. */
export async function benchA2A(): Promise<Record<string, number>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'troupe-bench-a2a-'));
  const node = await startNode({
    id: 'bench-a2a',
    logger: pino({ level: 'silent' }),
    model: { provider: 'offline' },
    dataDir,
    http: { port: 0, rateLimitPerMinute: 1_000_000 },
  });
  let raw: Server | undefined;
  try {
    node.spawnAgent({ name: 'echo', instructions: 'Echo.', limits: { maxConcurrentRuns: 256, maxQueuedRuns: 10_000 } });
    const url = `${node.http!.url}/a2a/echo`;
    const sample = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' }, body: REQUEST });
    const body = await sample.json() as { result?: { task?: { status?: { state?: string } } } };
    if (body.result?.task?.status?.state !== 'TASK_STATE_COMPLETED') throw new Error(`troupe answered ${JSON.stringify(body).slice(0, 300)}`);

    const card: AgentCard = {
      name: 'echo', description: 'reference', version: '1.0.0', provider: undefined, documentationUrl: undefined, iconUrl: undefined,
      supportedInterfaces: [{ url: 'http://127.0.0.1/a2a', protocolBinding: 'JSONRPC', tenant: '', protocolVersion: '1.0' }],
      capabilities: { streaming: true, pushNotifications: false, extensions: [], extendedAgentCard: false },
      securitySchemes: {}, securityRequirements: [], defaultInputModes: ['text/plain'], defaultOutputModes: ['text/plain'], skills: [], signatures: [],
    } as AgentCard;
    const handler = new DefaultRequestHandler(card, new InMemoryTaskStore(), echoExecutor);
    const app = express();
    app.use('/a2a', jsonRpcHandler({ requestHandler: handler, userBuilder: UserBuilder.noAuthentication }));
    raw = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const addr = raw.address();
    const rawUrl = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}/a2a`;
    const check = await (await fetch(rawUrl, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' }, body: REQUEST })).json() as typeof body;
    if (check.result?.task?.status?.state !== 'TASK_STATE_COMPLETED') throw new Error(`the SDK server answered ${JSON.stringify(check).slice(0, 300)}`);

    const job = (target: string): LoadJob => ({
      url: target, method: 'POST', body: REQUEST, headers: { 'a2a-version': '1.0' },
      connections: CONNECTIONS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, expectStatus: 200,
    });
    note(`a2a: ${CONNECTIONS} keep-alive connections, ${ROUNDS} x ${DURATION_MS} ms after ${WARMUP_MS} ms warm-up, blocking SendMessage`);
    let rawResult: LoadResult | undefined;
    let a2aResult: LoadResult | undefined;
    const best = (a: LoadResult | undefined, b: LoadResult): LoadResult => (a && a.reqPerS >= b.reqPerS ? a : b);
    for (let i = 0; i < ROUNDS; i++) {
      const r = await load(job(rawUrl));
      note(`a2a: SDK express ${r.reqPerS} req/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.errors} errors)`);
      rawResult = best(rawResult, r);
      const t = await load(job(url));
      note(`a2a: troupe      ${t.reqPerS} req/s, p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms (${t.errors} errors)`);
      a2aResult = best(a2aResult, t);
    }
    if (!rawResult || !a2aResult) throw new Error('no rounds');
    return {
      a2a_send_per_s: a2aResult.reqPerS,
      a2a_send_p50_ms: a2aResult.p50Ms,
      a2a_send_p99_ms: a2aResult.p99Ms,
      a2a_send_errors: a2aResult.errors,
      raw_a2a_sdk_send_per_s: rawResult.reqPerS,
      raw_a2a_sdk_send_p50_ms: rawResult.p50Ms,
      raw_a2a_sdk_send_p99_ms: rawResult.p99Ms,
      a2a_vs_sdk_throughput: round(a2aResult.reqPerS / rawResult.reqPerS, 3),
      a2a_vs_sdk_p99: round(a2aResult.p99Ms / rawResult.p99Ms, 3),
    };
  } finally {
    await new Promise<void>((resolve) => (raw ? raw.close(() => resolve()) : resolve()));
    await node.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
