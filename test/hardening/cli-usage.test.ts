import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { PROCESS_TEST_TIMEOUT_MS, ROOT, runTroupe, startTroupe, type TroupeProcess } from '../process.js';

const dirs: Array<() => void> = [];
const procs: TroupeProcess[] = [];
afterAll(async () => {
  await Promise.all(procs.map((p) => p.kill().catch(() => undefined)));
  dirs.forEach((c) => c());
});

function dir(): string {
  const t = tempDir();
  dirs.push(t.cleanup);
  return t.dir;
}

const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('troupe usage', () => {
  it('prints the usage of start for --help, with every flag and its environment twin, and exits 0', async () => {
    const r = await runTroupe(['start', '--help']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    for (const [flag, env] of [
      ['--config FILE', 'TROUPE_CONFIG'], ['--node ID', 'TROUPE_NODE'], ['--host H', 'TROUPE_HOST'], ['--http-port N', 'TROUPE_HTTP_PORT'],
      ['--peer-port N', 'TROUPE_PEER_PORT'], ['--peers URL,URL', 'TROUPE_PEERS'], ['--data DIR', 'TROUPE_DATA'],
      ['--cluster-secret S', 'TROUPE_CLUSTER_SECRET'], ['--cluster-name NAME', 'TROUPE_CLUSTER_NAME'], ['--heartbeat-ms N', 'TROUPE_HEARTBEAT_MS'],
      ['--api-keys K,K', 'TROUPE_API_KEYS'], ['--insecure', 'TROUPE_INSECURE'], ['--log-level L', 'TROUPE_LOG_LEVEL'],
      ['--tls-cert FILE', 'TROUPE_TLS_CERT'], ['--tls-key FILE', 'TROUPE_TLS_KEY'],
      ['--peer-tls-cert FILE', 'TROUPE_PEER_TLS_CERT'], ['--peer-tls-key FILE', 'TROUPE_PEER_TLS_KEY'],
      ['--peer-tls-ca FILE', 'TROUPE_PEER_TLS_CA'], ['--peer-tls-mutual', 'TROUPE_PEER_TLS_MUTUAL'],
    ]) {
      const line = r.stdout.split('\n').find((l) => l.trimStart().startsWith(`${flag} `));
      expect(line, flag).toBeDefined();
      expect(line).toContain(`env ${env}`);
    }
    for (const env of ['TROUPE_DATA_KEY', 'OPENAI_BASE_URL', 'OPENAI_API_KEY', 'TROUPE_MODEL']) expect(r.stdout).toContain(env);
  });

  it('prints the command list for --help and the version for --version', async () => {
    const help = await runTroupe(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/commands:\n\s+start\s/);
    const v = await runTroupe(['--version']);
    expect(v).toMatchObject({ code: 0, stdout: `troupe ${version}\n` });
  });

  it('refuses an unknown flag, a missing value, a negative heartbeat and an unknown command with a coded error and exit 2, never a stack', async () => {
    for (const [args, says] of [
      [['start', '--bogus'], "Unknown option '--bogus'"],
      [['start', '--http-port'], "'--http-port <value>' argument missing"],
      [['start', '--heartbeat-ms', '-5'], 'heartbeatMs'],
      [['start', 'stray'], "'stray'"],
      [['frobnicate'], 'unknown command "frobnicate"'],
      [['start', '--tls-cert', '/nonexistent/cert.pem'], '--tls-key'],
      [['start', '--peer-tls-cert', 'a.pem', '--peer-tls-key', 'b.pem', '--peer-tls-mutual'], '--peer-tls-ca'],
    ] as Array<[string[], string]>) {
      const r = await runTroupe([args[0]!, '--data', join(dir(), 'd'), ...args.slice(1)]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^troupe: TROUPE_ERR_CONFIG_INVALID: /);
      expect(r.stderr).toContain(says);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    const env = await runTroupe(['start', '--data', join(dir(), 'd')], { TROUPE_PEER_TLS_MUTUAL: 'maybe' });
    expect(env.code).toBe(2);
    expect(env.stderr).toContain('TROUPE_PEER_TLS_MUTUAL must be true or false');
  }, PROCESS_TEST_TIMEOUT_MS); // eight processes, one after another
});

describe('troupe start logs', () => {
  it('prints the ready line at TROUPE_LOG_LEVEL=warn, and nothing at info', async () => {
    const p = await startTroupe(['--http-port', '0', '--peer-port', '0', '--data', join(dir(), 'd')], { TROUPE_LOG_LEVEL: 'warn' });
    procs.push(p);
    await fetch(`${p.ready.http}/health`);
    await p.stop();
    expect(p.lines.filter((l) => l.includes('"level":30'))).toEqual([expect.stringContaining('"msg":"troupe ready"')]);
  });

  it('logs each request once at info with method, route, status, duration, request id, key id and agent, never the key', async () => {
    const key = 'sk-cli-log-key-0123456789';
    const p = await startTroupe(['--http-port', '0', '--peer-port', '0', '--data', join(dir(), 'd'), '--api-keys', key], {
      TROUPE_LOG_LEVEL: 'info',
    });
    procs.push(p);
    const auth = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
    await fetch(`${p.ready.http}/api/v1/agents`, { method: 'POST', headers: { ...auth, 'x-request-id': 'log-create' }, body: JSON.stringify({ name: 'logged' }) });
    await fetch(`${p.ready.http}/v1/chat/completions`, {
      method: 'POST', headers: { ...auth, 'x-request-id': 'log-chat' }, body: JSON.stringify({ model: 'logged', messages: [{ role: 'user', content: 'hi' }] }),
    });
    await fetch(`${p.ready.http}/v1/models`, { headers: { authorization: 'Bearer wrong-key-0000000', 'x-request-id': 'log-401' } });
    await p.stop();
    const requests = p.lines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request');
    const byId = (id: string) => requests.filter((l) => l['reqId'] === id);
    expect(byId('log-chat')).toEqual([expect.objectContaining({
      level: 30, method: 'POST', route: '/v1/chat/completions', status: 200, durationMs: expect.any(Number), keyId: expect.stringMatching(/^[0-9a-f]{16}$/), agent: 'logged',
    })]);
    expect(byId('log-create')).toEqual([expect.objectContaining({ route: '/api/v1/agents', status: 201 })]);
    expect(byId('log-401')).toEqual([expect.objectContaining({ status: 401, route: '/v1/models' })]);
    expect(byId('log-401')[0]).not.toHaveProperty('keyId');
    expect(p.lines.join('\n')).not.toContain(key);
  });
});

describe('troupe start --tls-cert --tls-key', () => {
  it('serves the gateway over https with the given certificate', async () => {
    const d = dir();
    const cert = join(d, 'cert.pem');
    const key = join(d, 'key.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert,
      '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { stdio: 'ignore' });
    const p = await startTroupe(['--http-port', '0', '--peer-port', '0', '--data', join(d, 'data')], { TROUPE_TLS_CERT: cert, TROUPE_TLS_KEY: key });
    procs.push(p);
    expect(p.ready.http).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(`${p.ready.http}/health`, { ca: readFileSync(cert) }, (res) => {
        let got = '';
        res.on('data', (c) => { got += c; });
        res.on('end', () => resolve(got));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(body)).toMatchObject({ status: 'ok' });
    // plain http to the same port is not served
    await expect(fetch(p.ready.http.replace('https:', 'http:') + '/health').then((r) => r.status)).rejects.toThrow();
    await p.stop();
  });
});
