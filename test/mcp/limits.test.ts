import { afterAll, describe, expect, it } from 'vitest';
import { MAX_MCP_SERVERS, MCP_MODULE, agentsModule, gatewayModule, mcpModule, startNode, type McpServers } from '../../index.js';
import { silent } from '../helpers.js';
import { cleanup, onCleanup } from '../agent/harness.js';

afterAll(cleanup);

describe('MCP client limits', () => {
  it('holds at most 64 servers; the 65th is TROUPE_ERR_MCP_LIMIT and a bad config at start is refused', async () => {
    // nothing listens on port 9 of loopback: each connection fails once and waits a minute
    const servers = Array.from({ length: MAX_MCP_SERVERS }, (_, i) => ({ name: `s${i}`, transport: 'http' as const, url: 'http://127.0.0.1:9/mcp', backoffMinMs: 60_000, backoffMaxMs: 60_000 }));
    const node = await startNode({ id: 'lim', logger: silent, http: false, modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' } }), mcpModule({ servers })] });
    onCleanup(() => node.close());
    const mcp = node.module<McpServers>(MCP_MODULE);
    expect(mcp.list()).toHaveLength(MAX_MCP_SERVERS);
    expect(() => mcp.add({ name: 'one-more', transport: 'http', url: 'http://127.0.0.1:9/mcp' })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_MCP_LIMIT' }));
    await expect(startNode({ id: 'bad', logger: silent, http: false, mcpServers: [{ name: 'x', command: '' }] }))
      .rejects.toMatchObject({ code: 'TROUPE_ERR_MCP_INVALID_SERVER' });
  });
});
