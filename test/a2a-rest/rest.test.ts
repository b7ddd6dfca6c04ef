import { afterEach, describe, expect, it } from 'vitest';
import { TaskState, type Task } from '@a2a-js/sdk';
import { ClientFactory, ClientFactoryOptions, DefaultAgentCardResolver, RestTransportFactory, type Client } from '@a2a-js/sdk/client';
import { until } from '../helpers.js';
import { a2aNode, answerOf, closeNodes, CountingModel, sendParams, userMessage } from '../a2a/harness.js';
import { Receiver, stateOf } from '../a2a-push/receiver.js';

const receivers: Receiver[] = [];
afterEach(async () => {
  await closeNodes();
  for (const r of receivers.splice(0)) await r.close();
});

/** The official 1.x client, choosing the REST (HTTP+JSON) transport; `seen` records every URL it calls. */
async function restClient(baseUrl: string, agent: string, headers: Record<string, string> = {}): Promise<{ client: Client; seen: string[] }> {
  const seen: string[] = [];
  const fetchImpl: typeof fetch = (input, init) => {
    seen.push(`${init?.method ?? 'GET'} ${String(input instanceof Request ? input.url : input)}`);
    return fetch(input, { ...init, headers: { ...(init?.headers as Record<string, string> | undefined), ...headers } });
  };
  const factory = new ClientFactory(ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
    transports: [new RestTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
    preferredTransports: ['HTTP+JSON'],
  }));
  const client = await factory.createFromUrl(`${baseUrl}/a2a/${agent}/.well-known/agent-card.json`, '');
  return { client, seen };
}

const noWait = { acceptedOutputModes: [], taskPushNotificationConfig: undefined, historyLength: undefined, returnImmediately: true };
const listBase = { tenant: '', contextId: '', status: TaskState.TASK_STATE_UNSPECIFIED, pageToken: '', statusTimestampAfter: undefined };

describe('A2A 1.0 REST (HTTP+JSON) binding through the official client', () => {
  it('the card lists the HTTP+JSON interface at /a2a/:agent/v1 after JSON-RPC; the client picks it when preferred', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const card = await (await fetch(`${node.http.url}/a2a/echo/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json() as any;
    expect(card.supportedInterfaces[0]).toMatchObject({ protocolBinding: 'JSONRPC', url: `${node.http.url}/a2a/echo` });
    expect(card.supportedInterfaces).toContainEqual(expect.objectContaining({ protocolBinding: 'HTTP+JSON', protocolVersion: '1.0', url: `${node.http.url}/a2a/echo/v1` }));
    const nodeCard = await (await fetch(`${node.http.url}/.well-known/agent-card.json`, { headers: { 'a2a-version': '1.0' } })).json() as any;
    expect(nodeCard.supportedInterfaces).toContainEqual(expect.objectContaining({ protocolBinding: 'HTTP+JSON', url: `${node.http.url}/a2a/~node/v1` }));
    const { client, seen } = await restClient(node.http.url, 'echo');
    const task = await client.sendMessage(sendParams(userMessage('over rest'))) as Task;
    expect(task.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(answerOf(task)).toBe('[troupe-offline] You said: over rest');
    expect(seen.at(-1)).toBe(`POST ${node.http.url}/a2a/echo/v1/message:send`);
    // the node's own agent routes over REST too
    const routed = await fetch(`${node.http.url}/a2a/~node/v1/message:send`, {
      method: 'POST', headers: { 'content-type': 'application/json', 'a2a-version': '1.0' },
      body: JSON.stringify({ message: { messageId: 'm-node', role: 'ROLE_USER', parts: [{ text: 'route me' }] } }),
    });
    expect(routed.status).toBe(200);
    expect(await routed.json()).toMatchObject({ task: { status: { state: 'TASK_STATE_COMPLETED' }, metadata: { agent: 'echo' } } });
  });

  it('send, stream, get (historyLength), list and the SDK errors, on the same task actors as JSON-RPC', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const { client, seen } = await restClient(node.http.url, 'echo');
    const events: any[] = [];
    for await (const ev of client.sendMessageStream(sendParams(userMessage('stream rest')))) events.push(ev.payload);
    expect(events[0].$case).toBe('task');
    expect(events.at(-1)).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_COMPLETED } } });
    expect(events.filter((e) => e.$case === 'artifactUpdate').map((e) => e.value.artifact.parts[0].content.value).join('')).toBe('[troupe-offline] You said: stream rest');
    const id = events[0].value.id as string;
    const got = await client.getTask({ tenant: '', id, historyLength: undefined });
    expect(got.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(got.history).toHaveLength(2);
    expect((await client.getTask({ tenant: '', id, historyLength: 1 })).history).toHaveLength(1);
    await client.sendMessage(sendParams(userMessage('second', { contextId: 'ctx-rest' })));
    const page = await client.listTasks({ ...listBase, pageSize: 1 });
    expect(page.totalSize).toBe(2);
    expect(page.tasks).toHaveLength(1);
    const next = await client.listTasks({ ...listBase, pageSize: 1, pageToken: page.nextPageToken });
    expect(new Set([page.tasks[0]!.id, next.tasks[0]!.id]).size).toBe(2);
    expect((await client.listTasks({ ...listBase, contextId: 'ctx-rest', includeArtifacts: true })).tasks[0]!.artifacts.length).toBe(1);
    await expect(client.getTask({ tenant: '', id: 'no-such-task', historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    await expect(client.cancelTask({ tenant: '', id, metadata: {} })).rejects.toMatchObject({ name: 'TaskNotCancelableError' });
    await expect(client.resubscribeTask({ tenant: '', id }).next()).rejects.toMatchObject({ name: 'UnsupportedOperationError' });
    expect(seen.filter((s) => s.includes('/a2a/echo/v1/')).length).toBe(seen.filter((s) => !s.includes('agent-card')).length);
  });

  it('cancel and subscribe: a running task is followed to its end and another canceled', async () => {
    const model = new CountingModel();
    let release!: () => void;
    model.gate = new Promise<void>((r) => { release = r; });
    const node = await a2aNode({ modelProvider: model });
    node.spawnAgent({ name: 'slow' });
    const { client } = await restClient(node.http.url, 'slow');
    const t1 = await client.sendMessage(sendParams(userMessage('one'), noWait)) as Task;
    await until(() => model.calls === 1, 10_000, 'first run at the model');
    const canceled = await client.cancelTask({ tenant: '', id: t1.id, metadata: {} });
    expect(canceled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const t2 = await client.sendMessage(sendParams(userMessage('two'), noWait)) as Task;
    await until(() => model.calls === 2, 10_000, 'second run at the model');
    const followed: any[] = [];
    const follow = (async () => { for await (const ev of client.resubscribeTask({ tenant: '', id: t2.id })) followed.push(ev.payload); })();
    await until(() => followed.length >= 1, 10_000, 'subscribed');
    release();
    await follow;
    expect(followed[0]).toMatchObject({ $case: 'task', value: { id: t2.id } });
    expect(followed.at(-1)).toMatchObject({ $case: 'statusUpdate', value: { status: { state: TaskState.TASK_STATE_COMPLETED } } });
  });

  it('push configs over REST: create (201), get, list, delete, and the notifications reach the receiver', async () => {
    const r = await Receiver.start();
    receivers.push(r);
    const node = await a2aNode({ a2a: { push: { allowHosts: ['127.0.0.1'] } } } as never);
    node.spawnAgent({ name: 'echo' });
    const { client } = await restClient(node.http.url, 'echo');
    const task = await client.sendMessage(sendParams(userMessage('first'))) as Task;
    const created = await client.createTaskPushNotificationConfig({ tenant: '', id: 'rest-cfg', taskId: task.id, url: r.url, token: 'rest-token', authentication: undefined });
    expect(created).toMatchObject({ id: 'rest-cfg', taskId: task.id, url: r.url });
    expect(await client.getTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'rest-cfg' })).toMatchObject({ token: 'rest-token' });
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs.map((c) => c.id)).toEqual(['rest-cfg']);
    await client.deleteTaskPushNotificationConfig({ tenant: '', taskId: task.id, id: 'rest-cfg' });
    expect((await client.listTaskPushNotificationConfig({ tenant: '', taskId: task.id, pageSize: 0, pageToken: '' })).configs).toEqual([]);
    await expect(client.createTaskPushNotificationConfig({ tenant: '', id: '', taskId: task.id, url: 'http://169.254.169.254/', token: '', authentication: undefined }))
      .rejects.toThrow(/TROUPE_ERR_A2A_PUSH_URL_REFUSED/);
    await client.sendMessage(sendParams(userMessage('pushed'), { ...noWait, returnImmediately: false, taskPushNotificationConfig: { tenant: '', id: '', taskId: '', url: r.url, token: 't', authentication: undefined } }));
    await until(() => r.delivered().some((b) => stateOf(b) === 'TASK_STATE_COMPLETED'), 10_000, 'completed notification');
  });

  it('raw HTTP: bad JSON and a wrong content type are 400 REST errors; no version header is 0.3, another version VersionNotSupported; unknown paths 400', async () => {
    const node = await a2aNode();
    node.spawnAgent({ name: 'echo' });
    const base = `${node.http.url}/a2a/echo/v1`;
    const v1 = { 'a2a-version': '1.0' };
    const bad = await fetch(`${base}/message:send`, { method: 'POST', headers: { 'content-type': 'application/json', ...v1 }, body: '{"message": nope' });
    expect(bad.status).toBe(400);
    expect((await bad.json() as any).error).toMatchObject({ status: 'INVALID_ARGUMENT' });
    const text = await fetch(`${base}/message:send`, { method: 'POST', headers: { 'content-type': 'text/plain', ...v1 }, body: 'hi' });
    expect(text.status).toBe(415);
    const noMessage = await fetch(`${base}/message:send`, { method: 'POST', headers: { 'content-type': 'application/json', ...v1 }, body: '{}' });
    expect(noMessage.status).toBe(400);
    // no version header is A2A 0.3: the 0.3 binding answers, in its shape
    const old = await fetch(`${base}/tasks/x`);
    expect(old.status).toBe(404);
    expect(await old.json()).toMatchObject({ code: -32001 });
    const other = await fetch(`${base}/tasks/x`, { headers: { 'a2a-version': '0.5' } });
    expect(other.status).toBe(400);
    expect(JSON.stringify(await other.json())).toMatch(/version/i);
    const unknownOp = await fetch(`${base}/message:explode`, { method: 'POST', headers: { 'content-type': 'application/json', ...v1 }, body: '{}' });
    expect(unknownOp.status).toBe(400);
    const nobody = await fetch(`${node.http.url}/a2a/nobody/v1/tasks/x`, { headers: v1 });
    expect(nobody.status).toBe(404);
    const page = await fetch(`${base}/tasks?pageSize=0`, { headers: v1 });
    expect(page.status).toBe(400);
    expect(page.headers.get('content-type')).toMatch(/application\/a2a\+json/);
  });

  it('needs an API key like the JSON-RPC route when the gateway has keys; tasks are scoped by key', async () => {
    const node = await a2aNode({ http: { port: 0, apiKeys: ['sk-rest-key-one-1', 'sk-rest-key-two-2'] } });
    node.spawnAgent({ name: 'echo' });
    const anon = await fetch(`${node.http.url}/a2a/echo/v1/tasks`, { headers: { 'a2a-version': '1.0' } });
    expect(anon.status).toBe(401);
    const one = await restClient(node.http.url, 'echo', { authorization: 'Bearer sk-rest-key-one-1' });
    const task = await one.client.sendMessage(sendParams(userMessage('mine'))) as Task;
    const two = await restClient(node.http.url, 'echo', { authorization: 'Bearer sk-rest-key-two-2' });
    await expect(two.client.getTask({ tenant: '', id: task.id, historyLength: undefined })).rejects.toMatchObject({ name: 'TaskNotFoundError' });
    expect((await one.client.getTask({ tenant: '', id: task.id, historyLength: undefined })).id).toBe(task.id);
  });
});
