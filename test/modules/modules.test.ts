import { afterEach, describe, expect, it } from 'vitest';
import {
  agentsModule, defaultModules, gatewayModule, startNode, type InspectionEvent, type ModuleHost, type NodeModule, type RunningNode,
} from '../../index.js';
import { TroupeError } from '../../protocol/index.js';
import { silent } from '../helpers.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});

async function node(options: Parameters<typeof startNode>[0]): Promise<RunningNode> {
  const n = await startNode({ id: 'm', logger: silent, http: false, ...options });
  nodes.push(n);
  return n;
}

async function refusal(p: Promise<unknown>): Promise<TroupeError> {
  const e = await p.then(() => undefined, (err: unknown) => err);
  expect(e).toBeInstanceOf(TroupeError);
  return e as TroupeError;
}

/** A module that records what the node does with it. */
function recorder(log: string[], name = 'recorder'): NodeModule<{ ping(): string; host: ModuleHost }> {
  return {
    name,
    requires: ['agents'],
    commands: [{ name: 'record', summary: 'prints what was recorded', run: async (_argv, io) => { io.stdout(log.join(',')); return 0; } }],
    start: (host) => {
      log.push(`start:${host.module<unknown>('agents') ? 'agents-found' : 'no-agents'}`);
      const events: InspectionEvent[] = [];
      return {
        api: { ping: () => `pong from ${host.id}`, host },
        inspect: (e) => {
          if (e.type === 'actor.spawned' && e.address.endsWith('/user/recorded')) log.push('inspected');
          events.push(e);
        },
        routes: (table) => {
          table.route({ method: 'GET', url: '/api/v1/recorder', handler: async () => ({ log }) });
        },
        drain: () => {
          // actors still run while a module drains
          log.push(`drain:${host.lookup('user/recorded') ? 'actors-up' : 'actors-down'}`);
        },
        release: () => {
          log.push(`release:${host.lookup('user/recorded') ? 'actors-up' : 'actors-down'}`);
        },
      };
    },
  };
}

describe('node modules', () => {
  it('a node runs every shipped module by default: the gateway actor and the agents', async () => {
    const n = await node({ model: { provider: 'offline' } });
    expect(n.modules).toEqual(['gateway', 'agents', 'drills', 'aoa', 'scheduler', 'mcp', 'audit', 'fabric', 'killswitch', 'a2a', 'orchestrator', 'pii', 'a2a-external']);
    expect(defaultModules().map((m) => m.name)).toEqual(['gateway', 'agents', 'drills', 'aoa', 'scheduler', 'mcp', 'audit', 'fabric', 'killswitch', 'a2a', 'orchestrator', 'pii', 'a2a-external']);
    n.spawnAgent({ name: 'a' });
    expect((await n.agents.run('a', { input: [{ role: 'user', content: 'hi' }] })).content).toContain('hi');
    expect(n.agents).toBe(n.module('agents'));
  });

  it('a module starts with the host, finds others by name, observes inspection, serves routes, and closes in phases', async () => {
    const log: string[] = [];
    const n = await node({
      modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' } }), recorder(log)],
      http: { port: 0 },
    });
    expect(n.module<{ ping(): string }>('recorder').ping()).toBe('pong from m');
    n.spawn(() => undefined, { name: 'recorded' });
    expect(log).toEqual(['start:agents-found', 'inspected']);
    const served = await fetch(`${n.http!.url}/api/v1/recorder`);
    expect(served.status).toBe(200);
    expect(await served.json()).toEqual({ log: ['start:agents-found', 'inspected'] });
    await n.close();
    expect(log.slice(2)).toEqual(['drain:actors-up', 'release:actors-down']);
  });

  it('a node without the agents module has no agents, and says so with a coded error', async () => {
    const n = await node({ modules: [gatewayModule()] });
    expect(n.modules).toEqual(['gateway']);
    expect(() => n.agents).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_NODE_MODULE_MISSING' }));
    expect(() => n.module('scheduler')).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_NODE_MODULE_MISSING' }));
    const e = await refusal(n.gateway.run({ kind: 'agent', name: 'x' }, { input: [{ role: 'user', content: 'x' }] }));
    expect(e.code).toBe('TROUPE_ERR_NODE_MODULE_MISSING');
  });

  it('refuses a bad module list at start with TROUPE_ERR_CONFIG_INVALID', async () => {
    const dup = await refusal(startNode({ logger: silent, http: false, modules: [gatewayModule(), gatewayModule()] }));
    expect(dup.code).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect(dup.message).toContain('listed twice');
    const order = await refusal(startNode({ logger: silent, http: false, modules: [agentsModule(), gatewayModule()] }));
    expect(order.code).toBe('TROUPE_ERR_CONFIG_INVALID');
    expect(order.message).toContain('requires module gateway');
    const badName = await refusal(startNode({ logger: silent, http: false, modules: [{ name: 'Bad Name', start: () => ({ api: 1 }) }] }));
    expect(badName.code).toBe('TROUPE_ERR_CONFIG_INVALID');
    // options of the default modules next to an explicit list would be silently ignored
    const both = await refusal(startNode({ logger: silent, http: false, modules: [gatewayModule()], model: { provider: 'offline' } }));
    expect(both.code).toBe('TROUPE_ERR_CONFIG_INVALID');
  });

  it('a module that fails to start fails the start, and what started is closed', async () => {
    const log: string[] = [];
    const failing: NodeModule = { name: 'failing', start: () => { throw new TroupeError('TROUPE_ERR_CONFIG_INVALID', 'no good'); } };
    const e = await refusal(startNode({ logger: silent, http: false, modules: [gatewayModule(), agentsModule({ model: { provider: 'offline' } }), recorder(log), failing] }));
    expect(e.message).toBe('no good');
    expect(log).toEqual(['start:agents-found', 'drain:actors-down', 'release:actors-down']);
  });
});
