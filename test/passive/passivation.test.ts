import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ManualClock } from '../../protocol/index.js';
import { startNode, type AgentEvent, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(opts: { clock?: ManualClock; dataDir?: string; passivateAfterMs?: number } = {}): Promise<RunningNode> {
  let dir = opts.dataDir;
  if (dir === undefined) {
    const t = tempDir('troupe-passive-');
    cleanups.push(t.cleanup);
    dir = t.dir;
  }
  const n = await startNode({
    id: 'p1', dataDir: dir, logger: silent, http: false, model: { provider: 'offline' },
    ...(opts.clock ? { clock: opts.clock } : {}),
  });
  cleanups.push(() => n.close());
  return n;
}

function recorder(n: RunningNode): AgentEvent[] {
  const seen: AgentEvent[] = [];
  cleanups.push(n.agents.events.subscribe((e) => seen.push(e)));
  return seen;
}

const say = (content: string) => [{ role: 'user' as const, content }];

describe('agent passivation', () => {
  it('passivates an agent idle for its passivateAfterMs on the node clock, not before', async () => {
    const clock = new ManualClock(1_000);
    const n = await node({ clock });
    const seen = recorder(n);
    n.spawnAgent({ name: 'idler', passivateAfterMs: 1_000 });
    await n.agents.run('idler', { input: say('hello'), conversationId: 'c1' });
    clock.advance(900);
    expect(n.agents.resolve('idler')).toBeDefined();
    expect(seen.some((e) => e.type === 'agent.passivated')).toBe(false);

    clock.advance(1_000);
    expect(seen.filter((e) => e.type === 'agent.passivated')).toEqual([{ type: 'agent.passivated', agent: 'idler' }]);
    // the actor is gone; the agent is still listed, still running, and still addressable
    expect(n.agents.resolve('idler')).toBeUndefined();
    const agentsNode = n.actors()[1]!.children.find((c) => c.path === 'user/agents')!;
    expect(agentsNode.children.map((c) => c.path)).not.toContain('user/agents/idler');
    expect(n.agents.get('idler')).toMatchObject({ status: 'running', passivated: true });
    expect(n.agents.list().map((a) => a.name)).toContain('idler');
    expect(n.lookup('user/agents/idler/agent')?.address).toBe('troupe://p1/user/agents/idler/agent');
  });

  it('never passivates an agent with a run in flight, nor one with passivation off', async () => {
    const clock = new ManualClock(0);
    const n = await node({ clock });
    const seen = recorder(n);
    let release!: () => void;
    const gate = new Promise<string>((r) => { release = () => r('done'); });
    n.spawnAgent({ name: 'never', passivateAfterMs: 0 });
    n.spawnAgent({ name: 'busy', passivateAfterMs: 100, tools: [{ name: 'hold', parameters: z.object({}), execute: () => gate, timeoutMs: 600_000 }], limits: { timeoutMs: 3_600_000 } });
    const held = n.agents.run('busy', { input: say('call hold {}'), conversationId: 'held' }, { timeoutMs: 3_600_000 });
    for (let i = 0; i < 50 && !seen.some((e) => e.type === 'agent.run.started'); i++) await new Promise((r) => setImmediate(r));
    expect(seen.some((e) => e.type === 'agent.run.started')).toBe(true);
    clock.advance(10_000);
    expect(seen.filter((e) => e.type === 'agent.passivated')).toEqual([]);
    expect(n.agents.resolve('busy')).toBeDefined();
    release();
    expect((await held).content).toContain('done');
    clock.advance(200);
    expect(seen.filter((e) => e.type === 'agent.passivated')).toEqual([{ type: 'agent.passivated', agent: 'busy' }]);
    expect(n.agents.resolve('never')).toBeDefined();
  });

  it('a passivated agent keeps its conversations and answers its next message', async () => {
    const n = await node();
    n.spawnAgent({ name: 'mem' });
    const first = await n.agents.run('mem', { input: say('my name is Ada'), conversationId: 'c1' });
    expect(n.agents.passivateIdle()).toBe(1);
    expect(n.agents.get('mem')!.passivated).toBe(true);

    const seen = recorder(n);
    const second = await n.agents.run('mem', { input: say('what is my name?'), conversationId: 'c1' });
    expect(second.content).toContain('what is my name?');
    expect(seen.filter((e) => e.type === 'agent.activated')).toEqual([{ type: 'agent.activated', agent: 'mem' }]);
    // the recovered history went into the prompt
    expect(second.usage.prompt_tokens).toBeGreaterThan(first.usage.prompt_tokens);
    const c = await n.agents.conversation('mem', 'c1');
    expect(c!.turns).toBe(2);
    expect(c!.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['my name is Ada', 'what is my name?']);
    expect(n.agents.get('mem')!.passivated).toBeUndefined();
  });

  it('messages sent while the agent activates all arrive, in the order they were sent', async () => {
    const n = await node();
    n.spawnAgent({ name: 'order' });
    await n.agents.run('order', { input: say('m0'), conversationId: 'c' });
    expect(n.agents.passivateIdle()).toBe(1);
    const seen = recorder(n);
    // runs of one conversation go one at a time, in arrival order: the history shows the order
    const runs = [1, 2, 3, 4, 5, 6, 7, 8].map((i) => n.agents.run('order', { input: say(`m${i}`), conversationId: 'c' }));
    const results = await Promise.all(runs);
    results.forEach((r, i) => expect(r.content).toContain(`m${i + 1}`));
    expect(seen.filter((e) => e.type === 'agent.activated')).toHaveLength(1);
    const started = seen.flatMap((e) => (e.type === 'agent.run.started' ? [e.runId] : []));
    expect(started).toHaveLength(8);
    const c = await n.agents.conversation('order', 'c');
    expect(c!.messages.filter((m) => m.role === 'user').map((m) => m.content)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8']);
  });

  it('direct tells and asks to a passivated address activate it and keep their order', async () => {
    const n = await node();
    n.spawnAgent({ name: 'raw' });
    await n.agents.run('raw', { input: say('x'), conversationId: 'a' });
    n.agents.passivateIdle();
    const address = 'troupe://p1/user/agents/raw/agent';
    expect(n.lookup(address)).toBeDefined();
    // an ask right behind a forget told to the passivated address: the ask sees the forget done
    n.tell(address, { type: 'agent.forget', conversationId: 'a' });
    const after = await n.ask(address, { type: 'agent.conversation', conversationId: 'a' });
    expect(after).toBeNull();
    expect(n.agents.get('raw')!.passivated).toBeUndefined();
  });

  it('agents restored at start come back passivated and activate on their first message', async () => {
    const t = tempDir('troupe-passive-restore-');
    cleanups.push(t.cleanup);
    const n1 = await node({ dataDir: t.dir });
    await n1.agents.create({ name: 'kept', instructions: 'Be brief.' });
    await n1.agents.run('kept', { input: say('remember this'), conversationId: 'k' });
    await n1.close();

    const n2 = await node({ dataDir: t.dir });
    expect(n2.agents.get('kept')).toMatchObject({ status: 'running', passivated: true, durable: true });
    expect(n2.agents.resolve('kept')).toBeUndefined();
    const r = await n2.agents.run('kept', { input: say('and now?'), conversationId: 'k' });
    expect(r.content).toContain('and now?');
    const c = await n2.agents.conversation('kept', 'k');
    expect(c!.turns).toBe(2);
  });

  it('a removed passivated agent is gone for good, address and journal alike', async () => {
    const n = await node();
    await n.agents.create({ name: 'gone' });
    await n.agents.run('gone', { input: say('x'), conversationId: 'g' });
    n.agents.passivateIdle();
    expect(await n.agents.remove('gone')).toBe(true);
    expect(n.lookup('user/agents/gone/agent')).toBeUndefined();
    await expect(n.ask('user/agents/gone/agent', { type: 'agent.status' })).rejects.toMatchObject({ code: 'TROUPE_ERR_ACTOR_NOT_FOUND' });
  });

  it('a passivated agent stays in /v1/models, /api/v1/agents and its A2A card, and listing it does not activate it', async () => {
    const t = tempDir('troupe-passive-http-');
    cleanups.push(t.cleanup);
    const n = await startNode({ id: 'ph', dataDir: t.dir, logger: silent, http: { port: 0 }, model: { provider: 'offline' } });
    cleanups.push(() => n.close());
    n.spawnAgent({ name: 'listed', description: 'Still here.', skills: ['chat'] });
    expect(n.agents.passivateIdle()).toBe(1);
    const get = async (path: string) => {
      const r = await fetch(`${n.http!.url}${path}`);
      expect(r.status, path).toBe(200);
      return r.json() as Promise<any>;
    };
    expect((await get('/v1/models')).data.map((m: { id: string }) => m.id)).toContain('listed');
    expect((await get('/api/v1/agents')).agents.find((a: { name: string }) => a.name === 'listed')).toMatchObject({ status: 'running', passivated: true });
    expect(await get('/api/v1/agents/listed')).toMatchObject({ name: 'listed', passivated: true });
    expect((await get('/a2a/listed/.well-known/agent-card.json')).name).toBe('listed');
    expect((await fetch(`${n.http!.url}/metrics`)).status).toBe(200);
    expect(n.agents.get('listed')!.passivated).toBe(true);
  });

  it('agents without a journal are never passivated (their memory lives only in the actor)', async () => {
    const n = await startNode({ id: 'mem-only', logger: silent, http: false, model: { provider: 'offline' } });
    cleanups.push(() => n.close());
    n.spawnAgent({ name: 'volatile', passivateAfterMs: 10 });
    await n.agents.run('volatile', { input: say('x') });
    expect(n.agents.passivateIdle()).toBe(0);
    expect(n.agents.resolve('volatile')).toBeDefined();
  });
});
