import { afterAll, describe, expect, it } from 'vitest';
import { MCP_MODULE, type McpServers } from '../../index.js';
import { startFakeOpenAI } from '../fixtures/fake-openai.js';
import { cleanup, fakeProvider, onCleanup, testNode } from '../agent/harness.js';
import { until } from '../helpers.js';
import { everythingServer } from './fixtures.js';

afterAll(cleanup);

describe('an upstream model (OpenAI wire) sees MCP tools as the server describes them', () => {
  it('offers the JSON Schema as it is and hands the result back as the tool message', async () => {
    const fake = await startFakeOpenAI([
      { kind: 'tool_calls', calls: [{ id: 'call_1', name: 'everything__get-sum', arguments: '{"a":4,"b":5}' }] },
      { kind: 'text', text: 'It is nine.' },
    ]);
    onCleanup(() => fake.close());
    const node = await testNode({ modelProvider: fakeProvider(fake), mcpServers: [everythingServer()], agents: [{ name: 'math', tools: ['mcp:everything/get-sum'] }] });
    const mcp = node.module<McpServers>(MCP_MODULE);
    await until(() => mcp.get('everything').state === 'ready', 15_000, 'everything ready');
    const r = await node.agents.run('math', { input: [{ role: 'user', content: 'What is 4 + 5?' }] });
    expect(r.content).toBe('It is nine.');
    const offered = fake.calls[0]!.body.tools as Array<{ type: string; function: { name: string; description?: string; parameters: unknown } }>;
    expect(offered).toEqual([{
      type: 'function',
      function: {
        name: 'everything__get-sum',
        description: 'Returns the sum of two numbers',
        parameters: {
          type: 'object',
          properties: { a: { type: 'number', description: 'First number' }, b: { type: 'number', description: 'Second number' } },
          required: ['a', 'b'],
        },
      },
    }]);
    const messages = fake.calls[1]!.body.messages as Array<{ role: string; content: string; tool_call_id?: string }>;
    expect(messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call_1', content: 'The sum of 4 and 5 is 9.' });
  }, 60_000);
});
