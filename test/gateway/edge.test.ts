import { connect } from 'node:net';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, gatewayOptionsSchema } from '../../gateway/server.js';
import { MAX_JSON_DEPTH } from '../../gateway/json-body.js';
import { cleanup, dataDir, onCleanup, testNode } from '../agent/harness.js';

afterEach(cleanup);

function post(url: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
}

/** A content part holding `depth` nested arrays: about 3 KB at depth 1,500. */
function deepBody(depth: number): string {
  const nested = `${'['.repeat(depth)}1${']'.repeat(depth)}`;
  return `{"model":"echo","messages":[{"role":"user","content":[{"type":"text","text":"hi","extra":${nested}}]}]}`;
}

/** One raw HTTP/1.1 exchange over a socket: what Node's parser answers before fastify. */
function rawHttp(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let got = '';
    socket.on('data', (d) => { got += d.toString('latin1'); });
    socket.on('error', (e) => (got ? resolve(got) : reject(e)));
    socket.on('close', () => resolve(got));
    socket.write(request);
  });
}

function headersAndBody(raw: string): { status: number; headers: Record<string, string>; body: any } {
  const [head, ...rest] = raw.split('\r\n\r\n');
  const lines = head!.split('\r\n');
  const status = Number(lines[0]!.split(' ')[1]);
  const headers = Object.fromEntries(lines.slice(1).map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
  return { status, headers, body: JSON.parse(rest.join('\r\n\r\n')) };
}

describe('JSON bodies at the HTTP edge', () => {
  it(`refuses a body nested deeper than ${MAX_JSON_DEPTH} levels with a coded 400, and the agent keeps answering`, async () => {
    const dir = dataDir();
    const node = await testNode({ dataDir: dir, http: { port: 0 }, agents: [{ name: 'echo' }] });
    const url = `${node.http!.url}/v1/chat/completions`;
    const body = deepBody(1_500);
    expect(body.length).toBeLessThan(3_200);
    for (let i = 0; i < 8; i++) {
      const r = await post(url, body, { 'x-conversation-id': 'deep-1' });
      expect(r.status).toBe(400);
      expect(r.headers.get('x-request-id')).toBeTruthy();
      const text = await r.text();
      expect(text).not.toContain(dir);
      expect(JSON.parse(text).error).toMatchObject({ type: 'invalid_request_error', code: 'TROUPE_ERR_GATEWAY_BAD_REQUEST' });
      expect(JSON.parse(text).error.message).toContain(`deeper than ${MAX_JSON_DEPTH}`);
    }
    // the same outside /v1: troupe's envelope, with the limit in the details
    const other = await post(`${node.http!.url}/api/v1/agents/echo/run`, deepBody(200));
    expect(other.status).toBe(400);
    expect((await other.json() as any).error).toMatchObject({ code: 'TROUPE_ERR_GATEWAY_BAD_REQUEST', details: { maxDepth: MAX_JSON_DEPTH } });
    // the agent never saw those bodies: it still answers the conversation
    const ok = await post(url, JSON.stringify({ model: 'echo', messages: [{ role: 'user', content: 'still there?' }] }), { 'x-conversation-id': 'deep-1' });
    expect(ok.status).toBe(200);
    expect((await ok.json() as any).choices[0].message.content).toContain('still there?');
  });

  it('accepts nesting up to the limit', async () => {
    const node = await testNode({ http: { port: 0 }, agents: [{ name: 'echo' }] });
    // the body wraps the nested part in five levels of its own
    const r = await post(`${node.http!.url}/v1/chat/completions`, deepBody(MAX_JSON_DEPTH - 5));
    expect(r.status).toBe(200);
    expect((await post(`${node.http!.url}/v1/chat/completions`, deepBody(MAX_JSON_DEPTH - 4))).status).toBe(400);
  });

  it('says that a __proto__ key is refused, and where, instead of "not valid JSON"', async () => {
    const node = await testNode({ http: { port: 0 }, agents: [{ name: 'echo' }] });
    const url = `${node.http!.url}/v1/chat/completions`;
    const r = await post(url, '{"model":"echo","messages":[{"role":"user","content":"x","__proto__":{"polluted":true}}]}');
    expect(r.status).toBe(400);
    const e = (await r.json() as any).error;
    expect(e.code).toBe('TROUPE_ERR_GATEWAY_BAD_REQUEST');
    expect(e.message).toContain('"messages.0.__proto__" is not allowed');
    expect(e.message).not.toContain('not valid JSON');
    // spelled with a unicode escape, it is still the same key
    const escaped = await post(url, '{"model":"echo","\\u005f_proto__":{"x":1},"messages":[]}');
    expect((await escaped.json() as any).error.message).toContain('"__proto__" is not allowed');
    const ctor = await post(`${node.http!.url}/api/v1/agents`, '{"name":"a","constructor":{"prototype":{"x":1}}}');
    expect(ctor.status).toBe(400);
    expect((await ctor.json() as any).error.message).toContain('"constructor.prototype" is not allowed');
    // and invalid JSON is still called that
    const bad = await post(url, '{"model":');
    expect((await bad.json() as any).error.message).toContain('not valid JSON');
  });
});

describe('requests refused before routing', () => {
  it('answers oversized headers under /v1 with 431, a request id and the OpenAI envelope', async () => {
    const node = await testNode({ http: { port: 0 } });
    const port = Number(new URL(node.http!.url).port);
    const raw = await rawHttp(port, `GET /v1/models HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const r = headersAndBody(raw);
    expect(r.status).toBe(431);
    expect(r.headers['x-request-id']).toMatch(/\S/);
    expect(r.body).toEqual({ error: { message: 'Request headers are too large', type: 'invalid_request_error', param: null, code: 'TROUPE_ERR_GATEWAY_BAD_REQUEST' } });
    const outside = headersAndBody(await rawHttp(port, `GET /api/v1/agents HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(outside.status).toBe(431);
    expect(outside.body).toEqual({ error: { code: 'TROUPE_ERR_GATEWAY_BAD_REQUEST', message: 'Request headers are too large' } });
  });

  it('answers bad percent-encoding under /v1 with a request id and the OpenAI envelope', async () => {
    const node = await testNode({ http: { port: 0 } });
    const r = await fetch(`${node.http!.url}/v1/models/%E0%A4%A`, { headers: { 'x-request-id': 'bad-url-1' } });
    expect(r.status).toBe(400);
    expect(r.headers.get('x-request-id')).toBe('bad-url-1');
    expect(await r.json()).toEqual({ error: { message: 'The URL is not valid: bad percent-encoding in the path', type: 'invalid_request_error', param: null, code: 'TROUPE_ERR_GATEWAY_BAD_REQUEST' } });
  });
});

describe('5xx answers', () => {
  it('never carry filesystem paths or secrets, and the cause is logged at error', async () => {
    const lines: Array<Record<string, any>> = [];
    const sink = new Writable({ write(chunk, _enc, done) { lines.push(JSON.parse(String(chunk))); done(); } });
    const { app, readiness } = createServer(gatewayOptionsSchema.parse({ port: 0 }), pino({ level: 'info' }, sink), 'n1');
    onCleanup(() => app.close());
    readiness.state = 'ready';
    app.get('/v1/crash', async () => { throw new Error("EACCES: permission denied, open '/srv/troupe/data/agents.mdb'"); });
    app.get('/api/v1/crash', async () => { throw new Error("ENOSPC: no space left, write '/srv/troupe/data/journal'"); });
    app.get('/v1/upstream', async () => {
      const { TroupeError } = await import('../../protocol/index.js');
      throw new TroupeError('TROUPE_ERR_MODEL_UPSTREAM', 'upstream said 500 for Bearer sk-live-abcdef123456 reading /home/ops/keys/openai.txt');
    });
    await app.ready();
    const v1 = await app.inject({ url: '/v1/crash', headers: { 'x-request-id': 'crash-1' } });
    expect(v1.statusCode).toBe(500);
    expect(v1.body).not.toContain('/srv/troupe');
    expect(v1.json().error).toMatchObject({ type: 'server_error', code: 'TROUPE_ERR_GATEWAY_INTERNAL' });
    const api = await app.inject({ url: '/api/v1/crash' });
    expect(api.statusCode).toBe(500);
    expect(api.body).not.toContain('/srv/troupe');
    const up = await app.inject({ url: '/v1/upstream' });
    expect(up.statusCode).toBe(502);
    expect(up.body).not.toContain('sk-live');
    expect(up.body).not.toContain('/home/ops');
    expect(up.json().error.message).toContain('upstream said 500');
    const logged = lines.filter((l) => l.msg === 'request failed');
    expect(logged).toHaveLength(3);
    expect(logged[0]).toMatchObject({ level: 50, reqId: 'crash-1', code: 'TROUPE_ERR_GATEWAY_INTERNAL' });
    expect(JSON.stringify(logged[0])).toContain('/srv/troupe/data/agents.mdb');
  });
});
