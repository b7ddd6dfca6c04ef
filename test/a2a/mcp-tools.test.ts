import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { a2aNode, closeNodes, v1Client } from './harness.js';

afterEach(closeNodes);

describe('A2A as MCP tools (through /mcp with the MCP SDK client)', () => {
  it('a2a_send_message makes a persistent A2A task that the A2A client reads too; a2a_get_task reads it; unknown agents are coded errors', async () => {
    const node = await a2aNode({ agents: [{ name: 'echo' }] });
    const client = new Client({ name: 'a2a-mcp-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${node.http.url}/mcp`)));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['a2a_send_message', 'a2a_get_task', 'a2a_cancel_task']));
      const sent = await client.callTool({ name: 'a2a_send_message', arguments: { agent: 'echo', text: 'hello over mcp', message_id: 'm-1' } });
      expect(sent.isError).toBeFalsy();
      const task = sent.structuredContent as { id: string; status: { state: string }; artifacts: Array<{ parts: Array<{ text?: string }> }> };
      expect(task.status.state).toBe('TASK_STATE_COMPLETED');
      expect(JSON.stringify(task.artifacts)).toContain('hello over mcp');
      // the same message id again: the same task, not a second run
      const again = await client.callTool({ name: 'a2a_send_message', arguments: { agent: 'echo', text: 'hello over mcp', message_id: 'm-1' } });
      expect((again.structuredContent as { id: string }).id).toBeDefined();
      const got = await client.callTool({ name: 'a2a_get_task', arguments: { agent: 'echo', id: task.id } });
      expect((got.structuredContent as { id: string; status: { state: string } })).toMatchObject({ id: task.id, status: { state: 'TASK_STATE_COMPLETED' } });
      // the official A2A client sees the same task (same store, same keyless owner)
      const a2a = await v1Client(node.http.url, 'echo');
      expect((await a2a.getTask({ tenant: '', id: task.id, historyLength: undefined })).id).toBe(task.id);
      const missing = await client.callTool({ name: 'a2a_send_message', arguments: { agent: 'nobody', text: 'hi' } });
      expect(missing.isError).toBe(true);
      expect(JSON.stringify(missing.content)).toContain('TROUPE_ERR_A2A_AGENT_NOT_FOUND');
      const bad = await client.callTool({ name: 'a2a_get_task', arguments: { agent: 'echo', id: 'no-such-task' } });
      expect(bad.isError).toBe(true);
      // a finished task is not cancelable, an unknown one is not found: both refused, the task unchanged
      const before = (await a2a.getTask({ tenant: '', id: task.id, historyLength: undefined })).status?.state;
      const done = await client.callTool({ name: 'a2a_cancel_task', arguments: { agent: 'echo', id: task.id } });
      expect(done.isError).toBe(true);
      expect(JSON.stringify(done.content).toLowerCase()).toContain('cancel');
      expect((await a2a.getTask({ tenant: '', id: task.id, historyLength: undefined })).status?.state).toBe(before);
      expect((await client.callTool({ name: 'a2a_cancel_task', arguments: { agent: 'echo', id: 'no-such-task' } })).isError).toBe(true);
    } finally {
      await client.close();
    }
  });
});
