import { afterEach, describe, expect, it } from 'vitest';
import { auditModule, fabricModule, gatewayModule, startNode, type McpToolDescriptor, type RunningNode } from '../../index.js';
import { silent } from '../helpers.js';

let node: RunningNode | undefined;
afterEach(async () => { await node?.close(); });

describe('fabric and audit MCP tools', () => {
  it('are contributed through the module contract, validate their input and act', async () => {
    node = await startNode({ id: 'mcp', logger: silent, http: false, modules: [gatewayModule(), auditModule(), fabricModule()] });
    const tools = (node as unknown as { moduleSet: { mcpTools(): McpToolDescriptor<any>[] } }).moduleSet.mcpTools();
    expect(tools.map((t) => t.name)).toEqual(['audit_query', 'audit_verify', 'fabric_context', 'fabric_planes', 'fabric_set_preset', 'fabric_execute']);
    const tool = (name: string) => tools.find((t) => t.name === name)!;
    const signal = new AbortController().signal;
    const call = (name: string, input: unknown) => tool(name).call(tool(name).input.parse(input), { signal });
    await expect(call('fabric_execute', { action_type: 'load_data', target_system: 'snowflake', dry_run: true })).resolves.toMatchObject({ status: 'routed', primary_plane_id: 'data-warehouse-sim' });
    expect(() => tool('fabric_set_preset').input.parse({ preset: 'PRESET_9' })).toThrow();
    await expect(call('fabric_set_preset', { preset: 'PRESET_4_EVENT_BUS_FIRST' })).resolves.toMatchObject({ primary_plane_id: 'event-bus-sim' });
    await expect(call('audit_query', { action: 'ROUTE_ACTION' })).resolves.toMatchObject({ records: [{ action: 'ROUTE_ACTION', primary_plane_id: 'data-warehouse-sim' }] });
    await expect(call('audit_verify', {})).resolves.toMatchObject({ ok: true, checked: 2 });
    expect(() => tool('audit_query').input.parse({ limit: 5000 })).toThrow();
  });
});
