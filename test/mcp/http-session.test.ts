import { afterAll, describe, expect, it } from 'vitest';
import { MCP_MODULE, type McpServers, type RunningNode } from '../../index.js';
import { cleanup, onCleanup, testNode } from '../agent/harness.js';
import { until } from '../helpers.js';
import { startFixture, type TroupeProcess } from '../process.js';

afterAll(cleanup);

function text(r: { content?: unknown }): string {
  return (r.content as Array<{ text?: string }>).map((c) => c.text ?? '').join('');
}

describe('a Streamable HTTP MCP server (SDK, its own process)', () => {
  it('serves tools to an agent; after the server restarts (session lost) the connection actor re-initializes', async () => {
    let server: TroupeProcess = await startFixture('mcp-http-server.mjs', ['0']);
    onCleanup(() => server.kill());
    const url = server.ready.http;
    const port = new URL(url).port;
    const node: RunningNode = await testNode({
      mcpServers: [{ name: 'remote', transport: 'http', url: `${url}/mcp`, backoffMinMs: 20, backoffMaxMs: 200 }],
      agents: [{ name: 'adder', tools: ['mcp:remote/add'] }],
    });
    const mcp = node.module<McpServers>(MCP_MODULE);
    await until(() => mcp.get('remote').state === 'ready', 10_000, 'remote ready');
    expect(mcp.get('remote')).toMatchObject({ transport: 'http', session: 'streamable-http', tools: [{ name: 'add' }, { name: 'boot' }] });
    const r = await node.agents.run('adder', { input: [{ role: 'user', content: 'call remote__add {"a":20,"b":22}' }] });
    expect(r.content).toContain('sum=42');
    const firstBoot = text(await mcp.callTool('remote', 'boot', {}));

    // the server goes away: the agent still sees the tool, and its call fails fast with a coded error
    await server.kill();
    const down = await node.agents.run('adder', { input: [{ role: 'user', content: 'call remote__add {"a":1,"b":1}' }] });
    expect(down.content).toContain('TROUPE_ERR_MCP_SERVER_DOWN');
    expect(mcp.get('remote').state).not.toBe('ready');
    // it comes back on the same port, knowing no sessions: the connection actor opens a new one
    server = await startFixture('mcp-http-server.mjs', [port]);
    await until(() => mcp.get('remote').restarts >= 1 && mcp.get('remote').state === 'ready', 10_000, 're-initialized');
    const secondBoot = text(await mcp.callTool('remote', 'boot', {}));
    expect(secondBoot).toMatch(/^boot=/);
    expect(secondBoot).not.toBe(firstBoot);
    const again = await node.agents.run('adder', { input: [{ role: 'user', content: 'call remote__add {"a":1,"b":2}' }] });
    expect(again.content).toContain('sum=3');
  }, 60_000);

  it('falls back to the older HTTP+SSE transport when the server refuses Streamable HTTP', async () => {
    const server = await startFixture('mcp-http-server.mjs', ['0', 'sse']);
    onCleanup(() => server.kill());
    const node = await testNode({ mcpServers: [{ name: 'legacy', transport: 'http', url: `${server.ready.http}/mcp` }] });
    const mcp = node.module<McpServers>(MCP_MODULE);
    await until(() => mcp.get('legacy').state === 'ready', 10_000, 'legacy ready');
    expect(mcp.get('legacy').session).toBe('sse');
    const r = await mcp.callTool('legacy', 'add', { a: 2, b: 5 });
    expect(r.structuredContent).toEqual({ sum: 7 });
  }, 60_000);
});
