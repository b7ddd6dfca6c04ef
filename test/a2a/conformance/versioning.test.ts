import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { a2aNode, closeNodes } from '../harness.js';
import { V03, V1, call, msg, msg03, sut } from './wire.js';

const servers: Server[] = [];
afterEach(async () => {
  await closeNodes();
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

/** An HTTP proxy in front of a base URL that records each request's method, path and A2A-Version. */
async function recordingProxy(target: string): Promise<{ url: string; seen: Array<{ method: string; path: string; version: string | undefined }> }> {
  const seen: Array<{ method: string; path: string; version: string | undefined }> = [];
  let self = '';
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    seen.push({ method: req.method!, path: req.url!, version: req.headers['a2a-version'] as string | undefined });
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([k, v]) => typeof v === 'string' && !['host', 'content-length', 'connection'].includes(k))) as Record<string, string>;
    const r = await fetch(`${target}${req.url}`, { method: req.method!, headers, ...(chunks.length ? { body: Buffer.concat(chunks) } : {}) });
    const out = Object.fromEntries([...r.headers].filter(([k]) => !['content-length', 'content-encoding', 'transfer-encoding', 'connection'].includes(k)));
    res.writeHead(r.status, out);
    if (req.url!.endsWith('agent-card.json')) {
      res.end((await r.text()).split(target).join(self)); // the card's interfaces point at the proxy
      return;
    }
    if (r.body) for await (const c of r.body) res.write(c);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  servers.push(server);
  self = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url: self, seen };
}

/** A2A TCK versioning requirements (spec 3.6). */
describe('TCK versioning: the A2A-Version service parameter', () => {
  it('VER-SERVER-001 a request is served with the semantics of the version it asks for', async () => {
    const s = await sut();
    const v1 = await call(s.url, 'SendMessage', { message: msg('one') }, V1);
    expect(v1.body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    expect(v1.body.result.task.kind).toBeUndefined();
    const v03 = await call(s.url, 'message/send', { message: msg03('zero three') }, V03);
    expect(v03.body.result).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    // each version's names only, and each version's shape of the same task
    expect((await call(s.url, 'message/send', { message: msg03('x') }, V1)).body.error.code).toBe(-32601);
    expect((await call(s.url, 'SendMessage', { message: msg('x') }, V03)).body.error.code).toBe(-32601);
    const as1 = await call(s.url, 'GetTask', { id: v03.body.result.id }, V1);
    expect(as1.body.result).toMatchObject({ id: v03.body.result.id, status: { state: 'TASK_STATE_COMPLETED' } });
    const as03 = await call(s.url, 'tasks/get', { id: v1.body.result.task.id }, V03);
    expect(as03.body.result).toMatchObject({ kind: 'task', id: v1.body.result.task.id, status: { state: 'completed' } });
  });

  it('VER-SERVER-002 a version the interface does not support is VersionNotSupportedError (-32009; 400 over REST)', async () => {
    const s = await sut();
    for (const version of ['99.0', '2.0', '1.1', '0.2', 'latest']) {
      const r = await call(s.url, 'SendMessage', { message: msg('version test') }, { 'a2a-version': version });
      expect(r.body, version).toMatchObject({ id: r.id, error: { code: -32009 } });
    }
    const rest = await fetch(`${s.url}/v1/message:send`, { method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '99.0' }, body: JSON.stringify({ message: msg('x') }) });
    expect(rest.status).toBe(400);
    expect(((await rest.json()) as any).error.details).toContainEqual(expect.objectContaining({ reason: 'VERSION_NOT_SUPPORTED' }));
    expect(s.model.calls).toBe(0);
  });

  it('VER-SERVER-003 an empty A2A-Version is version 0.3', async () => {
    const s = await sut();
    const r = await call(s.url, 'message/send', { message: msg03('empty version test') }, { 'a2a-version': '' });
    expect(r.body.result).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    expect((await call(s.url, 'SendMessage', { message: msg('x') }, { 'a2a-version': '' })).body.error.code).toBe(-32601);
    // the card too: the 0.3 card for an empty or absent version
    const card = await (await fetch(`${s.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '' } })).json() as any;
    expect(card.protocolVersion).toBe('0.3');
  });

  it('VER-CLIENT-001 troupe as an A2A client (an external agent) sends A2A-Version with each request', async () => {
    const remote = await a2aNode({ id: 'tck-remote', agents: [{ name: 'helper', description: 'a remote helper' }] } as never);
    const proxy = await recordingProxy(remote.http.url);
    const local = await a2aNode({ id: 'tck-local', externalAgents: { allowLoopback: true }, agents: [{ name: 'bridge', a2a: { url: `${proxy.url}/a2a/helper` } }] } as never);
    for (const stream of [false, true]) {
      const res = await fetch(`${local.http.url}/v1/chat/completions`, {
        method: 'POST', headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bridge', stream, messages: [{ role: 'user', content: 'hello over A2A' }] }),
      });
      expect(res.status).toBe(200);
      expect((await res.text()).length).toBeGreaterThan(0);
    }
    const rpcs = proxy.seen.filter((r) => r.method === 'POST');
    expect(rpcs.length).toBeGreaterThanOrEqual(2);
    for (const r of rpcs) expect(r.version, r.path).toBe('1.0');
  });

  it('VER-CLIENT-002 patch numbers are not considered in negotiation, and the cards carry none', async () => {
    const s = await sut();
    const patched1 = await call(s.url, 'SendMessage', { message: msg('patched') }, { 'a2a-version': '1.0.2' });
    expect(patched1.body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    const patched03 = await call(s.url, 'message/send', { message: msg03('patched') }, { 'a2a-version': '0.3.0' });
    expect(patched03.body.result).toMatchObject({ kind: 'task', status: { state: 'completed' } });
    const rest = await fetch(`${s.url}/v1/tasks/${patched1.body.result.task.id}`, { headers: { 'a2a-version': '1.0.9' } });
    expect(rest.status).toBe(200);
    const card1 = await (await fetch(`${s.url}/.well-known/agent-card.json`, { headers: V1 })).json() as any;
    for (const i of card1.supportedInterfaces) expect(i.protocolVersion).toMatch(/^\d+\.\d+$/);
    const card03 = await (await fetch(`${s.url}/.well-known/agent-card.json`)).json() as any;
    expect(card03.protocolVersion).toMatch(/^\d+\.\d+$/);
  });
});
