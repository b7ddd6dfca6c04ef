import { afterAll, describe, expect, it } from 'vitest';
import { ManualClock, MCP_MODULE, agentsModule, gatewayModule, mcpModule, startNode, type McpServers } from '../../index.js';
import { settle, silent, until } from '../helpers.js';
import { cleanup, onCleanup } from '../agent/harness.js';

afterAll(cleanup);

describe('the connection actor\'s reconnect backoff runs on the node\'s clock', () => {
  it('waits min, 2 x min, 4 x min between attempts (no jitter), and no attempt before its time', async () => {
    const clock = new ManualClock(1_000_000);
    // a server whose process exits at once: every attempt fails
    const node = await startNode({
      id: 'backoff', logger: silent, http: false, clock,
      modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' } }), mcpModule({
        random: () => 0,
        servers: [{ name: 'flaky', command: process.execPath, args: ['-e', 'process.exit(3)'], backoffMinMs: 1_000, backoffMaxMs: 60_000 }],
      })],
    });
    onCleanup(() => node.close());
    const mcp = node.module<McpServers>(MCP_MODULE);
    const attempts: string[] = [];
    node.inspect((e) => {
      if (e.type === 'mcp.connection' && e.server === 'flaky') attempts.push(e.state);
    });
    const connecting = () => attempts.filter((s) => s === 'connecting').length;
    await until(() => mcp.get('flaky').state === 'backoff', 10_000, 'first failure');
    expect(mcp.get('flaky').lastError).toBeTruthy();
    for (const delay of [1_000, 2_000, 4_000]) {
      const before = connecting();
      clock.advance(delay - 1);
      await settle(20); // the actor has had its turns: a due timer would have started an attempt
      expect(connecting()).toBe(before);
      clock.advance(1);
      await until(() => connecting() === before + 1, 5_000, `attempt after ${delay} ms`);
      await until(() => mcp.get('flaky').state === 'backoff', 10_000, 'failed again');
    }
    await expect(mcp.callTool('flaky', 'x', {})).rejects.toMatchObject({ code: 'TROUPE_ERR_MCP_SERVER_DOWN' });
  }, 60_000);
});
