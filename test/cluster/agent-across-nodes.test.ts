import OpenAI from 'openai';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, ROOT, startTroupe, type TroupeProcess } from '../process.js';

const cleanups: Array<() => void> = [];
let a: RunningNode | undefined;
let b: TroupeProcess | undefined;
afterAll(async () => {
  await b?.kill().catch(() => undefined);
  await a?.close();
  cleanups.forEach((c) => c());
});

describe('agents across nodes', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it("an agent spawned on node B answers a chat completion sent to node A's gateway", async () => {
    const da = tempDir('troupe-xa-');
    const db = tempDir('troupe-xb-');
    cleanups.push(da.cleanup, db.cleanup);
    // A has no agents of its own; B runs the shipped demo config (agents 'assistant' and 'echo').
    a = await startNode({ id: 'x-a', dataDir: da.dir, logger: silent, http: { port: 0 }, cluster: { port: 0, heartbeatMs: 150 } });
    b = await startTroupe(['--node', 'x-b', '--config', join(ROOT, 'troupe.config.json'), '--http-port', '0', '--peer-port', '0', '--data', db.dir, '--peers', a.peer!.url],
      { OPENAI_BASE_URL: '', OPENAI_API_KEY: '' });
    await until(() => a!.clusterInfo().members.some((m) => m.node === 'x-b' && m.status === 'up'), 30_000, 'x-b up');
    expect(a.lookup('user/agents/echo/agent')).toBeUndefined();

    const client = new OpenAI({ baseURL: `${a.http!.url}/v1`, apiKey: 'unused-without-keys', maxRetries: 0 });
    const done = await client.chat.completions.create({ model: 'echo', messages: [{ role: 'user', content: 'hello from node A' }] });
    expect(done.choices[0]!.message.content).toContain('hello from node A');
    expect(done.choices[0]!.finish_reason).toBe('stop');

    // streaming crosses the link too: deltas travel back as messages
    const stream = client.chat.completions.stream({ model: 'echo', messages: [{ role: 'user', content: 'streamed across' }], stream_options: { include_usage: true } });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0]!.message.content).toContain('streamed across');
    expect(final.usage?.total_tokens).toBeGreaterThan(0);

    await expect(client.chat.completions.create({ model: 'nowhere', messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    // the models A lists are the cluster's agents, each with the node it runs on
    a.spawnAgent({ name: 'local-one' });
    const models = [];
    for await (const m of client.models.list()) models.push(m as unknown as { id: string; troupe: { node: string } });
    expect(models.map((m) => [m.id, m.troupe.node])).toEqual([['assistant', 'x-b'], ['echo', 'x-b'], ['local-one', 'x-a']]);
    const echo = await client.models.retrieve('echo') as unknown as { id: string; troupe: { node: string } };
    expect(echo.troupe.node).toBe('x-b');
    await expect(client.models.retrieve('nowhere')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
