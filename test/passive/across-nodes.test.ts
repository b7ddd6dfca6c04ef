import OpenAI from 'openai';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNode, type RunningNode } from '../../index.js';
import { silent, tempDir, until } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, startTroupe, type TroupeProcess } from '../process.js';

const cleanups: Array<() => void> = [];
let a: RunningNode | undefined;
let b: TroupeProcess | undefined;
afterAll(async () => {
  await b?.kill().catch(() => undefined);
  await a?.close();
  cleanups.forEach((c) => c());
});

type Described = { name: string; status: string; passivated?: boolean };

describe('a passivated agent on another node', { timeout: PROCESS_TEST_TIMEOUT_MS }, () => {
  it('stays listed, is activated by a run sent from node A, keeps its conversation and the order of messages', async () => {
    const da = tempDir('troupe-pa-');
    const db = tempDir('troupe-pb-');
    cleanups.push(da.cleanup, db.cleanup);
    const config = join(db.dir, 'troupe.config.json');
    writeFileSync(config, JSON.stringify({ agents: [{ name: 'mem', instructions: 'Be brief.', passivateAfterMs: 300 }] }));
    a = await startNode({ id: 'pa', dataDir: da.dir, logger: silent, http: { port: 0 }, cluster: { port: 0, heartbeatMs: 150 } });
    b = await startTroupe(['--node', 'pb', '--config', config, '--http-port', '0', '--peer-port', '0', '--data', join(db.dir, 'data'), '--peers', a.peer!.url],
      { OPENAI_BASE_URL: '', OPENAI_API_KEY: '' });
    await until(() => a!.clusterInfo().members.some((m) => m.node === 'pb' && m.status === 'up'), 30_000, 'pb up');
    // the catalog, not GET /api/v1/agents/mem: that one asks a live agent for its figures, which is activity
    const onB = async (): Promise<Described> => ((await (await fetch(`${b!.ready.http}/api/v1/agents`)).json()) as { agents: Described[] }).agents.find((x) => x.name === 'mem')!;
    const address = 'troupe://pb/user/agents/mem/agent';
    const history = async (): Promise<string[]> => {
      const c = await a!.ask<{ messages: Array<{ role: string; content: string }> } | null>(address, { type: 'agent.conversation', conversationId: 'c1' }, { timeoutMs: 10_000 });
      return (c?.messages ?? []).filter((m) => m.role === 'user').map((m) => m.content);
    };

    const first = await a.agents.run('mem', { input: [{ role: 'user', content: 'my name is Ada' }], conversationId: 'c1' }, { timeoutMs: 30_000 });
    expect(first.content).toContain('my name is Ada');
    await until(async () => (await onB()).passivated === true, 30_000, 'mem passivated on pb');
    expect(await onB()).toMatchObject({ name: 'mem', status: 'running', passivated: true });

    // still listed to OpenAI clients on node A while passivated on B
    const client = new OpenAI({ baseURL: `${a.http!.url}/v1`, apiKey: 'unused-without-keys', maxRetries: 0 });
    const models: string[] = [];
    for await (const m of client.models.list()) models.push(m.id);
    expect(models).toContain('mem');

    // the first message from A activates it; the recovered history goes into the prompt
    const second = await a.agents.run('mem', { input: [{ role: 'user', content: 'what is my name?' }], conversationId: 'c1' }, { timeoutMs: 30_000 });
    expect(second.content).toContain('what is my name?');
    expect(second.usage.prompt_tokens).toBeGreaterThan(first.usage.prompt_tokens);
    expect(await history()).toEqual(['my name is Ada', 'what is my name?']);

    // passivated again, then a burst from A: every run arrives, in the order sent
    await until(async () => (await onB()).passivated === true, 30_000, 'mem passivated again');
    const burst = await Promise.all([1, 2, 3, 4, 5].map((i) => a!.agents.run('mem', { input: [{ role: 'user', content: `m${i}` }], conversationId: 'c1' }, { timeoutMs: 30_000 })));
    burst.forEach((r, i) => expect(r.content).toContain(`m${i + 1}`));
    expect(await history()).toEqual(['my name is Ada', 'what is my name?', 'm1', 'm2', 'm3', 'm4', 'm5']);
  });
});
