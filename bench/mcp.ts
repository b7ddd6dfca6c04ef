/**
 * MCP server throughput: `run_agent` calls on an offline echo agent through troupe's `/mcp`
 * (fastify, auth and rate-limit hooks, the SDK transport, the gateway actor, the agent, back)
 * next to the SDK's own `McpServer` with an equivalent trivial tool (it returns the echo
 * text at once) on the same Streamable HTTP transport over a bare node:http server. Same
 * run, same load generator (a child process with SDK clients), rounds interleaved.
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import pino from 'pino';
import { z } from 'zod';
import { startNode } from '../index.js';
import type { McpLoadJob, McpLoadResult } from './mcp-load.js';
import { note, round } from './util.js';

const SESSIONS = Number(process.env.BENCH_MCP_SESSIONS ?? 16);
const DURATION_MS = Number(process.env.BENCH_MCP_DURATION_MS ?? 3_000);
const WARMUP_MS = Number(process.env.BENCH_MCP_WARMUP_MS ?? 750);
const ROUNDS = Number(process.env.BENCH_MCP_ROUNDS ?? 3);
const INPUT = 'Hello from the MCP load generator';
const ANSWER = `[troupe-offline] You said: ${INPUT}`;

function load(job: McpLoadJob): Promise<McpLoadResult> {
  const child = fork(join(dirname(fileURLToPath(import.meta.url)), 'mcp-load.js'), [], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (r) => resolve(r as McpLoadResult));
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`MCP load generator exited (code ${code}, signal ${signal}) without a result`)));
    child.send(job);
  });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

/** The SDK alone: stateful Streamable HTTP sessions, one McpServer each, a tool that answers at once. */
async function rawSdkServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const http = createServer((req, res) => {
    void (async () => {
      const body = req.method === 'POST' ? await readBody(req) : undefined;
      const sid = req.headers['mcp-session-id'];
      let t = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!t) {
        if (sid !== undefined || !isInitializeRequest(body)) {
          res.writeHead(sid !== undefined ? 404 : 400).end();
          return;
        }
        const server = new McpServer({ name: 'raw', version: '1.0.0' });
        server.registerTool('run_agent', { inputSchema: { agent: z.string(), input: z.string() } }, async ({ input }) => ({
          content: [{ type: 'text', text: `[troupe-offline] You said: ${input}` }],
        }));
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => { sessions.set(id, created); } });
        created.onclose = () => {
          if (created.sessionId) sessions.delete(created.sessionId);
        };
        await server.connect(created);
        t = created;
      }
      await t.handleRequest(req, res, body);
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const addr = http.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    close: async () => {
      await Promise.all([...sessions.values()].map((t) => t.close().catch(() => undefined)));
      http.closeAllConnections();
      await new Promise((r) => http.close(r));
    },
  };
}

/** `mcp_tool_calls_per_s` (troupe's /mcp) and `raw_mcp_sdk_calls_per_s` (the SDK alone), back to back. */
export async function benchMcp(): Promise<Record<string, number>> {
  const node = await startNode({
    id: 'bench-mcp',
    logger: pino({ level: 'silent' }),
    model: { provider: 'offline' },
    http: { port: 0, rateLimitPerMinute: 1_000_000 },
  });
  const raw = await rawSdkServer();
  try {
    node.spawnAgent({ name: 'echo', limits: { maxConcurrentRuns: 256, maxQueuedRuns: 10_000 } });
    const job = (url: string): McpLoadJob => ({
      url, sessions: SESSIONS, durationMs: DURATION_MS, warmupMs: WARMUP_MS, tool: 'run_agent', args: { agent: 'echo', input: INPUT }, expectText: ANSWER,
    });
    note(`mcp: ${SESSIONS} sessions, ${ROUNDS} x ${DURATION_MS} ms after ${WARMUP_MS} ms warm-up, run_agent on an offline echo agent`);
    let rawBest: McpLoadResult | undefined;
    let ours: McpLoadResult | undefined;
    const best = (a: McpLoadResult | undefined, b: McpLoadResult): McpLoadResult => (a && a.callsPerS >= b.callsPerS ? a : b);
    for (let i = 0; i < ROUNDS; i++) {
      const r = await load(job(raw.url));
      note(`mcp: raw SDK ${r.callsPerS} calls/s, p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms (${r.errors} errors)`);
      rawBest = best(rawBest, r);
      const t = await load(job(`${node.http!.url}/mcp`));
      note(`mcp: troupe  ${t.callsPerS} calls/s, p50 ${t.p50Ms} ms, p99 ${t.p99Ms} ms (${t.errors} errors)`);
      ours = best(ours, t);
    }
    if (!rawBest || !ours) throw new Error('no rounds');
    return {
      mcp_tool_calls_per_s: ours.callsPerS,
      mcp_tool_call_p99_ms: ours.p99Ms,
      mcp_tool_call_errors: ours.errors,
      raw_mcp_sdk_calls_per_s: rawBest.callsPerS,
      raw_mcp_sdk_call_p99_ms: rawBest.p99Ms,
      mcp_vs_raw_throughput: round(ours.callsPerS / rawBest.callsPerS, 3),
    };
  } finally {
    await raw.close();
    await node.close();
  }
}
