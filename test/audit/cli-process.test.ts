import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { runTroupe, startTroupe, type TroupeProcess } from '../process.js';

const dirs: Array<() => void> = [];
const procs: TroupeProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  dirs.forEach((c) => c());
});

const post = (url: string, body: unknown) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('troupe audit verify (real processes)', () => {
  it('verifies the chain a node wrote, also after it was killed with SIGKILL, with the fabric configured from the config file', async () => {
    const t = tempDir('troupe-audit-cli-');
    dirs.push(t.cleanup);
    const config = join(t.dir, 'config.json');
    writeFileSync(config, JSON.stringify({ fabric: { preset: 'PRESET_6_SCRAPPY' }, audit: { checkpointEvery: 2 } }));
    const data = join(t.dir, 'data');
    const args = ['--config', config, '--node', 'cli-au', '--http-port', '0', '--peer-port', '0', '--data', data];

    const a = await startTroupe(args);
    procs.push(a);
    expect((await post(`${a.ready.http}/api/v1/agents`, { name: 'helper' })).status).toBe(201);
    const r = await post(`${a.ready.http}/api/v1/fabric/actions`, { action_type: 'api_call', target_system: 'crm', direct: true });
    expect(await r.json()).toMatchObject({ status: 'completed', direct: true, primary_plane_id: 'direct-sim' });
    expect(await a.stop('SIGTERM')).toBe(0);
    expect(a.lines.filter((l) => l.includes('"msg":"RACI_AUDIT"'))).toHaveLength(3);
    expect(a.lines.some((l) => l.includes('"msg":"RACI_AUDIT_CHECKPOINT"'))).toBe(true);

    let v = await runTroupe(['audit', 'verify', '--data', data]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ node: 'cli-au', ok: true, checked: 3, head_seq: 3 });

    const b = await startTroupe(args);
    procs.push(b);
    await Promise.all(Array.from({ length: 20 }, (_, i) => post(`${b.ready.http}/api/v1/fabric/actions`, { action_type: 'publish_event', target_system: 'orders', entity_id: `o${i}` })));
    await b.kill();
    v = await runTroupe(['audit', 'verify', '--data', data]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ ok: true, checked: 43, head_seq: 43 });

    const usage = await runTroupe(['audit', 'check']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('TROUPE_ERR_CONFIG_INVALID');
  });
});
