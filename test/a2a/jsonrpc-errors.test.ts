import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { a2aNode, closeNodes, rpc } from './harness.js';

afterEach(closeNodes);

const v1 = { 'a2a-version': '1.0' };
const textMessage = (text: string) => ({ messageId: randomUUID(), role: 'ROLE_USER', parts: [{ text }] });

async function echoUrl(): Promise<string> {
  const node = await a2aNode();
  node.spawnAgent({ name: 'echo' });
  return `${node.http.url}/a2a/echo`;
}

describe('A2A JSON-RPC errors (HTTP 200, the spec codes)', () => {
  it('bad JSON is -32700; a non-JSON content type is -32005', async () => {
    const url = await echoUrl();
    const bad = await rpc(url, '{"jsonrpc":"2.0", nope', v1);
    expect(bad.status).toBe(200);
    expect(bad.json).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain', ...v1 }, body: 'hello' });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ jsonrpc: '2.0', error: { code: -32005 } });
  });

  it('a request that is not a JSON-RPC request object is -32600, in 1.0 and in 0.3', async () => {
    const url = await echoUrl();
    for (const headers of [v1, {}]) {
      for (const body of [[], 42, { jsonrpc: '1.0', id: 1, method: 'GetTask' }, { jsonrpc: '2.0', id: 1 }, { jsonrpc: '2.0', id: 1, method: 7 }]) {
        const r = await rpc(url, body, headers);
        expect(r.status).toBe(200);
        expect(r.json.error?.code, JSON.stringify({ body, headers })).toBe(-32600);
      }
    }
  });

  it('an unknown method is -32601 (a 1.0 method without the version header is unknown to 0.3)', async () => {
    const url = await echoUrl();
    expect((await rpc(url, { jsonrpc: '2.0', id: 1, method: 'NoSuchMethod', params: {} }, v1)).json).toMatchObject({ id: 1, error: { code: -32601 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 2, method: 'GetTask', params: { id: 'x' } })).json).toMatchObject({ id: 2, error: { code: -32601 } });
  });

  it('invalid params are -32602 (no parts, no message, wrong types)', async () => {
    const url = await echoUrl();
    const noParts = await rpc(url, { jsonrpc: '2.0', id: 3, method: 'SendMessage', params: { message: { messageId: 'm1', role: 'ROLE_USER', parts: [] } } }, v1);
    expect(noParts.json).toMatchObject({ id: 3, error: { code: -32602 } });
    const noMessage = await rpc(url, { jsonrpc: '2.0', id: 4, method: 'SendMessage', params: {} }, v1);
    expect(noMessage.json).toMatchObject({ id: 4, error: { code: -32602 } });
    const legacyNoParts = await rpc(url, { jsonrpc: '2.0', id: 5, method: 'message/send', params: { message: { kind: 'message', messageId: 'm2', role: 'user', parts: [] } } });
    expect(legacyNoParts.json).toMatchObject({ id: 5, error: { code: -32602 } });
  });

  it('an unknown task is -32001 for get, cancel and subscribe, in 1.0 and 0.3', async () => {
    const url = await echoUrl();
    expect((await rpc(url, { jsonrpc: '2.0', id: 5, method: 'GetTask', params: { id: 'nope' } }, v1)).json).toMatchObject({ id: 5, error: { code: -32001 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 6, method: 'CancelTask', params: { id: 'nope' } }, v1)).json).toMatchObject({ id: 6, error: { code: -32001 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 7, method: 'tasks/get', params: { id: 'nope' } })).json).toMatchObject({ id: 7, error: { code: -32001 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 8, method: 'tasks/cancel', params: { id: 'nope' } })).json).toMatchObject({ id: 8, error: { code: -32001 } });
    const sub = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...v1 }, body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'SubscribeToTask', params: { id: 'nope' } }) });
    // a failed subscribe is still an event stream: one error event
    expect(sub.status).toBe(200);
    expect(sub.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const text = await sub.text();
    expect(text).toMatch(/^event: error\ndata: /);
    expect(JSON.parse(text.slice(text.indexOf('{')))).toMatchObject({ jsonrpc: '2.0', id: 9, error: { code: -32001 } });
    const legacySub = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ jsonrpc: '2.0', id: 'r', method: 'tasks/resubscribe', params: { id: 'nope' } }) });
    expect(legacySub.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await legacySub.text()).toContain('-32001');
    // a follow-up naming an unknown task too
    const follow = await rpc(url, { jsonrpc: '2.0', id: 10, method: 'SendMessage', params: { message: { ...textMessage('hi'), taskId: 'nope' } } }, v1);
    expect(follow.json).toMatchObject({ id: 10, error: { code: -32001 } });
  });

  it('cancelling a completed task is -32002; an unsupported version is -32009; an unknown agent is -32001', async () => {
    const url = await echoUrl();
    const sent = await rpc(url, { jsonrpc: '2.0', id: 11, method: 'SendMessage', params: { message: textMessage('hello') } }, v1);
    expect(sent.json.result.task.status.state).toBe('TASK_STATE_COMPLETED');
    const cancel = await rpc(url, { jsonrpc: '2.0', id: 12, method: 'CancelTask', params: { id: sent.json.result.task.id } }, v1);
    expect(cancel.json).toMatchObject({ id: 12, error: { code: -32002 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 13, method: 'GetTask', params: { id: 'x' } }, { 'a2a-version': '0.4' })).json).toMatchObject({ id: 13, error: { code: -32009 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 14, method: 'GetTask', params: { id: 'x' } }, { 'a2a-version': '2.0' })).json).toMatchObject({ id: 14, error: { code: -32009 } });
    const other = url.replace(/\/echo$/, '/nobody');
    expect((await rpc(other, { jsonrpc: '2.0', id: 15, method: 'GetTask', params: { id: 'x' } }, v1)).json).toMatchObject({ id: 15, error: { code: -32001 } });
  });

  it('push notification configs are -32003 when push is off (a2a.push.enabled: false, the cards say pushNotifications: false), in 1.0 and 0.3', async () => {
    const node = await a2aNode({ a2a: { push: { enabled: false } } } as never);
    node.spawnAgent({ name: 'echo' });
    const url = `${node.http.url}/a2a/echo`;
    const sent = await rpc(url, { jsonrpc: '2.0', id: 20, method: 'SendMessage', params: { message: textMessage('hello') } }, v1);
    const taskId = sent.json.result.task.id;
    const create = await rpc(url, { jsonrpc: '2.0', id: 21, method: 'CreateTaskPushNotificationConfig', params: { taskId, url: 'https://example.com/hook' } }, v1);
    expect(create.json).toMatchObject({ id: 21, error: { code: -32003 } });
    const legacy = await rpc(url, { jsonrpc: '2.0', id: 22, method: 'tasks/pushNotificationConfig/set', params: { taskId, pushNotificationConfig: { url: 'https://example.com/hook' } } });
    expect(legacy.json).toMatchObject({ id: 22, error: { code: -32003 } });
  });

  it('inputs the SDK lets through are refused with -32602: a negative historyLength, a page token not ours, a message with no role', async () => {
    const url = await echoUrl();
    const sent = await rpc(url, { jsonrpc: '2.0', id: 30, method: 'SendMessage', params: { message: textMessage('hello') } }, v1);
    const id = sent.json.result.task.id;
    expect((await rpc(url, { jsonrpc: '2.0', id: 31, method: 'GetTask', params: { id, historyLength: -1 } }, v1)).json).toMatchObject({ id: 31, error: { code: -32602 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 32, method: 'ListTasks', params: { historyLength: -2 } }, v1)).json).toMatchObject({ id: 32, error: { code: -32602 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 33, method: 'ListTasks', params: { pageToken: 'garbage!!' } }, v1)).json).toMatchObject({ id: 33, error: { code: -32602 } });
    expect((await rpc(url, { jsonrpc: '2.0', id: 34, method: 'ListTasks', params: { pageSize: 0 } }, v1)).json).toMatchObject({ id: 34, error: { code: -32602 } });
    const noRole = await rpc(url, { jsonrpc: '2.0', id: 35, method: 'SendMessage', params: { message: { messageId: 'r0', role: 'ROLE_UNSPECIFIED', parts: [{ text: 'x' }] } } }, v1);
    expect(noRole.json).toMatchObject({ id: 35, error: { code: -32602 } });
    const negative = await rpc(url, { jsonrpc: '2.0', id: 36, method: 'SendMessage', params: { message: textMessage('x'), configuration: { historyLength: -5 } } }, v1);
    expect(negative.json).toMatchObject({ id: 36, error: { code: -32602 } });
    // the token it gave pages on, reporting the page size it used
    const page = await rpc(url, { jsonrpc: '2.0', id: 37, method: 'ListTasks', params: { pageSize: 1 } }, v1);
    expect(page.json.result).toMatchObject({ pageSize: 1, totalSize: 1, nextPageToken: '' });
  });
});
