import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpConnector, SimulationConnector, connectorSchema, type Connector } from '../../index.js';
import { silent } from '../helpers.js';

interface ConnectorUnderTest { connector: Connector; dispose(): Promise<void> }
const req = { action_id: 'a1', action_type: 'write_data', target_system: 'crm', entity_id: 'e1', data: { name: 'A' }, primary_plane_id: 'p1', correlation_id: 'c1' };

/** What every connector does: answers an action with JSON, reports its health, shows no secret. */
function connectorContract(name: string, make: () => Promise<ConnectorUnderTest>): void {
  describe(`connector contract: ${name}`, () => {
    let cur: ConnectorUnderTest | undefined;
    afterEach(async () => { await cur?.dispose(); cur = undefined; });

    it('answers an action with a JSON value', async () => {
      cur = await make();
      const r = await cur.connector.execute(req);
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
      expect(r).toMatchObject({ entity_id: 'e1' });
    });

    it('reports itself healthy before any failure, and describes itself without secrets', async () => {
      cur = await make();
      expect(cur.connector.state().health).toBe('healthy');
      const d = JSON.stringify(cur.connector.describe());
      expect(JSON.parse(d)).toMatchObject({ type: cur.connector.type });
      expect(d).not.toContain('s3cret');
    });
  });
}

connectorContract('SimulationConnector', async () => ({ connector: new SimulationConnector(10), dispose: async () => undefined }));

connectorContract('HttpConnector', async () => {
  const server: Server = createServer((r, res) => {
    let body = '';
    r.on('data', (c: Buffer) => (body += c.toString()));
    r.on('end', () => {
      const a = JSON.parse(body) as { entity_id: string };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ ok: true, entity_id: a.entity_id }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook?key=s3cret`;
  const cfg = connectorSchema.parse({ type: 'http', url, bearerToken: 's3cret' });
  if (cfg.type !== 'http') throw new Error('unreachable');
  return {
    connector: new HttpConnector(cfg, silent),
    dispose: async () => { server.closeAllConnections(); await new Promise((r) => server.close(r)); },
  };
});

describe('SimulationConnector', () => {
  it('keeps the newest actions it was given, and answers alike for alike actions', async () => {
    const sim = new SimulationConnector(2);
    const a = await sim.execute(req);
    await sim.execute({ ...req, action_id: 'a2', correlation_id: 'c2' });
    await sim.execute({ ...req, action_id: 'a3', entity_id: 'e3' });
    expect(sim.recorded().map((r) => r.action_id)).toEqual(['a2', 'a3']);
    expect(await sim.execute({ ...req, action_id: 'a9' })).toEqual(a);
    expect(await sim.execute({ ...req, entity_id: 'other' })).not.toEqual(a);
  });
});
