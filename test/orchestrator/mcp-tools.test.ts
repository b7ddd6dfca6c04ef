import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../../protocol/index.js';
import { orchestratorMcpTools, startNode, type Orchestrator, type RunningNode } from '../../index.js';
import { silent } from '../helpers.js';
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

  it('are served at /mcp by the node\'s MCP server (SDK client): a decision there is a decision', async () => {
    const node = await startNode({ id: 'orch-mcp', logger: silent, model: { provider: 'offline' }, http: { port: 0 }, agents: [{ name: 'writer' }] });
    nodes.push(node);
    const orch = node.module<Orchestrator>('orchestrator');
    const id = await orch.start('go', { dag: GATED });
    const client = new Client({ name: 'troupe-orch-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${node.http!.url}/mcp`)));
    try {
      const names = (await client.listTools()).tools.map((t) => t.name);
      expect(names).toEqual(expect.arrayContaining(['sessions_list', 'session_get', 'session_cancel', 'approvals_list', 'approval_get', 'approval_decide']));
      await untilSession(orch, id, (s) => s.status === 'waiting_approval');
      const r = await client.callTool({ name: 'approval_decide', arguments: { id: `${id}.go`, decision: 'approve', decided_by: 'mcp-user' } });
      expect(r.isError).toBeFalsy();
      expect(r.structuredContent).toMatchObject({ status: 'approved', decided_by: 'mcp-user', source: 'mcp' });
      await untilSession(orch, id, (s) => s.status === 'completed');
    } finally {
      await client.close();
    }
  });

  it('refuses invalid orchestrator options with a coded error', async () => {
    const { orchestratorModule } = await import('../../index.js');
    expect(() => orchestratorModule({ ttlMs: 5 })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
    expect(() => orchestratorModule({ nope: true } as never)).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
  });
});
