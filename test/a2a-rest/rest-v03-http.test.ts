import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { ClientFactory, ClientFactoryOptions, RestTransportFactory } from 'a2a-sdk-03/client';
import { until } from '../helpers.js';
import { a2aNode, closeNodes, CountingModel } from '../a2a/harness.js';

afterEach(closeNodes);

/** A 0.3 ProtoJSON send body (what the 0.3 clients put on the wire). */
const sendBody = (text: string, extra: Record<string, unknown> = {}) => ({ message: { messageId: randomUUID(), role: 'ROLE_USER', content: [{ text }], ...extra } });
const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) });

describe('A2A 0.3 REST over raw HTTP: wire shapes, version routing, errors', () => {
  it('ProtoJSON in and out: a send answers 201 { task } with TASK_STATE_ enums and `content` parts; A2A-Version 1.0 on the same path is the 1.0 binding', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const base = `${node.http.url}/a2a/echo/v1`;
    const sent = await post(`${base}/message:send`, sendBody('raw old'));
    expect(sent.status).toBe(201);
    expect(sent.headers.get('content-type')).toMatch(/^application\/json/);
    expect(sent.headers.get('x-request-id')).toBeTruthy();
    const body = await sent.json() as any;
    expect(body.task).toMatchObject({ status: { state: 'TASK_STATE_COMPLETED' } });
    expect(body.task.artifacts[0].parts[0]).toEqual({ text: '[troupe-offline] You said: raw old' });
    // a patch version is still 0.3
    const patch = await fetch(`${base}/tasks/${body.task.id}`, { headers: { 'a2a-version': '0.3.2' } });
    expect(patch.status).toBe(200);
    expect(await patch.json()).toMatchObject({ id: body.task.id, status: { state: 'TASK_STATE_COMPLETED' } });
    // the same path with A2A-Version: 1.0 answers in the 1.0 shape
    const v1 = await fetch(`${base}/tasks/${body.task.id}`, { headers: { 'a2a-version': '1.0' } });
    expect(v1.status).toBe(200);
    expect(v1.headers.get('content-type')).toMatch(/application\/a2a\+json/);
    expect((await v1.json() as any).artifacts[0].parts[0]).toMatchObject({ text: '[troupe-offline] You said: raw old', mediaType: 'text/plain' });
    // ListTasks is 1.0 only: 0.3 has no such operation
    const list = await fetch(`${base}/tasks`);
    expect(list.status).toBe(404);
    expect(await list.json()).toMatchObject({ code: -32601 });
    expect((await fetch(`${base}/tasks`, { headers: { 'a2a-version': '1.0' } })).status).toBe(200);
    // an SSE stream of ProtoJSON events
    const stream = await post(`${base}/message:stream`, sendBody('raw stream'));
    expect(stream.status).toBe(200);
    expect(stream.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const events = (await stream.text()).split('\n').filter((l) => l.startsWith('data: ')).map((l) => JSON.parse(l.slice(6)));
    expect(Object.keys(events[0])).toEqual(['task']);
    expect(events.at(-1)).toMatchObject({ statusUpdate: { final: true, status: { state: 'TASK_STATE_COMPLETED' } } });
  });

  it('errors are { code, message, data? } with the spec statuses: 400 bad JSON and params, 415 content type, 404 unknown task, agent or path, 409 not cancelable', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const base = `${node.http.url}/a2a/echo/v1`;
    const expectError = async (res: Response, status: number, code: number, message?: RegExp) => {
      expect(res.status).toBe(status);
      expect(res.headers.get('content-type')).toMatch(/^application\/json/);
      const b = await res.json() as any;
      expect(b.code).toBe(code);
      expect(typeof b.message).toBe('string');
      if (message) expect(b.message).toMatch(message);
      return b;
    };
    await expectError(await post(`${base}/message:send`, '{"message": nope'), 400, -32700);
    await expectError(await fetch(`${base}/message:send`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' }), 415, -32005);
    await expectError(await post(`${base}/message:send`, {}), 400, -32602, /message/);
    await expectError(await post(`${base}/message:send`, sendBody('x', { content: [{}] })), 400, -32602, /exactly one of text, file, data/);
    await expectError(await post(`${base}/message:send`, sendBody('x', { messageId: 7 })), 400, -32602, /messageId/);
    await expectError(await post(`${base}/message:send`, sendBody('x', { content: [{ text: 'a'.repeat(10) }], contextId: 'c'.repeat(300) })), 400, -32602, /contextId/);
    await expectError(await fetch(`${base}/tasks/no-such-task`), 404, -32001);
    await expectError(await fetch(`${node.http.url}/a2a/nobody/v1/tasks/x`), 404, -32001, /nobody/);
    await expectError(await post(`${base}/message:explode`, {}), 404, -32601);
    const done = await (await post(`${base}/message:send`, sendBody('finish'))).json() as any;
    await expectError(await fetch(`${base}/tasks/${done.task.id}:cancel`, { method: 'POST' }), 409, -32002);
    await expectError(await fetch(`${base}/tasks/${done.task.id}:subscribe`), 400, -32004);
    // the task of a push config is the path's
    await expectError(await post(`${base}/tasks/${done.task.id}/pushNotificationConfigs`, { name: 'tasks/another', pushNotificationConfig: { url: 'https://example.com/h' } }), 400, -32602, /name/);
    await expectError(await post(`${base}/tasks/${done.task.id}/pushNotificationConfigs`, { pushNotificationConfig: {} }), 400, -32602, /url/);
    // the node still serves
    expect((await post(`${base}/message:send`, sendBody('after'))).status).toBe(201);
  });

  it('any body near the 0.3 send and push config shapes is answered, never with a 5xx, and a refusal is a coded 0.3 body', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const base = `${node.http.url}/a2a/echo/v1`;
    const task = (await (await post(`${base}/message:send`, sendBody('for configs'))).json() as any).task.id as string;
    const anything = fc.jsonValue({ maxDepth: 3 });
    const part = fc.oneof(
      fc.record({ text: fc.oneof(fc.string(), anything) }, { requiredKeys: [] }),
      fc.record({ file: fc.record({ fileWithUri: fc.oneof(fc.webUrl(), anything), fileWithBytes: fc.oneof(fc.base64String(), anything), mimeType: anything }, { requiredKeys: [] }) }),
      fc.record({ data: fc.oneof(fc.record({ data: anything }), anything), metadata: anything }, { requiredKeys: [] }),
      anything,
    );
    const message = fc.record({
      messageId: fc.oneof(fc.uuid(), anything), role: fc.oneof(fc.constantFrom('ROLE_USER', 'ROLE_AGENT', 'user', 'ROLE_UNSPECIFIED'), anything),
      content: fc.oneof(fc.array(part, { maxLength: 4 }), anything), contextId: anything, taskId: fc.oneof(fc.constant(task), anything), metadata: anything,
    }, { requiredKeys: [] });
    const send = fc.record({
      message: fc.oneof(message, anything),
      configuration: fc.record({ blocking: fc.oneof(fc.boolean(), anything), historyLength: fc.oneof(fc.nat(), anything), acceptedOutputModes: anything, pushNotification: anything }, { requiredKeys: [] }),
      metadata: anything,
    }, { requiredKeys: [] });
    const config = fc.record({
      name: fc.oneof(fc.constant(`tasks/${task}`), fc.string()),
      pushNotificationConfig: fc.oneof(fc.record({ id: anything, url: fc.oneof(fc.webUrl(), anything), token: anything, authentication: anything }, { requiredKeys: [] }), anything),
    }, { requiredKeys: [] });
    await fc.assert(fc.asyncProperty(
      fc.oneof(send.map((b) => ['/message:send', b] as const), send.map((b) => ['/message:stream', b] as const), config.map((b) => [`/tasks/${task}/pushNotificationConfigs`, b] as const)),
      async ([path, body]) => {
        const res = await post(`${base}${path}`, body);
        const text = await res.text();
        expect(res.status, `${path} ${JSON.stringify(body).slice(0, 300)} -> ${text.slice(0, 300)}`).toBeLessThan(500);
        if (res.status >= 400) expect(JSON.parse(text)).toMatchObject({ code: expect.any(Number), message: expect.any(String) });
      },
    ), { numRuns: 150 });
    expect((await post(`${base}/message:send`, sendBody('still here'))).status).toBe(201);
  }, 120_000);

  it('a client that goes away mid-stream leaves nothing stuck: the task runs to its end and is read back', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'slow' });
    const base = `${node.http.url}/a2a/slow/v1`;
    const abort = new AbortController();
    const res = await fetch(`${base}/message:stream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(sendBody('going away')), signal: abort.signal });
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const id = JSON.parse(first.split('\n').find((l) => l.startsWith('data: '))!.slice(6)).task.id as string;
    await until(() => model.calls === 1, 10_000, 'the run at the model');
    abort.abort();
    await reader.cancel().catch(() => undefined);
    release();
    await until(async () => ((await (await fetch(`${base}/tasks/${id}`)).json()) as any).status?.state === 'TASK_STATE_COMPLETED', 10_000, 'the task completed without its reader');
    expect(((await (await fetch(`${base}/tasks/${id}`)).json()) as any).artifacts[0].parts[0].text).toBe('done:going away');
  });
});

describe('A2A 0.3 REST for an agent on another node', () => {
  it("node A serves send, stream, get and cancel of node B's agent; when B is gone a call is 502 with TROUPE_ERR_A2A_HOME_UNREACHABLE", async () => {
    const a = await a2aNode({ id: 'r03-a', cluster: { port: 0, heartbeatMs: 150 }, a2a: { forward: { retryWindowMs: 500 } } } as never);
    const b = await a2aNode({ id: 'r03-b', cluster: { port: 0, heartbeatMs: 150, seeds: [a.peer!.url] } });
    await until(() => a.peers().includes('r03-b') && b.peers().includes('r03-a'), 10_000, 'both nodes up');
    b.spawnAgent({ name: 'far' });
    await until(async () => (await fetch(`${a.http.url}/a2a/far/.well-known/agent-card.json`)).status === 200, 10_000, 'A knows of far');
    const card = await (await fetch(`${a.http.url}/a2a/far/.well-known/agent-card.json`)).json() as any;
    expect(card.additionalInterfaces).toEqual([{ transport: 'HTTP+JSON', url: `${a.http.url}/a2a/far` }]);
    const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, { transports: [new RestTransportFactory()], preferredTransports: ['HTTP+JSON'] }));
    const client = await factory.createFromUrl(`${a.http.url}/a2a/far/.well-known/agent-card.json`, '');
    const task: any = await client.sendMessage({ message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'old and far' }] } });
    expect(task).toMatchObject({ kind: 'task', status: { state: 'completed' }, metadata: { ranOn: 'r03-b' } });
    const kinds: string[] = [];
    for await (const ev of client.sendMessageStream({ message: { kind: 'message', messageId: randomUUID(), role: 'user', parts: [{ kind: 'text', text: 'streamed far' }] } })) kinds.push((ev as any).kind);
    expect(kinds[0]).toBe('task');
    expect(kinds).toContain('artifact-update');
    expect(kinds.at(-1)).toBe('status-update');
    // the task lives on B: B's own 0.3 REST reads it, and A reads it through B
    expect(await (await fetch(`${b.http.url}/a2a/far/v1/tasks/${task.id}`)).json()).toMatchObject({ id: task.id, status: { state: 'TASK_STATE_COMPLETED' } });
    expect(await client.getTask({ id: task.id })).toMatchObject({ id: task.id, status: { state: 'completed' } });
    await expect(client.cancelTask({ id: task.id })).rejects.toMatchObject({ name: 'TaskNotCancelableError' });

    await b.close();
    await until(() => !a.peers().includes('r03-b'), 10_000, 'A sees B gone');
    const gone = await fetch(`${a.http.url}/a2a/far/v1/tasks/${task.id}`);
    expect(gone.status).toBe(502);
    expect(await gone.json()).toMatchObject({ code: -32603, message: expect.stringContaining('TROUPE_ERR_A2A_HOME_UNREACHABLE'), data: { code: 'TROUPE_ERR_A2A_HOME_UNREACHABLE' } });
  });
});
