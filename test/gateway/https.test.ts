import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { isTroupeError } from '../../protocol/index.js';
import { cleanup, dataDir, testNode } from '../agent/harness.js';

afterEach(cleanup);

/** A self-signed certificate for 127.0.0.1, made now with openssl. */
function certificate(): { cert: string; key: string } {
  const dir = dataDir();
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', join(dir, 'key.pem'),
    '-out', join(dir, 'cert.pem'), '-days', '1', '-subj', '/CN=troupe-test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { cert: readFileSync(join(dir, 'cert.pem'), 'utf8'), key: readFileSync(join(dir, 'key.pem'), 'utf8') };
}

function get(url: string, ca: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; peerCert: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { ca, headers }, (res) => {
      let body = '';
      // read now: the socket is released once the response ends
      const peerCert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().subject?.CN ?? '';
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body, peerCert }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('gateway https', () => {
  it('serves the routes over TLS with the given certificate, and its url says https', async () => {
    const tls = certificate();
    const node = await testNode({ http: { port: 0, tls }, agents: [{ name: 'secure' }] });
    expect(node.http!.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const models = await get(`${node.http!.url}/v1/models`, tls.cert);
    expect(models.status).toBe(200);
    expect(models.peerCert).toBe('troupe-test');
    expect(JSON.parse(models.body).data.map((m: { id: string }) => m.id)).toEqual(['secure']);
    // a client that does not trust the certificate is refused by TLS itself
    await expect(get(`${node.http!.url}/health`, '')).rejects.toThrow();
  });

  it('refuses a TLS option without its key', async () => {
    const e = await testNode({ http: { port: 0, tls: { cert: 'x' } as never } }).catch((x: unknown) => x);
    expect(isTroupeError(e, 'TROUPE_ERR_CONFIG_INVALID')).toBe(true);
  });
});
