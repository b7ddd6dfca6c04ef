import { afterEach, describe, expect, it } from 'vitest';
import type { RunningNode } from '../../index.js';
import { KILLSWITCH_MODULE, type KillSwitchApi } from '../../actors/killswitch/index.js';
import type { AgentStatus } from '../../actors/agent/index.js';
import { cleanup, testNode } from './harness.js';

afterEach(cleanup);

const say = (content: string) => [{ role: 'user' as const, content }];

/** The children of an agent's supervisor in the node's actor tree (undefined: no supervisor). */
function cellsOf(node: RunningNode, name: string): string[] | undefined {
  const agents = node.actors()[1]!.children.find((c) => c.path === 'user/agents');
  const sup = agents?.children.find((c) => c.path === `user/agents/${name}`);
  return sup?.children.map((c) => c.path);
}

describe('an idle agent', () => {
  it('holds one cell (its supervisor) until its first message, which spawns the agent actor and is answered', async () => {
    const node = await testNode();
    node.spawnAgent({ name: 'quiet', instructions: 'Be brief.' });
    expect(cellsOf(node, 'quiet')).toEqual([]);
    // addressable all the same: lookup, the registry and the directory see a running agent
    expect(node.lookup('user/agents/quiet/agent')?.address).toBe('troupe://t/user/agents/quiet/agent');
    expect(node.agents.get('quiet')).toMatchObject({ status: 'running' });
    const r = await node.agents.run('quiet', { input: say('hello there'), conversationId: 'c' });
    expect(r.content).toContain('hello there');
    expect(cellsOf(node, 'quiet')).toEqual(['user/agents/quiet/agent']);
    // the woken actor keeps its memory: the conversation is there on the next ask
    const c = await node.agents.conversation('quiet', 'c');
    expect(c?.turns).toBe(1);
  });

  it('is woken by a direct ask or tell to its address; messages sent one after another keep their order', async () => {
    const node = await testNode();
    node.spawnAgent({ name: 'direct' });
    node.tell('user/agents/direct/agent', { type: 'agent.forget', conversationId: 'none' });
    const status = await node.ask<AgentStatus>('user/agents/direct/agent', { type: 'agent.status' });
    expect(status).toMatchObject({ name: 'direct', activeRuns: 0, queuedRuns: 0, conversations: 0, consecutiveFailures: 0 });
    expect(cellsOf(node, 'direct')).toEqual(['user/agents/direct/agent']);
  });

  it('holds no run table once its runs are done: status reads zero runs, and a later run starts as the first did', async () => {
    const node = await testNode();
    node.spawnAgent({ name: 'again' });
    for (let i = 0; i < 3; i++) {
      const r = await node.agents.run('again', { input: say(`turn ${i}`) });
      expect(r.content).toContain(`turn ${i}`);
      expect(await node.agents.status('again')).toMatchObject({ activeRuns: 0, queuedRuns: 0 });
    }
  });

  it('is not woken by the kill switch (it has no run to cancel); a woken one is still held by it', async () => {
    const node = await testNode();
    node.spawnAgent({ name: 'asleep' });
    node.spawnAgent({ name: 'awake' });
    await node.agents.run('awake', { input: say('hi') });
    const api = node.module<KillSwitchApi>(KILLSWITCH_MODULE);
    await api.engage({ scope: 'node', reason: 'hold everything' });
    expect(cellsOf(node, 'asleep')).toEqual([]);
    expect(node.agents.awake('asleep')).toBeUndefined();
    expect(node.agents.awake('awake')?.address).toBe('troupe://t/user/agents/awake/agent');
    await expect(node.agents.run('asleep', { input: say('hi') })).rejects.toMatchObject({ code: 'TROUPE_ERR_KILLSWITCH_ENGAGED' });
    await expect(node.agents.run('awake', { input: say('hi') })).rejects.toMatchObject({ code: 'TROUPE_ERR_KILLSWITCH_ENGAGED' });
  });

  it('a thousand idle agents are a thousand supervisors and no agent actor', async () => {
    const node = await testNode();
    for (let i = 0; i < 1_000; i++) node.spawnAgent({ name: `idle-${i}`, instructions: 'Be brief.' });
    const agents = node.actors()[1]!.children.find((c) => c.path === 'user/agents')!;
    expect(agents.children).toHaveLength(1_000);
    expect(agents.children.every((c) => c.children.length === 0)).toBe(true);
    const r = await node.agents.run('idle-999', { input: say('last') });
    expect(r.content).toContain('last');
  });
});
