import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { orchestratorMcpTools, type RunningNode } from '../../index.js';
import { FakeRunner, orchNode, untilSession } from './helpers.js';

const nodes: RunningNode[] = [];
afterEach(async () => {
  for (const n of nodes.splice(0)) await n.close();
});

const GATED = {
  nodes: [{ id: 'go', agent: 'writer', instruction: 'send it', approval: { action: 'write_data' } }],
};

describe('sessions and approvals as MCP tools', () => {
  it('lists, reads and decides through the tools; a decision there is the same first-wins message', async () => {
    const runner = new FakeRunner(true);
    const r = await orchNode({ clock: new ManualClock(5_000), runner });
    nodes.push(r.node);
    const tools = new Map(orchestratorMcpTools(r.orch).map((t) => [t.name, t]));
    expect([...tools.keys()]).toEqual(['sessions_list', 'session_get', 'session_cancel', 'approvals_list', 'approval_get', 'approval_decide']);
    const id = await r.orch.start('go', { dag: GATED });
    await untilSession(r.orch, id, (s) => s.status === 'waiting_approval');
    const call = (name: string, input: unknown) => {
      const t = tools.get(name)!;
      return t.call(t.input.parse(input), { signal: new AbortController().signal }) as Promise<Record<string, any>>;
    };
    expect((await call('sessions_list', { status: 'waiting_approval' })).sessions.map((s: any) => s.id)).toEqual([id]);
    expect((await call('approvals_list', {})).approvals[0]).toMatchObject({ id: `${id}.go`, action: 'write_data', status: 'pending' });
    const d = await call('approval_decide', { id: `${id}.go`, decision: 'approve', idempotency_key: 'mcp-1', decided_by: 'bot' });
    expect(d).toMatchObject({ status: 'approved', decided_by: 'bot', source: 'mcp' });
    expect(await call('approval_decide', { id: `${id}.go`, decision: 'approve', idempotency_key: 'mcp-1' })).toEqual(d);
    await expect(r.orch.decide(`${id}.go`, { decision: 'reject' }, { key: 'http-1' })).rejects.toMatchObject({ code: 'TROUPE_ERR_APPROVAL_CONFLICT', details: { winner: { decision: 'approve', decided_by: 'bot', source: 'mcp' } } });
    await untilSession(r.orch, id, (s) => s.status === 'completed');
    expect((await call('session_get', { id })).dag.nodes[0]).toMatchObject({ id: 'go', status: 'completed', result: 'writer:go' });
    expect(() => tools.get('approval_decide')!.input.parse({ id: 'x', decision: 'maybe' })).toThrow();
  });

  it('refuses invalid orchestrator options with a coded error', async () => {
    const { orchestratorModule } = await import('../../index.js');
    expect(() => orchestratorModule({ ttlMs: 5 })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
    expect(() => orchestratorModule({ nope: true } as never)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
  });
});
