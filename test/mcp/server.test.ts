import { request } from 'node:http';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../index.js';
import { cleanup, onCleanup, testNode } from '../agent/harness.js';
import { until } from '../helpers.js';

const KEY = 'sk-test-mcp-key';
let node: RunningNode;
let url: URL;

async function connect(key: string | undefined = KEY): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(url, key === undefined ? {} : { requestInit: { headers: { authorization: `Bearer ${key}` } } });
  const client = new Client({ name: 'troupe-test', version: '1.0.0' });
  await client.connect(transport);
  onCleanup(() => client.close().catch(() => undefined));
  return { client, transport };
}

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } };

function post(body: string | object, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${KEY}`, ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

beforeAll(async () => {
  node = await testNode({
    http: { port: 0, apiKeys: [KEY] },
    model: { provider: 'offline', offline: { tokensPerDelta: 1, deltaDelayMs: 5 } },
    agents: [{ name: 'echo', description: 'Says back what it hears' }],
  });
  url = new URL(`${node.http!.url}/mcp`);
});
afterAll(cleanup);

describe('/mcp: troupe as an MCP server (Streamable HTTP, SDK client)', () => {
  it('initializes a session and lists the tools', async () => {
    const { client, transport } = await connect();
    expect(transport.sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(client.getServerVersion()?.name).toBe('troupe');
    const { tools } = await client.listTools();
    const names = tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['list_agents', 'describe_agent', 'run_agent', 'create_agent', 'delete_agent', 'cluster_status', 'actor_tree']));
    expect(tools.find((t) => t.name === 'run_agent')!.inputSchema).toMatchObject({ type: 'object', required: expect.arrayContaining(['agent', 'input']) });
  });

  it('the node\'s modules add their tools (aoa, scheduler, drills, mcp client)', async () => {
    const { client } = await connect();
    const names = (await client.listTools()).tools.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['aoa_submit_task', 'aoa_get_task', 'aoa_list_tasks', 'aoa_cancel_task', 'scheduler_list_jobs', 'drills_list', 'drill_run', 'drill_abort', 'killswitch_engage', 'mcp_servers']));
    const submitted = await client.callTool({ name: 'aoa_submit_task', arguments: { task: { task_type: 'AGENT_RUN', payload: { agent: 'echo', input: 'from a task' } } } });
    expect(submitted.isError).toBeFalsy();
    const id = (submitted.structuredContent as { id: string }).id;
    const got = await client.callTool({ name: 'aoa_get_task', arguments: { id } });
    expect(got.structuredContent).toMatchObject({ id });
    const badTask = await client.callTool({ name: 'aoa_submit_task', arguments: { task: { priority: 'URGENT' } } });
    expect(badTask.isError).toBe(true);
    expect(JSON.stringify(badTask.content)).toContain('TROUPE_ERR_AOA_INVALID_TASK');
    const drill = await client.callTool({ name: 'drill_run', arguments: { kind: 'crash', target: 'agent:echo' } });
    expect(JSON.stringify(drill.content)).toContain('TROUPE_ERR_DRILL_DISABLED');
    expect((await client.callTool({ name: 'mcp_servers', arguments: {} })).structuredContent).toEqual({ servers: [] });
  });

  it('dead letters: list and redeliver', async () => {
    const { client } = await connect();
    try {
      node.tell('/user/nobody-here', { type: 'hello' });
    } catch {
      // no such actor: the message is a dead letter
    }
    const listed = await client.callTool({ name: 'dead_letters', arguments: {} });
    const letters = (listed.structuredContent as { deadLetters: Array<{ id: string; envelope: { to: string } }> }).deadLetters;
    const mine = letters.find((l) => l.envelope.to.endsWith('/user/nobody-here'));
    expect(mine).toBeDefined();
    const missing = await client.callTool({ name: 'redeliver_dead_letter', arguments: { id: 'dl-none' } });
    expect(JSON.stringify(missing.content)).toContain('TROUPE_ERR_DEAD_LETTER_NOT_FOUND');
    const again = await client.callTool({ name: 'redeliver_dead_letter', arguments: { id: mine!.id } });
    expect(again.structuredContent).toEqual({ redelivered: true, id: mine!.id });
  });

  it('agent cards and conversation transcripts are resources', async () => {
    const { client } = await connect();
    const { resources } = await client.listResources();
    expect(resources.map((r) => r.uri)).toContain('troupe://agents/echo');
    const card = await client.readResource({ uri: 'troupe://agents/echo' });
    expect(JSON.parse((card.contents[0] as { text: string }).text)).toMatchObject({ name: 'echo', description: 'Says back what it hears' });
    await client.callTool({ name: 'run_agent', arguments: { agent: 'echo', input: 'remember me', conversation_id: 'conv-1' } });
    const transcript = await client.readResource({ uri: 'troupe://agents/echo/conversations/conv-1' });
    const messages = (JSON.parse((transcript.contents[0] as { text: string }).text) as { messages: Array<{ role: string; content: string }> }).messages;
    expect(messages.map((m) => m.role)).toEqual(['user', 'assistant']);
    expect(messages[0]!.content).toBe('remember me');
    await expect(client.readResource({ uri: 'troupe://agents/ghost' })).rejects.toThrow();
  });

  it('list_agents and describe_agent go through the gateway actor to the directory', async () => {
    const { client } = await connect();
    const list = await client.callTool({ name: 'list_agents', arguments: {} });
    expect(list.isError).toBeFalsy();
    expect((list.structuredContent as { agents: Array<{ name: string }> }).agents.map((a) => a.name)).toContain('echo');
    const d = await client.callTool({ name: 'describe_agent', arguments: { name: 'echo' } });
    expect(d.structuredContent).toMatchObject({ name: 'echo', description: 'Says back what it hears' });
    const missing = await client.callTool({ name: 'describe_agent', arguments: { name: 'nobody' } });
    expect(missing.isError).toBe(true);
    expect(JSON.stringify(missing.content)).toContain('TROUPE_ERR_AGENT_NOT_FOUND');
  });

  it('create_agent and delete_agent; provider overrides are refused as over HTTP', async () => {
    const { client } = await connect();
    const created = await client.callTool({ name: 'create_agent', arguments: { spec: { name: 'made-over-mcp', instructions: 'Be brief.' } } });
    expect(created.isError).toBeFalsy();
    expect(created.structuredContent).toMatchObject({ name: 'made-over-mcp' });
    const ran = await client.callTool({ name: 'run_agent', arguments: { agent: 'made-over-mcp', input: 'ping' } });
    expect((ran.content as Array<{ text: string }>)[0]!.text).toContain('ping');
    const override = await client.callTool({ name: 'create_agent', arguments: { spec: { name: 'sneaky', provider: { baseURL: 'http://evil.example/v1' } } } });
    expect(override.isError).toBe(true);
    expect(JSON.stringify(override.content)).toContain('TROUPE_ERR_AGENT_INVALID_SPEC');
    const deleted = await client.callTool({ name: 'delete_agent', arguments: { name: 'made-over-mcp' } });
    expect(deleted.structuredContent).toEqual({ deleted: true, name: 'made-over-mcp' });
    const again = await client.callTool({ name: 'delete_agent', arguments: { name: 'made-over-mcp' } });
    expect(JSON.stringify(again.content)).toContain('TROUPE_ERR_AGENT_NOT_FOUND');
  });

  it('run_agent answers, with progress notifications of the streamed output', async () => {
    const { client } = await connect();
    const progress: Array<{ progress: number; message?: string }> = [];
    const r = await client.callTool({ name: 'run_agent', arguments: { agent: 'echo', input: 'hello over mcp' } }, undefined, {
      onprogress: (p) => progress.push(p),
    });
    expect(r.isError).toBeFalsy();
    expect((r.content as Array<{ text: string }>)[0]!.text).toBe('[troupe-offline] You said: hello over mcp');
    expect(r.structuredContent).toMatchObject({ agent: 'echo', finish_reason: 'stop' });
    // progress is the whole streamed text, in order, all of it before the result
    expect(progress.length).toBeGreaterThan(0);
    expect(progress.map((p) => p.message).join('')).toBe('[troupe-offline] You said: hello over mcp');
    expect(progress.map((p) => p.progress)).toEqual(progress.map((_, i) => i + 1));
  });

  it('cancelling the request cancels the run', async () => {
    const { client } = await connect();
    const cancels: string[] = [];
    const stop = node.inspect((e) => {
      if (e.type === 'gateway.message' && e.messageType === 'gateway.cancel' && e.runId) cancels.push(e.runId);
    });
    onCleanup(stop);
    const ac = new AbortController();
    let seen = 0;
    const long = Array.from({ length: 400 }, (_, i) => `word${i}`).join(' ');
    const call = client.callTool({ name: 'run_agent', arguments: { agent: 'echo', input: long } }, undefined, {
      signal: ac.signal,
      onprogress: () => {
        seen += 1;
        if (seen === 3) ac.abort(new Error('enough'));
      },
    });
    await expect(call).rejects.toThrow();
    await until(() => cancels.length === 1 && node.gateway.inFlight === 0, 5_000, 'the run cancelled');
    // the session is still good
    const again = await client.callTool({ name: 'run_agent', arguments: { agent: 'echo', input: 'after cancel' } });
    expect((again.content as Array<{ text: string }>)[0]!.text).toContain('after cancel');
  });

  it('unknown tools and invalid arguments are MCP errors, never a crash', async () => {
    const { client } = await connect();
    const unknown = await client.callTool({ name: 'no_such_tool', arguments: {} });
    expect(unknown.isError).toBe(true);
    const invalid = await client.callTool({ name: 'run_agent', arguments: { agent: 'not a name!', input: '' } });
    expect(invalid.isError).toBe(true);
    expect(JSON.stringify(invalid.content)).toMatch(/Input validation error|Invalid/);
    const list = await client.callTool({ name: 'list_agents', arguments: {} });
    expect(list.isError).toBeFalsy();
  });

  it('transport errors: missing key 401, unknown session 404, malformed JSON, no session 400, foreign Origin 403', async () => {
    const noKey = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' }, body: JSON.stringify(INIT) });
    expect(noKey.status).toBe(401);
    expect(noKey.headers.get('www-authenticate')).toMatch(/^Bearer/);
    // the MCP challenge is /mcp's own: other routes' 401s do not carry it
    const otherRoute = await fetch(new URL('/v1/models', url));
    expect(otherRoute.status).toBe(401);
    expect(otherRoute.headers.get('www-authenticate')).toBeNull();
    await expect(connect('sk-wrong-key-123')).rejects.toThrow();

    const unknown = await post({ jsonrpc: '2.0', id: 2, method: 'tools/list' }, { 'mcp-session-id': 'no-such-session' });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32001 } });

    const init = await post(INIT);
    expect(init.status).toBe(200);
    expect(init.headers.get('mcp-session-id')).toBeTruthy();
    expect(init.headers.get('x-request-id')).toBeTruthy();
    await init.body?.cancel();

    const malformed = await post('{"jsonrpc": "2.0", "id": 1, "method": ');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { code: -32700 } });

    // valid JSON that is not JSON-RPC, on a live session: a JSON-RPC error, and the session lives on
    const { client, transport } = await connect();
    const notRpc = await post({ hello: 'world' }, { 'mcp-session-id': transport.sessionId!, 'mcp-protocol-version': '2025-06-18' });
    expect(notRpc.status).toBe(400);
    expect(await notRpc.json()).toMatchObject({ jsonrpc: '2.0', error: { code: expect.any(Number) } });
    expect((await client.callTool({ name: 'list_agents', arguments: {} })).isError).toBeFalsy();

    const noSession = await post({ jsonrpc: '2.0', id: 3, method: 'tools/list' });
    expect(noSession.status).toBe(400);
    expect(await noSession.json()).toMatchObject({ error: { code: -32000 } });

    const foreign = await post(INIT, { origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    // fetch will not send another Host: a DNS-rebound browser would, so plain http does
    const rebound = await new Promise<number>((resolve, reject) => {
      const body = JSON.stringify(INIT);
      const req = request({ host: url.hostname, port: url.port, path: '/mcp', method: 'POST', headers: {
        host: `evil.example:${url.port}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${KEY}`, 'content-length': Buffer.byteLength(body),
      } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(rebound).toBe(403);
  });

  it('by default the API adds no MCP servers (mcp.apiServers none): 403 TROUPE_ERR_MCP_FORBIDDEN', async () => {
    const r = await fetch(`${node.http!.url}/api/v1/mcp-servers`, {
      method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ name: 'remote', transport: 'http', url: 'http://127.0.0.1:9/mcp' }),
    });
    expect(r.status).toBe(403);
    expect((await r.json() as { error: { code: string } }).error.code).toBe('TROUPE_ERR_MCP_FORBIDDEN');
  });

  it('DELETE ends the session: later requests on it are 404', async () => {
    const { transport } = await connect();
    const sid = transport.sessionId!;
    await transport.terminateSession();
    const after = await post({ jsonrpc: '2.0', id: 4, method: 'tools/list' }, { 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' });
    expect(after.status).toBe(404);
  });
});
