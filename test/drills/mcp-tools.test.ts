import { afterEach, describe, expect, it } from 'vitest';
import { DRILLS_MODULE, drillMcpTools, killSwitchMcpTools, KILLSWITCH_MODULE, type DrillsApi, type KillSwitchApi } from '../../index.js';
import { cleanup, testNode } from '../agent/harness.js';

afterEach(cleanup);

describe('drills and the kill switch as MCP tools (module contract)', () => {
  it('runs a drill and engages and releases a kill switch through the tools, inputs checked by their zod schemas', async () => {
    const n = await testNode({ allowDrills: true });
    n.spawn(() => undefined, { name: 'w' });
    n.spawnAgent({ name: 'helper' });
    const signal = new AbortController().signal;
    const drills = Object.fromEntries(drillMcpTools(n.module<DrillsApi>(DRILLS_MODULE)).map((t) => [t.name, t]));
    expect(Object.keys(drills)).toEqual(['drill_run', 'drills_list', 'drill_abort']);
    const input = drills['drill_run']!.input.parse({ kind: 'kill', target: 'user/w' });
    const report = await drills['drill_run']!.call(input, { signal }) as any;
    expect(report).toMatchObject({ kind: 'kill', status: 'finished', verdict: 'held', restarts: 1 });
    expect((await drills['drills_list']!.call({}, { signal }) as any).drills.map((d: any) => d.id)).toEqual([report.id]);
    expect(drills['drill_run']!.input.safeParse({ kind: 'meteor', target: 'user/w' }).success).toBe(false);

    const ks = Object.fromEntries(killSwitchMcpTools(n.module<KillSwitchApi>(KILLSWITCH_MODULE)).map((t) => [t.name, t]));
    const engaged = await ks['killswitch_engage']!.call(ks['killswitch_engage']!.input.parse({ scope: 'agent', target: 'helper', reason: 'from an MCP client' }), { signal }) as any;
    expect(engaged.switch).toMatchObject({ scope: 'agent', target: 'helper', by: 'mcp' });
    await expect(n.agents.run('helper', { input: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({ code: 'TROUPE_ERR_KILLSWITCH_ENGAGED' });
    expect(await ks['killswitch_release']!.call({ scope: 'agent', target: 'helper' }, { signal })).toEqual({ released: true });
    expect((await n.agents.run('helper', { input: [{ role: 'user', content: 'hi' }] })).content).toBeTruthy();
  });
});
