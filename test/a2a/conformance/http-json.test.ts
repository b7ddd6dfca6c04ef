import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { V1, msg, sseOf, sut, waitingTask, type Sut } from './wire.js';

afterEach(closeNodes);

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

/** One REST call under the agent's HTTP+JSON interface (`/a2a/echo/v1`). */
async function rest(s: Sut, method: string, path: string, body?: unknown, headers: Record<string, string> = V1): Promise<{ status: number; type: string; body: any }> {
  const res = await fetch(`${s.url}/v1${path}`, {
    method,
    headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    /* kept as text */
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: parsed };
}

/** A2A TCK requirements of the HTTP+JSON (REST) binding (spec 11, and the status mapping of 5.4). */
describe('TCK HTTP+JSON binding: URLs, methods, media type, query parameters, errors, SSE', () => {
  it('HTTP_JSON-URL-001 every operation is served at its resource URL pattern', async () => {
    const s = await sut({ a2a: { push: { allowHosts: ['127.0.0.1'] } } });
    const sent = await rest(s, 'POST', '/message:send', { message: msg('rest hello', { contextId: 'tck-rest' }) });
    expect(sent.status).toBe(200);
    const id = sent.body.task.id;
    expect((await rest(s, 'GET', `/tasks/${id}`)).body).toMatchObject({ id, status: { state: 'TASK_STATE_COMPLETED' } });
    expect((await rest(s, 'GET', '/tasks')).body.tasks.map((t: any) => t.id)).toContain(id);
    const waiting = await waitingTask(s);
    expect((await rest(s, 'POST', `/tasks/${waiting.id}:cancel`, {})).body).toMatchObject({ id: waiting.id, status: { state: 'TASK_STATE_CANCELED' } });
    const cfg = await rest(s, 'POST', `/tasks/${id}/pushNotificationConfigs`, { taskId: id, url: 'http://127.0.0.1:9/hook' });
    expect(cfg.status).toBe(201);
    const cfgId = cfg.body.id;
    expect((await rest(s, 'GET', `/tasks/${id}/pushNotificationConfigs/${cfgId}`)).body).toMatchObject({ id: cfgId, url: 'http://127.0.0.1:9/hook' });
    expect((await rest(s, 'GET', `/tasks/${id}/pushNotificationConfigs`)).body.configs).toHaveLength(1);
    expect((await rest(s, 'DELETE', `/tasks/${id}/pushNotificationConfigs/${cfgId}`)).status).toBe(204);
    expect((await rest(s, 'GET', '/extendedAgentCard')).body.error.details).toContainEqual(expect.objectContaining({ reason: 'UNSUPPORTED_OPERATION' }));
    const streamed = await fetch(`${s.url}/v1/message:stream`, { method: 'POST', headers: { 'content-type': 'application/json', ...V1 }, body: JSON.stringify({ message: msg('rest stream') }) });
    expect(streamed.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await streamed.text();
  });

  it('HTTP_JSON-URL-002 GET retrieves, POST creates and acts, DELETE removes; other verbs are refused', async () => {
    const s = await sut();
    const id = (await rest(s, 'POST', '/message:send', { message: msg('verbs') })).body.task.id;
    expect((await rest(s, 'DELETE', `/tasks/${id}`)).status).toBeGreaterThanOrEqual(400);
    expect((await rest(s, 'PUT', `/tasks/${id}`, {})).status).toBeGreaterThanOrEqual(400);
    expect((await rest(s, 'GET', '/message:send')).status).toBeGreaterThanOrEqual(400);
    expect((await rest(s, 'GET', `/tasks/${id}`)).status).toBe(200);
    // the retrieval changed nothing
    expect((await rest(s, 'GET', `/tasks/${id}`)).body.status.state).toBe('TASK_STATE_COMPLETED');
  });

  it('HTTP_JSON-SVC-001 (SHOULD) requests and responses use application/a2a+json', async () => {
    const s = await sut();
    const r = await rest(s, 'POST', '/message:send', { message: msg('a2a json') }, { ...V1, 'content-type': 'application/a2a+json' });
    expect(r.status).toBe(200);
    expect(r.type).toMatch(/^application\/a2a\+json/);
    expect((await rest(s, 'GET', `/tasks/${r.body.task.id}`)).type).toMatch(/^application\/a2a\+json/);
  });

  it('HTTP_JSON-SVC-002 service parameters travel as HTTP headers (A2A-Version, A2A-Extensions)', async () => {
    const s = await sut();
    const ext = await rest(s, 'POST', '/message:send', { message: msg('ext') }, { ...V1, 'a2a-extensions': 'https://example.com/ext/v1,https://example.com/ext/v2' });
    expect(ext.status).toBe(200);
    const wrong = await rest(s, 'POST', '/message:send', { message: msg('version') }, { 'a2a-version': '99.0' });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error.details).toContainEqual(expect.objectContaining({ reason: 'VERSION_NOT_SUPPORTED' }));
    // the version in the body or query is not a service parameter: without the header the
    // request is 0.3, whose REST binding has no ListTasks
    const noHeader = await rest(s, 'GET', '/tasks?a2aVersion=1.0', undefined, {});
    expect(noHeader.status).toBe(404);
    expect(noHeader.body).toMatchObject({ code: -32601 });
  });

  it('HTTP_JSON-QP-001 query parameters are camelCase (contextId, pageSize, pageToken, historyLength, includeArtifacts)', async () => {
    const s = await sut();
    for (let i = 0; i < 3; i++) await rest(s, 'POST', '/message:send', { message: msg(`q${i}`, { contextId: 'tck-qp' }) });
    await rest(s, 'POST', '/message:send', { message: msg('elsewhere', { contextId: 'tck-qp-other' }) });
    const first = (await rest(s, 'GET', '/tasks?contextId=tck-qp&pageSize=2')).body;
    expect(first).toMatchObject({ pageSize: 2, totalSize: 3 });
    expect(first.tasks).toHaveLength(2);
    const second = (await rest(s, 'GET', `/tasks?contextId=tck-qp&pageSize=2&pageToken=${encodeURIComponent(first.nextPageToken)}`)).body;
    expect(second).toMatchObject({ nextPageToken: '', totalSize: 3 });
    expect(second.tasks).toHaveLength(1);
    expect('artifacts' in first.tasks[0]).toBe(false);
    expect((await rest(s, 'GET', '/tasks?contextId=tck-qp&includeArtifacts=true')).body.tasks[0].artifacts).toHaveLength(1);
    const id = first.tasks[0].id;
    expect((await rest(s, 'GET', `/tasks/${id}?historyLength=0`)).body.history ?? []).toHaveLength(0);
  });

  it('HTTP_JSON-ERR-001 errors are AIP-193: an error object with code (the HTTP status), status, message and details', async () => {
    const s = await sut();
    for (const [method, path, body] of [['GET', '/tasks/tck-nonexistent-pd-001', undefined], ['POST', '/message:send', {}], ['POST', '/message:send', '{"no']] as const) {
      const r = await rest(s, method, path, body);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.body.error).toMatchObject({ code: r.status, status: expect.stringMatching(/^[A-Z_]+$/), message: expect.any(String) });
      expect(Array.isArray(r.body.error.details)).toBe(true);
    }
  });

  it('HTTP_JSON-ERR-002 A2A errors carry a google.rpc.ErrorInfo (UPPER_SNAKE reason, domain a2a-protocol.org) in details', async () => {
    const s = await sut();
    const r = await rest(s, 'GET', '/tasks/tck-nonexistent-uri-test');
    expect(r.body.error.details).toContainEqual(expect.objectContaining({ '@type': ERROR_INFO, reason: 'TASK_NOT_FOUND', domain: 'a2a-protocol.org' }));
  });

  it('HTTP_JSON-STATUS-001 each A2A error has the HTTP status of the spec mapping (404, 409, 400, 415)', async () => {
    const s = await sut();
    const push = await sut({ a2a: { push: { enabled: false } } });
    const done = (await rest(s, 'POST', '/message:send', { message: msg('finished') })).body.task;
    const cases: Array<[Promise<{ status: number; body: any }>, number, string]> = [
      [rest(s, 'GET', '/tasks/nope'), 404, 'TASK_NOT_FOUND'],
      [rest(s, 'POST', `/tasks/${done.id}:cancel`, {}), 409, 'TASK_NOT_CANCELABLE'],
      [rest(push, 'POST', `/tasks/${done.id}/pushNotificationConfigs`, { taskId: done.id, url: 'https://example.com' }), 400, 'PUSH_NOTIFICATION_NOT_SUPPORTED'],
      [rest(s, 'POST', '/message:send', { message: msg('x', { taskId: done.id }) }), 400, 'UNSUPPORTED_OPERATION'],
      [rest(s, 'POST', '/message:send', JSON.stringify({ message: msg('x') }), { ...V1, 'content-type': 'text/plain' }), 415, 'CONTENT_TYPE_NOT_SUPPORTED'],
      [rest(s, 'POST', '/message:send', { message: { messageId: 'm', role: 'ROLE_USER', parts: [{ raw: 'dGNr', mediaType: 'application/x-unsupported' }] } }), 415, 'CONTENT_TYPE_NOT_SUPPORTED'],
      [rest(s, 'POST', '/message:send', { message: msg('x') }, { 'a2a-version': '99.0' }), 400, 'VERSION_NOT_SUPPORTED'],
    ];
    for (const [p, status, reason] of cases) {
      const r = await p;
      expect(r.status, reason).toBe(status);
      expect(r.body.error.code).toBe(status);
      expect(r.body.error.details).toContainEqual(expect.objectContaining({ reason }));
    }
    expect((await rest(s, 'POST', '/message:send', { message: msg('fine') })).status).toBe(200);
  });

  it('HTTP_JSON-SSE-001 REST streaming is SSE whose data are StreamResponse JSON', async () => {
    const s = await sut();
    const abort = new AbortController();
    const res = await fetch(`${s.url}/v1/message:stream`, { method: 'POST', headers: { 'content-type': 'application/json', ...V1 }, body: JSON.stringify({ message: msg('rest sse') }), signal: abort.signal });
    const st = sseOf(res, abort);
    expect(st.contentType).toMatch(/^text\/event-stream/);
    const events = await st.rest();
    expect(events.length).toBeGreaterThan(1);
    expect(Object.keys(events[0]!.data)).toEqual(['task']);
    for (const e of events) {
      expect(e.data.jsonrpc).toBeUndefined();
      expect(Object.keys(e.data).filter((k) => ['task', 'message', 'statusUpdate', 'artifactUpdate'].includes(k))).toHaveLength(1);
    }
    expect(events.at(-1)!.data.statusUpdate.status.state).toBe('TASK_STATE_COMPLETED');
  });
});
