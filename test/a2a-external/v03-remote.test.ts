import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startFixture, type TroupeProcess } from '../process.js';

let fixture: TroupeProcess;
let node: RunningNode & { http: { url: string } };

beforeAll(async () => {
  fixture = await startFixture('a2a-v03-server.mjs', ['0']);
  node = await startNode({
    id: 'ext-v03', logger: silent, http: { port: 0 }, model: { provider: 'offline' },
    externalAgents: { allowLoopback: true },
    agents: [{ name: 'old', a2a: { url: fixture.ready.http } }],
  }) as RunningNode & { http: { url: string } };
}, PROCESS_TEST_TIMEOUT_MS);

afterAll(async () => {
  await node?.close();
  await fixture?.kill();
});

describe('a proxy of an A2A 0.3 server (SDK 0.3.14, its own process)', () => {
  it('answers blocking and streamed through the openai client, over the SDK client\'s 0.3 compat transport', async () => {
    const client = new OpenAI({ baseURL: `${node.http.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const r = await client.chat.completions.create({ model: 'old', messages: [{ role: 'user', content: 'from the past' }] });
    expect(r.choices[0]!.message.content).toBe('v03: from the past');
    const stream = await client.chat.completions.create({ model: 'old', stream: true, messages: [{ role: 'user', content: 'streamed' }] });
    const pieces: string[] = [];
    for await (const c of stream) if (c.choices[0]?.delta?.content) pieces.push(c.choices[0].delta.content);
    expect(pieces.join('')).toBe('v03: streamed');
    expect(pieces.length).toBeGreaterThan(1);
  });
});
