import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from './helpers.js';
import { runTroupe, startTroupe, type TroupeProcess } from './process.js';

const dirs: Array<() => void> = [];
const procs: TroupeProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  dirs.forEach((c) => c());
});

function data(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
}

describe('troupe start', () => {
  it('logs the ready line, serves /health and /ready, and exits 0 on SIGTERM', async () => {
    const p = await startTroupe(['--node', 'cli-a', '--http-port', '0', '--peer-port', '0', '--data', data()]);
    procs.push(p);
    expect(p.ready.node).toBe('cli-a');
    expect(p.ready.http).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${p.ready.http}/health`);
    expect(health.status).toBe(200);
    expect(health.headers.get('x-request-id')).toBeTruthy();
    expect(await health.json()).toEqual({ status: 'ok', node: 'cli-a' });
    const ready = await fetch(`${p.ready.http}/ready`);
    expect(ready.status).toBe(200);
    expect(await p.stop('SIGTERM')).toBe(0);
    expect(p.lines.some((l) => l.includes('"msg":"troupe stopped"'))).toBe(true);
  });

  it('exits 0 on SIGINT after a graceful shutdown', async () => {
    const p = await startTroupe(['--http-port', '0', '--peer-port', '0', '--data', data()], { TROUPE_NODE: 'cli-env' });
    procs.push(p);
    expect(p.ready.node).toBe('cli-env');
    expect(await p.stop('SIGINT')).toBe(0);
  });

  it('takes every flag from its environment twin, flags winning', async () => {
    const p = await startTroupe(['--node', 'flag-wins', '--data', data()], { TROUPE_NODE: 'env-loses', TROUPE_HTTP_PORT: '0', TROUPE_PEER_PORT: '0' });
    procs.push(p);
    expect(p.ready.node).toBe('flag-wins');
    await p.stop();
  });

  it('echoes the request id it was given', async () => {
    const p = await startTroupe(['--http-port', '0', '--peer-port', '0', '--data', data()]);
    procs.push(p);
    const r = await fetch(`${p.ready.http}/health`, { headers: { 'x-request-id': 'abc-123' } });
    expect(r.headers.get('x-request-id')).toBe('abc-123');
    await p.stop();
  });

  it('takes further gateway options from the config file', async () => {
    const dir = data();
    const config = join(dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({ gateway: { bodyLimitBytes: 1024 } }));
    const p = await startTroupe(['--config', config, '--http-port', '0', '--peer-port', '0', '--data', join(dir, 'data')]);
    procs.push(p);
    const r = await fetch(`${p.ready.http}/v1/chat/completions`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'x', messages: [{ role: 'user', content: 'y'.repeat(4096) }] }),
    });
    expect(r.status).toBe(413);
    await p.stop();
    writeFileSync(config, JSON.stringify({ gateway: { bodyLimitByte: 1024 } }));
    const bad = await runTroupe(['start', '--config', config, '--data', join(dir, 'data')]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('TROUPE_ERR_CONFIG_INVALID');
    expect(bad.stderr).toContain('gateway');
  });

  it('refuses a bad flag value with a coded error', async () => {
    const r = await runTroupe(['start', '--http-port', 'nope', '--data', data()]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('TROUPE_ERR_CONFIG_INVALID');
    expect(r.stderr).toContain('httpPort');
  });

  it('refuses to bind a non-loopback host without API keys unless --insecure', async () => {
    const r = await runTroupe(['start', '--host', '0.0.0.0', '--http-port', '0', '--peer-port', '0', '--data', data()]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TROUPE_ERR_GATEWAY_INSECURE_BIND');
  });

  it('refuses a second live node on the same data dir', async () => {
    const dir = data();
    const p = await startTroupe(['--http-port', '0', '--peer-port', '0', '--data', dir]);
    procs.push(p);
    const r = await runTroupe(['start', '--http-port', '0', '--peer-port', '0', '--data', dir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('TROUPE_ERR_STORAGE_LOCKED');
    await p.stop();
  });
});

describe('troupe start with TROUPE_DATA_KEY', () => {
  it('keeps a durable agent with its own upstream key across a restart; without the key such an agent is refused', async () => {
    const dir = data();
    const config = join(dir, 'troupe.json');
    writeFileSync(config, JSON.stringify({ gateway: { allowAgentProviders: true } }));
    const args = ['--config', config, '--http-port', '0', '--peer-port', '0', '--data', join(dir, 'node')];
    const spec = { name: 'keyed', provider: { kind: 'openai', baseURL: 'http://127.0.0.1:9/v1', apiKey: 'sk-cli-secret-value' } };
    const post = (http: string): Promise<Response> => fetch(`${http}/api/v1/agents`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(spec) });

    let p = await startTroupe(args);
    procs.push(p);
    const refused = await post(p.ready.http);
    expect(refused.status).toBe(400);
    expect(JSON.stringify(await refused.json())).toContain('TROUPE_DATA_KEY');
    await p.stop();

    const env = { TROUPE_DATA_KEY: 'cli-data-key-0123456789' };
    p = await startTroupe(args, env);
    procs.push(p);
    expect((await post(p.ready.http)).status).toBe(201);
    await p.stop();
    p = await startTroupe(args, env);
    procs.push(p);
    const listed = await (await fetch(`${p.ready.http}/api/v1/agents/keyed`)).json() as { name: string; durable: boolean };
    expect(listed).toMatchObject({ name: 'keyed', durable: true });
    expect(JSON.stringify(listed)).not.toContain('sk-cli-secret-value');
    await p.stop();
  });
});
