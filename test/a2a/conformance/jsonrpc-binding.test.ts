import { afterEach, describe, expect, it } from 'vitest';
import { closeNodes } from '../harness.js';
import { V03, V1, call, msg, msg03, openStream, post, sendTask, sut, workingTask } from './wire.js';

afterEach(closeNodes);

const ERROR_INFO = 'type.googleapis.com/google.rpc.ErrorInfo';

/** Standard JSON-RPC codes and the A2A range. */
const inRange = (code: number): boolean => (code >= -32099 && code <= -32001) || (code >= -32700 && code <= -32600);

/**
 * A2A TCK requirements of the JSON-RPC binding (spec 9 and the error mapping of 5.4):
 * the error object, the code of each A2A error, ErrorInfo details.
 */
describe('TCK JSON-RPC binding: error objects and codes', () => {
  it('JSONRPC-FMT-001 a response is a JSON-RPC 2.0 response object: jsonrpc "2.0", the request id (number or string), exactly one of result and error', async () => {
    const s = await sut();
    for (const id of [7, 'tck-string-id', 0]) {
      const r = await post(s.url, { jsonrpc: '2.0', id, method: 'SendMessage', params: { message: msg('format') } }, V1);
      expect(r.body.jsonrpc).toBe('2.0');
      expect(r.body.id).toBe(id);
      expect(['result' in r.body, 'error' in r.body]).toEqual([true, false]);
      expect(Object.keys(r.body).sort()).toEqual(['id', 'jsonrpc', 'result']);
    }
    const failed = await post(s.url, { jsonrpc: '2.0', id: 'e1', method: 'GetTask', params: { id: 'nope' } }, V1);
    expect(Object.keys(failed.body).sort()).toEqual(['error', 'id', 'jsonrpc']);
    expect(failed.body.id).toBe('e1');
  });

  it('JSONRPC-FMT-002 JSON-RPC responses are Content-Type application/json', async () => {
    const s = await sut();
    for (const [method, params, headers] of [['SendMessage', { message: msg('ct') }, V1], ['GetTask', { id: 'nope' }, V1], ['message/send', { message: msg03('ct') }, V03]] as const) {
      const r = await call(s.url, method, params, headers);
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
    }
    expect((await post(s.url, '{"oops', V1)).headers.get('content-type')).toMatch(/^application\/json/);
  });

  it('JSONRPC-SVC-001 the 1.0 methods have the spec names (each one is served, none is unknown)', async () => {
    const s = await sut();
    const t = await sendTask(s, 'names');
    const params: Record<string, unknown> = {
      SendMessage: { message: msg('n') }, GetTask: { id: t.id }, ListTasks: {}, CancelTask: { id: t.id },
      CreateTaskPushNotificationConfig: { taskId: t.id, url: 'https://example.com/h' }, GetTaskPushNotificationConfig: { taskId: t.id, id: 'x' },
      ListTaskPushNotificationConfigs: { taskId: t.id }, DeleteTaskPushNotificationConfig: { taskId: t.id, id: 'x' }, GetExtendedAgentCard: {},
    };
    for (const [method, p] of Object.entries(params)) expect((await call(s.url, method, p)).body.error?.code, method).not.toBe(-32601);
    for (const method of ['SendStreamingMessage', 'SubscribeToTask']) {
      const st = await openStream(s.url, method, method === 'SubscribeToTask' ? { id: t.id } : { message: msg('n') });
      const events = await st.rest();
      expect(events.every((e) => e.data.error?.code !== -32601), method).toBe(true);
    }
  });

  it('JSONRPC-SVC-002 service parameters are HTTP headers: A2A-Extensions is taken', async () => {
    const s = await sut();
    const r = await call(s.url, 'SendMessage', { message: msg('Extensions header test') }, { ...V1, 'a2a-extensions': 'https://example.com/ext/v1,https://example.com/ext/v2' });
    expect(r.status).toBe(200);
    expect(r.body.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    const legacy = await call(s.url, 'message/send', { message: msg03('x') }, { 'x-a2a-extensions': 'https://example.com/ext/v1' });
    expect(legacy.body.result.status.state).toBe('completed');
  });

  it('JSONRPC-ERR-001 an error object has an integer code, a string message and nothing but an optional data', async () => {
    const s = await sut();
    for (const [method, params, headers] of [['GetTask', { id: 'tck-nonexistent-err-test' }, V1], ['tasks/get', { id: 'nope' }, V03], ['Nope', {}, V1]] as const) {
      const r = await call(s.url, method, params, headers);
      expect(r.body).toMatchObject({ jsonrpc: '2.0', id: r.id });
      expect('result' in r.body).toBe(false);
      expect(Object.keys(r.body.error).every((k) => ['code', 'message', 'data'].includes(k))).toBe(true);
      expect(Number.isInteger(r.body.error.code)).toBe(true);
      expect(typeof r.body.error.message).toBe('string');
    }
  });

  it('JSONRPC-ERR-002 A2A errors use codes -32001 to -32099, the others the standard JSON-RPC codes', async () => {
    const s = await sut();
    const done = await sendTask(s, 'finished');
    const codes = [
      (await call(s.url, 'GetTask', { id: 'nope' })).body.error.code,
      (await call(s.url, 'CancelTask', { id: done.id })).body.error.code,
      (await call(s.url, 'SendMessage', { message: msg('x', { taskId: done.id }) })).body.error.code,
      (await call(s.url, 'GetExtendedAgentCard', {})).body.error.code,
      (await call(s.url, 'SendMessage', { message: msg('x') }, { 'a2a-version': '99.0' })).body.error.code,
      (await call(s.url, 'Nope', {})).body.error.code,
      (await call(s.url, 'SendMessage', {})).body.error.code,
      (await post(s.url, '{"broken', V1)).body.error.code,
    ];
    expect(codes).toEqual([-32001, -32002, -32004, -32004, -32009, -32601, -32602, -32700]);
    for (const c of codes) expect(inRange(c)).toBe(true);
  });

  it('JSONRPC-ERR-003 A2A errors carry google.rpc.ErrorInfo (reason, domain a2a-protocol.org) in a data array', async () => {
    const s = await sut();
    const done = await sendTask(s, 'finished');
    const cases: Array<[string, unknown, Record<string, string>, string]> = [
      ['GetTask', { id: 'tck-nonexistent-errinfo-test' }, V1, 'TASK_NOT_FOUND'],
      ['CancelTask', { id: done.id }, V1, 'TASK_NOT_CANCELABLE'],
      ['SendMessage', { message: msg('x', { taskId: done.id }) }, V1, 'UNSUPPORTED_OPERATION'],
      ['SendMessage', { message: msg('x') }, { 'a2a-version': '99.0' }, 'VERSION_NOT_SUPPORTED'],
    ];
    for (const [method, params, headers, reason] of cases) {
      const r = await call(s.url, method, params, headers);
      expect(Array.isArray(r.body.error.data), method).toBe(true);
      expect(r.body.error.data).toContainEqual(expect.objectContaining({ '@type': ERROR_INFO, reason, domain: 'a2a-protocol.org' }));
    }
  });

  it('JSONRPC-SSE-002 each A2A error type maps to its JSON-RPC code', async () => {
    const push = await sut({ a2a: { push: { enabled: false } } });
    const s = await sut();
    const done = await sendTask(s, 'finished');
    expect((await call(s.url, 'GetTask', { id: 'nope' })).body.error.code).toBe(-32001); // TaskNotFoundError
    expect((await call(s.url, 'CancelTask', { id: done.id })).body.error.code).toBe(-32002); // TaskNotCancelableError
    const t = await sendTask(push, 'x');
    expect((await call(push.url, 'CreateTaskPushNotificationConfig', { taskId: t.id, url: 'https://example.com' })).body.error.code).toBe(-32003); // PushNotificationNotSupportedError
    expect((await call(s.url, 'SendMessage', { message: msg('x', { taskId: done.id }) })).body.error.code).toBe(-32004); // UnsupportedOperationError
    const wrongType = await fetch(s.url, { method: 'POST', headers: { 'content-type': 'text/plain', ...V1 }, body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: msg('x') } }) });
    expect(wrongType.status).toBe(200);
    expect(((await wrongType.json()) as any).error.code).toBe(-32005); // ContentTypeNotSupportedError
    expect((await call(s.url, 'SendMessage', { message: msg('x') }, { 'a2a-version': '99.0' })).body.error.code).toBe(-32009); // VersionNotSupportedError
  });
});

/**
 * What issue 12 names where the SDK's own reference server fails the TCK: the code of an
 * invalid request object, ListTasks paging fields, inputs it lets through, and a failed
 * subscribe answered as plain JSON instead of an event stream.
 */
describe('issue 12: where the SDK reference server fails', () => {
  it('a body that is JSON but not a JSON-RPC request object is -32600 Invalid Request (not -32602), in 1.0 and 0.3', async () => {
    const s = await sut();
    const bodies: unknown[] = [[], 42, 'text', null, {}, { jsonrpc: '1.0', id: 1, method: 'GetTask' }, { jsonrpc: '2.0', id: 1 }, { jsonrpc: '2.0', id: 1, method: 7 },
      { jsonrpc: '2.0', id: 1, method: '' }, { jsonrpc: '2.0', id: { no: 1 }, method: 'GetTask', params: {} }, { jsonrpc: '2.0', id: 1, method: 'GetTask', params: 'x' }];
    for (const headers of [V1, V03]) {
      for (const body of bodies) {
        const r = await post(s.url, JSON.stringify(body), headers);
        expect(r.status).toBe(200);
        expect(r.body.error?.code, JSON.stringify({ body, headers })).toBe(-32600);
        expect(r.body.jsonrpc).toBe('2.0');
      }
    }
    // a batch is not served either, and runs nothing
    const batch = await post(s.url, [{ jsonrpc: '2.0', id: 1, method: 'SendMessage', params: { message: msg('x') } }], V1);
    expect(batch.body.error.code).toBe(-32600);
    expect(s.model.calls).toBe(0);
  });

  it('ListTasks always reports nextPageToken ("" on the last page) and the pageSize it used', async () => {
    const s = await sut();
    for (let i = 0; i < 3; i++) await sendTask(s, `p${i}`);
    const one = (await call(s.url, 'ListTasks', { pageSize: 2 })).body.result;
    expect(one).toMatchObject({ pageSize: 2, totalSize: 3, nextPageToken: expect.stringMatching(/.+/) });
    const two = (await call(s.url, 'ListTasks', { pageSize: 2, pageToken: one.nextPageToken })).body.result;
    expect(two).toMatchObject({ pageSize: 2, totalSize: 3, nextPageToken: '' });
    expect(new Set([...one.tasks, ...two.tasks].map((t: any) => t.id)).size).toBe(3);
  });

  it('inputs the SDK lets through are refused with -32602 before anything runs', async () => {
    const s = await sut();
    const t = await sendTask(s, 'x');
    const calls = s.model.calls;
    const refused: Array<[string, unknown]> = [
      ['GetTask', { id: t.id, historyLength: -1 }],
      ['ListTasks', { historyLength: -2 }],
      ['ListTasks', { pageSize: 0 }],
      ['ListTasks', { pageSize: 101 }],
      ['ListTasks', { pageToken: 'garbage!!' }],
      ['SendMessage', { message: { messageId: 'r0', role: 'ROLE_UNSPECIFIED', parts: [{ text: 'x' }] } }],
      ['SendMessage', { message: { messageId: 'r1', role: 'ROLE_USER', parts: [] } }],
      ['SendMessage', { message: msg('x'), configuration: { historyLength: -5 } }],
      ['SendMessage', { message: msg('x', { contextId: 'c'.repeat(300) }) }],
      // what the SDK's decoders coerce instead of refusing
      ['GetTask', { id: 123 }],
      ['CancelTask', { id: { nested: 'x' } }],
      ['ListTasks', { contextId: 5 }],
      ['ListTasks', { includeArtifacts: 'yes' }],
      ['SendMessage', { message: { messageId: 'r2', role: 'ROLE_USER', parts: [{ text: 5 }] } }],
      ['SendMessage', { message: { messageId: 'r3', role: 'ROLE_USER', parts: [{ text: 'x', data: { a: 1 } }] } }],
      ['SendMessage', { message: { messageId: 'r4', role: 'ROLE_USER', parts: [{ url: 'not a url' }] } }],
      ['SendMessage', { message: msg('x'), configuration: { acceptedOutputModes: 'text/plain' } }],
      ['SendMessage', { message: msg('x'), configuration: { returnImmediately: 'true' } }],
    ];
    for (const [method, params] of refused) expect((await call(s.url, method, params)).body.error?.code, `${method} ${JSON.stringify(params).slice(0, 80)}`).toBe(-32602);
    // the same over REST (400 INVALID_ARGUMENT), and a streaming send's refusal is an event stream
    const rest = await post(`${s.url}/v1/message:send`, { message: { messageId: 'r5', role: 'ROLE_USER', parts: [{ text: 5 }] } }, V1);
    expect(rest.status).toBe(400);
    const st = await openStream(s.url, 'SendStreamingMessage', { message: { messageId: 'r6', role: 'ROLE_USER', parts: [{ text: 'x', raw: 'eA==' }] } });
    expect(st.contentType).toMatch(/^text\/event-stream/);
    expect((await st.rest())[0]!.data.error.code).toBe(-32602);
    expect(s.model.calls).toBe(calls);
  });

  it('a failed subscribe (unknown or terminal task) is an event stream carrying the JSON-RPC error, in 1.0 and 0.3', async () => {
    const s = await sut();
    const done = await sendTask(s, 'finished');
    const cases: Array<[string, string, Record<string, string>, number]> = [
      ['SubscribeToTask', 'nope', V1, -32001],
      ['SubscribeToTask', done.id, V1, -32004],
      ['tasks/resubscribe', 'nope', V03, -32001],
      ['tasks/resubscribe', done.id, V03, -32004],
    ];
    for (const [method, id, headers, code] of cases) {
      const st = await openStream(s.url, method, { id }, headers);
      expect(st.status).toBe(200);
      expect(st.contentType, method).toMatch(/^text\/event-stream/);
      const events = await st.rest();
      expect(events).toHaveLength(1);
      expect(events[0]!.data).toMatchObject({ jsonrpc: '2.0', id: st.id, error: { code } });
    }
    // a failed streaming send too
    const bad = await openStream(s.url, 'message/stream', { message: msg03('x', { parts: [] }) }, V03);
    expect(bad.contentType).toMatch(/^text\/event-stream/);
    expect((await bad.rest())[0]!.data.error.code).toBe(-32602);
  });

  it('a subscribe that works on a running task in 0.3 (tasks/resubscribe) streams the task first', async () => {
    const s = await sut();
    const { task, release } = await workingTask(s);
    const st = await openStream(s.url, 'tasks/resubscribe', { id: task.id }, V03);
    const first = (await st.next())!;
    expect(first.data.result).toMatchObject({ kind: 'task', id: task.id });
    release();
    const events = await st.rest();
    expect(events.at(-1)!.data.result).toMatchObject({ kind: 'status-update', final: true, status: { state: 'completed' } });
  });
});
