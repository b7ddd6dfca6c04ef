import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { aoaModule, auditModule, fabricModule, gatewayModule, startNode, type AoaApi, type AuditApi, type FabricApi, type RunningNode } from '../../index.js';
import { silent, tempDir } from '../helpers.js';

const cleanups: Array<() => void | Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function node(dataDir: string, fabric: Parameters<typeof fabricModule>[0] = {}): Promise<RunningNode> {
  const n = await startNode({ id: 'fab', dataDir, logger: silent, http: { port: 0 }, modules: [gatewayModule(), aoaModule(), auditModule(), fabricModule(fabric)] });
  cleanups.push(() => n.close());
  return n;
}
function dir(): string {
  const t = tempDir('troupe-fabric-');
  cleanups.push(t.cleanup);
  return t.dir;
}
const json = (method: string, body?: unknown) => ({ method, headers: { 'content-type': 'application/json' }, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
type ErrorBody = { error: { code: string; message: string } };

describe('fabric module', () => {
  it('serves context, preset, planes and actions with the documented shapes, audited, and keeps the preset across a restart', async () => {
    const d = dir();
    const n = await node(d);
    const url = n.http!.url;
    expect(await (await fetch(`${url}/api/v1/fabric/context`)).json()).toEqual({
      fabric_preset: 'PRESET_1_FULL_ENTERPRISE', primary_plane_id: 'api-gateway-sim', is_direct_allowed: false,
      planes: ['ipaas-sim', 'api-gateway-sim', 'event-bus-sim', 'data-warehouse-sim', 'direct-sim'],
    });
    const planes = await (await fetch(`${url}/api/v1/fabric/planes`)).json() as { planes: Array<Record<string, unknown>> };
    expect(planes.planes).toHaveLength(5);
    expect(planes.planes[0]).toMatchObject({ id: 'ipaas-sim', kind: 'ipaas', systems: ['*'], health: 'healthy', breaker: null, connector: { type: 'simulation' }, stats: { executed: 0, failed: 0 } });

    const r = await fetch(`${url}/api/v1/fabric/actions`, json('POST', { action_type: 'publish_event', target_system: 'orders', entity_id: 'o-1', data: { email: 'x@y.z' }, correlation_id: 'corr-1' }));
    expect(r.status).toBe(200);
    const done = await r.json() as Record<string, any>;
    expect(done).toMatchObject({ status: 'completed', primary_plane_id: 'event-bus-sim', plane_kind: 'event_bus', fabric_preset: 'PRESET_1_FULL_ENTERPRISE', direct: false, result: { simulated: true, plane_id: 'event-bus-sim', entity_id: 'o-1' } });
    // simulation is deterministic: the same action answers the same
    const again = await (await fetch(`${url}/api/v1/fabric/actions`, json('POST', { action_type: 'publish_event', target_system: 'orders', entity_id: 'o-1', data: { email: 'x@y.z' } }))).json() as Record<string, any>;
    expect(again.result.result_id).toBe(done.result.result_id);

    const audit = n.module<AuditApi>('audit');
    const recs = audit.query({ correlationId: 'corr-1' }).records;
    expect(recs.map((x) => [x.action, x.primary_plane_id, x.outcome])).toEqual([['ROUTE_ACTION', 'event-bus-sim', 'ok'], ['FABRIC_EXECUTE', 'event-bus-sim', 'ok']]);
    expect(recs[0]!.raci).toMatchObject({ responsible: 'ActionRouter', accountable: 'Security' });
    expect(JSON.stringify(recs)).not.toContain('x@y.z');

    const refused = await fetch(`${url}/api/v1/fabric/actions`, json('POST', { action_type: 'api_call', target_system: 'crm', direct: true, correlation_id: 'corr-2' }));
    expect(refused.status).toBe(403);
    expect((await refused.json() as ErrorBody).error.code).toBe('TROUPE_ERR_FABRIC_DIRECT_REFUSED');
    expect(audit.query({ correlationId: 'corr-2' }).records.map((x) => [x.action, x.outcome])).toEqual([['ROUTE_ACTION', 'refused']]);

    const bad = await fetch(`${url}/api/v1/fabric/actions`, json('POST', { action_type: 'teleport', target_system: 'crm' }));
    expect(bad.status).toBe(400);
    expect((await bad.json() as ErrorBody).error.code).toBe('TROUPE_ERR_FABRIC_INVALID_REQUEST');
    const unknownPlane = await fetch(`${url}/api/v1/fabric/actions`, json('POST', { action_type: 'api_call', target_system: 'crm', plane_id: 'nope' }));
    expect(unknownPlane.status).toBe(404);

    const badPreset = await fetch(`${url}/api/v1/fabric/preset`, json('POST', { preset: 'PRESET_7' }));
    expect(badPreset.status).toBe(400);
    expect((await badPreset.json() as ErrorBody).error.code).toBe('TROUPE_ERR_FABRIC_INVALID_REQUEST');
    const set = await fetch(`${url}/api/v1/fabric/preset`, json('POST', { preset: 'PRESET_6_SCRAPPY' }));
    expect(await set.json()).toMatchObject({ fabric_preset: 'PRESET_6_SCRAPPY', primary_plane_id: 'direct-sim', is_direct_allowed: true });
    const direct = await (await fetch(`${url}/api/v1/fabric/actions`, json('POST', { action_type: 'api_call', target_system: 'crm', direct: true }))).json();
    expect(direct).toMatchObject({ status: 'completed', primary_plane_id: 'direct-sim', direct: true });
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toMatch(/troupe_fabric_actions_total\{[^}]*plane="event-bus-sim"[^}]*outcome="ok"[^}]*\} 2/);
    expect(metrics).toMatch(/troupe_fabric_routes_total\{[^}]*outcome="refused"[^}]*\} 2/);
    expect(metrics).toMatch(/troupe_audit_records_total\{[^}]*outcome="committed"[^}]*\} \d+/);
    expect(metrics).toContain('troupe_audit_head_seq');
    expect(audit.query({ action: 'FABRIC_PRESET_SET' }).records[0]).toMatchObject({ target: 'PRESET_6_SCRAPPY', details: { from: 'PRESET_1_FULL_ENTERPRISE', to: 'PRESET_6_SCRAPPY' } });
    await n.close();

    const m = await node(d);
    expect(m.module<FabricApi>('fabric').context().fabric_preset).toBe('PRESET_6_SCRAPPY');
  });

  it('refuses a preset whose required planes are missing', async () => {
    const n = await node(dir(), { planes: [{ id: 'gw', kind: 'api_gateway' }], preset: 'PRESET_3_API_GATEWAY_FIRST' });
    const r = await fetch(`${n.http!.url}/api/v1/fabric/preset`, json('POST', { preset: 'PRESET_1_FULL_ENTERPRISE' }));
    expect(r.status).toBe(422);
    expect((await r.json() as ErrorBody).error.code).toBe('TROUPE_ERR_FABRIC_NO_PLANE');
    expect(n.module<FabricApi>('fabric').context().fabric_preset).toBe('PRESET_3_API_GATEWAY_FIRST');
  });

  it('runs FABRIC_ACTION tasks of the task runtime through the router', async () => {
    const n = await node(dir());
    const aoa = n.module<AoaApi>('aoa');
    const t = await aoa.submitTask({ task_type: 'FABRIC_ACTION', target_system: 'netsuite', action_type: 'workflow', payload: { entity_id: 'so-9', data: { total: 3 } }, max_retries: 0 });
    const done = await aoa.waitFor(t.id);
    expect(done).toMatchObject({ status: 'completed', result: { status: 'completed', primary_plane_id: 'ipaas-sim', result: { simulated: true, entity_id: 'so-9' } } });
    // a refusal is not retried: no retry can change the preset's answer
    const refused = await aoa.submitTask({ task_type: 'FABRIC_ACTION', payload: { action_type: 'api_call', target_system: 'crm', direct: true }, max_retries: 3 });
    const failed = await aoa.waitFor(refused.id);
    expect(failed).toMatchObject({ status: 'failed', attempts: 1 });
    expect(JSON.stringify(failed.error)).toContain('TROUPE_ERR_FABRIC_DIRECT_REFUSED');
    const trail = n.module<AuditApi>('audit').query({ correlationId: t.id }).records;
    expect(trail.map((r) => r.action)).toEqual(['TASK_SUBMIT', 'TASK_START', 'ROUTE_ACTION', 'FABRIC_EXECUTE', 'TASK_FINISH']);
    expect(trail.at(-1)).toMatchObject({ outcome: 'ok', primary_plane_id: 'ipaas-sim', raci: { responsible: 'AOA' }, details: { task_type: 'FABRIC_ACTION', attempts: 1 } });
  });

  it('enriches every task with the fabric context where it names none', async () => {
    const n = await node(dir());
    const aoa = n.module<AoaApi>('aoa');
    const t = await aoa.submitTask({ task_type: 'NOOP' });
    expect(t).toMatchObject({ primary_plane_id: 'api-gateway-sim', fabric_preset: 'PRESET_1_FULL_ENTERPRISE', fabric_context: { Primary_Plane_ID: 'api-gateway-sim', auto_enriched: true } });
    const own = await aoa.submitTask({ task_type: 'NOOP', primary_plane_id: 'mine', fabric_preset: 'PRESET_2_IPAAS_FIRST' });
    expect(own).toMatchObject({ primary_plane_id: 'mine', fabric_preset: 'PRESET_2_IPAAS_FIRST' });
    expect(own.fabric_context).toBeUndefined();
    const cancelled = await aoa.submitTask({ task_type: 'NOOP', scheduled_at: Date.now() + 3_600_000 });
    await aoa.cancelTask(cancelled.id);
    expect(n.module<AuditApi>('audit').query({ correlationId: cancelled.id }).records.map((r) => [r.action, r.outcome ?? null])).toEqual([['TASK_SUBMIT', null], ['TASK_CANCEL', 'cancelled']]);
  });

  it('answers a failing HTTP plane with coded errors, then 503 once its breaker is open, and shows it in /planes', async () => {
    const closed = await new Promise<number>((resolve) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const port = (srv.address() as AddressInfo).port;
        srv.close(() => resolve(port));
      });
    });
    const n = await node(dir(), {
      preset: 'PRESET_2_IPAAS_FIRST',
      planes: [{ id: 'workato', kind: 'ipaas', connector: { type: 'http', url: `http://127.0.0.1:${closed}/run`, retries: 0, breakerFailures: 2, breakerHalfOpenMs: 600_000 } }],
    });
    const url = n.http!.url;
    const act = () => fetch(`${url}/api/v1/fabric/actions`, json('POST', { action_type: 'sync_data', target_system: 'netsuite', correlation_id: 'h1' }));
    for (let i = 0; i < 2; i++) {
      const r = await act();
      expect(r.status).toBe(502);
      expect((await r.json() as ErrorBody).error.code).toBe('TROUPE_ERR_FABRIC_CONNECTOR_FAILED');
    }
    const open = await act();
    expect(open.status).toBe(503);
    expect((await open.json() as ErrorBody).error.code).toBe('TROUPE_ERR_FABRIC_BREAKER_OPEN');
    const planes = await (await fetch(`${url}/api/v1/fabric/planes`)).json() as { planes: Array<Record<string, unknown>> };
    expect(planes.planes[0]).toMatchObject({ id: 'workato', breaker: 'open', health: 'unhealthy', connector: { type: 'http', origin: `http://127.0.0.1:${closed}` }, stats: { executed: 0, failed: 3, last_error_code: 'TROUPE_ERR_FABRIC_BREAKER_OPEN' } });
    const executions = n.module<AuditApi>('audit').query({ action: 'FABRIC_EXECUTE', correlationId: 'h1' }).records;
    expect(executions.map((r) => [r.outcome, r.details?.['error_code']])).toEqual([
      ['error', 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED'], ['error', 'TROUPE_ERR_FABRIC_CONNECTOR_FAILED'], ['error', 'TROUPE_ERR_FABRIC_BREAKER_OPEN'],
    ]);
  });

  it('refuses invalid plane configuration with a coded error', () => {
    expect(() => fabricModule({ planes: [{ id: 'a', kind: 'ipaas' }, { id: 'a', kind: 'custom' }] })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
    expect(() => fabricModule({ planes: [{ id: 'a', kind: 'ipaas', connector: { type: 'http', url: 'ftp://x' } as never }] })).toThrow(expect.objectContaining({ code: 'TROUPE_ERR_CONFIG_INVALID' }));
  });
});
