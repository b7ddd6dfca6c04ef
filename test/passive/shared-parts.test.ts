import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import pino from 'pino';
import { OfflineModel, SharedParts, parseAgentSpec, startNode } from '../../index.js';
import { silent } from '../helpers.js';

const log = pino({ level: 'silent' });

describe('what agents of one spec share', () => {
  it('equal specs share their nested objects and keep their own names', () => {
    const shared = new SharedParts();
    const a = shared.spec(parseAgentSpec({ name: 'a', instructions: 'Be brief.', tools: ['clock'] }).data);
    const b = shared.spec(parseAgentSpec({ name: 'b', instructions: 'Be brief.', tools: ['clock'] }).data);
    const c = shared.spec(parseAgentSpec({ name: 'c', instructions: 'Be long.', tools: ['clock'] }).data);
    expect([a.name, b.name, c.name]).toEqual(['a', 'b', 'c']);
    expect(b.limits).toBe(a.limits);
    expect(b.tools).toBe(a.tools);
    expect(b.supervision).toBe(a.supervision);
    expect(c.limits).not.toBe(a.limits);
    expect(c.instructions).toBe('Be long.');
  });

  it('share resolved tools until a tool is registered again', () => {
    const shared = new SharedParts();
    const provider = new OfflineModel();
    const v1 = { name: 'pick', parameters: z.object({}), execute: () => 1 };
    const known = new Map([['pick', v1]]);
    const a = shared.spec(parseAgentSpec({ name: 'a', tools: ['pick'] }).data);
    const b = shared.spec(parseAgentSpec({ name: 'b', tools: ['pick'] }).data);
    const pa = shared.resolve(a, [], known, provider, log);
    expect(shared.resolve(b, [], known, provider, log)).toBe(pa);
    const v2 = { name: 'pick', parameters: z.object({}), execute: () => 2 };
    known.set('pick', v2);
    shared.toolsChanged();
    expect(shared.resolve(b, [], known, provider, log).tools.get('pick')).toBe(v2);
  });

  it('an agent with code tools gets its own parts', () => {
    const shared = new SharedParts();
    const provider = new OfflineModel();
    const mine = { name: 'mine', parameters: z.object({}), execute: () => 'x' };
    const a = shared.spec(parseAgentSpec({ name: 'a', tools: [mine] }).data);
    const b = shared.spec(parseAgentSpec({ name: 'b', tools: [mine] }).data);
    expect(shared.resolve(a, [mine], new Map(), provider, log)).not.toBe(shared.resolve(b, [mine], new Map(), provider, log));
  });

  it("a node refuses an idle time out of range, as a config error", async () => {
    await expect(startNode({ id: 'bad', logger: silent, http: false, agentPassivateAfterMs: -1 })).rejects.toMatchObject({ code: 'TROUPE_ERR_CONFIG_INVALID' });
  });
});
