import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MCP_MODULE, type McpServerStatus, type McpServers, type RunningNode } from '../../index.js';
import { cleanup, dataDir, testNode } from '../agent/harness.js';
import { until } from '../helpers.js';
import { everythingServer, memoryServer, processGone } from './fixtures.js';

let node: RunningNode;
let openai: OpenAI;
let mcp: McpServers;
const events: Array<{ type: string; server?: string; state?: string }> = [];

async function ready(name: string, restarts = 0): Promise<McpServerStatus> {
  await until(() => {
    const s = mcp.get(name);
    return s.state === 'ready' && s.restarts >= restarts;
  }, 15_000, `${name} ready`);
  return mcp.get(name);
}

async function ask(content: string, agent = 'toolsmith'): Promise<string> {
  const r = await openai.chat.completions.create({ model: agent, messages: [{ role: 'user', content }] });
  return r.choices[0]!.message.content ?? '';
}

beforeAll(async () => {
  const dir = dataDir();
  node = await testNode({
    dataDir: dir,
    http: { port: 0 },
    mcpServers: [everythingServer(), memoryServer(join(dir, 'memory.jsonl'))],
    mcp: { random: () => 0, apiServers: 'http' },
    agents: [{ name: 'toolsmith', tools: ['mcp:everything/*', 'mcp:memory/create_entities', 'mcp:memory/read_graph'] }],
  });
  node.inspect((e) => {
    if (e.type === 'mcp.connection') events.push(e);
  });
  openai = new OpenAI({ baseURL: `${node.http!.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  mcp = node.module<McpServers>(MCP_MODULE);
  await ready('everything');
  await ready('memory');
}, 30_000);
afterAll(cleanup);

describe('agents use tools of real MCP servers (stdio) through connection actors', () => {
  it('lists the servers\' tools and refreshes on tools/list_changed', async () => {
    const everything = mcp.get('everything');
    expect(everything.tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'get-sum', 'get-structured-content']));
    expect(everything.session).toBe('stdio');
    // server-everything registers more tools after initialize and says so: the list came again
    await until(() => mcp.get('everything').toolListChanges >= 1, 10_000, 'tools/list_changed');
    expect(mcp.get('memory').tools.map((t) => t.name)).toContain('create_entities');
  });

  it('an agent answers a chat completion by calling MCP tools (official openai client)', async () => {
    expect(await ask('call everything__get-sum {"a":2,"b":3}')).toContain('The sum of 2 and 3 is 5.');
    expect(await ask('call everything__echo {"message":"hello mcp"}')).toContain('Echo: hello mcp');
    // structuredContent reaches the model too
    expect(await ask('call everything__get-structured-content {"location":"New York"}')).toMatch(/temperature/);
    const created = await ask('call memory__create_entities {"entities":[{"name":"Ada","entityType":"person","observations":["wrote the first program"]}]}');
    expect(created).toContain('Ada');
    expect(await ask('call memory__read_graph {}')).toContain('wrote the first program');
    // the model only sees what the spec allows of memory
    const models = await openai.models.list();
    expect(models.data.map((m) => m.id)).toContain('toolsmith');
    const status = mcp.get('everything');
    expect(status.calls.ok).toBeGreaterThanOrEqual(3);
  });

  it('bad arguments and unknown tools are error results, never a crash', async () => {
    const bad = await ask('call everything__get-sum {"a":"two"}');
    expect(bad).toContain('TROUPE_ERR_TOOL_FAILED');
    expect(bad).toMatch(/Input validation error|Invalid arguments/);
    const unknown = await mcp.callTool('everything', 'no-such-tool', {});
    expect(unknown.isError).toBe(true);
    // the connection is still up and serving
    expect(await ask('call everything__echo {"message":"still here"}')).toContain('Echo: still here');
    expect(mcp.get('everything').restarts).toBe(0);
    expect(mcp.get('everything').calls.failed).toBeGreaterThanOrEqual(2);
  });

  it('a call in flight is cancelled with its run (notifications/cancelled), not left running', async () => {
    const calls: Array<{ tool: string; ok: boolean }> = [];
    const stop = node.inspect((e) => {
      if (e.type === 'mcp.call') calls.push(e);
    });
    try {
      const ac = new AbortController();
      const run = node.agents.run('toolsmith', { input: [{ role: 'user', content: 'call everything__trigger-long-running-operation {"duration":60,"steps":60}' }] }, { signal: ac.signal });
      await until(() => mcp.get('everything').calls.inFlight === 1, 10_000, 'the MCP call under way');
      ac.abort(new Error('enough'));
      await expect(run).rejects.toMatchObject({ code: 'TROUPE_ERR_AGENT_CANCELLED' });
      // a 60 s operation: the call ends now only because it was cancelled
      await until(() => calls.some((c) => c.tool === 'trigger-long-running-operation' && !c.ok), 10_000, 'the MCP call ended');
      expect(await ask('call everything__echo {"message":"after cancel"}')).toContain('Echo: after cancel');
    } finally {
      stop();
    }
  });

  it('a call past its time limit fails with TROUPE_ERR_MCP_CALL_TIMEOUT', async () => {
    await expect(mcp.callTool('everything', 'trigger-long-running-operation', { duration: 60, steps: 60 }, { timeoutMs: 200 }))
      .rejects.toMatchObject({ code: 'TROUPE_ERR_MCP_CALL_TIMEOUT' });
    expect(mcp.get('everything').calls.inFlight).toBe(0);
  });

  it('kill -9 of the server mid-conversation: the connection actor restarts it and the next call works', async () => {
    const pid = mcp.connection('everything').pid!;
    expect(pid).toBeGreaterThan(0);
    const conversation: OpenAI.ChatCompletionMessageParam[] = [{ role: 'user', content: 'call everything__echo {"message":"before"}' }];
    const first = await openai.chat.completions.create({ model: 'toolsmith', messages: conversation });
    expect(first.choices[0]!.message.content).toContain('Echo: before');
    process.kill(pid, 'SIGKILL');
    await until(() => mcp.get('everything').restarts === 1, 10_000, 'the loss noticed');
    conversation.push(first.choices[0]!.message, { role: 'user', content: 'call everything__echo {"message":"after"}' });
    await ready('everything', 1);
    expect(mcp.connection('everything').pid).not.toBe(pid);
    const next = await openai.chat.completions.create({ model: 'toolsmith', messages: conversation });
    expect(next.choices[0]!.message.content).toContain('Echo: after');
    const states = events.filter((e) => e.server === 'everything').map((e) => e.state);
    expect(states).toEqual(expect.arrayContaining(['connecting', 'ready', 'backoff']));
  });

  it('a server that is down makes its tools fail fast with a coded error', async () => {
    mcp.add({ name: 'broken', command: process.execPath, args: ['-e', 'process.exit(3)'], backoffMinMs: 60_000, backoffMaxMs: 60_000 });
    await until(() => mcp.get('broken').state === 'backoff', 10_000, 'broken in backoff');
    await expect(mcp.callTool('broken', 'anything', {})).rejects.toMatchObject({ code: 'TROUPE_ERR_MCP_SERVER_DOWN' });
    expect(mcp.get('broken').lastError).toBeTruthy();
    await mcp.remove('broken');
  });

  it('removing a stdio server ends its process', async () => {
    mcp.add(everythingServer('temp'));
    const status = await ready('temp');
    expect(status.tools.length).toBeGreaterThan(0);
    const pid = mcp.connection('temp').pid!;
    const del = await fetch(`${node.http!.url}/api/v1/mcp-servers/temp`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    await until(() => processGone(pid), 10_000, 'the server process ends');
    expect(() => mcp.get('temp')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_MCP_SERVER_NOT_FOUND' }));
  });

  it('REST /api/v1/mcp-servers: list, get, create, delete, coded errors, metrics', async () => {
    const url = `${node.http!.url}/api/v1/mcp-servers`;
    const list = await (await fetch(url)).json() as { servers: McpServerStatus[] };
    expect(list.servers.map((s) => s.name)).toEqual(['everything', 'memory']);
    const one = await (await fetch(`${url}/everything`)).json() as McpServerStatus;
    expect(one).toMatchObject({ name: 'everything', transport: 'stdio', state: 'ready' });
    expect(JSON.stringify(one)).not.toContain('server-everything'); // no command lines or paths
    const missing = await fetch(`${url}/nope`);
    expect(missing.status).toBe(404);
    expect((await missing.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_MCP_SERVER_NOT_FOUND');
    const post = (body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    // a stdio server starts a process: this node lets the API add HTTP servers only
    const stdio = await post(everythingServer('second'));
    expect(stdio.status).toBe(403);
    expect((await stdio.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_MCP_FORBIDDEN');
    const invalid = await post({ name: 'Bad Name', transport: 'http', url: 'http://127.0.0.1:1/mcp' });
    expect(invalid.status).toBe(400);
    expect((await invalid.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_MCP_INVALID_SERVER');
    const created = await post({ name: 'remote', transport: 'http', url: 'http://127.0.0.1:1/mcp', backoffMinMs: 60_000 });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ name: 'remote', transport: 'http' });
    const dup = await post({ name: 'remote', transport: 'http', url: 'http://127.0.0.1:1/mcp' });
    expect(dup.status).toBe(409);
    expect((await dup.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_MCP_SERVER_EXISTS');
    const del = await fetch(`${url}/remote`, { method: 'DELETE' });
    expect(await del.json()).toEqual({ name: 'remote', deleted: true });
    expect((await fetch(`${url}/remote`, { method: 'DELETE' })).status).toBe(404);
    const metrics = await (await fetch(`${node.http!.url}/metrics`)).text();
    expect(metrics).toMatch(/troupe_mcp_tool_calls_total\{[^}]*server="everything"[^}]*outcome="ok"[^}]*\} \d+/);
    expect(metrics).toMatch(/troupe_mcp_connection_state\{[^}]*server="memory"[^}]*state="ready"[^}]*\} 1/);
  });
});
