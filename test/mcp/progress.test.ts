import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { PingRequestSchema, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { afterEach, describe, expect, it } from 'vitest';
import { buildTroupeMcpServer } from '../../index.js';
import { progressReporter } from '../../gateway/mcp/progress.js';
import { cleanup, onCleanup, testNode } from '../agent/harness.js';
import { coalescingPipe } from './coalescing-pipe.js';

afterEach(cleanup);

const STEPS = ['one ', 'two ', 'three'];

/** A server with a `steps` tool that reports each step as progress, then answers. */
function stepsServer(barrier: 'none' | 'reporter', barrierTimeoutMs?: number): McpServer {
  const server = new McpServer({ name: 'steps', version: '1.0.0' });
  server.registerTool('steps', { description: 'reports three steps', inputSchema: {} }, async (_args, extra) => {
    if (barrier === 'reporter') {
      const progress = progressReporter(extra, barrierTimeoutMs === undefined ? {} : { barrierTimeoutMs });
      for (const s of STEPS) progress?.report(s);
      await progress?.settle();
    } else {
      // every notification written (and a turn of the event loop) before the result: still lost
      const token = extra._meta!.progressToken!;
      for (const [i, s] of STEPS.entries()) await extra.sendNotification({ method: 'notifications/progress', params: { progressToken: token, progress: i + 1, message: s } });
      await new Promise((r) => setImmediate(r));
    }
    return { content: [{ type: 'text', text: 'done' }] };
  });
  onCleanup(() => server.close());
  return server;
}

async function connect(server: { connect(t: Transport): Promise<void> }, transports: { client: Transport; server: Transport }): Promise<{ client: Client; errors: Error[] }> {
  const client = new Client({ name: 'progress-test', version: '1.0.0' });
  const errors: Error[] = [];
  client.onerror = (e) => errors.push(e);
  await server.connect(transports.server);
  await client.connect(transports.client);
  onCleanup(() => client.close());
  return { client, errors };
}

describe('MCP progress reaches the client before the result', () => {
  it('the SDK client drops progress it reads in the same chunk as the result (why the barrier exists)', async () => {
    const pipe = coalescingPipe();
    const { client, errors } = await connect(stepsServer('none'), pipe);
    const progress: string[] = [];
    const r = await client.callTool({ name: 'steps', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.message ?? '') });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('done');
    const last = pipe.chunks.at(-1)!;
    expect(last).toContain('notifications/progress');
    expect(last).toContain('"result"');
    expect(progress).toEqual([]);
    expect(errors.map((e) => e.message)).toEqual(STEPS.map(() => expect.stringContaining('progress notification for an unknown token')));
  });

  it('with the barrier (a ping after the progress), every step arrives, in order, and nothing is reported as unknown', async () => {
    const pipe = coalescingPipe();
    const { client, errors } = await connect(stepsServer('reporter'), pipe);
    const progress: Array<{ progress: number; message?: string }> = [];
    const r = await client.callTool({ name: 'steps', arguments: {} }, undefined, { onprogress: (p) => progress.push(p) });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('done');
    expect(progress).toEqual(STEPS.map((message, i) => ({ progress: i + 1, message })));
    expect(errors).toEqual([]);
    // the progress went out in the ping's chunk, and the result alone
    const withProgress = pipe.chunks.find((c) => c.includes('notifications/progress'))!;
    expect(withProgress).toContain('"method":"ping"');
    expect(pipe.chunks.at(-1)).not.toContain('notifications/progress');
  });

  it('without a progress token nothing is sent and no ping is made', async () => {
    const pipe = coalescingPipe();
    const { client } = await connect(stepsServer('reporter'), pipe);
    const r = await client.callTool({ name: 'steps', arguments: {} });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('done');
    expect(pipe.chunks.join('')).not.toMatch(/notifications\/progress|"method":"ping"/);
  });

  it('a client that refuses the ping still gets its progress and its result', async () => {
    const pipe = coalescingPipe();
    const { client } = await connect(stepsServer('reporter'), pipe);
    client.setRequestHandler(PingRequestSchema, () => {
      throw new Error('no pings here');
    });
    const progress: string[] = [];
    const r = await client.callTool({ name: 'steps', arguments: {} }, undefined, { onprogress: (p) => progress.push(p.message ?? '') });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('done');
    expect(progress).toEqual(STEPS);
  });

  it('a client that never answers the ping gets its result once the barrier gives up', async () => {
    const pipe = coalescingPipe();
    // the client's answers to pings are lost on the way
    const send = pipe.client.send.bind(pipe.client);
    pipe.client.send = async (m: JSONRPCMessage) => {
      if ('result' in m && JSON.stringify(m.result) === '{}') return;
      await send(m);
    };
    const { client } = await connect(stepsServer('reporter', 20), pipe);
    const r = await client.callTool({ name: 'steps', arguments: {} }, undefined, { onprogress: () => undefined });
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('done');
  });

  it('run_agent over a coalescing pipe: the whole streamed answer arrives as progress', async () => {
    const node = await testNode({ model: { provider: 'offline', offline: { tokensPerDelta: 1 } }, agents: [{ name: 'echo', description: 'echoes' }] });
    const pipe = coalescingPipe();
    const { client, errors } = await connect(buildTroupeMcpServer({ host: node, runTimeoutMs: 30_000, allowAgentProviders: false }), pipe);
    const progress: string[] = [];
    const r = await client.callTool({ name: 'run_agent', arguments: { agent: 'echo', input: 'hello through a busy pipe' } }, undefined, {
      onprogress: (p) => progress.push(p.message ?? ''),
    });
    const answer = (r.content as Array<{ text: string }>)[0]!.text;
    expect(answer).toBe('[troupe-offline] You said: hello through a busy pipe');
    expect(progress.length).toBeGreaterThan(1);
    expect(progress.join('')).toBe(answer);
    expect(errors).toEqual([]);
  });
});
